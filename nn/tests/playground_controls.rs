//! The Playground's controls beyond Task 1's four runs: L1/L2
//! regularisation (a loss on the tape, checked against its closed-form
//! gradient and finite differences), the ratio of training to test data,
//! the regression problem type with its two data sets, and the maps of what
//! every hidden unit computes (checked against the layer formulas by hand).

use autodiff::{Tape, Tensor};
use nn::data::{features, Dataset, Feature, Problem};
use nn::playground::{run, Config, OptimizerKind, Run};
use nn::{Activation, Init, Mlp, Module, Regularization, Session};

fn small_net() -> Mlp<f64> {
    Mlp::new(&[2, 3, 2], Activation::Tanh, Init::Playground, 11).unwrap()
}

fn weights(mlp: &Mlp<f64>) -> Vec<&nn::Param<f64>> {
    mlp.layers().iter().map(|l| &l.weight).collect()
}

#[test]
fn penalties_have_their_closed_form_values_and_gradients() {
    let mlp = small_net();
    let rate = 0.03;
    let all: Vec<f64> = weights(&mlp)
        .iter()
        .flat_map(|w| w.value().data().to_vec())
        .collect();
    for kind in [Regularization::L1, Regularization::L2] {
        let tape = Tape::new();
        let s = Session::train(&tape);
        let penalty = kind.penalty(&s, &weights(&mlp), rate).unwrap().unwrap();
        let expected = match kind {
            Regularization::L1 => rate * all.iter().map(|w| w.abs()).sum::<f64>(),
            _ => rate * 0.5 * all.iter().map(|w| w * w).sum::<f64>(),
        };
        let value = penalty.value().item().unwrap();
        assert!(
            (value - expected).abs() < 1e-15,
            "{kind}: {value} vs {expected}"
        );
        let grads = s.grads(penalty).unwrap();
        for layer in mlp.layers() {
            let g = grads.get(&layer.weight).expect("a weight gradient");
            for (&g, &w) in g.data().iter().zip(layer.weight.value().data()) {
                let closed = match kind {
                    Regularization::L1 => rate * w.signum(),
                    _ => rate * w,
                };
                assert_eq!(g, closed, "{kind}: ∂R/∂w at w = {w}");
            }
            let bias = layer.bias.as_ref().unwrap();
            assert!(
                grads.get(bias).is_none(),
                "{kind}: biases are not penalised"
            );
        }
    }
}

#[test]
fn nothing_is_added_without_a_penalty_and_a_bad_rate_is_an_error() {
    let mlp = small_net();
    let tape = Tape::new();
    let s = Session::train(&tape);
    assert!(Regularization::None
        .penalty(&s, &weights(&mlp), 0.1)
        .unwrap()
        .is_none());
    assert!(Regularization::L2
        .penalty(&s, &weights(&mlp), 0.0)
        .unwrap()
        .is_none());
    for bad in [f64::NAN, -0.1, f64::INFINITY] {
        let e = Regularization::L1
            .penalty(&s, &weights(&mlp), bad)
            .unwrap_err();
        assert_eq!(e.kind(), autodiff::ErrorKind::Argument);
        assert!(e.to_string().contains("regularisation rate"), "{e}");
        assert!(e.to_string().contains(file!()), "{e}");
    }
    assert_eq!("L2".parse::<Regularization>(), Ok(Regularization::L2));
    assert!("l3".parse::<Regularization>().is_err());
}

#[test]
fn each_penalty_passes_gradcheck() {
    use autodiff::{gradcheck, GradcheckOptions};
    // entries away from 0, where |w| has its kink
    let w = Tensor::from_vec(vec![0.7, -1.3, 0.25, -0.4, 2.0, -0.05], &[2, 3]).unwrap();
    for kind in [Regularization::L1, Regularization::L2] {
        // an error (ErrorKind::GradCheck) if any element is out of tolerance
        let report = gradcheck(
            |_, v| kind.of(v[0], 0.3),
            std::slice::from_ref(&w),
            &GradcheckOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(report.elements, 6);
    }
}

/// Cross-entropy of a batch plus the penalty, as a number, with the first
/// layer's weight replaced by `w0`.
fn penalised_loss(mlp: &Mlp<f64>, kind: Regularization, rate: f64, w0: &Tensor<f64>) -> f64 {
    let mut m = mlp.clone();
    let mut first = true; // the first parameter visited is layers.0.weight
    m.for_each_param_mut(&mut |p| {
        if std::mem::take(&mut first) {
            p.set_value(w0.clone()).unwrap();
        }
    });
    assert_eq!(m.layers()[0].weight.value(), w0);
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let x = s.input(Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.3, -0.7, 1.5], &[3, 2]).unwrap());
    let data = m.forward(&s, x).unwrap().cross_entropy(&[1, 0, 1]).unwrap();
    let penalty = kind.penalty(&s, &weights(&m), rate).unwrap().unwrap();
    data.add(penalty).unwrap().value().item().unwrap()
}

