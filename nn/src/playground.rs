//! The TensorFlow Playground experiment as a function: generate a dataset,
//! pick features, train an [`Mlp`] in mini-batches — softmax cross-entropy
//! for the classification sets, the squared error ½(ŷ − y)² for the
//! regression sets, plus an optional L1/L2 weight penalty — and record the
//! train/test loss and accuracy of every epoch. The lecture note's Task 1
//! tests and the `playground` example both run it; [`Run::output_grid`]
//! and [`Run::hidden_unit_grids`] give the pictures (the decision map and
//! what every hidden unit computes).

use autodiff::{Result, Tape, Tensor, Var};

use crate::data::{features, rows, train_test_split, Batches, Dataset, Feature, Points, Problem};
use crate::init::Init;
use crate::layers::{Activation, Mlp};
use crate::loss::{accuracy, check_finite};
use crate::module::Module;
use crate::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};
use crate::regularization::{check_rate, Regularization};
use crate::session::Session;

/// Which update rule trains the net (each with its defaults but the
/// learning rate; see [`crate::optim`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// Plain mini-batch SGD (Playground's).
    Sgd,
    /// Adam.
    Adam,
    /// AdamW (decoupled weight decay 0.01).
    AdamW,
    /// RMSprop.
    RmsProp,
}

impl OptimizerKind {
    /// Every kind, in the order menus list them.
    pub const ALL: [OptimizerKind; 4] = [
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
        OptimizerKind::RmsProp,
    ];

    /// The lower-case name: `sgd`, `adam`, `adamw` or `rmsprop`.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::RmsProp => "rmsprop",
        }
    }

    /// The optimizer, with learning rate `lr`.
    ///
    /// # Errors
    /// The optimizer's own refusal of a learning rate that is not finite
    /// and ≥ 0.
    #[track_caller]
    pub fn build(self, lr: f64) -> Result<Box<dyn Optimizer<f64>>> {
        Ok(match self {
            OptimizerKind::Sgd => Box::new(Sgd::new(lr)?),
            OptimizerKind::Adam => Box::new(Adam::new(lr)?),
            OptimizerKind::AdamW => Box::new(AdamW::new(lr)?),
            OptimizerKind::RmsProp => Box::new(RmsProp::new(lr)?),
        })
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;

    /// Parses a [`name`](OptimizerKind::name), in any case.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        OptimizerKind::ALL
            .into_iter()
            .find(|k| k.name() == lower)
            .ok_or_else(|| {
                format!("unknown optimizer '{s}' (expected sgd, adam, adamw or rmsprop)")
            })
    }
}

/// One Playground run. [`Config::default`] is Playground's own setting:
/// circle, 500 points, noise 0, half for test, inputs x₁ x₂, hidden [4, 2],
/// tanh, its initialisation, SGD with learning rate 0.03, batch 10, no
/// regularisation.
#[derive(Clone, Debug)]
pub struct Config {
    /// The dataset.
    pub dataset: Dataset,
    /// The number of points.
    pub points: usize,
    /// Noise in [0, 0.5].
    pub noise: f64,
    /// The share of points held out for testing (Playground's "ratio of
    /// training to test data" slider, 10–90 % training, is 0.9–0.1 here).
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
    /// The weight penalty added to the loss (biases are not penalised).
    pub regularization: Regularization,
    /// Its rate λ (finite, ≥ 0).
    pub regularization_rate: f64,
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
            regularization: Regularization::None,
            regularization_rate: 0.0,
            epochs: 100,
            seed: 1,
        }
    }
}

/// Loss and accuracy after one epoch. The losses are the data loss alone
/// (mean cross-entropy, or mean ½(ŷ − y)² for regression), without the
/// weight penalty, as Playground shows them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// Mean loss on the training points.
    pub train_loss: f64,
    /// Mean loss on the test points.
    pub test_loss: f64,
    /// Accuracy on the training points (NaN for regression, which has no
    /// classes).
    pub train_accuracy: f64,
    /// Accuracy on the test points (NaN for regression).
    pub test_accuracy: f64,
}

/// A finished run: the trained net, the data, and the history.
#[derive(Clone, Debug)]
pub struct Run {
    /// The configuration that produced it.
    pub config: Config,
    /// The trained net (inputs = the features; outputs = 2 class logits,
    /// or 1 value for regression).
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

