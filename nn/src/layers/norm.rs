//! Normalisation layers: [`BatchNorm1d`], [`BatchNorm2d`] and
//! [`LayerNorm`], with PyTorch's names, defaults and semantics.
//!
//! Batch normalisation of channel `c` over the batch (and positions):
//! `y = γ_c · (x − μ_c)/√(σ²_c + ε) + β_c`. In a training session μ and σ²
//! are the batch's mean and biased variance (the gradient flows through
//! them), and the running statistics move towards them:
//! `running_mean ← (1 − m)·running_mean + m·μ`,
//! `running_var ← (1 − m)·running_var + m·σ²·N/(N − 1)` (the unbiased
//! variance of the N values per channel). In an evaluation session the
//! running statistics take their place and nothing is updated.
//!
//! Running statistics are buffers ([`Module::visit_buffers`]): saved and
//! loaded with the model as `running_mean` and `running_var`, never
//! trained. They are updated by each forward pass of a training session,
//! so with [`grads_in_chunks`](crate::chunked::grads_in_chunks) each chunk
//! is a batch of its own; train BatchNorm models with the whole batch in
//! one sweep where the statistics should be the batch's.

use std::sync::Mutex;

use autodiff::shape::fmt_shape;
use autodiff::{Error, Float, Result, Tensor, Var};

use crate::module::{join, visit_affine, Module};
use crate::ops::normalize;
use crate::param::Param;
use crate::session::Session;

/// The running statistics of a batch normalisation.
#[derive(Clone, Debug)]
struct Running<T: Float> {
    mean: Tensor<T>,
    var: Tensor<T>,
}

/// What BatchNorm1d and BatchNorm2d share: the parameters, the settings
/// and the running statistics.
#[derive(Debug)]
struct BatchNorm<T: Float> {
    weight: Option<Param<T>>,
    bias: Option<Param<T>>,
    eps: f64,
    momentum: f64,
    running: Mutex<Running<T>>,
}

impl<T: Float> Clone for BatchNorm<T> {
    fn clone(&self) -> Self {
        BatchNorm {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            eps: self.eps,
            momentum: self.momentum,
            running: Mutex::new(self.running_stats()),
        }
    }
}

impl<T: Float> BatchNorm<T> {
    #[track_caller]
    fn new(op: &str, channels: usize, eps: f64, momentum: f64, affine: bool) -> Result<Self> {
        if channels == 0 || !(eps.is_finite() && eps > 0.0) || !(0.0..=1.0).contains(&momentum) {
            return Err(Error::argument(
                op,
                format!(
                    "channels {channels}, eps {eps}, momentum {momentum}: need at least one channel, \
                     a finite eps > 0 and a momentum in [0, 1]"
                ),
            )
            .at_caller());
        }
        let (weight, bias) = if affine {
            (
                Some(Param::new(Tensor::ones(&[channels]))),
                Some(Param::new(Tensor::zeros(&[channels]))),
            )
        } else {
            (None, None)
        };
        Ok(BatchNorm {
            weight,
            bias,
            eps,
            momentum,
            running: Mutex::new(Running {
                mean: Tensor::zeros(&[channels]),
                var: Tensor::ones(&[channels]),
            }),
        })
    }

    fn running_stats(&self) -> Running<T> {
        // a panic while the lock was held cannot leave the statistics half
        // written (they are replaced whole): the data is still good
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn channels(&self) -> usize {
        self.running_stats().mean.numel()
    }

    /// Normalises `x` of an accepted rank (checked by the caller) over
    /// every axis but 1.
    #[track_caller]
    fn forward<'t>(&self, op: &str, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        let at = std::panic::Location::caller();
        let shape = x.shape();
        let c = self.channels();
        if shape[1] != c {
            return Err(Error::shape(
                op,
                format!(
                    "input {} has {} channels on axis 1, the layer {c}",
                    fmt_shape(&shape),
                    shape[1]
                ),
            )
            .at(at));
        }
        let axes: Vec<isize> = (0..shape.len() as isize).filter(|&a| a != 1).collect();
        let mut channel_shape = vec![1; shape.len()];
        channel_shape[1] = c;
        let per_channel = shape.iter().product::<usize>() / c;
        let y = if s.is_training() {
            if per_channel < 2 {
                return Err(Error::shape(
                    op,
                    format!(
                        "input {}: training needs more than one value per channel for a variance",
                        fmt_shape(&shape)
                    ),
                )
                .at(at));
            }
            let (xhat, mean, var) = normalize(x, &axes, self.eps).map_err(|e| e.at(at))?;
            let m = T::of_f64(self.momentum);
            let unbiased = T::of_f64(per_channel as f64 / (per_channel - 1) as f64);
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            let update = |old: &Tensor<T>, batch: &Tensor<T>, scale: T| {
                let data = old
                    .data()
                    .iter()
                    .zip(batch.data())
                    .map(|(&o, &b)| (T::one() - m) * o + m * b * scale)
                    .collect();
                Tensor::from_vec(data, &[c])
            };
            running.mean = update(&running.mean, &mean.value(), T::one())?;
            running.var = update(&running.var, &var.value(), unbiased)?;
            xhat
        } else {
            let running = self.running_stats();
            let tape = s.tape();
            let mean = tape.constant(running.mean.reshape(&channel_shape)?);
            let scale = running
                .var
                .data()
                .iter()
                .map(|&v| T::one() / (v + T::of_f64(self.eps)).sqrt())
                .collect();
            let scale = tape.constant(Tensor::from_vec(scale, &channel_shape)?);
            x.sub(mean)?.mul(scale)?
        };
        let y = match &self.weight {
            Some(w) => y.mul(s.param(w).reshape(&channel_shape)?)?,
            None => y,
        };
        match &self.bias {
            Some(b) => y.add(s.param(b).reshape(&channel_shape)?),
            None => Ok(y),
        }
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
        let running = self.running_stats();
        f(&join(prefix, "running_mean"), &running.mean);
        f(&join(prefix, "running_var"), &running.var);
    }

    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
        let running = self
            .running
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&join(prefix, "running_mean"), &mut running.mean);
        f(&join(prefix, "running_var"), &mut running.var);
    }
}

