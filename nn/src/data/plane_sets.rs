//! TensorFlow Playground's six datasets, as its public source defines them
//! (its `dataset.ts`: the classification sets circle, XOR, Gaussian
//! clusters and spiral; the regression sets plane and multi-Gaussian), and
//! its seven features.
//!
//! Classification points carry label 1 (Playground's +1) or 0 (its −1);
//! every point carries Playground's real-valued label as its target (±1 for
//! the classes, a value in about [−1, 1] for regression).

use std::f64::consts::PI;

use autodiff::{Float, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// What a dataset asks of the net: a class or a number per point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Problem {
    /// Two classes; the net outputs two logits, trained by softmax
    /// cross-entropy.
    Classification,
    /// A real target; the net outputs one number, trained by the squared
    /// error ½(ŷ − y)².
    Regression,
}

/// Which of the six Playground datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dataset {
    /// A disc of class 1 (radius < 2.5) inside a ring of class 0 (radius 3.5–5).
    Circle,
    /// Class 1 in the quadrants where x·y ≥ 0.
    Xor,
    /// Two Gaussian blobs at (2, 2) (class 1) and (−2, −2) (class 0).
    Gauss,
    /// Two interleaved spirals.
    Spiral,
    /// Regression: x₁, x₂ uniform in [−6, 6], target (x₁ + x₂)/10 — a
    /// tilted plane.
    Plane,
    /// Regression: x₁, x₂ uniform in [−6, 6]; six bumps at (±4, ±2.5) and
    /// (0, ±2.5) of alternating sign, each `±max(0, 1 − d/2)` at distance
    /// d from its centre; the target is the bump largest in absolute value.
    MultiGauss,
}

impl Dataset {
    /// The lower-case name, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Circle => "circle",
            Dataset::Xor => "xor",
            Dataset::Gauss => "gauss",
            Dataset::Spiral => "spiral",
            Dataset::Plane => "plane",
            Dataset::MultiGauss => "multigauss",
        }
    }

    /// All six, classification first, in Playground's order.
    pub const ALL: [Dataset; 6] = [
        Dataset::Circle,
        Dataset::Xor,
        Dataset::Gauss,
        Dataset::Spiral,
        Dataset::Plane,
        Dataset::MultiGauss,
    ];

    /// Whether its points have classes or real targets.
    ///
    /// ```
    /// use nn::data::{Dataset, Problem};
    /// assert_eq!(Dataset::Spiral.problem(), Problem::Classification);
    /// assert_eq!(Dataset::Plane.problem(), Problem::Regression);
    /// ```
    pub fn problem(self) -> Problem {
        match self {
            Dataset::Plane | Dataset::MultiGauss => Problem::Regression,
            _ => Problem::Classification,
        }
    }

    /// `n` points (half per class for classification) with noise in
    /// [0, 0.5], from `seed`. The noise moves the position at which the
    /// label is decided, not the point itself (except for gauss and spiral,
    /// as in Playground).
    ///
    /// ```
    /// use nn::data::Dataset;
    /// let p = Dataset::Circle.generate(500, 0.0, 1)?;
    /// assert_eq!(p.len(), 500);
    /// // without noise, the label is exactly "inside radius 2.5"
    /// for (xy, &label) in p.xy.iter().zip(&p.labels) {
    ///     assert_eq!(label == 1, xy[0].hypot(xy[1]) < 2.5);
    /// }
    /// // the plane's target is (x₁ + x₂)/10
    /// let q = Dataset::Plane.generate(5, 0.0, 1)?;
    /// for (xy, &t) in q.xy.iter().zip(&q.targets) {
    ///     assert!((t - (xy[0] + xy[1]) / 10.0).abs() < 1e-15);
    /// }
    /// assert!(Dataset::Gauss.generate(10, f64::NAN, 1).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `noise` is
    /// NaN or outside [0, 0.5] (the Playground's 0–50 %).
    #[track_caller]
    pub fn generate(self, n: usize, noise: f64, seed: u64) -> autodiff::Result<Points> {
        if !(0.0..=0.5).contains(&noise) {
            return Err(autodiff::Error::argument(
                "Dataset::generate",
                format!("noise {noise} is not in [0, 0.5] (the Playground's 0–50 %)"),
            )
            .at(std::panic::Location::caller()));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut p = Points::default();
        let uniform = |rng: &mut ChaCha8Rng, a: f64, b: f64| a + (b - a) * rng.random::<f64>();
        match self {
            Dataset::Circle => {
                let radius = 5.0;
                let label = |x: f64, y: f64| usize::from(x.hypot(y) < radius * 0.5);
                for i in 0..n {
                    let (lo, hi) = if i < n / 2 {
                        (0.0, radius * 0.5)
                    } else {
                        (radius * 0.7, radius)
                    };
                    let r = uniform(&mut rng, lo, hi);
                    let angle = uniform(&mut rng, 0.0, 2.0 * PI);
                    let (x, y) = (r * angle.sin(), r * angle.cos());
                    let nx = uniform(&mut rng, -radius, radius) * noise;
                    let ny = uniform(&mut rng, -radius, radius) * noise;
                    p.push([x, y], label(x + nx, y + ny));
                }
            }
            Dataset::Xor => {
                let pad = 0.3;
                for _ in 0..n {
                    let mut x = uniform(&mut rng, -5.0, 5.0);
                    x += if x > 0.0 { pad } else { -pad };
                    let mut y = uniform(&mut rng, -5.0, 5.0);
                    y += if y > 0.0 { pad } else { -pad };
                    let nx = uniform(&mut rng, -5.0, 5.0) * noise;
                    let ny = uniform(&mut rng, -5.0, 5.0) * noise;
                    p.push([x, y], usize::from((x + nx) * (y + ny) >= 0.0));
                }
            }
            Dataset::Gauss => {
                // variance 0.5 at noise 0, rising linearly to 4 at noise 0.5
                let variance = 0.5 + (4.0 - 0.5) * (noise / 0.5);
                let normal = Normal::new(0.0, variance.sqrt()).expect("a positive deviation");
                for i in 0..n {
                    let (c, label) = if i < n / 2 { (2.0, 1) } else { (-2.0, 0) };
                    let x = c + normal.sample(&mut rng);
                    let y = c + normal.sample(&mut rng);
                    p.push([x, y], label);
                }
            }
            Dataset::Spiral => {
                let half = (n / 2).max(1);
                for i in 0..n {
                    let (k, delta, label) = if i < n / 2 {
                        (i, 0.0, 1)
                    } else {
                        (i - n / 2, PI, 0)
                    };
                    let r = k as f64 / half as f64 * 5.0;
                    let t = 1.75 * k as f64 / half as f64 * 2.0 * PI + delta;
                    let x = r * t.sin() + uniform(&mut rng, -1.0, 1.0) * noise;
                    let y = r * t.cos() + uniform(&mut rng, -1.0, 1.0) * noise;
                    p.push([x, y], label);
                }
            }
            Dataset::Plane | Dataset::MultiGauss => {
                let radius = 6.0;
                for _ in 0..n {
                    let x = uniform(&mut rng, -radius, radius);
                    let y = uniform(&mut rng, -radius, radius);
                    let nx = uniform(&mut rng, -radius, radius) * noise;
                    let ny = uniform(&mut rng, -radius, radius) * noise;
                    let target = if self == Dataset::Plane {
                        (x + nx + y + ny) / 10.0
                    } else {
                        multi_gauss(x + nx, y + ny)
                    };
                    p.push_target([x, y], target);
                }
            }
        }
        Ok(p)
    }
}

