//! The TensorFlow Playground experiment as a function: generate a dataset,
//! pick features, train an [`Mlp`] with softmax cross-entropy and SGD in
//! mini-batches, and record the train/test loss and accuracy of every
//! epoch. The lecture note's Task 1 tests and the `playground` example both
//! run it.

use autodiff::{Result, Tape, Tensor};

use crate::data::{features, rows, train_test_split, Batches, Dataset, Feature, Points};
use crate::init::Init;
use crate::layers::{Activation, Mlp};
use crate::loss::{accuracy, check_finite};
use crate::module::Module;
use crate::optim::{Adam, Optimizer, Sgd};
use crate::session::Session;

/// Which update rule trains the net.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// Plain mini-batch SGD (Playground's).
    Sgd,
    /// Adam.
    Adam,
}

/// One Playground run. [`Config::default`] is Playground's own setting:
/// circle, 500 points, noise 0, half for test, inputs x₁ x₂, hidden [4, 2],
/// tanh, its initialisation, SGD with learning rate 0.03, batch 10.
#[derive(Clone, Debug)]
pub struct Config {
    /// The dataset.
    pub dataset: Dataset,
    /// The number of points.
    pub points: usize,
    /// Noise in [0, 0.5].
    pub noise: f64,
    /// The share of points held out for testing.
    pub test_fraction: f64,
    /// The input features.
    pub features: Vec<Feature>,
    /// The hidden layers' widths.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The weight initialisation.
    pub init: Init,
    /// The update rule.
    pub optimizer: OptimizerKind,
    /// The learning rate.
    pub lr: f64,
    /// The mini-batch size.
    pub batch: usize,
    /// The number of epochs.
    pub epochs: usize,
    /// Seeds the data, the split, the weights and the batch order.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dataset: Dataset::Circle,
            points: 500,
            noise: 0.0,
            test_fraction: 0.5,
            features: vec![Feature::X1, Feature::X2],
            hidden: vec![4, 2],
            activation: Activation::Tanh,
            init: Init::Playground,
            optimizer: OptimizerKind::Sgd,
            lr: 0.03,
            batch: 10,
            epochs: 100,
            seed: 1,
        }
    }
}

/// Loss and accuracy after one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// Mean cross-entropy on the training points.
    pub train_loss: f64,
    /// Mean cross-entropy on the test points.
    pub test_loss: f64,
    /// Accuracy on the training points.
    pub train_accuracy: f64,
    /// Accuracy on the test points.
    pub test_accuracy: f64,
}

/// A finished run: the trained net, the data, and the history.
#[derive(Clone, Debug)]
pub struct Run {
    /// The configuration that produced it.
    pub config: Config,
    /// The trained net (inputs = the features, 2 outputs = class logits).
    pub model: Mlp<f64>,
    /// The training points.
    pub train: Points,
    /// The test points.
    pub test: Points,
    /// The statistics before training (index 0) and after each epoch.
    pub history: Vec<EpochStats>,
}

impl Run {
    /// The statistics after the last epoch.
    pub fn last(&self) -> EpochStats {
        *self
            .history
            .last()
            .expect("the history holds the initial state at least")
    }

    /// The first epoch after which the training loss is below `threshold`.
    pub fn epochs_to_train_loss(&self, threshold: f64) -> Option<usize> {
        self.history.iter().position(|s| s.train_loss < threshold)
    }

    /// Epochs to converge: the first epoch after which the training loss
    /// stays below `threshold` for every later epoch of the run (`None`
    /// when the last epoch's loss is not below it). A loss that dips below
    /// and rises again has not converged at the dip.
    ///
    /// ```
    /// use nn::data::{Dataset, Feature};
    /// use nn::playground::{run, Config};
    /// use nn::Activation;
    /// let config = Config {
    ///     dataset: Dataset::Circle,
    ///     features: vec![Feature::X1Squared, Feature::X2Squared],
    ///     hidden: vec![],
    ///     activation: Activation::Linear,
    ///     epochs: 50,
    ///     ..Config::default()
    /// };
    /// let r = run(&config, |_, _| {})?;
    /// let e = r.epochs_to_converge(0.1).expect("converges");
    /// assert!(r.history[e..].iter().all(|s| s.train_loss < 0.1));
    /// assert!(e == 0 || r.history[e - 1].train_loss >= 0.1); // the first such
    /// assert!(r.epochs_to_train_loss(0.1).unwrap() <= e);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn epochs_to_converge(&self, threshold: f64) -> Option<usize> {
        let above = self
            .history
            .iter()
            // NaN counts as not below
            .rposition(|s| s.train_loss >= threshold || s.train_loss.is_nan());
        match above {
            None => Some(0),
            Some(last) if last + 1 < self.history.len() => Some(last + 1),
            Some(_) => None,
        }
    }

    /// The first epoch after which the test accuracy reaches `threshold`.
    pub fn epochs_to_test_accuracy(&self, threshold: f64) -> Option<usize> {
        self.history
            .iter()
            .position(|s| s.test_accuracy >= threshold)
    }

    /// The logit margin `z₁ − z₀` (positive where the net says class 1) on
    /// a grid of `cols × rows` points spanning `[−extent, extent]²`, row by
    /// row from the top (x₂ = extent) and left (x₁ = −extent).
    ///
    /// # Errors
    /// Errors of the forward pass (none for a net built by [`run`]).
    #[track_caller]
    pub fn margin_grid(&self, extent: f64, cols: usize, rows: usize) -> Result<Vec<f64>> {
        let dx = 2.0 * extent / (cols.max(2) - 1) as f64;
        let dy = 2.0 * extent / (rows.max(2) - 1) as f64;
        let grid = Points {
            xy: (0..rows * cols)
                .map(|k| {
                    let (r, c) = (k / cols, k % cols);
                    [-extent + c as f64 * dx, extent - r as f64 * dy]
                })
                .collect(),
            labels: vec![0; rows * cols],
        };
        let logits = predict(&self.model, &features(&grid, &self.config.features))?;
        Ok(logits.data().chunks(2).map(|z| z[1] - z[0]).collect())
    }
}

