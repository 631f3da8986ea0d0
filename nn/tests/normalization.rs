//! BatchNorm1d/2d, LayerNorm and Dropout against their formulas written
//! out by hand (PyTorch's definitions), the closed-form batch-norm
//! gradient, finite differences, and a save/load round trip of the running
//! statistics.

use autodiff::{gradcheck, ErrorKind, GradcheckOptions, Tape, Tensor};
use nn::ops::normalize;
use nn::{BatchNorm1d, BatchNorm2d, Dropout, LayerNorm, Module, Sequential, Session};

/// Per-channel mean and biased variance of `[n, c, h, w]` data.
fn channel_stats(x: &Tensor<f64>) -> (Vec<f64>, Vec<f64>) {
    let [n, c, h, w] = <[usize; 4]>::try_from(x.shape()).unwrap();
    let values =
        |ch: usize| (0..n).flat_map(move |i| (0..h * w).map(move |p| (i * c + ch) * h * w + p));
    let count = (n * h * w) as f64;
    let mean: Vec<f64> = (0..c)
        .map(|ch| values(ch).map(|k| x.data()[k]).sum::<f64>() / count)
        .collect();
    let var = (0..c)
        .map(|ch| {
            values(ch)
                .map(|k| (x.data()[k] - mean[ch]).powi(2))
                .sum::<f64>()
                / count
        })
        .collect();
    (mean, var)
}

#[test]
fn batch_norm_2d_trains_on_batch_statistics_with_the_closed_form_gradient() {
    let x = Tensor::<f64>::rand_uniform(&[3, 2, 4, 5], -2.0, 3.0, 1);
    let mut bn = BatchNorm2d::<f64>::new(2).unwrap();
    // a γ and β other than 1 and 0
    let mut k = 0;
    bn.for_each_param_mut(&mut |p| {
        let v = if k == 0 { [1.5, -0.5] } else { [0.25, 2.0] };
        p.set_value(Tensor::from_vec(v.to_vec(), &[2]).unwrap())
            .unwrap();
        k += 1;
    });
    let (gamma, beta) = ([1.5, -0.5], [0.25, 2.0]);
    let tape = Tape::new();
    let s = Session::train(&tape);
    let xv = s.input_with_grad(x.clone());
    let y = bn.forward(&s, xv).unwrap();
    // an upstream gradient that is not constant: L = Σ r ⊙ y
    let r = Tensor::<f64>::rand_uniform(&[3, 2, 4, 5], -1.0, 1.0, 2);
    let loss = y.mul(tape.constant(r.clone())).unwrap().sum().unwrap();
    let (params, inputs) = s.grads_and_input_grads(loss, &[xv]).unwrap();

    let (mean, var) = channel_stats(&x);
    let eps = 1e-5;
    let n = 3.0 * 20.0;
    let plane = 20;
    for ch in 0..2 {
        let sd = (var[ch] + eps).sqrt();
        let idx: Vec<usize> = (0..3)
            .flat_map(|i| (0..plane).map(move |p| (i * 2 + ch) * plane + p))
            .collect();
        let xhat: Vec<f64> = idx.iter().map(|&k| (x.data()[k] - mean[ch]) / sd).collect();
        let g: Vec<f64> = idx.iter().map(|&k| r.data()[k] * gamma[ch]).collect(); // ∂L/∂x̂
        let (sum_g, sum_gx) = (
            g.iter().sum::<f64>(),
            g.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>(),
        );
        for (m, &k) in idx.iter().enumerate() {
            let want_y = gamma[ch] * xhat[m] + beta[ch];
            assert!((y.value().data()[k] - want_y).abs() < 1e-12);
            // ∂L/∂x = (N·ĝ − Σĝ − x̂·Σ(ĝ x̂)) / (N·σ)
            let want_dx = (n * g[m] - sum_g - xhat[m] * sum_gx) / (n * sd);
            assert!((inputs[0].data()[k] - want_dx).abs() < 1e-11, "dx at {k}");
        }
        let dgamma: f64 = idx.iter().zip(&xhat).map(|(&k, xh)| r.data()[k] * xh).sum();
        let dbeta: f64 = idx.iter().map(|&k| r.data()[k]).sum();
        let mut found = 0;
        bn.visit_params("", &mut |name, p| {
            let g = params.get(p).unwrap().data()[ch];
            let want = if name == "weight" { dgamma } else { dbeta };
            assert!((g - want).abs() < 1e-11, "{name}[{ch}]: {g} vs {want}");
            found += 1;
        });
        assert_eq!(found, 2);
    }
}

