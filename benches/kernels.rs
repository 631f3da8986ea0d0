//! The kernels behind W2 and W3 (bench/WORKLOADS.md) on one thread and on
//! two, to set the sizes above which they split across cores
//! (`autodiff::kernels::elementwise::PARALLEL_MIN_ELEMENTS`,
//! `autodiff::kernels::gemm::PARALLEL_MIN_MULADDS`):
//!
//! - `relu_backward/n`: ReLU's backward rule, ḡ·1[z > 0], on n elements;
//! - `bias_add/[rows, cols]`: a bias broadcast over rows (`[r, c] + [c]`);
//! - `max_pool2d/…` and `conv2d/…`: LeNet's layers, forward and backward,
//!   on a batch of 64;
//! - `lenet_chunk_kernels/…`: im2col, col2im and 2×2 max pooling forward on
//!   a chunk of 32 samples (W3's), LeNet's first and second layer;
//! - `gemm/m×k×n`: W2's and the convolutions' thin products, and W2's
//!   layers' `x·Wᵀ` (`gemm/m×k×n_xWt`);
//! - `gemm_after_serial_work/…`: W2's first product after 200 µs of work on
//!   the calling thread alone, as in a training step (the helpers have gone
//!   idle meanwhile: what `kernels::split`'s lingering worker is for);
//! - `matmul_backward/m×k×n`: both input gradients of a product (W2's
//!   second layer), computed at once on two threads above a size;
//! - `linear/…/m×k×n`: a dense layer's `x·Wᵀ + b` forward and backward, as
//!   the fused `linear` operation and as `matmul_t` then `add` (W1's and
//!   W2's layers);
//! - `small_gemm/m×k×n`: the plain-loop path for tiny products (W1's);
//! - `tanh/…/n`: the f32 `tanh` kernel against libm's `tanhf`;
//! - `sgd_update/n`: an SGD step on a weight of n elements (in parts on
//!   several threads from `nn::optim::PARALLEL_UPDATE_MIN_ELEMENTS` on).
//!
//! The thread count is rayon's global one; ids carry it (`1t`, `2t`):
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench --bench kernels
//! RAYON_NUM_THREADS=2 cargo bench --bench kernels
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tapegrad::prelude::*;

/// `1t`, `2t`, …: the size of rayon's global pool (`RAYON_NUM_THREADS`).
fn threads() -> String {
    format!("{}t", rayon::current_num_threads())
}

fn relu_backward(c: &mut Criterion) {
    let mut group = c.benchmark_group("relu_backward");
    for n in [1usize << 13, 1 << 15, 1 << 17, 1 << 19] {
        let z = Tensor::<f32>::rand_normal(&[n], 0.0, 1.0, 1);
        group.throughput(Throughput::Elements(n as u64));
        {
            {
                group.bench_with_input(BenchmarkId::new(threads(), n), &n, |b, _| {
                    b.iter(|| {
                        let tape = Tape::new();
                        let x = tape.var(z.clone());
                        let g = x.relu().unwrap().sum().unwrap().backward().unwrap();
                        std::hint::black_box(g.wrt(x).unwrap())
                    })
                });
            }
        }
    }
    group.finish();
}

fn bias_add(c: &mut Criterion) {
    let mut group = c.benchmark_group("bias_add");
    for (rows, cols) in [(128usize, 256usize), (1024, 256)] {
        let x = Tensor::<f32>::rand_normal(&[rows, cols], 0.0, 1.0, 1);
        let b = Tensor::<f32>::rand_normal(&[cols], 0.0, 1.0, 2);
        group.throughput(Throughput::Elements((rows * cols) as u64));
        {
            {
                let id = BenchmarkId::new(threads(), format!("{rows}x{cols}"));
                group.bench_function(id, |bench| {
                    bench.iter(|| {
                        let tape = Tape::new();
                        let y = tape
                            .constant(x.clone())
                            .add(tape.constant(b.clone()))
                            .unwrap();
                        std::hint::black_box(y.value())
                    })
                });
            }
        }
    }
    group.finish();
}

