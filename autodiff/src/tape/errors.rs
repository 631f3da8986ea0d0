//! The errors of [`Tape::apply`](super::Tape::apply)'s checks, built out of
//! line: they are shared by every operation instead of copied into each
//! operation's instance of the generic `apply_at`, and marked cold so the
//! hot path stays short.

use std::panic::Location;

use crate::error::{Error, ErrorKind};
use crate::float::Float;
use crate::shape::fmt_shape;
use crate::tensor::Tensor;

use super::{Inner, NodeKind, Var};

/// Input `k` of operation `op` is a value of another tape.
#[cold]
#[inline(never)]
pub(super) fn foreign_input(op: &str, k: usize, location: &'static Location<'static>) -> Error {
    Error::new(
        ErrorKind::Graph,
        op,
        format!("input {k} belongs to another tape"),
    )
    .at(location)
}

/// In anomaly mode, `op`'s forward produced `value` with NaN or infinity:
/// blames the first input that already held one (and says where it was
/// made), or else the operation, naming its output's and inputs' shapes.
#[cold]
#[inline(never)]
pub(super) fn non_finite_forward<T: Float>(
    inner: &Inner<T>,
    op: &str,
    inputs: &[Var<'_, T>],
    value: &Tensor<T>,
    location: &'static Location<'static>,
) -> Error {
    let culprit = inputs
        .iter()
        .enumerate()
        .find(|(_, v)| !inner.nodes[v.id].value.all_finite());
    if let Some((k, v)) = culprit {
        let node = &inner.nodes[v.id];
        let at = node.location;
        let origin = match (&node.kind, &node.op) {
            (NodeKind::Leaf, _) => "a tracked leaf (Tape::var)".to_string(),
            (NodeKind::Op, Some(o)) => format!(
                "computed by {} before anomaly mode was switched on",
                o.name()
            ),
            _ => "a constant".to_string(),
        };
        return Error::new(
            ErrorKind::Anomaly,
            op,
            format!(
                "input {k} already holds NaN or infinity: it is {origin} of shape {}, made at {}:{}:{} (anomaly mode)",
                fmt_shape(node.value.shape()),
                at.file(),
                at.line(),
                at.column()
            ),
        )
        .at(location);
    }
    let shapes: Vec<String> = inputs
        .iter()
        .map(|v| fmt_shape(inner.nodes[v.id].value.shape()))
        .collect();
    Error::new(
        ErrorKind::Anomaly,
        op,
        format!(
            "forward produced NaN or infinity in its output of shape {} from inputs of shapes {} (anomaly mode)",
            fmt_shape(value.shape()),
            shapes.join(", ")
        ),
    )
    .at(location)
}
