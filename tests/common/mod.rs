//! Independent references for the tests: plain loops over `Vec<f64>`, with
//! no tape and no kernel of the library, so that a test compares the tape
//! against a truth computed another way.
#![allow(dead_code)]

use autodiff::Tensor;

/// Row-major matrix product of plain slices, `[m, k] · [k, n]`.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                c[i * n + j] += a[i * k + p] * b[p * n + j];
            }
        }
    }
    c
}

/// Transpose of a row-major `[r, c]` matrix.
pub fn transpose(a: &[f64], r: usize, c: usize) -> Vec<f64> {
    let mut t = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            t[j * r + i] = a[i * c + j];
        }
    }
    t
}

/// Softmax of one vector, straight from the definition `e^{zⱼ} / Σ e^{zₖ}`
/// (shifted by the maximum, which cancels in the ratio).
pub fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Largest absolute difference between a tensor and a plain vector of the
/// same length.
pub fn max_diff(t: &Tensor<f64>, expected: &[f64]) -> f64 {
    assert_eq!(t.numel(), expected.len(), "element counts differ");
    t.data()
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// The example binary `name` that `cargo test` builds beside the test
/// binaries, in `target/<profile>/examples`.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile>/deps/<test>")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples (with `--test`, \
         build them first: `cargo build --profile test --examples`)",
        path.display()
    );
    path
}
