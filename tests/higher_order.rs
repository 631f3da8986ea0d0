//! Second and higher derivatives: the backward pass recorded on the tape and
//! differentiated again (Hessians, Hessian-vector products, third
//! derivatives), and forward mode (JVPs, forward Jacobians) by the
//! double-VJP trick. Every result is compared with a closed form or with
//! finite differences.

mod common;

use autodiff::{
    gradcheck, hessian, hvp, jacobian, jacobian_fwd, jvp, GradcheckOptions, Tape, Tensor,
};

fn assert_close(got: &Tensor<f64>, want: &[f64], tol: f64, what: &str) {
    let diff = common::max_diff(got, want);
    assert!(diff <= tol, "{what}: max difference {diff:e} > {tol:e}");
}

#[test]
fn hessian_of_sum_of_cubes_is_diag_6x() {
    let x = Tensor::rand_uniform(&[5], -2.0, 2.0, 1);
    let h = hessian(|x| x.powi(3)?.sum(), &x).unwrap();
    assert_eq!(h.shape(), &[5, 5]);
    let mut want = vec![0.0; 25];
    for i in 0..5 {
        want[i * 5 + i] = 6.0 * x.data()[i];
    }
    assert_close(&h, &want, 1e-10, "Hessian of Σx³");
}

#[test]
fn hessian_of_a_quadratic_form_is_the_symmetrised_matrix() {
    // f(x) = ½ xᵀAx with A not symmetric: H = ½(A + Aᵀ)
    let n = 4;
    let a = Tensor::rand_normal(&[n, n], 0.0, 1.0, 2);
    let x = Tensor::rand_normal(&[n], 0.0, 1.0, 3);
    let a2 = a.clone();
    let h = hessian(
        move |x| {
            let col = x.reshape(&[n, 1])?;
            let ax = x.tape().constant(a2.clone()).matmul(col)?;
            col.mul(ax)?.sum()?.mul_scalar(0.5)
        },
        &x,
    )
    .unwrap();
    let ad = a.data();
    let want: Vec<f64> = (0..n * n)
        .map(|k| 0.5 * (ad[k] + ad[(k % n) * n + k / n]))
        .collect();
    assert_close(&h, &want, 1e-10, "Hessian of ½xᵀAx");
}

#[test]
fn hessian_of_cross_entropy_wrt_logits_is_the_softmax_jacobian() {
    // L(z) = −yᵀ log softmax(z): ∇L = ŷ − y, so ∇²L = ∂ŷ/∂z = diag(ŷ) − ŷŷᵀ (Task 2's (2) again)
    for n in [2, 3, 6] {
        let z = Tensor::rand_normal(&[n], 0.0, 1.5, 10 + n as u64);
        let y_hat = common::softmax(z.data());
        let mut want = vec![0.0; n * n];
        for j in 0..n {
            for k in 0..n {
                want[j * n + k] = y_hat[j] * (if j == k { 1.0 } else { 0.0 } - y_hat[k]);
            }
        }
        let label = n - 1;
        let fused = hessian(|z| z.cross_entropy(&[label]), &z).unwrap();
        assert_close(&fused, &want, 1e-10, "Hessian of fused cross-entropy");
        let onehot = Tensor::from_fn(&[n], |i| if i[0] == label { 1.0 } else { 0.0 });
        let composed = hessian(
            |z| {
                let y = z.tape().constant(onehot.clone());
                y.mul(z.log_softmax(-1)?)?.sum()?.neg()
            },
            &z,
        )
        .unwrap();
        assert_close(&composed, &want, 1e-10, "Hessian of −Σ y log softmax(z)");
    }
}

/// The loss of the Task 2 net (sigmoid, batch 4) as a function of W₂ only.
fn net_loss<'t>(w2: autodiff::Var<'t, f64>) -> autodiff::Result<autodiff::Var<'t, f64>> {
    let tape = w2.tape();
    let x = tape.constant(Tensor::rand_normal(&[4, 3], 0.0, 1.0, 20));
    let w1 = tape.constant(Tensor::rand_normal(&[3, 5], 0.0, 0.8, 21));
    let b1 = tape.constant(Tensor::rand_normal(&[5], 0.0, 0.2, 22));
    let b2 = tape.constant(Tensor::rand_normal(&[3], 0.0, 0.2, 23));
    let a1 = x.matmul(w1)?.add(b1)?.sigmoid()?;
    a1.matmul(w2)?.add(b2)?.cross_entropy(&[0, 2, 1, 2])
}

