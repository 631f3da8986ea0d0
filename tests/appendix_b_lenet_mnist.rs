//! Appendix B on real data: LeNet-5 trained for one epoch on 20,000 of the
//! committed MNIST training images classifies the 10,000 test images with
//! at least 97 % accuracy — a broken convolution, pooling or gradient
//! cannot get there (chance is 10 %; an MLP on the same budget gets about
//! 95 %). Seeded, and the same bits on any number of threads (the batches
//! run in fixed chunks of 16 rows).

use autodiff::Tape;
use nn::chunked::grads_in_chunks;
use nn::data::files::load_mnist;
use nn::data::Batches;
use nn::optim::{Adam, CosineLr, LrSchedule, Optimizer};
use nn::{loss, models, Init, Module, Session};

#[test]
fn lenet5_learns_mnist_to_97_percent_in_one_epoch_on_20000_images() {
    let mnist = load_mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")).unwrap();
    let train = mnist
        .train
        .select(&(0..20_000).collect::<Vec<_>>())
        .unwrap();
    let mut net = models::lenet5::<f32>(Init::HeUniform, 1).unwrap();
    let mut opt = Adam::new(2e-3).unwrap();
    let mut batches = Batches::new(train.len(), 32, 101).unwrap();
    let steps = batches.len();
    let schedule = CosineLr {
        base: 2e-3,
        min: 4e-5,
        epochs: steps,
    };
    for (step, batch) in batches.epoch().enumerate() {
        opt.set_lr(schedule.lr(step));
        let x = train.images.to_tensor(&batch).unwrap();
        let labels: Vec<usize> = batch.iter().map(|&i| train.labels[i]).collect();
        let (value, grads) = grads_in_chunks(&x, 16, |s, x, rows| {
            net.forward(s, x)?.cross_entropy(&labels[rows])
        })
        .unwrap();
        assert!(value.is_finite(), "step {step}: loss {value}");
        opt.step(&mut net, &grads).unwrap();
    }
    let mut right = 0.0;
    let all: Vec<usize> = (0..mnist.test.len()).collect();
    for chunk in all.chunks(1000) {
        let tape = Tape::new();
        let s = Session::eval(&tape);
        let logits = net
            .forward(&s, s.input(mnist.test.images.to_tensor(chunk).unwrap()))
            .unwrap()
            .value();
        let labels: Vec<usize> = chunk.iter().map(|&i| mnist.test.labels[i]).collect();
        right += loss::accuracy(&logits, &labels).unwrap() * chunk.len() as f64;
    }
    let accuracy = right / mnist.test.len() as f64;
    println!(
        "LeNet-5, one epoch on 20,000 images: {:.2} % of 10,000 test images",
        100.0 * accuracy
    );
    assert!(accuracy >= 0.97, "test accuracy {:.2} %", 100.0 * accuracy);
}
