//! Stochastic gradient descent with momentum and weight decay.

use autodiff::{Float, Result};

use super::{for_each_update, hyperparameter, in_parts, Optimizer};
use crate::module::Module;
use crate::param::IdMap;
use crate::session::ParamGrads;

/// SGD, as PyTorch defines it: with `g = ∇θ + λθ` (weight decay λ),
/// momentum μ keeps a velocity `v ← μv + g` (the first step sets `v = g`)
/// and the update is `θ ← θ − η·v` (or `θ − η(g + μv)` with Nesterov).
/// Without momentum, `θ ← θ − η·g`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{optim::{Optimizer, Sgd}, Linear, Module, Session};
/// let mut layer = Linear::from_tensors(Tensor::from_vec(vec![1.0f64], &[1, 1])?, None)?;
/// let mut sgd = Sgd::new(0.1)?;
/// let tape = Tape::new();
/// let s = Session::train(&tape);
/// let y = layer.forward(&s, s.input(Tensor::from_vec(vec![2.0], &[1, 1])?))?; // y = 2w
/// let grads = s.grads(y.sum()?)?;                                          // ∂y/∂w = 2
/// sgd.step(&mut layer, &grads)?;
/// assert!((layer.weight.value().data()[0] - 0.8).abs() < 1e-15);           // 1 − 0.1·2
/// // hyperparameters are checked when the optimizer is built
/// assert!(Sgd::<f64>::new(f64::NAN).is_err());
/// assert!(Sgd::<f64>::new(0.1)?.momentum(-0.5).is_err());
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T: Float> {
    lr: f64,
    momentum: f64,
    weight_decay: f64,
    nesterov: bool,
    velocity: IdMap<Vec<T>>,
}

impl<T: Float> Sgd<T> {
    /// Plain SGD with learning rate `lr`.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `lr` is
    /// NaN, infinite or negative.
    #[track_caller]
    pub fn new(lr: f64) -> Result<Self> {
        Ok(Sgd {
            lr: hyperparameter("Sgd::new", "learning rate", lr, "≥ 0", |v| v >= 0.0)?,
            momentum: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            velocity: IdMap::default(),
        })
    }

    /// With momentum `mu` (0.9 is common).
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) unless
    /// 0 ≤ `mu` < 1.
    #[track_caller]
    pub fn momentum(mut self, mu: f64) -> Result<Self> {
        self.momentum = hyperparameter("Sgd::momentum", "momentum", mu, "in [0, 1)", |v| {
            (0.0..1.0).contains(&v)
        })?;
        Ok(self)
    }

    /// With Nesterov momentum.
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }

    /// With L2 weight decay `lambda` added to the gradient.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `lambda`
    /// is NaN, infinite or negative.
    #[track_caller]
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self> {
        self.weight_decay =
            hyperparameter("Sgd::weight_decay", "weight decay", lambda, "≥ 0", |v| {
                v >= 0.0
            })?;
        Ok(self)
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &ParamGrads<T>) -> Result<()> {
        // set_lr cannot fail; a bad rate it stored is refused here, before any update
        hyperparameter("Sgd::step", "learning rate", self.lr, "≥ 0", |v| v >= 0.0)?;
        let (lr, mu, wd, nesterov) = (
            T::of_f64(self.lr),
            T::of_f64(self.momentum),
            T::of_f64(self.weight_decay),
            self.nesterov,
        );
        let velocity = &mut self.velocity;
        for_each_update("Sgd::step", model, grads, |p, g| {
            let id = p.id();
            let theta = p.data_mut();
            if mu == T::zero() {
                in_parts(g.data(), [theta], |g, [theta]| {
                    for (t, &gi) in theta.iter_mut().zip(g) {
                        *t -= lr * (gi + wd * *t);
                    }
                });
                return;
            }
            let fresh = !velocity.contains_key(&id);
            let v = velocity
                .entry(id)
                .or_insert_with(|| vec![T::zero(); theta.len()]);
            in_parts(g.data(), [theta, v], |g, [theta, v]| {
                for ((t, &gi), vi) in theta.iter_mut().zip(g).zip(v.iter_mut()) {
                    let d = gi + wd * *t;
                    *vi = if fresh { d } else { mu * *vi + d };
                    let step = if nesterov { d + mu * *vi } else { *vi };
                    *t -= lr * step;
                }
            });
        })
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}
