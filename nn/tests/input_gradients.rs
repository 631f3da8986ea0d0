//! The gradient with respect to a model's input, from `Session`: against
//! central differences of the loss in each input element, in a training
//! session (beside the parameters' gradients) and an evaluation session.

use autodiff::{ErrorKind, Tape, Tensor};
use nn::{Activation, Init, Mlp, Module, Session};

fn loss_at(mlp: &Mlp<f64>, x: &Tensor<f64>, labels: &[usize]) -> f64 {
    let tape = Tape::new();
    let s = Session::eval(&tape);
    mlp.forward(&s, s.input(x.clone()))
        .and_then(|y| y.cross_entropy(labels))
        .and_then(|l| l.value().item())
        .unwrap()
}

#[test]
fn input_gradients_match_central_differences_in_training_and_evaluation() {
    let mlp = Mlp::<f64>::new(&[3, 5, 4], Activation::Tanh, Init::XavierUniform, 3).unwrap();
    let x = Tensor::rand_uniform(&[2, 3], -1.0, 1.0, 9);
    let labels = [2, 0];
    for training in [true, false] {
        let tape = Tape::new();
        let s = if training {
            Session::train(&tape)
        } else {
            Session::eval(&tape)
        };
        let xv = s.input_with_grad(x.clone());
        let loss = mlp.forward(&s, xv).unwrap().cross_entropy(&labels).unwrap();
        let (params, inputs) = s.grads_and_input_grads(loss, &[xv]).unwrap();
        assert_eq!(params.len(), if training { 4 } else { 0 });
        let g = &inputs[0];
        assert_eq!(g.shape(), x.shape());
        let h = 1e-6;
        for i in 0..6 {
            let shifted = |d: f64| {
                let mut v = x.data().to_vec();
                v[i] += d;
                Tensor::from_vec(v, &[2, 3]).unwrap()
            };
            let fd = (loss_at(&mlp, &shifted(h), &labels) - loss_at(&mlp, &shifted(-h), &labels))
                / (2.0 * h);
            assert!(
                (g.data()[i] - fd).abs() < 1e-8,
                "training {training}, element {i}: {} vs {fd}",
                g.data()[i]
            );
        }
    }
}

#[test]
fn asking_for_the_gradient_of_an_untracked_input_names_it() {
    let mlp = Mlp::<f64>::new(&[2, 2], Activation::Linear, Init::XavierUniform, 1).unwrap();
    let tape = Tape::new();
    let s = Session::train(&tape);
    let plain = s.input(Tensor::zeros(&[1, 2]));
    let loss = mlp.forward(&s, plain).unwrap().sum().unwrap();
    let e = s.grads_and_input_grads(loss, &[plain]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Argument);
    assert!(e.to_string().contains("input 0 is not tracked"), "{e}");
    assert!(e.to_string().contains(file!()), "{e}");
}
