//! The reverse sweeps: one loop over the Wengert list from the output down.
//!
//! For each node that received a gradient ḡ, its backward rule turns ḡ into
//! gradients for the node's inputs, which are stored (first arrival) or
//! added (fan-out). Leaves and retained values keep theirs.
//!
//! Two sweeps share that shape:
//! - **plain** ([`Tape::sweep_values`]): gradients are tensors. A rule on
//!   tensors ([`Op::backward_values`]) runs under one borrow of the tape and
//!   records nothing; an operation without one runs its `Var` rule with
//!   recording off, and the temporaries it puts on the tape are removed as
//!   soon as it returns, so the tape does not grow.
//! - **recorded** ([`Tape::sweep_recorded`]): gradients are nodes on the
//!   tape, computed by recorded operations, and so can be differentiated
//!   again.

use std::panic::Location;

use smallvec::SmallVec;

use crate::error::{Error, ErrorKind, Result};
use crate::float::Float;
use crate::shape::fmt_shape;
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
use crate::tensor::Tensor;

use super::{Inner, OpBox, Parents, Tape, Var};

/// The parents of one node, and which of them need a gradient.
type Edges = (Parents, SmallVec<[bool; 3]>);

impl<T: Float> Tape<T> {
    /// The plain sweep from `root`, seeded with `seed` (the gradient of the
    /// final scalar with respect to `root`). Returns one entry per node up
    /// to `root`: the gradients of the leaves, of the values marked by
    /// [`Var::retain_grad`] and of those in `keep`; the others are consumed.
    pub(crate) fn sweep_values(
        &self,
        root: usize,
        seed: Tensor<T>,
        keep: &[usize],
    ) -> Result<Vec<Option<Tensor<T>>>> {
        let mut grads: Vec<Option<Tensor<T>>> = super::spare::take();
        grads.resize_with(root + 1, || None);
        if !self.inner.borrow().nodes[root].requires_grad() {
            return Ok(grads);
        }
        let sweep = SweepGuard::new(self, false);
        let hooked = !self.inner.borrow().hooks.is_empty();
        grads[root] = Some(seed);
        for i in (0..=root).rev() {
            let Some(mut g) = grads[i].take() else {
                continue;
            };
            if hooked {
                if let Some(new) = self.run_hooks(i, &g, sweep.anomaly)? {
                    g = new;
                }
            }
            let edges: Edges = {
                let inner = self.inner.borrow();
                let node = &inner.nodes[i];
                let kept = node.retain || keep.contains(&i);
                let Some(op) = node.op.as_deref() else {
                    grads[i] = Some(g); // a leaf (or a constant seed): keep it
                    continue;
                };
                if node.value.numel() == 0 {
                    // an empty output sends nothing back: its inputs' gradients
                    // are zero (absent), and the rule — whose intermediates may
                    // be large for shapes like [2⁴⁰, 0] — need not run
                    if kept {
                        grads[i] = Some(g);
                    }
                    continue;
                }
                let parents = inner.parents(i);
                let views = InputViews::of(&inner, parents, &node.value);
                let (inputs, needs) = views.slices();
                let ctx = ValuesCtx {
                    inputs,
                    output: &node.value,
                    needs,
                };
                // matched in place: moving the 136-byte result into a
                // callee's frame cost a store-forwarding stall per node
                if let Some(result) = &mut op.backward_values(&ctx, &g) {
                    let stored = match result {
                        Ok(input_grads) => store_values(
                            op,
                            &inner,
                            parents,
                            needs,
                            input_grads,
                            sweep.anomaly,
                            &mut grads,
                        ),
                        Err(e) => Err(e.clone()),
                    };
                    if kept {
                        grads[i] = Some(g);
                    }
                    stored.map_err(|e| e.at(node.location))?;
                    continue;
                }
                // no rule on tensors: its Var rule runs below, unrecorded
                if kept {
                    grads[i] = Some(g.clone());
                }
                (
                    SmallVec::from_slice(parents),
                    needs.iter().copied().collect(),
                )
            };
            let op = self.take_op(i);
            let result = self.var_rule_on_values(&*op, i, &edges, g);
            let stored = result.and_then(|mut input_grads| {
                let inner = self.inner.borrow();
                store_values(
                    &*op,
                    &inner,
                    &edges.0,
                    &edges.1,
                    &mut input_grads,
                    sweep.anomaly,
                    &mut grads,
                )
            });
            let location = self.put_op_back(i, op);
            stored.map_err(|e| e.at(location))?;
        }
        Ok(grads)
    }

