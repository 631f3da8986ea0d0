//! `Var::linear_then`, a dense layer and its activation as one operation,
//! against `linear` followed by the activation's own operation: the same
//! values and gradients bit for bit, plain and recorded, first and second
//! order, in f32 and f64, for ReLU, sigmoid and tanh, on shapes small and
//! large enough to split across threads, and with pre-activations that are
//! exactly zero (ReLU's kink); the shape errors of `linear`; and nn's `Mlp`,
//! whose hidden layers use it.

#[path = "common/dense_cases.rs"]
mod dense_cases;

use autodiff::{hessian, ErrorKind, Float, FusedActivation, Tape, Tensor, Var};

const ALL: [FusedActivation; 3] = [
    FusedActivation::Relu,
    FusedActivation::Sigmoid,
    FusedActivation::Tanh,
];

/// The bits of every element, so that −0.0 and NaN compare exactly too.
fn bits<T: Float>(t: &Tensor<T>) -> Vec<u64> {
    t.data().iter().map(|v| v.as_f64().to_bits()).collect()
}

/// `f(z)` by the activation's own operation.
fn apart<'t, T: Float>(z: Var<'t, T>, f: FusedActivation) -> Var<'t, T> {
    match f {
        FusedActivation::Relu => z.relu(),
        FusedActivation::Sigmoid => z.sigmoid(),
        FusedActivation::Tanh => z.tanh(),
    }
    .unwrap()
}

/// The forward value and the gradients of x, W and b of `L = Σ u ⊙ a`
/// (u fixed and random) for `a = f(x·Wᵀ + b)`, fused or not, from a plain
/// or a recorded sweep.
fn value_and_grads<T: Float>(
    (x, w, b): (&Tensor<T>, &Tensor<T>, Option<&Tensor<T>>),
    f: FusedActivation,
    fused: bool,
    recorded: bool,
) -> Vec<Vec<u64>> {
    let tape = Tape::new();
    let (xv, wv) = (tape.var(x.clone()), tape.var(w.clone()));
    let bv = b.map(|b| tape.var(b.clone()));
    let a = if fused {
        xv.linear_then(wv, bv, f).unwrap()
    } else {
        apart(xv.linear(wv, bv).unwrap(), f)
    };
    let u = tape.constant(Tensor::rand_normal(&a.shape(), T::zero(), T::one(), 7));
    let loss = a.mul(u).unwrap().sum().unwrap();
    let mut out = vec![bits(&a.value())];
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

fn same_as_apart<T: Float>(x: &Tensor<T>, w: &Tensor<T>, b: Option<&Tensor<T>>) {
    for f in ALL {
        for recorded in [false, true] {
            let fused = value_and_grads((x, w, b), f, true, recorded);
            let composed = value_and_grads((x, w, b), f, false, recorded);
            assert_eq!(fused.len(), composed.len());
            for (k, (a, c)) in fused.iter().zip(&composed).enumerate() {
                assert!(
                    a == c,
                    "{} {f:?} x {:?} W {:?} bias {} recorded {recorded}: output {k} differs",
                    T::NAME,
                    x.shape(),
                    w.shape(),
                    b.is_some()
                );
            }
        }
    }
}

fn random_case<T: Float>(m: usize, k: usize, n: usize, bias: bool) {
    let x = Tensor::<T>::rand_normal(&[m, k], T::zero(), T::one(), 1);
    let w = Tensor::<T>::rand_normal(&[n, k], T::zero(), T::of_f64(0.3), 2);
    let b = Tensor::<T>::rand_normal(&[n], T::zero(), T::one(), 3);
    same_as_apart(&x, &w, bias.then_some(&b));
}

#[test]
fn linear_then_equals_linear_and_the_activation_bit_for_bit() {
    dense_cases::for_each_shape_with_and_without_bias(|m, k, n, bias| {
        random_case::<f64>(m, k, n, bias);
        random_case::<f32>(m, k, n, bias);
    });
}

#[test]
fn linear_then_equals_the_pair_on_products_split_across_threads() {
    // W2's second layer: above the sizes from which products and the
    // element-wise kernels are split
    dense_cases::on_default_and_two_threads(|| random_case::<f32>(128, 256, 128, true));
}

#[test]
fn relu_at_an_exact_zero_gets_the_subgradient_zero_as_apart() {
    // x = 0, so z = b exactly: 0 (the kink), −0, 1 and −1
    let x = Tensor::<f64>::zeros(&[2, 3]);
    let w = Tensor::<f64>::rand_normal(&[4, 3], 0.0, 1.0, 9);
    let b = Tensor::from_vec(vec![0.0, -0.0, 1.0, -1.0], &[4]).unwrap();
    same_as_apart(&x, &w, Some(&b));
    let tape = Tape::new();
    let bv = tape.var(b.clone());
    let a = tape
        .constant(x)
        .linear_then(tape.constant(w), Some(bv), FusedActivation::Relu)
        .unwrap();
    let g = a.sum().unwrap().backward().unwrap();
    // ∂(Σ a)/∂b_j = rows · 1[z_j > 0]
    assert_eq!(g.wrt(bv).unwrap().data(), &[0.0, 0.0, 2.0, 0.0]);
}

#[test]
fn second_derivatives_through_linear_then_equal_the_pair() {
    let w = Tensor::<f64>::rand_normal(&[3, 4], 0.0, 1.0, 5);
    let b = Tensor::<f64>::rand_normal(&[3], 0.0, 1.0, 6);
    let x = Tensor::<f64>::rand_normal(&[2, 4], 0.0, 1.0, 4);
    for f in [FusedActivation::Sigmoid, FusedActivation::Tanh] {
        let h = |fused: bool| {
            hessian(
                |x| {
                    let t = x.tape();
                    let (w, b) = (t.constant(w.clone()), Some(t.constant(b.clone())));
                    let a = if fused {
                        x.linear_then(w, b, f)?
                    } else {
                        apart(x.linear(w, b)?, f)
                    };
                    a.square()?.sum()
                },
                &x,
            )
            .unwrap()
        };
        let (fused, composed) = (h(true), h(false));
        assert_eq!(fused.shape(), &[2, 4, 2, 4]);
        assert!(
            fused.data().iter().any(|v| v.abs() > 1e-3),
            "{f:?}: a Hessian that is not zero"
        );
        assert_eq!(bits(&fused), bits(&composed), "{f:?}");
    }
}

#[test]
fn linear_then_refuses_the_shapes_linear_refuses() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::zeros(&[2, 3]));
    let cases = [
        (
            Tensor::zeros(&[4, 2]),
            None,
            "input has 3 features, weight rows have 2",
        ),
        (
            Tensor::zeros(&[4]),
            None,
            "input must be [batch, in] and weight [out, in]",
        ),
        (
            Tensor::zeros(&[4, 3]),
            Some(Tensor::zeros(&[3])),
            "bias must be [4]",
        ),
    ];
    for (w, b, says) in cases {
        let b = b.map(|b| tape.var(b));
        let err = x
            .linear_then(tape.var(w), b, FusedActivation::Tanh)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Shape);
        let msg = err.to_string();
        assert!(msg.starts_with("linear: ") && msg.contains(says), "{msg}");
        assert!(
            msg.contains("linear_then_op.rs"),
            "names the caller's line: {msg}"
        );
    }
}

