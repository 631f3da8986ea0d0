//! Appendix A of the lecture note: one hidden layer of sigmoid units fits
//! sin x, |x| and a step on [−π, π]; the figure draws the fitted curves of
//! each width over the target and the max error against the width, and
//! the table gives the max and RMS errors.
//!
//! ```sh
//! cargo run --release --example universal_approximation
//! ```

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;

use clap::Parser;
use indicatif::ProgressBar;
use nn::approximation::{fit_best_of, predict, FitConfig, Target};
use nn::Activation;
use plotters::prelude::*;
use support::plot;

/// Fit 1-D targets with one hidden layer of growing width.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Comma-separated hidden widths
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,32")]
    widths: Vec<usize>,
    /// sigmoid or tanh (the theorem's squashing functions; linear and relu also run)
    #[arg(long, default_value = "sigmoid")]
    activation: Activation,
    /// Full-batch Adam steps per fit
    #[arg(long, default_value_t = 4000)]
    steps: usize,
    /// Fits per width (the best is kept)
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Where to write the figure [default: a name made of the settings,
    /// such as universal_approximation_sigmoid_w1-2-4-8-32_steps4000_seeds3.svg]
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() {
    support::exit_on_error(try_main());
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.widths.is_empty() || args.widths.contains(&0) || args.seeds == 0 || args.steps == 0 {
        return Err("--widths must be positive, --seeds and --steps at least 1".into());
    }
    let targets = [Target::Sin, Target::Abs, Target::Step];
    let half = std::f64::consts::PI;
    let xs: Vec<f64> = (0..=400)
        .map(|i| -half + 2.0 * half * i as f64 / 400.0)
        .collect();
    let colors = [
        RGBColor(214, 39, 40),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(31, 119, 180),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    let bar = ProgressBar::new((targets.len() * args.widths.len()) as u64);
    let mut panels = Vec::new();
    let mut table = Vec::new();
    for target in targets {
        let mut fits = Vec::new();
        let mut row = Vec::new();
        for (k, &width) in args.widths.iter().enumerate() {
            let config = FitConfig {
                target,
                width,
                activation: args.activation,
                steps: args.steps,
                ..FitConfig::default()
            };
            let f = fit_best_of(&config, 1..=args.seeds)?;
            row.push((f.max_error, f.train_mse.sqrt()));
            fits.push((
                format!("{width} unit{}", if width == 1 { "" } else { "s" }),
                predict(&f.model, &xs)?,
                colors[k % colors.len()],
            ));
            bar.inc(1);
        }
        let ys: Vec<f64> = xs.iter().map(|&x| target.eval(x)).collect();
        panels.push((target, ys, fits));
        table.push((target, row));
    }
    bar.finish_and_clear();

    println!(
        "one hidden layer of {} units on [−π, π], best of {} seeds, {} Adam steps\n",
        args.activation, args.seeds, args.steps
    );
    print!("{:<8}", "target");
    for w in &args.widths {
        print!(" {:>16}", format!("width {w}"));
    }
    println!(
        "\n{:<8}{}",
        "",
        " max err / rms  ".repeat(args.widths.len())
    );
    for (target, row) in &table {
        print!("{:<8}", target.name());
        for (max, rms) in row {
            print!(" {:>7.4} / {:<6.4}", max, rms);
        }
        println!();
    }

    let widths: Vec<String> = args.widths.iter().map(|w| w.to_string()).collect();
    let settings = format!(
        "Appendix A: one hidden layer of {} units, linear output · 200 points on [−π, π] · \
         full-batch Adam, {} steps · best of {} seeds",
        args.activation, args.steps, args.seeds
    );
    let error_curves: Vec<plot::PointSeries> = table
        .iter()
        .zip(&colors)
        .map(|((target, row), &c)| {
            let points = args.widths.iter().zip(row).map(|(&w, e)| (w as f64, e.0));
            (format!("{} (max)", target.name()), points.collect(), c)
        })
        .chain(
            table
                .iter()
                .filter(|(t, _)| *t == Target::Step)
                .map(|(t, row)| {
                    let points = args.widths.iter().zip(row).map(|(&w, e)| (w as f64, e.1));
                    (format!("{} (RMS)", t.name()), points.collect(), colors[3])
                }),
        )
        .collect();
    let svg = plot::svg((1320, 780), |root| {
        let body = plot::title_bar(root, &settings)?;
        let cells = body.split_evenly((2, 2));
        for (area, (target, ys, fits)) in cells.iter().zip(&panels) {
            let title = format!("{} — fitted by 1 hidden layer", target.name());
            plot::fitted_curves(area, &title, &xs, ys, fits)?;
        }
        plot::log_log_curves(
            &cells[3],
            "error against hidden width: more units, better fit",
            ("hidden units", "error on [−π, π]"),
            &error_curves,
        )
    })?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "universal_approximation_{}_w{}_steps{}_seeds{}.svg",
            args.activation,
            widths.join("-"),
            args.steps,
            args.seeds
        ))
    });
    support::write_atomically(&out, svg.as_bytes())?;
    println!("\nfigure: {}", out.display());
    Ok(())
}
