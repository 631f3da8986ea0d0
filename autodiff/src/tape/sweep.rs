//! The reverse sweep: one loop over the Wengert list from the output down.
//!
//! For each node that received a gradient ḡ, its backward rule turns ḡ into
//! gradients for the node's inputs, which are stored (first arrival) or
//! added (fan-out). Leaves and retained values keep theirs.
//!
//! Two modes share the loop:
//! - **plain** (`create_graph = false`): gradients are tensors; the rules
//!   run with recording off, and the temporaries they put on the tape are
//!   removed as soon as each rule returns, so the tape does not grow.
//! - **recorded** (`create_graph = true`): gradients are nodes on the tape,
//!   computed by recorded operations, and so can be differentiated again.

use std::panic::Location;

use crate::error::{Error, ErrorKind, Result};
use crate::float::Float;
use smallvec::SmallVec;

use crate::shape::fmt_shape;
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValuesCtx};
use crate::tensor::Tensor;

use super::{NodeKind, Tape, Var};

/// A gradient during the sweep: a plain tensor or a node on the tape.
#[derive(Clone)]
pub(crate) enum Slot<T: Float> {
    Value(Tensor<T>),
    Node(usize),
}

impl<T: Float> Tape<T> {
    /// The reverse sweep from `root`, seeded with `seed` (the gradient of
    /// the final scalar with respect to `root`). Returns one slot per node
    /// up to `root`: the gradients of the leaves, of the nodes in `retain`
    /// and of those marked by [`Var::retain_grad`]; other slots are consumed.
    pub(crate) fn sweep(
        &self,
        root: usize,
        seed: Slot<T>,
        create_graph: bool,
        retain: &[usize],
    ) -> Result<Vec<Option<Slot<T>>>> {
        let n = root + 1;
        let mut grads: Vec<Option<Slot<T>>> = (0..n).map(|_| None).collect();
        if !self.inner.borrow().nodes[root].requires_grad() {
            return Ok(grads);
        }
        let _recording = self.set_recording(create_graph);
        // Anomaly checks of the forward values computed inside rules would
        // blame the rule's helper operations; the sweep checks the rule's
        // results itself instead and names the operation they belong to.
        let anomaly = std::mem::replace(&mut self.inner.borrow_mut().anomaly, false);
        let _anomaly = AnomalyGuard {
            tape: self,
            previous: anomaly,
        };
        grads[root] = Some(match seed {
            Slot::Value(t) if create_graph => Slot::Node(self.constant_at(t, Location::caller())),
            other => other,
        });
        for i in (0..n).rev() {
            let Some(slot) = grads[i].take() else {
                continue;
            };
            let slot = self.run_hooks(i, slot, create_graph, anomaly)?;
            let (op, parents, needs, keep) = {
                let mut inner = self.inner.borrow_mut();
                let keep = inner.nodes[i].retain || retain.contains(&i);
                let node = &mut inner.nodes[i];
                if node.op.is_some() && node.value.numel() == 0 {
                    // an empty output sends nothing back: its inputs' gradients
                    // are zero (absent), and the rule — whose intermediates may
                    // be large for shapes like [2⁴⁰, 0] — need not run
                    if keep {
                        grads[i] = Some(slot);
                    }
                    continue;
                }
                let Some(op) = node.op.take() else {
                    grads[i] = Some(slot); // a leaf (or constant seed): keep it
                    continue;
                };
                let parents = node.parents.clone();
                let needs: SmallVec<[bool; 2]> = parents
                    .iter()
                    .map(|&p| inner.nodes[p].requires_grad())
                    .collect();
                (op, parents, needs, keep)
            };
            if keep {
                grads[i] = Some(slot.clone());
            }
            let result = match slot {
                Slot::Value(g) => self.backward_plain(&*op, i, &parents, &needs, g),
                Slot::Node(g) => self.backward_recorded(&*op, i, &parents, &needs, g),
            };
            let outcome = result.and_then(|input_grads| {
                self.store_input_grads(&*op, &parents, &needs, input_grads, anomaly, &mut grads)
            });
            let location = {
                let mut inner = self.inner.borrow_mut();
                inner.nodes[i].op = Some(op);
                inner.nodes[i].location
            };
            outcome.map_err(|e| e.at(location))?;
        }
        Ok(grads)
    }