#[test]
fn the_penalised_loss_gradient_matches_central_differences() {
    let mlp = small_net();
    let rate = 0.05;
    for kind in [Regularization::L1, Regularization::L2] {
        let tape = Tape::new();
        let s = Session::train(&tape);
        let x = s.input(Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.3, -0.7, 1.5], &[3, 2]).unwrap());
        let data = mlp
            .forward(&s, x)
            .unwrap()
            .cross_entropy(&[1, 0, 1])
            .unwrap();
        let penalty = kind.penalty(&s, &weights(&mlp), rate).unwrap().unwrap();
        let grads = s.grads(data.add(penalty).unwrap()).unwrap();
        let w0 = mlp.layers()[0].weight.value().clone();
        let g = grads.get(&mlp.layers()[0].weight).unwrap();
        let h = 1e-6;
        for i in 0..w0.data().len() {
            let mut plus = w0.data().to_vec();
            let mut minus = w0.data().to_vec();
            plus[i] += h;
            minus[i] -= h;
            let fd = (penalised_loss(
                &mlp,
                kind,
                rate,
                &Tensor::from_vec(plus, w0.shape()).unwrap(),
            ) - penalised_loss(
                &mlp,
                kind,
                rate,
                &Tensor::from_vec(minus, w0.shape()).unwrap(),
            )) / (2.0 * h);
            assert!(
                (fd - g.data()[i]).abs() < 1e-7,
                "{kind}: weight {i}: tape {} vs differences {fd}",
                g.data()[i]
            );
        }
    }
}

fn circle(regularization: Regularization, rate: f64) -> Run {
    let config = Config {
        features: vec![Feature::X1, Feature::X2],
        hidden: vec![8, 8],
        activation: Activation::Relu,
        lr: 0.1,
        epochs: 60,
        regularization,
        regularization_rate: rate,
        ..Config::default()
    };
    run(&config, |_, _| {}).unwrap()
}

fn all_weights(r: &Run) -> Vec<f64> {
    r.model
        .layers()
        .iter()
        .flat_map(|l| l.weight.value().data().to_vec())
        .collect()
}

#[test]
fn l2_shrinks_the_weights_and_l1_makes_them_sparse() {
    let free = circle(Regularization::None, 0.0);
    let l2 = circle(Regularization::L2, 0.03);
    let l1 = circle(Regularization::L1, 0.03);
    let norm = |w: &[f64]| w.iter().map(|v| v * v).sum::<f64>().sqrt();
    // |w| < lr·rate: a weight L1 keeps oscillating around zero
    let near_zero = |w: &[f64]| w.iter().filter(|v| v.abs() < 0.1 * 0.03).count();
    let (wf, w2, w1) = (all_weights(&free), all_weights(&l2), all_weights(&l1));
    println!(
        "norm: none {:.3}, L2 {:.3}, L1 {:.3}; near zero: none {}, L2 {}, L1 {} of {}; test loss {:.3} {:.3} {:.3}",
        norm(&wf),
        norm(&w2),
        norm(&w1),
        near_zero(&wf),
        near_zero(&w2),
        near_zero(&w1),
        wf.len(),
        free.last().test_loss,
        l2.last().test_loss,
        l1.last().test_loss
    );
    assert!(norm(&w2) < 0.8 * norm(&wf));
    assert!(near_zero(&w1) >= near_zero(&wf) + wf.len() / 4);
    // and the net still classifies: the penalty is a pull, not a reset
    assert!(l2.last().test_accuracy > 0.9, "{:?}", l2.last());
}

#[test]
fn the_ratio_of_training_to_test_data_sets_the_split() {
    for (test_fraction, train_points) in [(0.9, 50), (0.5, 250), (0.1, 450)] {
        let r = run(
            &Config {
                test_fraction,
                epochs: 1,
                ..Config::default()
            },
            |_, _| {},
        )
        .unwrap();
        assert_eq!(
            (r.train.len(), r.test.len()),
            (train_points, 500 - train_points)
        );
    }
}

fn regression(dataset: Dataset, hidden: Vec<usize>, activation: Activation, epochs: usize) -> Run {
    let config = Config {
        dataset,
        hidden,
        activation,
        optimizer: OptimizerKind::Adam,
        lr: 0.01,
        epochs,
        ..Config::default()
    };
    run(&config, |_, _| {}).unwrap()
}