/// The logits of `model` for inputs `x`, without recording.
///
/// # Errors
/// Shape errors of the forward pass.
#[track_caller]
pub fn predict(model: &Mlp<f64>, x: &Tensor<f64>) -> Result<Tensor<f64>> {
    let tape = Tape::new();
    let s = Session::eval(&tape);
    Ok(model.forward(&s, s.input(x.clone()))?.value())
}

#[track_caller]
fn evaluate(model: &Mlp<f64>, x: &Tensor<f64>, labels: &[usize]) -> Result<(f64, f64)> {
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let logits = model.forward(&s, s.input(x.clone()))?;
    let loss = logits.cross_entropy(labels)?.value().item()?;
    Ok((loss, accuracy(&logits.value(), labels)?))
}

/// Runs `config`, calling `on_epoch(epoch, stats)` after each epoch (and
/// with epoch 0 before training).
///
/// ```
/// use nn::playground::{run, Config};
/// use nn::data::{Dataset, Feature};
/// let config = Config { dataset: Dataset::Gauss, epochs: 3, ..Config::default() };
/// let result = run(&config, |_, _| {})?;
/// assert_eq!(result.history.len(), 4);
/// assert!(result.last().test_accuracy > 0.9);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for an empty
/// feature list, a noise outside [0, 0.5], a test fraction outside [0, 1],
/// an empty training set, a batch size or layer width of 0, or a learning
/// rate that is not finite and ≥ 0;
/// [`ErrorKind::Anomaly`](autodiff::ErrorKind::Anomaly) naming the epoch and
/// step when the training loss becomes NaN or infinite (training stops
/// there). Every error names the caller's line.
#[track_caller]
pub fn run(config: &Config, on_epoch: impl FnMut(usize, &EpochStats)) -> Result<Run> {
    let at = std::panic::Location::caller();
    run_config(config, on_epoch).map_err(|e| e.at(at))
}

// track_caller all the way, so that the errors of the library functions it
// calls name the line that called `run`
#[track_caller]
fn run_config(config: &Config, mut on_epoch: impl FnMut(usize, &EpochStats)) -> Result<Run> {
    if config.features.is_empty() {
        return Err(autodiff::Error::argument(
            "playground::run",
            "choose at least one input feature",
        ));
    }
    let points = config
        .dataset
        .generate(config.points, config.noise, config.seed)?;
    let (train_idx, test_idx) = train_test_split(
        points.len(),
        config.test_fraction,
        config.seed.wrapping_add(1),
    )?;
    if train_idx.is_empty() {
        return Err(autodiff::Error::argument(
            "playground::run",
            format!(
                "the training set is empty: {} points × (1 − test fraction {}) rounds to 0",
                config.points, config.test_fraction
            ),
        ));
    }
    let (train, test) = (points.select(&train_idx)?, points.select(&test_idx)?);
    let x_train = features::<f64>(&train, &config.features);
    let x_test = features::<f64>(&test, &config.features);

    let mut widths = vec![config.features.len()];
    widths.extend(&config.hidden);
    widths.push(2);
    let mut model = Mlp::new(
        &widths,
        config.activation,
        config.init,
        config.seed.wrapping_add(2),
    )?;
    let mut optimizer: Box<dyn Optimizer<f64>> = match config.optimizer {
        OptimizerKind::Sgd => Box::new(Sgd::new(config.lr)?),
        OptimizerKind::Adam => Box::new(Adam::new(config.lr)?),
    };
    let mut batches = Batches::new(train.len(), config.batch, config.seed.wrapping_add(3))?;

    let stats = |model: &Mlp<f64>| -> Result<EpochStats> {
        let (train_loss, train_accuracy) = evaluate(model, &x_train, &train.labels)?;
        let (test_loss, test_accuracy) = evaluate(model, &x_test, &test.labels)?;
        Ok(EpochStats {
            train_loss,
            test_loss,
            train_accuracy,
            test_accuracy,
        })
    };
    let mut history = vec![stats(&model)?];
    on_epoch(0, &history[0]);
    for epoch in 1..=config.epochs {
        for (step, batch) in batches.epoch().enumerate() {
            let tape = Tape::new();
            let s = Session::train(&tape);
            let labels: Vec<usize> = batch.iter().map(|&i| train.labels[i]).collect();
            let logits = model.forward(&s, s.input(rows(&x_train, &batch)?))?;
            let loss = logits.cross_entropy(&labels)?;
            check_finite(loss.value().item()?, epoch, step + 1)?;
            let grads = s.grads(loss)?;
            optimizer.step(&mut model, &grads)?;
        }
        history.push(stats(&model)?);
        on_epoch(epoch, &history[epoch]);
    }
    Ok(Run {
        config: config.clone(),
        model,
        train,
        test,
        history,
    })
}
