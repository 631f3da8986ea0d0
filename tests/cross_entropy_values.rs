//! Cross-entropy with integer labels computes the softmax once, in its
//! forward pass, and its plain backward turns those probabilities into the
//! gradient. These tests hold the loss and the gradient to the separate
//! `log_softmax` and `softmax` operations bit for bit, to a closed form
//! computed here in f64, and check that a second sweep over the same loss
//! (which finds the probabilities taken) gives the same bits.

use autodiff::{Float, Tape, Tensor};

/// Logits with the awkward cases: large magnitudes, ties, −∞ entries, and a
/// row that is −∞ throughout.
fn logits<T: Float>() -> (Tensor<T>, Vec<usize>) {
    let inf = f64::INFINITY;
    let rows: [[f64; 4]; 6] = [
        [0.5, -1.25, 2.0, 0.0],
        [1000.0, -1000.0, 999.5, 0.0],
        [3.0, 3.0, 3.0, 3.0],
        [-inf, 0.25, -inf, 1.0],
        [-inf, -inf, -inf, -inf],
        [-7.5, 12.0, 0.125, -0.5],
    ];
    let data = rows.iter().flatten().map(|&v| T::of_f64(v)).collect();
    (
        Tensor::from_vec(data, &[6, 4]).unwrap(),
        vec![2, 0, 3, 1, 0, 1],
    )
}

fn bits<T: Float>(t: &Tensor<T>) -> Vec<u64> {
    t.data().iter().map(|v| v.as_f64().to_bits()).collect()
}

/// Random logits, `[50, 7]` with a spread of 5, and labels.
fn random_logits<T: Float>() -> (Tensor<T>, Vec<usize>) {
    let z = Tensor::rand_normal(&[50, 7], T::zero(), T::of_f64(5.0), 3);
    (z, (0..50).map(|r| (r * 5 + 1) % 7).collect())
}

fn against_the_separate_operations<T: Float>((z, labels): (Tensor<T>, Vec<usize>)) {
    let (n, c) = (z.shape()[0], z.shape()[1]);
    let tape = Tape::new();
    let zv = tape.var(z.clone());
    let loss = zv.cross_entropy(&labels).unwrap();
    let grad = loss.backward().unwrap().wrt(zv).unwrap();

    // the loss: −(1/N) Σ_r log_softmax(z_r)[label_r], summed in row order
    let lsm = zv.log_softmax(-1).unwrap().value();
    let mut total = T::zero();
    for (r, &l) in labels.iter().enumerate() {
        total -= lsm.data()[r * c + l];
    }
    let expected = total / T::of_f64(n as f64);
    assert_eq!(
        loss.value().item().unwrap().as_f64().to_bits(),
        expected.as_f64().to_bits(),
        "{}",
        T::NAME
    );

    // the gradient: (softmax(z) − onehot) · 1/N, element by element
    let p = zv.softmax(-1).unwrap().value();
    let scale = T::one() / T::of_f64(n as f64);
    let mut g = p.data().to_vec();
    for (r, &l) in labels.iter().enumerate() {
        g[r * c + l] -= T::one();
    }
    let g: Vec<T> = g.into_iter().map(|v| v * scale).collect();
    assert_eq!(
        bits(&grad),
        bits(&Tensor::from_vec(g, &[n, c]).unwrap()),
        "{}",
        T::NAME
    );

    // a second plain sweep (the probabilities were taken by the first) and
    // a recorded one give the same gradient
    let again = loss.backward().unwrap().wrt(zv).unwrap();
    assert_eq!(bits(&again), bits(&grad), "{}", T::NAME);
    let recorded = loss.backward_graph().unwrap().wrt(zv).unwrap().value();
    for (k, (&r, &p)) in recorded.data().iter().zip(grad.data()).enumerate() {
        // the row of −∞ has no softmax: NaN in both, finite elsewhere
        assert_eq!(r.is_nan(), p.is_nan(), "{} element {k}", T::NAME);
        assert!(
            r.is_nan() || (r - p).abs() <= T::epsilon(),
            "{} element {k}: {r:?} against {p:?}",
            T::NAME
        );
    }
    // only the row of −∞ (the fifth of the awkward logits) has NaNs
    let nan_rows: Vec<usize> = (0..n)
        .filter(|&r| grad.data()[r * c..(r + 1) * c].iter().any(|v| v.is_nan()))
        .collect();
    assert_eq!(
        nan_rows,
        if n == 6 { vec![4] } else { vec![] },
        "{}",
        T::NAME
    );
}

#[test]
fn loss_and_gradient_equal_log_softmax_and_softmax_bit_for_bit() {
    against_the_separate_operations(logits::<f64>());
    against_the_separate_operations(logits::<f32>());
    against_the_separate_operations(random_logits::<f64>());
    against_the_separate_operations(random_logits::<f32>());
}

#[test]
fn loss_and_gradient_match_the_closed_form() {
    // finite rows only: the closed form in f64, log-sum-exp shifted by the max
    let (z, labels) = logits::<f64>();
    let finite_rows = [0usize, 1, 2, 5];
    let c = 4;
    let rows: Vec<f64> = finite_rows
        .iter()
        .flat_map(|&r| z.data()[r * c..(r + 1) * c].to_vec())
        .collect();
    let labels: Vec<usize> = finite_rows.iter().map(|&r| labels[r]).collect();
    let n = finite_rows.len();
    let z = Tensor::from_vec(rows, &[n, c]).unwrap();
    let tape = Tape::new();
    let zv = tape.var(z.clone());
    let loss = zv.cross_entropy(&labels).unwrap();
    let grad = loss.backward().unwrap().wrt(zv).unwrap();
    let mut expected_loss = 0.0;
    for (r, &l) in labels.iter().enumerate() {
        let row = &z.data()[r * c..(r + 1) * c];
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        expected_loss += (lse - row[l]) / n as f64;
        for j in 0..c {
            let p = (row[j] - lse).exp();
            let onehot = if j == l { 1.0 } else { 0.0 };
            let want = (p - onehot) / n as f64;
            let got = grad.data()[r * c + j];
            assert!(
                (got - want).abs() <= 1e-15,
                "row {r} class {j}: {got} against {want}"
            );
        }
    }
    let got = loss.value().item().unwrap();
    assert!(
        (got - expected_loss).abs() <= 1e-12 * expected_loss.abs(),
        "{got} against {expected_loss}"
    );
}
