//! The lecture note's Task 1, TensorFlow Playground style: trains small nets
//! on 2-D datasets and draws, for each, its decision map, its train/test
//! loss and what every hidden unit computes, plus one figure that puts the
//! whole Task 1 comparison side by side.
//!
//! ```sh
//! # the three findings of Task 1 (4 runs, figures in playground-out/)
//! cargo run --release --example playground
//! # one run of your own
//! cargo run --release --example playground -- --dataset spiral --features 'x1,x2,sin(x1),sin(x2)' \
//!     --activation tanh --hidden 8,8 --lr 0.1 --epochs 300 --regularization l2 --regularization-rate 0.001
//! # regression
//! cargo run --release --example playground -- --dataset multigauss --hidden 8,8 --optimizer adam --lr 0.01
//! # the Playground as a live page, trained by tapegrad (http://127.0.0.1:8080/)
//! cargo run --release --example playground -- --serve
//! ```

#[path = "../support/mod.rs"]
mod support;
mod web;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use nn::data::Problem;
use nn::data::{Dataset, Feature};
use nn::playground::{run, Config, OptimizerKind, Run};
use nn::{Activation, Init, Regularization};
use plotters::prelude::*;
use support::plane_maps;
use support::plot::{self, BLUE, ORANGE};

/// Train TensorFlow Playground nets and draw them. With no flags it runs
/// the lecture note's Task 1 on the circle: four networks (x1, x2 with
/// Linear, Sigmoid and ReLU; x1², x2² with Linear), prints their table and
/// writes a figure per net and one comparing them. With --dataset,
/// --features, --activation or --hidden it trains that one net. The other
/// flags apply to either. With --serve it is the Playground itself, as a
/// page on this machine that trains with tapegrad while you watch.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// circle, xor, gauss, spiral (classification), plane or multigauss
    /// (regression) [default: circle]
    #[arg(long)]
    dataset: Option<Dataset>,
    /// Comma-separated inputs from x1, x2, x1^2, x2^2, x1x2, sin(x1), sin(x2) [default: x1,x2]
    #[arg(long, value_delimiter = ',')]
    features: Option<Vec<Feature>>,
    /// linear, sigmoid, tanh, relu or silu [default: tanh]
    #[arg(long)]
    activation: Option<Activation>,
    /// Comma-separated hidden widths [default: 4,2]
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Learning rate (Task 1 uses 0.3; Playground's default is 0.03)
    #[arg(long, default_value_t = 0.3, value_parser = support::learning_rate)]
    lr: f64,
    /// Mini-batch size
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Epochs
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// sgd, adam, adamw or rmsprop
    #[arg(long, default_value = "sgd")]
    optimizer: OptimizerKind,
    /// Noise, from 0 to 0.5
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// The share of points used for training, in percent (10 to 90; the rest are test points)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(10..=90))]
    train_percent: u32,
    /// Weight penalty added to the loss: none, l1 or l2
    #[arg(long, default_value = "none")]
    regularization: Regularization,
    /// Rate of the weight penalty (0 to 10)
    #[arg(long, default_value_t = 0.0, value_parser = regularization_rate)]
    regularization_rate: f64,
    /// Number of points
    #[arg(long, default_value_t = 500)]
    points: usize,
    /// Seed of the data, the weights and the batch order
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder for the figures
    #[arg(long, default_value = "playground-out")]
    out: PathBuf,
    /// Serve the Playground as a live page instead: a local web server
    /// whose page trains a tapegrad network as you watch
    #[arg(long)]
    serve: bool,
    /// With --serve: the port (0 picks a free one)
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// With --serve: the address to listen on (the default is this machine
    /// only; 0.0.0.0 opens it to the network)
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// With --serve: how many pages may train at once
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    max_sessions: u16,
    /// With --serve: seconds after which the session of a page that went
    /// away (no open event stream, no request) is stopped
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    abandon_after: u64,
}

fn regularization_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=10.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{s} is not a regularisation rate in [0, 10]"))
    }
}

