//! Optimizers against their update rules, written out step by step here as
//! plain arithmetic (the reference), on the quadratic L(θ) = ½ Σ θ², whose
//! gradient is θ itself.

use autodiff::{Result, Tape, Tensor, Var};
use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Linear, Module, Param, ParamGrads, Session};

/// A module that is just one parameter vector.
struct Theta(Param<f64>);

impl Module<f64> for Theta {
    fn forward<'t>(&self, s: &Session<'t, f64>, _: Var<'t, f64>) -> Result<Var<'t, f64>> {
        Ok(s.param(&self.0))
    }
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<f64>)) {
        f(&nn::join(prefix, "theta"), &self.0);
    }
    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<f64>)) {
        f(&nn::join(prefix, "theta"), &mut self.0);
    }
}

const START: [f64; 3] = [1.0, -2.0, 0.5];

/// The gradient of L = ½ Σ θ² (θ itself), from the tape.
fn quadratic_grads(model: &Theta) -> ParamGrads<f64> {
    let tape = Tape::new();
    let s = Session::train(&tape);
    let theta = model.forward(&s, tape.scalar(0.0)).unwrap();
    let loss = theta
        .square()
        .unwrap()
        .sum()
        .unwrap()
        .mul_scalar(0.5)
        .unwrap();
    s.grads(loss).unwrap()
}

/// Runs `steps` steps of `opt` on L = ½ Σ θ² and returns θ after each.
fn trajectory(opt: &mut dyn Optimizer<f64>, steps: usize) -> Vec<Vec<f64>> {
    let mut model = Theta(Param::new(Tensor::from_vec(START.to_vec(), &[3]).unwrap()));
    let mut out = Vec::new();
    for _ in 0..steps {
        let grads = quadratic_grads(&model);
        opt.step(&mut model, &grads).unwrap();
        out.push(model.0.value().to_vec());
    }
    out
}

fn assert_traj(got: &[Vec<f64>], want: &[Vec<f64>]) {
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        for (a, b) in g.iter().zip(w) {
            assert!((a - b).abs() < 1e-14, "step {}: {a} vs {b}", k + 1);
        }
    }
}

#[test]
fn sgd_with_momentum_weight_decay_and_nesterov_follows_its_rule() {
    let (lr, mu, wd) = (0.1, 0.9, 0.01);
    for nesterov in [false, true] {
        let mut opt = Sgd::new(lr)
            .and_then(|o| o.momentum(mu))
            .and_then(|o| o.weight_decay(wd))
            .unwrap()
            .nesterov(nesterov);
        let got = trajectory(&mut opt, 6);
        // reference: g = θ + λθ; v = g (first) or μv + g; θ −= η(v or g + μv)
        let mut theta = START.to_vec();
        let mut v = [0.0; 3];
        let mut want = Vec::new();
        for step in 0..6 {
            for i in 0..3 {
                let g = theta[i] + wd * theta[i];
                v[i] = if step == 0 { g } else { mu * v[i] + g };
                theta[i] -= lr * if nesterov { g + mu * v[i] } else { v[i] };
            }
            want.push(theta.clone());
        }
        assert_traj(&got, &want);
    }
}

#[test]
fn plain_sgd_shrinks_by_one_minus_lr() {
    let got = trajectory(&mut Sgd::new(0.25).unwrap(), 3);
    for (k, theta) in got.iter().enumerate() {
        for (t, s) in theta.iter().zip(START) {
            assert!((t - s * 0.75f64.powi(k as i32 + 1)).abs() < 1e-15);
        }
    }
}

