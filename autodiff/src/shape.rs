//! Shapes, strides and numpy-style broadcasting.

use smallvec::SmallVec;
use std::fmt::Write;

use crate::error::{Error, Result};

/// The extent of each axis of a tensor, outermost first (row-major).
///
/// Up to four axes are stored inline, without a heap allocation.
pub type Shape = SmallVec<[usize; 4]>;

/// `extents` as a [`Shape`]. Up to four (every shape but those of rank
/// five and more) are written as one fixed block of four words, where
/// `SmallVec::from_slice` calls `memcpy` for a length known only at run
/// time: a shape is copied for every new tensor, so that call was a few
/// percent of a small operation's cost.
#[inline]
pub(crate) fn shape_of(extents: &[usize]) -> Shape {
    let inline = match *extents {
        [] => [0; 4],
        [a] => [a, 0, 0, 0],
        [a, b] => [a, b, 0, 0],
        [a, b, c] => [a, b, c, 0],
        [a, b, c, d] => [a, b, c, d],
        _ => return Shape::from_slice(extents),
    };
    Shape::from_buf_and_len(inline, extents.len())
}

/// Whether two shapes are equal, compared in place: shapes are short, and
/// the call to `memcmp` that `==` on slices makes costs more.
#[inline]
pub(crate) fn same_shape(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Formats a shape as `[2, 3]`, the way every error message prints it.
///
/// ```
/// assert_eq!(autodiff::shape::fmt_shape(&[2, 3]), "[2, 3]");
/// ```
pub fn fmt_shape(shape: &[usize]) -> String {
    let mut s = String::from("[");
    for (i, d) in shape.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{d}");
    }
    s.push(']');
    s
}

/// Number of elements of a tensor of this shape (1 for the scalar shape `[]`).
///
/// The product is not checked: use it on the shapes of tensors that exist
/// (every constructor and operation checks a new shape with
/// [`checked_numel`] first), and `checked_numel` on shapes from elsewhere.
///
/// ```
/// assert_eq!(autodiff::shape::numel(&[2, 3]), 6);
/// assert_eq!(autodiff::shape::numel(&[]), 1);
/// ```
#[inline]
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The largest element count a tensor may have: its storage of `f64`s must
/// stay below `isize::MAX` bytes, the bound of every Rust allocation.
pub const MAX_ELEMENTS: usize = isize::MAX as usize / std::mem::size_of::<f64>();

