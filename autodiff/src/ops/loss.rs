//! Losses: softmax cross-entropy from logits, and mean squared error.
//!
//! Cross-entropy is fused with log-softmax. For logits `z` (one row per
//! sample, `N` rows) and targets `y`:
//! `L = −(1/N) Σₙ Σ_c y_{nc} · log_softmax(zₙ)_c`, and
//! `∂L/∂zₙ = (ŷₙ · Σ_c y_{nc} − yₙ) / N`, which is the lecture note's
//! `δ₂ = ŷ − y` (divided by the batch) whenever each target row sums to 1.
//! Both are computed max-shifted, so logits of ±1000 give finite values.

use std::cell::Cell;
use std::panic::Location;

use smallvec::smallvec;

use crate::error::{Error, ErrorKind, Result};
use crate::float::Float;
use crate::kernels::reduce;
use crate::shape::fmt_shape;
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
use crate::tape::Var;
use crate::tensor::Tensor;

/// Fused softmax cross-entropy; the targets are integer labels (stored here)
/// or a second input holding probabilities (one-hot or soft).
struct CrossEntropy<T: Float> {
    labels: Option<Vec<usize>>,
    /// With labels: `softmax(z)` from the forward pass, taken (once) by the
    /// plain backward, which turns it into the gradient in place.
    probs: Cell<Option<Tensor<T>>>,
}

impl<T: Float> CrossEntropy<T> {
    fn check(&self, x: &[&Tensor<T>]) -> Result<(usize, usize)> {
        let z = x[0];
        let (n, c) = match *z.shape() {
            [c] => (1, c),
            [n, c] => (n, c),
            _ => {
                return Err(Error::shape(
                    "cross_entropy",
                    format!(
                        "logits of shape {}: expected [classes] or [batch, classes]",
                        fmt_shape(z.shape())
                    ),
                ))
            }
        };
        if n == 0 || c == 0 {
            return Err(Error::shape(
                "cross_entropy",
                format!("logits of shape {} are empty", fmt_shape(z.shape())),
            ));
        }
        match &self.labels {
            Some(labels) => {
                if labels.len() != n {
                    return Err(Error::shape(
                        "cross_entropy",
                        format!(
                            "logits {} need {n} labels, got {}",
                            fmt_shape(z.shape()),
                            labels.len()
                        ),
                    ));
                }
                if let Some((row, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= c) {
                    return Err(Error::new(
                        ErrorKind::Label,
                        "cross_entropy",
                        format!("label {l} at row {row} is out of range for {c} classes"),
                    ));
                }
            }
            None => {
                if x[1].shape() != z.shape() {
                    return Err(Error::shape(
                        "cross_entropy",
                        format!(
                            "logits {} and targets {}: shapes differ",
                            fmt_shape(z.shape()),
                            fmt_shape(x[1].shape())
                        ),
                    ));
                }
            }
        }
        Ok((n, c))
    }
}

impl<T: Float> Op<T> for CrossEntropy<T> {
    fn name(&self) -> &str {
        "cross_entropy"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (n, _) = self.check(x)?;
        let total = match &self.labels {
            Some(labels) => {
                let (probs, nll) = reduce::softmax_rows_with_nll(x[0], labels);
                self.probs.set(Some(probs));
                nll
            }
            None => {
                let lsm = reduce::softmax_axis(x[0], x[0].rank() - 1, true);
                let mut total = T::zero();
                for (&y, &l) in x[1].data().iter().zip(lsm.data()) {
                    if y != T::zero() {
                        total -= y * l;
                    }
                }
                total
            }
        };
        Ok(Tensor::scalar(total / T::of_f64(n as f64)))
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let z = ctx.input(0);
        let shape = z.shape();
        let n = if shape.len() == 2 { shape[0] } else { 1 };
        let scale = g.div_scalar(T::of_f64(n as f64))?; // ḡ / N
        let tape = g.tape();
        let (target, row_mass) = match &self.labels {
            Some(labels) => {
                let c = shape[shape.len() - 1];
                let mut onehot = vec![T::zero(); n * c];
                for (row, &l) in labels.iter().enumerate() {
                    onehot[row * c + l] = T::one();
                }
                (
                    tape.constant(Tensor::from_parts(onehot, shape.clone())),
                    None,
                )
            }
            None => {
                let y = ctx.input(1);
                (y, Some(y.sum_axes(&[-1], true)?))
            }
        };
        let gz = if ctx.needs_grad(0) {
            let p = z.softmax(-1)?;
            let p = match row_mass {
                Some(mass) => p.mul(mass)?,
                None => p,
            };
            Some(p.sub(target)?.mul(scale)?)
        } else {
            None
        };
        if self.labels.is_some() {
            return Ok(smallvec![gz]);
        }
        let gy = if ctx.needs_grad(1) {
            Some(z.log_softmax(-1)?.mul(scale)?.neg()?)
        } else {
            None
        };
        Ok(smallvec![gz, gy])
    }