/// Playground's multi-Gaussian target at (x, y): of the six bumps
/// `sign·max(0, 1 − d/2)`, the one largest in absolute value.
fn multi_gauss(x: f64, y: f64) -> f64 {
    const BUMPS: [(f64, f64, f64); 6] = [
        (-4.0, 2.5, 1.0),
        (0.0, 2.5, -1.0),
        (4.0, 2.5, 1.0),
        (-4.0, -2.5, -1.0),
        (0.0, -2.5, 1.0),
        (4.0, -2.5, -1.0),
    ];
    let mut target: f64 = 0.0;
    for (cx, cy, sign) in BUMPS {
        let value = sign * (1.0 - (x - cx).hypot(y - cy) / 2.0).clamp(0.0, 1.0);
        if value.abs() > target.abs() {
            target = value;
        }
    }
    target
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dataset {
    type Err = String;

    /// Parses `circle`, `xor`, `gauss`, `spiral`, `plane` or `multigauss`.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "circle" => Dataset::Circle,
            "xor" => Dataset::Xor,
            "gauss" | "gaussian" => Dataset::Gauss,
            "spiral" => Dataset::Spiral,
            "plane" => Dataset::Plane,
            "multigauss" | "multigaussian" => Dataset::MultiGauss,
            _ => {
                return Err(format!(
                    "unknown dataset '{s}' (expected circle, xor, gauss, spiral, plane or multigauss)"
                ))
            }
        })
    }
}

/// 2-D points with their classes and targets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Points {
    /// The coordinates (x₁, x₂).
    pub xy: Vec<[f64; 2]>,
    /// The class: 1 for Playground's +1, 0 for its −1. For a regression
    /// set, 1 where the target is ≥ 0 (used only to colour points).
    pub labels: Vec<usize>,
    /// Playground's label as a number: ±1 for the classes, the value to
    /// fit for a regression set.
    pub targets: Vec<f64>,
}

impl Points {
    fn push(&mut self, xy: [f64; 2], label: usize) {
        self.xy.push(xy);
        self.labels.push(label);
        self.targets.push(if label == 1 { 1.0 } else { -1.0 });
    }

    fn push_target(&mut self, xy: [f64; 2], target: f64) {
        self.xy.push(xy);
        self.labels.push(usize::from(target >= 0.0));
        self.targets.push(target);
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.xy.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.xy.is_empty()
    }

