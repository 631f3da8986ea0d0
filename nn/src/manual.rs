//! The lecture note's backpropagation by hand (Task 2), for an [`Mlp`] with
//! a softmax cross-entropy loss — plain loops and GEMM calls, no tape — to
//! read beside the autodiff version and to check it.
//!
//! Row-vector convention, batch on rows, `m` rows, weights stored `[out, in]`:
//!
//! ```text
//! forward   a₀ = x,   z_l = a_{l−1}·W_lᵀ + b_l,   a_l = σ(z_l) (l < L),   ŷ = softmax(z_L)
//! loss      L = −(1/m) Σ_rows log ŷ[label]
//! output    δ_L = (ŷ − y)/m                        (the note's (a), mean over the batch)
//! weights   ∂L/∂W_l = δ_lᵀ·a_{l−1},  ∂L/∂b_l = Σ_rows δ_l      (the note's (d))
//! backward  δ_{l−1} = (δ_l·W_l) ⊙ σ'(z_{l−1})                   (the note's (c) and (b))
//! ```

use autodiff::activations;
use autodiff::kernels::gemm::{self, Matrices};
use autodiff::shape::fmt_shape;
use autodiff::{Error, ErrorKind, Float, Result, Tensor};

use crate::layers::{Activation, Mlp};
use crate::module::Module;
use crate::session::ParamGrads;

/// What [`backprop`] computes.
#[derive(Clone, Debug)]
pub struct Backprop<T: Float> {
    /// The mean cross-entropy.
    pub loss: T,
    /// The gradient of every weight and bias, keyed like the tape's.
    pub grads: ParamGrads<T>,
    /// `δ_l = ∂L/∂z_l` for each layer `l = 1…L` (`[m, width_l]`), input side first.
    pub deltas: Vec<Tensor<T>>,
    /// The logits `z_L`, `[m, classes]`.
    pub logits: Tensor<T>,
}

