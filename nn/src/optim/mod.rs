//! Optimizers that update a model's parameters from the gradients a tape
//! returned, and learning-rate schedules.

mod adam;
mod rmsprop;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamW};
pub use rmsprop::RmsProp;
pub use schedule::{CosineLr, LrSchedule, StepLr};
pub use sgd::Sgd;

use autodiff::shape::fmt_shape;
use autodiff::{Error, Float, Result, Tensor};

use crate::module::Module;
use crate::param::Param;
use crate::session::ParamGrads;

/// An update rule `θ ← θ − step(∇θ)`.
pub trait Optimizer<T: Float> {
    /// Updates every parameter of `model` that has a gradient in `grads`
    /// (parameters without one are left as they are).
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming the parameter
    /// when a gradient's shape is not its parameter's;
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when the
    /// learning rate set by [`set_lr`](Self::set_lr) is not finite and ≥ 0.
    /// Errors name the line that called `step` (`#[track_caller]` in every
    /// implementation).
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &ParamGrads<T>) -> Result<()>;

    /// The current learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate (for schedules). A rate that is not finite
    /// and ≥ 0 makes the next [`step`](Self::step) fail, before any update.
    fn set_lr(&mut self, lr: f64);
}

/// Parameters of at least this many elements are updated in parts on the
/// calling thread and `autodiff::kernels::split`'s helpers. On two threads
/// this took W2's step (first weight 784·256 ≈ 2¹⁷·⁶ elements, updated from
/// memory, not cache) from 769 to 714 µs (medians of 9 interleaved runs),
/// once a region's parts no longer waited for a sleeping thread. `cargo
/// bench --bench kernels -- sgd_update` measures the update alone.
pub const PARALLEL_UPDATE_MIN_ELEMENTS: usize = 1 << 16;

/// Runs `update(g, [θ, state…])` on matching consecutive parts of the
/// gradient `g` and of `slices` (a parameter's values and its per-element
/// state, each as long as `g`): one part per thread of rayon's pool when
/// there are [`PARALLEL_UPDATE_MIN_ELEMENTS`] or more, else the whole at
/// once. Every element's update reads and writes its own index only, so
/// the split changes no bit of the result.
pub(crate) fn in_parts<T: Float, const N: usize>(
    g: &[T],
    slices: [&mut [T]; N],
    update: impl Fn(&[T], [&mut [T]; N]) + Sync,
) {
    let threads = rayon::current_num_threads();
    if threads < 2 || g.len() < PARALLEL_UPDATE_MIN_ELEMENTS {
        update(g, slices);
        return;
    }
    assert!(
        slices.iter().all(|s| s.len() == g.len()),
        "optimizer state of another length than its gradient"
    );
    let part = g.len().div_ceil(threads);
    let mut chunks = slices.map(|s| s.chunks_mut(part));
    let parts: Vec<(&[T], [&mut [T]; N])> = g
        .chunks(part)
        .map(|gc| {
            let states = std::array::from_fn(|k| {
                chunks[k]
                    .next()
                    .expect("slices as long as g have as many parts")
            });
            (gc, states)
        })
        .collect();
    autodiff::kernels::split::for_each_part(parts, |(g, states)| update(g, states));
}

/// Checks a hyperparameter: `value` must be finite and satisfy `valid`
/// (described by `domain`, e.g. `"≥ 0"`), or the error names the
/// optimizer, the hyperparameter and the value.
#[track_caller]
pub(crate) fn hyperparameter(
    op: &str,
    name: &str,
    value: f64,
    domain: &str,
    valid: impl Fn(f64) -> bool,
) -> Result<f64> {
    if value.is_finite() && valid(value) {
        Ok(value)
    } else {
        Err(Error::argument(
            op,
            format!("{name} {value} is invalid: it must be finite and {domain}"),
        )
        .at(std::panic::Location::caller()))
    }
}

/// Visits every parameter of `model` with a gradient, checking shapes,
/// and calls `update(name, param, grad)`.
#[track_caller]
pub(crate) fn for_each_update<T: Float>(
    op: &str,
    model: &mut dyn Module<T>,
    grads: &ParamGrads<T>,
    mut update: impl FnMut(&mut Param<T>, &Tensor<T>),
) -> Result<()> {
    let mut mismatch = None;
    model.for_each_param_mut(&mut |p| {
        if mismatch.is_some() {
            return;
        }
        let Some(g) = grads.get(p) else {
            return;
        };
        if g.shape() != p.value().shape() {
            mismatch = Some((p.id(), p.value().shape().to_vec(), g.shape().to_vec()));
            return;
        }
        update(p, g);
    });
    let Some((id, shape, grad_shape)) = mismatch else {
        return Ok(());
    };
    // the rare error path names the parameter
    let mut name = String::from("?");
    model.visit_params("", &mut |n, p| {
        if p.id() == id {
            name = n.to_string();
        }
    });
    Err(Error::shape(
        op,
        format!(
            "parameter {name} has shape {} but its gradient {}",
            fmt_shape(&shape),
            fmt_shape(&grad_shape)
        ),
    )
    .at_caller())
}
