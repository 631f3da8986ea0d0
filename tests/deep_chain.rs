//! The reverse sweep is a loop over the Wengert list, not a recursion: a
//! chain of 100,000 recorded operations differentiates without overflowing
//! the stack (micrograd's recursive topological sort fails past ~1,000).

use autodiff::{Tape, Tensor};

#[test]
fn a_chain_of_100_000_operations_runs_backward() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(0.3f64));
    // y ← y·a + b, 50,000 times = 100,000 recorded operations
    let (a, b) = (0.999_99f64, 1e-6);
    let mut y = x;
    for _ in 0..50_000 {
        y = y.mul_scalar(a).unwrap().add_scalar(b).unwrap();
    }
    assert!(tape.len() > 100_000);
    let g = y.backward().unwrap().wrt(x).unwrap().item().unwrap();
    // closed form: dy/dx = a^50000
    let expected = a.powi(50_000);
    assert!((g - expected).abs() < 1e-12 * expected, "{g} vs {expected}");
    // and the tape (and its graph) drops without recursion either
    drop(tape);
}

#[test]
fn fan_out_gradients_accumulate() {
    // y = x·x·x uses x three times: dy/dx = 3x²
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![2.0f64, -1.0], &[2]).unwrap());
    let y = x.mul(x).unwrap().mul(x).unwrap().sum().unwrap();
    assert_eq!(y.backward().unwrap().wrt(x).unwrap().data(), &[12.0, 3.0]);
}

#[test]
fn constants_detached_values_and_no_grad_record_nothing() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(2.0f64));
    let c = tape.constant(Tensor::scalar(5.0));
    let d = x.mul(x).unwrap().detach(); // 4, but a constant
    let n = tape.no_grad(|| x.mul_scalar(10.0)).unwrap(); // 20, a constant
    assert!(!c.requires_grad() && !d.requires_grad() && !n.requires_grad());
    let y = x.mul(c).unwrap().add(d).unwrap().add(n).unwrap();
    // only the x·c path carries gradient: dy/dx = c = 5
    let grads = y.backward().unwrap();
    assert_eq!(grads.wrt(x).unwrap().item().unwrap(), 5.0);
    // asking for a constant's gradient is an error, not a silent zero
    assert!(grads.wrt(c).is_err());
    // backward does not grow the tape: its temporaries are dropped
    let before = tape.len();
    y.backward().unwrap();
    assert_eq!(tape.len(), before);
}

#[test]
fn backward_can_run_twice_and_unused_leaves_get_zeros() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap());
    let unused = tape.var(Tensor::<f64>::ones(&[3]));
    let y = x.exp().unwrap().sum().unwrap();
    let g1 = y.backward().unwrap().wrt(x).unwrap();
    let g2 = y.backward().unwrap().wrt(x).unwrap();
    assert_eq!(g1, g2);
    assert_eq!(g1.data(), &[1f64.exp(), 2f64.exp()]);
    assert_eq!(
        y.backward().unwrap().wrt(unused).unwrap(),
        Tensor::zeros(&[3])
    );
}