fn lenet_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("lenet_layers");
    group.sample_size(30);
    let x1 = Tensor::<f32>::rand_normal(&[64, 1, 28, 28], 0.0, 1.0, 1);
    let w1 = Tensor::<f32>::rand_normal(&[6, 1, 5, 5], 0.0, 0.2, 2);
    let x2 = Tensor::<f32>::rand_normal(&[64, 6, 14, 14], 0.0, 1.0, 3);
    let w2 = Tensor::<f32>::rand_normal(&[16, 6, 5, 5], 0.0, 0.1, 4);
    let a1 = Tensor::<f32>::rand_normal(&[64, 6, 28, 28], 0.0, 1.0, 5);
    {
        {
            group.bench_function(BenchmarkId::new(threads(), "conv1 fwd+bwd"), |b| {
                b.iter(|| {
                    let tape = Tape::new();
                    let (x, w) = (tape.constant(x1.clone()), tape.var(w1.clone()));
                    let y = nn::ops::conv2d(x, w, None, 1, 2).unwrap();
                    std::hint::black_box(y.sum().unwrap().backward().unwrap().wrt(w).unwrap())
                })
            });
            group.bench_function(BenchmarkId::new(threads(), "conv2 fwd+bwd"), |b| {
                b.iter(|| {
                    let tape = Tape::new();
                    let (x, w) = (tape.var(x2.clone()), tape.var(w2.clone()));
                    let y = nn::ops::conv2d(x, w, None, 1, 0).unwrap();
                    let g = y.sum().unwrap().backward().unwrap();
                    std::hint::black_box((g.wrt(x).unwrap(), g.wrt(w).unwrap()))
                })
            });
            group.bench_function(BenchmarkId::new(threads(), "max_pool2d fwd+bwd"), |b| {
                b.iter(|| {
                    let tape = Tape::new();
                    let x = tape.var(a1.clone());
                    let y = nn::ops::max_pool2d(x, 2, 2).unwrap();
                    std::hint::black_box(y.sum().unwrap().backward().unwrap().wrt(x).unwrap())
                })
            });
        }
    }
    group.finish();
}

fn lenet_chunk_kernels(c: &mut Criterion) {
    use nn::ops::{ConvGeometry, ConvOptions};
    let mut group = c.benchmark_group("lenet_chunk_kernels");
    let layers = [
        ("conv1", [32, 1, 28, 28], [6, 1, 5, 5], 2),
        ("conv2", [32, 6, 14, 14], [16, 6, 5, 5], 0),
    ];
    for (name, xs, ws, pad) in layers {
        let g = ConvGeometry::with_options(&xs, &ws, &ConvOptions::default().padding(pad)).unwrap();
        let x = Tensor::<f32>::rand_normal(&xs, 0.0, 1.0, 1);
        let len = g.patch() * g.n * g.positions();
        let cols = Tensor::<f32>::rand_normal(&[len], 0.0, 1.0, 2);
        let mut out = vec![0.0f32; len];
        group.bench_function(BenchmarkId::new(threads(), format!("im2col {name}")), |b| {
            b.iter(|| g.im2col_into(x.data(), &mut out))
        });
        let mut dx = vec![0.0f32; x.numel()];
        group.bench_function(BenchmarkId::new(threads(), format!("col2im {name}")), |b| {
            b.iter(|| g.col2im_add(cols.data(), &mut dx))
        });
    }
    for shape in [[32, 6, 28, 28], [32, 16, 10, 10]] {
        let a = Tensor::<f32>::rand_normal(&shape, 0.0, 1.0, 3);
        let id = format!("max_pool2d 2x2 fwd {shape:?}");
        group.bench_function(BenchmarkId::new(threads(), id), |b| {
            b.iter(|| {
                let tape = Tape::new();
                std::hint::black_box(
                    nn::ops::max_pool2d(tape.constant(a.clone()), 2, 2)
                        .unwrap()
                        .id(),
                )
            })
        });
    }
    group.finish();
}

