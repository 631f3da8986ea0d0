//! Reductions: sums to a shape, maxima along an axis, softmax along an axis.

use crate::float::Float;
use crate::shape::{
    block_pattern, broadcast_strides, for_each_strided, numel, same_shape, shape_of, split_at_axis,
    Shape,
};
use crate::tensor::Tensor;

/// Sums `x` down to `target`, a shape that broadcasts to `x`'s shape: every
/// axis where `target` has extent 1 (or is missing) is summed over.
/// This is the adjoint of broadcasting.
pub(crate) fn sum_to<T: Float>(x: &Tensor<T>, target: &[usize]) -> Tensor<T> {
    if same_shape(x.shape(), target) {
        return x.clone();
    }
    if x.numel() == 0 {
        // an empty sum is 0, without a walk over an empty outer extent
        return Tensor::zeros(target);
    }
    let pattern = block_pattern(target, x.shape());
    if let Some((_, mid, 1)) = pattern.filter(|&(_, mid, _)| mid > 1) {
        // a bias over the last axis: the first row, then the others added
        // element by element (the same sums as from zero, without the pass
        // that writes the zeros; only a −0 first term keeps its sign)
        let mut result = Tensor::for_overwrite(target);
        let mut rows = x.data().chunks_exact(mid);
        let out = result.data_mut();
        out.copy_from_slice(rows.next().expect("x is not empty"));
        for row in rows {
            for (acc, &v) in out.iter_mut().zip(row) {
                *acc += v;
            }
        }
        return result;
    }
    let mut result = Tensor::zeros(target);
    let out = result.data_mut();
    if out.len() == 1 {
        out[0] = x.data().iter().copied().sum();
    } else if let Some((outer, mid, inner)) = pattern {
        // e.g. a bias gradient: sum over the batch (outer) and positions (inner)
        let d = x.data();
        for o in 0..outer {
            for (m, acc) in out.iter_mut().enumerate().take(mid) {
                let from = (o * mid + m) * inner;
                *acc += d[from..from + inner].iter().copied().sum::<T>();
            }
        }
    } else {
        let s_out = broadcast_strides(target, x.shape());
        let s_in = crate::shape::strides(x.shape());
        let d = x.data();
        for_each_strided(x.shape(), [&s_in, &s_out], |_, [i, o]| out[o] += d[i]);
    }
    result
}

/// [`sum_to`] of a tensor the caller no longer needs: `x` itself when it
/// already has the target's shape (the common case of a gradient product
/// or of an operand that was not broadcast), without the new handle and
/// the drop of the old one.
#[inline]
pub(crate) fn sum_to_owned<T: Float>(x: Tensor<T>, target: &[usize]) -> Tensor<T> {
    if same_shape(x.shape(), target) {
        return x;
    }
    sum_to(&x, target)
}

/// Copies `x` to `shape`, repeating it along broadcast axes.
pub(crate) fn broadcast_to<T: Float>(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    if x.shape() == shape {
        return x.clone();
    }
    let s = broadcast_strides(x.shape(), shape);
    let d = x.data();
    let mut out = Vec::with_capacity(numel(shape));
    for_each_strided(shape, [&s], |_, [i]| out.push(d[i]));
    Tensor::from_parts(out, shape_of(shape))
}

/// The maximum along `axis` (kept with extent 1) and, for each, the position
/// along the axis of its first occurrence. NaN wins over any number, so a NaN
/// input gives a NaN maximum.
pub(crate) fn max_axis<T: Float>(x: &Tensor<T>, axis: usize) -> (Tensor<T>, Vec<usize>) {
    if x.numel() == 0 {
        // the caller refuses an empty axis; an empty tensor along another
        // axis has an empty result (and its outer extent may be huge)
        let mut shape: Shape = x.shape_vec();
        shape[axis] = 1;
        return (Tensor::zeros(&shape), Vec::new());
    }
    let (outer, len, inner) = split_at_axis(x.shape(), axis);
    let d = x.data();
    let mut vals = Vec::with_capacity(outer * inner);
    let mut args = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let base = o * len * inner + i;
            let (mut best, mut arg) = (d[base], 0);
            for j in 1..len {
                let v = d[base + j * inner];
                if v > best || (v.is_nan() && !best.is_nan()) {
                    best = v;
                    arg = j;
                }
            }
            vals.push(best);
            args.push(arg);
        }
    }
    let mut shape: Shape = x.shape_vec();
    shape[axis] = 1;
    (Tensor::from_parts(vals, shape), args)
}

