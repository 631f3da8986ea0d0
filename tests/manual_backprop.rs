//! The lecture note's backprop by hand (`nn::manual`) against the tape: the
//! gradients of every weight and bias, and each δ_l against the tape's
//! gradient of the pre-activation z_l, to 1e-10 in f64 for ReLU, Sigmoid,
//! Tanh and Linear with one to three hidden layers.

use autodiff::{Tape, Tensor};
use nn::{manual, Activation, Init, Linear, Mlp, Module, Session};

fn check(widths: &[usize], act: Activation, seed: u64) {
    let mlp = Mlp::<f64>::new(widths, act, Init::PyTorch, seed).unwrap();
    let m = 7;
    let x = Tensor::rand_normal(&[m, widths[0]], 0.0, 1.0, seed + 100);
    let classes = *widths.last().unwrap();
    let labels: Vec<usize> = (0..m).map(|i| (i * 5 + seed as usize) % classes).collect();

    let hand = manual::backprop(&mlp, &x, &labels).unwrap();

    // the same net on the tape, layer by layer so that each z_l is retained
    let tape = Tape::new();
    let s = Session::train(&tape);
    let mut h = s.input(x.clone());
    let mut zs = Vec::new();
    let layers: &[Linear<f64>] = mlp.layers();
    for (l, layer) in layers.iter().enumerate() {
        let z = layer.forward(&s, h).unwrap().retain_grad();
        zs.push(z);
        h = if l + 1 < layers.len() {
            act.apply(z).unwrap()
        } else {
            z
        };
    }
    let loss = h.cross_entropy(&labels).unwrap();
    assert!((loss.value().item().unwrap() - hand.loss).abs() < 1e-12);
    let all = loss.backward().unwrap();
    let tape_grads = s.grads(loss).unwrap();

    let mut checked = 0;
    mlp.visit_params("", &mut |name, p| {
        let (a, b) = (hand.grads.get(p).unwrap(), tape_grads.get(p).unwrap());
        let diff = a.max_abs_diff(b).unwrap();
        assert!(diff < 1e-10, "{act:?} {widths:?} {name}: {diff:e}");
        checked += 1;
    });
    assert_eq!(checked, 2 * layers.len());
    for (l, z) in zs.iter().enumerate() {
        let diff = hand.deltas[l].max_abs_diff(&all.wrt(*z).unwrap()).unwrap();
        assert!(diff < 1e-10, "{act:?} {widths:?} δ{}: {diff:e}", l + 1);
    }
}

#[test]
fn hand_written_backprop_equals_the_tape_for_every_activation_and_depth() {
    let nets: [&[usize]; 3] = [&[3, 5, 4], &[3, 6, 5, 4], &[2, 4, 4, 3, 3]];
    for act in [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Linear,
        Activation::Silu,
    ] {
        for (k, widths) in nets.iter().enumerate() {
            check(widths, act, 10 * k as u64 + 1);
        }
    }
}

#[test]
fn hand_written_backprop_rejects_bad_input() {
    let mlp = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, Init::PyTorch, 1).unwrap();
    let err = manual::backprop(&mlp, &Tensor::zeros(&[2, 4]), &[0, 1]).unwrap_err();
    assert!(
        err.to_string()
            .contains("input [2, 4] with 2 labels for a net of widths [3, 4, 2]"),
        "{err}"
    );
    let err = manual::backprop(&mlp, &Tensor::zeros(&[2, 3]), &[0, 2]).unwrap_err();
    assert_eq!(err.kind(), autodiff::ErrorKind::Label);
    assert!(manual::backprop(&mlp, &Tensor::zeros(&[2, 3]), &[0]).is_err());
    assert!(manual::backprop(&mlp, &Tensor::zeros(&[6]), &[0]).is_err());
}
