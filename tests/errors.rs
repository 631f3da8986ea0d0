//! Bad input gives an `Err` naming the operation and the shapes (and the
//! calling line), never a panic from the fallible API. One test per kind.

use autodiff::{ErrorKind, Tape, Tensor, Var};

fn t(shape: &[usize]) -> Tensor<f64> {
    Tensor::ones(shape)
}

#[test]
fn matmul_inner_dimensions() {
    let tape = Tape::new();
    let err = tape
        .var(t(&[2, 3]))
        .matmul(tape.var(t(&[4, 5])))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err
        .to_string()
        .starts_with("matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ (called at "));
    assert!(err.location().unwrap().file().ends_with("errors.rs"));
}

#[test]
fn matmul_rank_and_batch() {
    let tape = Tape::new();
    let e = tape.var(t(&[3])).matmul(tape.var(t(&[3, 2]))).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("matmul: [3] x [3, 2]: operands must be 2-D or 3-D"));
    let e = tape
        .var(t(&[2, 3, 4]))
        .matmul(tape.var(t(&[3, 4, 5])))
        .unwrap_err();
    assert!(e
        .to_string()
        .starts_with("matmul: [2, 3, 4] x [3, 4, 5]: batch sizes 2 and 3 differ"));
}

#[test]
fn broadcasting_mismatch() {
    let tape = Tape::new();
    for (name, r) in [
        ("add", tape.var(t(&[2, 3])).add(tape.var(t(&[4])))),
        ("sub", tape.var(t(&[2, 3])).sub(tape.var(t(&[4])))),
        ("mul", tape.var(t(&[2, 3])).mul(tape.var(t(&[4])))),
        ("div", tape.var(t(&[2, 3])).div(tape.var(t(&[4])))),
    ] {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Shape);
        assert!(
            e.to_string()
                .starts_with(&format!("{name}: [2, 3] and [4]: cannot broadcast")),
            "{e}"
        );
    }
}

#[test]
fn reshape_and_from_vec_counts() {
    let tape = Tape::new();
    let e = tape.var(t(&[2, 3])).reshape(&[4, 2]).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("reshape: [2, 3] -> [4, 2]: element counts 6 and 8 differ"));
    let e = Tensor::from_vec(vec![1.0f64; 5], &[2, 3]).unwrap_err();
    assert_eq!(
        e.message(),
        "5 elements cannot fill shape [2, 3] (6 elements)"
    );
    assert_eq!(e.op(), "Tensor::from_vec");
    let e = Tensor::<f64>::zeros(&[2, 2]).get(&[2, 0]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Index);
    assert!(Tensor::<f64>::zeros(&[2]).item().is_err());
}

#[test]
fn bad_axes() {
    let tape = Tape::new();
    let x = tape.var(t(&[2, 3]));
    for (name, r) in [
        ("sum", x.sum_axes(&[2], false)),
        ("max", x.max_axis(-3, false)),
        ("softmax", x.softmax(5)),
        ("log_softmax", x.log_softmax(-3)),
        ("narrow", x.narrow(2, 0, 1)),
        ("index_select", x.index_select(4, &[0])),
        ("transpose", x.transpose(0, 7)),
        ("concat", Var::concat(&[x, x], 3)),
    ] {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Index, "{name}");
        assert!(e.to_string().starts_with(&format!("{name}: axis ")), "{e}");
        assert!(e.to_string().contains("[2, 3]"), "{e}");
    }
    assert!(x
        .sum_axes(&[0, 0], false)
        .unwrap_err()
        .to_string()
        .contains("listed twice"));
    let e = x.permute(&[0, 0]).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("permute: [0, 0] is not a permutation of the axes of [2, 3]"));
    assert!(tape.var(t(&[3])).t().is_err());
}

#[test]
fn out_of_range_slices_and_indices() {
    let tape = Tape::new();
    let x = tape.var(t(&[2, 3]));
    let e = x.narrow(1, 2, 2).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("narrow: range 2..4 is out of bounds for axis 1 of [2, 3] (extent 3)"),
        "{e}"
    );
    let e = x.index_select(0, &[0, 2]).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "index_select: index 2 (position 1) is out of bounds for axis 0 of [2, 3]"
        ),
        "{e}"
    );
    let e = Var::concat(&[x, tape.var(t(&[2, 2, 1]))], 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert!(Var::<f64>::concat(&[], 0).is_err());
    let e = x.broadcast_to(&[3, 3]).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("broadcast_to: [2, 3] cannot broadcast to [3, 3]"));
    assert!(x.sum_to(&[4]).is_err());
}

#[test]
fn bad_class_labels() {
    let tape = Tape::new();
    let z = tape.var(t(&[3, 4]));
    let e = z.cross_entropy(&[0, 4, 1]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Label);
    assert!(e
        .to_string()
        .starts_with("cross_entropy: label 4 at row 1 is out of range for 4 classes"));
    let e = z.cross_entropy(&[0, 1]).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("cross_entropy: logits [3, 4] need 3 labels, got 2"));
    let e = tape.var(t(&[2, 3, 4])).cross_entropy(&[0, 1]).unwrap_err();
    assert!(e
        .to_string()
        .contains("expected [classes] or [batch, classes]"));
    let e = z.cross_entropy_probs(tape.var(t(&[3, 5]))).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("cross_entropy: logits [3, 4] and targets [3, 5]: shapes differ"));
    let e = z.mse(tape.var(t(&[4, 3]))).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("mse: prediction [3, 4] and target [4, 3]: shapes differ"));
}

#[test]
fn backward_needs_a_scalar_or_a_matching_seed() {
    let tape = Tape::new();
    let y = tape.var(t(&[2, 2])).exp().unwrap();
    let e = y.backward().unwrap_err();
    assert!(e
        .to_string()
        .starts_with("backward: output has shape [2, 2]; backward needs a single element"));
    let e = y.vjp(&t(&[4])).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("vjp: seed of shape [4] for an output of shape [2, 2]"));
}

#[test]
fn values_from_two_tapes_do_not_mix() {
    let (a, b) = (Tape::new(), Tape::new());
    let x = a.var(t(&[2]));
    let y = b.var(t(&[2]));
    let e = x.add(y).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Graph);
    assert!(e
        .to_string()
        .starts_with("add: input 1 belongs to another tape"));
    let g = x.sum().unwrap().backward().unwrap();
    assert!(g.wrt(y).is_err());
    assert!(x.sum().unwrap().jacobian(y).is_err());
}

#[test]
#[should_panic(expected = "mul: [2, 3] and [4, 5]: cannot broadcast")]
fn operator_mul_panics_on_mismatched_shapes() {
    let tape = Tape::new();
    let _ = tape.var(t(&[2, 3])) * tape.var(t(&[4, 5]));
}

#[test]
fn matmul_with_an_empty_batch_gives_an_empty_result() {
    let tape = Tape::new();
    let a = tape.var(t(&[0, 2, 3]));
    let y = a.matmul(tape.var(t(&[0, 3, 4]))).unwrap();
    assert_eq!(y.shape().as_slice(), &[0, 2, 4]);
    let y = a.matmul(tape.var(t(&[3, 4]))).unwrap();
    assert_eq!(y.shape().as_slice(), &[0, 2, 4]);
    let g = y.vjp(&Tensor::zeros(&[0, 2, 4])).unwrap();
    assert_eq!(g.wrt(a).unwrap().shape(), &[0, 2, 3]);
    assert!(a.matmul(tape.var(t(&[1, 3, 4]))).is_err());
}
