//! Softmax and log-softmax along an axis, max-shifted so that no
//! exponential overflows.
//!
//! `ŷ = softmax(z)`, `ŷⱼ = e^{zⱼ} / Σₖ e^{zₖ}`, has the Jacobian
//! `∂ŷ/∂z = diag(ŷ) − ŷŷᵀ` (entry (j, k) = ŷⱼ(δⱼₖ − ŷₖ)), so the
//! vector-Jacobian product is `ŷ ⊙ (ḡ − Σₖ ḡₖŷₖ)`.
//! `log_softmax(z) = z − ln Σₖ e^{zₖ}` has the VJP `ḡ − ŷ·Σₖ ḡₖ`.

use std::panic::Location;

use smallvec::smallvec;

use crate::error::Result;
use crate::float::Float;
use crate::kernels::reduce;
use crate::shape::normalize_axis;
use crate::tape::op::{BackwardCtx, InputGrads, Op};
use crate::tape::Var;
use crate::tensor::Tensor;

struct Softmax {
    axis: isize,
    log: bool,
}

impl<T: Float> Op<T> for Softmax {
    fn name(&self) -> &str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let axis = normalize_axis(Op::<T>::name(self), self.axis, x[0].shape())?;
        self.axis = axis as isize;
        Ok(reduce::softmax_axis(x[0], axis, self.log))
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let y = ctx.output();
        let gz = if self.log {
            // ḡ − softmax(z) · Σ ḡ, with softmax(z) = exp(log_softmax(z))
            let total = g.sum_axes(&[self.axis], true)?;
            g.sub(y.exp()?.mul(total)?)?
        } else {
            // ŷ ⊙ (ḡ − Σ ḡ ⊙ ŷ)
            let dot = g.mul(y)?.sum_axes(&[self.axis], true)?;
            y.mul(g.sub(dot)?)?
        };
        Ok(smallvec![Some(gz)])
    }
}

impl<'t, T: Float> Var<'t, T> {
    /// Softmax along `axis` (−1 for the last): `e^{zⱼ} / Σₖ e^{zₖ}`, computed
    /// as `e^{zⱼ − max z} / Σₖ e^{zₖ − max z}`. Jacobian `diag(ŷ) − ŷŷᵀ`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::from_vec(vec![1000.0, 1000.0], &[2])?);
    /// assert_eq!(z.softmax(-1)?.value().data(), &[0.5, 0.5]); // no overflow
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) for an axis out of range.
    #[track_caller]
    pub fn softmax(self, axis: isize) -> Result<Self> {
        let op = Softmax { axis, log: false };
        self.tape.apply_at(op, &[self], Location::caller())
    }

    /// Log-softmax along `axis`: `zⱼ − max z − ln Σₖ e^{zₖ − max z}`.
    /// VJP `ḡ − softmax(z)·Σ ḡ`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::from_vec(vec![0.0, 0.0], &[2])?);
    /// let l = z.log_softmax(-1)?;
    /// assert_eq!(l.value().data(), &[-(2f64.ln()), -(2f64.ln())]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) for an axis out of range.
    #[track_caller]
    pub fn log_softmax(self, axis: isize) -> Result<Self> {
        let op = Softmax { axis, log: true };
        self.tape.apply_at(op, &[self], Location::caller())
    }
}
