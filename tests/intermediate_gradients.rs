//! Gradients of intermediate values (PyTorch's `retain_grad`) and hooks
//! that see or rewrite the gradient flowing into a value, checked against
//! the Task 2 closed form δ₁ = (δ₂W₂ᵀ) ⊙ σ'(z₁).

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use autodiff::{ErrorKind, Tape, Tensor};

const M: usize = 5;
const D: usize = 3;
const H: usize = 4;
const C: usize = 3;
const LABELS: [usize; M] = [2, 0, 1, 1, 2];

struct Net {
    x: Tensor<f64>,
    w1: Tensor<f64>,
    b1: Tensor<f64>,
    w2: Tensor<f64>,
    b2: Tensor<f64>,
}

fn net() -> Net {
    Net {
        x: Tensor::rand_normal(&[M, D], 0.0, 1.0, 1),
        w1: Tensor::rand_normal(&[D, H], 0.0, 0.8, 2),
        b1: Tensor::rand_normal(&[H], 0.0, 0.2, 3),
        w2: Tensor::rand_normal(&[H, C], 0.0, 0.8, 4),
        b2: Tensor::rand_normal(&[C], 0.0, 0.2, 5),
    }
}

/// δ₁ and δ₂ of the note (mean loss: δ₂ = (ŷ − y)/m), with plain loops.
fn closed_form_deltas(n: &Net) -> (Vec<f64>, Vec<f64>) {
    let mut z1 = common::matmul(n.x.data(), n.w1.data(), M, D, H);
    for r in 0..M {
        for j in 0..H {
            z1[r * H + j] += n.b1.data()[j];
        }
    }
    let a1: Vec<f64> = z1.iter().map(|&z| common::sigmoid(z)).collect();
    let mut z2 = common::matmul(&a1, n.w2.data(), M, H, C);
    for r in 0..M {
        for j in 0..C {
            z2[r * C + j] += n.b2.data()[j];
        }
    }
    let mut delta2 = vec![0.0; M * C];
    for r in 0..M {
        let p = common::softmax(&z2[r * C..(r + 1) * C]);
        for j in 0..C {
            delta2[r * C + j] = (p[j] - if j == LABELS[r] { 1.0 } else { 0.0 }) / M as f64;
        }
    }
    let back = common::matmul(&delta2, &common::transpose(n.w2.data(), H, C), M, C, H);
    let delta1 = back
        .iter()
        .zip(&a1)
        .map(|(b, a)| b * a * (1.0 - a))
        .collect();
    (delta1, delta2)
}

#[test]
fn retained_intermediate_gradients_equal_delta1_and_delta2() {
    let n = net();
    let tape = Tape::new();
    let x = tape.constant(n.x.clone());
    let w1 = tape.var(n.w1.clone());
    let b1 = tape.var(n.b1.clone());
    let w2 = tape.var(n.w2.clone());
    let b2 = tape.var(n.b2.clone());
    let z1 = x.matmul(w1).unwrap().add(b1).unwrap().retain_grad();
    let z2 = z1
        .sigmoid()
        .unwrap()
        .matmul(w2)
        .unwrap()
        .add(b2)
        .unwrap()
        .retain_grad();
    let grads = z2.cross_entropy(&LABELS).unwrap().backward().unwrap();
    let (delta1, delta2) = closed_form_deltas(&n);
    assert!(common::max_diff(&grads.wrt(z1).unwrap(), &delta1) < 1e-15);
    assert!(common::max_diff(&grads.wrt(z2).unwrap(), &delta2) < 1e-15);
}

#[test]
fn an_intermediate_that_was_not_retained_is_an_error_not_zeros() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap());
    let h = x.exp().unwrap();
    let grads = h.sum().unwrap().backward().unwrap();
    let err = grads.wrt(h).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Graph);
    assert!(err.to_string().contains("retain_grad"), "{err}");
}

#[test]
fn a_hook_sees_delta1_flowing_into_z1() {
    let n = net();
    let tape = Tape::new();
    let x = tape.constant(n.x.clone());
    let w1 = tape.var(n.w1.clone());
    let z1 = x
        .matmul(w1)
        .unwrap()
        .add(tape.constant(n.b1.clone()))
        .unwrap();
    let seen: Rc<RefCell<Vec<Tensor<f64>>>> = Rc::default();
    let log = seen.clone();
    z1.register_hook(move |g| {
        log.borrow_mut().push(g.clone());
        None
    });
    let logits = z1
        .sigmoid()
        .unwrap()
        .matmul(tape.constant(n.w2.clone()))
        .unwrap()
        .add(tape.constant(n.b2.clone()))
        .unwrap();
    let grads = logits.cross_entropy(&LABELS).unwrap().backward().unwrap();
    let (delta1, _) = closed_form_deltas(&n);
    assert_eq!(
        seen.borrow().len(),
        1,
        "the hook runs once, on the complete gradient"
    );
    assert!(common::max_diff(&seen.borrow()[0], &delta1) < 1e-15);
    // returning None left the gradient alone: ∂L/∂W₁ = xᵀδ₁
    let want = common::matmul(&common::transpose(n.x.data(), M, D), &delta1, D, M, H);
    assert!(common::max_diff(&grads.wrt(w1).unwrap(), &want) < 1e-15);
}

#[test]
fn a_hook_can_rewrite_the_gradient() {
    // y = Σ (3x)²; a hook doubles the gradient flowing into h = 3x,
    // so ∂y/∂x = 2 · 3 · 2h = 36x instead of 18x
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![1.0f64, -2.0], &[2]).unwrap());
    let h = x.mul_scalar(3.0).unwrap();
    h.register_hook(|g| Some(g.map(|v| 2.0 * v)));
    let y = h.square().unwrap().sum().unwrap();
    assert_eq!(y.backward().unwrap().wrt(x).unwrap().data(), &[36.0, -72.0]);
    // hooks on leaves see (and may change) the leaf's final gradient
    let z = tape.var(Tensor::scalar(1.0f64));
    z.register_hook(|_| Some(Tensor::scalar(42.0)));
    let out = z.exp().unwrap();
    assert_eq!(
        out.backward().unwrap().wrt(z).unwrap().item().unwrap(),
        42.0
    );
}

#[test]
fn a_hook_that_changes_the_shape_is_an_error() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![1.0f64, -2.0], &[2]).unwrap());
    let h = x.exp().unwrap();
    h.register_hook(|_| Some(Tensor::zeros(&[3])));
    let err = h.sum().unwrap().backward().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Graph);
    assert!(
        err.to_string()
            .contains("returned a gradient of shape [3] for shape [2]"),
        "{err}"
    );
}
