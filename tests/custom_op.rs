//! The public extension point: operations defined here, outside the crate,
//! through `Op`, recorded like built-ins and checked with `gradcheck`.

use autodiff::smallvec::smallvec;
use autodiff::{
    gradcheck, BackwardCtx, ErrorKind, Float, GradcheckOptions, InputGrads, Op, Result, Tape,
    Tensor, Var,
};

/// `y = a ⊙ b + c` for three tensors of one shape (n-dimensional, three
/// inputs). ∂y/∂a = b, ∂y/∂b = a, ∂y/∂c = 1.
struct FusedMulAdd;

impl<T: Float> Op<T> for FusedMulAdd {
    fn name(&self) -> &str {
        "fused_mul_add"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        if x[0].shape() != x[1].shape() || x[0].shape() != x[2].shape() {
            return Err(autodiff::Error::shape("fused_mul_add", "shapes differ"));
        }
        let data = (0..x[0].numel())
            .map(|i| x[0].data()[i] * x[1].data()[i] + x[2].data()[i])
            .collect();
        Tensor::from_vec(data, x[0].shape())
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        Ok(smallvec![
            Some(g.mul(ctx.input(1))?),
            Some(g.mul(ctx.input(0))?),
            Some(g)
        ])
    }
}

/// 2×2 average pooling of an `[n, c, h, w]` image with even h and w: an
/// n-dimensional op that saves its input shape in `forward`. Its backward
/// spreads each gradient evenly over the four pixels of its window, written
/// as a reshape and broadcast so that it stays differentiable.
struct AvgPool2x2 {
    input_shape: Vec<usize>,
}

impl<T: Float> Op<T> for AvgPool2x2 {
    fn name(&self) -> &str {
        "avg_pool_2x2"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let s = x[0].shape().to_vec();
        let [n, c, h, w] = s[..] else {
            return Err(autodiff::Error::shape(
                "avg_pool_2x2",
                "expected [n, c, h, w]",
            ));
        };
        self.input_shape = s.clone();
        let quarter = T::of_f64(0.25);
        Ok(Tensor::from_fn(&[n, c, h / 2, w / 2], |i| {
            let at = |dy: usize, dx: usize| {
                x[0].get(&[i[0], i[1], 2 * i[2] + dy, 2 * i[3] + dx])
                    .unwrap()
            };
            (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) * quarter
        }))
    }

    fn backward<'t>(&self, _: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let [n, c, h, w] = self.input_shape[..] else {
            unreachable!()
        };
        // g: [n, c, h/2, w/2] → [n, c, h/2, 1, w/2, 1] → broadcast to 2×2 windows
        let spread = g
            .reshape(&[n, c, h / 2, 1, w / 2, 1])?
            .broadcast_to(&[n, c, h / 2, 2, w / 2, 2])?
            .reshape(&[n, c, h, w])?
            .mul_scalar(T::of_f64(0.25))?;
        Ok(smallvec![Some(spread)])
    }
}

/// A deliberately wrong rule: claims ∂(x²)/∂x = x (the true one is 2x).
struct WrongSquare;

impl<T: Float> Op<T> for WrongSquare {
    fn name(&self) -> &str {
        "wrong_square"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].map(|v| v * v))
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        Ok(smallvec![Some(g.mul(ctx.input(0))?)])
    }
}

/// A rule that returns a gradient of the wrong shape.
struct BadShape;

impl<T: Float> Op<T> for BadShape {
    fn name(&self) -> &str {
        "bad_shape"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].clone())
    }
    fn backward<'t>(&self, _: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        Ok(smallvec![Some(g.sum()?)])
    }
}

#[test]
fn a_three_input_custom_op_passes_gradcheck() {
    let inputs = [
        Tensor::rand_uniform(&[2, 3, 4], -1.0, 1.0, 1),
        Tensor::rand_uniform(&[2, 3, 4], -1.0, 1.0, 2),
        Tensor::rand_uniform(&[2, 3, 4], -1.0, 1.0, 3),
    ];
    let report = gradcheck(
        |tape, v| tape.apply(FusedMulAdd, &[v[0], v[1], v[2]]),
        &inputs,
        &GradcheckOptions::default(),
    )
    .unwrap();
    assert_eq!(report.elements, 72);
}

#[test]
fn a_4d_pooling_op_passes_gradcheck_and_composes_with_builtins() {
    let x = Tensor::rand_uniform(&[2, 3, 4, 6], -1.0, 1.0, 4);
    gradcheck(
        |tape, v| {
            tape.apply(
                AvgPool2x2 {
                    input_shape: vec![],
                },
                &[v[0]],
            )?
            .tanh()
        },
        &[x],
        &GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn custom_op_forward_values_are_right() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]).unwrap());
    let y = tape
        .apply(
            AvgPool2x2 {
                input_shape: vec![],
            },
            &[x],
        )
        .unwrap();
    // windows {0,1,4,5}, {2,3,6,7}, {8,9,12,13}, {10,11,14,15}
    assert_eq!(y.value().data(), &[2.5, 4.5, 10.5, 12.5]);
    let g = y.sum().unwrap().backward().unwrap().wrt(x).unwrap();
    assert!(g.data().iter().all(|&v| v == 0.25));
}

#[test]
fn gradcheck_catches_a_wrong_backward_rule_and_names_the_element() {
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]).unwrap();
    let err = gradcheck(
        |tape, v| tape.apply(WrongSquare, &[v[0]]),
        &[x],
        &GradcheckOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::GradCheck);
    let msg = err.to_string();
    // the worst element is x = 2 (index [2]): analytic 2 vs numeric 4, times its weight
    assert!(msg.contains("input 0 element [2]"), "{msg}");
    assert!(msg.contains("analytic"), "{msg}");
}

#[test]
fn a_gradient_of_the_wrong_shape_is_an_error_naming_the_op() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::ones(&[2, 2]));
    let y = tape.apply(BadShape, &[x]).unwrap().sum().unwrap();
    let err = y.backward().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Graph);
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "bad_shape: backward returned a gradient of shape [] for input 0 of shape [2, 2]"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("custom_op.rs"),
        "the location of the recording call: {msg}"
    );
}

#[test]
fn custom_op_forward_errors_carry_the_callers_location() {
    let tape = Tape::new();
    let a = tape.var(Tensor::<f64>::ones(&[2]));
    let b = tape.var(Tensor::<f64>::ones(&[3]));
    let err = tape.apply(FusedMulAdd, &[a, b, a]).unwrap_err();
    let loc = err.location().expect("a location");
    assert!(loc.file().ends_with("custom_op.rs"));
}