    /// The recorded sweep from `root`, seeded with the node `seed`: every
    /// gradient is a node computed by recorded operations. Returns one entry
    /// per node up to `root`, as [`sweep_values`](Self::sweep_values) does.
    pub(crate) fn sweep_recorded(
        &self,
        root: usize,
        seed: usize,
        keep: &[usize],
    ) -> Result<Vec<Option<usize>>> {
        let mut grads: Vec<Option<usize>> = vec![None; root + 1];
        if !self.inner.borrow().nodes[root].requires_grad() {
            return Ok(grads);
        }
        let sweep = SweepGuard::new(self, true);
        let hooked = !self.inner.borrow().hooks.is_empty();
        grads[root] = Some(seed);
        for i in (0..=root).rev() {
            let Some(mut g) = grads[i].take() else {
                continue;
            };
            if hooked {
                if let Some(new) = self.run_hooks(i, &self.node_value(g), sweep.anomaly)? {
                    // a rewritten gradient is a constant: nothing flows through the hook
                    g = self.constant_at(new, Location::caller());
                }
            }
            let edges = {
                let inner = self.inner.borrow();
                let node = &inner.nodes[i];
                let kept = node.retain || keep.contains(&i);
                if node.op.is_none() || node.value.numel() == 0 {
                    // a leaf or constant seed keeps its gradient; an empty
                    // output sends none back (see `sweep_values`)
                    if node.op.is_none() || kept {
                        grads[i] = Some(g);
                    }
                    continue;
                }
                if kept {
                    grads[i] = Some(g);
                }
                edges_of(&inner, i)
            };
            let op = self.take_op(i);
            let result = self.run_var_rule(&*op, i, &edges, Var::from_id(self, g));
            let stored = result.and_then(|input_grads| {
                self.store_nodes(&*op, &edges, input_grads, sweep.anomaly, &mut grads)
            });
            let location = self.put_op_back(i, op);
            stored.map_err(|e| e.at(location))?;
        }
        Ok(grads)
    }

    /// Takes node `i`'s operation out of the tape while its `Var` rule runs
    /// (the rule appends to the node list, which may move it).
    fn take_op(&self, i: usize) -> OpBox<T> {
        self.inner.borrow_mut().nodes[i]
            .op
            .take()
            .expect("the sweep runs rules of operation nodes only")
    }

    /// Puts node `i`'s operation back; returns the line that recorded it.
    fn put_op_back(&self, i: usize, op: OpBox<T>) -> &'static Location<'static> {
        let mut inner = self.inner.borrow_mut();
        inner.nodes[i].op = Some(op);
        inner.nodes[i].location
    }

    /// An operation's `Var` rule in a plain sweep: run unrecorded on the
    /// gradient `g`, its results read off as tensors, and the temporaries
    /// it put on the tape removed.
    fn var_rule_on_values(
        &self,
        op: &dyn Op<T>,
        i: usize,
        edges: &Edges,
        g: Tensor<T>,
    ) -> Result<ValueGrads<T>> {
        let (mark, edge_mark) = {
            let inner = self.inner.borrow();
            (inner.nodes.len(), inner.edges.len())
        };
        let grad_out = Var::from_id(self, self.constant_at(g, Location::caller()));
        let result = self
            .run_var_rule(op, i, edges, grad_out)
            .map(|grads| grads.into_iter().map(|g| g.map(|v| v.value())).collect());
        let mut inner = self.inner.borrow_mut();
        inner.nodes.truncate(mark);
        inner.edges.truncate(edge_mark);
        inner.names.retain(|(id, _)| *id < mark);
        result
    }

