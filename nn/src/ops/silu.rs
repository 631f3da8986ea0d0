//! SiLU (swish), `y = x·σ(x)`: an activation that autodiff does not have,
//! added through its public [`Op`] trait — the way a user adds their own.
//!
//! Its derivative, with `s = σ(x)`:
//! `dy/dx = s + x·s·(1 − s) = s + y·(1 − s)`.
//!
//! The `Var` rule writes that with recorded operations (so second
//! derivatives flow through it); the rule on tensors computes it in one
//! pass, with nothing recorded.

use autodiff::smallvec::smallvec;
use autodiff::{BackwardCtx, Float, InputGrads, Op, Result, Tensor, ValueGrads, ValuesCtx, Var};

/// `x·σ(x)` element-wise (PyTorch's `nn.SiLU`). d/dx = σ(x) + y·(1 − σ(x)).
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![0.0, 2.0], &[2])?);
/// let y = nn::ops::silu(x)?;
/// let s = 1.0 / (1.0 + (-2.0f64).exp());
/// assert_eq!(y.value().data(), &[0.0, 2.0 * s]);
/// let g = y.sum()?.backward()?;
/// assert_eq!(g.wrt(x)?.data(), &[0.5, s + 2.0 * s * (1.0 - s)]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// None in practice (any shape); the `Result` is the tape's.
#[track_caller]
pub fn silu<'t, T: Float>(x: Var<'t, T>) -> Result<Var<'t, T>> {
    x.tape().apply(Silu, &[x])
}

/// The scalar pair `(y, dy/dx)` of SiLU at `x`.
///
/// ```
/// assert_eq!(nn::ops::silu_eval(0.0f64), (0.0, 0.5));
/// ```
pub fn silu_eval<T: Float>(x: T) -> (T, T) {
    let s = autodiff::activations::sigmoid(x);
    let y = x * s;
    (y, s + y * (T::one() - s))
}

struct Silu;

impl<T: Float> Op<T> for Silu {
    fn name(&self) -> &str {
        "silu"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].map(|v| silu_eval(v).0))
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let (x, y) = (ctx.input(0), ctx.output());
        let s = x.sigmoid()?;
        // ḡ · (s + y·(1 − s))
        let slope = s.add(y.mul(s.rsub_scalar(T::one())?)?)?;
        Ok(smallvec![Some(g.mul(slope)?)])
    }

    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        Some(
            g.zip_map(ctx.input(0), |g, x| g * silu_eval(x).1)
                .map(|d| smallvec![Some(d)]),
        )
    }
}
