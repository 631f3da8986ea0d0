//! `mnist --distributed` under `mpirun` learns what one process learns:
//! LeNet-5 on 3,000 committed MNIST training images for one epoch, in one
//! process and data-parallel in 2 and 3 processes (an uneven split), ends
//! with the same training loss and test accuracy up to f32 rounding; only
//! rank 0 prints, draws and saves.
//!
//! Needs the example built with the feature, which `cargo test --features
//! mpi --test mnist_distributed` alone does not do (`.ci/run` does both):
//!
//! ```sh
//! cargo build --profile test --features mpi --example mnist
//! cargo test --features mpi --test mnist_distributed
//! ```
#![cfg(feature = "mpi")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `mnist` example beside this test (`target/<profile>/examples`).
fn mnist() -> PathBuf {
    common::example_binary("mnist")
}

const ARGS: [&str; 8] = [
    "--subset",
    "3000",
    "--epochs",
    "1",
    "--seed",
    "3",
    "--data",
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"),
];

/// The training loss and test accuracy (percent) of the last epoch row.
fn loss_and_accuracy(stdout: &str) -> (f64, f64) {
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap_or_else(|| panic!("no epoch row in:\n{stdout}"));
    let fields: Vec<&str> = row.split_whitespace().collect();
    let loss = fields[1].parse().expect("a loss");
    let accuracy = fields[2]
        .trim_end_matches('%')
        .parse()
        .expect("an accuracy");
    (loss, accuracy)
}

fn run_distributed(ranks: usize, dir: &Path) -> String {
    // coreutils' timeout ends a job that hangs
    let out = Command::new("timeout")
        .args([
            "120",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
        ])
        .arg(ranks.to_string())
        .args(["--mca", "btl_vader_single_copy_mechanism", "none"])
        .args(["-x", "RAYON_NUM_THREADS=1"])
        .arg(mnist())
        .arg("--distributed")
        .args(ARGS)
        .args(["--out", "fig.svg", "--save", "model.safetensors"])
        .current_dir(dir)
        .output()
        .expect("mpirun (Debian: openmpi-bin) is installed");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mpirun -np {ranks}:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("split across {ranks} processes")),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("test accuracy ") || l.starts_with("MNIST: "))
            .count(),
        2,
        "only rank 0 prints:\n{stdout}"
    );
    assert!(dir.join("fig.svg").exists() && dir.join("model.safetensors").exists());
    stdout
}

#[test]
fn mnist_distributed_learns_what_one_process_learns() {
    let one = tempfile::tempdir().unwrap();
    let out = Command::new(mnist())
        .args(ARGS)
        .args(["--out", "fig.svg"])
        .env("RAYON_NUM_THREADS", "1")
        .current_dir(one.path())
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let (loss, accuracy) = loss_and_accuracy(&stdout);
    assert!(accuracy > 80.0, "one process learned too little:\n{stdout}");
    for ranks in [2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let (l, a) = loss_and_accuracy(&run_distributed(ranks, dir.path()));
        assert!(
            (l - loss).abs() <= 0.01 && (a - accuracy).abs() <= 0.3,
            "{ranks} processes: loss {l}, accuracy {a}%; one process: loss {loss}, accuracy {accuracy}%"
        );
        // the saved model holds only parameters: the file exists once,
        // written by rank 0, and is complete
        assert!(
            std::fs::metadata(dir.path().join("model.safetensors"))
                .unwrap()
                .len()
                > 200_000
        );
    }
}
