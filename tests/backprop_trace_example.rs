//! The `backprop_trace` example (Task 2 traced) shows all ten quantities of
//! the derivation for ReLU and for Sigmoid, and the hand computation from
//! each formula agrees with the tape to 1e-12 every time; its Markdown page
//! holds the same steps.

mod common;

use std::process::Command;

#[test]
fn every_step_of_the_traced_backprop_agrees_with_the_tape() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("trace.md");
    let out = Command::new(common::example_binary("backprop_trace"))
        .arg("--markdown")
        .arg(&page)
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diffs: Vec<f64> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("max |hand − tape| = "))
        .map(|v| v.parse().expect("a number"))
        .collect();
    assert_eq!(diffs.len(), 20, "ten steps for each activation:\n{stdout}");
    assert!(diffs.iter().all(|&d| d <= 1e-12), "{diffs:?}");
    for name in [
        "∂L/∂ŷ",
        "diag(ŷ) − ŷ ŷᵀ",
        "δ2 = ∂L/∂z2",
        "1[z1 > 0]",
        "σ(z1) ⊙ (1 − σ(z1))",
        "δ1 = ∂L/∂z1",
        "∂L/∂W2",
        "∂L/∂b2",
        "∂L/∂W1",
        "∂L/∂b1",
    ] {
        assert!(stdout.contains(name), "{name} is missing:\n{stdout}");
    }
    let md = std::fs::read_to_string(&page).unwrap();
    assert_eq!(md.matches("### ").count(), 20, "{md}");
    assert!(md.contains("## σ = ReLU") && md.contains("## σ = Sigmoid"));
}
