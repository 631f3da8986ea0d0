//! Anomaly mode: the first operation that produces a NaN or an infinity,
//! forward or backward, is named with the source line that recorded it.
//! Off by default, when the same computation quietly yields NaN.

use autodiff::{ErrorKind, Tape, Tensor};

#[test]
fn anomaly_mode_names_ln_as_the_culprit_of_ln0_times_0_with_file_and_line() {
    let tape = Tape::new();
    tape.detect_anomalies(true);
    let x = tape.var(Tensor::from_vec(vec![0.0f64], &[1]).unwrap());
    let zero = tape.constant(Tensor::zeros(&[1]));
    let line = line!() + 1;
    let result = x.ln().and_then(|l| l.mul(zero));
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Anomaly);
    assert_eq!(err.op(), "ln");
    let loc = err.location().expect("the caller's location");
    assert!(loc.file().ends_with("tests/anomaly.rs"), "{}", loc.file());
    assert_eq!(loc.line(), line);
    let msg = err.to_string();
    assert!(msg.starts_with("ln: forward produced NaN or infinity in its output of shape [1] from inputs of shapes [1]"), "{msg}");
    assert!(msg.contains(&format!("anomaly.rs:{line}:")), "{msg}");
}

#[test]
fn with_anomaly_mode_off_the_same_computation_returns_nan() {
    let tape = Tape::new();
    assert!(!tape.detects_anomalies());
    let x = tape.var(Tensor::from_vec(vec![0.0f64], &[1]).unwrap());
    let zero = tape.constant(Tensor::zeros(&[1]));
    let y = x.ln().unwrap().mul(zero).unwrap();
    assert!(y.value().data()[0].is_nan());
}

#[test]
fn anomaly_mode_names_the_operation_whose_backward_overflows() {
    // sqrt(0) = 0 is finite, but d/dx √x = 1/(2√x) is infinite at 0
    let tape = Tape::new();
    tape.detect_anomalies(true);
    let x = tape.var(Tensor::from_vec(vec![4.0f64, 0.0], &[2]).unwrap());
    let line = line!() + 1;
    let s = x.sqrt().unwrap();
    let y = s.sum().unwrap();
    let err = y.backward().unwrap_err();
    assert_eq!((err.kind(), err.op()), (ErrorKind::Anomaly, "sqrt"));
    assert!(err
        .to_string()
        .contains("backward produced NaN or infinity in the gradient for input 0 (shape [2])"));
    assert_eq!(err.location().unwrap().line(), line);
    // and with the mode off, the gradient is silently infinite
    tape.detect_anomalies(false);
    let g = y.backward().unwrap().wrt(x).unwrap();
    assert!(g.data()[1].is_infinite());
    assert_eq!(g.data()[0], 0.25);
}

#[test]
fn a_leaf_that_already_holds_nan_is_blamed_not_the_first_operation_using_it() {
    let tape = Tape::new();
    tape.detect_anomalies(true);
    let leaf_line = line!() + 1;
    let x = tape.var(Tensor::from_vec(vec![1.0f64, f64::NAN], &[2]).unwrap());
    let err = x.exp().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Anomaly);
    let msg = err.to_string();
    assert!(
        msg.starts_with("exp: input 0 already holds NaN or infinity: it is a tracked leaf (Tape::var) of shape [2], made at "),
        "{msg}"
    );
    assert!(msg.contains(&format!("anomaly.rs:{leaf_line}:")), "{msg}");
    // a constant operand is named as such
    let c = tape.constant(Tensor::from_vec(vec![f64::INFINITY], &[1]).unwrap());
    let y = tape.var(Tensor::from_vec(vec![1.0f64], &[1]).unwrap());
    let msg = y.mul(c).unwrap_err().to_string();
    assert!(
        msg.contains("input 1 already holds NaN or infinity: it is a constant"),
        "{msg}"
    );
}

#[test]
fn a_value_made_non_finite_before_anomaly_mode_names_the_operation_that_made_it() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![0.0f64], &[1]).unwrap());
    let l = x.ln().unwrap(); // −∞, quietly
    tape.detect_anomalies(true);
    let msg = l.mul_scalar(2.0).unwrap_err().to_string();
    assert!(
        msg.contains("computed by ln before anomaly mode was switched on"),
        "{msg}"
    );
}

#[test]
fn a_hook_that_introduces_nan_is_blamed_with_the_line_that_registered_it() {
    let tape = Tape::new();
    tape.detect_anomalies(true);
    let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap());
    let h = x.mul_scalar(3.0).unwrap();
    let hook_line = line!() + 1;
    h.register_hook(|g| Some(g.map(|_| f64::NAN)));
    let y = h.sum().unwrap();
    let err = y.backward().unwrap_err();
    assert_eq!((err.kind(), err.op()), (ErrorKind::Anomaly, "hook"));
    assert!(
        err.message()
            .contains("turned a finite gradient of shape [2] into one holding NaN or infinity"),
        "{err}"
    );
    let at = err.location().unwrap();
    assert_eq!((at.file(), at.line()), (file!(), hook_line));
    // with anomaly mode off, the NaN flows on silently
    tape.detect_anomalies(false);
    let g = y.backward().unwrap().wrt(x).unwrap();
    assert!(g.data().iter().all(|v| v.is_nan()));
}
