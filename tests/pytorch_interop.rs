//! Weights trained in PyTorch load into tapegrad's LeNet-5 and give
//! PyTorch's logits. `interop/pytorch_lenet5.py make` trained the net in
//! PyTorch and wrote its state dict and, for the first 8 MNIST test images,
//! the images and PyTorch's logits (both committed under tests/data; this
//! test needs no PyTorch).

use autodiff::{Result, Tape, Tensor, Var};
use nn::data::files::load_mnist;
use nn::{models, Init, Module, Param, Session};

/// The reference file as a module of two named tensors.
struct Reference {
    images: Param<f32>,
    logits: Param<f32>,
}

impl Module<f32> for Reference {
    fn forward<'t>(&self, _: &Session<'t, f32>, x: Var<'t, f32>) -> Result<Var<'t, f32>> {
        Ok(x)
    }
    fn visit_params(&self, _: &str, f: &mut dyn FnMut(&str, &Param<f32>)) {
        f("images", &self.images);
        f("logits", &self.logits);
    }
    fn visit_params_mut(&mut self, _: &str, f: &mut dyn FnMut(&str, &mut Param<f32>)) {
        f("images", &mut self.images);
        f("logits", &mut self.logits);
    }
}

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

#[test]
fn pytorch_weights_give_pytorchs_logits_in_tapegrads_lenet5() {
    let mut net = models::lenet5::<f32>(Init::HeUniform, 0).unwrap();
    nn::load(&mut net, format!("{DATA}/pytorch_lenet5.safetensors")).unwrap();
    let mut reference = Reference {
        images: Param::new(Tensor::zeros(&[8, 1, 28, 28])),
        logits: Param::new(Tensor::zeros(&[8, 10])),
    };
    nn::load(
        &mut reference,
        format!("{DATA}/pytorch_lenet5_reference.safetensors"),
    )
    .unwrap();

    // the images are MNIST's first test images as tapegrad reads them
    let mnist = load_mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")).unwrap();
    let ours = mnist
        .test
        .images
        .to_tensor::<f32>(&(0..8).collect::<Vec<_>>())
        .unwrap();
    let pixels_apart = ours
        .data()
        .iter()
        .zip(reference.images.value().data())
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        pixels_apart <= 1e-7,
        "preprocessing differs by {pixels_apart}"
    );

    let tape = Tape::new();
    let s = Session::eval(&tape);
    let logits = net
        .forward(&s, s.input(reference.images.value().clone()))
        .unwrap()
        .value();
    let apart = logits
        .data()
        .iter()
        .zip(reference.logits.value().data())
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!("largest difference from PyTorch's logits: {apart:e}");
    assert!(apart <= 1e-5, "logits differ by {apart}");
    // and the logits mean something: the predictions are MNIST's labels
    let predicted: Vec<usize> = logits.data().chunks(10).map(nn::loss::argmax).collect();
    let right = predicted
        .iter()
        .zip(&mnist.test.labels)
        .filter(|(p, l)| p == l)
        .count();
    assert!(
        right >= 7,
        "{predicted:?} against {:?}",
        &mnist.test.labels[..8]
    );
}
