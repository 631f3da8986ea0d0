//! Shape arithmetic is checked: a shape whose element count overflows (or
//! exceeds what a tensor can hold) is an error naming the operation and the
//! shape, never a wrapped-around count that yields a wrong tensor or a panic
//! deep in a kernel.

use autodiff::shape::{checked_numel, MAX_ELEMENTS};
use autodiff::{ErrorKind, Tape, Tensor, Var};
use nn::ops::{conv2d, ConvGeometry};

const HUGE: usize = (1 << 63) + 1;

#[test]
fn reshape_to_a_shape_whose_count_wraps_is_refused() {
    // 3 · (2⁶³ + 1) · 2 wraps around to 6, the count of [2, 3]
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::ones(&[2, 3]));
    let e = x.reshape(&[3, HUGE, 2]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert_eq!(e.op(), "reshape");
    assert!(e.message().contains("[3, 9223372036854775809, 2]"), "{e}");
    let e = Tensor::<f64>::ones(&[2, 3])
        .reshape(&[3, HUGE, 2])
        .unwrap_err();
    assert_eq!(e.op(), "reshape");
}

#[test]
fn from_vec_with_a_shape_whose_count_wraps_to_zero_is_refused() {
    let e = Tensor::<f64>::from_vec(vec![], &[1 << 32, 1 << 32]).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Shape, "Tensor::from_vec"));
    assert!(e.message().contains("[4294967296, 4294967296]"), "{e}");
}

#[test]
fn try_full_refuses_impossible_shapes_and_full_panics_naming_them() {
    let e = Tensor::<f32>::try_full(&[1 << 32, 1 << 32], 1.0).unwrap_err();
    assert_eq!(e.op(), "Tensor::full");
    let e = Tensor::<f64>::try_full(&[usize::MAX, 2], 0.0).unwrap_err();
    assert!(e.message().contains("[18446744073709551615, 2]"), "{e}");
    // an empty shape whose other extents overflow is refused too
    assert!(Tensor::<f64>::try_full(&[0, HUGE, 2], 0.0).is_err());
    assert_eq!(Tensor::<f64>::try_full(&[0, 5], 0.0).unwrap().numel(), 0);
    // the infallible constructors panic with that message (like `vec!`),
    // not with a capacity overflow or a wrong, empty tensor
    let panic = std::panic::catch_unwind(|| Tensor::<f64>::ones(&[1 << 32, 1 << 32]))
        .expect_err("ones of 2⁶⁴ elements must not succeed");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        message.starts_with("Tensor::full: shape [4294967296, 4294967296] has more elements"),
        "{message}"
    );
    assert!(message.contains(file!()), "{message}");
}

#[test]
fn checked_numel_bounds_the_element_count() {
    assert_eq!(checked_numel("t", &[]).unwrap(), 1);
    assert_eq!(checked_numel("t", &[MAX_ELEMENTS]).unwrap(), MAX_ELEMENTS);
    assert!(checked_numel("t", &[MAX_ELEMENTS + 1]).is_err());
    assert!(checked_numel("t", &[MAX_ELEMENTS, 2]).is_err());
}

#[test]
fn broadcasting_to_an_overflowing_shape_is_refused() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::ones(&[1]));
    let e = x.broadcast_to(&[HUGE, 4]).unwrap_err();
    assert_eq!(e.op(), "broadcast_to");
    // [2⁴⁰, 1] + [1, 2⁴⁰] would broadcast to 2⁸⁰ elements; both operands
    // exist only as views of one-element tensors broadcast lazily nowhere,
    // so the check is on broadcast_shapes itself
    let e = autodiff::shape::broadcast_shapes("add", &[1 << 40, 1], &[1, 1 << 40]).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Shape, "add"));
}

#[test]
fn matmul_of_empty_operands_with_an_overflowing_product_is_refused() {
    // each operand is empty (k = 0), but the product would be 2⁴⁰ × 2⁴⁰
    let tape = Tape::new();
    let a = tape.var(Tensor::<f64>::zeros(&[1 << 40, 0]));
    let b = tape.var(Tensor::<f64>::zeros(&[0, 1 << 40]));
    let e = a.matmul(b).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Shape, "matmul"));
    assert!(
        e.message().contains("[1099511627776, 1099511627776]"),
        "{e}"
    );
}

#[test]
fn concat_with_an_overflowing_result_is_refused() {
    let tape = Tape::new();
    let a = tape.var(Tensor::<f64>::zeros(&[MAX_ELEMENTS / 2 + 1, 0]));
    let e = Var::concat(&[a, a], 0).unwrap_err();
    assert_eq!(e.op(), "concat");
    assert!(Var::concat(&[a], 0).is_ok());
}

#[test]
fn conv2d_with_a_padding_that_overflows_is_refused() {
    // 1 + 2·(2⁶³) wraps around to 1: the padded image must not look 1×1
    let e = ConvGeometry::new(&[1, 2, 1, 1], &[2, 2, 1, 1], 1, usize::MAX / 2 + 1).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Shape, "conv2d"));
    assert!(e.message().contains("padding"), "{e}");
    // 1 + 2·(2⁶³ − 1) fits in usize, but the output would not fit in memory
    let e = ConvGeometry::new(&[1, 2, 1, 1], &[2, 2, 1, 1], 1, usize::MAX / 2).unwrap_err();
    assert!(
        e.message().contains("more elements than a tensor can hold"),
        "{e}"
    );
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::ones(&[1, 2, 1, 1]));
    let w = tape.var(Tensor::<f64>::ones(&[2, 2, 1, 1]));
    assert!(conv2d(x, w, None, 1, usize::MAX / 2).is_err());
    // a padding that fits but makes an output larger than memory
    assert!(conv2d(x, w, None, 1, 1 << 40).is_err());
}