    /// With integer labels: `(softmax(z) − onehot) · ḡ/N` in place in the
    /// softmax's buffer. Targets as probabilities use [`Op::backward`].
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let labels = self.labels.as_ref()?;
        if !ctx.needs_grad(0) {
            return Some(Ok(smallvec![None]));
        }
        let z = ctx.input(0);
        let (n, c) = match *z.shape() {
            [n, c] => (n, c),
            [c] => (1, c),
            _ => return None,
        };
        let scale = g.data()[0] / T::of_f64(n as f64);
        // the forward's probabilities, unless an earlier sweep took them
        let mut p = self
            .probs
            .take()
            .unwrap_or_else(|| reduce::softmax_axis(z, z.rank() - 1, false));
        let d = p.data_mut();
        for (row, &l) in labels.iter().enumerate() {
            d[row * c + l] -= T::one();
        }
        for v in d.iter_mut() {
            *v *= scale;
        }
        Some(Ok(smallvec![Some(p)]))
    }
}

impl<'t, T: Float> Var<'t, T> {
    /// Mean softmax cross-entropy of logits `[N, C]` (or `[C]`) against
    /// integer class labels: `−(1/N) Σₙ log softmax(zₙ)_{labelₙ}`.
    /// Gradient `(softmax(z) − onehot(labels)) / N`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::from_vec(vec![1000.0, -1000.0], &[1, 2])?);
    /// let loss = z.cross_entropy(&[1])?;
    /// assert_eq!(loss.value().item()?, 2000.0); // finite, exact
    /// assert_eq!(loss.backward()?.wrt(z)?.data(), &[1.0, -1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`] for logits that are not `[C]` or `[N, C]`, or a
    /// label count other than `N`; [`ErrorKind::Label`] for a label `≥ C`.
    #[track_caller]
    pub fn cross_entropy(self, labels: &[usize]) -> Result<Self> {
        let op = CrossEntropy {
            labels: Some(labels.to_vec()),
            probs: Cell::new(None),
        };
        self.tape.apply_at(op, &[self], Location::caller())
    }

    /// Mean softmax cross-entropy of logits against target probabilities of
    /// the same shape (one-hot or soft): `−(1/N) Σ y ⊙ log softmax(z)`.
    /// Gradients `(softmax(z)·Σ_c y − y) / N` for the logits and
    /// `−log softmax(z) / N` for the targets.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::from_vec(vec![0.0, 0.0], &[1, 2])?);
    /// let y = tape.constant(Tensor::from_vec(vec![0.0, 1.0], &[1, 2])?); // one-hot
    /// let loss = z.cross_entropy_probs(y)?;
    /// assert!((loss.value().item()? - 2f64.ln()).abs() < 1e-15);
    /// assert_eq!(loss.backward()?.wrt(z)?.data(), &[0.5, -0.5]); // ŷ − y
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`] when the shapes differ or are not `[C]`/`[N, C]`.
    #[track_caller]
    pub fn cross_entropy_probs(self, targets: Var<'t, T>) -> Result<Self> {
        let op = CrossEntropy {
            labels: None,
            probs: Cell::new(None),
        };
        self.tape.apply_at(op, &[self, targets], Location::caller())
    }

    /// Mean squared error `(1/n) Σ (pred − target)²` over all elements;
    /// gradient `2(pred − target)/n`. The shapes must be equal (no
    /// broadcasting, which would silently compare the wrong elements).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let p = tape.var(Tensor::from_vec(vec![1.0, 3.0], &[2])?);
    /// let t = tape.constant(Tensor::from_vec(vec![0.0, 0.0], &[2])?);
    /// let loss = p.mse(t)?;
    /// assert_eq!(loss.value().item()?, 5.0);                 // (1 + 9) / 2
    /// assert_eq!(loss.backward()?.wrt(p)?.data(), &[1.0, 3.0]); // 2(p − t)/n
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`] when the shapes differ.
    #[track_caller]
    pub fn mse(self, target: Var<'t, T>) -> Result<Self> {
        let (a, b) = (self.shape(), target.shape());
        if a != b {
            return Err(Error::shape(
                "mse",
                format!(
                    "prediction {} and target {}: shapes differ",
                    fmt_shape(&a),
                    fmt_shape(&b)
                ),
            )
            .at(Location::caller()));
        }
        self.sub(target)?.square()?.mean()
    }
}
