//! Kernels that move elements without arithmetic: permute, slice, pad,
//! concatenate, gather and scatter rows.

use crate::float::Float;
use crate::shape::{for_each_strided, numel, split_at_axis, strides, Shape};
use crate::tensor::Tensor;

/// The tensor with its axes reordered: output axis `i` is input axis `perm[i]`.
/// `perm` must be a permutation of `0..rank`.
pub(crate) fn permute<T: Float>(x: &Tensor<T>, perm: &[usize]) -> Tensor<T> {
    let in_strides = strides(x.shape());
    let shape: Shape = perm.iter().map(|&p| x.shape()[p]).collect();
    let read: Shape = perm.iter().map(|&p| in_strides[p]).collect();
    let d = x.data();
    let mut out = Vec::with_capacity(d.len());
    for_each_strided(&shape, [&read], |_, [i]| out.push(d[i]));
    Tensor::from_parts(out, shape)
}

/// Entries `start..start + len` of `axis`.
pub(crate) fn narrow<T: Float>(x: &Tensor<T>, axis: usize, start: usize, len: usize) -> Tensor<T> {
    let mut shape = x.shape_vec();
    shape[axis] = len;
    // nothing to move when either side is empty; the loops below would
    // otherwise walk a huge outer extent of an empty tensor ([2⁴⁰, 0])
    if numel(&shape) == 0 {
        return Tensor::zeros(&shape);
    }
    let (outer, n, inner) = split_at_axis(x.shape(), axis);
    let d = x.data();
    let mut out = Vec::with_capacity(outer * len * inner);
    for o in 0..outer {
        let from = (o * n + start) * inner;
        out.extend_from_slice(&d[from..from + len * inner]);
    }
    Tensor::from_parts(out, shape)
}

/// The adjoint of [`narrow`]: `x` placed at `start` along `axis` of a zero
/// tensor whose `axis` has extent `full`.
pub(crate) fn pad_axis<T: Float>(
    x: &Tensor<T>,
    axis: usize,
    start: usize,
    full: usize,
) -> Tensor<T> {
    let (outer, len, inner) = split_at_axis(x.shape(), axis);
    let mut shape = x.shape_vec();
    shape[axis] = full;
    if x.numel() == 0 {
        return Tensor::zeros(&shape); // also: no walk over an empty tensor's outer extent
    }
    let mut out = vec![T::zero(); numel(&shape)];
    let d = x.data();
    for o in 0..outer {
        let to = (o * full + start) * inner;
        out[to..to + len * inner].copy_from_slice(&d[o * len * inner..(o + 1) * len * inner]);
    }
    Tensor::from_parts(out, shape)
}

/// Concatenation along `axis`; the parts agree on every other axis.
pub(crate) fn concat<T: Float>(parts: &[&Tensor<T>], axis: usize) -> Tensor<T> {
    let mut shape = parts[0].shape_vec();
    shape[axis] = parts.iter().map(|p| p.shape()[axis]).sum();
    if numel(&shape) == 0 {
        return Tensor::zeros(&shape); // no walk over an empty result's outer extent
    }
    let (outer, _, inner) = split_at_axis(&shape, axis);
    let mut out = Vec::with_capacity(numel(&shape));
    for o in 0..outer {
        for p in parts {
            let chunk = p.shape()[axis] * inner;
            out.extend_from_slice(&p.data()[o * chunk..(o + 1) * chunk]);
        }
    }
    Tensor::from_parts(out, shape)
}

/// Gathers entries `indices` along `axis` (each index `< x.shape()[axis]`).
pub(crate) fn index_select<T: Float>(x: &Tensor<T>, axis: usize, indices: &[usize]) -> Tensor<T> {
    let mut shape = x.shape_vec();
    shape[axis] = indices.len();
    if numel(&shape) == 0 {
        return Tensor::zeros(&shape); // no walk over an empty result's outer extent
    }
    let (outer, n, inner) = split_at_axis(x.shape(), axis);
    let d = x.data();
    let mut out = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &i in indices {
            let from = (o * n + i) * inner;
            out.extend_from_slice(&d[from..from + inner]);
        }
    }
    Tensor::from_parts(out, shape)
}

/// The adjoint of [`index_select`]: a zero tensor with extent `full` along
/// `axis` into which entry `k` of `x` is added at position `indices[k]`
/// (repeated indices accumulate).
pub(crate) fn index_add<T: Float>(
    x: &Tensor<T>,
    axis: usize,
    indices: &[usize],
    full: usize,
) -> Tensor<T> {
    let (outer, len, inner) = split_at_axis(x.shape(), axis);
    let mut shape = x.shape_vec();
    shape[axis] = full;
    if x.numel() == 0 {
        return Tensor::zeros(&shape); // nothing to add, and no walk over an empty outer extent
    }
    let mut out = vec![T::zero(); numel(&shape)];
    let d = x.data();
    for o in 0..outer {
        for (k, &i) in indices.iter().enumerate().take(len) {
            let from = (o * len + k) * inner;
            let to = (o * full + i) * inner;
            for j in 0..inner {
                out[to + j] += d[from + j];
            }
        }
    }
    Tensor::from_parts(out, shape)
}

#[cfg(test)]
mod examples {
    // the examples of crate-private functions, as unit tests
    #[test]
    fn permute() -> crate::Result<()> {
        use crate::{kernels::layout, Tensor};
        let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
        assert_eq!(
            layout::permute(&t, &[1, 0]).data(),
            &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn narrow() -> crate::Result<()> {
        use crate::{kernels::layout, Tensor};
        let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
        assert_eq!(layout::narrow(&t, 1, 1, 2).data(), &[2.0, 3.0, 5.0, 6.0]);
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn pad_axis() -> crate::Result<()> {
        use crate::{kernels::layout, Tensor};
        let t = Tensor::from_vec(vec![2.0, 3.0], &[1, 2])?;
        assert_eq!(layout::pad_axis(&t, 1, 1, 4).data(), &[0.0, 2.0, 3.0, 0.0]);
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn concat() -> crate::Result<()> {
        use crate::{kernels::layout, Tensor};
        let a = Tensor::from_vec(vec![1.0, 2.0], &[2, 1])?;
        let b = Tensor::from_vec(vec![3.0, 4.0], &[2, 1])?;
        assert_eq!(layout::concat(&[&a, &b], 1).data(), &[1.0, 3.0, 2.0, 4.0]);
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn index_select() -> crate::Result<()> {
        use crate::{kernels::layout, Tensor};
        let t = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?;
        assert_eq!(
            layout::index_select(&t, 0, &[2, 2, 0]).data(),
            &[3.0, 3.0, 1.0]
        );
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn index_add() -> crate::Result<()> {
        use crate::{kernels::layout, Tensor};
        let t = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?;
        assert_eq!(
            layout::index_add(&t, 0, &[2, 2, 0], 3).data(),
            &[3.0, 0.0, 3.0]
        );
        Ok::<(), crate::Error>(())
    }
}
