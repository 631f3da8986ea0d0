//! [`OverlappedReduction`]: the gradient all-reduce started bucket by
//! bucket while the backward sweep still runs.
//!
//! The parameters are grouped into buckets in *reverse* visiting order — the
//! order in which a reverse sweep completes their gradients (a layer's
//! parameters become leaves when the forward pass first uses them, so the
//! last layer's come last on the tape and first in the sweep). A gradient
//! hook on every parameter copies its weighted gradient into its bucket;
//! when a bucket is full its non-blocking all-reduce starts, and every hook
//! afterwards lets MPI progress the reductions in flight (without a progress
//! thread, MPI advances a non-blocking collective only inside MPI calls).
//! The last bucket is complete only when the sweep ends, so `finish` sums
//! it with a blocking all-reduce. Buckets start strictly in bucket order on
//! every process (a full bucket waits for the ones before it), because MPI
//! matches collectives by the order in which they start.

use std::cell::RefCell;
use std::rc::Rc;

use autodiff::{Error, Float, Result, Tensor};
use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use super::in_flight::InFlightSum;
use super::{DataParallel, BUCKET_ELEMENTS};
use crate::module::Module;
use crate::param::ParamId;
use crate::session::{ParamGrads, Session};

/// The default bucket size of [`DataParallel::overlap_gradients`]: 64 Ki
/// values (256 KiB of `f32`). A bucket holds whole tensors, so one larger
/// tensor makes a larger bucket.
pub const OVERLAP_BUCKET_ELEMENTS: usize = 1 << 16;

/// Where one parameter's gradient goes: its bucket and its offset there.
struct Slot {
    id: ParamId,
    name: String,
    bucket: usize,
    offset: usize,
    len: usize,
}

/// A bucket of weighted gradients, filled by hooks, then reduced.
enum Bucket<T: Equivalence> {
    Filling { values: Box<[T]>, missing: usize },
    InFlight(InFlightSum<T>),
}

/// The state the hooks and [`OverlappedReduction::finish`] share.
struct Buckets<T: Equivalence> {
    world: Rc<SimpleCommunicator>,
    buckets: Vec<Bucket<T>>,
    /// Buckets `0..started` have their reduction in flight.
    started: usize,
    /// Whether each slot's gradient has arrived.
    arrived: Vec<bool>,
    /// The first misuse a hook saw (a gradient arriving twice).
    fault: Option<String>,
}

impl<T: Float + Equivalence> Buckets<T> {
    /// Starts, in order, every bucket but the last that is full and whose
    /// predecessors have started. The last bucket is filled by the end of
    /// the sweep, when there is nothing left to overlap: `finish` reduces
    /// it with a blocking all-reduce, which MPI implementations make faster
    /// than a non-blocking one.
    ///
    /// With `all`, it starts every bucket but the last, full or not: a
    /// blocking collective never matches a non-blocking one, so every
    /// process sends these buckets non-blocking, also one whose sweep did
    /// not fill them (an empty shard).
    fn start_ready(&mut self, all: bool) {
        let last = self.buckets.len().saturating_sub(1);
        while self.started < last {
            let bucket = &mut self.buckets[self.started];
            let Bucket::Filling { values, missing } = bucket else {
                unreachable!("buckets from `started` on are filling");
            };
            if *missing > 0 && !all {
                break;
            }
            let send = std::mem::take(values);
            *bucket = Bucket::InFlight(InFlightSum::start(&self.world, send));
            self.started += 1;
        }
    }

    /// Lets MPI progress the reductions in flight.
    fn poke(&mut self) {
        for bucket in &mut self.buckets[..self.started] {
            if let Bucket::InFlight(sum) = bucket {
                sum.poke();
            }
        }
    }
}

/// A gradient all-reduce that overlaps the backward sweep; made by
/// [`DataParallel::overlap_gradients`], completed by
/// [`finish`](Self::finish).
///
/// Every process must call `overlap_gradients` and `finish` for every step,
/// also one whose shard is empty (it runs no backward; `finish` sends
/// zeros). An error between the two should end the job through
/// [`DataParallel::or_abort`]: dropping an unfinished reduction waits for
/// the buckets already in flight, which the other processes complete only
/// if they reach the same step.
pub struct OverlappedReduction<T: Equivalence> {
    state: Rc<RefCell<Buckets<T>>>,
    slots: Vec<Slot>,
    bucket_lengths: Vec<usize>,
}

