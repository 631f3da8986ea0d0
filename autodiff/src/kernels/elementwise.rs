//! Element-wise maps and broadcasting binary maps, split across threads
//! (rayon) above [`PARALLEL_MIN_ELEMENTS`].
//!
//! Every element is computed by the same scalar function whichever thread
//! computes it, so results do not depend on the number of threads.

use std::mem::MaybeUninit;
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::Result;
use crate::float::Float;
use crate::shape::{block_pattern, broadcast_shapes, broadcast_strides, for_each_strided, numel};
use crate::tensor::{Storage, Tensor};

/// Maps over fewer elements than this run on one thread. Measured with
/// `cargo bench --bench kernels` on the project's 2-core machine: these
/// kernels are bound by memory, and a second thread made ReLU's backward
/// slower at every size up to 2¹⁹ elements (844 µs on one thread, 928 on
/// two), a 128×256 bias add 4.7× slower, and LeNet's first convolution and
/// pooling slower too; so only very large maps are split.
pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 20;

/// The elements one parallel task computes.
const CHUNK: usize = 1 << 13;

/// Whether work over `n` elements is worth splitting across threads: at
/// least [`PARALLEL_MIN_ELEMENTS`] of them, and more than one thread in
/// rayon's pool. For kernels outside this crate (nn's convolutions) too.
///
/// ```
/// use autodiff::kernels::elementwise::parallel;
/// assert!(!parallel(10));
/// ```
pub fn parallel(n: usize) -> bool {
    n >= PARALLEL_MIN_ELEMENTS && rayon::current_num_threads() > 1
}

/// Storage of `n` elements, filled chunk by chunk (across threads when `n`
/// is large) by `fill(start, out)`, which writes the elements
/// `start..start + out.len()` into `out`. Each element is written once,
/// straight into the tensor's storage (no zero-filling first, no copy
/// afterwards); one element is held inline.
///
/// # Safety
/// `fill` must write every element of the `out` it is given.
unsafe fn build<T: Float>(
    n: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Storage<T> {
    if n == 1 {
        let mut one = [MaybeUninit::uninit()];
        fill(0, &mut one);
        // SAFETY: the caller's `fill` wrote the one element it was given.
        return Storage::One(unsafe { one[0].assume_init() });
    }
    let fill_all = |out: &mut [MaybeUninit<T>]| {
        if parallel(n) {
            out.par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(i, chunk)| fill(i * CHUNK, chunk));
        } else {
            fill(0, out);
        }
    };
    if let Some(mut buffer) = crate::tensor::pool::take::<T>(n) {
        let out = Arc::get_mut(&mut buffer).expect("pooled buffers are unique");
        // SAFETY: `MaybeUninit<T>` has the layout of `T`, and `fill` only
        // writes initialized values (`MaybeUninit::write`), so the elements
        // stay initialized throughout.
        let out = unsafe { &mut *(out as *mut [T] as *mut [MaybeUninit<T>]) };
        fill_all(out);
        return Storage::Shared(buffer);
    }
    let mut storage: Arc<[MaybeUninit<T>]> = Arc::new_uninit_slice(n);
    fill_all(Arc::get_mut(&mut storage).expect("a new Arc is unique"));
    // SAFETY: the chunks cover all `n` elements and the caller's `fill`
    // wrote every element of each chunk.
    Storage::Shared(unsafe { storage.assume_init() })
}

/// `f` applied to every element of `x`.
pub(crate) fn map<T: Float>(x: &Tensor<T>, f: impl Fn(T) -> T + Sync + Copy) -> Tensor<T> {
    map_with(x, x.shape_vec(), f)
}

/// `x` mapped chunk by chunk: `fill(src, out)` writes `out[i] = f(src[i])`
/// for every `i < out.len()` (a kernel that runs over a slice at once).
pub(crate) fn map_slices<T: Float>(
    x: &Tensor<T>,
    fill: impl Fn(&[T], &mut [MaybeUninit<T>]) + Sync,
) -> Tensor<T> {
    let d = x.data();
    // SAFETY: `fill` writes every element of the `out` it is given (its
    // contract above; `src` is sliced to `out.len()`, or the slicing panics).
    let data = unsafe {
        build(d.len(), |start, out| {
            fill(&d[start..start + out.len()], out)
        })
    };
    Tensor::from_storage(data, x.shape_vec())
}

/// `f(a, b)` element-wise for two tensors of the same shape.
///
/// # Panics
/// When the element counts differ (the callers check the shapes first).
pub(crate) fn zip_same<T: Float>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync + Copy,
) -> Tensor<T> {
    let (da, db) = (a.data(), b.data());
    assert_eq!(da.len(), db.len(), "zip_same: element counts differ");
    // SAFETY: `x` and `y` are sliced to `out.len()` elements (or the
    // slicing panics), so the zip writes every element of `out`.
    let data = unsafe {
        build(da.len(), |start, out| {
            let end = start + out.len();
            let (x, y) = (&da[start..end], &db[start..end]);
            for ((o, &x), &y) in out.iter_mut().zip(x).zip(y) {
                o.write(f(x, y));
            }
        })
    };
    Tensor::from_storage(data, a.shape_vec())
}

