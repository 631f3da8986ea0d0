//! The affine map of a dense layer, fused into one operation.
//!
//! `Y = X·Wᵀ + b` for `X` `[m, k]`, `W` `[n, k]` (one row per output, as
//! PyTorch stores it) and an optional bias `b` `[n]` added to every row:
//! `y_ij = Σ_l x_il·w_jl + b_j`. With `ḡ = ∂L/∂Y`:
//! `∂L/∂X = ḡ·W`, `∂L/∂W = ḡᵀ·X` and `∂L/∂b = Σ_i ḡ_i` (the column sums).
//!
//! The values and gradients are those of `x.matmul_t(w, false, true)`
//! followed by `add(b)`, bit for bit (the same product kernel, then the
//! same additions in the same order); one node instead of two saves a
//! tensor, a pass over it and a node's bookkeeping per layer, which is
//! most of a small network's step.
//!
//! [`Var::linear_then`] fuses an activation `f` whose derivative is a
//! function of its output (ReLU, sigmoid, tanh) into the same node:
//! `A = f(X·Wᵀ + b)`, and with `ḡ = ∂L/∂A` the rule first forms
//! `∂L/∂Z = ḡ ⊙ f′`, `f′` computed from `A` (`1[a > 0]`, `a(1 − a)`,
//! `1 − a²`), then the affine rule above with `∂L/∂Z` for `ḡ`. The values
//! and gradients are those of `linear` followed by the activation's own
//! operation, bit for bit.

use std::panic::Location;

use smallvec::smallvec;

use super::activation::Activation;
use super::matmul::{product_input_grads, Matmul};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::kernels::{elementwise, reduce};
use crate::shape::fmt_shape;
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
use crate::tape::Var;
use crate::tensor::Tensor;

/// `X·Wᵀ (+ b)`, then the activation `then` if there is one: inputs `X`,
/// `W` and, when there is a bias, `b`.
struct Linear {
    then: Option<Activation>,
}

/// An activation that [`Var::linear_then`] applies in the same operation
/// as the affine map: one whose derivative is a function of its output, so
/// that the value before it need not be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FusedActivation {
    /// `max(0, z)`; f′ = `1[a > 0]` (0 at z = 0, as [`Var::relu`]).
    Relu,
    /// `1/(1 + e⁻ᶻ)`; f′ = `a(1 − a)`.
    Sigmoid,
    /// `tanh z`; f′ = `1 − a²`.
    Tanh,
}

impl FusedActivation {
    fn op(self) -> Activation {
        match self {
            FusedActivation::Relu => Activation::Relu,
            FusedActivation::Sigmoid => Activation::Sigmoid,
            FusedActivation::Tanh => Activation::Tanh,
        }
    }
}

/// `W` is used transposed: `X·Wᵀ`.
const X_TIMES_W_T: Matmul = Matmul {
    trans_a: false,
    trans_b: true,
};

impl<T: Float> Op<T> for Linear {
    fn name(&self) -> &str {
        match self.then {
            None => "linear",
            Some(Activation::Relu) => "linear_relu",
            Some(Activation::Sigmoid) => "linear_sigmoid",
            Some(Activation::Tanh) => "linear_tanh",
        }
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (input, weight, bias) = (x[0], x[1], x.get(2));
        let shapes = || {
            let mut s = format!(
                "input {}, weight {}",
                fmt_shape(input.shape()),
                fmt_shape(weight.shape())
            );
            if let Some(b) = bias {
                s += &format!(", bias {}", fmt_shape(b.shape()));
            }
            s
        };
        let (&[_, k], &[n, k2]) = (input.shape(), weight.shape()) else {
            return Err(Error::shape(
                "linear",
                format!(
                    "{}: input must be [batch, in] and weight [out, in]",
                    shapes()
                ),
            ));
        };
        if k != k2 {
            return Err(Error::shape(
                "linear",
                format!(
                    "{}: input has {k} features, weight rows have {k2}",
                    shapes()
                ),
            ));
        }
        if bias.is_some_and(|b| b.shape() != [n]) {
            return Err(Error::shape(
                "linear",
                format!("{}: bias must be [{n}], one per output", shapes()),
            ));
        }
        let mut product = X_TIMES_W_T;
        let mut y = product.forward(&[input, weight])?;
        if let Some(b) = bias {
            elementwise::add_to_rows(y.data_mut(), b.data());
        }
        match self.then {
            // the activation's own kernel, as its operation runs it
            Some(mut f) => Op::<T>::forward(&mut f, &[&y]),
            None => Ok(y),
        }
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let (x, w) = (ctx.input(0), ctx.input(1));
        // through the activation first: ∂L/∂Z = ḡ ⊙ f′(A)
        let g = match self.then {
            Some(f) => f.grad_var_from_output(g, ctx.output())?,
            None => g,
        };
        // ∂X = ḡ·W, ∂W = ḡᵀ·X, ∂b = Σ_rows ḡ (as matmul_t's and add's rules)
        let gx = ctx
            .needs_grad(0)
            .then(|| g.matmul_t(w, false, false))
            .transpose()?;
        let gw = ctx
            .needs_grad(1)
            .then(|| g.matmul_t(x, true, false))
            .transpose()?;
        let mut grads = smallvec![gx, gw];
        if ctx.num_inputs() == 3 {
            let b = ctx.input(2);
            grads.push(
                ctx.needs_grad(2)
                    .then(|| g.sum_to(&b.shape()))
                    .transpose()?,
            );
        }
        Ok(grads)
    }

