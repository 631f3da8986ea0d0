//! Losses, each the mean over the batch.
//!
//! - [`cross_entropy`]: softmax cross-entropy of logits against class labels;
//! - [`cross_entropy_onehot`]: the same against one-hot (or soft) targets;
//! - [`mse`]: mean squared error;
//! - [`bce_with_logits`]: binary cross-entropy of logits against targets in
//!   [0, 1], built here through autodiff's public extension point.

use autodiff::shape::fmt_shape;
use autodiff::smallvec::smallvec;
use autodiff::{BackwardCtx, Error, Float, InputGrads, Op, Result, Tensor, Var};

/// `−(1/N) Σₙ log softmax(zₙ)_{yₙ}` for logits `[N, C]` and labels `< C`;
/// gradient `(softmax(z) − onehot(y)) / N`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let z = tape.var(Tensor::from_vec(vec![0.0, 0.0], &[1, 2])?);
/// let l = nn::loss::cross_entropy(z, &[0])?;
/// assert!((l.value().item()? - 2f64.ln()).abs() < 1e-15);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// Shape and label errors naming `cross_entropy`.
#[track_caller]
pub fn cross_entropy<'t, T: Float>(logits: Var<'t, T>, labels: &[usize]) -> Result<Var<'t, T>> {
    logits.cross_entropy(labels)
}

/// `−(1/N) Σ y ⊙ log softmax(z)` for logits and targets of one shape `[N, C]`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let z = tape.var(Tensor::from_vec(vec![0.0, 0.0], &[1, 2])?);
/// let y = tape.constant(Tensor::from_vec(vec![1.0, 0.0], &[1, 2])?);
/// assert!((nn::loss::cross_entropy_onehot(z, y)?.value().item()? - 2f64.ln()).abs() < 1e-15);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// Shape errors naming `cross_entropy`.
#[track_caller]
pub fn cross_entropy_onehot<'t, T: Float>(
    logits: Var<'t, T>,
    targets: Var<'t, T>,
) -> Result<Var<'t, T>> {
    logits.cross_entropy_probs(targets)
}

/// `(1/n) Σ (pred − target)²` over all elements; shapes must be equal.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let p = tape.var(Tensor::from_vec(vec![1.0, 3.0], &[2])?);
/// let t = tape.constant(Tensor::zeros(&[2]));
/// assert_eq!(nn::loss::mse(p, t)?.value().item()?, 5.0);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// Shape errors naming `mse`.
#[track_caller]
pub fn mse<'t, T: Float>(pred: Var<'t, T>, target: Var<'t, T>) -> Result<Var<'t, T>> {
    pred.mse(target)
}

/// Binary cross-entropy with logits, the mean over all elements of
/// `ℓ(z, y) = −y·ln σ(z) − (1 − y)·ln(1 − σ(z))`, computed stably as
/// `max(z, 0) − z·y + ln(1 + e^{−|z|})`.
///
/// Derivatives: `∂ℓ/∂z = σ(z) − y` (exactly, also at z = 0, which a
/// composition of `relu` and `abs` would get wrong) and `∂ℓ/∂y = −z`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let z = tape.var(Tensor::from_vec(vec![0.0, 1000.0], &[2])?);
/// let y = tape.constant(Tensor::from_vec(vec![1.0, 1.0], &[2])?);
/// let l = nn::loss::bce_with_logits(z, y)?;
/// assert!((l.value().item()? - 2f64.ln() / 2.0).abs() < 1e-15); // finite at z = 1000
/// assert_eq!(l.backward()?.wrt(z)?.data(), &[-0.25, 0.0]);      // (σ(z) − y)/n
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when the shapes differ.
#[track_caller]
pub fn bce_with_logits<'t, T: Float>(
    logits: Var<'t, T>,
    targets: Var<'t, T>,
) -> Result<Var<'t, T>> {
    logits.tape().apply(BceWithLogits, &[logits, targets])
}

/// The fused operation behind [`bce_with_logits`].
struct BceWithLogits;