impl DataParallel {
    /// Starts the all-reduce of
    /// [`all_reduce_gradients`](Self::all_reduce_gradients) so that it
    /// overlaps the backward sweep:
    /// call it after the forward pass of `session` (when the model's
    /// parameters are bound) and before `session.grads(loss)`, then pass the
    /// gradients to [`OverlappedReduction::finish`]. The result is that of
    /// `all_reduce_gradients`, up to the order in which MPI adds the
    /// processes' contributions (the same bits with two processes).
    ///
    /// It registers a gradient hook on every parameter `session` bound;
    /// buckets hold about [`bucket_elements`](Self::bucket_elements) values.
    ///
    /// ```no_run
    /// # use autodiff::{Tape, Tensor};
    /// # use nn::{Activation, Init, Mlp, Module, Session};
    /// # let (_universe, dp) = nn::distributed::initialize()?;
    /// # let mlp = Mlp::<f32>::new(&[4, 8, 3], Activation::Relu, Init::PyTorch, 1)?;
    /// # let (x, y) = (Tensor::zeros(&[2, 4]), [0, 2]);
    /// let tape = Tape::new();
    /// let s = Session::train(&tape);
    /// let loss = mlp.forward(&s, s.input(x))?.cross_entropy(&y)?;
    /// let reduction = dp.overlap_gradients(&mlp, &s, 2, 2 * dp.size())?;
    /// let mut grads = s.grads(loss)?; // buckets start as the sweep fills them
    /// reduction.finish(&mlp, &mut grads)?;
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when
    /// `local > global` or `global` is 0.
    pub fn overlap_gradients<T: Float + Equivalence>(
        &self,
        model: &dyn Module<T>,
        session: &Session<'_, T>,
        local: usize,
        global: usize,
    ) -> Result<OverlappedReduction<T>> {
        let weight = shard_weight("DataParallel::overlap_gradients", local, global)?;
        // buckets over the parameters in reverse visiting order
        let mut params = Vec::new();
        model.visit_params("", &mut |name, p| {
            params.push((name.to_string(), p.id(), p.value().numel()))
        });
        let mut slots = Vec::with_capacity(params.len());
        let mut bucket_lengths = vec![0usize];
        for (name, id, len) in params.into_iter().rev() {
            if *bucket_lengths.last().unwrap() >= self.bucket_elements() {
                bucket_lengths.push(0);
            }
            let last = bucket_lengths.len() - 1;
            slots.push(Slot {
                id,
                name,
                bucket: last,
                offset: bucket_lengths[last],
                len,
            });
            bucket_lengths[last] += len;
        }
        // a parameter the forward pass did not use, or any parameter of an
        // empty shard, contributes zeros and is not waited for
        let mut waiting = vec![0usize; bucket_lengths.len()];
        let mut hooked = Vec::new();
        model.visit_params("", &mut |_, p| {
            if let Some(var) = session.bound(p).filter(|v| v.requires_grad() && local > 0) {
                let slot = slots.iter().position(|s| s.id == p.id()).unwrap();
                waiting[slots[slot].bucket] += 1;
                hooked.push((var, slot));
            }
        });
        let state = Rc::new(RefCell::new(Buckets {
            world: self.communicator(),
            buckets: bucket_lengths
                .iter()
                .zip(&waiting)
                .map(|(&n, &missing)| Bucket::Filling {
                    values: vec![T::zero(); n].into_boxed_slice(),
                    missing,
                })
                .collect(),
            started: 0,
            arrived: vec![false; slots.len()],
            fault: None,
        }));
        for (var, slot) in hooked {
            let (bucket, offset, len) = (slots[slot].bucket, slots[slot].offset, slots[slot].len);
            let name = slots[slot].name.clone();
            let state = Rc::clone(&state);
            var.register_hook(move |g: &Tensor<T>| {
                let mut s = state.borrow_mut();
                let s = &mut *s;
                let first = !std::mem::replace(&mut s.arrived[slot], true);
                match &mut s.buckets[bucket] {
                    Bucket::Filling { values, missing } if first && g.numel() == len => {
                        let to = &mut values[offset..offset + len];
                        for (v, &x) in to.iter_mut().zip(g.data()) {
                            *v = T::of_f64(x.as_f64() * weight);
                        }
                        *missing -= 1;
                    }
                    _ => {
                        s.fault.get_or_insert(format!(
                            "the gradient of {name} arrived twice \
                             (a second backward through the same session?)"
                        ));
                    }
                }
                s.start_ready(false);
                s.poke();
                None
            });
        }
        Ok(OverlappedReduction {
            state,
            slots,
            bucket_lengths,
        })
    }
}

