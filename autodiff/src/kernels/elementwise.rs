//! Element-wise maps and broadcasting binary maps.

use crate::error::Result;
use crate::float::Float;
use crate::shape::{block_pattern, broadcast_shapes, broadcast_strides, for_each_strided, numel};
use crate::tensor::Tensor;

/// `f` applied to every element of `x`.
///
/// ```
/// use autodiff::{kernels::elementwise, Tensor};
/// let t = Tensor::from_vec(vec![1.0, 4.0], &[2])?;
/// assert_eq!(elementwise::map(&t, f64::sqrt).data(), &[1.0, 2.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn map<T: Float>(x: &Tensor<T>, f: impl Fn(T) -> T) -> Tensor<T> {
    x.map(f)
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
    f: impl Fn(T, T) -> T,
) -> Result<Tensor<T>> {
    let (da, db) = (a.data(), b.data());
    if a.shape() == b.shape() {
        let data = da.iter().zip(db).map(|(&x, &y)| f(x, y)).collect();
        return Ok(Tensor::from_parts(data, a.shape_vec()));
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape())?;
    if db.len() == 1 && shape.as_slice() == a.shape() {
        let y = db[0];
        let data = da.iter().map(|&x| f(x, y)).collect();
        return Ok(Tensor::from_parts(data, shape));
    }
    if da.len() == 1 && shape.as_slice() == b.shape() {
        let x = da[0];
        let data = db.iter().map(|&y| f(x, y)).collect();
        return Ok(Tensor::from_parts(data, shape));
    }
    // a bias-like operand repeated over outer and inner blocks
    if shape.as_slice() == a.shape() {
        if let Some((outer, mid, inner)) = block_pattern(b.shape(), &shape) {
            let mut data = Vec::with_capacity(da.len());
            for o in 0..outer {
                for (m, &y) in db.iter().enumerate().take(mid) {
                    let from = (o * mid + m) * inner;
                    data.extend(da[from..from + inner].iter().map(|&x| f(x, y)));
                }
            }
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
pub fn add_assign<T: Float>(a: &mut Tensor<T>, b: &Tensor<T>) {
    debug_assert_eq!(a.shape(), b.shape());
    for (x, &y) in a.data_mut().iter_mut().zip(b.data()) {
        *x += y;
    }
}