    /// Checks the gradients a rule returned for its inputs (one per input,
    /// of the input's shape, finite in anomaly mode) and stores them (first
    /// arrival) or adds them (fan-out).
    fn store_input_grads(
        &self,
        op: &dyn Op<T>,
        parents: &[usize],
        needs: &[bool],
        input_grads: SmallVec<[Option<Slot<T>>; 2]>,
        anomaly: bool,
        grads: &mut [Option<Slot<T>>],
    ) -> Result<()> {
        if input_grads.len() != parents.len() {
            return Err(Error::new(
                ErrorKind::Graph,
                op.name(),
                format!(
                    "backward returned {} gradients for {} inputs",
                    input_grads.len(),
                    parents.len()
                ),
            ));
        }
        for (k, g) in input_grads.into_iter().enumerate() {
            let (Some(g), true) = (g, needs[k]) else {
                continue;
            };
            let p = parents[k];
            {
                let inner = self.inner.borrow();
                let value = match &g {
                    Slot::Value(t) => t,
                    Slot::Node(id) => &inner.nodes[*id].value,
                };
                let p_shape = inner.nodes[p].value.shape();
                if value.shape() != p_shape {
                    return Err(Error::new(
                        ErrorKind::Graph,
                        op.name(),
                        format!(
                            "backward returned a gradient of shape {} for input {k} of shape {}",
                            fmt_shape(value.shape()),
                            fmt_shape(p_shape)
                        ),
                    ));
                }
                if anomaly && !value.all_finite() {
                    return Err(Error::new(
                        ErrorKind::Anomaly,
                        op.name(),
                        format!(
                            "backward produced NaN or infinity in the gradient for input {k} (shape {}) (anomaly mode)",
                            fmt_shape(p_shape)
                        ),
                    ));
                }
            }
            grads[p] = Some(match grads[p].take() {
                None => g,
                Some(old) => self.accumulate(old, g)?,
            });
        }
        Ok(())
    }

    /// One node's backward rule in a plain sweep: the operation's
    /// tensor-level rule when it has one, else its `Var` rule run unrecorded
    /// (its temporaries are removed from the tape right after).
    fn backward_plain(
        &self,
        op: &dyn Op<T>,
        i: usize,
        parents: &[usize],
        needs: &[bool],
        g: Tensor<T>,
    ) -> Result<SmallVec<[Option<Slot<T>>; 2]>> {
        {
            let inner = self.inner.borrow();
            let inputs: SmallVec<[&Tensor<T>; 4]> =
                parents.iter().map(|&p| &inner.nodes[p].value).collect();
            let ctx = ValuesCtx {
                inputs: &inputs,
                output: &inner.nodes[i].value,
                needs,
            };
            if let Some(result) = op.backward_values(&ctx, &g) {
                return Ok(result?.into_iter().map(|t| t.map(Slot::Value)).collect());
            }
        }
        let mark = self.len();
        let grad_out = Var::from_id(self, self.constant_at(g, Location::caller()));
        let result = self.run_var_rule(op, i, parents, needs, grad_out);
        let out = result.map(|grads| {
            grads
                .into_iter()
                .map(|g| g.map(|v| Slot::Value(v.value())))
                .collect()
        });
        {
            let mut inner = self.inner.borrow_mut();
            inner.nodes.truncate(mark);
            inner.names.retain(|(id, _)| *id < mark);
        }
        out
    }

    /// One node's backward rule in a recorded sweep: its `Var` rule, whose
    /// operations land on the tape.
    fn backward_recorded(
        &self,
        op: &dyn Op<T>,
        i: usize,
        parents: &[usize],
        needs: &[bool],
        g: usize,
    ) -> Result<SmallVec<[Option<Slot<T>>; 2]>> {
        let grads = self.run_var_rule(op, i, parents, needs, Var::from_id(self, g))?;
        Ok(grads
            .into_iter()
            .map(|g| g.map(|v| Slot::Node(v.id)))
            .collect())
    }

