//! What the page draws, as one JSON message: the epoch, the losses and
//! their history, the decision map with the training and test points, and
//! the map of every hidden unit.

use nn::data::{Points, Problem};
use nn::playground::Trainer;
use serde::Serialize;

/// The decision map's resolution (cells per side) and the hidden units'.
pub const MAP_CELLS: usize = 50;
pub const UNIT_CELLS: usize = 20;
/// The square the maps span: [−EXTENT, EXTENT]², Playground's.
pub const EXTENT: f64 = 6.0;
/// The most points of each loss curve sent (older epochs are thinned).
const CURVE_POINTS: usize = 400;

#[derive(Serialize)]
pub struct Snapshot {
    epoch: usize,
    playing: bool,
    /// Epochs per second asked for (0: unpaced).
    speed: u32,
    /// Why training stopped or could not start, if it did.
    error: Option<String>,
    problem: &'static str,
    train_loss: f64,
    test_loss: f64,
    train_accuracy: Option<f64>,
    test_accuracy: Option<f64>,
    /// Epochs and the losses after them, thinned to at most
    /// [`CURVE_POINTS`] entries.
    curve: Curve,
    /// The decision value on a `cells × cells` grid over the square, row
    /// by row from the top: the logit margin z₁ − z₀ (classification) or
    /// the predicted value (regression).
    map: Map,
    /// `units[l][j]`: hidden unit j of layer l on a smaller grid.
    units: Vec<Vec<Vec<f32>>>,
    unit_cells: usize,
    /// `[x1, x2, class (0/1) or target]` per point.
    train_points: Vec<[f32; 3]>,
    test_points: Vec<[f32; 3]>,
    /// The settings in words, for the page's title line.
    summary: String,
}

#[derive(Serialize)]
struct Curve {
    epochs: Vec<usize>,
    train: Vec<f32>,
    test: Vec<f32>,
}

#[derive(Serialize)]
struct Map {
    cells: usize,
    extent: f64,
    values: Vec<f32>,
}

impl Snapshot {
    /// The state of `trainer` now.
    pub fn of(trainer: &Trainer, playing: bool, speed: u32, error: Option<&str>) -> Snapshot {
        let history = trainer.history();
        let last = history[history.len() - 1];
        let problem = trainer.config().dataset.problem();
        let step = history.len().div_ceil(CURVE_POINTS).max(1);
        let mut curve = Curve {
            epochs: Vec::new(),
            train: Vec::new(),
            test: Vec::new(),
        };
        for (epoch, s) in history.iter().enumerate() {
            if epoch % step == 0 || epoch + 1 == history.len() {
                curve.epochs.push(epoch);
                curve.train.push(s.train_loss as f32);
                curve.test.push(s.test_loss as f32);
            }
        }
        // the net is finite here (a non-finite loss stops training before
        // the update that would have made it so), so these cannot fail
        let values = trainer
            .output_grid(EXTENT, MAP_CELLS, MAP_CELLS)
            .unwrap_or_default();
        let units = trainer
            .hidden_unit_grids(EXTENT, UNIT_CELLS, UNIT_CELLS)
            .unwrap_or_default();
        let accuracy = |a: f64| (problem == Problem::Classification).then_some(a);
        Snapshot {
            epoch: trainer.epochs(),
            playing,
            speed,
            error: error.map(str::to_string),
            problem: match problem {
                Problem::Classification => "classification",
                Problem::Regression => "regression",
            },
            train_loss: last.train_loss,
            test_loss: last.test_loss,
            train_accuracy: accuracy(last.train_accuracy),
            test_accuracy: accuracy(last.test_accuracy),
            curve,
            map: Map {
                cells: MAP_CELLS,
                extent: EXTENT,
                values: values.iter().map(|&v| v as f32).collect(),
            },
            units: units
                .iter()
                .map(|layer| {
                    layer
                        .iter()
                        .map(|unit| unit.iter().map(|&v| v as f32).collect())
                        .collect()
                })
                .collect(),
            unit_cells: UNIT_CELLS,
            train_points: points(trainer.train_points(), problem),
            test_points: points(trainer.test_points(), problem),
            summary: summary(trainer),
        }
    }

    /// A session without a net: the settings could not make one.
    pub fn failed(error: &str) -> FailedSnapshot {
        FailedSnapshot {
            epoch: 0,
            playing: false,
            error: error.to_string(),
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a snapshot is plain data")
    }
}

/// What a session without a net publishes.
#[derive(Serialize)]
pub struct FailedSnapshot {
    epoch: usize,
    playing: bool,
    error: String,
}

impl FailedSnapshot {
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a snapshot is plain data")
    }
}

fn points(p: &Points, problem: Problem) -> Vec<[f32; 3]> {
    p.xy.iter()
        .enumerate()
        .map(|(i, &[x, y])| {
            let value = match problem {
                Problem::Classification => p.labels[i] as f32,
                Problem::Regression => p.targets[i] as f32,
            };
            [x as f32, y as f32, value]
        })
        .collect()
}

/// The run's settings in one line.
fn summary(trainer: &Trainer) -> String {
    let c = trainer.config();
    let features: Vec<&str> = c.features.iter().map(|f| f.name()).collect();
    let hidden: Vec<String> = c.hidden.iter().map(usize::to_string).collect();
    format!(
        "{} · {} · hidden [{}] · {} · {} lr {} · batch {} · {} · {:.0} % training · noise {} · seed {}",
        c.dataset.name(),
        features.join(", "),
        hidden.join(", "),
        c.activation.name(),
        c.optimizer.name(),
        c.lr,
        c.batch,
        match c.regularization {
            nn::Regularization::None => "no regularisation".to_string(),
            r => format!("{} {}", r.name(), c.regularization_rate),
        },
        (1.0 - c.test_fraction) * 100.0,
        c.noise,
        c.seed
    )
}
