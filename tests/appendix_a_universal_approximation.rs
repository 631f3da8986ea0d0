//! Appendix A of the lecture note: a net with one hidden layer of squashing
//! units (sigmoid, as in Hornik, Stinchcombe and White 1989) and a linear
//! output approximates continuous functions on [−π, π], better as the layer
//! widens. Each width is fitted from three seeds (full-batch Adam, 4,000
//! steps); the best fit per width is what the network can do, the others
//! show how training can stall.

use nn::approximation::{fit_best_of, Fit, FitConfig, Target};
use nn::Activation;

const WIDTHS: [usize; 5] = [1, 2, 4, 8, 32];

fn best_fit(target: Target, width: usize) -> Fit {
    let config = FitConfig {
        target,
        width,
        activation: Activation::Sigmoid,
        ..FitConfig::default()
    };
    fit_best_of(&config, 1..=3).expect("a fit")
}

/// The best max error for each width, asserted to fall strictly as the
/// width grows.
fn falling_errors(target: Target) -> Vec<f64> {
    let e: Vec<f64> = WIDTHS
        .iter()
        .map(|&w| best_fit(target, w).max_error)
        .collect();
    println!("{}, max error by width {WIDTHS:?}: {e:.4?}", target.name());
    for k in 1..e.len() {
        assert!(
            e[k] < e[k - 1],
            "width {} ({}) is no better than width {} ({})",
            WIDTHS[k],
            e[k],
            WIDTHS[k - 1],
            e[k - 1]
        );
    }
    e
}

#[test]
fn the_max_error_on_sin_falls_with_width_and_32_units_are_within_0_05() {
    let e = falling_errors(Target::Sin);
    assert!(e[4] < 0.05, "32 units: max error {}", e[4]);
}

#[test]
fn the_max_error_on_the_kinked_abs_falls_with_width() {
    let e = falling_errors(Target::Abs);
    assert!(e[4] < 0.1, "32 units: max error {}", e[4]);
}

#[test]
fn a_step_is_approximated_in_mean_square_but_never_uniformly() {
    // A continuous net cannot be within less than ½ of both sides of a jump,
    // so the max error stays at 0.5 — the theorem's convergence for such
    // targets is in measure, and the mean squared error does fall.
    let narrow = best_fit(Target::Step, 1);
    let wide = best_fit(Target::Step, 32);
    println!(
        "step: width 1 mse {:.4e} max {:.3}; width 32 mse {:.4e} max {:.3}",
        narrow.train_mse, narrow.max_error, wide.train_mse, wide.max_error
    );
    assert!(wide.train_mse < 0.5 * narrow.train_mse);
    assert!(wide.max_error > 0.45);
}
