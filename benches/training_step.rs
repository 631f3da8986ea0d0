//! Training steps (forward + backward + SGD update) on the tape and by hand
//! (`nn::manual`), for workloads W1 and W2 of bench/WORKLOADS.md:
//!
//! - W1: Playground MLP 2→8→8→2, tanh, softmax cross-entropy, SGD lr 0.03,
//!   batch 10, over 500 SplitMix64 points (50 batches, cycled);
//! - W2: MLP 784→256→128→10, ReLU, SGD lr 0.01, batch 128, random normal
//!   inputs and labels (8 batches, cycled).
//!
//! f32 throughout. `RAYON_NUM_THREADS` has no effect: GEMM is single-threaded.

use criterion::{criterion_group, criterion_main, Criterion};
use nn::optim::Sgd;
use nn::{Activation, Init, Mlp};

#[path = "../examples/support/workloads.rs"]
mod workloads;

use workloads::{manual_step, tape_step, w1_batches, w2_batches, Batch};

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
    let on_tape: Step = |m, s, b| tape_step(m, s, b);
    for (label, step) in [("tape", on_tape), ("manual", manual_step as Step)] {
        let mut mlp = Mlp::new(widths, act, Init::PyTorch, 42).unwrap();
        let mut sgd = Sgd::new(lr).unwrap();
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
