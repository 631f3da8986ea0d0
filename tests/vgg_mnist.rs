//! The model zoo's VGG-style CNN (batch norm, dropout, global average
//! pooling) learns real MNIST: one epoch on 6,000 training images, scored
//! on 2,000 test images in an evaluation session (running statistics, no
//! dropout). Seeded; each batch in one sweep, so that batch norm sees the
//! whole batch.

use autodiff::Tape;
use nn::data::files::load_mnist;
use nn::data::Batches;
use nn::optim::{Adam, CosineLr, LrSchedule, Optimizer};
use nn::{loss, models, Init, Module, Session};

#[test]
fn vgg_small_with_batch_norm_and_dropout_learns_mnist() {
    let mnist = load_mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")).unwrap();
    let train = mnist.train.select(&(0..6_000).collect::<Vec<_>>()).unwrap();
    let mut net = models::vgg_small::<f32>(0.25, Init::HeUniform, 1).unwrap();
    let mut opt = Adam::new(1e-2).unwrap();
    let mut batches = Batches::new(train.len(), 64, 7).unwrap();
    let schedule = CosineLr {
        base: 1e-2,
        min: 2e-4,
        epochs: batches.len(),
    };
    for (step, batch) in batches.epoch().enumerate() {
        opt.set_lr(schedule.lr(step));
        let tape = Tape::new();
        let s = Session::train(&tape);
        let x = s.input(train.images.to_tensor(&batch).unwrap());
        let labels: Vec<usize> = batch.iter().map(|&i| train.labels[i]).collect();
        let loss = net.forward(&s, x).unwrap().cross_entropy(&labels).unwrap();
        assert!(loss.value().item().unwrap().is_finite(), "step {step}");
        let grads = s.grads(loss).unwrap();
        opt.step(&mut net, &grads).unwrap();
    }
    let test: Vec<usize> = (0..2_000).collect();
    let score = |training: bool| {
        let tape = Tape::new();
        let s = if training {
            Session::train(&tape)
        } else {
            Session::eval(&tape)
        };
        let logits = net
            .forward(&s, s.input(mnist.test.images.to_tensor(&test).unwrap()))
            .unwrap()
            .value();
        let labels: Vec<usize> = test.iter().map(|&i| mnist.test.labels[i]).collect();
        loss::accuracy(&logits, &labels).unwrap()
    };
    let accuracy = score(false);
    // evaluation is deterministic (running statistics, no dropout) …
    assert_eq!(score(false), accuracy);
    // … and differs from a training-mode pass (batch statistics, dropout;
    // which also moves the running statistics, as in PyTorch)
    let training_mode = score(true);
    assert_ne!(training_mode, accuracy);
    println!(
        "VGG-style CNN, one epoch on 6,000 images: {:.2} % of 2,000 test images ({:.2} % in a training-mode pass)",
        100.0 * accuracy,
        100.0 * training_mode
    );
    assert!(accuracy >= 0.93, "test accuracy {:.2} %", 100.0 * accuracy);
}