    fn run_var_rule<'t>(
        &'t self,
        op: &dyn Op<T>,
        i: usize,
        parents: &[usize],
        needs: &[bool],
        grad: Var<'t, T>,
    ) -> Result<InputGrads<'t, T>> {
        let ctx = BackwardCtx {
            tape: self,
            inputs: parents.into(),
            output: i,
            needs: needs.into(),
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

    /// Adds a second gradient into a slot (fan-out). Plain tensors add in
    /// place; recorded gradients add through a recorded operation.
    fn accumulate(&self, old: Slot<T>, new: Slot<T>) -> Result<Slot<T>> {
        Ok(match (old, new) {
            (Slot::Value(mut a), Slot::Value(b)) => {
                crate::kernels::elementwise::add_assign(&mut a, &b);
                Slot::Value(a)
            }
            (Slot::Node(a), Slot::Node(b)) => {
                let sum = Var::from_id(self, a).add(Var::from_id(self, b))?;
                Slot::Node(sum.id)
            }
            _ => unreachable!("one sweep never mixes recorded and plain gradients"),
        })
    }

    /// Passes the complete gradient of node `i` through the hooks registered
    /// on it, in registration order; a hook that returns a tensor replaces
    /// the gradient. A hook's error names the line that registered it; in
    /// anomaly mode, a hook that turns a finite gradient into NaN or
    /// infinity is blamed for it.
    fn run_hooks(
        &self,
        i: usize,
        slot: Slot<T>,
        create_graph: bool,
        anomaly: bool,
    ) -> Result<Slot<T>> {
        if self.inner.borrow().hooks.iter().all(|(id, _, _)| *id != i) {
            return Ok(slot);
        }
        let mut hooks = std::mem::take(&mut self.inner.borrow_mut().hooks);
        let mut slot = slot;
        let mut outcome = Ok(());
        for (_, hook, registered) in hooks.iter_mut().filter(|(id, _, _)| *id == i) {
            let current = match &slot {
                Slot::Value(t) => t.clone(),
                Slot::Node(id) => self.node_value(*id),
            };
            if let Some(new) = hook(&current) {
                if new.shape() != current.shape() {
                    outcome = Err(Error::new(
                        ErrorKind::Graph,
                        "hook",
                        format!(
                            "a hook on value #{i} returned a gradient of shape {} for shape {}",
                            fmt_shape(new.shape()),
                            fmt_shape(current.shape())
                        ),
                    )
                    .at(registered));
                    break;
                }
                if anomaly && !new.all_finite() && current.all_finite() {
                    outcome = Err(Error::new(
                        ErrorKind::Anomaly,
                        "hook",
                        format!(
                            "a gradient hook on value #{i} turned a finite gradient of shape {} into one holding NaN or infinity (anomaly mode)",
                            fmt_shape(current.shape())
                        ),
                    )
                    .at(registered));
                    break;
                }
                slot = if create_graph {
                    Slot::Node(self.constant_at(new, Location::caller()))
                } else {
                    Slot::Value(new)
                };
            }
        }
        let mut inner = self.inner.borrow_mut();
        // hooks registered while the hooks ran (not possible today) are kept too
        hooks.append(&mut inner.hooks);
        inner.hooks = hooks;
        outcome.map(|()| slot)
    }

    fn constant_at(&self, value: Tensor<T>, location: &'static Location<'static>) -> usize {
        self.push_node(value, NodeKind::Constant, location)
    }
}

/// Restores the anomaly flag when the sweep ends, however it ends.
struct AnomalyGuard<'t, T: Float> {
    tape: &'t Tape<T>,
    previous: bool,
}

impl<T: Float> Drop for AnomalyGuard<'_, T> {
    fn drop(&mut self) {
        self.tape.inner.borrow_mut().anomaly = self.previous;
    }
}