fn thin_gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    // (m, k, n, B read transposed): `_xWt` is a dense layer's forward, x·Wᵀ
    // with W stored [out, in] (W2's layers), split in bands of columns on
    // two threads; the others are plain x·W
    for (m, k, n, xwt) in [
        (128usize, 784usize, 256usize, false),
        (256, 128, 784, false),
        (128, 256, 128, false),
        (6, 25, 50176, false),
        (16, 150, 6400, false),
        (128, 784, 256, true),
        (128, 256, 128, true),
    ] {
        let a = Tensor::<f32>::rand_normal(&[m, k], 0.0, 1.0, 1);
        let b_shape = if xwt { [n, k] } else { [k, n] };
        let b = Tensor::<f32>::rand_normal(&b_shape, 0.0, 1.0, 2);
        let name = format!("{m}x{k}x{n}{}", if xwt { "_xWt" } else { "" });
        group.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        group.bench_function(BenchmarkId::new(threads(), name), |bench| {
            bench.iter(|| {
                let tape = Tape::new();
                let c = tape
                    .constant(a.clone())
                    .matmul_t(tape.constant(b.clone()), false, xwt)
                    .unwrap();
                std::hint::black_box(c.value())
            })
        });
    }
    group.finish();
}

/// W2's first-layer product after 200 µs of single-threaded work.
fn gemm_after_serial_work(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm_after_serial_work");
    let a = Tensor::<f32>::rand_normal(&[128, 784], 0.0, 1.0, 1);
    let b = Tensor::<f32>::rand_normal(&[784, 256], 0.0, 1.0, 2);
    group.bench_function(BenchmarkId::new(threads(), "128x784x256"), |bench| {
        bench.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let serial = std::time::Instant::now();
                while serial.elapsed() < std::time::Duration::from_micros(200) {
                    std::hint::spin_loop();
                }
                let start = std::time::Instant::now();
                let tape = Tape::new();
                let c = tape
                    .constant(a.clone())
                    .matmul(tape.constant(b.clone()))
                    .unwrap();
                std::hint::black_box(c.value());
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

/// Both input gradients of `x·W` (forward and backward minus forward).
fn matmul_backward(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul_backward");
    for (m, k, n) in [(128usize, 256usize, 128usize), (128, 128, 10)] {
        let x = Tensor::<f32>::rand_normal(&[m, k], 0.0, 1.0, 1);
        let w = Tensor::<f32>::rand_normal(&[k, n], 0.0, 1.0, 2);
        group.throughput(Throughput::Elements(4 * (m * k * n) as u64));
        group.bench_function(
            BenchmarkId::new(threads(), format!("{m}x{k}x{n}")),
            |bench| {
                bench.iter(|| {
                    let tape = Tape::new();
                    let (xv, wv) = (tape.var(x.clone()), tape.var(w.clone()));
                    let g = xv.matmul(wv).unwrap().sum().unwrap().backward().unwrap();
                    std::hint::black_box((g.wrt(xv).unwrap(), g.wrt(wv).unwrap()))
                })
            },
        );
    }
    group.finish();
}

fn linear(c: &mut Criterion) {
    let mut group = c.benchmark_group("linear");
    for (m, k, n) in [(10usize, 8usize, 8usize), (128, 256, 128)] {
        let x = Tensor::<f32>::rand_normal(&[m, k], 0.0, 1.0, 1);
        let w = Tensor::<f32>::rand_normal(&[n, k], 0.0, 1.0, 2);
        let b = Tensor::<f32>::rand_normal(&[n], 0.0, 1.0, 3);
        for fused in [true, false] {
            let name = if fused { "fused" } else { "matmul_t+add" };
            group.bench_function(
                BenchmarkId::new(format!("{}/{name}", threads()), format!("{m}x{k}x{n}")),
                |bench| {
                    bench.iter(|| {
                        let tape = Tape::new();
                        let (xv, wv, bv) = (
                            tape.var(x.clone()),
                            tape.var(w.clone()),
                            tape.var(b.clone()),
                        );
                        let y = if fused {
                            xv.linear(wv, Some(bv)).unwrap()
                        } else {
                            xv.matmul_t(wv, false, true).unwrap().add(bv).unwrap()
                        };
                        let g = y.sum().unwrap().backward().unwrap();
                        std::hint::black_box((
                            g.wrt(xv).unwrap(),
                            g.wrt(wv).unwrap(),
                            g.wrt(bv).unwrap(),
                        ))
                    })
                },
            );
        }
    }
    group.finish();
}

/// Small products straight through the kernel, `x·Wᵀ` as a linear layer
/// computes them (W stored `[n, k]`): the Playground network's (W1) and
/// the sizes around the plain-loop path's threshold.
fn small_gemm(c: &mut Criterion) {
    use tapegrad::autodiff::kernels::gemm::{batched_into, Matrices};
    let mut group = c.benchmark_group("small_gemm");
    for (m, k, n) in [
        (10usize, 2usize, 8usize),
        (10, 8, 8),
        (10, 8, 2),
        (12, 12, 12),
        (16, 16, 16),
    ] {
        let x = Tensor::<f32>::rand_normal(&[m, k], 0.0, 1.0, 1);
        let w = Tensor::<f32>::rand_normal(&[n, k], 0.0, 1.0, 2);
        let mut out = vec![0.0f32; m * n];
        group.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        group.bench_function(
            BenchmarkId::new(threads(), format!("{m}x{k}x{n}")),
            |bench| {
                bench.iter(|| {
                    batched_into(
                        1,
                        Matrices::shared(x.data(), m, k),
                        Matrices::shared(w.data(), n, k).t(),
                        &mut out,
                    );
                    std::hint::black_box(&out);
                })
            },
        );
    }
    group.finish();
}

/// `tanh` over a slice, the f32 kernel (`autodiff::activations::tanh_slice`:
/// computed in f64, vectorized) against libm's `tanhf` element by element,
/// at W1's hidden-layer size (10 × 8) and a large one.
fn tanh(c: &mut Criterion) {
    use tapegrad::autodiff::activations::tanh_slice;
    let mut group = c.benchmark_group("tanh");
    for n in [80usize, 1 << 16] {
        let z = Tensor::<f32>::rand_normal(&[n], 0.0, 2.0, 1);
        let mut out = vec![0.0f32; n];
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("tanh_slice", n), |bench| {
            bench.iter(|| {
                tanh_slice(z.data(), &mut out);
                std::hint::black_box(&out);
            })
        });
        group.bench_function(BenchmarkId::new("libm_tanhf", n), |bench| {
            bench.iter(|| {
                for (o, &x) in out.iter_mut().zip(z.data()) {
                    *o = x.tanh();
                }
                std::hint::black_box(&out);
            })
        });
    }
    group.finish();
}

/// One SGD step (θ ← θ − ηg, in place) on a weight of n elements: the
/// update splits across threads from
/// `nn::optim::PARALLEL_UPDATE_MIN_ELEMENTS` elements on.
fn sgd_update(c: &mut Criterion) {
    use tapegrad::nn::optim::{Optimizer, Sgd};
    use tapegrad::nn::{Linear, ParamGrads};
    let mut group = c.benchmark_group("sgd_update");
    for n in [784 * 256, 1usize << 18, 1 << 19, 1 << 20, 1 << 22] {
        let weight = Tensor::<f32>::rand_normal(&[n / 16, 16], 0.0, 1.0, 1);
        let mut layer = Linear::from_tensors(weight, None).unwrap();
        let mut grads = ParamGrads::default();
        grads.insert(
            &layer.weight,
            Tensor::<f32>::rand_normal(&[n / 16, 16], 0.0, 1e-3, 2),
        );
        let mut sgd = Sgd::new(1e-3).unwrap();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new(threads(), n), |bench| {
            bench.iter(|| sgd.step(&mut layer, &grads).unwrap())
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    relu_backward,
    bias_add,
    lenet_layers,
    lenet_chunk_kernels,
    thin_gemm,
    gemm_after_serial_work,
    matmul_backward,
    linear,
    small_gemm,
    tanh,
    sgd_update
);
criterion_main!(benches);