    fn run_var_rule<'t>(
        &'t self,
        op: &dyn Op<T>,
        i: usize,
        (parents, needs): &Edges,
        grad: Var<'t, T>,
    ) -> Result<InputGrads<'t, T>> {
        let ctx = BackwardCtx {
            tape: self,
            inputs: parents.clone(),
            output: i,
            needs: needs.clone(),
        };
        let grads = op.backward(&ctx, grad)?;
        if let Some(k) = grads
            .iter()
            .position(|g| g.is_some_and(|v| v.tape.id() != self.id()))
        {
            return Err(Error::new(
                ErrorKind::Graph,
                op.name(),
                format!("backward returned the gradient for input {k} on another tape"),
            ));
        }
        Ok(grads)
    }

    /// Checks the gradients a recorded rule returned (see [`store_values`])
    /// and stores them, or adds them through a recorded `add`.
    fn store_nodes(
        &self,
        op: &dyn Op<T>,
        (parents, needs): &Edges,
        input_grads: InputGrads<'_, T>,
        anomaly: bool,
        grads: &mut [Option<usize>],
    ) -> Result<()> {
        check_count(op, input_grads.len(), parents.len())?;
        for (k, g) in input_grads.into_iter().enumerate() {
            let (Some(g), true) = (g, needs[k]) else {
                continue;
            };
            let p = parents[k];
            {
                let inner = self.inner.borrow();
                check_grad(
                    op,
                    k,
                    &inner.nodes[g.id].value,
                    inner.nodes[p].value.shape(),
                    anomaly,
                )?;
            }
            grads[p] = Some(match grads[p] {
                None => g.id,
                Some(old) => Var::from_id(self, old).add(g)?.id,
            });
        }
        Ok(())
    }

    /// Passes the complete gradient `current` of node `i` through the hooks
    /// registered on it, in registration order; returns the replacement if
    /// a hook made one. A hook's error names the line that registered it;
    /// in anomaly mode, a hook that turns a finite gradient into NaN or
    /// infinity is blamed for it.
    fn run_hooks(&self, i: usize, current: &Tensor<T>, anomaly: bool) -> Result<Option<Tensor<T>>> {
        if self.inner.borrow().hooks.iter().all(|(id, _, _)| *id != i) {
            return Ok(None);
        }
        let mut hooks = std::mem::take(&mut self.inner.borrow_mut().hooks);
        let mut replaced: Option<Tensor<T>> = None;
        let mut outcome = Ok(());
        for (_, hook, registered) in hooks.iter_mut().filter(|(id, _, _)| *id == i) {
            let now = replaced.as_ref().unwrap_or(current);
            let Some(new) = hook(now) else {
                continue;
            };
            if new.shape() != now.shape() {
                outcome = Err(Error::new(
                    ErrorKind::Graph,
                    "hook",
                    format!(
                        "a hook on value #{i} returned a gradient of shape {} for shape {}",
                        fmt_shape(new.shape()),
                        fmt_shape(now.shape())
                    ),
                )
                .at(registered));
                break;
            }
            if anomaly && !new.all_finite() && now.all_finite() {
                outcome = Err(Error::new(
                    ErrorKind::Anomaly,
                    "hook",
                    format!(
                        "a gradient hook on value #{i} turned a finite gradient of shape {} into one holding NaN or infinity (anomaly mode)",
                        fmt_shape(now.shape())
                    ),
                )
                .at(registered));
                break;
            }
            replaced = Some(new);
        }
        let mut inner = self.inner.borrow_mut();
        // hooks registered while the hooks ran (not possible today) are kept too
        hooks.append(&mut inner.hooks);
        inner.hooks = hooks;
        outcome.map(|()| replaced)
    }

    fn constant_at(&self, value: Tensor<T>, location: &'static Location<'static>) -> usize {
        self.push_node(value, super::NodeKind::Constant, location)
    }
}

