//! Reductions: sums and means over everything or over axes, and the
//! maximum along an axis.
//!
//! `sum` is [`Var::sum_to`] a shape with extent 1 on the summed axes (its
//! adjoint broadcasts the gradient back); `mean` divides by the count.

use std::panic::Location;

use smallvec::smallvec;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::kernels::reduce;
use crate::shape::{normalize_axis, numel, split_at_axis, Shape};
use crate::tape::op::{BackwardCtx, InputGrads, Op};
use crate::tape::Var;
use crate::tensor::Tensor;

/// `max(x, axis)`: the largest entry along `axis`, kept with extent 1.
///
/// Its derivative is 1 at the position of the maximum and 0 elsewhere. On
/// ties the **first** maximal entry gets the whole gradient (a valid
/// subgradient; PyTorch's `amax` splits it evenly instead).
struct MaxAxis {
    axis: usize,
    argmax: Vec<usize>,
}

impl<T: Float> Op<T> for MaxAxis {
    fn name(&self) -> &str {
        "max"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        if x[0].shape()[self.axis] == 0 {
            return Err(Error::shape(
                "max",
                "cannot take the maximum of an empty axis",
            ));
        }
        let (values, argmax) = reduce::max_axis(x[0], self.axis);
        self.argmax = argmax;
        Ok(values)
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let shape = ctx.input(0).shape();
        let (outer, len, inner) = split_at_axis(&shape, self.axis);
        let mut mask = vec![T::zero(); numel(&shape)];
        for o in 0..outer {
            for i in 0..inner {
                mask[(o * len + self.argmax[o * inner + i]) * inner + i] = T::one();
            }
        }
        let mask = g.tape().constant(Tensor::from_parts(mask, shape.clone()));
        Ok(smallvec![Some(g.broadcast_to(&shape)?.mul(mask)?)])
    }
}

/// Resolves a list of axes to distinct, sorted, non-negative ones.
#[track_caller]
fn resolve_axes(op: &str, axes: &[isize], shape: &[usize]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = normalize_axis(op, a, shape)?;
        if out.contains(&a) {
            return Err(Error::index(op, format!("axis {a} is listed twice")).at_caller());
        }
        out.push(a);
    }
    out.sort_unstable();
    Ok(out)
}

impl<'t, T: Float> Var<'t, T> {
    /// The sum of all elements, a scalar (shape `[]`). ∂/∂xᵢ = 1.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?);
    /// let s = x.sum()?;
    /// assert_eq!((s.value().item()?, s.shape().len()), (6.0, 0));
    /// assert_eq!(s.backward()?.wrt(x)?.data(), &[1.0, 1.0, 1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn sum(self) -> Result<Self> {
        let ones: Shape = smallvec![1; self.shape().len()];
        self.sum_to(&ones)?.reshape(&[])
    }

    /// The sum over `axes` (negative axes count from the end); with
    /// `keepdim` the summed axes stay with extent 1. ∂/∂xᵢ = 1.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?);
    /// assert_eq!(x.sum_axes(&[1], false)?.value().data(), &[6.0, 15.0]);
    /// assert_eq!(x.sum_axes(&[0], true)?.shape().as_slice(), &[1, 3]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) for an axis out of range
    /// or listed twice.
    #[track_caller]
    pub fn sum_axes(self, axes: &[isize], keepdim: bool) -> Result<Self> {
        let at = Location::caller();
        let shape = self.shape();
        let axes = resolve_axes("sum", axes, &shape).map_err(|e| e.at(at))?;
        let mut kept = shape.clone();
        for &a in &axes {
            kept[a] = 1;
        }
        let summed = self.sum_to(&kept)?;
        if keepdim {
            return Ok(summed);
        }
        let dropped: Shape = (0..shape.len())
            .filter(|a| !axes.contains(a))
            .map(|a| shape[a])
            .collect();
        summed.reshape(&dropped)
    }

    /// The mean of all elements, a scalar. ∂/∂xᵢ = 1/n.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2])?);
    /// let m = x.mean()?;
    /// assert_eq!(m.value().item()?, 3.0);
    /// assert_eq!(m.backward()?.wrt(x)?.data(), &[0.25; 4]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn mean(self) -> Result<Self> {
        let n = numel(&self.shape());
        self.sum()?.div_scalar(T::of_f64(n as f64))
    }

    /// The mean over `axes`, as [`sum_axes`](Var::sum_axes) divided by the
    /// number of entries summed.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2])?);
    /// assert_eq!(x.mean_axes(&[0], false)?.value().data(), &[2.0, 4.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`sum_axes`](Var::sum_axes).
    #[track_caller]
    pub fn mean_axes(self, axes: &[isize], keepdim: bool) -> Result<Self> {
        let shape = self.shape();
        let before = numel(&shape);
        let summed = self.sum_axes(axes, keepdim)?;
        let after = numel(&summed.shape());
        let count = before.checked_div(after).unwrap_or(0);
        summed.div_scalar(T::of_f64(count as f64))
    }

    /// The maximum along `axis` (kept with extent 1 when `keepdim`). The
    /// gradient goes to the first maximal entry.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 7.0, 7.0, 2.0], &[2, 2])?);
    /// let m = x.max_axis(1, false)?;
    /// assert_eq!(m.value().data(), &[7.0, 7.0]);
    /// assert_eq!(m.sum()?.backward()?.wrt(x)?.data(), &[0.0, 1.0, 1.0, 0.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) for an axis out of
    /// range; [`ErrorKind::Shape`](crate::ErrorKind::Shape) for an empty axis.
    #[track_caller]
    pub fn max_axis(self, axis: isize, keepdim: bool) -> Result<Self> {
        let at = Location::caller();
        let shape = self.shape();
        let axis = normalize_axis("max", axis, &shape).map_err(|e| e.at(at))?;
        let op = MaxAxis {
            axis,
            argmax: Vec::new(),
        };
        let m = self.tape.apply_at(op, &[self], at)?;
        if keepdim {
            return Ok(m);
        }
        let mut dropped = shape;
        dropped.remove(axis);
        m.reshape(&dropped)
    }
}
