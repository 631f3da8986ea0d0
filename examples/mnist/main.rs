//! Appendix B of the lecture note: LeNet-5 learns real handwritten digits
//! (MNIST, 60,000 training and 10,000 test images, committed in data/mnist).
//! Prints per-epoch loss, test accuracy and time; writes a figure of test
//! digits with their predictions (mistakes in red) and the confusion matrix.
//!
//! ```sh
//! cargo run --release --example mnist                 # LeNet-5, 3 epochs
//! cargo run --release --example mnist -- --model mlp  # an MLP on the same data
//! cargo run --release --example mnist -- --subset 5000 --epochs 1   # a quick look
//! cargo run --release --example mnist -- --chunk-rows 0   # one sweep per batch, no chunks
//! # data-parallel on two processes (cargo feature mpi; Open MPI installed)
//! cargo build --release --features mpi --example mnist
//! mpirun -np 2 target/release/examples/mnist --distributed
//! ```

#[path = "../support/mod.rs"]
mod support;

mod job;

use std::path::PathBuf;
use std::time::Instant;

use autodiff::{Tape, Tensor};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nn::chunked::grads_in_chunks;
use nn::data::files::{load_mnist, Labelled};
use nn::data::ShardedBatches;
use nn::optim::{Adam, CosineLr, LrSchedule, Optimizer, Sgd};
use nn::{loss, models, Init, Module, Sequential, Session};
use plotters::prelude::*;
use support::plot;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Model {
    /// LeNet-5: two 5×5 convolutions with max pooling, then 120 → 84 → 10
    Lenet,
    /// An MLP 784 → 256 → 128 → 10 with ReLU
    Mlp,
    /// A small VGG-style CNN: 3×3 convolutions with batch norm, max
    /// pooling, global average pooling, dropout 0.25 (nn::models::vgg_small)
    Vgg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OptimizerKind {
    Adam,
    Sgd,
}

/// Train a network on MNIST.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Which network
    #[arg(long, value_enum, default_value_t = Model::Lenet)]
    model: Model,
    /// Epochs over the training set
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Mini-batch size
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Initial learning rate, annealed by a cosine schedule over the run
    #[arg(long, default_value_t = 2e-3, value_parser = support::learning_rate)]
    lr: f64,
    /// adam, or sgd with momentum 0.9
    #[arg(long, value_enum, default_value_t = OptimizerKind::Adam)]
    optimizer: OptimizerKind,
    /// Train on the first N training images only (0: all 60,000)
    #[arg(long, default_value_t = 0)]
    subset: usize,
    /// Seed of the weights and the batch order
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder holding the four MNIST .gz files
    /// (the default is relative to the working directory: the project's root)
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Where to write the figure [default: a name made of the settings,
    /// such as mnist_lenet_e3_b64_adam-lr0.002_all_seed1.svg]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Save the trained weights to this safetensors file
    #[arg(long)]
    save: Option<PathBuf>,
    /// Start from the weights in this safetensors file
    #[arg(long)]
    load: Option<PathBuf>,
    /// Rows per chunk of a batch, chunks run on rayon's threads
    /// (`nn::chunked`; 0: one sweep over the whole batch). The results do
    /// not depend on the number of threads [default: 32; 0 for vgg, whose
    /// batch norm should see the whole batch]
    #[arg(long)]
    chunk_rows: Option<usize>,
    /// Train data-parallel as one rank of an `mpirun` job: each process
    /// takes its shard of every global batch of --batch examples (needs the
    /// cargo feature mpi)
    #[arg(long)]
    distributed: bool,
    /// With --distributed: check after every epoch that all replicas hold
    /// the same parameters (always on in debug builds)
    #[arg(long)]
    check_replicas: bool,
}

fn main() {
    support::exit_on_error(try_main());
}

/// Logits of `net` for the images `indices` of `data`, in chunks, without
/// recording.
fn predict(
    net: &Sequential<f32>,
    data: &Labelled,
    indices: &[usize],
) -> Result<Tensor<f32>, Box<dyn std::error::Error>> {
    let mut logits = Vec::with_capacity(indices.len() * 10);
    for chunk in indices.chunks(1000) {
        let tape = Tape::new();
        let s = Session::eval(&tape);
        let z = net.forward(&s, s.input(data.images.to_tensor(chunk)?))?;
        logits.extend_from_slice(z.value().data());
    }
    Ok(Tensor::from_vec(logits, &[indices.len(), 10])?)
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let job = job::Job::start(args.distributed)?;
    let result = train(&args, &job);
    job.finish(result)
}

fn train(args: &Args, job: &job::Job) -> Result<(), Box<dyn std::error::Error>> {
    // only rank 0 prints, draws and saves
    macro_rules! say {
        ($($t:tt)*) => { if job.is_root() { println!($($t)*); } };
    }
    if args.epochs == 0 || args.batch == 0 {
        return Err("--epochs and --batch must be at least 1".into());
    }
    let t = Instant::now();
    let mnist = load_mnist(&args.data)?;
    let train = if args.subset > 0 {
        mnist
            .train
            .select(&(0..args.subset.min(mnist.train.len())).collect::<Vec<_>>())?
    } else {
        mnist.train.clone()
    };
    say!(
        "MNIST: {} training and {} test images (loaded in {:.1}s)",
        train.len(),
        mnist.test.len(),
        t.elapsed().as_secs_f64()
    );
    let mut net = match args.model {
        Model::Lenet => models::lenet5::<f32>(Init::HeUniform, args.seed)?,
        Model::Mlp => models::image_mlp::<f32>(784, &[256, 128], Init::HeUniform, args.seed)?,
        Model::Vgg => {
            if job.size() > 1 {
                // each process would keep running statistics of its own shard
                return Err(
                    "--model vgg cannot train --distributed: its batch norm's running \
                            statistics are not shared between processes"
                        .into(),
                );
            }
            models::vgg_small::<f32>(0.25, Init::HeUniform, args.seed)?
        }
    };
    let chunk_rows = args.chunk_rows.unwrap_or(match args.model {
        Model::Vgg => 0,
        Model::Lenet | Model::Mlp => 32,
    });
    say!(
        "{:?}: {} parameters, {:?} lr {}, batch {}{}\n",
        args.model,
        net.num_params(),
        args.optimizer,
        args.lr,
        args.batch,
        if job.size() > 1 {
            format!(" split across {} processes", job.size())
        } else {
            String::new()
        }
    );
    if let Some(path) = &args.load {
        nn::load(&mut net, path)?;
        say!("weights from {}", path.display());
    }
    job.share_weights(&mut net);
    if train.is_empty() || mnist.test.is_empty() {
        return Err(format!(
            "{}: the training set ({} images) and the test set ({} images) must not be empty",
            args.data.display(),
            train.len(),
            mnist.test.len()
        )
        .into());
    }
    let mut opt: Box<dyn Optimizer<f32>> = match args.optimizer {
        OptimizerKind::Adam => Box::new(Adam::new(args.lr)?),
        OptimizerKind::Sgd => Box::new(Sgd::new(args.lr)?.momentum(0.9)?),
    };
    // the same global batches in every process; this process's shard of each
    let mut batches = ShardedBatches::new(
        train.len(),
        args.batch,
        args.seed + 100,
        job.rank(),
        job.size(),
    )?;
    // this process's part of the test set, for the per-epoch accuracy
    let my_tests: Vec<usize> = (job.rank()..mnist.test.len()).step_by(job.size()).collect();
    let steps = batches.len() * args.epochs;
    let schedule = CosineLr {
        base: args.lr,
        min: args.lr * 0.02,
        epochs: steps,
    };

    say!(
        "{:>5} {:>11} {:>13} {:>9}",
        "epoch",
        "train loss",
        "test accuracy",
        "time"
    );
    let mut step = 0;
    for epoch in 1..=args.epochs {
        let started = Instant::now();
        let bar = if job.is_root() {
            ProgressBar::new(batches.len() as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "  epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg} ({eta} left)",
            )?
            .progress_chars("=> "),
        );
        bar.set_prefix(epoch.to_string());
        let (mut total, mut seen) = (0.0f64, 0usize);
        for (k, shard) in batches.epoch().enumerate() {
            opt.set_lr(schedule.lr(step));
            step += 1;
            let batch = &shard.indices;
            let mut grads = nn::ParamGrads::default();
            if !batch.is_empty() {
                let labels: Vec<usize> = batch.iter().map(|&i| train.labels[i]).collect();
                let x = train.images.to_tensor(batch)?;
                let chunk_rows = if chunk_rows == 0 {
                    batch.len()
                } else {
                    chunk_rows
                };
                let (value, g) = grads_in_chunks(&x, chunk_rows, |s, x, rows| {
                    net.forward(s, x)?.cross_entropy(&labels[rows])
                })?;
                // stop at the first non-finite loss, before a NaN model is saved
                let value = loss::check_finite(value, epoch, k + 1)?;
                grads = g;
                total += value * batch.len() as f64;
                seen += batch.len();
            }
            job.reduce(&net, &mut grads, batch.len(), shard.global)?;
            opt.step(&mut net, &grads)?;
            bar.inc(1);
            if bar.position() % 50 == 0 {
                bar.set_message(format!("{:.4}", total / seen as f64));
            }
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        if cfg!(debug_assertions) || args.check_replicas {
            job.check_replicas(&net)?;
        }
        let my_labels: Vec<usize> = my_tests.iter().map(|&i| mnist.test.labels[i]).collect();
        let my_accuracy = loss::accuracy(&predict(&net, &mnist.test, &my_tests)?, &my_labels)?;
        let right = job.sum((my_accuracy * my_tests.len() as f64).round());
        let (total, seen) = (job.sum(total), job.sum(seen as f64));
        say!(
            "{epoch:>5} {:>11.4} {:>12.2}% {:>8.1}s (training {train_seconds:.1}s)",
            total / seen,
            100.0 * right / mnist.test.len() as f64,
            started.elapsed().as_secs_f64()
        );
    }
    if !job.is_root() {
        return Ok(());
    }
    let all: Vec<usize> = (0..mnist.test.len()).collect();
    let logits = predict(&net, &mnist.test, &all)?;
    let predictions: Vec<usize> = logits.data().chunks(10).map(loss::argmax).collect();
    let wrong = predictions
        .iter()
        .zip(&mnist.test.labels)
        .filter(|(p, l)| p != l)
        .count();
    println!(
        "\ntest accuracy {:.2}% ({wrong} of {} wrong)",
        100.0 * (1.0 - wrong as f64 / predictions.len() as f64),
        predictions.len()
    );

    if let Some(path) = &args.save {
        nn::save(&net, path)?;
        println!("weights: {}", path.display());
    }
    let accuracy = 1.0 - wrong as f64 / predictions.len() as f64;
    let settings = format!(
        "MNIST · {:?} · {} epochs, batch {}, {:?} lr {} (cosine), {} training images{} · seed {} · test accuracy {:.2} %",
        args.model,
        args.epochs,
        args.batch,
        args.optimizer,
        args.lr,
        train.len(),
        if job.size() > 1 {
            format!(" on {} processes", job.size())
        } else {
            String::new()
        },
        args.seed,
        100.0 * accuracy
    );
    let svg = figure(&settings, &mnist.test, &predictions)?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "mnist_{:?}_e{}_b{}_{:?}-lr{}_{}_seed{}.svg",
            args.model,
            args.epochs,
            args.batch,
            args.optimizer,
            args.lr,
            if args.subset == 0 {
                "all".to_string()
            } else {
                format!("n{}", args.subset)
            },
            args.seed
        ))
        .to_string_lossy()
        .to_lowercase()
        .into()
    });
    support::write_atomically(&out, svg.as_bytes())?;
    println!("figure: {}", out.display());
    Ok(())
}