impl<T: Float + Equivalence> OverlappedReduction<T> {
    /// The number of buckets.
    pub fn buckets(&self) -> usize {
        self.bucket_lengths.len()
    }

    /// How many buckets have their all-reduce in flight (after a complete
    /// backward sweep of a non-empty shard: all but the last, which
    /// [`finish`](Self::finish) reduces).
    pub fn started(&self) -> usize {
        self.state.borrow().started
    }

    /// Starts the buckets the sweep did not fill (parameters without a
    /// gradient count as zero), waits for every reduction, and sets every
    /// parameter's gradient in `grads` to the global batch's gradient.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when a
    /// gradient arrived twice (two backward sweeps
    /// through one session), or when `model` is not the model the
    /// reduction was made for.
    pub fn finish(self, model: &dyn Module<T>, grads: &mut ParamGrads<T>) -> Result<()> {
        let sums: Vec<Box<[T]>> = {
            let mut s = self.state.borrow_mut();
            s.start_ready(true);
            let buckets = std::mem::take(&mut s.buckets);
            // the in-flight buckets come first: every process starts its
            // collectives in the same order
            buckets
                .into_iter()
                .map(|b| match b {
                    Bucket::InFlight(sum) => sum.wait(),
                    Bucket::Filling { values, .. } => {
                        let mut sum = vec![T::zero(); values.len()].into_boxed_slice();
                        for (send, receive) in values
                            .chunks(BUCKET_ELEMENTS)
                            .zip(sum.chunks_mut(BUCKET_ELEMENTS))
                        {
                            s.world
                                .all_reduce_into(send, receive, SystemOperation::sum());
                        }
                        sum
                    }
                })
                .collect()
        };
        if let Some(fault) = self.state.borrow_mut().fault.take() {
            return Err(Error::argument("OverlappedReduction::finish", fault));
        }
        debug_assert!(sums
            .iter()
            .map(|b| b.len())
            .eq(self.bucket_lengths.iter().copied()));
        let mut fault = None;
        let mut seen = 0;
        model.visit_params("", &mut |name, p| {
            let Some(slot) = self.slots.iter().find(|s| s.id == p.id()) else {
                fault.get_or_insert(format!("{name} is not a parameter of the reduced model"));
                return;
            };
            seen += 1;
            let values = sums[slot.bucket][slot.offset..slot.offset + slot.len].to_vec();
            match Tensor::from_vec(values, p.value().shape()) {
                Ok(t) => grads.insert(p, t),
                Err(e) => {
                    fault.get_or_insert(format!("{name}: {e}"));
                }
            }
        });
        if fault.is_none() && seen != self.slots.len() {
            fault = Some(format!(
                "the model has {seen} parameters, the reduced one had {}",
                self.slots.len()
            ));
        }
        match fault {
            Some(f) => Err(Error::argument("OverlappedReduction::finish", f)),
            None => Ok(()),
        }
    }
}

/// A shard's share of the global batch, `local / global`.
pub(super) fn shard_weight(op: &'static str, local: usize, global: usize) -> Result<f64> {
    if global == 0 || local > global {
        return Err(Error::argument(
            op,
            format!("a shard of {local} examples of a global batch of {global}"),
        ));
    }
    Ok(local as f64 / global as f64)
}
