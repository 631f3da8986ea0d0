//! Data-parallel training across processes on MPI (cargo feature `mpi`),
//! the way PyTorch's DistributedDataParallel and Horovod do it: every
//! process holds a replica of the model, computes the gradient of its shard
//! of each global batch ([`ShardedBatches`](crate::data::ShardedBatches)),
//! and the gradients are summed across processes before every optimizer
//! step, so that every replica takes the same step.
//!
//! Exactness: a shard's gradient is of its *own* mean loss; weighting it by
//! `shard_len / global_len` before the sum gives exactly the gradient of
//! the global batch's mean loss, also when the shards differ in size (an
//! uneven split, or a last batch smaller than the number of processes).
//!
//! Communication goes in a few large contiguous buffers (buckets of
//! [`BUCKET_ELEMENTS`] values, in the model's parameter order), not one
//! call per tensor, in the model's own type (an `f32` model's gradients
//! travel and are summed as `f32`, as in PyTorch: half the bytes of `f64`).
//!
//! Failure: a rank that meets an error passes it to
//! [`DataParallel::or_abort`], which prints it with the rank and ends the
//! whole job (`MPI_Abort`), instead of leaving the other ranks waiting in
//! their next collective forever.
//!
//! Overlap: [`DataParallel::overlap_gradients`] starts each bucket's
//! all-reduce from gradient hooks as soon as the backward sweep has
//! produced that bucket's gradients, so that communication overlaps the
//! rest of the sweep ([`overlap`](self::OverlappedReduction) has the
//! details; the README has what it saves).

use autodiff::{Error, Float, Result, Tensor};
use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use std::rc::Rc;

use crate::module::Module;
use crate::session::ParamGrads;

mod in_flight;
mod overlap;

pub use overlap::{OverlappedReduction, OVERLAP_BUCKET_ELEMENTS};

/// The MPI bindings (rsmpi), for what [`DataParallel`] does not wrap.
pub use mpi;

/// Initializes MPI (once per process) and returns the environment, which
/// must live until the end of the program (dropping it finalizes MPI), with
/// the job of all processes `mpirun` started.
///
/// # Errors
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when MPI was
/// already initialized in this process.
pub fn initialize() -> Result<(mpi::environment::Universe, DataParallel)> {
    let universe = mpi::initialize().ok_or_else(|| {
        Error::argument(
            "distributed::initialize",
            "MPI is already initialized in this process",
        )
    })?;
    let job = DataParallel::new(universe.world());
    Ok((universe, job))
}

/// Values per blocking all-reduce call: 1 Mi (4 MiB of `f32`).
pub const BUCKET_ELEMENTS: usize = 1 << 20;

/// A process's view of a data-parallel job: its rank, the number of
/// processes, and the collective operations a training loop needs.
pub struct DataParallel {
    world: Rc<SimpleCommunicator>,
    bucket_elements: usize,
}

impl DataParallel {
    /// The job of all processes `mpirun` started (`MPI_COMM_WORLD`).
    pub fn new(world: SimpleCommunicator) -> Self {
        DataParallel {
            world: Rc::new(world),
            bucket_elements: OVERLAP_BUCKET_ELEMENTS,
        }
    }

    /// The communicator, shared with the reductions in flight.
    fn communicator(&self) -> Rc<SimpleCommunicator> {
        Rc::clone(&self.world)
    }

    /// About how many values each bucket of
    /// [`overlap_gradients`](Self::overlap_gradients) holds (whole tensors:
    /// a bucket closes once it holds at least this many).
    pub fn bucket_elements(&self) -> usize {
        self.bucket_elements
    }

    /// Sets [`bucket_elements`](Self::bucket_elements): smaller buckets start
    /// sooner in the sweep, larger ones make fewer MPI calls. It must be the
    /// same on every process.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for 0.
    pub fn set_bucket_elements(&mut self, n: usize) -> Result<()> {
        if n == 0 {
            return Err(Error::argument(
                "DataParallel::set_bucket_elements",
                "a bucket of 0 values",
            ));
        }
        self.bucket_elements = n;
        Ok(())
    }

    /// This process's rank, `0..size`.
    pub fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// Whether this is rank 0, the process that prints, draws figures and
    /// writes model files.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Overwrites every replica's parameters with rank 0's, so that all
    /// processes start from the same model.
    pub fn broadcast_parameters<T: Float>(&self, model: &mut dyn Module<T>) {
        let mut flat = flatten(model);
        for chunk in flat.chunks_mut(BUCKET_ELEMENTS) {
            self.world.process_at_rank(0).broadcast_into(chunk);
        }
        unflatten(model, &flat);
    }

