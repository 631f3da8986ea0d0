//! [`Grads`]: the gradients a backward sweep returns, keyed by the leaves.

use super::{NodeKind, Var};
use crate::error::{Error, ErrorKind, Result};
use crate::float::Float;
use crate::tensor::Tensor;

/// The gradients of one backward sweep, one per tracked leaf.
///
/// Ask with the [`Var`] you made the leaf with: [`wrt`](Grads::wrt) gives
/// its gradient (zeros if the output does not depend on it).
#[derive(Clone)]
pub struct Grads<T: Float> {
    tape_id: u64,
    grads: Vec<Option<Tensor<T>>>,
    /// Intermediate values whose gradients were kept ([`Var::retain_grad`]).
    retained: Vec<usize>,
}

impl<T: Float> Grads<T> {
    pub(crate) fn new(tape_id: u64, grads: Vec<Option<Tensor<T>>>, retained: Vec<usize>) -> Self {
        Grads {
            tape_id,
            grads,
            retained,
        }
    }

    /// The gradient with respect to `leaf`, or `None` when the sweep did not
    /// reach it (it does not influence the output, or is not a tracked leaf).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(2.0));
    /// let unused = tape.var(Tensor::scalar(1.0));
    /// let g = x.square()?.backward()?;
    /// assert_eq!(g.get(x).unwrap().item()?, 4.0);
    /// assert!(g.get(unused).is_none());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn get(&self, leaf: Var<'_, T>) -> Option<&Tensor<T>> {
        if leaf.tape().id() != self.tape_id {
            return None;
        }
        self.grads.get(leaf.id()).and_then(|g| g.as_ref())
    }

    /// The gradient with respect to `leaf` — a tracked leaf, or a value
    /// marked with [`Var::retain_grad`] before the sweep: zeros of its shape
    /// when the output does not depend on it.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(2.0));
    /// let unused = tape.var(Tensor::scalar(1.0));
    /// let g = x.square()?.backward()?;
    /// assert_eq!(g.wrt(x)?.item()?, 4.0);
    /// assert_eq!(g.wrt(unused)?.item()?, 0.0);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Graph`] when `leaf` is on another tape, or is neither a
    /// tracked leaf (made by [`Tape::var`](crate::Tape::var)) nor retained.
    #[track_caller]
    pub fn wrt(&self, leaf: Var<'_, T>) -> Result<Tensor<T>> {
        let at = std::panic::Location::caller();
        if leaf.tape().id() != self.tape_id {
            return Err(Error::new(
                ErrorKind::Graph,
                "grads",
                "the value belongs to another tape than the one differentiated",
            )
            .at(at));
        }
        if leaf.tape().node_kind(leaf.id()) != NodeKind::Leaf && !self.retained.contains(&leaf.id())
        {
            return Err(crate::tape::not_kept(leaf.id()).at(at));
        }
        Ok(match self.get(leaf) {
            Some(g) => g.clone(),
            None => Tensor::zeros(&leaf.shape()),
        })
    }
}

impl<T: Float> Drop for Grads<T> {
    /// Keeps the emptied gradient list for the next sweep on this thread.
    fn drop(&mut self) {
        super::spare::give(std::mem::take(&mut self.grads));
    }
}

impl<T: Float> std::fmt::Debug for Grads<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (id, g) in self.grads.iter().enumerate() {
            if let Some(g) = g {
                m.entry(&id, &g.shape());
            }
        }
        m.finish()
    }
}