    /// Whether the run classified or regressed.
    pub fn problem(&self) -> Problem {
        self.config.dataset.problem()
    }

    /// The net's decision value on a grid of `cols × rows` points spanning
    /// `[−extent, extent]²`, row by row from the top (x₂ = extent) and left
    /// (x₁ = −extent): the logit margin `z₁ − z₀` for classification
    /// (positive where the net says class 1; the probability of class 1 is
    /// σ of it), the predicted value for regression.
    ///
    /// # Errors
    /// Errors of the forward pass (none for a net built by [`run`]).
    #[track_caller]
    pub fn output_grid(&self, extent: f64, cols: usize, rows: usize) -> Result<Vec<f64>> {
        output_grid(&self.model, &self.config, extent, cols, rows)
    }

    /// What every hidden unit computes: for hidden layer `l` and its unit
    /// `j`, `grids[l][j]` holds the unit's activation `a_l[j]` on the grid
    /// of [`output_grid`](Run::output_grid) (Playground's small maps on its
    /// neurons). The first layer's units are functions of the input
    /// features; every later unit, and the output, combines the maps of the
    /// layer before: `z_{l+1} = a_l W_{l+1} + b_{l+1}`.
    ///
    /// ```
    /// use nn::playground::{run, Config};
    /// let r = run(&Config { epochs: 2, ..Config::default() }, |_, _| {})?;
    /// let maps = r.hidden_unit_grids(6.0, 5, 5)?;
    /// assert_eq!(maps.len(), 2);                         // hidden [4, 2]
    /// assert_eq!((maps[0].len(), maps[1].len()), (4, 2));
    /// assert!(maps[0].iter().all(|m| m.len() == 25));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// Errors of the forward pass (none for a net built by [`run`]).
    #[track_caller]
    pub fn hidden_unit_grids(
        &self,
        extent: f64,
        cols: usize,
        rows: usize,
    ) -> Result<Vec<Vec<Vec<f64>>>> {
        hidden_unit_grids(&self.model, &self.config, extent, cols, rows)
    }
}

/// [`Run::output_grid`] of `model`, trained on `config`'s features.
#[track_caller]
fn output_grid(
    model: &Mlp<f64>,
    config: &Config,
    extent: f64,
    cols: usize,
    rows: usize,
) -> Result<Vec<f64>> {
    let x = features(&grid_points(extent, cols, rows), &config.features);
    let out = predict(model, &x)?;
    Ok(match config.dataset.problem() {
        Problem::Classification => out.data().chunks(2).map(|z| z[1] - z[0]).collect(),
        Problem::Regression => out.data().to_vec(),
    })
}

/// [`Run::hidden_unit_grids`] of `model`, trained on `config`'s features.
#[track_caller]
fn hidden_unit_grids(
    model: &Mlp<f64>,
    config: &Config,
    extent: f64,
    cols: usize,
    rows: usize,
) -> Result<Vec<Vec<Vec<f64>>>> {
    let x = features(&grid_points(extent, cols, rows), &config.features);
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let layers = model.layers();
    let mut h = s.input(x);
    let mut grids = Vec::new();
    for layer in &layers[..layers.len() - 1] {
        h = model.activation().apply(layer.forward(&s, h)?)?;
        let width = layer.out_features();
        let values = h.value();
        grids.push(
            (0..width)
                .map(|j| {
                    values
                        .data()
                        .iter()
                        .skip(j)
                        .step_by(width)
                        .copied()
                        .collect()
                })
                .collect(),
        );
    }
    Ok(grids)
}

/// The `cols × rows` grid of [`Run::output_grid`] as points.
fn grid_points(extent: f64, cols: usize, rows: usize) -> Points {
    let dx = 2.0 * extent / (cols.max(2) - 1) as f64;
    let dy = 2.0 * extent / (rows.max(2) - 1) as f64;
    Points {
        xy: (0..rows * cols)
            .map(|k| {
                let (r, c) = (k / cols, k % cols);
                [-extent + c as f64 * dx, extent - r as f64 * dy]
            })
            .collect(),
        labels: vec![0; rows * cols],
        targets: vec![0.0; rows * cols],
    }
}