impl<T: Float> Op<T> for BceWithLogits {
    fn name(&self) -> &str {
        "bce_with_logits"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (z, y) = (x[0], x[1]);
        if z.shape() != y.shape() || z.numel() == 0 {
            return Err(Error::shape(
                "bce_with_logits",
                format!(
                    "logits {} and targets {}: shapes must be equal and non-empty",
                    fmt_shape(z.shape()),
                    fmt_shape(y.shape())
                ),
            ));
        }
        let total: T = z
            .data()
            .iter()
            .zip(y.data())
            .map(|(&z, &y)| z.max(T::zero()) - z * y + (-z.abs()).exp().ln_1p())
            .sum();
        Ok(Tensor::scalar(total / T::of_f64(z.numel() as f64)))
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let (z, y) = (ctx.input(0), ctx.input(1));
        let n = T::of_f64(z.value().numel() as f64);
        let scale = g.div_scalar(n)?;
        let gz = if ctx.needs_grad(0) {
            Some(z.sigmoid()?.sub(y)?.mul(scale)?)
        } else {
            None
        };
        let gy = if ctx.needs_grad(1) {
            Some(z.mul(scale)?.neg()?)
        } else {
            None
        };
        Ok(smallvec![gz, gy])
    }
}

/// The share of rows of `logits` `[N, C]` whose largest entry is at the
/// label. A row holding NaN is never correct.
///
/// ```
/// use autodiff::Tensor;
/// let z = Tensor::from_vec(vec![0.9, 0.1, 0.2, 0.8], &[2, 2])?;
/// assert_eq!(nn::loss::accuracy(&z, &[0, 0])?, 0.5);
/// let nan = Tensor::from_vec(vec![f64::NAN; 4], &[2, 2])?;
/// assert_eq!(nn::loss::accuracy(&nan, &[0, 0])?, 0.0);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when `logits` is not
/// `[N, C]` with `N = labels.len()`.
#[track_caller]
pub fn accuracy<T: Float>(logits: &Tensor<T>, labels: &[usize]) -> Result<f64> {
    let [n, c] = *logits.shape() else {
        return Err(Error::shape(
            "accuracy",
            format!(
                "logits {} must be [batch, classes]",
                fmt_shape(logits.shape())
            ),
        )
        .at_caller());
    };
    if n != labels.len() {
        return Err(Error::shape(
            "accuracy",
            format!(
                "logits {} for {} labels",
                fmt_shape(logits.shape()),
                labels.len()
            ),
        )
        .at_caller());
    }
    if n == 0 {
        return Ok(0.0);
    }
    let correct = labels
        .iter()
        .enumerate()
        .filter(|&(r, &label)| {
            // a row holding NaN predicts nothing: it is never correct
            let row = &logits.data()[r * c..(r + 1) * c];
            !row.iter().any(|v| v.is_nan()) && argmax(row) == label
        })
        .count();
    Ok(correct as f64 / n as f64)
}

/// Checks a training loss: returns it when finite, else an error that names
/// the epoch and the step (both counted from 1) where training diverged, so
/// that a loop stops there instead of going on to write NaN figures or
/// model files.
///
/// ```
/// assert_eq!(nn::loss::check_finite(0.5, 1, 3)?, 0.5);
/// let e = nn::loss::check_finite(f64::NAN, 2, 17).unwrap_err();
/// assert_eq!(e.kind(), autodiff::ErrorKind::Anomaly);
/// assert!(e.to_string().starts_with("training: the loss is NaN at epoch 2, step 17"));
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Anomaly`](autodiff::ErrorKind::Anomaly) when `loss` is NaN
/// or infinite.
#[track_caller]
pub fn check_finite(loss: f64, epoch: usize, step: usize) -> Result<f64> {
    if loss.is_finite() {
        return Ok(loss);
    }
    Err(Error::new(
        autodiff::ErrorKind::Anomaly,
        "training",
        format!(
            "the loss is {loss} at epoch {epoch}, step {step}: training diverged \
             (a smaller learning rate, or anomaly mode to find the operation)"
        ),
    )
    .at(std::panic::Location::caller()))
}

/// The index of the largest entry (the first on ties; NaN entries are never
/// larger than another, so an all-NaN row gives 0 — [`accuracy`] counts a
/// row with NaN as wrong).
pub fn argmax<T: Float>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}