#[test]
fn adam_follows_its_rule_with_bias_correction() {
    let (lr, b1, b2, eps) = (0.05, 0.8, 0.95, 1e-6);
    let mut opt = Adam::new(lr)
        .and_then(|o| o.betas(b1, b2))
        .and_then(|o| o.eps(eps))
        .unwrap();
    let got = trajectory(&mut opt, 8);
    let mut theta = START.to_vec();
    let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
    let mut want = Vec::new();
    for t in 1..=8 {
        for i in 0..3 {
            let g = theta[i];
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let m_hat = m[i] / (1.0 - f64::powi(b1, t));
            let v_hat = v[i] / (1.0 - f64::powi(b2, t));
            theta[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        want.push(theta.clone());
    }
    assert_traj(&got, &want);
}

#[test]
fn adam_and_sgd_minimise_the_quadratic() {
    for opt in [
        &mut Adam::new(0.1).unwrap() as &mut dyn Optimizer<f64>,
        &mut Sgd::new(0.1).and_then(|o| o.momentum(0.5)).unwrap(),
    ] {
        let last = trajectory(opt, 300).pop().unwrap();
        assert!(last.iter().all(|t| t.abs() < 1e-3), "{last:?}");
    }
}

#[test]
fn a_gradient_of_the_wrong_shape_is_an_error_naming_the_parameter() {
    let mut model = Theta(Param::new(Tensor::zeros(&[3])));
    let mut grads = ParamGrads::default();
    grads.insert(&model.0, Tensor::zeros(&[4]));
    let err = Sgd::new(0.1).unwrap().step(&mut model, &grads).unwrap_err();
    assert_eq!(
        (err.op(), err.message()),
        (
            "Sgd::step",
            "parameter theta has shape [3] but its gradient [4]"
        )
    );
    let err = Adam::new(0.1)
        .unwrap()
        .step(&mut model, &grads)
        .unwrap_err();
    assert!(err.to_string().starts_with("Adam::step: parameter theta"));
}

#[test]
fn learning_rates_can_be_read_and_set() {
    let mut opt = Adam::<f64>::new(0.1).unwrap();
    opt.set_lr(0.01);
    assert_eq!(opt.lr(), 0.01);
    let mut sgd = Sgd::<f32>::new(0.5).unwrap();
    sgd.set_lr(0.25);
    assert_eq!(sgd.lr(), 0.25);
}

#[test]
fn optimizers_refuse_hyperparameters_that_are_not_numbers_or_out_of_range() {
    let bad_rates = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.1];
    for lr in bad_rates {
        let e = Sgd::<f64>::new(lr).unwrap_err();
        assert_eq!(e.kind(), autodiff::ErrorKind::Argument);
        assert!(e.to_string().starts_with("Sgd::new: learning rate"), "{e}");
        assert!(e.to_string().contains(file!()), "{e}");
        let e = Adam::<f64>::new(lr).unwrap_err();
        assert!(e.to_string().starts_with("Adam::new: learning rate"), "{e}");
    }
    let sgd = || Sgd::<f64>::new(0.1).unwrap();
    for mu in [f64::NAN, -0.5, 1.0, 2.0] {
        assert!(sgd().momentum(mu).is_err(), "momentum {mu}");
    }
    for wd in [f64::NAN, f64::INFINITY, -1e-4] {
        assert!(sgd().weight_decay(wd).is_err(), "weight decay {wd}");
    }
    let adam = || Adam::<f64>::new(0.1).unwrap();
    for eps in [0.0, -1e-8, f64::NAN, f64::INFINITY] {
        let e = adam().eps(eps).unwrap_err();
        assert!(e.to_string().starts_with("Adam::eps: eps"), "{e}");
    }
    for (b1, b2) in [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (f64::NAN, 0.999)] {
        assert!(adam().betas(b1, b2).is_err(), "betas {b1}, {b2}");
    }
    assert!(adam().weight_decay(f64::NAN).is_err());
    // the edges that are valid
    assert!(Sgd::<f64>::new(0.0).is_ok());
    assert!(sgd().momentum(0.0).is_ok() && adam().betas(0.0, 0.0).is_ok());
}

#[test]
fn a_learning_rate_set_to_nan_fails_the_next_step_and_changes_no_weight() {
    let mut model =
        Linear::from_tensors(Tensor::from_vec(vec![1.0f64], &[1, 1]).unwrap(), None).unwrap();
    let tape = Tape::new();
    let s = Session::train(&tape);
    let y = model
        .forward(&s, s.input(Tensor::from_vec(vec![2.0], &[1, 1]).unwrap()))
        .unwrap();
    let grads = s.grads(y.sum().unwrap()).unwrap();
    let optimizers: [Box<dyn Optimizer<f64> + Send>; 2] = [
        Box::new(Sgd::new(0.1).unwrap()),
        Box::new(Adam::new(0.1).unwrap()),
    ];
    for mut opt in optimizers {
        opt.set_lr(f64::NAN);
        let e = opt.step(&mut model, &grads).unwrap_err();
        assert!(e.to_string().contains("learning rate NaN"), "{e}");
        assert_eq!(model.weight.value().data(), &[1.0]);
    }
}

#[test]
fn adamw_decays_the_weights_apart_from_the_gradient() {
    let (lr, wd, b1, b2, eps) = (0.05, 0.1, 0.9, 0.999, 1e-8);
    let got = trajectory(
        &mut nn::optim::AdamW::new(lr).unwrap().weight_decay(wd).unwrap(),
        6,
    );
    let mut theta = START.to_vec();
    let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
    let mut want = Vec::new();
    for t in 1..=6 {
        for i in 0..3 {
            let g = theta[i]; // ∂(½θ²)/∂θ, taken before the decay
            theta[i] *= 1.0 - lr * wd;
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let (mh, vh) = (m[i] / (1.0 - b1.powi(t)), v[i] / (1.0 - b2.powi(t)));
            theta[i] -= lr * mh / (vh.sqrt() + eps);
        }
        want.push(theta.clone());
    }
    assert_traj(&got, &want);
}

#[test]
fn rmsprop_follows_its_rule_plain_centred_and_with_momentum() {
    let (lr, alpha, eps, wd, mu) = (0.01, 0.9, 1e-8, 0.05, 0.5);
    for (centered, momentum) in [(false, 0.0), (true, 0.0), (false, mu), (true, mu)] {
        let mut opt = nn::optim::RmsProp::new(lr)
            .unwrap()
            .alpha(alpha)
            .unwrap()
            .eps(eps)
            .unwrap()
            .weight_decay(wd)
            .unwrap()
            .momentum(momentum)
            .unwrap()
            .centered(centered);
        let got = trajectory(&mut opt, 6);
        let mut theta = START.to_vec();
        let (mut sq, mut avg, mut buf) = (vec![0.0; 3], vec![0.0; 3], vec![0.0; 3]);
        let mut want = Vec::new();
        for _ in 0..6 {
            for i in 0..3 {
                let g = theta[i] + wd * theta[i];
                sq[i] = alpha * sq[i] + (1.0 - alpha) * g * g;
                avg[i] = alpha * avg[i] + (1.0 - alpha) * g;
                let denom = if centered {
                    sq[i] - avg[i] * avg[i]
                } else {
                    sq[i]
                }
                .sqrt()
                    + eps;
                if momentum > 0.0 {
                    buf[i] = momentum * buf[i] + g / denom;
                    theta[i] -= lr * buf[i];
                } else {
                    theta[i] -= lr * g / denom;
                }
            }
            want.push(theta.clone());
        }
        assert_traj(&got, &want);
    }
}

#[test]
fn clipping_scales_all_gradients_to_the_global_norm_only_when_above_it() {
    let a = Param::new(Tensor::<f64>::zeros(&[2]));
    let b = Param::new(Tensor::<f64>::zeros(&[1]));
    let mut grads = ParamGrads::default();
    grads.insert(&a, Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
    grads.insert(&b, Tensor::from_vec(vec![2.0], &[1]).unwrap());
    let mut small = grads.clone();
    assert_eq!(small.clip_global_norm(10.0).unwrap(), 3.0);
    assert_eq!(
        small.get(&a).unwrap().data(),
        &[1.0, 2.0],
        "below the bound: unchanged"
    );
    assert_eq!(grads.clip_global_norm(1.5).unwrap(), 3.0);
    assert_eq!(grads.get(&a).unwrap().data(), &[0.5, 1.0]);
    assert_eq!(grads.get(&b).unwrap().data(), &[1.0]);
    assert!(grads.clip_global_norm(f64::NAN).is_err());
    let mut bad = ParamGrads::default();
    bad.insert(
        &a,
        Tensor::from_vec(vec![f64::INFINITY, 0.0], &[2]).unwrap(),
    );
    let e = bad.clip_global_norm(1.0).unwrap_err();
    assert_eq!(e.kind(), autodiff::ErrorKind::Anomaly);
}

#[test]
fn frozen_parameters_get_no_gradient_and_no_update() {
    let mut body = Linear::<f64>::new(3, 4, nn::Init::XavierUniform, 1);
    let mut head = Linear::<f64>::new(4, 2, nn::Init::XavierUniform, 3);
    body.set_trainable(false);
    let before = body.weight.value().clone();
    let mut opt = Adam::new(0.1).unwrap();
    let x = Tensor::rand_uniform(&[5, 3], -1.0, 1.0, 4);
    for _ in 0..3 {
        let tape = Tape::new();
        let s = Session::train(&tape);
        let h = body
            .forward(&s, s.input(x.clone()))
            .unwrap()
            .tanh()
            .unwrap();
        let loss = head
            .forward(&s, h)
            .unwrap()
            .cross_entropy(&[0, 1, 0, 1, 1])
            .unwrap();
        let grads = s.grads(loss).unwrap();
        assert_eq!(grads.len(), 2, "only the head's weight and bias");
        assert!(grads.get(&body.weight).is_none());
        opt.step(&mut body, &grads).unwrap();
        opt.step(&mut head, &grads).unwrap();
    }
    assert_eq!(body.weight.value(), &before);
    body.set_trainable(true);
    assert!(body.weight.is_trainable() && body.bias.as_ref().unwrap().is_trainable());
}

#[test]
fn adamw_and_rmsprop_refuse_hyperparameters_out_of_range() {
    use nn::optim::{AdamW, RmsProp};
    assert!(AdamW::<f64>::new(f64::NAN).is_err());
    assert!(AdamW::<f64>::new(0.1).unwrap().weight_decay(-1.0).is_err());
    assert!(AdamW::<f64>::new(0.1).unwrap().betas(1.0, 0.9).is_err());
    assert!(RmsProp::<f64>::new(-0.1).is_err());
    assert!(RmsProp::<f64>::new(0.1).unwrap().alpha(1.0).is_err());
    assert!(RmsProp::<f64>::new(0.1).unwrap().eps(0.0).is_err());
    assert!(RmsProp::<f64>::new(0.1)
        .unwrap()
        .momentum(f64::INFINITY)
        .is_err());
    let e = RmsProp::<f64>::new(0.1)
        .unwrap()
        .weight_decay(-2.0)
        .unwrap_err();
    assert!(e.to_string().contains("weight decay -2 is invalid"), "{e}");
}

/// θ after `steps` steps of `make()`'s optimizer on L = ½ Σ θ² from `start`,
/// every step run inside a rayon pool of `threads` threads.
fn trajectory_on_threads(
    make: &dyn Fn() -> Box<dyn Optimizer<f64> + Send>,
    start: &[f64],
    steps: usize,
    threads: usize,
) -> Vec<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut opt = make();
    let mut model = Theta(Param::new(
        Tensor::from_vec(start.to_vec(), &[start.len()]).unwrap(),
    ));
    for _ in 0..steps {
        let grads = quadratic_grads(&model);
        pool.install(|| opt.step(&mut model, &grads)).unwrap();
    }
    model.0.value().to_vec()
}

#[test]
fn large_parameters_are_updated_in_parts_with_the_same_bits_as_whole() {
    // above nn::optim::PARALLEL_UPDATE_MIN_ELEMENTS, and not a multiple of
    // two, so that the parts differ in length
    let n = 3 * nn::optim::PARALLEL_UPDATE_MIN_ELEMENTS + 5;
    let start: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f64 / 250.0 - 2.0)
        .collect();
    type Make = Box<dyn Fn() -> Box<dyn Optimizer<f64> + Send>>;
    let makes: Vec<(&str, Make)> = vec![
        ("sgd", Box::new(|| Box::new(Sgd::new(0.1).unwrap()))),
        (
            "sgd momentum nesterov",
            Box::new(|| {
                let o = Sgd::new(0.1).and_then(|o| o.momentum(0.9)).unwrap();
                Box::new(o.nesterov(true))
            }),
        ),
        ("adam", Box::new(|| Box::new(Adam::new(0.05).unwrap()))),
        (
            "adamw",
            Box::new(|| Box::new(nn::optim::AdamW::new(0.05).unwrap())),
        ),
        (
            "rmsprop centred momentum",
            Box::new(|| {
                let o = nn::optim::RmsProp::new(0.01)
                    .and_then(|o| o.momentum(0.5))
                    .unwrap();
                Box::new(o.centered(true))
            }),
        ),
    ];
    for (name, make) in &makes {
        let whole = trajectory_on_threads(make.as_ref(), &start, 4, 1);
        let parts = trajectory_on_threads(make.as_ref(), &start, 4, 3);
        assert!(whole != start, "{name}: the steps moved θ");
        let same = whole
            .iter()
            .zip(&parts)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{name}: parts on three threads differ from the whole");
    }
    // and the parts follow the rule: plain SGD shrinks θ by (1 − η) a step
    let got = trajectory_on_threads(makes[0].1.as_ref(), &start, 2, 3);
    for (g, s) in got.iter().zip(&start) {
        let mut want = *s;
        for _ in 0..2 {
            want -= 0.1 * want;
        }
        assert_eq!(g.to_bits(), want.to_bits());
    }
}
