//! Task 2, formulas (1) and (a): for L = −yᵀ log ŷ with ŷ = softmax(z),
//! ∂L/∂ŷ = −y/ŷ and, through the softmax Jacobian, δ₂ = ∂L/∂z = ŷ − y.

mod common;

use autodiff::{Tape, Tensor};

fn onehot(label: usize, n: usize) -> Vec<f64> {
    (0..n).map(|k| if k == label { 1.0 } else { 0.0 }).collect()
}

#[test]
fn fused_cross_entropy_gradient_is_y_hat_minus_y() {
    for (n, label) in [(2, 0), (3, 2), (5, 1), (10, 7)] {
        let tape = Tape::new();
        let z = tape.var(Tensor::<f64>::rand_normal(&[n], 0.0, 3.0, 100 + n as u64));
        let grads = z.cross_entropy(&[label]).unwrap().backward().unwrap();
        let y_hat = common::softmax(z.value().data());
        let expected: Vec<f64> = y_hat
            .iter()
            .zip(onehot(label, n))
            .map(|(p, y)| p - y)
            .collect();
        let diff = common::max_diff(&grads.wrt(z).unwrap(), &expected);
        assert!(diff <= 1e-14, "n = {n}: {diff:e}");
    }
}

#[test]
fn fused_cross_entropy_with_one_hot_targets_matches_labels() {
    let tape = Tape::new();
    let z = tape.var(Tensor::<f64>::rand_normal(&[4, 6], 0.0, 1.0, 3));
    let labels = [5, 0, 2, 2];
    let y: Vec<f64> = labels.iter().flat_map(|&l| onehot(l, 6)).collect();
    let y = tape.constant(Tensor::from_vec(y, &[4, 6]).unwrap());
    let by_labels = z.cross_entropy(&labels).unwrap();
    let by_probs = z.cross_entropy_probs(y).unwrap();
    assert!((by_labels.value().item().unwrap() - by_probs.value().item().unwrap()).abs() < 1e-15);
    let g1 = by_labels.backward().unwrap().wrt(z).unwrap();
    let g2 = by_probs.backward().unwrap().wrt(z).unwrap();
    // mean over the batch of 4: (ŷ − y) / 4 per row
    for r in 0..4 {
        let row: Vec<f64> = (0..6).map(|k| z.value().get(&[r, k]).unwrap()).collect();
        let p = common::softmax(&row);
        for k in 0..6 {
            let want = (p[k] - if k == labels[r] { 1.0 } else { 0.0 }) / 4.0;
            assert!((g1.get(&[r, k]).unwrap() - want).abs() < 1e-15);
            assert!((g2.get(&[r, k]).unwrap() - want).abs() < 1e-15);
        }
    }
}

#[test]
fn composed_cross_entropy_gives_the_same_gradient() {
    // L = −Σ y ⊙ log softmax(z), built from log_softmax, mul, sum and neg:
    // the chain (1)·(2) of the note, evaluated by the tape.
    for n in [2, 4, 9] {
        let tape = Tape::new();
        let z = tape.var(Tensor::<f64>::rand_normal(&[n], 0.0, 2.0, 7 + n as u64));
        let label = n / 2;
        let y = tape.constant(Tensor::from_vec(onehot(label, n), &[n]).unwrap());
        let loss = y
            .mul(z.log_softmax(-1).unwrap())
            .unwrap()
            .sum()
            .unwrap()
            .neg()
            .unwrap();
        let g = loss.backward().unwrap().wrt(z).unwrap();
        let y_hat = common::softmax(z.value().data());
        let expected: Vec<f64> = y_hat
            .iter()
            .zip(onehot(label, n))
            .map(|(p, y)| p - y)
            .collect();
        assert!(common::max_diff(&g, &expected) <= 1e-14);
    }
}

#[test]
fn composition_through_log_of_softmax_shows_formula_1() {
    // ∂L/∂ŷ = −y/ŷ: differentiate L = −Σ y ⊙ ln ŷ with ŷ as the variable.
    let tape = Tape::new();
    let y_hat = tape.var(Tensor::from_vec(common::softmax(&[0.2, -1.0, 0.7]), &[3]).unwrap());
    let y = tape.constant(Tensor::from_vec(onehot(2, 3), &[3]).unwrap());
    let loss = y
        .mul(y_hat.ln().unwrap())
        .unwrap()
        .sum()
        .unwrap()
        .neg()
        .unwrap();
    let g = loss.backward().unwrap().wrt(y_hat).unwrap();
    let p = y_hat.value();
    assert!(common::max_diff(&g, &[0.0, 0.0, -1.0 / p.data()[2]]) < 1e-15);
}

#[test]
fn cross_entropy_is_finite_for_logits_of_plus_minus_1000() {
    let tape = Tape::new();
    let z = tape
        .var(Tensor::from_vec(vec![1000.0, -1000.0, 0.0, -1000.0, 1000.0, 0.0], &[2, 3]).unwrap());
    let loss = z.cross_entropy(&[1, 1]).unwrap();
    // row 0: −log softmax = 2000; row 1: the label holds the maximum, loss ≈ 0
    assert_eq!(loss.value().item().unwrap(), 1000.0);
    let g = loss.backward().unwrap().wrt(z).unwrap();
    assert!(g.all_finite());
    let expected = [0.5, -0.5, 0.0, 0.0, 0.0, 0.0];
    assert!(common::max_diff(&g, &expected) < 1e-15, "{g}");
    // f32 too
    let tape = Tape::new();
    let z = tape.var(Tensor::from_vec(vec![1000.0f32, -1000.0], &[2]).unwrap());
    let loss = z.cross_entropy(&[1]).unwrap();
    assert_eq!(loss.value().item().unwrap(), 2000.0);
    assert!(loss.backward().unwrap().wrt(z).unwrap().all_finite());
}

#[test]
fn soft_targets_gradient_includes_their_mass() {
    // for targets that do not sum to one, ∂L/∂z = ŷ·Σy − y (checked by gradcheck)
    let z = Tensor::<f64>::rand_normal(&[3, 4], 0.0, 1.0, 11);
    let y = Tensor::<f64>::rand_uniform(&[3, 4], 0.0, 1.0, 12);
    autodiff::gradcheck(
        |_, v| v[0].cross_entropy_probs(v[1]),
        &[z, y],
        &autodiff::GradcheckOptions::default(),
    )
    .unwrap();
}
