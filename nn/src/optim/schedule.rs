//! Learning-rate schedules: the rate for each epoch.

/// A learning rate as a function of the epoch (0-based).
pub trait LrSchedule {
    /// The learning rate for `epoch`.
    fn lr(&self, epoch: usize) -> f64;
}

/// `η₀ · γ^⌊epoch / step⌋`: multiply by γ every `step` epochs.
///
/// ```
/// use nn::optim::{LrSchedule, StepLr};
/// let s = StepLr { base: 0.1, step: 10, gamma: 0.5 };
/// assert_eq!((s.lr(0), s.lr(9), s.lr(10), s.lr(25)), (0.1, 0.1, 0.05, 0.025));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StepLr {
    /// The initial rate η₀.
    pub base: f64,
    /// Epochs between decays (0 never decays).
    pub step: usize,
    /// The factor γ.
    pub gamma: f64,
}

impl LrSchedule for StepLr {
    fn lr(&self, epoch: usize) -> f64 {
        match self.step {
            0 => self.base,
            s => self.base * self.gamma.powi((epoch / s) as i32),
        }
    }
}

/// Cosine annealing from `base` down to `min` over `epochs`:
/// `η = min + ½(base − min)(1 + cos(π·epoch/epochs))`, then `min`.
///
/// ```
/// use nn::optim::{CosineLr, LrSchedule};
/// let s = CosineLr { base: 1.0, min: 0.0, epochs: 10 };
/// assert_eq!(s.lr(0), 1.0);
/// assert!((s.lr(5) - 0.5).abs() < 1e-15);
/// assert_eq!(s.lr(10), 0.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CosineLr {
    /// The rate at epoch 0.
    pub base: f64,
    /// The rate at the end.
    pub min: f64,
    /// The length of the annealing.
    pub epochs: usize,
}

impl LrSchedule for CosineLr {
    fn lr(&self, epoch: usize) -> f64 {
        if self.epochs == 0 || epoch >= self.epochs {
            return self.min;
        }
        let progress = epoch as f64 / self.epochs as f64;
        self.min + 0.5 * (self.base - self.min) * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}