    /// The points at `indices`, in that order.
    ///
    /// ```
    /// use nn::data::Dataset;
    /// let p = Dataset::Xor.generate(4, 0.0, 0)?;
    /// assert_eq!(p.select(&[3, 0])?.xy, [p.xy[3], p.xy[0]]);
    /// assert!(p.select(&[4]).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](autodiff::ErrorKind::Index) for an index out of
    /// range; [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when the
    /// public fields `xy`, `labels` and `targets` differ in length.
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> autodiff::Result<Points> {
        let at = std::panic::Location::caller();
        if self.xy.len() != self.labels.len() || self.xy.len() != self.targets.len() {
            return Err(autodiff::Error::shape(
                "Points::select",
                format!(
                    "{} points but {} labels and {} targets",
                    self.xy.len(),
                    self.labels.len(),
                    self.targets.len()
                ),
            )
            .at(at));
        }
        if let Some((k, &i)) = indices.iter().enumerate().find(|(_, &i)| i >= self.len()) {
            return Err(autodiff::Error::index(
                "Points::select",
                format!(
                    "index {i} (position {k}) is out of range for {} points",
                    self.len()
                ),
            )
            .at(at));
        }
        Ok(Points {
            xy: indices.iter().map(|&i| self.xy[i]).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            targets: indices.iter().map(|&i| self.targets[i]).collect(),
        })
    }
}

/// One of Playground's seven input features of a point (x₁, x₂).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Feature {
    /// x₁
    X1,
    /// x₂
    X2,
    /// x₁²
    X1Squared,
    /// x₂²
    X2Squared,
    /// x₁x₂
    X1X2,
    /// sin x₁
    SinX1,
    /// sin x₂
    SinX2,
}

impl Feature {
    /// All seven, in Playground's order.
    pub const ALL: [Feature; 7] = [
        Feature::X1,
        Feature::X2,
        Feature::X1Squared,
        Feature::X2Squared,
        Feature::X1X2,
        Feature::SinX1,
        Feature::SinX2,
    ];

    /// The feature's value at (x₁, x₂).
    ///
    /// ```
    /// use nn::data::Feature;
    /// assert_eq!(Feature::X1X2.eval([2.0, 3.0]), 6.0);
    /// assert_eq!(Feature::X2Squared.eval([2.0, 3.0]), 9.0);
    /// ```
    pub fn eval(self, [x1, x2]: [f64; 2]) -> f64 {
        match self {
            Feature::X1 => x1,
            Feature::X2 => x2,
            Feature::X1Squared => x1 * x1,
            Feature::X2Squared => x2 * x2,
            Feature::X1X2 => x1 * x2,
            Feature::SinX1 => x1.sin(),
            Feature::SinX2 => x2.sin(),
        }
    }

    /// The name the command line uses: `x1 x2 x1^2 x2^2 x1x2 sin(x1) sin(x2)`.
    pub fn name(self) -> &'static str {
        match self {
            Feature::X1 => "x1",
            Feature::X2 => "x2",
            Feature::X1Squared => "x1^2",
            Feature::X2Squared => "x2^2",
            Feature::X1X2 => "x1x2",
            Feature::SinX1 => "sin(x1)",
            Feature::SinX2 => "sin(x2)",
        }
    }
}

impl std::str::FromStr for Feature {
    type Err = String;

    /// Parses a feature name (`x1`, `x1^2` or `x1sq`, `x1x2`, `sin(x1)` or `sinx1`, …).
    fn from_str(s: &str) -> Result<Self, String> {
        let t: String = s
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !"() *".contains(*c))
            .collect();
        Ok(match t.as_str() {
            "x1" => Feature::X1,
            "x2" => Feature::X2,
            "x1^2" | "x1sq" | "x1²" => Feature::X1Squared,
            "x2^2" | "x2sq" | "x2²" => Feature::X2Squared,
            "x1x2" => Feature::X1X2,
            "sinx1" => Feature::SinX1,
            "sinx2" => Feature::SinX2,
            _ => {
                return Err(format!(
                    "unknown feature '{s}' (expected x1, x2, x1^2, x2^2, x1x2, sin(x1), sin(x2))"
                ))
            }
        })
    }
}

/// The `[n, features.len()]` input matrix of `points`.
///
/// ```
/// use nn::data::{features, Feature, Points};
/// let p = nn::data::Dataset::Xor.generate(4, 0.0, 0)?;
/// let x = features::<f64>(&p, &[Feature::X1, Feature::X1Squared]);
/// assert_eq!(x.shape(), &[4, 2]);
/// assert_eq!(x.data()[1], x.data()[0] * x.data()[0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn features<T: Float>(points: &Points, features: &[Feature]) -> Tensor<T> {
    let data = points
        .xy
        .iter()
        .flat_map(|&xy| features.iter().map(move |f| T::of_f64(f.eval(xy))))
        .collect();
    Tensor::from_vec(data, &[points.len(), features.len()]).expect("n·d values for [n, d]")
}
