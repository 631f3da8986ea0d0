//! Layers, parameter naming, initialisation and the BCE loss.

use autodiff::{gradcheck, GradcheckOptions, Tape, Tensor};
use nn::{Activation, Init, Linear, Mlp, Module, Sequential, Session};

#[test]
fn linear_computes_x_w_transpose_plus_b() {
    let w = Tensor::from_vec(vec![1.0, -1.0, 2.0, 0.5, 0.0, 3.0], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![0.25, -0.75], &[2]).unwrap();
    let layer = Linear::from_tensors(w.clone(), Some(b.clone())).unwrap();
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, -1.0, 0.0, 1.0], &[2, 3]).unwrap();
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let y = layer.forward(&s, s.input(x.clone())).unwrap().value();
    for r in 0..2 {
        for o in 0..2 {
            let want: f64 = (0..3)
                .map(|i| x.data()[r * 3 + i] * w.data()[o * 3 + i])
                .sum::<f64>()
                + b.data()[o];
            assert_eq!(y.get(&[r, o]).unwrap(), want);
        }
    }
    // a single sample of shape [in] gives [out]
    let one = layer
        .forward(
            &s,
            s.input(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap()),
        )
        .unwrap();
    assert_eq!(one.value().data(), &y.data()[..2]);
}

#[test]
fn parameter_names_follow_pytorch() {
    let mlp = Mlp::<f32>::new(&[2, 3, 3, 1], Activation::Tanh, Init::XavierUniform, 0).unwrap();
    assert_eq!(
        mlp.param_names(),
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.weight",
            "layers.1.bias",
            "layers.2.weight",
            "layers.2.bias"
        ]
    );
    let nested = Sequential::new()
        .push(
            Sequential::new()
                .push(Linear::<f32>::new(2, 2, Init::HeNormal, 1))
                .push(Activation::Relu),
        )
        .push(Linear::new(2, 1, Init::HeNormal, 2));
    assert_eq!(
        nested.param_names(),
        ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
    );
    let shapes: Vec<Vec<usize>> = {
        let mut v = Vec::new();
        mlp.visit_params("", &mut |_, p| v.push(p.value().shape().to_vec()));
        v
    };
    assert_eq!(shapes[0], [3, 2]); // [out, in]
}

#[test]
fn initialisations_have_their_ranges_and_spreads() {
    let (fan_in, fan_out) = (400, 100);
    let std = |t: &Tensor<f64>| {
        let n = t.numel() as f64;
        let mean = t.data().iter().sum::<f64>() / n;
        (t.data().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
    };
    let xu = Init::XavierUniform.weight::<f64>(&[fan_out, fan_in], fan_in, fan_out, 1);
    let bound = (6.0 / 500.0f64).sqrt();
    assert!(xu.data().iter().all(|v| v.abs() <= bound));
    assert!((std(&xu) / (bound / 3f64.sqrt()) - 1.0).abs() < 0.05);
    let hn = Init::HeNormal.weight::<f64>(&[fan_out, fan_in], fan_in, fan_out, 2);
    assert!((std(&hn) / (2.0 / fan_in as f64).sqrt() - 1.0).abs() < 0.05);
    let pg = Init::Playground.weight::<f64>(&[fan_out, fan_in], fan_in, fan_out, 3);
    assert!(pg.data().iter().all(|v| v.abs() <= 0.5));
    assert!((std(&pg) / (1.0 / 12f64.sqrt()) - 1.0).abs() < 0.05);
    assert_eq!("he".parse::<Init>().unwrap(), Init::HeUniform);
    assert!("lecun".parse::<Init>().is_err());
}

#[test]
fn a_linear_layer_rejects_inputs_of_the_wrong_width() {
    let layer = Linear::<f64>::new(4, 2, Init::HeUniform, 0);
    let tape = Tape::new();
    let s = Session::train(&tape);
    let err = layer
        .forward(&s, s.input(Tensor::zeros(&[5, 3])))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "input [5, 3] has 3 features, the layer expects 4 (input must be [batch, 4] or [4])"
    );
    // a rank-3 input with the right width is a rank error, not a width error
    let err = layer
        .forward(&s, s.input(Tensor::zeros(&[2, 3, 4])))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "input [2, 3, 4] has rank 3; the layer takes [batch, 4] or [4] (flatten the other axes first)"
    );
    assert!(Mlp::<f64>::new(&[3], Activation::Relu, Init::HeUniform, 0).is_err());
    assert!(Mlp::<f64>::new(&[3, 0, 2], Activation::Relu, Init::HeUniform, 0).is_err());
}

