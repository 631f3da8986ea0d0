//! `gradcheck`, which compares the tape's gradients with central finite
//! differences.

use crate::error::{Error, ErrorKind, Result};
use crate::float::Float;
use crate::shape::{fmt_shape, numel, strides};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Settings of [`gradcheck`].
#[derive(Clone, Debug)]
pub struct GradcheckOptions {
    /// The finite-difference step `h` in `(f(x + h) − f(x − h)) / 2h`.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance: an element passes when
    /// `|analytic − numeric| ≤ atol + rtol·|numeric|`.
    pub rtol: f64,
    /// Seed of the random weights that reduce a non-scalar output to a scalar.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    /// `eps = 1e-6`, `atol = 1e-7`, `rtol = 1e-5`: tight for smooth
    /// functions in f64, whose central differences err by `O(h²)` plus
    /// rounding `O(ε/h)` ≈ 1e-10.
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-7,
            rtol: 1e-5,
            seed: 0,
        }
    }
}

impl GradcheckOptions {
    /// Settings suited to `f32`: `eps = 1e-2`, `atol = 2e-3`, `rtol = 1e-2`.
    /// With f32's ε ≈ 1.2e-7 the rounding error of a central difference is
    /// about `ε·|L|/h`, and the truncation error `h²·|L‴|/6`; a step of
    /// 1e-2 keeps both near 1e-5 relative for values of order 1.
    ///
    /// ```
    /// use autodiff::{gradcheck, GradcheckOptions, Tensor};
    /// let x = Tensor::<f32>::rand_uniform(&[3], -1.0, 1.0, 2);
    /// gradcheck(|_, v| v[0].tanh()?.sum(), &[x], &GradcheckOptions::f32())?;
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn f32() -> Self {
        GradcheckOptions {
            eps: 1e-2,
            atol: 2e-3,
            rtol: 1e-2,
            seed: 0,
        }
    }
}

/// The element where analytic and numeric gradients were furthest apart.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckWorst {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// The multi-index of the element within that input.
    pub index: Vec<usize>,
    /// The tape's gradient.
    pub analytic: f64,
    /// The central finite difference.
    pub numeric: f64,
    /// `|analytic − numeric|`.
    pub error: f64,
}

/// What a passing [`gradcheck`] measured.
#[derive(Clone, Debug)]
pub struct GradcheckReport {
    /// How many input elements were perturbed.
    pub elements: usize,
    /// The element with the largest error relative to its tolerance
    /// (`None` when the inputs were empty).
    pub worst: Option<GradcheckWorst>,
}

/// Checks the tape's gradients of `f` against central finite differences,
/// in `f64` ([`GradcheckOptions::default`]) or `f32`
/// ([`GradcheckOptions::f32`]).
///
/// `f` gets one tracked [`Var`] per tensor in `inputs`. A non-scalar output
/// `y` is reduced to `L = Σ r ⊙ y` with fixed random weights `r`, so every
/// output element takes part. For every input element, the analytic `∂L/∂x`
/// from one reverse sweep is compared with `(L(x + h) − L(x − h)) / 2h`.
///
/// ```
/// use autodiff::{gradcheck, GradcheckOptions, Tensor};
/// let x = Tensor::rand_uniform(&[3, 4], -1.0, 1.0, 1);
/// let report = gradcheck(|_, v| v[0].tanh()?.sum(), &[x], &GradcheckOptions::default())?;
/// assert_eq!(report.elements, 12);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::GradCheck`] naming the worst element (input, index,
/// analytic, numeric, error) when any element is out of tolerance; any error
/// `f` returns.
#[track_caller]
pub fn gradcheck<T, F>(
    f: F,
    inputs: &[Tensor<T>],
    options: &GradcheckOptions,
) -> Result<GradcheckReport>
where
    T: Float,
    F: for<'t> Fn(&'t Tape<T>, &[Var<'t, T>]) -> Result<Var<'t, T>>,
{
    // the analytic gradient, and the output shape for the weights r
    let tape = Tape::new();
    let vars: Vec<_> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    let y = f(&tape, &vars)?;
    let out_shape = y.shape();
    let weights = if numel(&out_shape) == 1 {
        Tensor::ones(&out_shape)
    } else {
        // weights in [0.5, 1.5): no element is ignored or cancelled
        Tensor::rand_uniform(&out_shape, T::of_f64(0.5), T::of_f64(1.5), options.seed)
    };
    let grads = y.vjp(&weights)?;
    let analytic: Vec<Tensor<T>> = vars.iter().map(|&v| grads.wrt(v)).collect::<Result<_>>()?;

    // L(x) = Σ r ⊙ f(x); the inputs are tracked here too, so that an `f`
    // that itself takes gradients (x ↦ ∇g(x)) evaluates the same function
    // (summed in f64 whatever T is, so that only f's own rounding counts)
    let loss = |xs: &[Tensor<T>]| -> Result<f64> {
        let tape = Tape::new();
        let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
        let out = f(&tape, &vars)?.value();
        if out.shape() != out_shape.as_slice() {
            return Err(Error::new(
                ErrorKind::GradCheck,
                "gradcheck",
                format!(
                    "the output shape changed from {} to {} under perturbation",
                    fmt_shape(&out_shape),
                    fmt_shape(out.shape())
                ),
            )
            .at_caller());
        }
        Ok(out
            .data()
            .iter()
            .zip(weights.data())
            .map(|(a, b)| a.as_f64() * b.as_f64())
            .sum())
    };

    let mut xs: Vec<Tensor<T>> = inputs.to_vec();
    let mut worst: Option<(f64, GradcheckWorst)> = None;
    let mut elements = 0;
    for k in 0..xs.len() {
        let in_strides = strides(xs[k].shape());
        for e in 0..xs[k].numel() {
            let original = xs[k].data()[e];
            // the points actually evaluated, rounded to T: their distance,
            // not 2·eps, is the denominator of the difference quotient
            let up = T::of_f64(original.as_f64() + options.eps);
            let down = T::of_f64(original.as_f64() - options.eps);
            xs[k].data_mut()[e] = up;
            let plus = loss(&xs)?;
            xs[k].data_mut()[e] = down;
            let minus = loss(&xs)?;
            xs[k].data_mut()[e] = original;
            let numeric = (plus - minus) / (up.as_f64() - down.as_f64());
            let a = analytic[k].data()[e].as_f64();
            let error = (a - numeric).abs();
            let ratio = error / (options.atol + options.rtol * numeric.abs());
            let ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
            elements += 1;
            if worst.as_ref().is_none_or(|(r, _)| ratio > *r) {
                let index = in_strides.iter().scan(e, |rest, &s| {
                    let i = *rest / s;
                    *rest %= s;
                    Some(i)
                });
                worst = Some((
                    ratio,
                    GradcheckWorst {
                        input: k,
                        index: index.collect(),
                        analytic: a,
                        numeric,
                        error,
                    },
                ));
            }
        }
    }
    if let Some((ratio, w)) = &worst {
        if *ratio > 1.0 {
            return Err(Error::new(
                ErrorKind::GradCheck,
                "gradcheck",
                format!(
                    "input {} element {:?}: analytic {:e}, numeric {:e}, error {:e} exceeds atol {:e} + rtol {:e}·|numeric| ({} elements checked)",
                    w.input, w.index, w.analytic, w.numeric, w.error, options.atol, options.rtol, elements
                ),
            )
.at_caller());
        }
    }
    Ok(GradcheckReport {
        elements,
        worst: worst.map(|(_, w)| w),
    })
}
