//! [`BoundParams`]: which parameters a [`Session`](crate::Session) has put
//! on its tape, and as which values.

use autodiff::{Float, Var};
use smallvec::SmallVec;

use crate::param::{IdMap, ParamId};

/// Up to this many bound parameters are found by a scan of the list (an
/// MLP of three or four layers binds six or eight); with more, an index
/// by identity is built and kept up to date.
const SCAN_MAX: usize = 16;

/// The parameters bound in one session, in the order of their binding.
///
/// A small model's are held inline and found by a scan, with no hashing
/// and no allocation per step (W1: the session's map was about 80
/// instructions per parameter and an allocation per step); a large
/// model's are found through an index, so a step binding P parameters
/// costs O(P), not O(P²).
pub(crate) struct BoundParams<'t, T: Float> {
    list: SmallVec<[(ParamId, Var<'t, T>); 8]>,
    /// Position in `list` by identity; empty while `list` is at most
    /// [`SCAN_MAX`] long.
    index: IdMap<usize>,
}

impl<'t, T: Float> BoundParams<'t, T> {
    pub(crate) fn new() -> Self {
        BoundParams {
            list: SmallVec::new(),
            index: IdMap::default(),
        }
    }

    /// The value `id` is bound to, if any.
    #[inline]
    pub(crate) fn get(&self, id: ParamId) -> Option<Var<'t, T>> {
        if self.list.len() <= SCAN_MAX {
            self.list.iter().find(|(p, _)| *p == id).map(|&(_, v)| v)
        } else {
            self.index.get(&id).map(|&k| self.list[k].1)
        }
    }

    /// Binds `id` to `var`; `id` must not be bound yet.
    pub(crate) fn insert(&mut self, id: ParamId, var: Var<'t, T>) {
        debug_assert!(self.get(id).is_none(), "a parameter is bound once");
        self.list.push((id, var));
        if self.list.len() > SCAN_MAX {
            if self.index.is_empty() {
                self.index
                    .extend(self.list.iter().enumerate().map(|(k, &(p, _))| (p, k)));
            } else {
                self.index.insert(id, self.list.len() - 1);
            }
        }
    }

    /// The bound parameters and their values, in binding order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ParamId, Var<'t, T>)> + '_ {
        self.list.iter().copied()
    }

    /// How many parameters are bound.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::Param;
    use autodiff::{Tape, Tensor};

    #[test]
    fn every_binding_is_found_below_and_above_the_scan_limit() {
        let tape = Tape::<f32>::new();
        let params: Vec<Param<f32>> = (0..3 * SCAN_MAX)
            .map(|k| Param::new(Tensor::full(&[1], k as f32)))
            .collect();
        let mut bound = BoundParams::new();
        for (k, p) in params.iter().enumerate() {
            assert!(bound.get(p.id()).is_none(), "{k} is not bound yet");
            bound.insert(p.id(), tape.var(p.value().clone()));
            assert_eq!(bound.len(), k + 1);
            // every parameter bound so far, and no other
            for (j, q) in params.iter().enumerate() {
                let got = bound.get(q.id()).map(|v| v.value().data()[0]);
                assert_eq!(
                    got,
                    (j <= k).then_some(j as f32),
                    "after {k} bindings, parameter {j}"
                );
            }
        }
        let order: Vec<f32> = bound.iter().map(|(_, v)| v.value().data()[0]).collect();
        assert_eq!(
            order,
            (0..3 * SCAN_MAX).map(|k| k as f32).collect::<Vec<_>>()
        );
    }
}
