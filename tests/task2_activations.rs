//! Task 2, formula (b): the activations' Jacobians, from the tape's
//! `jacobian`, against the closed forms
//! ReLU: ∂a/∂z = diag(1[z > 0]); Sigmoid: ∂a/∂z = diag(σ(z)(1 − σ(z))).
//!
//! ReLU is not differentiable at z = 0; tapegrad uses the subgradient 0
//! there (as PyTorch does, and as the note's strict inequality 1[z > 0] says).

mod common;

use autodiff::{jacobian, Tensor};

fn inputs() -> Tensor<f64> {
    // includes z = 0 exactly, and both signs
    Tensor::from_vec(vec![-2.0, -0.5, 0.0, 0.25, 3.0, -1e-9, 1e-9], &[7]).unwrap()
}

fn expect_diagonal(jac: &Tensor<f64>, diag: &[f64]) {
    let n = diag.len();
    assert_eq!(jac.shape(), &[n, n]);
    for (j, &d) in diag.iter().enumerate() {
        for k in 0..n {
            let want = if j == k { d } else { 0.0 };
            let got = jac.get(&[j, k]).unwrap();
            assert!((got - want).abs() <= 1e-15, "({j}, {k}): {got} vs {want}");
        }
    }
}

#[test]
fn relu_jacobian_is_diag_of_indicator_with_zero_at_zero() {
    let z = inputs();
    let jac = jacobian(|z| z.relu(), &z).unwrap();
    let diag: Vec<f64> = z
        .data()
        .iter()
        .map(|&v| if v > 0.0 { 1.0 } else { 0.0 })
        .collect();
    assert_eq!(diag[2], 0.0, "the subgradient at z = 0 is 0");
    expect_diagonal(&jac, &diag);
}

#[test]
fn sigmoid_jacobian_is_diag_of_sigma_times_one_minus_sigma() {
    let z = inputs();
    let jac = jacobian(|z| z.sigmoid(), &z).unwrap();
    let diag: Vec<f64> = z
        .data()
        .iter()
        .map(|&v| common::sigmoid(v) * (1.0 - common::sigmoid(v)))
        .collect();
    assert!((diag[2] - 0.25).abs() < 1e-16, "σ'(0) = 1/4");
    expect_diagonal(&jac, &diag);
}

#[test]
fn tanh_and_identity_jacobians() {
    let z = inputs();
    let jac = jacobian(|z| z.tanh(), &z).unwrap();
    let diag: Vec<f64> = z
        .data()
        .iter()
        .map(|&v| 1.0 - v.tanh() * v.tanh())
        .collect();
    expect_diagonal(&jac, &diag);
    // the note's "Linear" activation: ∂a/∂z = I
    let jac = jacobian(|z| z.identity(), &z).unwrap();
    expect_diagonal(&jac, &[1.0; 7]);
}

#[test]
fn sigmoid_does_not_overflow_for_large_inputs() {
    let z = Tensor::from_vec(vec![-1000.0, 1000.0], &[2]).unwrap();
    let jac = jacobian(|z| z.sigmoid(), &z).unwrap();
    assert!(jac.all_finite());
    expect_diagonal(&jac, &[0.0, 0.0]);
}
