//! A plain `backward` computes each built-in operation's rule on tensors
//! (`Op::backward_values`); a recorded sweep (`backward_graph`) runs the
//! same rule written with `Var` operations. The two are separate code, so
//! this test holds them to the same numbers for every operation that has a
//! tensor rule, with broadcasting, transposes and both f64 inputs tracked.

use autodiff::{Result, Tape, Tensor, Var};

type Case = (
    &'static str,
    Vec<Vec<usize>>,
    for<'a, 't> fn(&'a [Var<'t, f64>]) -> Result<Var<'t, f64>>,
);

/// The cases: a name, the input shapes, and the function of the inputs.
fn cases() -> Vec<Case> {
    vec![
        ("add (broadcast)", vec![vec![3, 4], vec![4]], |v| {
            v[0].add(v[1])
        }),
        ("sub (broadcast)", vec![vec![3, 4], vec![1, 4]], |v| {
            v[0].sub(v[1])
        }),
        ("mul (broadcast)", vec![vec![2, 3, 4], vec![3, 1]], |v| {
            v[0].mul(v[1])
        }),
        ("div (broadcast)", vec![vec![3, 4], vec![4]], |v| {
            v[0].div(v[1].square()?.add_scalar(0.5)?)
        }),
        ("scalar ops", vec![vec![5]], |v| {
            v[0].mul_scalar(1.5)?
                .add_scalar(0.25)?
                .div_scalar(3.0)?
                .rsub_scalar(2.0)?
                .neg()
        }),
        ("rdiv_scalar", vec![vec![5]], |v| {
            v[0].square()?.add_scalar(0.5)?.rdiv_scalar(3.0)
        }),
        ("relu", vec![vec![4, 5]], |v| v[0].relu()),
        ("sigmoid", vec![vec![4, 5]], |v| v[0].sigmoid()),
        ("tanh", vec![vec![4, 5]], |v| v[0].tanh()),
        ("exp", vec![vec![6]], |v| v[0].exp()),
        ("ln", vec![vec![6]], |v| {
            v[0].square()?.add_scalar(0.1)?.ln()
        }),
        ("sqrt", vec![vec![6]], |v| {
            v[0].square()?.add_scalar(0.1)?.sqrt()
        }),
        ("powi", vec![vec![6]], |v| v[0].powi(3)),
        ("abs", vec![vec![6]], |v| v[0].abs()),
        ("matmul", vec![vec![3, 4], vec![4, 5]], |v| {
            v[0].matmul(v[1])
        }),
        ("matmul_t", vec![vec![4, 3], vec![5, 4]], |v| {
            v[0].matmul_t(v[1], true, true)
        }),
        ("linear", vec![vec![3, 4], vec![5, 4], vec![5]], |v| {
            v[0].linear(v[1], Some(v[2]))
        }),
        ("linear without a bias", vec![vec![3, 4], vec![5, 4]], |v| {
            v[0].linear(v[1], None)
        }),
        (
            "batched matmul with a shared matrix",
            vec![vec![2, 3, 4], vec![4, 5]],
            |v| v[0].matmul(v[1]),
        ),
        ("reshape, permute", vec![vec![2, 3, 4]], |v| {
            v[0].reshape(&[6, 4])?
                .t()?
                .reshape(&[2, 2, 6])?
                .permute(&[2, 0, 1])
        }),
        ("broadcast_to, sum_to", vec![vec![3, 1]], |v| {
            v[0].broadcast_to(&[2, 3, 4])?.sum_to(&[1, 3, 4])
        }),
        ("sum, mean", vec![vec![3, 4]], |v| {
            v[0].sum_axes(&[1], false)?.mean_axes(&[0], true)
        }),
        ("cross_entropy", vec![vec![4, 3]], |v| {
            v[0].cross_entropy(&[0, 2, 1, 2])
        }),
        (
            "conv2d with bias",
            vec![vec![2, 3, 6, 5], vec![4, 3, 3, 2], vec![4]],
            |v| nn::ops::conv2d(v[0], v[1], Some(v[2]), 2, 1),
        ),
        ("silu (nn)", vec![vec![4, 5]], |v| nn::ops::silu(v[0])),
        ("max_pool2d 2×2", vec![vec![2, 3, 6, 4]], |v| {
            nn::ops::max_pool2d(v[0], 2, 2)
        }),
        ("max_pool2d 3×3 stride 1", vec![vec![1, 2, 5, 5]], |v| {
            nn::ops::max_pool2d(v[0], 3, 1)
        }),
    ]
}

#[test]
fn tensor_rules_equal_var_rules_for_every_built_in_operation() {
    for (name, shapes, f) in cases() {
        let inputs: Vec<Tensor<f64>> = shapes
            .iter()
            .enumerate()
            .map(|(k, s)| Tensor::rand_normal(s, 0.0, 1.0, 10 + k as u64))
            .collect();
        // L = Σ w ⊙ f(x) with fixed random weights, so that every output
        // element gets a different upstream gradient
        let gradients = |recorded: bool| -> Vec<Tensor<f64>> {
            let tape = Tape::new();
            let vars: Vec<_> = inputs.iter().map(|t| tape.var(t.clone())).collect();
            let y = f(&vars).unwrap_or_else(|e| panic!("{name}: {e}"));
            let w = tape.constant(Tensor::rand_normal(&y.shape(), 0.0, 1.0, 99));
            let loss = y.mul(w).unwrap().sum().unwrap();
            if recorded {
                let g = loss.backward_graph().unwrap();
                vars.iter().map(|&v| g.wrt(v).unwrap().value()).collect()
            } else {
                let g = loss.backward().unwrap();
                vars.iter().map(|&v| g.wrt(v).unwrap()).collect()
            }
        };
        let (plain, recorded) = (gradients(false), gradients(true));
        for (k, (p, r)) in plain.iter().zip(&recorded).enumerate() {
            let diff = p.max_abs_diff(r).unwrap();
            assert!(
                diff <= 1e-14,
                "{name}, input {k}: plain and recorded gradients differ by {diff:e}"
            );
        }
    }
}
