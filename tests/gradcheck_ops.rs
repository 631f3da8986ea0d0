//! Every differentiable operation against central finite differences, in
//! f64, over random shapes including broadcasting. `gradcheck` reduces a
//! non-scalar output with fixed random weights, so every output element
//! takes part.
// The tests pass owned input lists; `&[x.clone()]` reads better here than `slice::from_ref`.
#![allow(clippy::cloned_ref_to_slice_refs)]

use autodiff::{gradcheck, GradcheckOptions, Result, Tape, Tensor, Var};

/// Random values in [-1, 1) of `shape`.
fn rand(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, -1.0, 1.0, seed)
}

/// Values with |x| in [0.2, 1.2): away from the kinks of relu, abs, and the
/// poles of division.
fn away_from_zero(shape: &[usize], seed: u64) -> Tensor<f64> {
    let u = Tensor::rand_uniform(shape, -1.0, 1.0, seed);
    u.map(|v| if v >= 0.0 { v + 0.2 } else { v - 0.2 })
}

fn positive(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, 0.2, 2.0, seed)
}

/// A shape of `rank` axes with extents 1..=4 drawn from `seed`.
fn random_shape(rank: usize, seed: u64) -> Vec<usize> {
    let u = Tensor::<f64>::rand_uniform(&[rank], 0.0, 1.0, seed);
    u.data().iter().map(|v| 1 + (v * 4.0) as usize).collect()
}

/// `shape` with some axes set to 1 and some leading axes dropped, so that
/// it broadcasts against `shape`.
fn broadcastable(shape: &[usize], seed: u64) -> Vec<usize> {
    let u = Tensor::<f64>::rand_uniform(&[shape.len() + 1], 0.0, 1.0, seed);
    let drop = (u.data()[0] * (shape.len() as f64 + 1.0)) as usize;
    shape[drop.min(shape.len())..]
        .iter()
        .zip(&u.data()[1..])
        .map(|(&d, &v)| if v < 0.4 { 1 } else { d })
        .collect()
}

fn check<F>(name: &str, f: F, inputs: &[Tensor<f64>])
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    if let Err(e) = gradcheck(f, inputs, &GradcheckOptions::default()) {
        let shapes: Vec<_> = inputs.iter().map(|t| t.shape().to_vec()).collect();
        panic!("{name} with inputs {shapes:?}: {e}");
    }
}

#[test]
fn broadcasting_arithmetic() {
    for seed in 0..12 {
        let a_shape = random_shape(1 + (seed as usize % 4), seed);
        let b_shape = broadcastable(&a_shape, seed + 100);
        let a = rand(&a_shape, seed);
        let b = away_from_zero(&b_shape, seed + 1);
        // both orders, so the broadcast operand is first and second
        for (x, y) in [(a.clone(), b.clone()), (b.clone(), a.clone())] {
            check("add", |_, v| v[0].add(v[1]), &[x.clone(), y.clone()]);
            check("sub", |_, v| v[0].sub(v[1]), &[x.clone(), y.clone()]);
            check("mul", |_, v| v[0].mul(v[1]), &[x.clone(), y.clone()]);
        }
        check("div", |_, v| v[0].div(v[1]), &[a.clone(), b.clone()]);
        check(
            "div",
            |_, v| v[0].div(v[1]),
            &[b.clone(), away_from_zero(&a_shape, seed + 2)],
        );
    }
}

#[test]
fn scalar_arithmetic_and_negation() {
    let x = rand(&[3, 2], 1);
    check("neg", |_, v| v[0].neg(), &[x.clone()]);
    check("add_scalar", |_, v| v[0].add_scalar(0.7), &[x.clone()]);
    check("sub_scalar", |_, v| v[0].sub_scalar(0.7), &[x.clone()]);
    check("rsub_scalar", |_, v| v[0].rsub_scalar(0.7), &[x.clone()]);
    check("mul_scalar", |_, v| v[0].mul_scalar(-1.5), &[x.clone()]);
    check("div_scalar", |_, v| v[0].div_scalar(3.0), &[x.clone()]);
    check(
        "operators",
        |_, v| Ok(-(v[0] * v[1] + v[0] / v[1] - v[1]) * 2.0 + 1.0),
        &[x, away_from_zero(&[2], 2)],
    );
}

#[test]
fn matmul_2d_batched_and_transposed() {
    for seed in 0..4 {
        let [m, k, n, b] = [
            2 + seed as usize % 3,
            1 + seed as usize,
            3,
            2 + seed as usize % 2,
        ];
        check(
            "matmul 2-D",
            |_, v| v[0].matmul(v[1]),
            &[rand(&[m, k], seed), rand(&[k, n], seed + 1)],
        );
        check(
            "matmul 3-D",
            |_, v| v[0].matmul(v[1]),
            &[rand(&[b, m, k], seed), rand(&[b, k, n], seed + 1)],
        );
        check(
            "matmul 3-D x 2-D",
            |_, v| v[0].matmul(v[1]),
            &[rand(&[b, m, k], seed), rand(&[k, n], seed + 1)],
        );
        check(
            "matmul 2-D x 3-D",
            |_, v| v[0].matmul(v[1]),
            &[rand(&[m, k], seed), rand(&[b, k, n], seed + 1)],
        );
        for (ta, tb) in [(false, true), (true, false), (true, true)] {
            let a = if ta {
                rand(&[k, m], seed)
            } else {
                rand(&[m, k], seed)
            };
            let bm = if tb {
                rand(&[n, k], seed + 1)
            } else {
                rand(&[k, n], seed + 1)
            };
            check("matmul_t", |_, v| v[0].matmul_t(v[1], ta, tb), &[a, bm]);
        }
    }
}

