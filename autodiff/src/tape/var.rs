//! [`Var`]: a handle to a value on a tape, and the ways to differentiate it.

use std::panic::Location;

use super::grads::Grads;
use crate::error::{Error, ErrorKind, Result};
use crate::float::Float;
use crate::shape::{fmt_shape, numel, Shape};
use crate::tensor::Tensor;

use super::{NodeKind, Tape};

/// A value on a [`Tape`]: a small `Copy` handle (the tape and an index).
///
/// Operations on `Var`s compute a new value and, when an input is tracked,
/// record themselves. They return [`Result`]: bad shapes, axes or labels
/// give an [`Error`] naming the operation, the shapes and the caller. The
/// operators `+ - * /` and unary `-` are sugar for
/// [`add`](Var::add), [`sub`](Var::sub), [`mul`](Var::mul), [`div`](Var::div)
/// and [`neg`](Var::neg) that **panic** with the same message on an error.
///
/// Its accessors: the tape, the node index (creation order), the value,
/// the shape, and whether gradients flow to it.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
/// let c = tape.constant(Tensor::scalar(3.0));
/// let y = x.mul(c)?;
/// assert!(std::ptr::eq(y.tape(), &tape));
/// assert!(y.id() > x.id());
/// assert_eq!(y.value().data(), &[3.0, 6.0]);
/// assert_eq!(y.shape().as_slice(), &[2]);
/// assert!(y.requires_grad() && !c.requires_grad());
/// # Ok::<(), autodiff::Error>(())
/// ```
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
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(2.0));
    /// let y = x.mul(x.detach())?; // d/dx (x · c) = c = 2
    /// assert_eq!(y.backward()?.wrt(x)?.item()?, 2.0);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn detach(self) -> Var<'t, T> {
        let id = self
            .tape
            .push_node(self.value(), NodeKind::Constant, Location::caller());
        Var::from_id(self.tape, id)
    }

    /// Keeps this intermediate value's gradient in the result of later
    /// backward sweeps (PyTorch's `retain_grad`), so that
    /// [`Grads::wrt`] answers for it as for a leaf. Returns `self`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(3.0));
    /// let h = x.mul_scalar(2.0)?.retain_grad(); // h = 2x
    /// let y = h.square()?;                       // y = h²
    /// assert_eq!(y.backward()?.wrt(h)?.item()?, 12.0); // ∂y/∂h = 2h
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn retain_grad(self) -> Self {
        self.tape.inner.borrow_mut().nodes[self.id].retain = true;
        self
    }

    /// Gives this value a name, shown by the graph export
    /// ([`Tape::to_dot`](crate::Tape::to_dot)) beside its operation, as in
    /// a derivation's notation (x, W1, z1, …). Returns `self`; naming again
    /// replaces the name.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let w1 = tape.var(Tensor::from_vec(vec![0.5, -1.0], &[2, 1])?).named("W1");
    /// let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?).named("x");
    /// let z1 = x.matmul(w1)?.named("z1");
    /// assert_eq!(z1.name().as_deref(), Some("z1"));
    /// assert!(tape.to_dot().contains("z1 = matmul"));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn named(self, name: &str) -> Self {
        let mut inner = self.tape.inner.borrow_mut();
        inner.names.retain(|(id, _)| *id != self.id);
        inner.names.push((self.id, name.to_string()));
        drop(inner);
        self
    }

    /// The name given with [`named`](Self::named), if any.
    pub fn name(self) -> Option<String> {
        let inner = self.tape.inner.borrow();
        inner
            .names
            .iter()
            .find(|(id, _)| *id == self.id)
            .map(|(_, n)| n.clone())
    }

    /// Registers a hook that sees the complete gradient flowing into this
    /// value during every later backward sweep, before it flows on to the
    /// value's inputs. Returning `Some(tensor)` (of the same shape) replaces
    /// the gradient; `None` leaves it. Hooks run in registration order.
    ///
    /// In a recorded sweep ([`backward_graph`](Var::backward_graph)) a
    /// replaced gradient is a constant: higher derivatives do not flow
    /// through a hook's rewrite.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0f64, -2.0], &[2])?);
    /// let h = x.mul_scalar(3.0)?;
    /// // clip the gradient flowing into h to [-1, 1]
    /// h.register_hook(|g| Some(g.map(|v| v.clamp(-1.0, 1.0))));
    /// let y = h.square()?.sum()?; // ∂y/∂h = 2h = [6, -12] → clipped to [1, -1]
    /// assert_eq!(y.backward()?.wrt(x)?.data(), &[3.0, -3.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn register_hook(self, hook: impl FnMut(&Tensor<T>) -> Option<Tensor<T>> + 'static) {
        self.tape
            .inner
            .borrow_mut()
            .hooks
            .push((self.id, Box::new(hook), Location::caller()));
    }

    /// Gradients of this one-element value with respect to every tracked
    /// leaf (and retained value), by one reverse sweep over the tape.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// let y = x.exp()?.sum()?;
    /// let g = y.backward()?;
    /// assert_eq!(g.wrt(x)?.data(), &[1f64.exp(), 2f64.exp()]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`] when the value has more than one element (use
    /// [`vjp`](Var::vjp) with a seed instead); any error a backward rule
    /// returns; [`ErrorKind::Anomaly`] in anomaly mode.
    #[track_caller]
    pub fn backward(self) -> Result<Grads<T>> {
        let shape = self.single_element("backward")?;
        self.vjp(&Tensor::ones(&shape))
    }

    /// The vector-Jacobian product: gradients of `Σ seed ⊙ self` with
    /// respect to every tracked leaf (and retained value).
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
    #[track_caller]
    pub fn vjp(self, seed: &Tensor<T>) -> Result<Grads<T>> {
        self.check_seed("vjp", seed.shape())?;
        let at = Location::caller();
        let grads = self
            .tape
            .sweep_values(self.id, seed.clone(), &[])
            .map_err(|e| e.at(at))?;
        let retained = self.tape.retained_ids(grads.len());
        Ok(Grads::new(self.tape.id(), grads, retained))
    }

    /// Like [`backward`](Var::backward), but the backward pass is itself
    /// recorded on the tape (PyTorch's `create_graph=True`): the gradients
    /// are [`Var`]s that can be differentiated again.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(2.0));
    /// let y = x.powi(3)?;                      // y = x³
    /// let dy = y.backward_graph()?.wrt(x)?;    // 3x² = 12, on the tape
    /// let d2y = dy.backward()?.wrt(x)?;        // 6x = 12
    /// assert_eq!((dy.value().item()?, d2y.item()?), (12.0, 12.0));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`backward`](Var::backward).
    #[track_caller]
    pub fn backward_graph(self) -> Result<VarGrads<'t, T>> {
        let shape = self.single_element("backward_graph")?;
        let seed = self.tape.constant(Tensor::ones(&shape));
        self.vjp_graph(seed, &[])
    }

    /// The recorded vector-Jacobian product with a seed that is itself a
    /// value on the tape (and may be tracked: the result is linear in it,
    /// which is how [`jvp`](crate::jvp) gets forward-mode derivatives).
    /// Values in `keep` get their gradients kept even if they are not leaves.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// let h = x.exp()?;
    /// let y = h.mul(x)?;                                  // y = x·eˣ
    /// let u = tape.var(Tensor::from_vec(vec![1.0, 1.0], &[2])?);
    /// let g = y.vjp_graph(u, &[h])?;
    /// // ∂y/∂x = (1 + x)eˣ, and ∂y/∂h = x (kept although h is intermediate)
    /// assert_eq!(g.wrt(x)?.value().data(), &[2.0 * 1f64.exp(), 3.0 * 2f64.exp()]);
    /// assert_eq!(g.wrt(h)?.value().data(), &[1.0, 2.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`] when `seed`'s shape is not the value's;
    /// [`ErrorKind::Graph`] when it is on another tape.
    #[track_caller]
    pub fn vjp_graph(self, seed: Var<'t, T>, keep: &[Var<'t, T>]) -> Result<VarGrads<'t, T>> {
        self.same_tape("vjp_graph", seed)?;
        self.check_seed("vjp_graph", &seed.shape())?;
        let keep_ids: Vec<usize> = keep.iter().map(|v| v.id).collect();
        let at = Location::caller();
        let slots = self
            .tape
            .sweep_recorded(self.id, seed.id, &keep_ids)
            .map_err(|e| e.at(at))?;
        Ok(VarGrads {
            tape: self.tape,
            slots,
            kept: keep_ids,
        })
    }

    /// The gradient of this one-element value with respect to `wrt` (any
    /// value on the tape), recorded so that it can be differentiated again:
    /// `y.grad(x)?.grad(x)` would be a second derivative (after summing to
    /// one element).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(2.0));
    /// let y = x.powi(3)?;        // x³
    /// let dy = y.grad(x)?;       // 3x² = 12
    /// let d2y = dy.grad(x)?;     // 6x = 12
    /// let d3y = d2y.grad(x)?;    // 6
    /// assert_eq!(d3y.value().item()?, 6.0);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`backward`](Var::backward); [`ErrorKind::Graph`] when `wrt` is
    /// on another tape.
    #[track_caller]
    pub fn grad(self, wrt: Var<'t, T>) -> Result<Var<'t, T>> {
        self.same_tape("grad", wrt)?;
        let shape = self.single_element("grad")?;
        let seed = self.tape.constant(Tensor::ones(&shape));
        self.vjp_graph(seed, &[wrt])?.wrt(wrt)
    }

    #[track_caller]
    fn single_element(&self, op: &str) -> Result<Shape> {
        let shape = self.shape();
        if numel(&shape) != 1 {
            return Err(Error::shape(
                op,
                format!(
                    "output has shape {}; {op} needs a single element (use a vjp with a seed)",
                    fmt_shape(&shape)
                ),
            )
            .at(Location::caller()));
        }
        Ok(shape)
    }

    #[track_caller]
    pub(crate) fn same_tape(&self, op: &str, other: Var<'_, T>) -> Result<()> {
        if other.tape.id() != self.tape.id() {
            return Err(
                Error::new(ErrorKind::Graph, op, "the values belong to different tapes")
                    .at(Location::caller()),
            );
        }
        Ok(())
    }

    #[track_caller]
    pub(crate) fn check_seed(&self, op: &str, seed: &[usize]) -> Result<()> {
        let shape = self.shape();
        if seed != shape.as_slice() {
            return Err(Error::shape(
                op,
                format!(
                    "seed of shape {} for an output of shape {}",
                    fmt_shape(seed),
                    fmt_shape(&shape)
                ),
            )
            .at(Location::caller()));
        }
        Ok(())
    }
}

