//! Optimizers against their update rules, written out step by step here as
//! plain arithmetic (the reference), on the quadratic L(θ) = ½ Σ θ², whose
//! gradient is θ itself.

use autodiff::{Result, Tape, Tensor, Var};
use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Module, Param, ParamGrads, Session};

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

/// Runs `steps` steps of `opt` on L = ½ Σ θ² and returns θ after each.
fn trajectory(opt: &mut dyn Optimizer<f64>, steps: usize) -> Vec<Vec<f64>> {
    let mut model = Theta(Param::new(Tensor::from_vec(START.to_vec(), &[3]).unwrap()));
    let mut out = Vec::new();
    for _ in 0..steps {
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
        let grads = s.grads(loss).unwrap();
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
            .momentum(mu)
            .weight_decay(wd)
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
    let got = trajectory(&mut Sgd::new(0.25), 3);
    for (k, theta) in got.iter().enumerate() {
        for (t, s) in theta.iter().zip(START) {
            assert!((t - s * 0.75f64.powi(k as i32 + 1)).abs() < 1e-15);
        }
    }
}

#[test]
fn adam_follows_its_rule_with_bias_correction() {
    let (lr, b1, b2, eps) = (0.05, 0.8, 0.95, 1e-6);
    let mut opt = Adam::new(lr).betas(b1, b2).eps(eps);
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
        &mut Adam::new(0.1) as &mut dyn Optimizer<f64>,
        &mut Sgd::new(0.1).momentum(0.5),
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
    let err = Sgd::new(0.1).step(&mut model, &grads).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Sgd::step: parameter theta has shape [3] but its gradient [4]"
    );
    let err = Adam::new(0.1).step(&mut model, &grads).unwrap_err();
    assert!(err.to_string().starts_with("Adam::step: parameter theta"));
}

#[test]
fn learning_rates_can_be_read_and_set() {
    let mut opt = Adam::<f64>::new(0.1);
    opt.set_lr(0.01);
    assert_eq!(opt.lr(), 0.01);
    let mut sgd = Sgd::<f32>::new(0.5);
    sgd.set_lr(0.25);
    assert_eq!(sgd.lr(), 0.25);
}
