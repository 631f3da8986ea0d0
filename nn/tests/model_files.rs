//! Model files: save and load round trips, the format as the safetensors
//! specification lays it out, and an error for every kind of mismatch.

use std::path::PathBuf;

use autodiff::{Tape, Tensor};
use nn::{load, models, save, Activation, Init, Mlp, Module, Session};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-model-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn params<T: autodiff::Float>(m: &dyn Module<T>) -> Vec<(String, Tensor<T>)> {
    let mut v = Vec::new();
    m.visit_params("", &mut |n, p| v.push((n.to_string(), p.value().clone())));
    v
}

#[test]
fn a_saved_lenet_loads_into_a_fresh_one_and_predicts_the_same() {
    let dir = scratch("lenet");
    let path = dir.join("lenet.safetensors");
    let a = models::lenet5::<f32>(Init::HeUniform, 1).unwrap();
    save(&a, &path).unwrap();
    let mut b = models::lenet5::<f32>(Init::HeUniform, 2).unwrap();
    assert_ne!(params(&a), params(&b));
    load(&mut b, &path).unwrap();
    assert_eq!(params(&a), params(&b));
    let x = Tensor::rand_normal(&[2, 1, 28, 28], 0.0, 1.0, 3);
    let run = |m: &dyn Module<f32>| {
        let tape = Tape::new();
        let s = Session::eval(&tape);
        m.forward(&s, s.input(x.clone())).unwrap().value()
    };
    assert_eq!(run(&a), run(&b));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_file_follows_the_safetensors_layout() {
    // 8-byte little-endian header length, a JSON header naming each tensor's
    // dtype, shape and byte offsets, then the little-endian data
    let dir = scratch("layout");
    let path = dir.join("mlp.safetensors");
    let mlp = Mlp::<f64>::new(&[2, 3], Activation::Linear, Init::XavierUniform, 4).unwrap();
    save(&mlp, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    assert!(
        header.contains(r#""layers.0.weight":{"dtype":"F64","shape":[3,2],"data_offsets":["#),
        "{header}"
    );
    assert!(
        header.contains(r#""layers.0.bias":{"dtype":"F64","shape":[3]"#),
        "{header}"
    );
    // the data holds the weights' values somewhere after the header
    let w = mlp.layers()[0].weight.value().data()[0].to_le_bytes();
    assert!(bytes[8 + n..].windows(8).any(|win| win == w));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "the temporary file was renamed onto the target"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn f32_files_load_into_f64_models_and_back() {
    let dir = scratch("dtype");
    let path = dir.join("m.safetensors");
    let small = Mlp::<f32>::new(&[2, 2], Activation::Tanh, Init::PyTorch, 5).unwrap();
    save(&small, &path).unwrap();
    let mut wide = Mlp::<f64>::new(&[2, 2], Activation::Tanh, Init::PyTorch, 6).unwrap();
    load(&mut wide, &path).unwrap();
    assert_eq!(
        wide.layers()[0].weight.value(),
        &small.layers()[0].weight.value().cast::<f64>()
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn mismatched_or_broken_files_are_errors_that_change_nothing() {
    let dir = scratch("errors");
    let path = dir.join("m.safetensors");
    let saved = Mlp::<f32>::new(&[2, 3, 2], Activation::Relu, Init::PyTorch, 7).unwrap();
    save(&saved, &path).unwrap();
    let shown = path.display().to_string();
    let check = |model: &mut dyn Module<f32>, want: &str| {
        let before = params(model);
        let err = load(model, &path).unwrap_err().to_string();
        assert!(err.starts_with(&shown) && err.contains(want), "{err}");
        assert_eq!(
            params(model),
            before,
            "a failed load left the model as it was"
        );
    };
    check(
        &mut Mlp::<f32>::new(&[2, 4, 2], Activation::Relu, Init::PyTorch, 8).unwrap(),
        "parameter layers.0.weight has shape [3, 2] in the file, the model expects [4, 2]",
    );
    check(
        &mut Mlp::<f32>::new(&[2, 3, 3, 2], Activation::Relu, Init::PyTorch, 8).unwrap(),
        "has shape [2, 3] in the file, the model expects [3, 3]",
    );
    check(
        &mut Mlp::<f32>::new(&[2, 3], Activation::Relu, Init::PyTorch, 8).unwrap(),
        "tensors the model does not have: layers.1.bias, layers.1.weight",
    );
    let mut bigger = models::lenet5::<f32>(Init::PyTorch, 8).unwrap();
    check(&mut bigger, "parameter 0.weight is missing");
    std::fs::write(&path, b"definitely not a model").unwrap();
    check(
        &mut Mlp::<f32>::new(&[2, 3, 2], Activation::Relu, Init::PyTorch, 8).unwrap(),
        "not a valid safetensors file: its first 8 bytes announce a header larger than 100 MB",
    );
    std::fs::remove_file(&path).unwrap();
    check(
        &mut Mlp::<f32>::new(&[2, 3, 2], Activation::Relu, Init::PyTorch, 8).unwrap(),
        "cannot read",
    );
    let err = save(&saved, dir.join("no/such/folder/m.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot create a temporary file in its folder"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}