/// The run's `settings` over 48 test digits (the first 36, then the next
/// 12 mistakes) with their predicted labels, beside the confusion matrix.
fn figure(
    settings: &str,
    test: &Labelled,
    predictions: &[usize],
) -> Result<String, Box<dyn std::error::Error>> {
    // fewer than 36 test images: show them all
    let first = test.len().min(36);
    let mistakes: Vec<usize> = (first..test.len())
        .filter(|&i| predictions[i] != test.labels[i])
        .take(12)
        .collect();
    let shown: Vec<usize> = (0..first).chain(mistakes).collect();
    let mut confusion = [[0usize; 10]; 10];
    for (p, &l) in predictions.iter().zip(&test.labels) {
        confusion[l][*p] += 1;
    }
    plot::svg((1100, 590), |root| {
        let body = plot::title_bar(root, settings)?;
        let (left, right) = body.split_horizontally(560);
        left.titled(
            "test digits: predicted (true) — mistakes in red",
            ("sans-serif", 16),
        )?;
        let cell = 66;
        for (k, &i) in shown.iter().enumerate() {
            let (gx, gy) = (
                10 + (k % 8) as i32 * cell,
                36 + (k / 8) as i32 * (cell + 16),
            );
            let pixels: Vec<u8> = test
                .images
                .image(i)?
                .iter()
                .flat_map(|&p| [255 - p; 3])
                .collect();
            let big: Vec<u8> = (0..56 * 56)
                .flat_map(|q| {
                    let (y, x) = (q / 56 / 2, q % 56 / 2);
                    let o = (y * 28 + x) * 3;
                    [pixels[o], pixels[o + 1], pixels[o + 2]]
                })
                .collect();
            let img =
                BitMapElement::with_owned_buffer((gx, gy), (56, 56), big).ok_or("digit bitmap")?;
            left.draw(&img)?;
            let ok = predictions[i] == test.labels[i];
            let (text, color) = if ok {
                (format!("{}", predictions[i]), BLACK)
            } else {
                (
                    format!("{} ({})", predictions[i], test.labels[i]),
                    RGBColor(214, 39, 40),
                )
            };
            left.draw(&Text::new(
                text,
                (gx + 18, gy + 58),
                ("sans-serif", 13).into_font().color(&color),
            ))?;
            if !ok {
                left.draw(&Rectangle::new(
                    [(gx - 2, gy - 2), (gx + 57, gy + 57)],
                    RGBColor(214, 39, 40).stroke_width(2),
                ))?;
            }
        }
        right.titled(
            "confusion matrix (rows: true digit, columns: predicted)",
            ("sans-serif", 16),
        )?;
        let max_off = (0..10)
            .flat_map(|r| (0..10).filter(move |&c| c != r).map(move |c| (r, c)))
            .map(|(r, c)| confusion[r][c])
            .max()
            .unwrap_or(1)
            .max(1);
        let (x0, y0, size) = (50, 60, 44);
        for r in 0..10 {
            right.draw(&Text::new(
                format!("{r}"),
                (x0 - 20, y0 + r as i32 * size + 16),
                ("sans-serif", 13),
            ))?;
            right.draw(&Text::new(
                format!("{r}"),
                (x0 + r as i32 * size + 18, y0 - 18),
                ("sans-serif", 13),
            ))?;
            for c in 0..10 {
                let n = confusion[r][c];
                let fill = if r == c {
                    RGBColor(8, 119, 189)
                } else {
                    let t = (n as f64 / max_off as f64).sqrt();
                    RGBColor(255, (255.0 - 180.0 * t) as u8, (255.0 - 200.0 * t) as u8)
                };
                let (x, y) = (x0 + c as i32 * size, y0 + r as i32 * size);
                right.draw(&Rectangle::new(
                    [(x, y), (x + size - 2, y + size - 2)],
                    fill.filled(),
                ))?;
                let color = if r == c { WHITE } else { BLACK };
                right.draw(&Text::new(
                    format!("{n}"),
                    (x + 6, y + 14),
                    ("sans-serif", 11).into_font().color(&color),
                ))?;
            }
        }
        Ok(())
    })
}
