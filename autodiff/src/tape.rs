//! The tape (a Wengert list) and [`Var`], a handle to a value on it.
//!
//! Every operation on tracked values appends one node: its value, its
//! parents and its backward rule (an [`Op`]). [`Var::backward`] makes one
//! sweep over the nodes in reverse creation order — no recursion, no
//! topological sort — so a chain of any length is differentiated in
//! constant stack space. Dropping the tape frees the whole graph.

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use crate::error::{Error, ErrorKind, Result};
use crate::float::Float;
use crate::grads::Grads;
use crate::op::{BackwardCtx, Op};
use crate::shape::{fmt_shape, Shape};
use crate::tensor::Tensor;

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

pub(crate) struct Node<T: Float> {
    pub(crate) value: Tensor<T>,
    pub(crate) parents: SmallVec<[usize; 2]>,
    pub(crate) op: Option<Box<dyn Op<T>>>,
    pub(crate) kind: NodeKind,
    pub(crate) location: &'static Location<'static>,
}

impl<T: Float> Node<T> {
    pub(crate) fn requires_grad(&self) -> bool {
        self.kind != NodeKind::Constant
    }
}

pub(crate) struct Inner<T: Float> {
    pub(crate) nodes: Vec<Node<T>>,
    pub(crate) recording: bool,
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

impl<T: Float> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Tape<T> {
    /// An empty tape, recording.
    pub fn new() -> Self {
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            inner: RefCell::new(Inner {
                nodes: Vec::new(),
                recording: true,
            }),
        }
    }

    /// A tracked leaf: a value whose gradient [`Var::backward`] reports.
    #[track_caller]
    pub fn var(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push_leaf(value, NodeKind::Leaf, Location::caller())
    }

    /// An untracked value: it records nothing and gets no gradient.
    #[track_caller]
    pub fn constant(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push_leaf(value, NodeKind::Constant, Location::caller())
    }