/// The loss of `mlp` on `(x, labels)` and its gradients, by the note's
/// formulas (see the module documentation).
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{manual, Activation, Init, Mlp, Module, Session};
/// let mlp = Mlp::<f64>::new(&[2, 3, 2], Activation::Sigmoid, Init::XavierUniform, 1)?;
/// let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.1], &[2, 2])?;
/// let by_hand = manual::backprop(&mlp, &x, &[1, 0])?;
///
/// let tape = Tape::new();
/// let s = Session::train(&tape);
/// let by_tape = s.grads(mlp.forward(&s, s.input(x))?.cross_entropy(&[1, 0])?)?;
/// let w = &mlp.layers()[0].weight;
/// assert!(by_hand.grads.get(w).unwrap().max_abs_diff(by_tape.get(w).unwrap())? < 1e-15);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`] when `x` is not `[m, inputs]` or there are not `m`
/// labels; [`ErrorKind::Label`] for a label outside the classes.
#[track_caller]
pub fn backprop<T: Float>(mlp: &Mlp<T>, x: &Tensor<T>, labels: &[usize]) -> Result<Backprop<T>> {
    let widths = mlp.widths();
    let (inputs, classes) = (widths[0], widths[widths.len() - 1]);
    let [m, d] = *x.shape() else {
        return Err(Error::shape(
            "manual::backprop",
            format!("input {} must be [batch, {inputs}]", fmt_shape(x.shape())),
        )
        .at_caller());
    };
    if d != inputs || labels.len() != m {
        return Err(Error::shape(
            "manual::backprop",
            format!(
                "input {} with {} labels for a net of widths {widths:?}",
                fmt_shape(x.shape()),
                labels.len()
            ),
        )
        .at_caller());
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
        return Err(Error::new(
            ErrorKind::Label,
            "manual::backprop",
            format!("label {bad} is out of range for {classes} classes"),
        )
        .at_caller());
    }
    let act = mlp.activation();
    let layers = mlp.layers();
    let n_layers = layers.len();

    // forward: keep a_{l−1} and σ'(z_l) for the backward pass. Buffers are
    // tensors, so that their storage is reused from step to step as the
    // tape's is (autodiff::tensor_pool): the comparison with the tape is of
    // the arithmetic, not of the allocator.
    let mut inputs_of: Vec<Tensor<T>> = Vec::with_capacity(n_layers); // a_{l−1}
    let mut slopes: Vec<Tensor<T>> = Vec::with_capacity(n_layers); // σ'(z_l), hidden layers
    let mut a = x.clone();
    for (l, layer) in layers.iter().enumerate() {
        let (fan_in, fan_out) = (widths[l], widths[l + 1]);
        // z = a·Wᵀ + b
        let mut z = Tensor::for_overwrite(&[m, fan_out]);
        gemm::batched_into(
            1,
            Matrices::shared(a.data(), m, fan_in),
            Matrices::shared(layer.weight.value().data(), fan_out, fan_in).t(),
            z.data_mut(),
        );
        if let Some(b) = &layer.bias {
            for row in z.data_mut().chunks_mut(fan_out) {
                for (zi, &bi) in row.iter_mut().zip(b.value().data()) {
                    *zi += bi;
                }
            }
        }
        inputs_of.push(std::mem::replace(&mut a, z));
        if l + 1 < n_layers {
            let mut derivs = Tensor::for_overwrite(&[m, fan_out]);
            if act == Activation::Tanh {
                // tanh over the slice at once (vectorized, as the tape's),
                // into the slopes' buffer first, then 1 − tanh² in place
                activations::tanh_slice(a.data(), derivs.data_mut());
                for (zi, d) in a.data_mut().iter_mut().zip(derivs.data_mut()) {
                    *zi = *d;
                    *d = activations::tanh_derivative(*d);
                }
            } else if act == Activation::Relu {
                // the common case as selects, which vectorize
                for (zi, d) in a.data_mut().iter_mut().zip(derivs.data_mut()) {
                    let on = *zi > T::zero();
                    *d = if on { T::one() } else { T::zero() };
                    *zi = if on { *zi } else { T::zero() };
                }
            } else {
                for (zi, d) in a.data_mut().iter_mut().zip(derivs.data_mut()) {
                    (*zi, *d) = act.eval(*zi);
                }
            }
            slopes.push(derivs);
        }
    }
    let logits = a;

    // δ_L = (ŷ − y)/m and the loss, with a max-shifted softmax per row
    let mut delta = Tensor::for_overwrite(&[m, classes]);
    let mut loss = T::zero();
    let inv_m = T::one() / T::of_f64(m as f64);
    for (r, out) in delta.data_mut().chunks_mut(classes).enumerate() {
        let row = &logits.data()[r * classes..(r + 1) * classes];
        let max = row.iter().copied().fold(T::neg_infinity(), T::max);
        let sum: T = row.iter().map(|&z| (z - max).exp()).sum();
        loss -= row[labels[r]] - max - sum.ln();
        for c in 0..classes {
            let y_hat = (row[c] - max).exp() / sum;
            let y = if c == labels[r] { T::one() } else { T::zero() };
            out[c] = (y_hat - y) * inv_m;
        }
    }
    loss *= inv_m;

    // backward
    let mut grads = ParamGrads::default();
    let mut deltas = vec![Tensor::zeros(&[0]); n_layers];
    for l in (0..n_layers).rev() {
        let layer = &layers[l];
        let (fan_in, fan_out) = (widths[l], widths[l + 1]);
        // ∂W = δᵀ·a_{l−1}: [out, m]·[m, in]
        let mut dw = Tensor::for_overwrite(&[fan_out, fan_in]);
        gemm::batched_into(
            1,
            Matrices::shared(delta.data(), m, fan_out).t(),
            Matrices::shared(inputs_of[l].data(), m, fan_in),
            dw.data_mut(),
        );
        grads.insert(&layer.weight, dw);
        if let Some(b) = &layer.bias {
            let mut db = vec![T::zero(); fan_out];
            for row in delta.data().chunks(fan_out) {
                for (s, &v) in db.iter_mut().zip(row) {
                    *s += v;
                }
            }
            grads.insert(b, Tensor::from_vec(db, &[fan_out])?);
        }
        let next = if l > 0 {
            // δ_{l−1} = (δ·W) ⊙ σ'(z_{l−1}): [m, out]·[out, in]
            let mut back = Tensor::for_overwrite(&[m, fan_in]);
            gemm::batched_into(
                1,
                Matrices::shared(delta.data(), m, fan_out),
                Matrices::shared(layer.weight.value().data(), fan_out, fan_in),
                back.data_mut(),
            );
            for (v, &s) in back.data_mut().iter_mut().zip(slopes[l - 1].data()) {
                *v *= s;
            }
            Some(back)
        } else {
            None
        };
        if let Some(next) = next {
            deltas[l] = std::mem::replace(&mut delta, next);
        } else {
            deltas[l] = delta.clone();
        }
    }
    // every parameter of the model got a gradient
    debug_assert_eq!(grads.len(), mlp.param_names().len());
    Ok(Backprop {
        loss,
        grads,
        deltas,
        logits,
    })
}
