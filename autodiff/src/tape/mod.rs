//! The tape (a Wengert list) and [`Var`], a handle to a value on it.
//!
//! Every operation on tracked values appends one node: its value, its
//! parents and its backward rule (an [`Op`]). [`Var::backward`] makes one
//! sweep over the nodes in reverse creation order — no recursion, no
//! topological sort — so a chain of any length is differentiated in
//! constant stack space. Dropping the tape frees the whole graph.
//!
//! The parts: [`Op`] (`op.rs`, the trait every operation implements and
//! the contexts its rules see), the sweep (`sweep.rs`), [`Var`] (`var.rs`),
//! [`Grads`] (`grads.rs`, a sweep's results) and the DOT export (`dot.rs`).

mod dot;
mod errors;
mod grads;
pub(crate) mod op;
mod spare;
mod sweep;
mod var;

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use crate::error::Result;
use crate::float::Float;
use crate::tensor::Tensor;

pub use grads::Grads;
pub use op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
pub(crate) use var::not_kept;
pub use var::{Var, VarGrads};

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// A tracked input made by [`Tape::var`]: its gradient is reported.
    Leaf,
    /// A value that needs no gradient: made by [`Tape::constant`], computed
    /// from constants only, under [`Tape::no_grad`], or [`Var::detach`]ed.
    Constant,
    /// The output of a recorded operation.
    Op,
}

/// A recorded operation, stored inline in its node when it fits in two
/// words (most built-in operations: a tag and a number), else on the heap.
pub(crate) type OpBox<T> = smallbox::SmallBox<dyn Op<T>, smallbox::space::S2>;

/// An operation's inputs, by position on the tape, as a rule's context
/// holds them: up to three inline (`linear`'s input, weight and bias), so
/// that only operations with more inputs (`concat` of many parts) allocate.
pub(crate) type Parents = SmallVec<[usize; 3]>;

/// Where a node's inputs are in the tape's list of edges
/// ([`Inner::edges`]): `count` positions from `first`. Held there rather
/// than in the node, a node is 120 bytes instead of 136, and appending one
/// to the tape is a few vector moves instead of a call to `memcpy`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EdgeRange {
    first: usize,
    count: usize,
}

pub(crate) struct Node<T: Float> {
    pub(crate) value: Tensor<T>,
    /// The inputs of a recorded operation (none for leaves and constants).
    pub(crate) parents: EdgeRange,
    pub(crate) op: Option<OpBox<T>>,
    pub(crate) kind: NodeKind,
    /// Keep this node's gradient in the sweep's result ([`Var::retain_grad`]).
    pub(crate) retain: bool,
    pub(crate) location: &'static Location<'static>,
}

impl<T: Float> Inner<T> {
    /// The inputs of node `i` (empty for a leaf or constant).
    #[inline]
    pub(crate) fn parents(&self, i: usize) -> &[usize] {
        let EdgeRange { first, count } = self.nodes[i].parents;
        &self.edges[first..first + count]
    }
}

impl<T: Float> Node<T> {
    pub(crate) fn requires_grad(&self) -> bool {
        self.kind != NodeKind::Constant
    }
}

/// A function that sees the gradient flowing into a value and may replace it.
pub type GradHook<T> = Box<dyn FnMut(&Tensor<T>) -> Option<Tensor<T>>>;

pub(crate) struct Inner<T: Float> {
    pub(crate) nodes: Vec<Node<T>>,
    /// The inputs of every recorded operation, node after node (see
    /// [`EdgeRange`]).
    pub(crate) edges: Vec<usize>,
    pub(crate) recording: bool,
    pub(crate) anomaly: bool,
    /// Gradient hooks: the value they watch, the hook, and where it was
    /// registered (named when a hook misbehaves).
    pub(crate) hooks: Vec<(usize, GradHook<T>, &'static Location<'static>)>,
    /// Names given with [`Var::named`], by value (few: kept beside the
    /// nodes, not in each).
    pub(crate) names: Vec<(usize, String)>,
}

/// A Wengert list: the record of every operation on tracked values.
///
/// Make values with [`var`](Tape::var) (tracked: you get their gradients) or
/// [`constant`](Tape::constant), compute with [`Var`]'s operations, and call
/// [`Var::backward`] on a scalar result.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?);
/// let y = x.mul(x)?.sum()?; // y = Σ x²
/// let grads = y.backward()?;
/// assert_eq!(grads.wrt(x)?.data(), &[2.0, 4.0, 6.0]); // ∂y/∂x = 2x
/// # Ok::<(), autodiff::Error>(())
/// ```
pub struct Tape<T: Float> {
    id: u64,
    pub(crate) inner: RefCell<Inner<T>>,
}

