//! W4 of bench/WORKLOADS.md: the cost per recorded operation.
//! x is a 1-element tensor; y = x; 1,000 times y = sigmoid(y·0.9 + 0.1);
//! then backward. 3,000 recorded operations, forward and backward together:
//! divide the reported time per iteration by 3,000 for ns/op.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tapegrad::prelude::*;

fn chain(steps: usize) -> f32 {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::from_vec(vec![0.5], &[1]).unwrap());
    let mut y = x;
    for _ in 0..steps {
        y = y
            .mul_scalar(0.9)
            .unwrap()
            .add_scalar(0.1)
            .unwrap()
            .sigmoid()
            .unwrap();
    }
    let g = y.sum().unwrap().backward().unwrap();
    g.wrt(x).unwrap().data()[0]
}

fn tape_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("w4_tape_overhead");
    // throughput in "elements" = recorded operations, so criterion prints ops/s
    group.throughput(Throughput::Elements(3_000));
    group.bench_function("sigmoid_chain_1000_fwd_bwd", |b| {
        b.iter(|| std::hint::black_box(chain(1_000)))
    });
    group.finish();
}

criterion_group!(benches, tape_overhead);
criterion_main!(benches);
