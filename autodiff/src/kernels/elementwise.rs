//! Element-wise maps and broadcasting binary maps, split across threads
//! (rayon) above [`PARALLEL_MIN_ELEMENTS`].
//!
//! Every element is computed by the same scalar function whichever thread
//! computes it, so results do not depend on the number of threads.

use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;

use crate::error::Result;
use crate::float::Float;
use crate::shape::{block_pattern, broadcast_shapes, broadcast_strides, for_each_strided, numel};
use crate::tensor::Tensor;

/// Maps over fewer elements than this run on one thread (measured with
/// `cargo bench --bench kernels`: below it, waking the second core costs
/// more than half of the work).
pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// The elements one parallel task computes.
const CHUNK: usize = 1 << 13;

/// Whether work over `n` elements is worth splitting across threads.
pub(crate) fn parallel(n: usize) -> bool {
    n >= PARALLEL_MIN_ELEMENTS && rayon::current_num_threads() > 1
}

/// A vector of `n` elements whose elements `range` are the items of
/// `part(range)`, built in chunks across threads when `n` is large. Each
/// element is written once (no zero-filling first).
///
/// # Panics
/// When `part` yields fewer items than its range holds.
pub(crate) fn build<T, I>(n: usize, part: impl Fn(Range<usize>) -> I + Sync) -> Vec<T>
where
    T: Send,
    I: Iterator<Item = T>,
{
    let mut v: Vec<T> = Vec::with_capacity(n);
    let spare = &mut v.spare_capacity_mut()[..n];
    let fill = |start: usize, out: &mut [MaybeUninit<T>]| -> usize {
        let (mut written, len) = (0, out.len());
        for (slot, x) in out.iter_mut().zip(part(start..start + len)) {
            slot.write(x);
            written += 1;
        }
        written
    };
    let written: usize = if parallel(n) {
        spare
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(i, out)| fill(i * CHUNK, out))
            .sum()
    } else {
        fill(0, spare)
    };
    assert_eq!(
        written, n,
        "elementwise::build: a part yielded too few items"
    );
    // SAFETY: each chunk wrote a prefix of its slots, at most `out.len()`
    // of them (the zip stops there); the chunks' counts add up to `n`, the
    // sum of their lengths, so every chunk wrote all of its slots and the
    // first `n` elements are initialized. `n` ≤ capacity (sliced above).
    unsafe { v.set_len(n) };
    v
}

/// `f` applied to every element of `x`.
///
/// ```
/// use autodiff::{kernels::elementwise, Tensor};
/// let t = Tensor::from_vec(vec![1.0, 4.0], &[2])?;
/// assert_eq!(elementwise::map(&t, f64::sqrt).data(), &[1.0, 2.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn map<T: Float>(x: &Tensor<T>, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
    let d = x.data();
    let data = build(d.len(), |r| d[r].iter().map(|&v| f(v)));
    Tensor::from_parts(data, x.shape_vec())
}

/// `f(a, b)` element-wise for two tensors of the same shape (checked by the
/// caller).
pub(crate) fn zip_same<T: Float>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync,
) -> Tensor<T> {
    debug_assert_eq!(a.shape(), b.shape());
    let (da, db) = (a.data(), b.data());
    let data = build(da.len(), |r| {
        da[r.clone()].iter().zip(&db[r]).map(|(&x, &y)| f(x, y))
    });
    Tensor::from_parts(data, a.shape_vec())
}

/// `f(a, b)` element-wise under numpy broadcasting; `op` names the operation
/// in the error when the shapes do not broadcast.
///
/// ```
/// use autodiff::{kernels::elementwise, Tensor};
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
/// let b = Tensor::from_vec(vec![10.0, 20.0], &[2])?;
/// assert_eq!(elementwise::zip("add", &a, &b, |x, y| x + y)?.data(), &[11.0, 22.0, 13.0, 24.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn zip<T: Float>(
    op: &str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync,
) -> Result<Tensor<T>> {
    let (da, db) = (a.data(), b.data());
    if a.shape() == b.shape() {
        return Ok(zip_same(a, b, f));
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape())?;
    if numel(&shape) == 0 {
        return Ok(Tensor::from_parts(Vec::new(), shape));
    }
    if db.len() == 1 && shape.as_slice() == a.shape() {
        let y = db[0];
        return Ok(Tensor::from_parts(
            build(da.len(), |r| da[r].iter().map(|&x| f(x, y))),
            shape,
        ));
    }
    if da.len() == 1 && shape.as_slice() == b.shape() {
        let x = da[0];
        return Ok(Tensor::from_parts(
            build(db.len(), |r| db[r].iter().map(|&y| f(x, y))),
            shape,
        ));
    }
    // a bias-like operand repeated over outer and inner blocks
    if shape.as_slice() == a.shape() {
        if let Some((_, mid, inner)) = block_pattern(b.shape(), &shape) {
            let data = if inner == 1 {
                // a bias over the last axis: element i pairs with b[i mod mid]
                build(da.len(), |r| {
                    let ys = db.iter().cycle().skip(r.start % mid);
                    da[r].iter().zip(ys).map(|(&x, &y)| f(x, y))
                })
            } else {
                build(da.len(), |r| {
                    // element i pairs with b[(i / inner) mod mid]
                    let (first, skip) = (r.start / inner, r.start % inner);
                    let ys = (first..)
                        .flat_map(move |blk| std::iter::repeat_n(db[blk % mid], inner))
                        .skip(skip);
                    da[r].iter().zip(ys).map(|(&x, y)| f(x, y))
                })
            };
            return Ok(Tensor::from_parts(data, shape));
        }
    }
    let sa = broadcast_strides(a.shape(), &shape);
    let sb = broadcast_strides(b.shape(), &shape);
    let mut data = Vec::with_capacity(numel(&shape));
    for_each_strided(&shape, [&sa, &sb], |_, [i, j]| data.push(f(da[i], db[j])));
    Ok(Tensor::from_parts(data, shape))
}

/// `a += b` in place when the shapes are equal (used to accumulate
/// gradients at fan-out); copies `a` first only if its storage is shared.
///
/// ```
/// use autodiff::{kernels::elementwise, Tensor};
/// let mut a = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
/// elementwise::add_assign(&mut a, &Tensor::ones(&[2]));
/// assert_eq!(a.data(), &[2.0, 3.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Panics
/// When the shapes differ.
pub fn add_assign<T: Float>(a: &mut Tensor<T>, b: &Tensor<T>) {
    assert_eq!(a.shape(), b.shape(), "add_assign: shapes differ");
    let db = b.data();
    let da = a.data_mut();
    if parallel(da.len()) {
        da.par_chunks_mut(CHUNK)
            .zip(db.par_chunks(CHUNK))
            .for_each(|(x, y)| x.iter_mut().zip(y).for_each(|(x, &y)| *x += y));
    } else {
        da.iter_mut().zip(db).for_each(|(x, &y)| *x += y);
    }
}
