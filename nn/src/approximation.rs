//! Appendix A, the universal approximation theorem, as an experiment: one
//! hidden layer of squashing units fits a 1-D target on an interval, and
//! the fit improves as the layer widens.

use autodiff::{Result, Tape, Tensor};

use crate::init::Init;
use crate::layers::{Activation, Mlp};
use crate::module::Module;
use crate::optim::{Adam, CosineLr, LrSchedule, Optimizer};
use crate::session::Session;

/// A 1-D function to approximate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `sin x`: smooth.
    Sin,
    /// `|x|`: continuous with a kink at 0.
    Abs,
    /// `1[x > 0]`: a jump at 0.
    Step,
}

impl Target {
    /// The target's value at `x`.
    ///
    /// ```
    /// use nn::approximation::Target;
    /// assert_eq!(Target::Abs.eval(-2.0), 2.0);
    /// assert_eq!(Target::Step.eval(0.5), 1.0);
    /// ```
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Target::Sin => x.sin(),
            Target::Abs => x.abs(),
            Target::Step => f64::from(u8::from(x > 0.0)),
        }
    }

    /// The name used in figures: `sin x`, `|x|`, `step`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Sin => "sin x",
            Target::Abs => "|x|",
            Target::Step => "step",
        }
    }
}

/// How to fit.
#[derive(Clone, Debug)]
pub struct FitConfig {
    /// The function to approximate.
    pub target: Target,
    /// The hidden layer's width.
    pub width: usize,
    /// The hidden layer's activation (a squashing one: sigmoid or tanh).
    pub activation: Activation,
    /// The interval `[−half_range, half_range]`.
    pub half_range: f64,
    /// How many evenly spaced training points.
    pub points: usize,
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Adam's initial learning rate (cosine-annealed to 1 % of it).
    pub lr: f64,
    /// The initialisation. PyTorch's default draws the biases at random,
    /// which breaks the symmetry that leaves a tanh net with zero biases
    /// stuck on even targets such as |x|.
    pub init: Init,
    /// Seeds the weights.
    pub seed: u64,
}

impl Default for FitConfig {
    /// sin x on [−π, π], width 8, tanh, 200 points, 4000 steps, lr 0.02,
    /// PyTorch's initialisation.
    fn default() -> Self {
        FitConfig {
            target: Target::Sin,
            width: 8,
            activation: Activation::Tanh,
            half_range: std::f64::consts::PI,
            points: 200,
            steps: 4000,
            lr: 0.02,
            init: Init::PyTorch,
            seed: 1,
        }
    }
}

/// A fitted net and how close it came.
#[derive(Clone, Debug)]
pub struct Fit {
    /// The trained `1 → width → 1` net.
    pub model: Mlp<f64>,
    /// The largest |net(x) − target(x)| on a grid of 1,001 points over the interval.
    pub max_error: f64,
    /// The mean squared error on the training points after training.
    pub train_mse: f64,
}

/// The values of a `1 → … → 1` net at the points `xs`.
///
/// # Errors
/// Shape errors when the net does not take one input.
#[track_caller]
pub fn predict(model: &Mlp<f64>, xs: &[f64]) -> Result<Vec<f64>> {
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let x = s.input(Tensor::from_vec(xs.to_vec(), &[xs.len(), 1])?);
    Ok(model.forward(&s, x)?.value().into_vec())
}

/// Fits `config.target` with one hidden layer of `config.width` units by
/// full-batch Adam on the mean squared error.
///
/// ```
/// use nn::approximation::{fit, FitConfig, Target};
/// let f = fit(&FitConfig { target: Target::Sin, width: 4, steps: 500, ..FitConfig::default() })?;
/// assert!(f.max_error < 0.3);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a zero width
/// or fewer than two points.
#[track_caller]
pub fn fit(config: &FitConfig) -> Result<Fit> {
    if config.points < 2 {
        return Err(
            autodiff::Error::argument("approximation::fit", "need at least two points").at_caller(),
        );
    }
    let h = config.half_range;
    let xs: Vec<f64> = (0..config.points)
        .map(|i| -h + 2.0 * h * i as f64 / (config.points - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs.iter().map(|&x| config.target.eval(x)).collect();
    let x = Tensor::from_vec(xs.clone(), &[xs.len(), 1])?;
    let y = Tensor::from_vec(ys, &[xs.len(), 1])?;
    let mut model = Mlp::new(
        &[1, config.width, 1],
        config.activation,
        config.init,
        config.seed,
    )?;
    let mut adam = Adam::new(config.lr)?;
    let schedule = CosineLr {
        base: config.lr,
        min: config.lr * 0.01,
        epochs: config.steps,
    };
    let mut train_mse = f64::NAN;
    for step in 0..config.steps {
        adam.set_lr(schedule.lr(step));
        let tape = Tape::new();
        let s = Session::train(&tape);
        let loss = model
            .forward(&s, s.input(x.clone()))?
            .mse(s.input(y.clone()))?;
        train_mse = crate::loss::check_finite(loss.value().item()?, 1, step + 1)?;
        adam.step(&mut model, &s.grads(loss)?)?;
    }
    let grid: Vec<f64> = (0..=1000)
        .map(|i| -h + 2.0 * h * i as f64 / 1000.0)
        .collect();
    let max_error = predict(&model, &grid)?
        .iter()
        .zip(&grid)
        .map(|(p, &x)| (p - config.target.eval(x)).abs())
        .fold(0.0, f64::max);
    Ok(Fit {
        model,
        max_error,
        train_mse,
    })
}

/// The best of several fits (smallest max error) of the same configuration
/// from the seeds `seeds`: what the width can do, separated from the luck
/// of one initialisation.
///
/// ```
/// use nn::approximation::{fit_best_of, FitConfig, Target};
/// let f = fit_best_of(&FitConfig { target: Target::Abs, width: 2, steps: 300, ..FitConfig::default() }, 1..=2)?;
/// assert!(f.max_error.is_finite());
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// The errors of [`fit`]; [`ErrorKind::Argument`](autodiff::ErrorKind::Argument)
/// for an empty seed range.
#[track_caller]
pub fn fit_best_of(config: &FitConfig, seeds: impl IntoIterator<Item = u64>) -> Result<Fit> {
    let mut best: Option<Fit> = None;
    for seed in seeds {
        let f = fit(&FitConfig {
            seed,
            ..config.clone()
        })?;
        if best.as_ref().is_none_or(|b| f.max_error < b.max_error) {
            best = Some(f);
        }
    }
    best.ok_or_else(|| autodiff::Error::argument("approximation::fit_best_of", "no seed given"))
}
