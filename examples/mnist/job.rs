//! The process's place in the run: the only process, or one rank of a
//! data-parallel job under `mpirun` (`--distributed`, cargo feature `mpi`).

use nn::{Module, ParamGrads};

pub struct Job {
    #[cfg(feature = "mpi")]
    parallel: Option<(
        nn::distributed::mpi::environment::Universe,
        nn::distributed::DataParallel,
    )>,
}

impl Job {
    /// One process, or (`distributed`) this rank of the MPI job.
    pub fn start(distributed: bool) -> Result<Job, Box<dyn std::error::Error>> {
        #[cfg(feature = "mpi")]
        {
            let parallel = if distributed {
                Some(nn::distributed::initialize()?)
            } else {
                None
            };
            Ok(Job { parallel })
        }
        #[cfg(not(feature = "mpi"))]
        {
            if distributed {
                return Err("--distributed needs MPI: build with \
                            `cargo build --release --features mpi --example mnist`"
                    .into());
            }
            Ok(Job {})
        }
    }

    pub fn rank(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some((_, dp)) = &self.parallel {
            return dp.rank();
        }
        0
    }

    pub fn size(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some((_, dp)) = &self.parallel {
            return dp.size();
        }
        1
    }

    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Every rank starts from rank 0's weights.
    pub fn share_weights(&self, _model: &mut dyn Module<f32>) {
        #[cfg(feature = "mpi")]
        if let Some((_, dp)) = &self.parallel {
            dp.broadcast_parameters(_model);
        }
    }

    /// The global batch's gradient from this shard's (`local` of `global`
    /// examples); the identity for one process.
    pub fn reduce(
        &self,
        _model: &dyn Module<f32>,
        _grads: &mut ParamGrads<f32>,
        _local: usize,
        _global: usize,
    ) -> autodiff::Result<()> {
        #[cfg(feature = "mpi")]
        if let Some((_, dp)) = &self.parallel {
            return dp.all_reduce_gradients(_model, _grads, _local, _global);
        }
        Ok(())
    }

    /// Whether the replicas still agree (always, for one process).
    pub fn check_replicas(&self, _model: &dyn Module<f32>) -> autodiff::Result<()> {
        #[cfg(feature = "mpi")]
        if let Some((_, dp)) = &self.parallel {
            return dp.check_replicas(_model);
        }
        Ok(())
    }

    /// `value` summed over the ranks.
    pub fn sum(&self, value: f64) -> f64 {
        #[cfg(feature = "mpi")]
        if let Some((_, dp)) = &self.parallel {
            return dp.sum(value);
        }
        value
    }

    /// Ends the run: on an error in a data-parallel job, the whole job
    /// stops with this rank's message (no other rank is left waiting).
    pub fn finish(
        self,
        result: Result<(), Box<dyn std::error::Error>>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        #[cfg(feature = "mpi")]
        if let Some((_, dp)) = &self.parallel {
            if let Err(e) = result {
                dp.or_abort(Err::<(), _>(e));
                unreachable!("or_abort ends the process");
            }
        }
        result
    }
}
