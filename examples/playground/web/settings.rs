//! The page's settings as they arrive (JSON), checked field by field into
//! a Playground [`Config`]. Every refusal names the field and the range it
//! must lie in; the server answers it with 400.

use nn::data::{Dataset, Feature, Problem};
use nn::playground::{Config, OptimizerKind};
use nn::{Activation, Init, Regularization};
use serde::Deserialize;

/// The most hidden layers a page may ask for (Playground's own limit).
pub const MAX_LAYERS: usize = 6;
/// The most units a hidden layer may have.
pub const MAX_WIDTH: usize = 16;
/// The learning rates a page may choose, inclusive.
pub const LR_RANGE: (f64, f64) = (1e-5, 10.0);
/// The regularisation rates, inclusive.
pub const RATE_RANGE: (f64, f64) = (0.0, 10.0);
/// The mini-batch sizes, inclusive.
pub const BATCH_RANGE: (usize, usize) = (1, 100);
/// The epochs per second a page may ask for (0: as fast as it trains).
pub const SPEED_MAX: u32 = 1000;

/// The settings of one page, as the page sends them. Every field is
/// optional (Playground's defaults fill in), and unknown fields are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub problem: Option<String>,
    pub dataset: Option<String>,
    pub noise: Option<f64>,
    pub train_percent: Option<u32>,
    pub batch: Option<usize>,
    pub features: Option<Vec<String>>,
    pub hidden: Option<Vec<usize>>,
    pub activation: Option<String>,
    pub optimizer: Option<String>,
    pub lr: Option<f64>,
    pub regularization: Option<String>,
    pub regularization_rate: Option<f64>,
    pub seed: Option<u64>,
    pub speed: Option<u32>,
}

/// Checked settings: the run's configuration and the pace of training.
#[derive(Clone, Debug)]
pub struct Checked {
    pub config: Config,
    /// Epochs per second; 0 trains as fast as the machine can.
    pub speed: u32,
}

/// A setting that is out of range, with the reason.
#[derive(Debug)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse<T>(message: String) -> Result<T, Refusal> {
    Err(Refusal(message))
}

/// A number that must be finite and inside `[lo, hi]`.
fn in_range(name: &str, value: f64, (lo, hi): (f64, f64)) -> Result<f64, Refusal> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        refuse(format!(
            "{name} {value} must be a finite number in [{lo}, {hi}]"
        ))
    }
}

impl Settings {
    /// Parses a request body (JSON).
    pub fn parse(body: &[u8]) -> Result<Settings, Refusal> {
        serde_json::from_slice(body).map_err(|e| Refusal(format!("settings: {e}")))
    }

    /// Checks every field and builds the configuration; fields left out
    /// take the page's defaults (Playground's, with Task 1's learning rate
    /// 0.3 and 300 epochs' worth of patience left to the student).
    pub fn check(&self) -> Result<Checked, Refusal> {
        let mut config = Config {
            lr: 0.3,
            init: Init::Playground,
            ..Config::default()
        };
        if let Some(name) = &self.dataset {
            config.dataset = name.parse::<Dataset>().map_err(Refusal)?;
        }
        if let Some(problem) = &self.problem {
            let wanted = match problem.as_str() {
                "classification" => Problem::Classification,
                "regression" => Problem::Regression,
                other => {
                    return refuse(format!(
                        "unknown problem type '{other}' (expected classification or regression)"
                    ))
                }
            };
            if self.dataset.is_none() {
                config.dataset = match wanted {
                    Problem::Classification => Dataset::Circle,
                    Problem::Regression => Dataset::Plane,
                };
            } else if config.dataset.problem() != wanted {
                return refuse(format!(
                    "dataset {} is not a {problem} dataset",
                    config.dataset.name()
                ));
            }
        }
        if let Some(noise) = self.noise {
            config.noise = in_range("noise", noise, (0.0, 0.5))?;
        }
        if let Some(percent) = self.train_percent {
            if !(10..=90).contains(&percent) {
                return refuse(format!("train_percent {percent} must be between 10 and 90"));
            }
            config.test_fraction = 1.0 - f64::from(percent) / 100.0;
        }
        if let Some(batch) = self.batch {
            let (lo, hi) = BATCH_RANGE;
            if !(lo..=hi).contains(&batch) {
                return refuse(format!("batch {batch} must be between {lo} and {hi}"));
            }
            config.batch = batch;
        }
        if let Some(names) = &self.features {
            let mut features = Vec::new();
            for name in names {
                let f = name.parse::<Feature>().map_err(Refusal)?;
                if features.contains(&f) {
                    return refuse(format!("feature {} is listed twice", f.name()));
                }
                features.push(f);
            }
            if features.is_empty() {
                return refuse("features: choose at least one input feature".into());
            }
            config.features = features;
        }
        if let Some(hidden) = &self.hidden {
            if hidden.len() > MAX_LAYERS {
                return refuse(format!(
                    "hidden: {} layers, at most {MAX_LAYERS}",
                    hidden.len()
                ));
            }
            if let Some(&w) = hidden.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
                return refuse(format!(
                    "hidden: a layer of {w} units; each needs 1 to {MAX_WIDTH}"
                ));
            }
            config.hidden = hidden.clone();
        }
        if let Some(name) = &self.activation {
            config.activation = name.parse::<Activation>().map_err(Refusal)?;
        }
        if let Some(name) = &self.optimizer {
            config.optimizer = name.parse::<OptimizerKind>().map_err(Refusal)?;
        }
        if let Some(lr) = self.lr {
            config.lr = in_range("lr", lr, LR_RANGE)?;
        }
        if let Some(name) = &self.regularization {
            config.regularization = name.parse::<Regularization>().map_err(Refusal)?;
        }
        if let Some(rate) = self.regularization_rate {
            config.regularization_rate = in_range("regularization_rate", rate, RATE_RANGE)?;
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        let speed = self.speed.unwrap_or(30);
        if speed > SPEED_MAX {
            return refuse(format!(
                "speed {speed} must be at most {SPEED_MAX} epochs per second (0: unpaced)"
            ));
        }
        Ok(Checked { config, speed })
    }
}