#[test]
fn running_statistics_follow_the_momentum_rule_and_serve_evaluation() {
    let bn = BatchNorm2d::<f64>::new(2).unwrap();
    let batches = [
        Tensor::<f64>::rand_uniform(&[2, 2, 3, 3], 0.0, 4.0, 3),
        Tensor::<f64>::rand_uniform(&[2, 2, 3, 3], -5.0, 1.0, 4),
    ];
    let (mut rm, mut rv) = (vec![0.0, 0.0], vec![1.0, 1.0]);
    for x in &batches {
        let tape = Tape::new();
        let s = Session::train(&tape);
        bn.forward(&s, s.input(x.clone())).unwrap();
        let (mean, var) = channel_stats(x);
        let n = 18.0;
        for ch in 0..2 {
            rm[ch] = 0.9 * rm[ch] + 0.1 * mean[ch];
            rv[ch] = 0.9 * rv[ch] + 0.1 * var[ch] * n / (n - 1.0); // unbiased
        }
    }
    let (mean, var) = bn.running_stats();
    for ch in 0..2 {
        assert!((mean.data()[ch] - rm[ch]).abs() < 1e-14);
        assert!((var.data()[ch] - rv[ch]).abs() < 1e-14);
    }
    // evaluation: (x − running mean)/√(running var + ε), and no update
    let x = Tensor::<f64>::rand_uniform(&[1, 2, 2, 2], -1.0, 1.0, 5);
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let y = bn.forward(&s, s.input(x.clone())).unwrap().value();
    for k in 0..8 {
        let ch = k / 4;
        let want = (x.data()[k] - rm[ch]) / (rv[ch] + 1e-5).sqrt();
        assert!((y.data()[k] - want).abs() < 1e-14);
    }
    assert_eq!(
        bn.running_stats().0.data(),
        mean.data(),
        "evaluation updates nothing"
    );
}