    /// A scalar constant (shape `[]`).
    #[track_caller]
    pub fn scalar(&self, value: T) -> Var<'_, T> {
        self.push_leaf(
            Tensor::scalar(value),
            NodeKind::Constant,
            Location::caller(),
        )
    }

    /// The number of nodes on the tape (values and recorded operations).
    pub fn len(&self) -> usize {
        self.inner.borrow().nodes.len()
    }

    /// Whether the tape holds no node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether operations on tracked values are being recorded (false inside
    /// [`no_grad`](Tape::no_grad)).
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

    /// Records an operation — built-in or user-defined — on `inputs`: runs
    /// its forward function and, if any input needs a gradient, appends a
    /// node with its backward rule. This is the public extension point; see
    /// [`Op`] for an example.
    ///
    /// # Errors
    /// The operation's own forward errors, with the caller's location; and
    /// [`ErrorKind::Graph`] when an input belongs to another tape.
    #[track_caller]
    pub fn apply<O: Op<T>>(&self, op: O, inputs: &[Var<'_, T>]) -> Result<Var<'_, T>> {
        self.apply_at(op, inputs, Location::caller())
    }

    pub(crate) fn apply_at<O: Op<T>>(
        &self,
        mut op: O,
        inputs: &[Var<'_, T>],
        location: &'static Location<'static>,
    ) -> Result<Var<'_, T>> {
        for (k, v) in inputs.iter().enumerate() {
            if v.tape.id != self.id {
                return Err(Error::new(
                    ErrorKind::Graph,
                    op.name(),
                    format!("input {k} belongs to another tape"),
                )
                .at(location));
            }
        }
        let (value, track) = {
            let inner = self.inner.borrow();
            let values: SmallVec<[&Tensor<T>; 4]> =
                inputs.iter().map(|v| &inner.nodes[v.id].value).collect();
            let value = op.forward(&values).map_err(|e| e.at(location))?;
            let track = inner.recording && inputs.iter().any(|v| inner.nodes[v.id].requires_grad());
            (value, track)
        };
        let mut inner = self.inner.borrow_mut();
        let id = inner.nodes.len();
        inner.nodes.push(if track {
            Node {
                value,
                parents: inputs.iter().map(|v| v.id).collect(),
                op: Some(Box::new(op)),
                kind: NodeKind::Op,
                location,
            }
        } else {
            Node {
                value,
                parents: SmallVec::new(),
                op: None,
                kind: NodeKind::Constant,
                location,
            }
        });
        Ok(Var { tape: self, id })
    }

    fn push_leaf(
        &self,
        value: Tensor<T>,
        kind: NodeKind,
        location: &'static Location<'static>,
    ) -> Var<'_, T> {
        let mut inner = self.inner.borrow_mut();
        let id = inner.nodes.len();
        inner.nodes.push(Node {
            value,
            parents: SmallVec::new(),
            op: None,
            kind,
            location,
        });
        Var { tape: self, id }
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

    /// The reverse sweep. Returns, for every node up to `root`, the gradient
    /// of `Σ seed ⊙ root` with respect to it: for leaves, and for the nodes
    /// listed in `retain` (other intermediate slots are consumed on the way). With `create_graph`, gradients are nodes
    /// recorded on the tape (so they can be differentiated again);
    /// otherwise plain tensors, and the temporaries each backward rule makes
    /// are dropped from the tape as soon as the rule returns.
    pub(crate) fn sweep(
        &self,
        root: usize,
        seed: Tensor<T>,
        create_graph: bool,
        retain: &[usize],
    ) -> Result<Vec<Option<Slot<T>>>> {
        let n = root + 1;
        let mut grads: Vec<Option<Slot<T>>> = (0..n).map(|_| None).collect();
        if !self.inner.borrow().nodes[root].requires_grad() {
            return Ok(grads);
        }
        let _restore = self.set_recording(create_graph);
        grads[root] = Some(if create_graph {
            Slot::Node(
                self.push_leaf(seed, NodeKind::Constant, Location::caller())
                    .id,
            )
        } else {
            Slot::Value(seed)
        });
        for i in (0..n).rev() {
            let Some(slot) = grads[i].take() else {
                continue;
            };
            if retain.contains(&i) {
                grads[i] = Some(slot.clone());
            }
            let (op, ctx) = {
                let mut inner = self.inner.borrow_mut();
                let node = &mut inner.nodes[i];
                let Some(op) = node.op.take() else {
                    grads[i] = Some(slot); // a leaf: keep its gradient
                    continue;
                };
                let parents = node.parents.clone();
                let needs = parents
                    .iter()
                    .map(|&p| inner.nodes[p].requires_grad())
                    .collect();
                let ctx = BackwardCtx {
                    tape: self,
                    inputs: parents,
                    output: i,
                    needs,
                };
                (op, ctx)
            };
            let mark = self.len();
            let grad_out = match slot {
                Slot::Value(t) => self.push_leaf(t, NodeKind::Constant, Location::caller()),
                Slot::Node(id) => Var { tape: self, id },
            };
            let result = op.backward(&ctx, grad_out);
            let location = {
                let mut inner = self.inner.borrow_mut();
                inner.nodes[i].op = Some(op);
                inner.nodes[i].location
            };
            let op_name = || {
                let inner = self.inner.borrow();
                inner.nodes[i]
                    .op
                    .as_ref()
                    .map(|o| o.name().to_string())
                    .unwrap_or_default()
            };
            let input_grads = result.map_err(|e| e.at(location))?;
            if input_grads.len() != ctx.inputs.len() {
                return Err(Error::new(
                    ErrorKind::Graph,
                    op_name(),
                    format!(
                        "backward returned {} gradients for {} inputs",
                        input_grads.len(),
                        ctx.inputs.len()
                    ),
                )
                .at(location));
            }
            for (k, g) in input_grads.into_iter().enumerate() {
                let (Some(g), true) = (g, ctx.needs[k]) else {
                    continue;
                };
                let p = ctx.inputs[k];
                let (g_shape, p_shape) =
                    (g.shape(), self.inner.borrow().nodes[p].value.shape_vec());
                if g.tape.id != self.id || g_shape != p_shape {
                    return Err(Error::new(
                        ErrorKind::Graph,
                        op_name(),
                        format!(
                            "backward returned a gradient of shape {} for input {k} of shape {}",
                            fmt_shape(&g_shape),
                            fmt_shape(&p_shape)
                        ),
                    )
                    .at(location));
                }
                let new = if create_graph {
                    Slot::Node(g.id)
                } else {
                    Slot::Value(g.value())
                };
                grads[p] = Some(match grads[p].take() {
                    None => new,
                    Some(old) => self.accumulate(old, new)?,
                });
            }
            if !create_graph {
                self.inner.borrow_mut().nodes.truncate(mark);
            }
        }
        Ok(grads)
    }

    /// Adds a second gradient into a slot (fan-out). Plain tensors add in
    /// place; recorded gradients add through a recorded operation.
    fn accumulate(&self, old: Slot<T>, new: Slot<T>) -> Result<Slot<T>> {
        Ok(match (old, new) {
            (Slot::Value(mut a), Slot::Value(b)) => {
                crate::kernels::elementwise::add_assign(&mut a, &b);
                Slot::Value(a)
            }
            (Slot::Node(a), Slot::Node(b)) => {
                let sum = Var { tape: self, id: a }.add(Var { tape: self, id: b })?;
                Slot::Node(sum.id)
            }
            _ => unreachable!("one sweep never mixes recorded and plain gradients"),
        })
    }

    /// The [`Grads`] of a plain sweep: the gradient of every tracked leaf.
    fn collect_grads(&self, slots: Vec<Option<Slot<T>>>) -> Grads<T> {
        let grads = slots
            .into_iter()
            .map(|s| match s {
                Some(Slot::Value(t)) => Some(t),
                _ => None,
            })
            .collect();
        Grads::new(self.id, grads)
    }
}

/// A gradient during the sweep: a plain tensor or a node on the tape.
#[derive(Clone)]
pub(crate) enum Slot<T: Float> {
    Value(Tensor<T>),
    Node(usize),
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

/// A value on a [`Tape`]: a small `Copy` handle (the tape and an index).
///
/// Operations on `Var`s compute a new value and, when an input is tracked,
/// record themselves. They return [`Result`]: bad shapes, axes or labels
/// give an [`Error`] naming the operation, the shapes and the caller. The
/// operators `+ - * /` and unary `-` are sugar for
/// [`add`](Var::add), [`sub`](Var::sub), [`mul`](Var::mul), [`div`](Var::div)
/// and [`neg`](Var::neg) that **panic** with the same message on an error.
#[derive(Clone, Copy)]
pub struct Var<'t, T: Float> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) id: usize,
}

impl<'t, T: Float> Var<'t, T> {
    pub(crate) fn from_id(tape: &'t Tape<T>, id: usize) -> Self {
        Var { tape, id }
    }

    /// The tape this value lives on.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// The node's index on the tape (its creation order).
    pub fn id(&self) -> usize {
        self.id
    }

    /// The value (a cheap clone: the elements are shared, not copied).
    pub fn value(&self) -> Tensor<T> {
        self.tape.node_value(self.id)
    }

    /// The shape of the value.
    pub fn shape(&self) -> Shape {
        self.tape.inner.borrow().nodes[self.id].value.shape_vec()
    }

    /// Whether gradients flow to this value (it is a tracked leaf or was
    /// computed from one while recording).
    pub fn requires_grad(&self) -> bool {
        self.tape.inner.borrow().nodes[self.id].requires_grad()
    }

    /// The same value as an untracked constant: gradients stop here.
    #[track_caller]
    pub fn detach(self) -> Var<'t, T> {
        self.tape
            .push_leaf(self.value(), NodeKind::Constant, Location::caller())
    }

    /// Gradients of this one-element value with respect to every tracked
    /// leaf, by one reverse sweep over the tape.
    ///
    /// # Errors
    /// [`ErrorKind::Shape`] when the value has more than one element (use
    /// [`vjp`](Var::vjp) with a seed instead); any error a backward rule returns.
    pub fn backward(self) -> Result<Grads<T>> {
        let shape = self.shape();
        if crate::shape::numel(&shape) != 1 {
            return Err(Error::shape(
                "backward",
                format!(
                    "output has shape {}; backward needs a single element (use vjp with a seed)",
                    fmt_shape(&shape)
                ),
            ));
        }
        self.vjp(&Tensor::ones(&shape))
    }

    /// The vector-Jacobian product: gradients of `Σ seed ⊙ self` with
    /// respect to every tracked leaf.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// let y = x.mul(x)?; // y = x², Jacobian diag(2x)
    /// let g = y.vjp(&Tensor::from_vec(vec![1.0, 10.0], &[2])?)?;
    /// assert_eq!(g.wrt(x)?.data(), &[2.0, 40.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`] when `seed`'s shape is not the value's.
    pub fn vjp(self, seed: &Tensor<T>) -> Result<Grads<T>> {
        self.check_seed("vjp", seed)?;
        let slots = self.tape.sweep(self.id, seed.clone(), false, &[])?;
        Ok(self.tape.collect_grads(slots))
    }

    pub(crate) fn check_seed(&self, op: &str, seed: &Tensor<T>) -> Result<()> {
        let shape = self.shape();
        if seed.shape() != shape.as_slice() {
            return Err(Error::shape(
                op,
                format!(
                    "seed of shape {} for an output of shape {}",
                    fmt_shape(seed.shape()),
                    fmt_shape(&shape)
                ),
            ));
        }
        Ok(())
    }
}

impl<T: Float> std::fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var#{} {:?}", self.id, self.value())
    }
}