/// Softmax along `axis`, max-shifted: `exp(z − max z) / Σ exp(z − max z)`.
/// With `log` set, returns log-softmax `z − max z − ln Σ exp(z − max z)`.
pub(crate) fn softmax_axis<T: Float>(x: &Tensor<T>, axis: usize, log: bool) -> Tensor<T> {
    if x.numel() == 0 {
        return x.clone(); // no walk over an empty tensor's outer extent
    }
    let (outer, len, inner) = split_at_axis(x.shape(), axis);
    let d = x.data();
    // every element is written below (each (o, i) writes all of its axis)
    let mut result = Tensor::for_overwrite(x.shape());
    let out = result.data_mut();
    for o in 0..outer {
        for i in 0..inner {
            let base = o * len * inner + i;
            let idx = |j: usize| base + j * inner;
            let m = (0..len).map(|j| d[idx(j)]).fold(T::neg_infinity(), T::max);
            // all −∞ (or an empty axis): shift by 0 so the result is NaN-free where possible
            let m = if m.is_finite() { m } else { T::zero() };
            let mut s = T::zero();
            for j in 0..len {
                let e = (d[idx(j)] - m).exp();
                out[idx(j)] = e;
                s += e;
            }
            if log {
                let ls = s.ln();
                for j in 0..len {
                    out[idx(j)] = d[idx(j)] - m - ls;
                }
            } else {
                for j in 0..len {
                    out[idx(j)] /= s;
                }
            }
        }
    }
    result
}

/// Softmax over the last axis of logits `[n, c]` (or `[c]`, one row) and
/// the summed negative log-likelihood of one class per row,
/// `−Σ_r log softmax(z_r)[labels[r]]`, in one pass over each row.
///
/// The probabilities are bit for bit those of `softmax_axis(z, last,
/// false)` and each picked log-probability that of `softmax_axis(z, last,
/// true)` (the same shift, exponentials and sum), so cross-entropy can keep
/// the probabilities of its forward for its backward. The caller checks
/// that there are `n` labels, each below `c`.
pub(crate) fn softmax_rows_with_nll<T: Float>(z: &Tensor<T>, labels: &[usize]) -> (Tensor<T>, T) {
    let c = z.shape().last().copied().unwrap_or(1);
    let mut probs = Tensor::for_overwrite(z.shape());
    let mut nll = T::zero();
    if c == 0 {
        return (probs, nll);
    }
    let out = probs.data_mut();
    for ((row, p), &label) in z
        .data()
        .chunks_exact(c)
        .zip(out.chunks_exact_mut(c))
        .zip(labels)
    {
        let m = row.iter().copied().fold(T::neg_infinity(), T::max);
        // all −∞: shift by 0, as softmax_axis does
        let m = if m.is_finite() { m } else { T::zero() };
        let mut s = T::zero();
        for (p, &v) in p.iter_mut().zip(row) {
            let e = (v - m).exp();
            *p = e;
            s += e;
        }
        nll -= row[label] - m - s.ln();
        for p in p.iter_mut() {
            *p /= s;
        }
    }
    (probs, nll)
}

#[cfg(test)]
mod examples {
    // the examples of crate-private functions, as unit tests
    #[test]
    fn sum_to() -> crate::Result<()> {
        use crate::{kernels::reduce, Tensor};
        let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
        assert_eq!(reduce::sum_to(&t, &[2]).data(), &[4.0, 6.0]);
        assert_eq!(reduce::sum_to(&t, &[2, 1]).data(), &[3.0, 7.0]);
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn broadcast_to() -> crate::Result<()> {
        use crate::{kernels::reduce, Tensor};
        let t = Tensor::from_vec(vec![1.0, 2.0], &[2, 1])?;
        assert_eq!(
            reduce::broadcast_to(&t, &[2, 2]).data(),
            &[1.0, 1.0, 2.0, 2.0]
        );
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn max_axis() -> crate::Result<()> {
        use crate::{kernels::reduce, Tensor};
        let t = Tensor::from_vec(vec![1.0, 5.0, 5.0, 2.0], &[2, 2])?;
        let (m, arg) = reduce::max_axis(&t, 1);
        assert_eq!((m.data(), arg), (&[5.0, 5.0][..], vec![1, 0]));
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn softmax_axis() -> crate::Result<()> {
        use crate::{kernels::reduce, Tensor};
        let t = Tensor::from_vec(vec![0.0, 0.0], &[2])?;
        assert_eq!(reduce::softmax_axis(&t, 0, false).data(), &[0.5, 0.5]);
        Ok::<(), crate::Error>(())
    }
}