/// The outputs of `model` for inputs `x`, without recording.
///
/// # Errors
/// Shape errors of the forward pass.
#[track_caller]
pub fn predict(model: &Mlp<f64>, x: &Tensor<f64>) -> Result<Tensor<f64>> {
    let tape = Tape::new();
    let s = Session::eval(&tape);
    Ok(model.forward(&s, s.input(x.clone()))?.value())
}

/// The data loss of `outputs` against `points` (by their indices `rows`):
/// mean cross-entropy of the logits, or mean ½(ŷ − y)² of the values.
fn data_loss<'t>(
    problem: Problem,
    outputs: Var<'t, f64>,
    points: &Points,
    rows: impl Iterator<Item = usize>,
) -> Result<Var<'t, f64>> {
    match problem {
        Problem::Classification => {
            let labels: Vec<usize> = rows.map(|i| points.labels[i]).collect();
            outputs.cross_entropy(&labels)
        }
        Problem::Regression => {
            let targets: Vec<f64> = rows.map(|i| points.targets[i]).collect();
            let n = targets.len();
            let t = outputs.tape().constant(Tensor::from_vec(targets, &[n, 1])?);
            outputs.mse(t)?.mul_scalar(0.5)
        }
    }
}

#[track_caller]
fn evaluate(
    model: &Mlp<f64>,
    problem: Problem,
    x: &Tensor<f64>,
    points: &Points,
) -> Result<(f64, f64)> {
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let outputs = model.forward(&s, s.input(x.clone()))?;
    let loss = data_loss(problem, outputs, points, 0..points.len())?
        .value()
        .item()?;
    let accuracy = match problem {
        Problem::Classification => accuracy(&outputs.value(), &points.labels)?,
        Problem::Regression => f64::NAN,
    };
    Ok((loss, accuracy))
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
/// rate or regularisation rate that is not finite and ≥ 0;
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
    let mut trainer = Trainer::build(config)?;
    on_epoch(0, &trainer.history[0]);
    for epoch in 1..=config.epochs {
        let stats = trainer.train_epoch()?;
        on_epoch(epoch, &stats);
    }
    Ok(trainer.into_run())
}

/// A Playground run in progress, trained one epoch at a time: the data,
/// the net, its optimizer and the history so far. [`run`] trains
/// `config.epochs` epochs with one; a live page (the `playground` example's
/// `--serve`) calls [`epoch`](Trainer::epoch) as often as the student asks
/// and draws the net between epochs.
///
/// ```
/// use nn::playground::{Config, Trainer};
/// let mut trainer = Trainer::new(&Config::default())?;
/// assert_eq!(trainer.epochs(), 0);
/// let first = trainer.history()[0];
/// for _ in 0..5 {
///     trainer.epoch()?;
/// }
/// assert_eq!((trainer.epochs(), trainer.history().len()), (5, 6));
/// assert!(trainer.history()[5].train_loss < first.train_loss);
/// assert_eq!(trainer.output_grid(6.0, 3, 3)?.len(), 9);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub struct Trainer {
    config: Config,
    problem: Problem,
    train: Points,
    test: Points,
    x_train: Tensor<f64>,
    x_test: Tensor<f64>,
    model: Mlp<f64>,
    optimizer: Box<dyn Optimizer<f64>>,
    batches: Batches,
    history: Vec<EpochStats>,
}

impl Trainer {
    /// Generates the data, splits it, builds the net and its optimizer,
    /// and records the statistics before training (`config.epochs` is not
    /// used: the caller decides how many epochs to run).
    ///
    /// # Errors
    /// The configuration errors of [`run`].
    #[track_caller]
    pub fn new(config: &Config) -> Result<Self> {
        let at = std::panic::Location::caller();
        Self::build(config).map_err(|e| e.at(at))
    }