#[test]
fn running_statistics_are_saved_and_loaded_with_the_model() {
    let trained = Sequential::<f64>::new()
        .push(BatchNorm1d::new(3).unwrap())
        .push(nn::Linear::new(3, 2, nn::Init::XavierUniform, 1));
    let tape = Tape::new();
    let s = Session::train(&tape);
    let x = Tensor::<f64>::rand_uniform(&[5, 3], -1.0, 2.0, 6);
    trained.forward(&s, s.input(x.clone())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bn.safetensors");
    nn::save(&trained, &path).unwrap();
    let mut names = Vec::new();
    trained.visit_buffers("", &mut |n, _| names.push(n.to_string()));
    assert_eq!(names, ["0.running_mean", "0.running_var"]);

    let mut fresh = Sequential::<f64>::new()
        .push(BatchNorm1d::new(3).unwrap())
        .push(nn::Linear::new(3, 2, nn::Init::XavierUniform, 9));
    nn::load(&mut fresh, &path).unwrap();
    let eval = |m: &Sequential<f64>| {
        let tape = Tape::new();
        let s = Session::eval(&tape);
        m.forward(&s, s.input(x.clone())).unwrap().value()
    };
    assert_eq!(eval(&trained), eval(&fresh));
    // a file without the buffers is missing something the model has
    let plain = Sequential::<f64>::new().push(nn::Linear::new(3, 2, nn::Init::XavierUniform, 1));
    let other = dir.path().join("plain.safetensors");
    nn::save(&plain, &other).unwrap();
    let mut bn_only = BatchNorm1d::<f64>::new(3).unwrap();
    let e = nn::load(&mut bn_only, &other).unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
}

#[test]
fn batch_norm_refuses_inputs_it_cannot_normalise_naming_the_caller() {
    let bn = BatchNorm2d::<f64>::new(3).unwrap();
    let tape = Tape::new();
    let s = Session::train(&tape);
    let e = bn
        .forward(&s, s.input(Tensor::zeros(&[2, 4, 3, 3])))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert!(
        e.to_string().contains("4 channels on axis 1, the layer 3"),
        "{e}"
    );
    assert!(e.to_string().contains(file!()), "{e}");
    let e = bn
        .forward(&s, s.input(Tensor::zeros(&[2, 3, 3])))
        .unwrap_err();
    assert!(e.to_string().contains("must be [n, c, h, w]"), "{e}");
    let e = bn
        .forward(&s, s.input(Tensor::zeros(&[1, 3, 1, 1])))
        .unwrap_err();
    assert!(
        e.to_string().contains("more than one value per channel"),
        "{e}"
    );
    assert!(BatchNorm1d::<f64>::with_options(2, 0.0, 0.1, true).is_err());
    assert!(BatchNorm1d::<f64>::with_options(2, 1e-5, 1.5, true).is_err());
}

#[test]
fn normalisation_passes_gradcheck_to_second_order() {
    let x = Tensor::rand_uniform(&[3, 2, 2, 3], -1.0, 1.0, 8);
    let r = Tensor::rand_uniform(&[3, 2, 2, 3], -1.0, 1.0, 9);
    let options = GradcheckOptions::default();
    for axes in [vec![0, 2, 3], vec![-1], vec![-2, -1]] {
        gradcheck(
            |tape, v| {
                let (xhat, _, _) = normalize(v[0], &axes, 1e-5)?;
                xhat.mul(tape.constant(r.clone()))?.sum()
            },
            std::slice::from_ref(&x),
            &options,
        )
        .unwrap_or_else(|e| panic!("axes {axes:?}: {e}"));
    }
    gradcheck(
        |tape, v| {
            let (xhat, _, _) = normalize(v[0], &[0, 2, 3], 1e-5)?;
            let loss = xhat.mul(tape.constant(r.clone()))?.sum()?;
            loss.grad(v[0])?.square()?.sum()
        },
        std::slice::from_ref(&x),
        &options,
    )
    .unwrap();
}

#[test]
fn layer_norm_normalises_each_sample_over_its_last_axes() {
    let ln = LayerNorm::<f64>::new(&[2, 3]).unwrap();
    let x = Tensor::<f64>::rand_uniform(&[4, 2, 3], -3.0, 3.0, 10);
    let tape = Tape::new();
    let s = Session::train(&tape);
    let y = ln.forward(&s, s.input(x.clone())).unwrap().value();
    for sample in 0..4 {
        let v = &x.data()[sample * 6..(sample + 1) * 6];
        let mean = v.iter().sum::<f64>() / 6.0;
        let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 6.0;
        for (k, a) in v.iter().enumerate() {
            let want = (a - mean) / (var + 1e-5).sqrt();
            assert!((y.data()[sample * 6 + k] - want).abs() < 1e-12);
        }
    }
    assert_eq!(ln.param_names(), ["weight", "bias"]);
    let e = ln
        .forward(&s, s.input(Tensor::zeros(&[4, 3, 2])))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("does not end in the normalized shape [2, 3]"),
        "{e}"
    );
}

#[test]
fn dropout_masks_are_seeded_scaled_and_carry_the_gradient() {
    let x = Tensor::<f64>::rand_uniform(&[50, 40], 1.0, 2.0, 11);
    let run = |drop: &Dropout| {
        let tape = Tape::new();
        let s = Session::train(&tape);
        let xv = s.input_with_grad(x.clone());
        let y = drop.forward(&s, xv).unwrap();
        let (_, g) = s.grads_and_input_grads(y.sum().unwrap(), &[xv]).unwrap();
        (y.value(), g[0].clone())
    };
    let (a, b) = (Dropout::new(0.3, 5).unwrap(), Dropout::new(0.3, 5).unwrap());
    let (y1, g1) = run(&a);
    let (y2, _) = run(&a);
    assert_eq!(run(&b).0, y1, "the same seed, the same first mask");
    assert_ne!(y1, y2, "the next pass draws the next mask");
    let kept = g1.data().iter().filter(|&&g| g != 0.0).count() as f64 / 2000.0;
    assert!((kept - 0.7).abs() < 0.04, "kept {kept}");
    for ((&y, &g), &x) in y1.data().iter().zip(g1.data()).zip(x.data()) {
        // y = x·m/(1 − p) and ∂y/∂x = m/(1 − p), m ∈ {0, 1}
        assert!(g == 0.0 || (g - 1.0 / 0.7).abs() < 1e-12);
        assert!((y - x * g).abs() < 1e-12);
    }
    let all = Dropout::new(1.0, 1).unwrap();
    assert!(run(&all).0.data().iter().all(|&v| v == 0.0));
    assert!(Dropout::new(f64::NAN, 1).is_err() && Dropout::new(-0.1, 1).is_err());
}