/// The training loss below which a run counts as converged, once it stays
/// there (the table's "converged" column).
const CONVERGED_BELOW: f64 = 0.1;

/// A named configuration.
struct Experiment {
    name: String,
    config: Config,
}

fn task1(args: &Args) -> Vec<Experiment> {
    let base = base_config(args);
    let raw = vec![Feature::X1, Feature::X2];
    let squares = vec![Feature::X1Squared, Feature::X2Squared];
    [
        ("x1, x2 · Linear", raw.clone(), Activation::Linear),
        ("x1, x2 · Sigmoid", raw.clone(), Activation::Sigmoid),
        ("x1², x2² · Linear", squares, Activation::Linear),
        ("x1, x2 · ReLU", raw, Activation::Relu),
    ]
    .into_iter()
    .map(|(name, features, activation)| Experiment {
        name: name.to_string(),
        config: Config {
            features,
            activation,
            ..base.clone()
        },
    })
    .collect()
}

fn base_config(args: &Args) -> Config {
    Config {
        dataset: args.dataset.unwrap_or(Dataset::Circle),
        points: args.points,
        noise: args.noise,
        features: args
            .features
            .clone()
            .unwrap_or_else(|| vec![Feature::X1, Feature::X2]),
        hidden: args.hidden.clone().unwrap_or_else(|| vec![4, 2]),
        activation: args.activation.unwrap_or(Activation::Tanh),
        init: Init::Playground,
        optimizer: args.optimizer,
        lr: args.lr,
        batch: args.batch,
        epochs: args.epochs,
        seed: args.seed,
        test_fraction: 1.0 - f64::from(args.train_percent) / 100.0,
        regularization: args.regularization,
        regularization_rate: args.regularization_rate,
    }
}

fn feature_names(c: &Config) -> String {
    let names: Vec<&str> = c.features.iter().map(|f| f.name()).collect();
    names.join(", ")
}

fn optimizer_name(c: &Config) -> &'static str {
    match c.optimizer {
        OptimizerKind::Sgd => "SGD",
        OptimizerKind::Adam => "Adam",
        OptimizerKind::AdamW => "AdamW",
        OptimizerKind::RmsProp => "RMSprop",
    }
}

fn regularization_text(c: &Config) -> String {
    match c.regularization {
        Regularization::None => "no regularisation".to_string(),
        r => format!("{} {}", r.name().to_uppercase(), c.regularization_rate),
    }
}

/// The settings shared by every run of the figure, as one line.
fn training_settings(c: &Config) -> String {
    format!(
        "{} points, noise {}, {:.0} % training · {} lr {}, batch {}, {} epochs · {} · seed {}",
        c.points,
        c.noise,
        (1.0 - c.test_fraction) * 100.0,
        optimizer_name(c),
        c.lr,
        c.batch,
        c.epochs,
        regularization_text(c),
        c.seed
    )
}

/// Every setting of a run, as one line.
fn describe(c: &Config) -> String {
    format!(
        "{} · {} · {} · hidden {:?} · {}",
        c.dataset,
        feature_names(c),
        c.activation,
        c.hidden,
        training_settings(c)
    )
}

/// A file name made of every setting that changes the figure, so that two
/// different runs never write the same file.
fn figure_stem(c: &Config) -> String {
    let features: Vec<String> = c
        .features
        .iter()
        .map(|f| f.name().replace("^2", "sq").replace(['(', ')'], ""))
        .collect();
    format!(
        "{}_{}_{}_{}",
        c.dataset,
        features.join("-"),
        c.activation,
        shared_stem(c)
    )
}

/// The part of [`figure_stem`] that the four Task 1 runs share.
fn shared_stem(c: &Config) -> String {
    let hidden: Vec<String> = c.hidden.iter().map(|h| h.to_string()).collect();
    let regularization = match c.regularization {
        Regularization::None => "noreg".to_string(),
        r => format!("{}-{}", r.name(), c.regularization_rate),
    };
    format!(
        "h{}_{}-lr{}_b{}_e{}_{}_train{:.0}_noise{}_n{}_seed{}",
        if hidden.is_empty() {
            "none".to_string()
        } else {
            hidden.join("-")
        },
        optimizer_name(c).to_lowercase(),
        c.lr,
        c.batch,
        c.epochs,
        regularization,
        (1.0 - c.test_fraction) * 100.0,
        c.noise,
        c.points,
        c.seed,
    )
}