#[test]
fn shape_operations() {
    let x = rand(&[2, 3, 4], 3);
    check("reshape", |_, v| v[0].reshape(&[4, 6]), &[x.clone()]);
    check("flatten_batch", |_, v| v[0].flatten_batch(), &[x.clone()]);
    check("t", |_, v| v[0].t(), &[x.clone()]);
    check("transpose", |_, v| v[0].transpose(0, 2), &[x.clone()]);
    check("permute", |_, v| v[0].permute(&[1, 2, 0]), &[x.clone()]);
    check(
        "broadcast_to",
        |_, v| v[0].broadcast_to(&[5, 2, 3, 4]),
        &[rand(&[2, 1, 4], 4)],
    );
    check("sum_to", |_, v| v[0].sum_to(&[3, 1]), &[x.clone()]);
    check("narrow", |_, v| v[0].narrow(1, 1, 2), &[x.clone()]);
    check("narrow last", |_, v| v[0].narrow(-1, 0, 3), &[x.clone()]);
    check(
        "index_select rows",
        |_, v| v[0].index_select(0, &[2, 0, 2, 1]),
        &[rand(&[3, 5], 5)],
    );
    check(
        "index_select middle",
        |_, v| v[0].index_select(1, &[1, 1]),
        &[x.clone()],
    );
    check(
        "concat",
        |_, v| Var::concat(&[v[0], v[1], v[2]], 1),
        &[
            rand(&[2, 1, 4], 6),
            rand(&[2, 3, 4], 7),
            rand(&[2, 2, 4], 8),
        ],
    );
    check(
        "concat axis 0",
        |_, v| Var::concat(&[v[0], v[1]], 0),
        &[rand(&[1, 3], 9), rand(&[2, 3], 10)],
    );
}

#[test]
fn reductions() {
    for seed in 0..4 {
        let shape = random_shape(3, seed + 40);
        let x = rand(&shape, seed);
        check("sum", |_, v| v[0].sum(), &[x.clone()]);
        check("mean", |_, v| v[0].mean(), &[x.clone()]);
        for keep in [false, true] {
            check(
                "sum_axes",
                |_, v| v[0].sum_axes(&[0, 2], keep),
                &[x.clone()],
            );
            check(
                "sum_axes -1",
                |_, v| v[0].sum_axes(&[-1], keep),
                &[x.clone()],
            );
            check("mean_axes", |_, v| v[0].mean_axes(&[1], keep), &[x.clone()]);
            for axis in [0, 1, -1] {
                check("max_axis", |_, v| v[0].max_axis(axis, keep), &[x.clone()]);
            }
        }
    }
}

#[test]
fn elementwise_functions() {
    let shape = [3, 4];
    check("exp", |_, v| v[0].exp(), &[rand(&shape, 1)]);
    check("ln", |_, v| v[0].ln(), &[positive(&shape, 2)]);
    check("sqrt", |_, v| v[0].sqrt(), &[positive(&shape, 3)]);
    for n in [-2, 0, 1, 2, 3] {
        check("powi", |_, v| v[0].powi(n), &[away_from_zero(&shape, 4)]);
    }
    check("square", |_, v| v[0].square(), &[rand(&shape, 5)]);
    check("abs", |_, v| v[0].abs(), &[away_from_zero(&shape, 6)]);
}

#[test]
fn activations() {
    let z = away_from_zero(&[4, 5], 7);
    check("identity", |_, v| v[0].identity()?.mul(v[0]), &[z.clone()]);
    check("relu", |_, v| v[0].relu(), &[z.clone()]);
    check("sigmoid", |_, v| v[0].sigmoid(), &[z.mul_scalar_plain(3.0)]);
    check("tanh", |_, v| v[0].tanh(), &[z.mul_scalar_plain(2.0)]);
}

#[test]
fn softmax_family_and_losses() {
    for seed in 0..3 {
        let z = rand(&[3, 5], seed).mul_scalar_plain(3.0);
        for axis in [0, 1, -1] {
            check("softmax", |_, v| v[0].softmax(axis), &[z.clone()]);
            check("log_softmax", |_, v| v[0].log_softmax(axis), &[z.clone()]);
        }
        check(
            "softmax 3-D",
            |_, v| v[0].softmax(1),
            &[rand(&[2, 3, 4], seed)],
        );
        check(
            "cross_entropy labels",
            |_, v| v[0].cross_entropy(&[4, 0, 2]),
            &[z.clone()],
        );
        check(
            "cross_entropy one sample",
            |_, v| v[0].cross_entropy(&[1]),
            &[rand(&[5], seed)],
        );
        let y = Tensor::rand_uniform(&[3, 5], 0.0, 1.0, seed + 9);
        check(
            "cross_entropy_probs",
            |_, v| v[0].cross_entropy_probs(v[1]),
            &[z.clone(), y],
        );
        check(
            "mse",
            |_, v| v[0].mse(v[1]),
            &[z.clone(), rand(&[3, 5], seed + 5)],
        );
    }
}

/// A plain (untracked) scaling, so the test's inputs need no tape.
trait Scale {
    fn mul_scalar_plain(&self, c: f64) -> Tensor<f64>;
}

impl Scale for Tensor<f64> {
    fn mul_scalar_plain(&self, c: f64) -> Tensor<f64> {
        self.map(|v| v * c)
    }
}