macro_rules! batch_norm_layer {
    ($name:ident, $op:literal, $ranks:expr, $shape_text:literal, $doc_example:literal) => {
        #[doc = concat!("PyTorch's `", stringify!($name), "`: batch normalisation of input ", $shape_text, " per channel (axis 1), with a learnt scale `weight` (γ, ones) and shift `bias` (β, zeros) when affine.")]
        ///
        /// `y = γ_c · (x − μ_c)/√(σ²_c + ε) + β_c`. In a training session μ
        /// and σ² are the batch's mean and biased variance (the gradient
        /// flows through them) and the running statistics move towards
        /// them: `running_mean ← (1 − m)·running_mean + m·μ`,
        /// `running_var ← (1 − m)·running_var + m·σ²·N/(N − 1)` (N values
        /// per channel). In an evaluation session the running statistics
        /// take their place and nothing is updated. They are buffers
        /// ([`Module::visit_buffers`]), saved and loaded with the model as
        /// `running_mean` and `running_var`. Each forward pass of a training
        /// session updates them, so with
        /// [`grads_in_chunks`](crate::chunked::grads_in_chunks) every chunk
        /// is a batch of its own: train in whole-batch sweeps where the
        /// statistics should be the batch's.
        ///
        #[doc = $doc_example]
        #[derive(Clone, Debug)]
        pub struct $name<T: Float>(BatchNorm<T>);

        impl<T: Float> $name<T> {
            /// A layer over `channels` with PyTorch's defaults: eps 1e-5,
            /// momentum 0.1, affine.
            ///
            /// # Errors
            /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for 0
            /// channels.
            #[track_caller]
            pub fn new(channels: usize) -> Result<Self> {
                Self::with_options(channels, 1e-5, 0.1, true)
            }

            /// A layer with its own `eps`, `momentum` (the weight of the new
            /// batch in the running statistics) and `affine` (learnt γ, β).
            ///
            /// # Errors
            /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for 0
            /// channels, an `eps` that is not finite and positive, or a
            /// momentum outside [0, 1].
            #[track_caller]
            pub fn with_options(channels: usize, eps: f64, momentum: f64, affine: bool) -> Result<Self> {
                Ok($name(BatchNorm::new($op, channels, eps, momentum, affine)?))
            }

            /// The running mean and variance, per channel.
            pub fn running_stats(&self) -> (Tensor<T>, Tensor<T>) {
                let r = self.0.running_stats();
                (r.mean, r.var)
            }
        }

        impl<T: Float> Module<T> for $name<T> {
            #[track_caller]
            fn forward<'t>(&self, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
                let shape = x.shape();
                if !$ranks.contains(&shape.len()) {
                    return Err(Error::shape(
                        $op,
                        format!("input {} must be {}", fmt_shape(&shape), $shape_text),
                    )
                    .at_caller());
                }
                self.0.forward($op, s, x)
            }

            fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
                visit_affine(prefix, self.0.weight.as_ref(), self.0.bias.as_ref(), f);
            }

            fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<T>)) {
                visit_affine(prefix, self.0.weight.as_mut(), self.0.bias.as_mut(), f);
            }

            fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
                self.0.visit_buffers(prefix, f);
            }

            fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
                self.0.visit_buffers_mut(prefix, f);
            }
        }
    };
}

