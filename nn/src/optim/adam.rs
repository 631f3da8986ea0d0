//! Adam (Kingma & Ba, 2015).

use autodiff::{Float, Result};

use super::{for_each_update, hyperparameter, in_parts, Optimizer};
use crate::module::Module;
use crate::param::IdMap;
use crate::session::ParamGrads;

/// Adam: with `g = ∇θ + λθ`,
/// `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
/// `m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)`,
/// `θ ← θ − η·m̂ / (√v̂ + ε)` — PyTorch's `torch.optim.Adam`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{optim::{Adam, Optimizer}, Linear, Module, Session};
/// let mut layer = Linear::from_tensors(Tensor::from_vec(vec![1.0f64], &[1, 1])?, None)?;
/// let mut adam = Adam::new(0.1)?;
/// let tape = Tape::new();
/// let s = Session::train(&tape);
/// let y = layer.forward(&s, s.input(Tensor::from_vec(vec![2.0], &[1, 1])?))?;
/// adam.step(&mut layer, &s.grads(y.sum()?)?)?;
/// // the first Adam step moves each weight by about η, whatever the gradient's size
/// assert!((layer.weight.value().data()[0] - 0.9).abs() < 1e-7);
/// // hyperparameters are checked when the optimizer is built
/// assert!(Adam::<f64>::new(0.1)?.eps(0.0).is_err());
/// assert!(Adam::<f64>::new(0.1)?.betas(1.0, 0.999).is_err());
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T: Float> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    /// AdamW: the decay shrinks θ directly instead of joining the gradient.
    decoupled: bool,
    state: IdMap<AdamState<T>>,
}

#[derive(Clone, Debug)]
struct AdamState<T> {
    m: Vec<T>,
    v: Vec<T>,
    t: i32,
}

impl<T: Float> Adam<T> {
    /// Adam with learning rate `lr`, β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `lr` is
    /// NaN, infinite or negative.
    #[track_caller]
    pub fn new(lr: f64) -> Result<Self> {
        Ok(Adam {
            lr: hyperparameter("Adam::new", "learning rate", lr, "≥ 0", |v| v >= 0.0)?,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            state: IdMap::default(),
        })
    }

    /// Sets β₁ and β₂.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) unless both are
    /// in [0, 1) (β₁ = 1 would divide by 1 − β₁ᵗ = 0).
    #[track_caller]
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        let unit = |v: f64| (0.0..1.0).contains(&v);
        self.beta1 = hyperparameter("Adam::betas", "beta1", beta1, "in [0, 1)", unit)?;
        self.beta2 = hyperparameter("Adam::betas", "beta2", beta2, "in [0, 1)", unit)?;
        Ok(self)
    }

    /// Sets ε.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) unless `eps`
    /// is finite and > 0 (ε = 0 divides 0 by 0 where a gradient is 0).
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        self.eps = hyperparameter("Adam::eps", "eps", eps, "> 0", |v| v > 0.0)?;
        Ok(self)
    }

    /// With L2 weight decay `lambda` added to the gradient.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `lambda`
    /// is NaN, infinite or negative.
    #[track_caller]
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self> {
        self.weight_decay =
            hyperparameter("Adam::weight_decay", "weight decay", lambda, "≥ 0", |v| {
                v >= 0.0
            })?;
        Ok(self)
    }
}