#[test]
fn an_eval_session_records_nothing_and_a_train_session_tracks_parameters() {
    let mlp = Mlp::<f64>::new(&[2, 3, 2], Activation::Sigmoid, Init::PyTorch, 1).unwrap();
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let y = mlp.forward(&s, s.input(Tensor::zeros(&[1, 2]))).unwrap();
    assert!(!y.requires_grad());
    let tape = Tape::new();
    let s = Session::train(&tape);
    let y = mlp.forward(&s, s.input(Tensor::zeros(&[1, 2]))).unwrap();
    assert!(y.requires_grad());
    // a parameter used twice is bound once
    let w = &mlp.layers()[0].weight;
    assert_eq!(s.param(w).id(), s.param(w).id());
}

#[test]
fn cloned_models_have_their_own_parameters() {
    let a = Mlp::<f64>::new(&[2, 2], Activation::Linear, Init::PyTorch, 1).unwrap();
    let b = a.clone();
    assert_ne!(a.layers()[0].weight.id(), b.layers()[0].weight.id());
    assert_eq!(a.layers()[0].weight.value(), b.layers()[0].weight.value());
}

#[test]
fn bce_with_logits_matches_its_definition_and_passes_gradcheck() {
    let z = Tensor::<f64>::from_vec(vec![-3.0, -0.5, 0.0, 0.7, 40.0, -40.0], &[2, 3]).unwrap();
    let y = Tensor::from_vec(vec![0.0, 1.0, 0.3, 1.0, 0.0, 1.0], &[2, 3]).unwrap();
    let tape = Tape::new();
    let zv = tape.var(z.clone());
    let loss = nn::loss::bce_with_logits(zv, tape.constant(y.clone())).unwrap();
    let sigma = |v: f64| 1.0 / (1.0 + (-v).exp());
    let want: f64 = z
        .data()
        .iter()
        .zip(y.data())
        .map(|(&z, &y)| {
            // −y ln σ(z) − (1 − y) ln(1 − σ(z)), with ln σ(z) = −ln(1 + e^{−z})
            y * (-z).exp().ln_1p() + (1.0 - y) * z.exp().ln_1p()
        })
        .sum::<f64>()
        / 6.0;
    assert!((loss.value().item().unwrap() - want).abs() < 1e-14);
    // ∂L/∂z = (σ(z) − y)/n
    let g = loss.backward().unwrap().wrt(zv).unwrap();
    for ((&gz, &z), &y) in g.data().iter().zip(z.data()).zip(y.data()) {
        assert!((gz - (sigma(z) - y) / 6.0).abs() < 1e-15);
    }
    gradcheck(
        |_, v| nn::loss::bce_with_logits(v[0], v[1]),
        &[z.map(|v| v.clamp(-5.0, 5.0)), y],
        &GradcheckOptions::default(),
    )
    .unwrap();
    // the derivative at exactly z = 0 is σ(0) − y
    let tape = Tape::new();
    let z0 = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    let l = nn::loss::bce_with_logits(
        z0,
        tape.constant(Tensor::from_vec(vec![1.0], &[1]).unwrap()),
    )
    .unwrap();
    assert_eq!(
        l.backward().unwrap().wrt(z0).unwrap().data(),
        &[sigma(0.0) - 1.0]
    );
    let err = nn::loss::bce_with_logits(z0, tape.constant(Tensor::zeros(&[2]))).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("bce_with_logits: logits [1] and targets [2]"));
}

#[test]
fn accuracy_counts_argmax_hits() {
    let z = Tensor::from_vec(vec![0.1, 0.9, 0.8, 0.2, 0.3, 0.3], &[3, 2]).unwrap();
    assert!((nn::loss::accuracy(&z, &[1, 0, 1]).unwrap() - 2.0 / 3.0).abs() < 1e-15);
    assert!(nn::loss::accuracy(&z, &[1]).is_err());
}
