//! Normalisation over axes, composed of recorded operations (so its
//! gradient, through the mean and the variance, comes from the tape and is
//! differentiable again).
//!
//! `x̂ = (x − μ) / √(σ² + ε)` with `μ = mean(x)` and the biased
//! `σ² = mean((x − μ)²)` over the given axes. Its gradient, for an upstream
//! `ḡ` and `N` elements per mean:
//! `∂L/∂x = (1/(N·√(σ² + ε))) · (N·ḡ − Σḡ − x̂·Σ(ḡ ⊙ x̂))`.

use autodiff::{Error, Float, Result, Var};

/// The normalised `x̂`, the mean `μ` and the biased variance `σ²` of `x`
/// over `axes` (negative axes count from the end); `μ` and `σ²` keep the
/// reduced axes as extent 1, so they broadcast against `x`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 3.0, 10.0, 30.0], &[2, 2])?);
/// let (xhat, mean, var) = nn::ops::normalize(x, &[-1], 0.0)?;
/// assert_eq!(mean.value().data(), &[2.0, 20.0]);
/// assert_eq!(var.value().data(), &[1.0, 100.0]);
/// assert_eq!(xhat.value().data(), &[-1.0, 1.0, -1.0, 1.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `eps` is
/// negative or not finite; the axis errors of [`Var::mean_axes`].
#[track_caller]
pub fn normalize<'t, T: Float>(
    x: Var<'t, T>,
    axes: &[isize],
    eps: f64,
) -> Result<(Var<'t, T>, Var<'t, T>, Var<'t, T>)> {
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(
            Error::argument("normalize", format!("eps {eps} must be finite and ≥ 0")).at_caller(),
        );
    }
    let mean = x.mean_axes(axes, true)?;
    let centred = x.sub(mean)?;
    let var = centred.square()?.mean_axes(axes, true)?;
    let xhat = centred.div(var.add_scalar(T::of_f64(eps))?.sqrt()?)?;
    Ok((xhat, mean, var))
}