impl<T: Float> Optimizer<T> for Adam<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &ParamGrads<T>) -> Result<()> {
        // set_lr cannot fail; a bad rate it stored is refused here, before any update
        hyperparameter("Adam::step", "learning rate", self.lr, "≥ 0", |v| {
            v >= 0.0
        })?;
        let (b1, b2, eps, wd, lr) = (self.beta1, self.beta2, self.eps, self.weight_decay, self.lr);
        // Adam adds λθ to the gradient (L2); AdamW multiplies θ by 1 − ηλ
        let (l2, shrink) = if self.decoupled {
            (0.0, 1.0 - lr * wd)
        } else {
            (wd, 1.0)
        };
        let state = &mut self.state;
        for_each_update("Adam::step", model, grads, |p, g| {
            let id = p.id();
            let theta = p.data_mut();
            let s = state.entry(id).or_insert_with(|| AdamState {
                m: vec![T::zero(); theta.len()],
                v: vec![T::zero(); theta.len()],
                t: 0,
            });
            s.t += 1;
            let c1 = 1.0 - b1.powi(s.t);
            let c2 = 1.0 - b2.powi(s.t);
            let (tb1, tb2) = (T::of_f64(b1), T::of_f64(b2));
            let (one, teps, twd) = (T::one(), T::of_f64(eps), T::of_f64(l2));
            let tshrink = T::of_f64(shrink);
            let step = T::of_f64(lr / c1);
            let tc2 = T::of_f64(c2.sqrt());
            in_parts(g.data(), [theta, &mut s.m, &mut s.v], |g, [theta, m, v]| {
                for i in 0..theta.len() {
                    let gi = g[i] + twd * theta[i];
                    theta[i] *= tshrink;
                    m[i] = tb1 * m[i] + (one - tb1) * gi;
                    v[i] = tb2 * v[i] + (one - tb2) * gi * gi;
                    // η·m̂/(√v̂ + ε) with m̂ = m/c₁, √v̂ = √v/√c₂
                    theta[i] -= step * m[i] / (v[i].sqrt() / tc2 + teps);
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

/// AdamW (Loshchilov & Hutter, 2019; PyTorch's `AdamW`): Adam whose weight
/// decay is decoupled from the gradient. Each step first shrinks
/// `θ ← θ·(1 − ηλ)`, then takes Adam's step on the plain gradient:
/// `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
/// `θ ← θ − η·m̂/(√v̂ + ε)`. Defaults as PyTorch: η given, β = (0.9, 0.999),
/// ε = 1e-8, λ = 0.01.
///
/// ```
/// use autodiff::Tensor;
/// use nn::optim::{AdamW, Optimizer};
/// use nn::{Linear, ParamGrads};
/// let mut layer = Linear::from_tensors(Tensor::from_vec(vec![2.0f64], &[1, 1])?, None)?;
/// let mut grads = ParamGrads::default();
/// grads.insert(&layer.weight, Tensor::from_vec(vec![0.0], &[1, 1])?);
/// let mut opt = AdamW::new(0.1)?.weight_decay(0.5)?;
/// opt.step(&mut layer, &grads)?;
/// // a zero gradient: only the decay acts, θ·(1 − 0.1·0.5)
/// assert!((layer.weight.value().data()[0] - 1.9).abs() < 1e-12);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<T: Float>(Adam<T>);

impl<T: Float> AdamW<T> {
    /// AdamW with learning rate `lr` and PyTorch's defaults.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a rate
    /// that is not finite and ≥ 0.
    #[track_caller]
    pub fn new(lr: f64) -> Result<Self> {
        let mut adam = Adam::new(lr)?;
        adam.decoupled = true;
        adam.weight_decay = 0.01;
        Ok(AdamW(adam))
    }

    /// The moment decay rates β₁, β₂ (each in [0, 1)).
    ///
    /// # Errors
    /// As [`Adam::betas`].
    #[track_caller]
    pub fn betas(self, beta1: f64, beta2: f64) -> Result<Self> {
        Ok(AdamW(self.0.betas(beta1, beta2)?))
    }

    /// ε (> 0).
    ///
    /// # Errors
    /// As [`Adam::eps`].
    #[track_caller]
    pub fn eps(self, eps: f64) -> Result<Self> {
        Ok(AdamW(self.0.eps(eps)?))
    }

    /// The decoupled decay λ (≥ 0).
    ///
    /// # Errors
    /// As [`Adam::weight_decay`].
    #[track_caller]
    pub fn weight_decay(self, lambda: f64) -> Result<Self> {
        Ok(AdamW(self.0.weight_decay(lambda)?))
    }
}

impl<T: Float> Optimizer<T> for AdamW<T> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &ParamGrads<T>) -> Result<()> {
        self.0.step(model, grads)
    }

    fn lr(&self) -> f64 {
        self.0.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.0.lr = lr;
    }
}