/// The values of a node's inputs and whether each needs a gradient, as the
/// slices a [`ValuesCtx`] holds: inline for up to three inputs (all but
/// `concat` of many parts), without the pushes and capacity checks of a
/// growable vector, on the heap for more.
enum InputViews<'a, T: Float> {
    Inline(usize, [&'a Tensor<T>; 3], [bool; 3]),
    Heap(Vec<&'a Tensor<T>>, Vec<bool>),
}

impl<'a, T: Float> InputViews<'a, T> {
    /// The views of `parents`' values; `filler` pads the unused inline slots.
    #[inline]
    fn of(inner: &'a Inner<T>, parents: &[usize], filler: &'a Tensor<T>) -> Self {
        if parents.len() <= 3 {
            let mut values = [filler; 3];
            let mut needs = [false; 3];
            for (k, &p) in parents.iter().enumerate() {
                let node = &inner.nodes[p];
                values[k] = &node.value;
                needs[k] = node.requires_grad();
            }
            InputViews::Inline(parents.len(), values, needs)
        } else {
            InputViews::Heap(
                parents.iter().map(|&p| &inner.nodes[p].value).collect(),
                parents
                    .iter()
                    .map(|&p| inner.nodes[p].requires_grad())
                    .collect(),
            )
        }
    }

    #[inline]
    fn slices(&self) -> (&[&'a Tensor<T>], &[bool]) {
        match self {
            InputViews::Inline(n, values, needs) => (&values[..*n], &needs[..*n]),
            InputViews::Heap(values, needs) => (values, needs),
        }
    }
}

/// The parents of node `i` and which of them need a gradient.
fn edges_of<T: Float>(inner: &Inner<T>, i: usize) -> Edges {
    let parents = Parents::from_slice(inner.parents(i));
    let needs = parents
        .iter()
        .map(|&p| inner.nodes[p].requires_grad())
        .collect();
    (parents, needs)
}

/// Checks the gradients a rule on tensors returned for its inputs (one per
/// input, of the input's shape, finite in anomaly mode) and stores them
/// (first arrival) or adds them (fan-out).
///
/// `op` is named only in an error, so a sweep makes no call for its name.
fn store_values<T: Float>(
    op: &dyn Op<T>,
    inner: &Inner<T>,
    parents: &[usize],
    needs: &[bool],
    input_grads: &mut [Option<Tensor<T>>],
    anomaly: bool,
    grads: &mut [Option<Tensor<T>>],
) -> Result<()> {
    check_count(op, input_grads.len(), parents.len())?;
    for (k, (slot, &p)) in input_grads.iter_mut().zip(parents).enumerate() {
        let (Some(g), true) = (slot.as_ref(), needs[k]) else {
            continue;
        };
        check_grad(op, k, g, inner.nodes[p].value.shape(), anomaly)?;
        let Some(new) = slot.take() else {
            continue;
        };
        match &mut grads[p] {
            Some(old) => accumulate(old, new),
            empty => *empty = Some(new),
        }
    }
    Ok(())
}

/// `old + new` for two gradients of one value, in place in whichever of
/// the two buffers no other tensor shares (a gradient passed through
/// unchanged, as `add`'s, is shared with the node it came from).
fn accumulate<T: Float>(old: &mut Tensor<T>, mut new: Tensor<T>) {
    if !old.is_unique() && new.is_unique() {
        std::mem::swap(old, &mut new);
    }
    // a + b = b + a in IEEE arithmetic: the order of the two does not
    // change a bit of the sum
    crate::kernels::elementwise::add_assign(old, &new);
}

/// A rule returned as many gradients as its operation has inputs.
#[inline]
fn check_count<T: Float>(op: &dyn Op<T>, got: usize, inputs: usize) -> Result<()> {
    if got != inputs {
        return Err(wrong_count(op.name(), got, inputs));
    }
    Ok(())
}

/// A gradient for input `k` has the input's shape, and is finite in
/// anomaly mode.
#[inline]
fn check_grad<T: Float>(
    op: &dyn Op<T>,
    k: usize,
    grad: &Tensor<T>,
    input_shape: &[usize],
    anomaly: bool,
) -> Result<()> {
    if !crate::shape::same_shape(grad.shape(), input_shape) {
        return Err(wrong_grad_shape(op.name(), k, grad.shape(), input_shape));
    }
    if anomaly && !grad.all_finite() {
        return Err(non_finite_grad(op.name(), k, input_shape));
    }
    Ok(())
}

// The errors of the checks above, out of line and cold: the sweep's loop
// keeps only the comparisons.

#[cold]
#[inline(never)]
fn wrong_count(op: &str, got: usize, inputs: usize) -> Error {
    Error::new(
        ErrorKind::Graph,
        op,
        format!("backward returned {got} gradients for {inputs} inputs"),
    )
}

#[cold]
#[inline(never)]
fn wrong_grad_shape(op: &str, k: usize, grad: &[usize], input: &[usize]) -> Error {
    Error::new(
        ErrorKind::Graph,
        op,
        format!(
            "backward returned a gradient of shape {} for input {k} of shape {}",
            fmt_shape(grad),
            fmt_shape(input)
        ),
    )
}

#[cold]
#[inline(never)]
fn non_finite_grad(op: &str, k: usize, input: &[usize]) -> Error {
    Error::new(
        ErrorKind::Anomaly,
        op,
        format!(
            "backward produced NaN or infinity in the gradient for input {k} (shape {}) (anomaly mode)",
            fmt_shape(input)
        ),
    )
}

/// Sets the recording flag for a sweep and switches anomaly checks of
/// forward values off while it runs, restoring both when it ends, however
/// it ends. (Forward checks inside rules would blame the rule's helper
/// operations; the sweep checks the rules' results itself and names the
/// operation they belong to.)
struct SweepGuard<'t, T: Float> {
    tape: &'t Tape<T>,
    recording: bool,
    anomaly: bool,
}

impl<'t, T: Float> SweepGuard<'t, T> {
    fn new(tape: &'t Tape<T>, record: bool) -> Self {
        let mut inner = tape.inner.borrow_mut();
        SweepGuard {
            tape,
            recording: std::mem::replace(&mut inner.recording, record),
            anomaly: std::mem::replace(&mut inner.anomaly, false),
        }
    }
}

impl<T: Float> Drop for SweepGuard<'_, T> {
    fn drop(&mut self) {
        let mut inner = self.tape.inner.borrow_mut();
        inner.recording = self.recording;
        inner.anomaly = self.anomaly;
    }
}
