//! `Var::linear`, the fused dense-layer map `X·Wᵀ + b`, against the two
//! operations it replaces (`matmul_t` then `add`): the same values and
//! gradients bit for bit, plain and recorded, first and second order, in
//! f32 and f64, on shapes small and large enough to split across threads;
//! and its shape errors.

#[path = "common/dense_cases.rs"]
mod dense_cases;

use autodiff::{hessian, ErrorKind, Float, Tape, Tensor, Var};

/// The bits of every element, so that −0.0 and NaN compare exactly too.
fn bits<T: Float>(t: &Tensor<T>) -> Vec<u64> {
    t.data().iter().map(|v| v.as_f64().to_bits()).collect()
}

/// The forward value and the gradients of x, W and b of
/// `L = Σ u ⊙ tanh(map(x, W, b))` (u fixed and random), by `map` fused or
/// composed, from a plain or a recorded sweep.
fn value_and_grads<T: Float>(
    (x, w, b): (&Tensor<T>, &Tensor<T>, Option<&Tensor<T>>),
    fused: bool,
    recorded: bool,
) -> Vec<Vec<u64>> {
    let tape = Tape::new();
    let (xv, wv) = (tape.var(x.clone()), tape.var(w.clone()));
    let bv = b.map(|b| tape.var(b.clone()));
    let y = if fused {
        xv.linear(wv, bv).unwrap()
    } else {
        let p = xv.matmul_t(wv, false, true).unwrap();
        match bv {
            Some(b) => p.add(b).unwrap(),
            None => p,
        }
    };
    let u = tape.constant(Tensor::rand_normal(&y.shape(), T::zero(), T::one(), 7));
    let loss = y.tanh().unwrap().mul(u).unwrap().sum().unwrap();
    let mut out = vec![bits(&y.value())];
    let leaves: Vec<Var<'_, T>> = [Some(xv), Some(wv), bv].into_iter().flatten().collect();
    if recorded {
        let g = loss.backward_graph().unwrap();
        out.extend(leaves.iter().map(|&v| bits(&g.wrt(v).unwrap().value())));
    } else {
        let g = loss.backward().unwrap();
        out.extend(leaves.iter().map(|&v| bits(&g.wrt(v).unwrap())));
    }
    out
}

fn same_as_composition<T: Float>(m: usize, k: usize, n: usize, bias: bool) {
    let x = Tensor::<T>::rand_normal(&[m, k], T::zero(), T::one(), 1);
    let w = Tensor::<T>::rand_normal(&[n, k], T::zero(), T::of_f64(0.1), 2);
    let b = Tensor::<T>::rand_normal(&[n], T::zero(), T::one(), 3);
    let b = bias.then_some(&b);
    for recorded in [false, true] {
        let fused = value_and_grads((&x, &w, b), true, recorded);
        let composed = value_and_grads((&x, &w, b), false, recorded);
        assert_eq!(fused.len(), composed.len());
        for (k, (f, c)) in fused.iter().zip(&composed).enumerate() {
            assert!(
                f == c,
                "{} [{m}, {k}]·[{n}, {k}]ᵀ bias {bias} recorded {recorded}: output {k} differs",
                T::NAME
            );
        }
    }
}

#[test]
fn linear_equals_matmul_t_then_add_bit_for_bit() {
    dense_cases::for_each_shape_with_and_without_bias(|m, k, n, bias| {
        same_as_composition::<f64>(m, k, n, bias);
        same_as_composition::<f32>(m, k, n, bias);
    });
}

#[test]
fn linear_equals_the_composition_on_products_split_across_threads() {
    // W2's second layer: 2²² multiply-adds, above the size from which the
    // two weight-side products run on two threads and the GEMM in bands
    dense_cases::on_default_and_two_threads(|| same_as_composition::<f32>(128, 256, 128, true));
}

#[test]
fn second_derivatives_through_linear_equal_the_composition() {
    // the Hessian of Σ tanh(x·Wᵀ + b) in x: reverse over reverse through
    // the recorded rule
    let w = Tensor::<f64>::rand_normal(&[3, 4], 0.0, 1.0, 5);
    let b = Tensor::<f64>::rand_normal(&[3], 0.0, 1.0, 6);
    let x = Tensor::<f64>::rand_normal(&[2, 4], 0.0, 1.0, 4);
    let fused = hessian(
        |x| {
            let t = x.tape();
            x.linear(t.constant(w.clone()), Some(t.constant(b.clone())))?
                .tanh()?
                .sum()
        },
        &x,
    )
    .unwrap();
    let composed = hessian(
        |x| {
            let t = x.tape();
            x.matmul_t(t.constant(w.clone()), false, true)?
                .add(t.constant(b.clone()))?
                .tanh()?
                .sum()
        },
        &x,
    )
    .unwrap();
    assert_eq!(fused.shape(), &[2, 4, 2, 4]);
    assert_eq!(bits(&fused), bits(&composed));
    // and against the closed form: for y = tanh(z), z_r = W x_r + b,
    // ∂²/∂x_ri ∂x_sj Σ y = δ_rs Σ_o (−2 y_ro (1 − y_ro²)) w_oi w_oj
    let (xd, wd, bd) = (x.data(), w.data(), b.data());
    for r in 0..2 {
        let y: Vec<f64> = (0..3)
            .map(|o| ((0..4).map(|i| xd[r * 4 + i] * wd[o * 4 + i]).sum::<f64>() + bd[o]).tanh())
            .collect();
        for s in 0..2 {
            for i in 0..4 {
                for j in 0..4 {
                    let expected = if r == s {
                        (0..3)
                            .map(|o| {
                                -2.0 * y[o] * (1.0 - y[o] * y[o]) * wd[o * 4 + i] * wd[o * 4 + j]
                            })
                            .sum()
                    } else {
                        0.0
                    };
                    let got = fused.data()[((r * 4 + i) * 2 + s) * 4 + j];
                    assert!(
                        (got - expected).abs() < 1e-12,
                        "H[{r},{i},{s},{j}] = {got}, expected {expected}"
                    );
                }
            }
        }
    }
}

#[test]
fn linear_refuses_shapes_that_do_not_fit() {
    let tape = Tape::<f64>::new();
    let v = |s: &[usize]| tape.var(Tensor::ones(s));
    let cases = [
        (
            v(&[2, 3]).linear(v(&[4, 2]), None),
            "input has 3 features, weight rows have 2",
        ),
        (
            v(&[3]).linear(v(&[4, 3]), None),
            "input must be [batch, in] and weight [out, in]",
        ),
        (
            v(&[2, 3]).linear(v(&[4, 3, 1]), None),
            "input must be [batch, in] and weight [out, in]",
        ),
        (
            v(&[2, 3]).linear(v(&[4, 3]), Some(v(&[3]))),
            "bias must be [4], one per output",
        ),
        (
            v(&[2, 3]).linear(v(&[4, 3]), Some(v(&[1, 4]))),
            "bias must be [4], one per output",
        ),
    ];
    for (result, expected) in cases {
        let e = result.unwrap_err();
        assert_eq!((e.kind(), e.op()), (ErrorKind::Shape, "linear"));
        assert!(e.to_string().contains(expected), "{e}");
    }
    // empty batches and layers are fine: [0, 3]·[4, 3]ᵀ is [0, 4]
    let y = v(&[0, 3]).linear(v(&[4, 3]), Some(v(&[4]))).unwrap();
    assert_eq!(y.shape().as_slice(), &[0, 4]);
}
