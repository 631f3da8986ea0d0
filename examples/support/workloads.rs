//! The benchmark workloads of `bench/WORKLOADS.md`, shared by the
//! criterion benches and the `workloads` example (which prints the RESULT
//! lines that `bench/torch_workloads.py` prints, for side-by-side runs).
#![allow(dead_code)]

use autodiff::{Tape, Tensor};
use nn::optim::{Optimizer, Sgd};
use nn::{manual, Mlp, Module, Session};

/// SplitMix64, as WORKLOADS.md defines the W1 data (the same stream as its
/// Python generator, so both see bit-identical points).
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Inputs and labels of one step.
pub type Batch = (Tensor<f32>, Vec<usize>);

/// W1: 500 points in [−1, 1]², label 1 where the signs of x and y differ,
/// as 50 batches of 10.
pub fn w1_batches() -> Vec<Batch> {
    let mut rng = SplitMix64(42);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for _ in 0..500 {
        let a = rng.uniform() * 2.0 - 1.0;
        let b = rng.uniform() * 2.0 - 1.0;
        xs.extend([a, b]);
        ys.push(usize::from((a > 0.0) != (b > 0.0)));
    }
    (0..50)
        .map(|i| {
            let x = Tensor::from_vec(xs[i * 20..(i + 1) * 20].to_vec(), &[10, 2]).expect("10×2");
            (x, ys[i * 10..(i + 1) * 10].to_vec())
        })
        .collect()
}

/// `count` batches of `shape` random normal inputs with labels 0–9.
pub fn random_batches(count: u64, shape: &[usize]) -> Vec<Batch> {
    (0..count)
        .map(|i| {
            let x = Tensor::rand_normal(shape, 0.0, 1.0, 100 + i);
            let y = (0..shape[0]).map(|k| (k * 7 + i as usize) % 10).collect();
            (x, y)
        })
        .collect()
}

/// W2: 8 batches of 128 × 784.
pub fn w2_batches() -> Vec<Batch> {
    random_batches(8, &[128, 784])
}

/// W3: 4 batches of 64 × 1 × 28 × 28.
pub fn w3_batches() -> Vec<Batch> {
    random_batches(4, &[64, 1, 28, 28])
}

/// One training step on the tape: forward, cross-entropy, backward, SGD.
///
/// The tape lives in an inner block: dropping it before the update leaves
/// each parameter's storage unshared, so the optimizer updates it in place
/// instead of copying it first.
pub fn tape_step(model: &mut dyn Module<f32>, sgd: &mut Sgd<f32>, (x, y): &Batch) {
    let grads = {
        let tape = Tape::new();
        let s = Session::train(&tape);
        let loss = model
            .forward(&s, s.input(x.clone()))
            .and_then(|z| z.cross_entropy(y))
            .expect("forward");
        s.grads(loss).expect("backward")
    };
    sgd.step(model, &grads).expect("update");
}

/// One training step with the batch's rows split into chunks of
/// `chunk_rows` on rayon's threads ([`nn::chunked::grads_in_chunks`]);
/// `chunk_rows` of 0 is [`tape_step`].
pub fn chunked_step(
    model: &mut (dyn Module<f32> + Sync),
    sgd: &mut Sgd<f32>,
    batch: &Batch,
    chunk_rows: usize,
) {
    if chunk_rows == 0 {
        return tape_step(model, sgd, batch);
    }
    let (x, y) = batch;
    let (_, grads) = {
        let net = &*model;
        nn::chunked::grads_in_chunks(x, chunk_rows, |s, x, rows| {
            net.forward(s, x)?.cross_entropy(&y[rows])
        })
        .expect("forward and backward")
    };
    sgd.step(model, &grads).expect("update");
}

/// One training step by hand ([`nn::manual::backprop`]), then SGD.
pub fn manual_step(mlp: &mut Mlp<f32>, sgd: &mut Sgd<f32>, (x, y): &Batch) {
    let b = manual::backprop(mlp, x, y).expect("backprop");
    sgd.step(mlp, &b.grads).expect("update");
}
