//! Task 2, formula (2): the softmax Jacobian ∂ŷ/∂z = diag(ŷ) − ŷŷᵀ, i.e.
//! entry (j, k) = ŷⱼ(δⱼₖ − ŷₖ).
//!
//! The lecture note's matrix shows its last row as `ŷn ŷ2` without the minus
//! sign; that is a typo. Every off-diagonal entry is −ŷⱼŷₖ, and this test
//! checks the correct form.

mod common;

use autodiff::{jacobian, Tape, Tensor};

#[test]
fn softmax_jacobian_is_diag_minus_outer_product_for_sizes_1_to_10() {
    for n in 1..=10 {
        let z = Tensor::<f64>::rand_normal(&[n], 0.0, 2.0, n as u64);
        let jac = jacobian(|z| z.softmax(-1), &z).unwrap();
        assert_eq!(jac.shape(), &[n, n]);
        let y = common::softmax(z.data());
        let mut expected = vec![0.0; n * n];
        for j in 0..n {
            for k in 0..n {
                let delta = if j == k { 1.0 } else { 0.0 };
                expected[j * n + k] = y[j] * (delta - y[k]);
            }
        }
        let diff = common::max_diff(&jac, &expected);
        assert!(diff <= 1e-12, "n = {n}: max difference {diff:e}");
    }
}

#[test]
fn the_last_row_of_the_note_needs_its_minus_sign() {
    // Entry (n, 2) is −ŷn ŷ2 < 0, not ŷn ŷ2 as the note prints it.
    let z = Tensor::from_vec(vec![0.3, -0.2, 1.1], &[3]).unwrap();
    let jac = jacobian(|z| z.softmax(-1), &z).unwrap();
    let y = common::softmax(z.data());
    let entry = jac.get(&[2, 1]).unwrap();
    assert!(entry < 0.0);
    assert!((entry + y[2] * y[1]).abs() < 1e-15);
}

#[test]
fn softmax_rows_of_a_batch_are_independent() {
    // softmax over the last axis of [2, 3]: the Jacobian is block diagonal.
    let tape = Tape::new();
    let z = tape.var(Tensor::<f64>::rand_normal(&[2, 3], 0.0, 1.0, 5));
    let jac = z.softmax(-1).unwrap().jacobian(z).unwrap();
    assert_eq!(jac.shape(), &[2, 3, 2, 3]);
    for r in 0..2 {
        let row: Vec<f64> = (0..3).map(|k| z.value().get(&[r, k]).unwrap()).collect();
        let y = common::softmax(&row);
        for j in 0..3 {
            for other in 0..2 {
                for k in 0..3 {
                    let got = jac.get(&[r, j, other, k]).unwrap();
                    let want = if other != r {
                        0.0
                    } else {
                        y[j] * (if j == k { 1.0 } else { 0.0 } - y[k])
                    };
                    assert!(
                        (got - want).abs() < 1e-12,
                        "({r},{j},{other},{k}): {got} vs {want}"
                    );
                }
            }
        }
    }
}
