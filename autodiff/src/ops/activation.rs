//! The activations of the lecture note: Linear (identity), ReLU, Sigmoid, Tanh.

use std::panic::Location;

use smallvec::smallvec;

use crate::activations::{relu, relu_derivative, sigmoid, sigmoid_derivative, tanh_derivative};
use crate::error::Result;
use crate::float::sealed::Sealed;
use crate::float::Float;
use crate::kernels::elementwise;
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
use crate::tape::Var;
use crate::tensor::Tensor;

/// The activations whose derivative is computed from the input or output.
#[derive(Clone, Copy, Debug)]
pub(super) enum Activation {
    /// `relu(z) = max(0, z)`; d/dz = 1[z > 0] — the subgradient at z = 0 is
    /// **0**, as in PyTorch and the lecture note's `diag(1[z > 0])`.
    Relu,
    /// `σ(z) = 1/(1 + e⁻ᶻ)`; d/dz = σ(z)(1 − σ(z)).
    Sigmoid,
    /// `tanh z`; d/dz = 1 − tanh² z.
    Tanh,
}

impl Activation {
    /// `ḡ ⊙ f′` from the output `y = f(z)` alone, in one pass: `1[y > 0]`
    /// for ReLU (`y > 0` exactly where `z > 0`, so the mask is the input's),
    /// `y(1 − y)` for the sigmoid, `1 − y²` for tanh. The same values, bit
    /// for bit, as [`Op::backward_values`] computes from the input or output.
    pub(super) fn grad_from_output<T: Float>(self, g: &Tensor<T>, y: &Tensor<T>) -> Tensor<T> {
        match self {
            Activation::Relu => elementwise::zip_same(g, y, |g, y| g * relu_derivative(y)),
            Activation::Sigmoid => elementwise::zip_same(g, y, |g, y| g * sigmoid_derivative(y)),
            Activation::Tanh => elementwise::zip_same(g, y, |g, y| g * tanh_derivative(y)),
        }
    }

    /// [`grad_from_output`](Self::grad_from_output) as recorded operations
    /// (differentiable again): the formulas of [`Op::backward`], with
    /// ReLU's mask taken from the output.
    pub(super) fn grad_var_from_output<'t, T: Float>(
        self,
        g: Var<'t, T>,
        y: Var<'t, T>,
    ) -> Result<Var<'t, T>> {
        match self {
            Activation::Relu => {
                let mask = y.value().map(relu_derivative);
                g.mul(g.tape().constant(mask))
            }
            Activation::Sigmoid => g.mul(y.mul(y.rsub_scalar(T::one())?)?),
            Activation::Tanh => g.mul(y.square()?.rsub_scalar(T::one())?),
        }
    }
}

impl<T: Float> Op<T> for Activation {
    fn name(&self) -> &str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(match self {
            Activation::Relu => elementwise::map(x[0], relu),
            Activation::Sigmoid => elementwise::map(x[0], sigmoid),
            Activation::Tanh => elementwise::map_slices(x[0], <T as Sealed>::tanh_into),
        })
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let gz = match self {
            Activation::Relu => {
                let mask = ctx.input(0).value().map(relu_derivative);
                g.mul(g.tape().constant(mask))?
            }
            // ḡ ⊙ σ(1 − σ) and ḡ ⊙ (1 − tanh²), with the recorded output
            // (differentiable again)
            Activation::Sigmoid | Activation::Tanh => self.grad_var_from_output(g, ctx.output())?,
        };
        Ok(smallvec![Some(gz)])
    }

    /// The same products fused into one pass each.
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let gz = match self {
            Activation::Relu => {
                elementwise::zip_same(g, ctx.input(0), |g, z| g * relu_derivative(z))
            }
            Activation::Sigmoid | Activation::Tanh => self.grad_from_output(g, ctx.output()),
        };
        Some(Ok(smallvec![Some(gz)]))
    }
}

impl<'t, T: Float> Var<'t, T> {
    /// The identity, the lecture note's "Linear" activation: returns `self`
    /// and records nothing. d/dz = 1.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![-1.0, 2.0], &[2])?);
    /// let y = x.identity()?;
    /// assert_eq!(y.value().data(), &[-1.0, 2.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn identity(self) -> Result<Self> {
        Ok(self)
    }

    /// `max(0, z)` element-wise. d/dz = `1[z > 0]` (0 at z = 0).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::from_vec(vec![-1.0, 0.0, 2.0], &[3])?);
    /// let a = z.relu()?;
    /// assert_eq!(a.value().data(), &[0.0, 0.0, 2.0]);
    /// assert_eq!(a.sum()?.backward()?.wrt(z)?.data(), &[0.0, 0.0, 1.0]); // 0 at z = 0
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn relu(self) -> Result<Self> {
        self.tape
            .apply_at(Activation::Relu, &[self], Location::caller())
    }

    /// `σ(z) = 1/(1 + e⁻ᶻ)` element-wise. d/dz = σ(z)(1 − σ(z)).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::scalar(0.0));
    /// let a = z.sigmoid()?;
    /// assert_eq!(a.value().item()?, 0.5);
    /// assert_eq!(a.backward()?.wrt(z)?.item()?, 0.25); // σ(0)(1 − σ(0))
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn sigmoid(self) -> Result<Self> {
        self.tape
            .apply_at(Activation::Sigmoid, &[self], Location::caller())
    }

    /// `tanh z` element-wise. d/dz = 1 − tanh² z.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::scalar(0.0));
    /// let a = z.tanh()?;
    /// assert_eq!(a.backward()?.wrt(z)?.item()?, 1.0); // 1 − tanh² 0
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn tanh(self) -> Result<Self> {
        self.tape
            .apply_at(Activation::Tanh, &[self], Location::caller())
    }
}