    /// Turns each process's gradient of its shard's mean loss into the
    /// gradient of the global batch's mean loss, on every process: each is
    /// weighted by `local / global` (the shard's share of the global batch)
    /// and the weighted gradients are summed across processes in buckets.
    /// A process whose shard is empty passes `local = 0` and any `grads`
    /// (missing gradients count as zero).
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when
    /// `local > global` or `global` is 0.
    pub fn all_reduce_gradients<T: Float + Equivalence>(
        &self,
        model: &dyn Module<T>,
        grads: &mut ParamGrads<T>,
        local: usize,
        global: usize,
    ) -> Result<()> {
        let weight = overlap::shard_weight("DataParallel::all_reduce_gradients", local, global)?;
        let mut flat = Vec::new();
        model.visit_params("", &mut |_, p| match grads.get(p) {
            Some(g) if local > 0 => {
                flat.extend(g.data().iter().map(|v| T::of_f64(v.as_f64() * weight)))
            }
            _ => flat.extend(std::iter::repeat_n(T::zero(), p.value().numel())),
        });
        let mut summed = vec![T::zero(); flat.len()];
        for (send, receive) in flat
            .chunks(BUCKET_ELEMENTS)
            .zip(summed.chunks_mut(BUCKET_ELEMENTS))
        {
            self.world
                .all_reduce_into(send, receive, SystemOperation::sum());
        }
        let mut offset = 0;
        let mut fault = None;
        model.visit_params("", &mut |name, p| {
            let n = p.value().numel();
            let values = summed[offset..offset + n].to_vec();
            offset += n;
            match Tensor::from_vec(values, p.value().shape()) {
                Ok(t) => grads.insert(p, t),
                Err(e) => fault = Some(format!("{name}: {e}")),
            }
        });
        match fault {
            Some(f) => Err(Error::argument("DataParallel::all_reduce_gradients", f)),
            None => Ok(()),
        }
    }

    /// The value of `result`, or — on an error — the error printed to
    /// standard error with this rank, and the whole job ended with exit
    /// status 1 (`MPI_Abort`): every other rank stops too, wherever it
    /// waits, and `mpirun` exits non-zero.
    ///
    /// ```no_run
    /// # let universe = mpi::initialize().unwrap();
    /// let dp = nn::distributed::DataParallel::new(universe.world());
    /// let digits = dp.or_abort(nn::data::files::load_digits("digits.csv"));
    /// ```
    pub fn or_abort<T, E: std::fmt::Display>(&self, result: std::result::Result<T, E>) -> T {
        match result {
            Ok(value) => value,
            Err(e) => {
                eprintln!("rank {} of {}: {e}", self.rank(), self.size());
                self.world.abort(1)
            }
        }
    }

    /// The sum of `value` over all processes (for a global loss or count).
    pub fn sum(&self, value: f64) -> f64 {
        let mut total = 0.0;
        self.world
            .all_reduce_into(&value, &mut total, SystemOperation::sum());
        total
    }

    /// [`replicas_agree`](Self::replicas_agree) as a `Result`: an error,
    /// on every rank, when the replicas no longer hold the same parameters
    /// (a training loop calls it after optimizer steps — the `mnist`
    /// example does after every epoch in debug builds, and on request).
    ///
    /// # Errors
    /// [`ErrorKind::Anomaly`](autodiff::ErrorKind::Anomaly) naming the
    /// number of processes when the parameter hashes differ.
    pub fn check_replicas<T: Float>(&self, model: &dyn Module<T>) -> Result<()> {
        if self.replicas_agree(model) {
            Ok(())
        } else {
            Err(Error::new(
                autodiff::ErrorKind::Anomaly,
                "DataParallel::check_replicas",
                format!(
                    "the {} replicas no longer hold the same parameters",
                    self.size()
                ),
            ))
        }
    }

    /// Whether every replica holds the same parameters, bit for bit: each
    /// process hashes its parameters' bits, and the smallest and largest
    /// hash over all processes are compared (two all-reduces of one value).
    pub fn replicas_agree<T: Float>(&self, model: &dyn Module<T>) -> bool {
        // FNV-1a over the f64 bits of every parameter, in visiting order
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        model.visit_params("", &mut |_, p| {
            for v in p.value().data() {
                for byte in v.as_f64().to_bits().to_le_bytes() {
                    hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
                }
            }
        });
        let (mut low, mut high) = (0u64, 0u64);
        self.world
            .all_reduce_into(&hash, &mut low, SystemOperation::min());
        self.world
            .all_reduce_into(&hash, &mut high, SystemOperation::max());
        low == high
    }
}

/// Every parameter's values, in visiting order, as one `f64` buffer.
fn flatten<T: Float>(model: &dyn Module<T>) -> Vec<f64> {
    let mut flat = Vec::new();
    model.visit_params("", &mut |_, p| {
        flat.extend(p.value().data().iter().map(|v| v.as_f64()))
    });
    flat
}

/// The inverse of [`flatten`]: sets every parameter from `flat`.
fn unflatten<T: Float>(model: &mut dyn Module<T>, flat: &[f64]) {
    let mut offset = 0;
    model.visit_params_mut("", &mut |_, p| {
        let data = p.data_mut();
        let n = data.len();
        for (d, &v) in data.iter_mut().zip(&flat[offset..offset + n]) {
            *d = T::of_f64(v);
        }
        offset += n;
    });
}
