//! Data: the six TensorFlow Playground datasets and their seven input
//! features, MNIST and the UCI 8×8 digits ([`files`]), seeded train/test
//! splits, a shuffling mini-batch iterator, and its split across the
//! processes of a data-parallel job.

mod batches;
pub mod files;
mod plane_sets;
mod sharded;

pub use batches::{train_test_split, Batches};
pub use plane_sets::{features, Dataset, Feature, Points, Problem};
pub use sharded::{Shard, ShardedBatches};

use autodiff::{Error, Float, Result, Tensor};

/// The rows `indices` of a row-major `[n, d]` tensor, as a new `[k, d]` tensor.
///
/// ```
/// use autodiff::Tensor;
/// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])?;
/// assert_eq!(nn::data::rows(&t, &[2, 0])?.data(), &[5.0, 6.0, 1.0, 2.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Index`](autodiff::ErrorKind::Index) for a row out of range.
#[track_caller]
pub fn rows<T: Float>(t: &Tensor<T>, indices: &[usize]) -> Result<Tensor<T>> {
    let n = t.shape().first().copied().unwrap_or(0);
    let d: usize = t.shape().iter().skip(1).product();
    let mut out = Vec::with_capacity(indices.len() * d);
    for &i in indices {
        if i >= n {
            return Err(
                Error::index("rows", format!("row {i} of a tensor with {n} rows")).at_caller(),
            );
        }
        out.extend_from_slice(&t.data()[i * d..(i + 1) * d]);
    }
    let mut shape = t.shape().to_vec();
    if shape.is_empty() {
        return Err(Error::index("rows", "a scalar has no rows").at_caller());
    }
    shape[0] = indices.len();
    Tensor::from_vec(out, &shape)
}