/// Number of elements of a tensor of this shape, in checked arithmetic.
///
/// ```
/// use autodiff::shape::checked_numel;
/// assert_eq!(checked_numel("reshape", &[2, 3])?, 6);
/// let e = checked_numel("reshape", &[3, 1 << 63, 2]).unwrap_err();
/// assert_eq!(e.kind(), autodiff::ErrorKind::Shape);
/// assert!(e.to_string().starts_with("reshape: shape [3, 9223372036854775808, 2] has more elements"));
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`](crate::ErrorKind::Shape), naming `op` and the
/// shape, when the product of the extents overflows or exceeds
/// [`MAX_ELEMENTS`]. A zero extent makes a shape empty; the product of its
/// other extents must still fit (so `[0, 2⁶³, 2]` is refused).
#[track_caller]
pub fn checked_numel(op: &str, shape: &[usize]) -> Result<usize> {
    // The nonzero extents are multiplied too, so that the strides and the
    // sub-products of an empty tensor's shape cannot overflow either.
    let mut n = 1usize;
    let mut empty = false;
    for &d in shape {
        if d == 0 {
            empty = true;
        } else {
            match n.checked_mul(d) {
                Some(m) => n = m,
                None => return Err(too_many_elements(op, shape)),
            }
        }
    }
    if n > MAX_ELEMENTS {
        return Err(too_many_elements(op, shape));
    }
    Ok(if empty { 0 } else { n })
}

/// The error of [`checked_numel`], out of its loop (it runs for every new
/// tensor, this almost never).
#[cold]
#[track_caller]
fn too_many_elements(op: &str, shape: &[usize]) -> Error {
    Error::shape(
        op,
        format!(
            "shape {} has more elements than a tensor can hold (the product of its extents exceeds {MAX_ELEMENTS})",
            fmt_shape(shape)
        ),
    )
    .at_caller()
}

/// Row-major strides, in elements: the last axis has stride 1.
pub(crate) fn strides(shape: &[usize]) -> Shape {
    let mut s: Shape = smallvec::smallvec![0; shape.len()];
    let mut acc = 1;
    for i in (0..shape.len()).rev() {
        s[i] = acc;
        acc *= shape[i];
    }
    s
}

/// The broadcast of two shapes under numpy's rules: align the trailing axes;
/// each pair of extents must be equal or one of them 1.
///
/// ```
/// use autodiff::shape::broadcast_shapes;
/// assert_eq!(broadcast_shapes("add", &[2, 1], &[3])?.as_slice(), &[2, 3]);
/// assert!(broadcast_shapes("add", &[2], &[3]).is_err());
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`](crate::ErrorKind::Shape), naming `op` and both shapes.
#[track_caller]
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Shape> {
    let rank = a.len().max(b.len());
    let mut out: Shape = smallvec::smallvec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::shape(
                op,
                format!(
                    "{} and {}: cannot broadcast, axis {} has extents {} and {}",
                    fmt_shape(a),
                    fmt_shape(b),
                    i as isize - rank as isize,
                    da,
                    db
                ),
            )
            .at_caller());
        };
    }
    checked_numel(op, &out)?;
    Ok(out)
}

/// Whether `from` broadcasts to `to` (`broadcast_shapes(from, to) == to`).
pub(crate) fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    if from.len() > to.len() {
        return false;
    }
    let off = to.len() - from.len();
    from.iter()
        .enumerate()
        .all(|(i, &d)| d == to[i + off] || d == 1)
}

/// The strides with which an operand of shape `from` is read when broadcast to
/// `to`: 0 on every axis it is repeated along. `from` must broadcast to `to`.
pub(crate) fn broadcast_strides(from: &[usize], to: &[usize]) -> Shape {
    let own = strides(from);
    let off = to.len() - from.len();
    let mut s: Shape = smallvec::smallvec![0; to.len()];
    for i in 0..from.len() {
        s[i + off] = if from[i] == 1 && to[i + off] != 1 {
            0
        } else {
            own[i]
        };
    }
    s
}

/// When `small` broadcasts to `big` by repeating a contiguous block of
/// axes — `small`, padded with leading 1s, equals `big` on axes `a..b` and
/// is 1 elsewhere — returns `(outer, mid, inner)`: the products of `big`'s
/// extents before `a`, within `a..b`, and from `b` on. Element `(o, m, i)`
/// of `big` then pairs with element `m` of `small`. This is the layout of
/// a bias added over a batch (`[n, c] + [c]`) or over images
/// (`[n, c, h, w] + [1, c, 1, 1]`), which kernels handle without a general
/// strided walk.
pub(crate) fn block_pattern(small: &[usize], big: &[usize]) -> Option<(usize, usize, usize)> {
    if small.len() > big.len() {
        return None;
    }
    // the common case first, a bias over the last axis: [n] against [.., n]
    if let (&[n], Some(&last)) = (small, big.last()) {
        if n == last && n != 1 {
            return Some((numel(&big[..big.len() - 1]), n, 1));
        }
    }
    let off = big.len() - small.len();
    let at = |k: usize| if k < off { 1 } else { small[k - off] };
    // the axes where small is not 1 must be one contiguous run equal to big
    let first = (0..big.len()).find(|&k| at(k) != 1).unwrap_or(big.len());
    let last = (0..big.len())
        .rev()
        .find(|&k| at(k) != 1)
        .map_or(first, |k| k + 1);
    if (first..last).any(|k| at(k) != big[k]) {
        return None;
    }
    Some((
        numel(&big[..first]),
        numel(&big[first..last]),
        numel(&big[last..]),
    ))
}

/// Resolves a possibly negative axis (`-1` is the last) against `rank`.
///
/// # Errors
/// [`ErrorKind::Index`](crate::ErrorKind::Index) when the axis is outside the tensor.
#[track_caller]
pub(crate) fn normalize_axis(op: &str, axis: isize, shape: &[usize]) -> Result<usize> {
    let rank = shape.len() as isize;
    let a = if axis < 0 { axis + rank } else { axis };
    if a < 0 || a >= rank {
        return Err(Error::index(
            op,
            format!(
                "axis {axis} is out of range for shape {} (rank {rank})",
                fmt_shape(shape)
            ),
        )
        .at_caller());
    }
    Ok(a as usize)
}

/// Splits `shape` around `axis` into (product of the axes before, the axis's
/// extent, product of the axes after): the layout every axis-wise kernel uses.
pub(crate) fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        numel(&shape[..axis]),
        shape[axis],
        numel(&shape[axis + 1..]),
    )
}

/// Visits every multi-index of `shape` in row-major order together with the
/// flat offset of each operand whose strides are given, calling
/// `f(out_index, offsets)`. Strides of 0 repeat an operand (broadcasting).
pub(crate) fn for_each_strided<const N: usize>(
    shape: &[usize],
    operand_strides: [&[usize]; N],
    mut f: impl FnMut(usize, [usize; N]),
) {
    let total = numel(shape);
    if total == 0 {
        return;
    }
    let rank = shape.len();
    if rank == 0 {
        f(0, [0; N]);
        return;
    }
    let inner = shape[rank - 1];
    let inner_strides: [usize; N] = std::array::from_fn(|k| operand_strides[k][rank - 1]);
    let mut idx: Shape = smallvec::smallvec![0; rank];
    let mut base = [0usize; N];
    let mut out = 0;
    loop {
        let mut off = base;
        for _ in 0..inner {
            f(out, off);
            out += 1;
            for k in 0..N {
                off[k] += inner_strides[k];
            }
        }
        // advance the outer axes like an odometer
        let mut ax = rank - 1;
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            idx[ax] += 1;
            for k in 0..N {
                base[k] += operand_strides[k][ax];
            }
            if idx[ax] < shape[ax] {
                break;
            }
            for k in 0..N {
                base[k] -= operand_strides[k][ax] * shape[ax];
            }
            idx[ax] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_of_keeps_every_extent_of_every_rank() {
        for rank in 0..=7 {
            let extents: Vec<usize> = (0..rank).map(|k| 1 + k * 1_000_003).collect();
            let shape = shape_of(&extents);
            assert_eq!(shape.as_slice(), extents.as_slice(), "rank {rank}");
            // inline up to four axes, as the type promises
            assert_eq!(shape.spilled(), rank > 4, "rank {rank}");
        }
    }

    #[test]
    fn broadcast_rules() {
        assert_eq!(
            broadcast_shapes("t", &[2, 3], &[3]).unwrap().as_slice(),
            &[2, 3]
        );
        assert_eq!(
            broadcast_shapes("t", &[2, 1], &[1, 4]).unwrap().as_slice(),
            &[2, 4]
        );
        assert_eq!(broadcast_shapes("t", &[], &[5]).unwrap().as_slice(), &[5]);
        let e = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("add: [2, 3] and [4]: cannot broadcast, axis -1 has extents 3 and 4"),
            "{e}"
        );
    }

    #[test]
    fn strided_walk_visits_broadcast_offsets() {
        // a: [2, 1] broadcast to [2, 3]; b: [3] broadcast to [2, 3]
        let to = [2, 3];
        let sa = broadcast_strides(&[2, 1], &to);
        let sb = broadcast_strides(&[3], &to);
        let mut seen = vec![];
        for_each_strided(&to, [&sa, &sb], |o, [x, y]| seen.push((o, x, y)));
        assert_eq!(
            seen,
            vec![
                (0, 0, 0),
                (1, 0, 1),
                (2, 0, 2),
                (3, 1, 0),
                (4, 1, 1),
                (5, 1, 2)
            ]
        );
    }
}

#[cfg(test)]
mod examples {
    // the examples of crate-private functions, as unit tests
    #[test]
    fn strides() {
        assert_eq!(crate::shape::strides(&[2, 3, 4]).as_slice(), &[12, 4, 1]);
    }

    #[test]
    fn broadcasts_to() {
        use crate::shape::broadcasts_to;
        assert!(broadcasts_to(&[3], &[2, 3]) && !broadcasts_to(&[2], &[2, 3]));
    }

    #[test]
    fn broadcast_strides() {
        assert_eq!(
            crate::shape::broadcast_strides(&[2, 1], &[2, 3]).as_slice(),
            &[1, 0]
        );
    }

    #[test]
    fn block_pattern() {
        use crate::shape::block_pattern;
        assert_eq!(
            block_pattern(&[1, 6, 1, 1], &[64, 6, 28, 28]),
            Some((64, 6, 784))
        );
        assert_eq!(block_pattern(&[3], &[5, 3]), Some((5, 3, 1)));
        assert_eq!(block_pattern(&[3], &[3]), Some((1, 3, 1)));
        assert_eq!(block_pattern(&[1], &[5, 1]), Some((5, 1, 1)));
        assert_eq!(block_pattern(&[3], &[5, 4]), None);
        assert_eq!(block_pattern(&[2, 1, 3], &[2, 4, 3]), None);
    }

    #[test]
    fn normalize_axis() -> crate::Result<()> {
        use crate::shape::normalize_axis;
        assert_eq!(normalize_axis("sum", -1, &[2, 3])?, 1);
        assert!(normalize_axis("sum", 2, &[2, 3]).is_err());
        Ok::<(), crate::Error>(())
    }

    #[test]
    fn split_at_axis() {
        assert_eq!(crate::shape::split_at_axis(&[2, 3, 4], 1), (2, 3, 4));
    }
}