/// `f` applied to every element of `a`, the result given `shape` (of as
/// many elements).
fn map_with<T: Float>(
    a: &Tensor<T>,
    shape: crate::shape::Shape,
    f: impl Fn(T) -> T + Sync + Copy,
) -> Tensor<T> {
    let d = a.data();
    // SAFETY: `src` is sliced to `out.len()` elements (or the slicing
    // panics), so the zip writes every element of `out`.
    let data = unsafe {
        build(d.len(), |start, out| {
            let src = &d[start..start + out.len()];
            for (o, &v) in out.iter_mut().zip(src) {
                o.write(f(v));
            }
        })
    };
    Tensor::from_storage(data, shape)
}

/// `f(a, b)` element-wise under numpy broadcasting; `op` names the operation
/// in the error when the shapes do not broadcast.
pub(crate) fn zip<T: Float>(
    op: &str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync + Send + Copy,
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
        return Ok(map_with(a, shape, move |x| f(x, y)));
    }
    if da.len() == 1 && shape.as_slice() == b.shape() {
        let x = da[0];
        return Ok(map_with(b, shape, move |y| f(x, y)));
    }
    // a bias-like operand repeated over outer and inner blocks: one block
    // of `inner` elements pairs with one element of b
    if shape.as_slice() == a.shape() {
        if let Some((outer, mid, inner)) = block_pattern(b.shape(), &shape) {
            // every element is written below: no zero-filling first
            let mut out = Tensor::for_overwrite(&shape);
            let od = out.data_mut();
            if inner == 1 {
                // a bias over the last axis: each row of `mid` pairs with all of b
                let fill_row = move |(row, dst): (usize, &mut [T])| {
                    let src = &da[row * mid..(row + 1) * mid];
                    for ((o, &x), &y) in dst.iter_mut().zip(src).zip(db) {
                        *o = f(x, y);
                    }
                };
                if mid > 0 && parallel(od.len()) {
                    od.par_chunks_mut(mid).enumerate().for_each(fill_row);
                } else if mid > 0 {
                    od.chunks_mut(mid).enumerate().for_each(fill_row);
                }
            } else {
                // one block of `inner` elements pairs with one element of b
                let fill_block = move |(blk, dst): (usize, &mut [T])| {
                    let y = db[blk % mid];
                    let src = &da[blk * inner..(blk + 1) * inner];
                    for (o, &x) in dst.iter_mut().zip(src) {
                        *o = f(x, y);
                    }
                };
                if inner > 0 && parallel(od.len()) && outer * mid > 1 {
                    od.par_chunks_mut(inner).enumerate().for_each(fill_block);
                } else if inner > 0 {
                    od.chunks_mut(inner).enumerate().for_each(fill_block);
                }
            }
            return Ok(out);
        }
    }
    let sa = broadcast_strides(a.shape(), &shape);
    let sb = broadcast_strides(b.shape(), &shape);
    let mut data = Vec::with_capacity(numel(&shape));
    for_each_strided(&shape, [&sa, &sb], |_, [i, j]| data.push(f(da[i], db[j])));
    Ok(Tensor::from_parts(data, shape))
}

/// `out[i·n + j] += row[j]` for `n = row.len()`: a bias added to every row
/// of a `[m, n]` buffer in place (the same additions as `zip`'s bias path),
/// across threads for very large buffers.
///
/// # Panics
/// When `out.len()` is not a multiple of `row.len()` (an empty `row` with an
/// empty `out` does nothing).
pub(crate) fn add_to_rows<T: Float>(out: &mut [T], row: &[T]) {
    let n = row.len();
    if n == 0 {
        assert!(
            out.is_empty(),
            "add_to_rows: {} elements in rows of 0",
            out.len()
        );
        return;
    }
    assert_eq!(
        out.len() % n,
        0,
        "add_to_rows: {} elements in rows of {n}",
        out.len()
    );
    let add = |dst: &mut [T]| {
        for (o, &b) in dst.iter_mut().zip(row) {
            *o += b;
        }
    };
    if parallel(out.len()) {
        out.par_chunks_mut(n).for_each(add);
    } else {
        out.chunks_mut(n).for_each(add);
    }
}

/// `a += b` in place when the shapes are equal (used to accumulate
/// gradients at fan-out); copies `a` first only if its storage is shared.
///
/// # Panics
/// When the shapes differ.
pub(crate) fn add_assign<T: Float>(a: &mut Tensor<T>, b: &Tensor<T>) {
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

#[cfg(test)]
mod examples {
    // the examples of crate-private functions, as unit tests
    #[test]
    fn map() -> crate::Result<()> {
        use crate::{kernels::elementwise, Tensor};
        let t = Tensor::from_vec(vec![1.0, 4.0], &[2])?;
        assert_eq!(elementwise::map(&t, f64::sqrt).data(), &[1.0, 2.0]);
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn zip() -> crate::Result<()> {
        use crate::{kernels::elementwise, Tensor};
        let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
        let b = Tensor::from_vec(vec![10.0, 20.0], &[2])?;
        assert_eq!(
            elementwise::zip("add", &a, &b, |x, y| x + y)?.data(),
            &[11.0, 22.0, 13.0, 24.0]
        );
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn add_assign() -> crate::Result<()> {
        use crate::{kernels::elementwise, Tensor};
        let mut a = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
        elementwise::add_assign(&mut a, &Tensor::ones(&[2]));
        assert_eq!(a.data(), &[2.0, 3.0]);
        Ok::<(), crate::Error>(())
    }
}