#[test]
fn an_mlp_records_one_node_per_hidden_layer_with_the_bits_of_the_pair() {
    use nn::{Activation, Init, Mlp, Module, Session};
    let x = Tensor::<f64>::rand_normal(&[6, 3], 0.0, 1.0, 11);
    let labels = [0, 1, 1, 0, 1, 0];
    for (activation, fused_name) in [
        (Activation::Relu, Some("linear_relu")),
        (Activation::Sigmoid, Some("linear_sigmoid")),
        (Activation::Tanh, Some("linear_tanh")),
        (Activation::Silu, None),
    ] {
        let mlp = Mlp::<f64>::new(&[3, 5, 4, 2], activation, Init::PyTorch, 3).unwrap();
        // the model's own forward
        let tape = Tape::new();
        let s = Session::train(&tape);
        let loss = mlp
            .forward(&s, s.input(x.clone()))
            .unwrap()
            .cross_entropy(&labels)
            .unwrap();
        let names = tape.op_names();
        let grads = s.grads(loss).unwrap();
        // the same layers, each followed by the activation's own operation
        let tape2 = Tape::new();
        let s2 = Session::train(&tape2);
        let mut h = s2.input(x.clone());
        for (i, layer) in mlp.layers().iter().enumerate() {
            h = layer.forward(&s2, h).unwrap();
            if i + 1 < mlp.layers().len() {
                h = activation.apply(h).unwrap();
            }
        }
        let loss2 = h.cross_entropy(&labels).unwrap();
        let grads2 = s2.grads(loss2).unwrap();
        match fused_name {
            Some(name) => {
                assert_eq!(names.iter().filter(|n| *n == name).count(), 2, "{names:?}");
                assert_eq!(
                    names.iter().filter(|n| *n == "linear").count(),
                    1,
                    "{names:?}"
                );
            }
            None => assert_eq!(
                names.iter().filter(|n| *n == "linear").count(),
                3,
                "{names:?}"
            ),
        }
        assert_eq!(
            loss.value().item().unwrap().to_bits(),
            loss2.value().item().unwrap().to_bits()
        );
        let mut checked = 0;
        mlp.visit_params("", &mut |name, p| {
            let (a, b) = (grads.get(p).unwrap(), grads2.get(p).unwrap());
            assert_eq!(bits(a), bits(b), "{activation:?}: the gradient of {name}");
            checked += 1;
        });
        assert_eq!(checked, 6);
    }
}