    #[track_caller]
    fn build(config: &Config) -> Result<Self> {
        if config.features.is_empty() {
            return Err(autodiff::Error::argument(
                "playground::run",
                "choose at least one input feature",
            ));
        }
        check_rate(config.regularization_rate)?;
        let problem = config.dataset.problem();
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
        widths.push(match problem {
            Problem::Classification => 2,
            Problem::Regression => 1,
        });
        let model = Mlp::new(
            &widths,
            config.activation,
            config.init,
            config.seed.wrapping_add(2),
        )?;
        let optimizer = config.optimizer.build(config.lr)?;
        let batches = Batches::new(train.len(), config.batch, config.seed.wrapping_add(3))?;
        let mut trainer = Trainer {
            config: config.clone(),
            problem,
            train,
            test,
            x_train,
            x_test,
            model,
            optimizer,
            batches,
            history: Vec::new(),
        };
        let before = trainer.stats()?;
        trainer.history.push(before);
        Ok(trainer)
    }

    /// Trains one more epoch (one pass over the training points in
    /// mini-batches) and returns its statistics, also appended to the
    /// history.
    ///
    /// # Errors
    /// [`ErrorKind::Anomaly`](autodiff::ErrorKind::Anomaly) naming the
    /// epoch and step when the training loss becomes NaN or infinite (the
    /// net keeps the last finite step's weights).
    #[track_caller]
    pub fn epoch(&mut self) -> Result<EpochStats> {
        let at = std::panic::Location::caller();
        self.train_epoch().map_err(|e| e.at(at))
    }

    #[track_caller]
    fn train_epoch(&mut self) -> Result<EpochStats> {
        let epoch = self.history.len();
        for (step, batch) in self.batches.epoch().enumerate() {
            let tape = Tape::new();
            let s = Session::train(&tape);
            let outputs = self
                .model
                .forward(&s, s.input(rows(&self.x_train, &batch)?))?;
            let mut loss = data_loss(self.problem, outputs, &self.train, batch.iter().copied())?;
            let weights: Vec<_> = self.model.layers().iter().map(|l| &l.weight).collect();
            if let Some(penalty) =
                self.config
                    .regularization
                    .penalty(&s, &weights, self.config.regularization_rate)?
            {
                loss = loss.add(penalty)?;
            }
            check_finite(loss.value().item()?, epoch, step + 1)?;
            let grads = s.grads(loss)?;
            self.optimizer.step(&mut self.model, &grads)?;
        }
        let stats = self.stats()?;
        self.history.push(stats);
        Ok(stats)
    }

    /// Loss and accuracy of the net as it is, on both sets.
    fn stats(&self) -> Result<EpochStats> {
        let (train_loss, train_accuracy) =
            evaluate(&self.model, self.problem, &self.x_train, &self.train)?;
        let (test_loss, test_accuracy) =
            evaluate(&self.model, self.problem, &self.x_test, &self.test)?;
        Ok(EpochStats {
            train_loss,
            test_loss,
            train_accuracy,
            test_accuracy,
        })
    }

    /// The epochs trained so far.
    pub fn epochs(&self) -> usize {
        self.history.len() - 1
    }

    /// The statistics before training (index 0) and after each epoch.
    pub fn history(&self) -> &[EpochStats] {
        &self.history
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The net as trained so far.
    pub fn model(&self) -> &Mlp<f64> {
        &self.model
    }

    /// The training points.
    pub fn train_points(&self) -> &Points {
        &self.train
    }

    /// The test points.
    pub fn test_points(&self) -> &Points {
        &self.test
    }

    /// [`Run::output_grid`] of the net as trained so far.
    ///
    /// # Errors
    /// Errors of the forward pass (none for a net built by [`Trainer::new`]).
    #[track_caller]
    pub fn output_grid(&self, extent: f64, cols: usize, rows: usize) -> Result<Vec<f64>> {
        output_grid(&self.model, &self.config, extent, cols, rows)
    }

    /// [`Run::hidden_unit_grids`] of the net as trained so far.
    ///
    /// # Errors
    /// Errors of the forward pass (none for a net built by [`Trainer::new`]).
    #[track_caller]
    pub fn hidden_unit_grids(
        &self,
        extent: f64,
        cols: usize,
        rows: usize,
    ) -> Result<Vec<Vec<Vec<f64>>>> {
        hidden_unit_grids(&self.model, &self.config, extent, cols, rows)
    }

    /// The finished run: configuration, net, data and history.
    pub fn into_run(self) -> Run {
        Run {
            config: self.config,
            model: self.model,
            train: self.train,
            test: self.test,
            history: self.history,
        }
    }
}