fn loss_name(c: &Config) -> &'static str {
    match c.dataset.problem() {
        Problem::Classification => "loss (cross-entropy)",
        Problem::Regression => "loss (½ squared error)",
    }
}

fn train(exp: &Experiment) -> Result<Run, Box<dyn std::error::Error>> {
    let bar = ProgressBar::new(exp.config.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos:>4}/{len} epochs  {msg}")?
            .progress_chars("=> "),
    );
    bar.set_prefix(exp.name.clone());
    let result = run(&exp.config, |epoch, s| {
        bar.set_position(epoch as u64);
        bar.set_message(format!(
            "test loss {:.3}, accuracy {:.3}",
            s.test_loss, s.test_accuracy
        ));
    })?;
    bar.finish();
    Ok(result)
}

/// One run: its settings on top; the decision map, the train/test loss and
/// the hidden units' maps side by side.
fn run_figure(path: &Path, name: &str, r: &Run) -> Result<(), Box<dyn std::error::Error>> {
    let svg = plot::svg((1400, 520), |root| {
        let body = plot::title_bar(root, &describe(&r.config))?;
        let (map, rest) = body.split_horizontally(520);
        let (losses, units) = rest.split_horizontally(440);
        let last = r.last();
        let title = match r.problem() {
            Problem::Classification => format!(
                "{name}: test loss {:.3}, test accuracy {:.3}",
                last.test_loss, last.test_accuracy
            ),
            Problem::Regression => format!("{name}: test loss {:.4}", last.test_loss),
        };
        plane_maps::decision_map(&map, r, &title, 6.0)?;
        plane_maps::unit_maps(&units, r, 6.0)?;
        let train: Vec<f64> = r.history.iter().map(|s| s.train_loss).collect();
        let test: Vec<f64> = r.history.iter().map(|s| s.test_loss).collect();
        plot::curves(
            &losses,
            loss_name(&r.config),
            "loss",
            &[
                ("train".to_string(), train, BLUE, false),
                ("test".to_string(), test, ORANGE, true),
            ],
            true,
        )
    })?;
    support::write_atomically(path, svg.as_bytes())?;
    Ok(())
}

/// The four Task 1 maps and the training-loss race in one figure.
fn comparison_figure(
    path: &Path,
    runs: &[(Experiment, Run)],
) -> Result<(), Box<dyn std::error::Error>> {
    let first = &runs[0].1.config;
    let settings = format!(
        "Task 1: {} · hidden {:?} · {}",
        first.dataset,
        first.hidden,
        training_settings(first)
    );
    let svg = plot::svg((1500, 930), |root| {
        let body = plot::title_bar(root, &settings)?;
        let cells = body.split_evenly((2, 3));
        for (cell, (exp, r)) in cells.iter().zip(runs) {
            let title = format!("{} — test accuracy {:.2}", exp.name, r.last().test_accuracy);
            plane_maps::decision_map(cell, r, &title, 6.0)?;
        }
        let colors = [
            RGBColor(120, 120, 120),
            RGBColor(214, 39, 40),
            RGBColor(44, 160, 44),
            BLUE,
        ];
        let series: Vec<(String, Vec<f64>, RGBColor, bool)> = runs
            .iter()
            .zip(colors)
            .map(|((exp, r), c)| {
                (
                    exp.name.clone(),
                    r.history.iter().map(|s| s.train_loss).collect(),
                    c,
                    false,
                )
            })
            .collect();
        plot::curves(
            &cells[4],
            "training loss (cross-entropy)",
            "loss",
            &series,
            true,
        )?;
        let text = [
            "Findings of the lecture note's Task 1:",
            "1. Linear activation on x1, x2 never leaves chance;",
            "   Sigmoid bends the boundary into a circle.",
            "2. With x1², x2² as inputs a linear net is enough:",
            "   the non-linear features were made outside the net.",
            "3. ReLU converges in a few epochs where Sigmoid takes ~100,",
            "   and its boundary is a polygon where Sigmoid's is smooth.",
        ];
        for (i, line) in text.iter().enumerate() {
            cells[5].draw(&Text::new(
                *line,
                (16, 40 + 26 * i as i32),
                ("sans-serif", 14),
            ))?;
        }
        Ok(())
    })?;
    support::write_atomically(path, svg.as_bytes())?;
    Ok(())
}