#[test]
fn hessian_of_the_two_layer_net_wrt_w2_matches_finite_differences_of_the_gradient() {
    let w2 = Tensor::rand_normal(&[5, 3], 0.0, 0.8, 24);
    let h = hessian(net_loss, &w2).unwrap();
    assert_eq!(h.shape(), &[5, 3, 5, 3]);
    // the tape's own first-order gradient, differenced
    let grad_at = |w: &Tensor<f64>| {
        let tape = Tape::new();
        let v = tape.var(w.clone());
        net_loss(v).unwrap().backward().unwrap().wrt(v).unwrap()
    };
    let eps = 1e-5;
    let n = w2.numel();
    let mut worst = 0.0f64;
    for j in 0..n {
        let mut plus = w2.clone();
        plus.data_mut()[j] += eps;
        let mut minus = w2.clone();
        minus.data_mut()[j] -= eps;
        let (gp, gm) = (grad_at(&plus), grad_at(&minus));
        for i in 0..n {
            let fd = (gp.data()[i] - gm.data()[i]) / (2.0 * eps);
            worst = worst.max((h.data()[i * n + j] - fd).abs());
        }
    }
    assert!(worst < 1e-8, "Hessian vs differenced gradient: {worst:e}");
    // not a trivially zero Hessian
    assert!(h.data().iter().any(|v| v.abs() > 1e-3));
}

#[test]
fn third_derivative_of_tanh_matches_its_closed_form() {
    // t = tanh x: t' = 1 − t², t'' = −2t(1 − t²), t''' = (1 − t²)(6t² − 2)
    for x0 in [-1.3f64, -0.2, 0.0, 0.4, 2.1] {
        let tape = Tape::new();
        let x = tape.var(Tensor::scalar(x0));
        let y = x.tanh().unwrap();
        let d1 = y.grad(x).unwrap();
        let d2 = d1.grad(x).unwrap();
        let d3 = d2.grad(x).unwrap();
        let t: f64 = x0.tanh();
        let want = [
            1.0 - t * t,
            -2.0 * t * (1.0 - t * t),
            (1.0 - t * t) * (6.0 * t * t - 2.0),
        ];
        for (k, (d, w)) in [d1, d2, d3].iter().zip(want).enumerate() {
            let got = d.value().item().unwrap();
            assert!(
                (got - w).abs() < 1e-12,
                "d{}/dx{} tanh at {x0}: {got} vs {w}",
                k + 1,
                k + 1
            );
        }
    }
}

#[test]
fn recorded_gradients_of_every_operation_family_pass_gradcheck() {
    // gradcheck of x ↦ ∇f(x): the backward rules themselves are differentiated
    let opts = GradcheckOptions::default();
    let x = Tensor::rand_uniform(&[3, 4], 0.3, 1.5, 30);
    let w = Tensor::rand_uniform(&[4, 2], -1.0, 1.0, 31);
    type F = for<'t> fn(autodiff::Var<'t, f64>) -> autodiff::Result<autodiff::Var<'t, f64>>;
    let cases: Vec<(&str, F)> = vec![
        ("mul/div", |x| x.mul(x)?.div(x.add_scalar(1.0)?)?.sum()),
        ("exp/ln/sqrt", |x| x.exp()?.ln()?.sqrt()?.mul(x)?.sum()),
        ("powi", |x| x.powi(-2)?.add(x.powi(3)?)?.sum()),
        ("sigmoid", |x| x.sigmoid()?.square()?.sum()),
        ("tanh", |x| x.tanh()?.powi(3)?.sum()),
        ("softmax", |x| x.softmax(-1)?.square()?.sum()),
        ("log_softmax", |x| x.log_softmax(0)?.square()?.sum()),
        ("cross_entropy", |x| x.cross_entropy(&[0, 3, 1])),
        ("broadcast", |x| x.mul(x.sum_axes(&[0], true)?)?.sum()),
        ("mean/max", |x| x.max_axis(1, false)?.square()?.mean()),
        ("shape ops", |x| {
            x.t()?
                .narrow(0, 1, 2)?
                .square()?
                .reshape(&[6])?
                .index_select(0, &[5, 0, 0])?
                .sum()
        }),
        ("matmul", |x| x.matmul(x.t()?)?.tanh()?.sum()),
    ];
    for (name, f) in cases {
        gradcheck(|_, v| f(v[0])?.grad(v[0]), std::slice::from_ref(&x), &opts)
            .unwrap_or_else(|e| panic!("second derivative of {name}: {e}"));
    }
    // matmul with a second input: mixed second derivatives ∂²L/∂x∂w
    gradcheck(
        |_, v| {
            let loss = v[0].matmul(v[1])?.sigmoid()?.sum()?;
            let gx = loss.grad(v[0])?;
            gx.mul(gx)?.sum()?.add(loss.grad(v[1])?.sum()?)
        },
        &[x, w],
        &opts,
    )
    .unwrap();
}

