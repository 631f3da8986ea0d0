//! The workloads of `bench/WORKLOADS.md`, printed as the same `RESULT`
//! lines that `bench/torch_workloads.py` prints, so that the two can be run
//! side by side (`bench/side_by_side.sh`) and compared as ratios in one
//! session.
//!
//! ```sh
//! cargo run --release --example workloads -- w2              # one workload
//! RAYON_NUM_THREADS=1 cargo run --release --example workloads -- w5
//! /usr/bin/time -v target/release/examples/workloads w6      # peak memory
//! ```

#[path = "support/workloads.rs"]
mod workloads;

use std::time::Instant;

use autodiff::{Tape, Tensor};
use clap::{Parser, ValueEnum};
use nn::optim::Sgd;
use nn::{models, Activation, Init, Mlp, Module};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Workload {
    W1,
    W2,
    W3,
    W4,
    W5,
    W6,
}

/// Run one benchmark workload and print its RESULT line.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Which workload (w6 is 200 W2 steps, for a peak-memory measurement)
    #[arg(value_enum)]
    workload: Workload,
    /// Untimed steps first (default: as bench/torch_workloads.py)
    #[arg(long)]
    warmup: Option<usize>,
    /// Timed steps (default: as bench/torch_workloads.py)
    #[arg(long)]
    steps: Option<usize>,
    /// W5 only: one matrix size instead of 256, 512 and 1024
    #[arg(long)]
    n: Option<usize>,
    /// W1–W3, W6: rows per chunk of a batch split across threads (0: one
    /// sweep over the whole batch). Default: 16 for W3, 0 for the others.
    #[arg(long)]
    chunk_rows: Option<usize>,
}

/// median, min, max, p10, p90 and n, as bench/torch_workloads.py's `summary`.
fn stats(mut v: Vec<f64>) -> [f64; 6] {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return [0.0; 6];
    }
    let q = |f: f64| v[((n - 1) as f64 * f).round() as usize];
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    [median, v[0], v[n - 1], q(0.1), q(0.9), n as f64]
}

fn report(workload: &str, unit: &str, s: [f64; 6], extra: &str) {
    println!(
        "RESULT system=tapegrad workload={workload} threads={} unit={unit} median={:.4} min={:.4} max={:.4} p10={:.4} p90={:.4} n={}{extra}",
        rayon::current_num_threads(),
        s[0],
        s[1],
        s[2],
        s[3],
        s[4],
        s[5]
    );
}

/// Times `steps` calls of `step` after `warmup` untimed ones, in µs.
fn time_steps(warmup: usize, steps: usize, mut step: impl FnMut(usize)) -> Vec<f64> {
    for i in 0..warmup {
        step(i);
    }
    (0..steps)
        .map(|i| {
            let t = Instant::now();
            step(warmup + i);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect()
}

fn train(
    model: &mut (dyn Module<f32> + Sync),
    lr: f64,
    batches: &[workloads::Batch],
    (warmup, steps, chunk_rows): (usize, usize, usize),
) -> Vec<f64> {
    let mut sgd = Sgd::new(lr).expect("a valid learning rate");
    time_steps(warmup, steps, |i| {
        workloads::chunked_step(model, &mut sgd, &batches[i % batches.len()], chunk_rows)
    })
}

/// The process's peak resident memory in MiB (Linux `VmHWM`), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let (warm, steps) = match args.workload {
        Workload::W1 => (500, 5000),
        Workload::W2 => (20, 300),
        Workload::W3 => (5, 60),
        Workload::W4 => (10, 100),
        Workload::W5 => (3, 0),
        Workload::W6 => (0, 200),
    };
    let (warm, steps) = (args.warmup.unwrap_or(warm), args.steps.unwrap_or(steps));
    // W3's LeNet step gains from chunks at one thread too (smaller working
    // sets: chunks of 16 rows, whose im2col fits a core's L2 cache, took
    // the step 7 % below chunks of 32 on one thread and 13 % on two, where
    // each thread runs two of the four; README, "What each change bought");
    // W2's products are large enough to split by themselves, and its 64-row
    // chunks cost 24 % more at one thread. The chunks never depend on the
    // thread count, so results do not either.
    let default_chunks = match args.workload {
        Workload::W3 => 16,
        _ => 0,
    };
    let run = (warm, steps, args.chunk_rows.unwrap_or(default_chunks));
    match args.workload {
        Workload::W1 => {
            let mut mlp = Mlp::new(&[2, 8, 8, 2], Activation::Tanh, Init::PyTorch, 42)?;
            report(
                "w1",
                "us/step",
                stats(train(&mut mlp, 0.03, &workloads::w1_batches(), run)),
                "",
            );
        }
        Workload::W2 | Workload::W6 => {
            let mut mlp = Mlp::new(&[784, 256, 128, 10], Activation::Relu, Init::PyTorch, 42)?;
            let times = train(&mut mlp, 0.01, &workloads::w2_batches(), run);
            let (name, extra) = match args.workload {
                Workload::W6 => (
                    "w6_w2x200",
                    peak_rss_mib()
                        .map(|m| format!(" peak_rss_mib={m:.1}"))
                        .unwrap_or_default(),
                ),
                _ => ("w2", String::new()),
            };
            report(name, "us/step", stats(times), &extra);
        }
        Workload::W3 => {
            let mut net = models::lenet5::<f32>(Init::PyTorch, 42)?;
            report(
                "w3",
                "us/step",
                stats(train(&mut net, 0.01, &workloads::w3_batches(), run)),
                "",
            );
        }
        Workload::W4 => {
            let times = time_steps(warm, steps, |_| {
                let tape = Tape::<f32>::new();
                let x = tape.var(Tensor::from_vec(vec![0.5], &[1]).expect("one element"));
                let mut y = x;
                for _ in 0..1000 {
                    y = y
                        .mul_scalar(0.9)
                        .and_then(|v| v.add_scalar(0.1))
                        .and_then(|v| v.sigmoid())
                        .expect("chain");
                }
                let g = y.sum().and_then(|s| s.backward()).expect("backward");
                std::hint::black_box(g.wrt(x).expect("gradient"));
            });
            // µs per chain → ns per recorded operation
            report(
                "w4",
                "ns/op",
                stats(times.iter().map(|t| t * 1e3 / 3000.0).collect()),
                "",
            );
        }
        Workload::W5 => {
            for n in args.n.map_or(vec![256, 512, 1024], |n| vec![n]) {
                let a = Tensor::<f32>::rand_normal(&[n, n], 0.0, 1.0, 42);
                let b = Tensor::<f32>::rand_normal(&[n, n], 0.0, 1.0, 43);
                let reps = match n {
                    256 => 200,
                    512 => 40,
                    _ => 10,
                };
                let times = time_steps(warm, reps, |_| {
                    let tape = Tape::new();
                    let c = tape
                        .constant(a.clone())
                        .matmul(tape.constant(b.clone()))
                        .expect("square");
                    std::hint::black_box(c.id());
                });
                // GFLOP/s = 2n³/t; like common.py, "min" is the slowest run
                let flops = |us: f64| 2.0 * (n as f64).powi(3) / (us * 1e-6) / 1e9;
                let s = stats(times);
                report(
                    &format!("w5_n{n}"),
                    "GFLOP/s",
                    [
                        flops(s[0]),
                        flops(s[2]),
                        flops(s[1]),
                        flops(s[4]),
                        flops(s[3]),
                        s[5],
                    ],
                    "",
                );
            }
        }
    }
    Ok(())
}
