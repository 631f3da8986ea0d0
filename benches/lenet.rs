//! W3 of bench/WORKLOADS.md and its convolution: LeNet-5 on
//! 64 × 1 × 28 × 28 random images, f32.
//!
//! - `conv2d_fwd_bwd`: the first convolution (1 → 6 channels, 5×5, padding 2)
//!   forward and backward (input and weight gradients);
//! - `train_step`: a full LeNet-5 step — forward, cross-entropy, backward,
//!   SGD update (lr 0.01), over 4 batches cycled;
//! - `train_step_chunks_of_32` and `_of_16`: the same step with each
//!   batch's rows split in chunks on the team's threads (`nn::chunked`):
//!   two of 32, as `mnist` trains LeNet-5, and four of 16, two after each
//!   other on each of two threads, as the `workloads` example runs W3
//!   (compare `RAYON_NUM_THREADS=1` and `=2`).

use autodiff::{Tape, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use nn::optim::Sgd;
use nn::{models, Init};

#[path = "../examples/support/workloads.rs"]
mod workloads;

fn lenet(c: &mut Criterion) {
    let mut group = c.benchmark_group("w3_lenet");
    group.sample_size(20);
    let x = Tensor::<f32>::rand_normal(&[64, 1, 28, 28], 0.0, 1.0, 1);
    let w = Tensor::<f32>::rand_normal(&[6, 1, 5, 5], 0.0, 0.2, 2);
    group.bench_function("conv2d_fwd_bwd", |b| {
        b.iter(|| {
            let tape = Tape::new();
            let (xv, wv) = (tape.var(x.clone()), tape.var(w.clone()));
            let y = nn::ops::conv2d(xv, wv, None, 1, 2).unwrap();
            let g = y.vjp(&Tensor::ones(&[64, 6, 28, 28])).unwrap();
            std::hint::black_box(g.wrt(wv).unwrap());
        })
    });
    let batches = workloads::w3_batches();
    let mut net = models::lenet5::<f32>(Init::PyTorch, 42).unwrap();
    let mut sgd = Sgd::new(0.01).unwrap();
    let mut i = 0;
    group.bench_function("train_step", |b| {
        b.iter(|| {
            workloads::tape_step(&mut net, &mut sgd, &batches[i % batches.len()]);
            i += 1;
        })
    });
    for rows in [32, 16] {
        group.bench_function(format!("train_step_chunks_of_{rows}"), |b| {
            b.iter(|| {
                workloads::chunked_step(&mut net, &mut sgd, &batches[i % batches.len()], rows);
                i += 1;
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lenet);
criterion_main!(benches);