#[test]
fn hvp_equals_hessian_times_v() {
    let x = Tensor::rand_uniform(&[4], -1.0, 1.0, 40);
    let v = Tensor::rand_uniform(&[4], -1.0, 1.0, 41);
    type F = for<'t> fn(autodiff::Var<'t, f64>) -> autodiff::Result<autodiff::Var<'t, f64>>;
    let fs: [F; 3] = [
        |x| x.tanh()?.mul(x.exp()?)?.sum(),
        |x| x.cross_entropy(&[2]),
        |x| x.softmax(-1)?.mul(x)?.sum()?.square(),
    ];
    for f in fs {
        let h = hessian(f, &x).unwrap();
        let hv = hvp(f, &x, &v).unwrap();
        let want: Vec<f64> = (0..4)
            .map(|i| (0..4).map(|j| h.data()[i * 4 + j] * v.data()[j]).sum())
            .collect();
        assert_close(&hv, &want, 1e-12, "hvp vs H·v");
    }
}

#[test]
fn jvp_equals_jacobian_times_v_and_forward_jacobians_equal_reverse_ones() {
    let x = Tensor::rand_uniform(&[2, 3], -1.0, 1.0, 50);
    let v = Tensor::rand_uniform(&[2, 3], -1.0, 1.0, 51);
    let m = Tensor::rand_uniform(&[3, 4], -1.0, 1.0, 52);
    type F =
        Box<dyn for<'t> Fn(autodiff::Var<'t, f64>) -> autodiff::Result<autodiff::Var<'t, f64>>>;
    let m2 = m.clone();
    let fs: Vec<(&str, F)> = vec![
        ("softmax", Box::new(|x| x.softmax(-1))),
        ("tanh·x", Box::new(|x| x.tanh()?.mul(x))),
        (
            "matmul",
            Box::new(move |x| x.matmul(x.tape().constant(m2.clone()))?.sigmoid()),
        ),
        ("sum_axes", Box::new(|x| x.exp()?.sum_axes(&[0], false))),
        ("relu", Box::new(|x| x.relu()?.mul_scalar(2.0))),
        ("cross_entropy", Box::new(|x| x.cross_entropy(&[2, 0]))),
    ];
    for (name, f) in &fs {
        let jr = jacobian(f, &x).unwrap();
        let jf = jacobian_fwd(f, &x).unwrap();
        assert_eq!(jr.shape(), jf.shape(), "{name}");
        assert!(
            jr.max_abs_diff(&jf).unwrap() < 1e-14,
            "{name}: jacobian_fwd differs"
        );
        let (y, jv) = jvp(f, &x, &v).unwrap();
        assert_eq!(jv.shape(), y.shape(), "{name}");
        let (n_out, n_in) = (y.numel(), x.numel());
        let want: Vec<f64> = (0..n_out)
            .map(|i| {
                (0..n_in)
                    .map(|j| jr.data()[i * n_in + j] * v.data()[j])
                    .sum()
            })
            .collect();
        assert_close(&jv, &want, 1e-14, name);
    }
}

#[test]
fn recording_is_off_by_default_and_costs_no_tape_growth() {
    // a plain backward leaves the tape as it was; a recorded one adds nodes
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![0.5f64, -0.3], &[2]).unwrap());
    let y = x.sigmoid().unwrap().sum().unwrap();
    let before = tape.len();
    y.backward().unwrap();
    assert_eq!(tape.len(), before);
    let g = y.backward_graph().unwrap().wrt(x).unwrap();
    assert!(tape.len() > before && g.requires_grad());
}

#[test]
fn numbers_on_the_left_have_their_closed_form_first_and_second_derivatives() {
    // f(x) = Σ (10/x + 2x − (1 − x)) with the numbers on the left:
    // f′ = −10/x² + 3, f″ = 20/x³
    let x = Tensor::from_vec(vec![0.5, 2.0, -4.0], &[3]).unwrap();
    let f = autodiff::function(|x: autodiff::Var<'_, f64>| (10.0 / x + 2.0 * x - (1.0 - x)).sum());
    let g = autodiff::jacobian(f, &x).unwrap();
    let h = autodiff::hessian(f, &x).unwrap();
    for (i, &v) in x.data().iter().enumerate() {
        assert!((g.data()[i] - (-10.0 / (v * v) + 3.0)).abs() < 1e-12);
        assert!((h.data()[i * 3 + i] - 20.0 / (v * v * v)).abs() < 1e-9);
    }
    // and in f32
    let tape = autodiff::Tape::<f32>::new();
    let y = tape.var(Tensor::from_vec(vec![4.0f32], &[1]).unwrap());
    assert_eq!((2.0f32 / y + 1.0f32).value().data(), &[1.5]);
}