/// An accuracy for the table ("—" for regression, which has none).
fn accuracy_text(a: f64) -> String {
    if a.is_nan() {
        "—".to_string()
    } else {
        format!("{a:.3}")
    }
}

fn main() {
    support::exit_on_error(try_main());
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.serve {
        return web::serve(&web::Options {
            bind: args.bind,
            port: args.port,
            max_sessions: usize::from(args.max_sessions),
            abandon_after: std::time::Duration::from_secs(args.abandon_after),
        })
        .map_err(|e| e as Box<dyn std::error::Error>);
    }
    if !(0.0..=0.5).contains(&args.noise) {
        return Err(format!("--noise {} is outside 0..=0.5", args.noise).into());
    }
    if args.points < 4 || args.batch == 0 || args.epochs == 0 {
        return Err("--points must be at least 4, --batch and --epochs at least 1".into());
    }
    if args.hidden.as_ref().is_some_and(|h| h.contains(&0)) {
        return Err("--hidden widths must be positive".into());
    }
    if args.regularization != Regularization::None && args.regularization_rate == 0.0 {
        eprintln!(
            "note: --regularization {} has no effect at --regularization-rate 0",
            args.regularization
        );
    }
    let custom = args.dataset.is_some()
        || args.features.is_some()
        || args.activation.is_some()
        || args.hidden.is_some();
    let experiments = if custom {
        let config = base_config(&args);
        vec![Experiment {
            name: config.activation.to_string(),
            config,
        }]
    } else {
        println!(
            "Task 1 of the lecture note: circle dataset, {} points, noise {}, {} % for training\n",
            args.points, args.noise, args.train_percent
        );
        task1(&args)
    };

    let start = Instant::now();
    let mut runs = Vec::new();
    for exp in experiments {
        let t = Instant::now();
        let r = train(&exp)?;
        let path = args.out.join(format!("{}.svg", figure_stem(&exp.config)));
        run_figure(&path, &exp.name, &r)?;
        runs.push((exp, r, t.elapsed()));
    }

    println!(
        "\n{:<22} {:>6} {:>10} {:>10} {:>9} {:>9} {:>10} {:>8}",
        "configuration",
        "epochs",
        "train loss",
        "test loss",
        "train acc",
        "test acc",
        "converged",
        "time"
    );
    for (exp, r, t) in &runs {
        let s = r.last();
        // the first epoch after which the training loss stays below 0.1
        let converged = r
            .epochs_to_converge(CONVERGED_BELOW)
            .map_or("—".to_string(), |e| e.to_string());
        println!(
            "{:<22} {:>6} {:>10.4} {:>10.4} {:>9} {:>9} {:>10} {:>7.2}s",
            exp.name,
            r.history.len() - 1,
            s.train_loss,
            s.test_loss,
            accuracy_text(s.train_accuracy),
            accuracy_text(s.test_accuracy),
            converged,
            t.as_secs_f64()
        );
    }
    let runs: Vec<(Experiment, Run)> = runs.into_iter().map(|(e, r, _)| (e, r)).collect();
    if !custom {
        let first = &runs[0].1.config;
        let path = args.out.join(format!(
            "task1_{}_{}.svg",
            first.dataset,
            shared_stem(first)
        ));
        comparison_figure(&path, &runs)?;
        println!("\nside by side: {}", path.display());
    }
    println!(
        "figures in {}/ ({} in {:.1}s)",
        args.out.display(),
        runs.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
