//! The lecture note's backprop by hand (`nn::manual`) beside the tape: the
//! largest gradient difference and the time per SGD training step of each,
//! for a Playground-sized net and an MNIST-sized one.
//!
//! ```sh
//! cargo run --release --example manual_vs_autodiff
//! ```

use std::time::Instant;

#[path = "support/workloads.rs"]
mod workloads;

use autodiff::{Tape, Tensor};
use nn::optim::Sgd;
use nn::{manual, Activation, Init, Mlp, Module, Session};

/// The median time per step, in microseconds, over `steps` steps after warm-up.
fn median_us(steps: usize, mut step: impl FnMut()) -> f64 {
    for _ in 0..steps / 10 + 1 {
        step();
    }
    let mut times: Vec<f64> = (0..steps)
        .map(|_| {
            let t = Instant::now();
            step();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn compare(name: &str, widths: &[usize], act: Activation, batch: usize, steps: usize) {
    let classes = *widths.last().unwrap();
    let x64 = Tensor::<f64>::rand_normal(&[batch, widths[0]], 0.0, 1.0, 1);
    let y: Vec<usize> = (0..batch).map(|i| (i * 7 + 3) % classes).collect();
    let mlp64 = Mlp::<f64>::new(widths, act, Init::HeUniform, 2).unwrap();

    // gradients, in f64
    let by_hand = manual::backprop(&mlp64, &x64, &y).unwrap();
    let tape = Tape::new();
    let s = Session::train(&tape);
    let loss = mlp64
        .forward(&s, s.input(x64.clone()))
        .unwrap()
        .cross_entropy(&y)
        .unwrap();
    let by_tape = s.grads(loss).unwrap();
    let mut worst = 0.0f64;
    mlp64.visit_params("", &mut |_, p| {
        let d = by_hand
            .grads
            .get(p)
            .unwrap()
            .max_abs_diff(by_tape.get(p).unwrap())
            .unwrap();
        worst = worst.max(d);
    });

    // time per step, in f32
    let batch = (x64.cast::<f32>(), y.clone());
    let mut a = Mlp::<f32>::new(widths, act, Init::HeUniform, 2).unwrap();
    let mut b = a.clone();
    let (mut sa, mut sb) = (Sgd::new(0.01).unwrap(), Sgd::new(0.01).unwrap());
    let t_tape = median_us(steps, || {
        workloads::tape_step(&mut a, &mut sa, &batch);
    });
    let t_hand = median_us(steps, || {
        workloads::manual_step(&mut b, &mut sb, &batch);
    });
    println!(
        "{name:<28} {:>12.2e} {:>12.1} {:>12.1} {:>8.2}",
        worst,
        t_tape,
        t_hand,
        t_tape / t_hand
    );
}

fn main() {
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>8}",
        "net (batch)", "max |Δgrad|", "tape µs", "by hand µs", "ratio"
    );
    compare(
        "2→8→8→2 tanh (10)",
        &[2, 8, 8, 2],
        Activation::Tanh,
        10,
        20_000,
    );
    compare(
        "784→256→128→10 relu (128)",
        &[784, 256, 128, 10],
        Activation::Relu,
        128,
        200,
    );
    println!("\ngradients compared in f64; steps timed in f32 (forward + backward + SGD update), medians");
}