#[test]
fn a_linear_net_fits_the_plane_exactly() {
    let r = regression(Dataset::Plane, vec![], Activation::Linear, 40);
    assert_eq!(r.problem(), Problem::Regression);
    assert_eq!(r.model.widths(), [2, 1]);
    let last = r.last();
    println!("plane: {:?}", last);
    assert!(last.test_accuracy.is_nan(), "regression has no accuracy");
    assert!(last.test_loss < 1e-8, "{last:?}");
    // the fitted surface is the plane (x₁ + x₂)/10 everywhere on the map
    let n = 13;
    let grid = r.output_grid(6.0, n, n).unwrap();
    for (k, &v) in grid.iter().enumerate() {
        let x1 = -6.0 + (k % n) as f64;
        let x2 = 6.0 - (k / n) as f64;
        assert!((v - (x1 + x2) / 10.0).abs() < 1e-4, "at ({x1}, {x2}): {v}");
    }
}

#[test]
fn a_hidden_layer_fits_the_six_bumps_a_linear_net_cannot() {
    // most of the plane is 0, so a plane through the middle already has a
    // small loss (≈ 0.04); the bumps themselves need the hidden units
    let linear = regression(Dataset::MultiGauss, vec![], Activation::Linear, 200);
    let tanh = regression(Dataset::MultiGauss, vec![8, 8], Activation::Tanh, 200);
    let (l, t) = (linear.last().test_loss, tanh.last().test_loss);
    println!("multigauss test loss: linear {l:.4}, tanh [8, 8] {t:.4}");
    assert!(t < 0.3 * l, "tanh {t} against linear {l}");
}

#[test]
fn every_hidden_unit_map_is_its_layer_formula_and_the_output_combines_them() {
    for activation in [Activation::Sigmoid, Activation::Relu] {
        let config = Config {
            features: vec![Feature::X1, Feature::X2],
            activation,
            hidden: vec![4, 2],
            lr: 0.3,
            epochs: 30,
            ..Config::default()
        };
        let r = run(&config, |_, _| {}).unwrap();
        let (extent, n) = (6.0, 9);
        let maps = r.hidden_unit_grids(extent, n, n).unwrap();
        let out = r.output_grid(extent, n, n).unwrap();
        let layers = r.model.layers();
        let f = |z: f64| match activation {
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            _ => z.max(0.0),
        };
        for k in 0..n * n {
            let x = [
                -extent + (k % n) as f64 * 1.5,
                extent - (k / n) as f64 * 1.5,
            ];
            // first hidden layer: a₁[j] = f(W₁[j]·x + b₁[j]), computed by hand
            let mut a: Vec<f64> = x.to_vec();
            for (l, layer) in layers[..2].iter().enumerate() {
                let (w, b) = (layer.weight.value(), layer.bias.as_ref().unwrap().value());
                let inputs = a.len();
                a = (0..layer.out_features())
                    .map(|j| {
                        f((0..inputs)
                            .map(|i| w.data()[j * inputs + i] * a[i])
                            .sum::<f64>()
                            + b.data()[j])
                    })
                    .collect();
                for (j, &v) in a.iter().enumerate() {
                    assert!(
                        (maps[l][j][k] - v).abs() < 1e-12,
                        "{activation}: layer {l} unit {j} at {x:?}"
                    );
                }
            }
            // the output margin z₁ − z₀ is a weighted sum of the last maps
            let (w, b) = (
                layers[2].weight.value(),
                layers[2].bias.as_ref().unwrap().value(),
            );
            let margin: f64 = (0..2)
                .map(|j| (w.data()[2 + j] - w.data()[j]) * maps[1][j][k])
                .sum::<f64>()
                + b.data()[1]
                - b.data()[0];
            assert!(
                (out[k] - margin).abs() < 1e-12,
                "{activation}: output at {x:?}"
            );
        }
    }
}

#[test]
fn regression_sets_have_playgrounds_targets() {
    let p = Dataset::MultiGauss.generate(400, 0.0, 3).unwrap();
    for (xy, &t) in p.xy.iter().zip(&p.targets) {
        assert!((-1.0..=1.0).contains(&t));
        // at least 2 away from every centre the target is 0
        let far = [
            (-4.0, 2.5),
            (0.0, 2.5),
            (4.0, 2.5),
            (-4.0, -2.5),
            (0.0, -2.5),
            (4.0, -2.5),
        ]
        .iter()
        .all(|&(cx, cy)| (xy[0] - cx).hypot(xy[1] - cy) >= 2.0);
        if far {
            assert_eq!(t, 0.0, "at {xy:?}");
        }
    }
    let x = features::<f64>(&p, &[Feature::X1]);
    assert_eq!(x.shape(), &[400, 1]);
    assert!("multi-gauss".parse::<Dataset>() == Ok(Dataset::MultiGauss));
    assert!("planes".parse::<Dataset>().is_err());
}
