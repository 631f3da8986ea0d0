//! The examples' command lines refuse bad input before any work is done:
//! a learning rate that is not a usable number, `--help` taken for a file
//! name, a test set too small for the figure. Each runs the example binary
//! that `cargo test` builds beside this test.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::example_binary as example;

fn run(name: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(example(name))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the example runs")
}

#[test]
fn learning_rates_that_are_not_usable_numbers_are_refused_by_the_command_lines() {
    let dir = tempfile::tempdir().unwrap();
    for lr in ["nan", "inf", "-inf", "1e300", "-1", "0", "fast"] {
        for name in ["playground", "mnist"] {
            let arg = format!("--lr={lr}");
            let out = run(name, &[&arg, "--epochs", "1"], dir.path());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} --lr {lr}: {stderr}");
            assert!(
                stderr.contains("--lr") && stderr.contains(lr),
                "{name} --lr {lr}: {stderr}"
            );
        }
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

#[test]
fn graph_export_help_prints_help_and_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("graph_export", &["--help"], dir.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let out = run("graph_export", &["net.dot"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dot = std::fs::read_to_string(dir.path().join("net.dot")).unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
}

/// An IDX file (gzip) of `count` 28×28 images or labels.
fn write_idx(path: &Path, labels: bool, count: usize) {
    use std::io::Write;
    let mut bytes = Vec::new();
    if labels {
        bytes.extend([0, 0, 8, 1]);
        bytes.extend((count as u32).to_be_bytes());
        bytes.extend((0..count).map(|i| (i % 10) as u8));
    } else {
        bytes.extend([0, 0, 8, 3]);
        for extent in [count as u32, 28, 28] {
            bytes.extend(extent.to_be_bytes());
        }
        bytes.extend((0..count * 784).map(|i| (i * 7 % 256) as u8));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

#[test]
fn mnist_with_fewer_than_36_test_images_draws_its_figure() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mnist");
    std::fs::create_dir(&data).unwrap();
    write_idx(&data.join("train-images-idx3-ubyte.gz"), false, 20);
    write_idx(&data.join("train-labels-idx1-ubyte.gz"), true, 20);
    write_idx(&data.join("t10k-images-idx3-ubyte.gz"), false, 5);
    write_idx(&data.join("t10k-labels-idx1-ubyte.gz"), true, 5);
    let out = run(
        "mnist",
        &[
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--batch",
            "8",
            "--model",
            "mlp",
            "--out",
            "fig.svg",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let svg = std::fs::read_to_string(dir.path().join("fig.svg")).unwrap();
    assert!(svg.contains("<svg"), "a figure was written");
}

#[test]
fn mnist_with_an_empty_test_set_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mnist");
    std::fs::create_dir(&data).unwrap();
    write_idx(&data.join("train-images-idx3-ubyte.gz"), false, 4);
    write_idx(&data.join("train-labels-idx1-ubyte.gz"), true, 4);
    write_idx(&data.join("t10k-images-idx3-ubyte.gz"), false, 0);
    write_idx(&data.join("t10k-labels-idx1-ubyte.gz"), true, 0);
    let out = run(
        "mnist",
        &["--data", data.to_str().unwrap(), "--epochs", "1"],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the test set (0 images)"), "{stderr}");
}

#[test]
fn playground_refuses_bad_controls_and_names_each_figure_by_all_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--train-percent", "95"),
        ("--train-percent", "5"),
        ("--regularization", "l3"),
        ("--regularization-rate", "nan"),
        ("--regularization-rate", "-1"),
        ("--dataset", "planes"),
    ] {
        let arg = format!("{flag}={value}");
        let out = run("playground", &[&arg, "--epochs", "1"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let common = [
        "--dataset",
        "plane",
        "--hidden",
        "2",
        "--epochs",
        "2",
        "--regularization",
        "l1",
        "--regularization-rate",
        "0.01",
        "--train-percent",
        "70",
        "--out",
        "figs",
    ];
    for lr in ["0.1", "0.2"] {
        let mut args = common.to_vec();
        args.extend(["--lr", lr]);
        let out = run("playground", &args, dir.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("figs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "two settings, two figures: {names:?}");
    for (name, lr) in names.iter().zip(["0.1", "0.2"]) {
        for part in [
            "plane",
            "_h2_",
            &format!("lr{lr}_"),
            "l1-0.01",
            "train70",
            "seed1",
        ] {
            assert!(name.contains(part), "{name} lacks {part}");
        }
        let svg = std::fs::read_to_string(dir.path().join("figs").join(name)).unwrap();
        // the settings in the title, axes, colour bar, legend, unit maps
        for text in [
            "plane · x1, x2 · tanh · hidden [2]",
            "70 % training",
            "L1 0.01",
            ">\nx1\n<",
            ">\nx2\n<",
            ">\nepoch\n<",
            "predicted value",
            "training points",
            "test points",
            "what each hidden unit computes",
        ] {
            assert!(svg.contains(text), "{name} lacks '{text}'");
        }
        // points are vectors: one circle pair per point, not pixels
        assert!(svg.matches("<circle").count() >= 2 * 500, "{name}");
    }
}
