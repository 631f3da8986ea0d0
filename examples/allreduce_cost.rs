//! What the gradient all-reduce of data-parallel training costs per step, on
//! the W2 network of the benchmark workloads (MLP 784 → 256 → 128 → 10,
//! 235,146 parameters, a global batch of 128 split across the processes),
//! reduced after the backward sweep (blocking) and while it runs
//! (overlapped, from gradient hooks).
//!
//! Every round times a block of steps of each kind, interleaved, so that
//! the machine's noise hits all kinds alike; rank 0 prints medians.
//!
//! ```sh
//! cargo build --release --features mpi --example allreduce_cost
//! RAYON_NUM_THREADS=1 mpirun -np 2 target/release/examples/allreduce_cost
//! ```

#[path = "support/workloads.rs"]
mod workloads;

use std::time::Instant;

use autodiff::Tape;
use clap::Parser;
use nn::data::rows;
use nn::optim::{Optimizer, Sgd};
use nn::{Activation, Init, Mlp, Module, ParamGrads, Session};

/// Time W2 steps with and without the gradient all-reduce (run under mpirun).
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Rounds; each times a block of steps of every kind
    #[arg(long, default_value_t = 15)]
    rounds: usize,
    /// Steps per kind per round
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Values per bucket of the overlapped reduction
    #[arg(long, default_value_t = nn::distributed::OVERLAP_BUCKET_ELEMENTS)]
    bucket_elements: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// forward, backward and update, no communication
    Compute,
    /// then `all_reduce_gradients` after the sweep
    Blocking,
    /// `overlap_gradients` before the sweep, `finish` after it
    Overlapped,
    /// the blocking all-reduce alone, on the last step's gradients
    ReduceOnly,
}

const KINDS: [(Kind, &str); 4] = [
    (Kind::Compute, "compute only (no all-reduce)"),
    (Kind::Blocking, "blocking all-reduce after backward"),
    (Kind::Overlapped, "all-reduce overlapped with backward"),
    (Kind::ReduceOnly, "the all-reduce alone"),
];

fn main() {
    let args = Args::parse();
    let (_universe, mut dp) = nn::distributed::initialize().expect("MPI initializes");
    let bucket = dp.set_bucket_elements(args.bucket_elements);
    dp.or_abort(bucket);
    let (rank, size) = (dp.rank(), dp.size());

    let mut model = Mlp::<f32>::new(&[784, 256, 128, 10], Activation::Relu, Init::PyTorch, 1)
        .expect("W2's MLP");
    dp.broadcast_parameters(&mut model);
    let mut sgd = Sgd::new(0.01).expect("a valid rate");
    // this rank's contiguous shard of each global batch of 128
    let batches = workloads::w2_batches();
    let global = batches[0].1.len();
    let shard: Vec<usize> = (rank * global / size..(rank + 1) * global / size).collect();
    let shards: Vec<_> = batches
        .iter()
        .map(|(x, y)| {
            let labels: Vec<usize> = shard.iter().map(|&i| y[i]).collect();
            (rows(x, &shard).expect("rows of the batch"), labels)
        })
        .collect();

    let mut last = ParamGrads::default();
    let mut step = |kind: Kind, i: usize, last: &mut ParamGrads<f32>| {
        let (x, y) = &shards[i % shards.len()];
        if kind == Kind::ReduceOnly {
            let mut g = last.clone();
            dp.or_abort(dp.all_reduce_gradients(&model, &mut g, shard.len(), global));
            return;
        }
        let grads = {
            let tape = Tape::new();
            let s = Session::train(&tape);
            let loss = dp.or_abort(
                model
                    .forward(&s, s.input(x.clone()))
                    .and_then(|z| z.cross_entropy(y)),
            );
            let mut g = match kind {
                Kind::Overlapped => {
                    let reduction =
                        dp.or_abort(dp.overlap_gradients(&model, &s, shard.len(), global));
                    let mut g = dp.or_abort(s.grads(loss));
                    dp.or_abort(reduction.finish(&model, &mut g));
                    g
                }
                _ => dp.or_abort(s.grads(loss)),
            };
            if kind == Kind::Blocking {
                dp.or_abort(dp.all_reduce_gradients(&model, &mut g, shard.len(), global));
            }
            g
        };
        dp.or_abort(sgd.step(&mut model, &grads));
        *last = grads;
    };

    for i in 0..args.steps {
        step(Kind::Blocking, i, &mut last); // warm-up
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
    for _ in 0..args.rounds {
        for (k, &(kind, _)) in KINDS.iter().enumerate() {
            dp.sum(0.0); // start every block together
            let start = Instant::now();
            for i in 0..args.steps {
                step(kind, i, &mut last);
            }
            times[k].push(start.elapsed().as_secs_f64() * 1e6 / args.steps as f64);
        }
    }
    if dp.is_root() {
        let threads = rayon::current_num_threads();
        println!(
            "W2 data-parallel step, {size} processes × {threads} threads, \
             shards of {} of a global batch of {global}, {} parameters, buckets of ≥ {} values",
            shard.len(),
            parameter_count(&model),
            dp.bucket_elements()
        );
        let medians: Vec<f64> = times.into_iter().map(median).collect();
        for ((_, label), m) in KINDS.iter().zip(&medians) {
            println!("  {label:<38} {m:>9.1} µs/step");
        }
        let (compute, blocking, overlapped) = (medians[0], medians[1], medians[2]);
        println!(
            "  all-reduce cost per step: blocking {:.1} µs, overlapped {:.1} µs \
             (medians of {} rounds of {} steps)",
            blocking - compute,
            overlapped - compute,
            args.rounds,
            args.steps
        );
    }
}

fn parameter_count(model: &dyn Module<f32>) -> usize {
    let mut n = 0;
    model.visit_params("", &mut |_, p| n += p.value().numel());
    n
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
