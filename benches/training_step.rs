//! Training steps (forward + backward + SGD update) on the tape and by hand
//! (`nn::manual`), for workloads W1 and W2 of ../shared/bench/WORKLOADS.md:
//!
//! - W1: Playground MLP 2→8→8→2, tanh, softmax cross-entropy, SGD lr 0.03,
//!   batch 10, over 500 SplitMix64 points (50 batches, cycled);
//! - W2: MLP 784→256→128→10, ReLU, SGD lr 0.01, batch 128, random normal
//!   inputs and labels (8 batches, cycled).
//!
//! f32 throughout. `RAYON_NUM_THREADS` has no effect: GEMM is single-threaded.

use autodiff::{Tape, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use nn::optim::{Optimizer, Sgd};
use nn::{manual, Activation, Init, Mlp, Module, Session};

/// SplitMix64, as WORKLOADS.md defines the W1 data (the same stream as its
/// Python generator, so both see bit-identical points).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

type Batch = (Tensor<f32>, Vec<usize>);

fn w1_batches() -> Vec<Batch> {
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
            let x = Tensor::from_vec(xs[i * 20..(i + 1) * 20].to_vec(), &[10, 2]).unwrap();
            (x, ys[i * 10..(i + 1) * 10].to_vec())
        })
        .collect()
}

fn w2_batches() -> Vec<Batch> {
    (0..8)
        .map(|i| {
            let x = Tensor::rand_normal(&[128, 784], 0.0, 1.0, 100 + i);
            let y = (0..128).map(|k| (k * 7 + i as usize) % 10).collect();
            (x, y)
        })
        .collect()
}

fn tape_step(mlp: &mut Mlp<f32>, sgd: &mut Sgd<f32>, (x, y): &Batch) {
    let tape = Tape::new();
    let s = Session::train(&tape);
    let loss = mlp
        .forward(&s, s.input(x.clone()))
        .unwrap()
        .cross_entropy(y)
        .unwrap();
    let grads = s.grads(loss).unwrap();
    sgd.step(mlp, &grads).unwrap();
}

fn manual_step(mlp: &mut Mlp<f32>, sgd: &mut Sgd<f32>, (x, y): &Batch) {
    let b = manual::backprop(mlp, x, y).unwrap();
    sgd.step(mlp, &b.grads).unwrap();
}

fn bench_workload(
    c: &mut Criterion,
    name: &str,
    widths: &[usize],
    act: Activation,
    lr: f64,
    batches: Vec<Batch>,
) {
    let mut group = c.benchmark_group(name);
    type Step = fn(&mut Mlp<f32>, &mut Sgd<f32>, &Batch);
    for (label, step) in [("tape", tape_step as Step), ("manual", manual_step as Step)] {
        let mut mlp = Mlp::new(widths, act, Init::PyTorch, 42).unwrap();
        let mut sgd = Sgd::new(lr);
        let mut i = 0;
        group.bench_function(label, |b| {
            b.iter(|| {
                step(&mut mlp, &mut sgd, &batches[i % batches.len()]);
                i += 1;
            })
        });
    }
    group.finish();
}

fn training_step(c: &mut Criterion) {
    bench_workload(
        c,
        "w1_playground_step",
        &[2, 8, 8, 2],
        Activation::Tanh,
        0.03,
        w1_batches(),
    );
    bench_workload(
        c,
        "w2_mlp784_step",
        &[784, 256, 128, 10],
        Activation::Relu,
        0.01,
        w2_batches(),
    );
}

criterion_group!(benches, training_step);
criterion_main!(benches);
