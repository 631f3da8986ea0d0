//! The fallible API never panics: thousands of random calls — random ranks
//! and extents (zero included), random axes, indices and labels, in range
//! or not — each return `Ok` or `Err`, and the backward sweep of every `Ok`
//! result runs too. A panic anywhere fails the test with the call that
//! caused it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use autodiff::{Result, Tape, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_shape(rng: &mut ChaCha8Rng) -> Vec<usize> {
    let rank = rng.random_range(0..=4);
    (0..rank).map(|_| rng.random_range(0..=3)).collect()
}

/// One random operation on `a` and `b`, described for the failure message.
fn random_op<'t>(
    rng: &mut ChaCha8Rng,
    a: Var<'t, f64>,
    b: Var<'t, f64>,
) -> (String, Result<Var<'t, f64>>) {
    let axis = rng.random_range(-5..5i64) as isize;
    let k = rng.random_range(0..5usize);
    match rng.random_range(0..22) {
        0 => ("add".into(), a.add(b)),
        1 => ("sub".into(), a.sub(b)),
        2 => ("mul".into(), a.mul(b)),
        3 => ("div".into(), a.div(b)),
        4 => ("matmul".into(), a.matmul(b)),
        5 => {
            let s = random_shape(rng);
            (format!("reshape {s:?}"), a.reshape(&s))
        }
        6 => (
            format!("sum_axes [{axis}]"),
            a.sum_axes(&[axis], rng.random()),
        ),
        7 => (
            format!("mean_axes [{axis}]"),
            a.mean_axes(&[axis], rng.random()),
        ),
        8 => (format!("max_axis {axis}"), a.max_axis(axis, rng.random())),
        9 => (format!("softmax {axis}"), a.softmax(axis)),
        10 => (format!("log_softmax {axis}"), a.log_softmax(axis)),
        11 => (
            format!("narrow {axis} {k}"),
            a.narrow(axis, k, rng.random_range(0..3)),
        ),
        12 => (
            format!("index_select {axis} [{k}]"),
            a.index_select(axis, &[k, 0]),
        ),
        13 => (format!("concat {axis}"), Var::concat(&[a, b], axis)),
        14 => {
            let labels: Vec<usize> = (0..rng.random_range(0..4))
                .map(|_| rng.random_range(0..4))
                .collect();
            (
                format!("cross_entropy {labels:?}"),
                a.cross_entropy(&labels),
            )
        }
        15 => ("cross_entropy_probs".into(), a.cross_entropy_probs(b)),
        16 => ("mse".into(), a.mse(b)),
        17 => {
            let mut perm: Vec<usize> = (0..a.shape().len()).collect();
            if rng.random() {
                perm.push(k);
            }
            perm.reverse();
            (format!("permute {perm:?}"), a.permute(&perm))
        }
        18 => {
            let s = random_shape(rng);
            (format!("broadcast_to {s:?}"), a.broadcast_to(&s))
        }
        19 => {
            let s = random_shape(rng);
            (format!("sum_to {s:?}"), a.sum_to(&s))
        }
        20 => (
            format!("transpose {axis} {k}"),
            a.transpose(axis, k as isize),
        ),
        _ => (
            "t, exp, sqrt, relu, sigmoid, tanh, powi".into(),
            a.t()
                .and_then(|v| v.exp()?.sqrt()?.relu()?.sigmoid()?.tanh()?.powi(-1)),
        ),
    }
}

/// How many random calls; `TAPEGRAD_NO_PANIC_CASES` raises it for a longer hunt.
const CASES: usize = 4000;

#[test]
fn random_calls_return_ok_or_err_and_never_panic() {
    let cases: usize = std::env::var("TAPEGRAD_NO_PANIC_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    let seed0: u64 = std::env::var("TAPEGRAD_NO_PANIC_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2026);
    let mut rng = ChaCha8Rng::seed_from_u64(seed0);
    let (mut ok, mut err) = (0, 0);
    for case in 0..cases {
        let (sa, sb) = (random_shape(&mut rng), random_shape(&mut rng));
        let seed = rng.random();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let tape = Tape::new();
            let a = tape.var(Tensor::rand_uniform(&sa, -2.0, 2.0, seed));
            let b = tape.var(Tensor::rand_uniform(&sb, -2.0, 2.0, seed + 1));
            let mut local = ChaCha8Rng::seed_from_u64(seed);
            let (what, result) = random_op(&mut local, a, b);
            let result = result.and_then(|y| {
                // backward through whatever came out, with a seed of its shape
                let seed = Tensor::ones(&y.shape());
                y.vjp(&seed).map(|g| (g.wrt(a).is_ok(), g.wrt(b).is_ok()))
            });
            (what, result.is_ok())
        }));
        match outcome {
            Ok((_, true)) => ok += 1,
            Ok((_, false)) => err += 1,
            Err(_) => panic!("case {case}: shapes {sa:?} and {sb:?} (seed {seed}) panicked"),
        }
    }
    println!("{ok} calls succeeded, {err} returned an error, none panicked");
    // both kinds occurred: the inputs were not all trivially valid or invalid
    assert!(ok > 500 && err > 500, "ok {ok}, err {err}");
}

#[test]
fn random_convolutions_and_poolings_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut ok, mut err) = (0, 0);
    for case in 0..3000 {
        // mostly 4-D, channels mostly matching: enough valid calls to exercise the kernels
        let rank = |rng: &mut ChaCha8Rng| {
            if rng.random_bool(0.9) {
                4
            } else {
                rng.random_range(2..=5)
            }
        };
        let x_rank = rank(&mut rng);
        let x_shape: Vec<usize> = (0..x_rank).map(|_| rng.random_range(0..=5)).collect();
        let w_rank = rank(&mut rng);
        let mut w_shape: Vec<usize> = (0..w_rank).map(|_| rng.random_range(0..=3)).collect();
        if x_rank == 4 && w_rank == 4 && rng.random_bool(0.7) {
            w_shape[1] = x_shape[1];
        }
        let (stride, padding, k) = (
            rng.random_range(0..=2),
            rng.random_range(0..=2),
            rng.random_range(0..=3),
        );
        let which = rng.random_range(0..3);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let tape = Tape::new();
            let x = tape.var(Tensor::<f64>::rand_uniform(&x_shape, -1.0, 1.0, case));
            let w = tape.var(Tensor::<f64>::rand_uniform(&w_shape, -1.0, 1.0, case + 1));
            let y = match which {
                0 => nn::ops::conv2d(x, w, None, stride, padding),
                1 => nn::ops::max_pool2d(x, k, stride),
                _ => nn::ops::avg_pool2d(x, k, stride),
            };
            y.and_then(|y| y.vjp(&Tensor::ones(&y.shape()))).is_ok()
        }));
        match outcome {
            Ok(true) => ok += 1,
            Ok(false) => err += 1,
            Err(_) => panic!("case {case}: op {which}, x {x_shape:?}, w {w_shape:?}, stride {stride}, padding {padding}, k {k} panicked"),
        }
    }
    println!("{ok} succeeded, {err} returned an error, none panicked");
    assert!(ok > 200 && err > 200, "ok {ok}, err {err}");
}