impl<T: Float> Drop for Tape<T> {
    /// Frees the graph; the emptied node and edge lists are kept for the next tape
    /// made on this thread (see `spare.rs`).
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        spare::give(std::mem::take(&mut inner.nodes));
        spare::give(std::mem::take(&mut inner.edges));
    }
}

impl<T: Float> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Tape<T> {
    /// An empty tape, recording, with anomaly detection off.
    ///
    /// ```
    /// let tape = autodiff::Tape::<f32>::new();
    /// assert!(tape.is_empty() && tape.is_recording());
    /// ```
    pub fn new() -> Self {
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            inner: RefCell::new(Inner {
                nodes: spare::take(),
                edges: spare::take(),
                recording: true,
                anomaly: false,
                hooks: Vec::new(),
                names: Vec::new(),
            }),
        }
    }

    /// A tracked leaf: a value whose gradient [`Var::backward`] reports.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(3.0));
    /// assert!(x.requires_grad());
    /// ```
    #[track_caller]
    pub fn var(&self, value: Tensor<T>) -> Var<'_, T> {
        Var::from_id(
            self,
            self.push_node(value, NodeKind::Leaf, Location::caller()),
        )
    }

    /// An untracked value: it records nothing and gets no gradient.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let c = tape.constant(Tensor::scalar(3.0));
    /// assert!(!c.requires_grad());
    /// ```
    #[track_caller]
    pub fn constant(&self, value: Tensor<T>) -> Var<'_, T> {
        Var::from_id(
            self,
            self.push_node(value, NodeKind::Constant, Location::caller()),
        )
    }

    /// A scalar constant (shape `[]`).
    ///
    /// ```
    /// use autodiff::Tape;
    /// let tape = Tape::new();
    /// assert_eq!(tape.scalar(2.5).value().item()?, 2.5);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn scalar(&self, value: T) -> Var<'_, T> {
        self.constant(Tensor::scalar(value))
    }

    /// The number of nodes on the tape (values and recorded operations).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(1.0));
    /// x.exp()?;
    /// assert_eq!(tape.len(), 2);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.inner.borrow().nodes.len()
    }

    /// The names of the operations recorded on the tape, in the order they
    /// were recorded (untracked results and leaves are not operations).
    /// For tests, profiles and debugging.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// x.exp()?.sum()?;
    /// assert_eq!(tape.op_names(), ["exp", "sum_to", "reshape"]); // sum: to [1], then to []
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn op_names(&self) -> Vec<String> {
        self.inner
            .borrow()
            .nodes
            .iter()
            .filter_map(|n| n.op.as_ref().map(|op| op.name().to_string()))
            .collect()
    }

    /// Whether the tape holds no node.
    ///
    /// ```
    /// assert!(autodiff::Tape::<f64>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether operations on tracked values are being recorded (false inside
    /// [`no_grad`](Tape::no_grad)).
    ///
    /// ```
    /// let tape = autodiff::Tape::<f64>::new();
    /// assert!(tape.is_recording());
    /// assert!(!tape.no_grad(|| tape.is_recording()));
    /// ```
    pub fn is_recording(&self) -> bool {
        self.inner.borrow().recording
    }

    /// Runs `f` with recording off: the values it computes are constants.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(3.0));
    /// let y = tape.no_grad(|| x.mul(x))?;
    /// assert!(!y.requires_grad());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        let _restore = self.set_recording(false);
        f()
    }

    /// Switches anomaly detection on or off (off by default).
    ///
    /// When on, the first operation whose forward value, or whose backward
    /// gradient, holds a NaN or an infinity stops the computation with an
    /// [`ErrorKind::Anomaly`](crate::ErrorKind::Anomaly) error naming the operation, the shapes and the
    /// source line that recorded it. When off it costs one flag test per
    /// operation.
    ///
    /// ```
    /// use autodiff::{ErrorKind, Tape, Tensor};
    /// let tape = Tape::new();
    /// tape.detect_anomalies(true);
    /// let x = tape.var(Tensor::scalar(0.0));
    /// let err = x.ln().unwrap_err(); // ln 0 = −∞
    /// assert_eq!((err.kind(), err.op()), (ErrorKind::Anomaly, "ln"));
    /// ```
    pub fn detect_anomalies(&self, on: bool) {
        self.inner.borrow_mut().anomaly = on;
    }

    /// Whether anomaly detection is on.
    ///
    /// ```
    /// use autodiff::Tape;
    /// let tape = Tape::<f32>::new();
    /// assert!(!tape.detects_anomalies());
    /// ```
    pub fn detects_anomalies(&self) -> bool {
        self.inner.borrow().anomaly
    }

    /// Records an operation — built-in or user-defined — on `inputs`: runs
    /// its forward function and, if any input needs a gradient, appends a
    /// node with its backward rule. This is the public extension point; see
    /// [`Op`] for an example.
    ///
    /// ```
    /// use autodiff::{BackwardCtx, InputGrads, Op, Result, Tape, Tensor, Var, Float};
    /// use autodiff::smallvec::smallvec;
    /// /// twice(x) = 2x, ∂/∂x = 2
    /// struct Twice;
    /// impl<T: Float> Op<T> for Twice {
    ///     fn name(&self) -> &str { "twice" }
    ///     fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> { Ok(x[0].map(|v| v + v)) }
    ///     fn backward<'t>(&self, _: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
    ///         Ok(smallvec![Some(g.mul_scalar(T::of_f64(2.0))?)])
    ///     }
    /// }
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(3.0));
    /// let y = tape.apply(Twice, &[x])?;
    /// assert_eq!(y.value().item()?, 6.0);
    /// assert_eq!(y.backward()?.wrt(x)?.item()?, 2.0);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// The operation's own forward errors, with the caller's location;
    /// [`ErrorKind::Graph`](crate::ErrorKind::Graph) when an input belongs to another tape;
    /// [`ErrorKind::Anomaly`](crate::ErrorKind::Anomaly) for a non-finite output in anomaly mode.
    #[track_caller]
    pub fn apply<O: Op<T>>(&self, op: O, inputs: &[Var<'_, T>]) -> Result<Var<'_, T>> {
        self.apply_at(op, inputs, Location::caller())
    }

    /// Runs `op` forward on `inputs` and appends its node.
    ///
    /// The checks' error messages are built by functions shared by every
    /// operation (`tape/errors.rs`, cold), so that each operation's copy of
    /// this generic function holds only its hot path.
    pub(crate) fn apply_at<O: Op<T>>(
        &self,
        mut op: O,
        inputs: &[Var<'_, T>],
        location: &'static Location<'static>,
    ) -> Result<Var<'_, T>> {
        if let Some(k) = inputs.iter().position(|v| v.tape.id != self.id) {
            return Err(errors::foreign_input(op.name(), k, location));
        }
        let (value, track) = {
            let inner = self.inner.borrow();
            let mut values: SmallVec<[&Tensor<T>; 4]> = SmallVec::new();
            for v in inputs {
                values.push(&inner.nodes[v.id].value);
            }
            // a forward error names the line that applied the op, even when a
            // helper inside the op attached its own (library) location
            let value = op.forward(&values).map_err(|e| e.relocated(location))?;
            if inner.anomaly && !value.all_finite() {
                return Err(errors::non_finite_forward(
                    &inner,
                    op.name(),
                    inputs,
                    &value,
                    location,
                ));
            }
            let track = inner.recording && inputs.iter().any(|v| inner.nodes[v.id].requires_grad());
            (value, track)
        };
        let op: Option<OpBox<T>> = if track {
            Some(smallbox::smallbox!(op))
        } else {
            None
        };
        Ok(Var::from_id(
            self,
            self.append_op(value, op, inputs, location),
        ))
    }

    /// Appends the node of an operation's output: tracked with its inputs'
    /// edges when `op` is given, a constant otherwise.
    ///
    /// Inlined into every `apply_at`: as a call, the moves of the value and
    /// the boxed operation into it cost W4 31 more instructions per
    /// operation (828 against 797, callgrind).
    #[inline(always)]
    fn append_op(
        &self,
        value: Tensor<T>,
        op: Option<OpBox<T>>,
        inputs: &[Var<'_, T>],
        location: &'static Location<'static>,
    ) -> usize {
        let mut inner = self.inner.borrow_mut();
        let id = inner.nodes.len();
        let (parents, kind) = if op.is_some() {
            let parents = EdgeRange {
                first: inner.edges.len(),
                count: inputs.len(),
            };
            inner.edges.extend(inputs.iter().map(|v| v.id));
            (parents, NodeKind::Op)
        } else {
            (EdgeRange::default(), NodeKind::Constant)
        };
        inner.nodes.push(Node {
            value,
            parents,
            op,
            kind,
            retain: false,
            location,
        });
        id
    }

    pub(crate) fn push_node(
        &self,
        value: Tensor<T>,
        kind: NodeKind,
        location: &'static Location<'static>,
    ) -> usize {
        let mut inner = self.inner.borrow_mut();
        let id = inner.nodes.len();
        inner.nodes.push(Node {
            value,
            parents: EdgeRange::default(),
            op: None,
            kind,
            retain: false,
            location,
        });
        id
    }

    /// Sets the recording flag; the returned guard restores the old one.
    pub(crate) fn set_recording(&self, on: bool) -> RecordingGuard<'_, T> {
        let previous = std::mem::replace(&mut self.inner.borrow_mut().recording, on);
        RecordingGuard {
            tape: self,
            previous,
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn node_value(&self, id: usize) -> Tensor<T> {
        self.inner.borrow().nodes[id].value.clone()
    }

    pub(crate) fn node_kind(&self, id: usize) -> NodeKind {
        self.inner.borrow().nodes[id].kind
    }

    pub(crate) fn node_retained(&self, id: usize) -> bool {
        self.inner.borrow().nodes[id].retain
    }

    /// The nodes below `end` marked by [`Var::retain_grad`].
    pub(crate) fn retained_ids(&self, end: usize) -> Vec<usize> {
        let inner = self.inner.borrow();
        (0..end.min(inner.nodes.len()))
            .filter(|&i| inner.nodes[i].retain)
            .collect()
    }
}

/// Restores the recording flag when dropped.
pub(crate) struct RecordingGuard<'t, T: Float> {
    tape: &'t Tape<T>,
    previous: bool,
}

impl<T: Float> Drop for RecordingGuard<'_, T> {
    fn drop(&mut self) {
        self.tape.inner.borrow_mut().recording = self.previous;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_fits_in_128_bytes() {
        // what `EdgeRange` promises: appending a node is inline moves, not
        // a call to memcpy (the limit of an inline copy on x86-64)
        assert!(std::mem::size_of::<Node<f32>>() <= 128);
        assert!(std::mem::size_of::<Node<f64>>() <= 128);
    }

    /// `x³` with only a `Var` rule, so that the plain sweep runs it
    /// unrecorded and removes the nodes and edges it makes.
    struct Cube;

    impl<T: Float> Op<T> for Cube {
        fn name(&self) -> &str {
            "cube"
        }
        fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
            Ok(inputs[0].map(|x| x * x * x))
        }
        fn backward<'t>(
            &self,
            ctx: &BackwardCtx<'t, T>,
            grad: Var<'t, T>,
        ) -> Result<InputGrads<'t, T>> {
            let x = ctx.input(0);
            let dx = grad.mul(x.mul(x)?.mul_scalar(T::of_f64(3.0))?)?;
            Ok(InputGrads::from_elem(Some(dx), 1))
        }
    }

    #[test]
    fn nodes_read_their_own_edges_and_a_plain_sweep_leaves_them_as_found() -> Result<()> {
        let tape = Tape::<f64>::new();
        let a = tape.var(Tensor::from_vec(vec![2.0], &[1])?);
        let b = tape.var(Tensor::from_vec(vec![-3.0], &[1])?);
        let c = tape.constant(Tensor::from_vec(vec![0.5], &[1])?);
        let cubed = tape.apply(Cube, &[a])?; // a³
        let parts = [a, b, cubed, b, c];
        let joined = Var::concat(&parts, 0)?; // five inputs
        let y = joined.mul(joined)?.sum()?.add(cubed)?; // Σ parts² + a³
        let edges = |t: &Tape<f64>| t.inner.borrow().edges.len();
        let before = (tape.len(), edges(&tape));
        assert_eq!(tape.inner.borrow().parents(joined.id), &[0, 1, 3, 1, 2]);
        assert!(tape.inner.borrow().parents(c.id).is_empty());
        for _ in 0..2 {
            let g = y.backward()?;
            // ∂/∂a = 2a + 2a³·3a² + 3a² = 4 + 192 + 12, ∂/∂b = 2·(2b) = −12
            assert_eq!(g.wrt(a)?.data(), &[208.0]);
            assert_eq!(g.wrt(b)?.data(), &[-12.0]);
            assert_eq!((tape.len(), edges(&tape)), before);
        }
        // a value recorded after the sweeps points at the right inputs
        let z = b.mul(cubed)?;
        assert_eq!(tape.inner.borrow().parents(z.id), &[1, 3]);
        assert_eq!(z.backward()?.wrt(a)?.data(), &[-3.0 * 12.0]);
        Ok(())
    }
}