batch_norm_layer!(
    BatchNorm1d,
    "BatchNorm1d",
    [2, 3],
    "[n, c] or [n, c, l]",
    "```
use autodiff::{Tape, Tensor};
use nn::{BatchNorm1d, Module, Session};
let bn = BatchNorm1d::<f64>::new(2)?;
let tape = Tape::new();
let s = Session::train(&tape);
let x = s.input(Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2])?);
let y = bn.forward(&s, x)?; // each column to mean 0, variance 1 (less ε)
assert!((y.value().data()[0] + 1.0).abs() < 1e-5 && (y.value().data()[3] - 1.0).abs() < 1e-5);
let (mean, var) = bn.running_stats(); // moved 0.1 of the way to the batch's
assert_eq!(mean.data(), &[0.2, 2.0]);
assert!((var.data()[0] - (0.9 + 0.1 * 2.0)).abs() < 1e-12); // unbiased variance 2
# Ok::<(), autodiff::Error>(())
```"
);

batch_norm_layer!(
    BatchNorm2d,
    "BatchNorm2d",
    [4],
    "[n, c, h, w]",
    "```
use autodiff::{Tape, Tensor};
use nn::{BatchNorm2d, Module, Session};
let bn = BatchNorm2d::<f32>::new(3)?;
let tape = Tape::new();
let s = Session::eval(&tape); // evaluation: running statistics (0 and 1 at first)
let x = s.input(Tensor::ones(&[2, 3, 4, 4]));
let y = bn.forward(&s, x)?;
assert!((y.value().data()[0] - 1.0 / (1.0f32 + 1e-5).sqrt()).abs() < 1e-6);
assert_eq!(bn.param_names(), [\"weight\", \"bias\"]);
# Ok::<(), autodiff::Error>(())
```"
);

/// PyTorch's `LayerNorm`: normalises each sample over its last axes
/// (`normalized_shape`), `y = γ ⊙ (x − μ)/√(σ² + ε) + β` with μ and the
/// biased σ² of those axes and γ (ones), β (zeros) of `normalized_shape`.
/// The same in training and evaluation.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{LayerNorm, Module, Session};
/// let ln = LayerNorm::<f64>::new(&[4])?;
/// let tape = Tape::new();
/// let s = Session::train(&tape);
/// let y = ln.forward(&s, s.input(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4])?))?;
/// let sd = (1.25f64 + 1e-5).sqrt(); // the biased variance of 1..4 is 1.25
/// assert!((y.value().data()[0] + 1.5 / sd).abs() < 1e-12);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LayerNorm<T: Float> {
    /// γ, of `normalized_shape`, if affine.
    pub weight: Option<Param<T>>,
    /// β, of `normalized_shape`, if affine.
    pub bias: Option<Param<T>>,
    /// The trailing extents normalised over.
    pub normalized_shape: Vec<usize>,
    /// Added to the variance.
    pub eps: f64,
}

impl<T: Float> LayerNorm<T> {
    /// Over the trailing axes `normalized_shape`, eps 1e-5, affine.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for an empty
    /// shape or an extent of 0.
    #[track_caller]
    pub fn new(normalized_shape: &[usize]) -> Result<Self> {
        Self::with_options(normalized_shape, 1e-5, true)
    }

    /// With its own `eps` and `affine`.
    ///
    /// # Errors
    /// As [`new`](Self::new), and for an `eps` that is not finite and
    /// positive.
    #[track_caller]
    pub fn with_options(normalized_shape: &[usize], eps: f64, affine: bool) -> Result<Self> {
        if normalized_shape.is_empty()
            || normalized_shape.contains(&0)
            || !(eps.is_finite() && eps > 0.0)
        {
            return Err(Error::argument(
                "LayerNorm",
                format!(
                    "normalized shape {normalized_shape:?} and eps {eps}: need extents of at least 1 and a finite eps > 0"
                ),
            )
            .at_caller());
        }
        let params = |t: Tensor<T>| affine.then(|| Param::new(t));
        Ok(LayerNorm {
            weight: params(Tensor::ones(normalized_shape)),
            bias: params(Tensor::zeros(normalized_shape)),
            normalized_shape: normalized_shape.to_vec(),
            eps,
        })
    }
}

impl<T: Float> Module<T> for LayerNorm<T> {
    #[track_caller]
    fn forward<'t>(&self, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        let shape = x.shape();
        let k = self.normalized_shape.len();
        if shape.len() < k || shape[shape.len() - k..] != self.normalized_shape[..] {
            return Err(Error::shape(
                "LayerNorm",
                format!(
                    "input {} does not end in the normalized shape {}",
                    fmt_shape(&shape),
                    fmt_shape(&self.normalized_shape)
                ),
            )
            .at_caller());
        }
        let axes: Vec<isize> = (1..=k as isize).map(|a| -a).collect();
        let (y, _, _) = normalize(x, &axes, self.eps)?;
        let y = match &self.weight {
            Some(w) => y.mul(s.param(w))?,
            None => y,
        };
        match &self.bias {
            Some(b) => y.add(s.param(b)),
            None => Ok(y),
        }
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        visit_affine(prefix, self.weight.as_ref(), self.bias.as_ref(), f);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<T>)) {
        visit_affine(prefix, self.weight.as_mut(), self.bias.as_mut(), f);
    }
}
