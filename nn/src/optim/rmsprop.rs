//! RMSprop (Hinton's lecture 6e), as PyTorch defines it.

use autodiff::{Float, Result};

use super::{for_each_update, hyperparameter, in_parts, Optimizer};
use crate::module::Module;
use crate::param::IdMap;
use crate::session::ParamGrads;

/// RMSprop: per element, with `g` the gradient plus `λθ` (weight decay),
/// `v ← αv + (1 − α)g²`; centred, `ḡ ← αḡ + (1 − α)g` and the denominator
/// uses `v − ḡ²`; then `d = g/(√v + ε)`, with momentum μ `b ← μb + d`,
/// `θ ← θ − ηb` (without, `θ ← θ − ηd`). PyTorch's defaults: α = 0.99,
/// ε = 1e-8, no momentum, not centred, no decay.
///
/// ```
/// use autodiff::Tensor;
/// use nn::optim::{Optimizer, RmsProp};
/// use nn::{Linear, ParamGrads};
/// let mut layer = Linear::from_tensors(Tensor::from_vec(vec![1.0f64], &[1, 1])?, None)?;
/// let mut grads = ParamGrads::default();
/// grads.insert(&layer.weight, Tensor::from_vec(vec![2.0], &[1, 1])?);
/// let mut opt = RmsProp::new(0.01)?;
/// opt.step(&mut layer, &grads)?;
/// // v = 0.01·4, so the step is 0.01·2/(√0.04 + ε) = 0.1
/// assert!((layer.weight.value().data()[0] - 0.9).abs() < 1e-7); // ε shifts it by 5e-9
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp<T: Float> {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    state: IdMap<RmsState<T>>,
}

#[derive(Clone, Debug)]
struct RmsState<T> {
    square_avg: Vec<T>,
    grad_avg: Vec<T>,
    buffer: Vec<T>,
}

impl<T: Float> RmsProp<T> {
    /// RMSprop with learning rate `lr` and PyTorch's defaults.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a rate
    /// that is not finite and ≥ 0.
    #[track_caller]
    pub fn new(lr: f64) -> Result<Self> {
        Ok(RmsProp {
            lr: hyperparameter("RmsProp::new", "learning rate", lr, "≥ 0", |v| v >= 0.0)?,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            state: IdMap::default(),
        })
    }

    /// The smoothing constant α, in [0, 1).
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) outside [0, 1).
    #[track_caller]
    pub fn alpha(mut self, alpha: f64) -> Result<Self> {
        self.alpha = hyperparameter("RmsProp::alpha", "alpha", alpha, "in [0, 1)", |v| {
            (0.0..1.0).contains(&v)
        })?;
        Ok(self)
    }

    /// ε, added to the denominator (> 0).
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) unless > 0.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        self.eps = hyperparameter("RmsProp::eps", "eps", eps, "> 0", |v| v > 0.0)?;
        Ok(self)
    }

    /// Weight decay λ (≥ 0), added to the gradient as λθ.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) unless ≥ 0.
    #[track_caller]
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self> {
        self.weight_decay = hyperparameter(
            "RmsProp::weight_decay",
            "weight decay",
            lambda,
            "≥ 0",
            |v| v >= 0.0,
        )?;
        Ok(self)
    }

    /// Momentum μ (≥ 0).
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) unless ≥ 0.
    #[track_caller]
    pub fn momentum(mut self, mu: f64) -> Result<Self> {
        self.momentum = hyperparameter("RmsProp::momentum", "momentum", mu, "≥ 0", |v| v >= 0.0)?;
        Ok(self)
    }

    /// Centred: normalise by the estimated variance `v − ḡ²` instead of
    /// the second moment.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &ParamGrads<T>) -> Result<()> {
        hyperparameter("RmsProp::step", "learning rate", self.lr, "≥ 0", |v| {
            v >= 0.0
        })?;
        let (lr, alpha, eps) = (
            T::of_f64(self.lr),
            T::of_f64(self.alpha),
            T::of_f64(self.eps),
        );
        let (wd, mu, centered) = (
            T::of_f64(self.weight_decay),
            T::of_f64(self.momentum),
            self.centered,
        );
        let use_momentum = self.momentum > 0.0;
        let state = &mut self.state;
        for_each_update("RmsProp::step", model, grads, |p, g| {
            let id = p.id();
            let theta = p.data_mut();
            let s = state.entry(id).or_insert_with(|| RmsState {
                square_avg: vec![T::zero(); theta.len()],
                grad_avg: vec![T::zero(); theta.len()],
                buffer: vec![T::zero(); theta.len()],
            });
            let one = T::one();
            let slices = [theta, &mut s.square_avg, &mut s.grad_avg, &mut s.buffer];
            in_parts(
                g.data(),
                slices,
                |g, [theta, square_avg, grad_avg, buffer]| {
                    for i in 0..theta.len() {
                        let gi = g[i] + wd * theta[i];
                        square_avg[i] = alpha * square_avg[i] + (one - alpha) * gi * gi;
                        let var = if centered {
                            grad_avg[i] = alpha * grad_avg[i] + (one - alpha) * gi;
                            square_avg[i] - grad_avg[i] * grad_avg[i]
                        } else {
                            square_avg[i]
                        };
                        let d = gi / (var.sqrt() + eps);
                        if use_momentum {
                            buffer[i] = mu * buffer[i] + d;
                            theta[i] -= lr * buffer[i];
                        } else {
                            theta[i] -= lr * d;
                        }
                    }
                },
            );
        })
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}