    /// The same products and sums as [`Op::backward`], computed directly.
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let gz;
        let g = match self.then {
            Some(f) => {
                gz = f.grad_from_output(g, ctx.output());
                &gz
            }
            None => g,
        };
        let need = [ctx.needs_grad(0), ctx.needs_grad(1)];
        let [gx, gw] = match product_input_grads(ctx.input(0), ctx.input(1), &X_TIMES_W_T, g, need)
        {
            Ok(grads) => grads,
            Err(e) => return Some(Err(e)),
        };
        let mut grads = smallvec![gx, gw];
        if ctx.num_inputs() == 3 {
            let b = ctx.input(2);
            grads.push(ctx.needs_grad(2).then(|| reduce::sum_to(g, b.shape())));
        }
        Some(Ok(grads))
    }
}

impl<'t, T: Float> Var<'t, T> {
    /// The affine map of a dense layer, `self·weightᵀ + bias`, as one
    /// operation: `self` is `[batch, in]`, `weight` `[out, in]`, `bias`
    /// `[out]`, the result `[batch, out]`.
    ///
    /// `y_ij = Σ_l x_il·w_jl + b_j`; `∂L/∂x = ḡ·W`, `∂L/∂W = ḡᵀ·x`,
    /// `∂L/∂b = Σ_i ḡ_i`. The same values and gradients, bit for bit, as
    /// `self.matmul_t(weight, false, true)?.add(bias)?`, with one node
    /// instead of two.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?);
    /// let w = tape.var(Tensor::from_vec(vec![1.0, 0.0, 3.0, 4.0], &[2, 2])?);
    /// let b = tape.var(Tensor::from_vec(vec![0.5, -1.0], &[2])?);
    /// let y = x.linear(w, Some(b))?;
    /// assert_eq!(y.value().data(), &[1.5, 10.0]); // [1·1 + 2·0, 1·3 + 2·4] + b
    /// let g = y.sum()?.backward()?;
    /// assert_eq!(g.wrt(x).unwrap().data(), &[4.0, 4.0]); // the column sums of W
    /// assert_eq!(g.wrt(w).unwrap().data(), &[1.0, 2.0, 1.0, 2.0]); // x in each row
    /// assert_eq!(g.wrt(b).unwrap().data(), &[1.0, 1.0]);
    /// let err = x.linear(tape.constant(Tensor::zeros(&[2, 3])), None).unwrap_err();
    /// assert!(err.to_string().starts_with("linear: input [1, 2], weight [2, 3]: input has 2 features, weight rows have 3"));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when `self` or
    /// `weight` is not 2-D, their inner extents differ, or the bias is not
    /// `[out]`.
    #[track_caller]
    pub fn linear(self, weight: Var<'t, T>, bias: Option<Var<'t, T>>) -> Result<Self> {
        self.linear_at(Linear { then: None }, weight, bias, Location::caller())
    }

    /// A dense layer and its activation as one operation:
    /// `f(self·weightᵀ + bias)`, for the shapes of [`linear`](Self::linear).
    ///
    /// `a_ij = f(z_ij)`, `z_ij = Σ_l x_il·w_jl + b_j`; the rule forms
    /// `∂L/∂z = ḡ ⊙ f′` from the output (`1[a > 0]`, `a(1 − a)`, `1 − a²`)
    /// and then `linear`'s. The same values and gradients, bit for bit, as
    /// `self.linear(weight, bias)?` followed by `relu`, `sigmoid` or
    /// `tanh`, with one node and one tensor fewer per layer, and
    /// differentiable again.
    ///
    /// ```
    /// use autodiff::{FusedActivation, Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25], &[2, 2])?);
    /// let w = tape.var(Tensor::from_vec(vec![1.0, 2.0, -3.0, 0.5], &[2, 2])?);
    /// let b = tape.var(Tensor::from_vec(vec![0.1, -0.2], &[2])?);
    /// let fused = x.linear_then(w, Some(b), FusedActivation::Tanh)?;
    /// let apart = x.linear(w, Some(b))?.tanh()?;
    /// assert_eq!(fused.value().data(), apart.value().data());
    /// let (gf, ga) = (fused.sum()?.backward()?, apart.sum()?.backward()?);
    /// for v in [x, w, b] {
    ///     assert_eq!(gf.wrt(v)?.data(), ga.wrt(v)?.data());
    /// }
    /// assert_eq!(tape.op_names().iter().filter(|n| *n == "linear_tanh").count(), 1);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`linear`](Self::linear).
    #[track_caller]
    pub fn linear_then(
        self,
        weight: Var<'t, T>,
        bias: Option<Var<'t, T>>,
        activation: FusedActivation,
    ) -> Result<Self> {
        let op = Linear {
            then: Some(activation.op()),
        };
        self.linear_at(op, weight, bias, Location::caller())
    }

    fn linear_at(
        self,
        op: Linear,
        weight: Var<'t, T>,
        bias: Option<Var<'t, T>>,
        location: &'static Location<'static>,
    ) -> Result<Self> {
        match bias {
            Some(b) => self.tape.apply_at(op, &[self, weight, b], location),
            None => self.tape.apply_at(op, &[self, weight], location),
        }
    }
}
