//! W5 of bench/WORKLOADS.md: square f32 GEMM C = A·B through the
//! tape's matmul (forward only, untracked), n = 256, 512, 1024.
//! Criterion's throughput is set to 2n³ "elements", so its elem/s figure is
//! FLOP/s: divide by 1e9 for GFLOP/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tapegrad::prelude::*;

fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("w5_matmul_f32");
    for n in [256usize, 512, 1024] {
        let a = Tensor::<f32>::rand_normal(&[n, n], 0.0, 1.0, 42);
        let b = Tensor::<f32>::rand_normal(&[n, n], 0.0, 1.0, 43);
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        if n == 1024 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| {
                // a fresh tape per product: constants share the tensors' storage (no copy)
                let tape = Tape::new();
                let c = tape
                    .constant(a.clone())
                    .matmul(tape.constant(b.clone()))
                    .unwrap();
                std::hint::black_box(c.value())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, matmul);
criterion_main!(benches);