impl<T: Float> std::fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var#{} {:?}", self.id, self.value())
    }
}

/// The gradients of a recorded sweep ([`Var::backward_graph`],
/// [`Var::vjp_graph`]): values on the tape, differentiable again.
pub struct VarGrads<'t, T: Float> {
    tape: &'t Tape<T>,
    slots: Vec<Option<usize>>,
    kept: Vec<usize>,
}

impl<'t, T: Float> VarGrads<'t, T> {
    /// The gradient with respect to `v` — a tracked leaf, a retained value,
    /// or a value named in `keep` — as a value on the tape; a constant zero
    /// when the output does not depend on it.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(3.0));
    /// let g = x.square()?.backward_graph()?;
    /// let dx = g.wrt(x)?; // 2x, a value on the tape
    /// assert_eq!(dx.value().item()?, 6.0);
    /// assert!(dx.requires_grad());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Graph`] when `v` is on another tape, or is an
    /// intermediate value whose gradient was not kept.
    #[track_caller]
    pub fn wrt(&self, v: Var<'t, T>) -> Result<Var<'t, T>> {
        if v.tape.id() != self.tape.id() {
            return Err(Error::new(
                ErrorKind::Graph,
                "grads",
                "the value belongs to another tape than the one differentiated",
            )
            .at(Location::caller()));
        }
        let kept = self.tape.node_kind(v.id) == NodeKind::Leaf
            || self.tape.node_retained(v.id)
            || self.kept.contains(&v.id);
        if !kept {
            return Err(not_kept(v.id).at(Location::caller()));
        }
        Ok(match self.slots.get(v.id).copied().flatten() {
            Some(id) => Var::from_id(self.tape, id),
            None => self.tape.constant(Tensor::zeros(&v.shape())),
        })
    }
}

pub(crate) fn not_kept(id: usize) -> Error {
    Error::new(
        ErrorKind::Graph,
        "grads",
        format!(
            "value #{id} is neither a tracked leaf nor retained (make it with Tape::var, or call retain_grad before backward)"
        ),
    )
}
