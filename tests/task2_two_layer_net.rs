//! Task 2 in full: the two-layer network
//!   z₁ = x·W₁ + b₁,  a₁ = σ(z₁),  z₂ = a₁·W₂ + b₂,  ŷ = softmax(z₂),
//!   L = (1/m) Σ −yᵀ log ŷ  over a batch of m = 5,
//! whose gradients the note derives by hand (row-vector convention):
//!   δ₂ = (ŷ − y)/m,  ∂L/∂W₂ = a₁ᵀδ₂,  ∂L/∂b₂ = Σ_rows δ₂,
//!   δ₁ = (δ₂W₂ᵀ) ⊙ σ'(z₁),  ∂L/∂W₁ = xᵀδ₁,  ∂L/∂b₁ = Σ_rows δ₁.
//! The closed form is computed with plain loops (tests/common) and the
//! tape's gradients must equal it to 1e-12 in f64.

mod common;

use autodiff::{Float, Tape, Tensor};

const M: usize = 5; // batch
const D: usize = 4; // inputs
const H: usize = 6; // hidden
const C: usize = 3; // classes
const LABELS: [usize; M] = [0, 2, 1, 1, 0];

#[derive(Clone, Copy, Debug)]
enum Act {
    Relu,
    Sigmoid,
}

struct Params {
    x: Tensor<f64>,
    w1: Tensor<f64>,
    b1: Tensor<f64>,
    w2: Tensor<f64>,
    b2: Tensor<f64>,
}

fn params(seed: u64) -> Params {
    Params {
        x: Tensor::rand_normal(&[M, D], 0.0, 1.0, seed),
        w1: Tensor::rand_normal(&[D, H], 0.0, 0.7, seed + 1),
        b1: Tensor::rand_normal(&[H], 0.0, 0.3, seed + 2),
        w2: Tensor::rand_normal(&[H, C], 0.0, 0.7, seed + 3),
        b2: Tensor::rand_normal(&[C], 0.0, 0.3, seed + 4),
    }
}

/// The tape's gradients [W1, b1, W2, b2], in element type `T`.
fn tape_grads<T: Float>(p: &Params, act: Act) -> Vec<Tensor<T>> {
    let tape = Tape::<T>::new();
    let x = tape.constant(p.x.cast());
    let w1 = tape.var(p.w1.cast());
    let b1 = tape.var(p.b1.cast());
    let w2 = tape.var(p.w2.cast());
    let b2 = tape.var(p.b2.cast());
    let z1 = x.matmul(w1).unwrap().add(b1).unwrap();
    let a1 = match act {
        Act::Relu => z1.relu(),
        Act::Sigmoid => z1.sigmoid(),
    }
    .unwrap();
    let z2 = a1.matmul(w2).unwrap().add(b2).unwrap();
    let loss = z2.cross_entropy(&LABELS).unwrap();
    let g = loss.backward().unwrap();
    [w1, b1, w2, b2]
        .iter()
        .map(|&v| g.wrt(v).unwrap())
        .collect()
}

/// The note's closed form, with loops only: [W1, b1, W2, b2].
fn closed_form(p: &Params, act: Act) -> Vec<Vec<f64>> {
    let (x, w1, b1, w2, b2) = (
        p.x.data(),
        p.w1.data(),
        p.b1.data(),
        p.w2.data(),
        p.b2.data(),
    );
    let mut z1 = common::matmul(x, w1, M, D, H);
    for r in 0..M {
        for j in 0..H {
            z1[r * H + j] += b1[j];
        }
    }
    let (a1, d_act): (Vec<f64>, Vec<f64>) = z1
        .iter()
        .map(|&z| match act {
            Act::Relu => (z.max(0.0), if z > 0.0 { 1.0 } else { 0.0 }),
            Act::Sigmoid => {
                let s = common::sigmoid(z);
                (s, s * (1.0 - s))
            }
        })
        .unzip();
    let mut z2 = common::matmul(&a1, w2, M, H, C);
    for r in 0..M {
        for j in 0..C {
            z2[r * C + j] += b2[j];
        }
    }
    // δ₂ = (ŷ − y) / m
    let mut delta2 = vec![0.0; M * C];
    for r in 0..M {
        let y_hat = common::softmax(&z2[r * C..(r + 1) * C]);
        for j in 0..C {
            let y = if j == LABELS[r] { 1.0 } else { 0.0 };
            delta2[r * C + j] = (y_hat[j] - y) / M as f64;
        }
    }
    let dw2 = common::matmul(&common::transpose(&a1, M, H), &delta2, H, M, C);
    let db2: Vec<f64> = (0..C)
        .map(|j| (0..M).map(|r| delta2[r * C + j]).sum())
        .collect();
    // δ₁ = (δ₂ W₂ᵀ) ⊙ σ'(z₁)
    let back = common::matmul(&delta2, &common::transpose(w2, H, C), M, C, H);
    let delta1: Vec<f64> = back.iter().zip(&d_act).map(|(a, b)| a * b).collect();
    let dw1 = common::matmul(&common::transpose(x, M, D), &delta1, D, M, H);
    let db1: Vec<f64> = (0..H)
        .map(|j| (0..M).map(|r| delta1[r * H + j]).sum())
        .collect();
    vec![dw1, db1, dw2, db2]
}

fn check_f64(act: Act, seed: u64) {
    let p = params(seed);
    let got = tape_grads::<f64>(&p, act);
    let want = closed_form(&p, act);
    for (name, (g, w)) in ["W1", "b1", "W2", "b2"].iter().zip(got.iter().zip(&want)) {
        let diff = common::max_diff(g, w);
        assert!(
            diff <= 1e-12,
            "{act:?} seed {seed}: ∂L/∂{name} differs by {diff:e}"
        );
        assert!(
            w.iter().any(|v| v.abs() > 1e-6),
            "{name}: a trivial gradient proves nothing"
        );
    }
}

#[test]
fn relu_net_gradients_equal_the_closed_form() {
    for seed in [1, 20, 300] {
        check_f64(Act::Relu, seed);
    }
}

#[test]
fn sigmoid_net_gradients_equal_the_closed_form() {
    for seed in [1, 20, 300] {
        check_f64(Act::Sigmoid, seed);
    }
}

#[test]
fn the_same_net_in_f32_gives_the_same_gradients_to_f32_precision() {
    for act in [Act::Relu, Act::Sigmoid] {
        let p = params(42);
        let got = tape_grads::<f32>(&p, act);
        let want = closed_form(&p, act);
        for (name, (g, w)) in ["W1", "b1", "W2", "b2"].iter().zip(got.iter().zip(&want)) {
            let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let diff = common::max_diff(&g.cast::<f64>(), w);
            // a few f32 roundings (ε = 1.2e-7) along the chain
            assert!(
                diff <= 1e-6 * scale.max(1.0),
                "{act:?} f32 ∂L/∂{name}: {diff:e} (scale {scale:e})"
            );
        }
    }
}
