//! `playground::run` stops with an error that names the caller's line —
//! at the first non-finite training loss (naming the epoch and step) and
//! for a configuration it cannot train (an empty training set, NaN noise,
//! a learning rate that is not a number) — instead of drawing NaN figures.

use autodiff::ErrorKind;
use nn::data::Dataset;
use nn::playground::{run, Config, OptimizerKind};
use nn::Activation;

#[test]
fn a_diverging_run_stops_at_the_first_non_finite_loss_naming_epoch_and_step() {
    let config = Config {
        dataset: Dataset::Gauss,
        // linear layers: weights of 1e300 multiply to infinity, then NaN
        activation: Activation::Linear,
        lr: 1e300,
        optimizer: OptimizerKind::Sgd,
        epochs: 5,
        ..Config::default()
    };
    let mut epochs_seen = Vec::new();
    let e = run(&config, |epoch, _| epochs_seen.push(epoch)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Anomaly);
    let text = e.to_string();
    assert!(text.starts_with("training: the loss is"), "{text}");
    assert!(text.contains("at epoch 1, step "), "{text}");
    assert!(text.contains(file!()), "{text}");
    assert_eq!(
        epochs_seen,
        [0],
        "no epoch after the divergence was reported"
    );
}

#[test]
fn an_empty_training_set_is_reported_as_such() {
    let config = Config {
        points: 1,
        test_fraction: 0.5,
        ..Config::default()
    };
    let e = run(&config, |_, _| {}).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Argument);
    assert!(
        e.message()
            .contains("the training set is empty: 1 points × (1 − test fraction 0.5) rounds to 0"),
        "{e}"
    );
    assert!(e.to_string().contains(file!()), "{e}");
}

#[test]
fn bad_configurations_are_errors_naming_what_was_wrong() {
    let cases: Vec<(Config, &str)> = vec![
        (
            Config {
                noise: f64::NAN,
                ..Config::default()
            },
            "Dataset::generate: noise NaN",
        ),
        (
            Config {
                lr: f64::NAN,
                ..Config::default()
            },
            "Sgd::new: learning rate NaN",
        ),
        (
            Config {
                lr: -1.0,
                optimizer: OptimizerKind::Adam,
                ..Config::default()
            },
            "Adam::new: learning rate -1",
        ),
        (
            Config {
                test_fraction: f64::NAN,
                ..Config::default()
            },
            "train_test_split: test fraction NaN",
        ),
        (
            Config {
                batch: 0,
                ..Config::default()
            },
            "Batches::new: batch size 0",
        ),
    ];
    for (config, want) in cases {
        let e = run(&config, |_, _| {}).unwrap_err().to_string();
        assert!(e.starts_with(want), "{e}");
        assert!(e.contains(file!()), "{e}");
    }
}
