//! Operations that rearrange elements: reshape, transpose and permute,
//! broadcast and its adjoint sum, narrow (slicing), concatenation, and
//! selecting entries along an axis. Each backward rule is the adjoint
//! rearrangement: the gradient goes back to where the element came from.

use std::panic::Location;

use smallvec::{smallvec, SmallVec};

use crate::error::{Error, Result};
use crate::float::Float;
use crate::kernels::{layout, reduce};
use crate::shape::{
    broadcasts_to, checked_numel, fmt_shape, normalize_axis, numel, shape_of, Shape,
};
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
use crate::tape::Var;
use crate::tensor::Tensor;

/// `reshape(x, shape)`: the same elements, another shape. The backward
/// reshapes the gradient back.
struct Reshape {
    shape: Shape,
}

impl<T: Float> Op<T> for Reshape {
    fn name(&self) -> &str {
        "reshape"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        x[0].reshape(&self.shape)
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        Ok(smallvec![Some(g.reshape(&ctx.input(0).shape())?)])
    }
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        Some(g.reshape(ctx.input(0).shape()).map(|d| smallvec![Some(d)]))
    }
}

/// `permute(x, perm)`: output axis `i` is input axis `perm[i]`. The backward
/// applies the inverse permutation.
struct Permute {
    perm: Shape,
}

impl<T: Float> Op<T> for Permute {
    fn name(&self) -> &str {
        "permute"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let rank = x[0].rank();
        let mut seen = vec![false; rank];
        let valid = self.perm.len() == rank
            && self
                .perm
                .iter()
                .all(|&p| p < rank && !std::mem::replace(&mut seen[p], true));
        if !valid {
            return Err(Error::index(
                "permute",
                format!(
                    "{:?} is not a permutation of the axes of {}",
                    self.perm.as_slice(),
                    fmt_shape(x[0].shape())
                ),
            ));
        }
        Ok(layout::permute(x[0], &self.perm))
    }
    fn backward<'t>(&self, _: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let mut inverse = vec![0; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(smallvec![Some(g.permute(&inverse)?)])
    }
    fn backward_values(
        &self,
        _: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let mut inverse: Shape = smallvec![0; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inverse[p] = i;
        }
        Some(Ok(smallvec![Some(layout::permute(g, &inverse))]))
    }
}

/// `broadcast_to(x, shape)`: `x` repeated along axes where its extent is 1
/// or missing. The adjoint sums over those axes: `sum_to(ḡ, x.shape)`.
struct BroadcastTo {
    shape: Shape,
}

impl<T: Float> Op<T> for BroadcastTo {
    fn name(&self) -> &str {
        "broadcast_to"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        if !broadcasts_to(x[0].shape(), &self.shape) {
            return Err(Error::shape(
                "broadcast_to",
                format!(
                    "{} cannot broadcast to {}",
                    fmt_shape(x[0].shape()),
                    fmt_shape(&self.shape)
                ),
            ));
        }
        checked_numel("broadcast_to", &self.shape)?;
        Ok(reduce::broadcast_to(x[0], &self.shape))
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        Ok(smallvec![Some(g.sum_to(&ctx.input(0).shape())?)])
    }
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        Some(Ok(smallvec![Some(reduce::sum_to(g, ctx.input(0).shape()))]))
    }
}

/// `sum_to(x, shape)`: sums `x` over the axes along which `shape` would be
/// broadcast to `x`'s shape. The adjoint of `broadcast_to`, whose rule is
/// therefore `broadcast_to(ḡ, x.shape)`.
struct SumTo {
    shape: Shape,
}

impl<T: Float> Op<T> for SumTo {
    fn name(&self) -> &str {
        "sum_to"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        if !broadcasts_to(&self.shape, x[0].shape()) {
            return Err(Error::shape(
                "sum_to",
                format!(
                    "{} cannot be summed to {}",
                    fmt_shape(x[0].shape()),
                    fmt_shape(&self.shape)
                ),
            ));
        }
        Ok(reduce::sum_to(x[0], &self.shape))
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        Ok(smallvec![Some(g.broadcast_to(&ctx.input(0).shape())?)])
    }
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        Some(Ok(smallvec![Some(reduce::broadcast_to(
            g,
            ctx.input(0).shape()
        ))]))
    }
}

/// `narrow(x, axis, start, len)`: entries `start..start+len` along `axis`.
/// The adjoint pads the gradient with zeros back to the full extent.
struct Narrow {
    axis: isize,
    start: usize,
    len: usize,
}

impl<T: Float> Op<T> for Narrow {
    fn name(&self) -> &str {
        "narrow"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let axis = normalize_axis("narrow", self.axis, x[0].shape())?;
        let extent = x[0].shape()[axis];
        if self
            .start
            .checked_add(self.len)
            .is_none_or(|end| end > extent)
        {
            return Err(Error::index(
                "narrow",
                format!(
                    "range {}..{} is out of bounds for axis {axis} of {} (extent {extent})",
                    self.start,
                    self.start.saturating_add(self.len),
                    fmt_shape(x[0].shape())
                ),
            ));
        }
        self.axis = axis as isize;
        Ok(layout::narrow(x[0], axis, self.start, self.len))
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let axis = self.axis as usize;
        let full = ctx.input(0).shape()[axis];
        let padded = g.tape().apply(
            PadAxis {
                axis,
                start: self.start,
                full,
            },
            &[g],
        )?;
        Ok(smallvec![Some(padded)])
    }
}

/// The adjoint of [`Narrow`]: `x` placed at `start` along `axis` of zeros of
/// extent `full`. Its own adjoint is `narrow`.
struct PadAxis {
    axis: usize,
    start: usize,
    full: usize,
}

impl<T: Float> Op<T> for PadAxis {
    fn name(&self) -> &str {
        "pad_axis"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(layout::pad_axis(x[0], self.axis, self.start, self.full))
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let len = ctx.input(0).shape()[self.axis];
        Ok(smallvec![Some(g.narrow(
            self.axis as isize,
            self.start,
            len
        )?)])
    }
}

/// `concat([x₀, x₁, …], axis)`: the inputs side by side along `axis`. The
/// adjoint hands each input its own slice of the gradient.
struct Concat {
    axis: isize,
}

impl<T: Float> Op<T> for Concat {
    fn name(&self) -> &str {
        "concat"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let Some(first) = x.first() else {
            return Err(Error::argument("concat", "needs at least one tensor"));
        };
        let axis = normalize_axis("concat", self.axis, first.shape())?;
        for (k, t) in x.iter().enumerate() {
            let fits = t.rank() == first.rank()
                && (0..t.rank()).all(|a| a == axis || t.shape()[a] == first.shape()[a]);
            if !fits {
                return Err(Error::shape(
                    "concat",
                    format!(
                        "tensor {k} has shape {} but tensor 0 has {}: all axes but {axis} must agree",
                        fmt_shape(t.shape()),
                        fmt_shape(first.shape())
                    ),
                ));
            }
        }
        let mut shape: Shape = first.shape().into();
        shape[axis] = x
            .iter()
            .try_fold(0usize, |acc, t| acc.checked_add(t.shape()[axis]))
            .unwrap_or(usize::MAX);
        checked_numel("concat", &shape)?;
        self.axis = axis as isize;
        Ok(layout::concat(x, axis))
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let axis = self.axis as usize;
        let mut start = 0;
        let mut out = SmallVec::new();
        for i in 0..ctx.num_inputs() {
            let len = ctx.input(i).shape()[axis];
            out.push(if ctx.needs_grad(i) {
                Some(g.narrow(axis as isize, start, len)?)
            } else {
                None
            });
            start += len;
        }
        Ok(out)
    }
}

/// `index_select(x, axis, indices)`: entries `indices` along `axis`, in that
/// order (repeats allowed). The adjoint adds each gradient entry back at its
/// index (`index_add`).
struct IndexSelect {
    axis: isize,
    indices: Vec<usize>,
}

impl<T: Float> Op<T> for IndexSelect {
    fn name(&self) -> &str {
        "index_select"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let axis = normalize_axis("index_select", self.axis, x[0].shape())?;
        let extent = x[0].shape()[axis];
        if let Some((k, &i)) = self.indices.iter().enumerate().find(|(_, &i)| i >= extent) {
            return Err(Error::index(
                "index_select",
                format!(
                    "index {i} (position {k}) is out of bounds for axis {axis} of {} (extent {extent})",
                    fmt_shape(x[0].shape())
                ),
            ));
        }
        let mut shape: Shape = x[0].shape().into();
        shape[axis] = self.indices.len();
        checked_numel("index_select", &shape)?;
        self.axis = axis as isize;
        Ok(layout::index_select(x[0], axis, &self.indices))
    }
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let axis = self.axis as usize;
        let full = ctx.input(0).shape()[axis];
        let op = IndexAdd {
            axis,
            indices: self.indices.clone(),
            full,
        };
        Ok(smallvec![Some(g.tape().apply(op, &[g])?)])
    }
}

/// The adjoint of [`IndexSelect`]: zeros of extent `full` along `axis`, with
/// entry `k` of the input added at `indices[k]`. Its adjoint is
/// `index_select`.
struct IndexAdd {
    axis: usize,
    indices: Vec<usize>,
    full: usize,
}

impl<T: Float> Op<T> for IndexAdd {
    fn name(&self) -> &str {
        "index_add"
    }
    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(layout::index_add(x[0], self.axis, &self.indices, self.full))
    }
    fn backward<'t>(&self, _: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        Ok(smallvec![Some(
            g.index_select(self.axis as isize, &self.indices)?
        )])
    }
}

impl<'t, T: Float> Var<'t, T> {
    /// The same elements under `shape` (row-major order is kept).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.reshape(&[3, 2])?;
    /// assert_eq!(y.shape().as_slice(), &[3, 2]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the element counts differ.
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Result<Self> {
        if self.shape().as_slice() == shape {
            return Ok(self);
        }
        let op = Reshape {
            shape: shape_of(shape),
        };
        self.tape.apply_at(op, &[self], Location::caller())
    }

    /// Flattens everything after the first axis: `[n, a, b, …] → [n, a·b·…]`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3, 4], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.flatten_batch()?;
    /// assert_eq!(y.shape().as_slice(), &[2, 12]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) for a rank-0 value.
    #[track_caller]
    pub fn flatten_batch(self) -> Result<Self> {
        let shape = self.shape();
        let Some(&n) = shape.first() else {
            return Err(
                Error::shape("flatten_batch", "a scalar has no batch axis").at(Location::caller())
            );
        };
        self.reshape(&[n, numel(&shape[1..])])
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3, 4], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.permute(&[2, 0, 1])?;
    /// assert_eq!(y.shape().as_slice(), &[4, 2, 3]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) when `perm` is not a
    /// permutation of the axes.
    #[track_caller]
    pub fn permute(self, perm: &[usize]) -> Result<Self> {
        let op = Permute { perm: perm.into() };
        self.tape.apply_at(op, &[self], Location::caller())
    }

    /// Swaps the last two axes (the matrix transpose, batched for rank 3+).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.t()?;
    /// assert_eq!(y.shape().as_slice(), &[3, 2]);
    /// assert_eq!(y.value().get(&[2, 1])?, x.value().get(&[1, 2])?);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) for values of rank below 2.
    #[track_caller]
    pub fn t(self) -> Result<Self> {
        let rank = self.shape().len();
        if rank < 2 {
            return Err(Error::shape(
                "transpose",
                format!(
                    "{} has rank {rank}; transpose needs at least 2 axes",
                    fmt_shape(&self.shape())
                ),
            )
            .at(Location::caller()));
        }
        self.transpose(rank as isize - 2, rank as isize - 1)
    }

    /// Swaps axes `a` and `b` (negative axes count from the end).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3, 4], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.transpose(0, -1)?;
    /// assert_eq!(y.shape().as_slice(), &[4, 3, 2]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) for an axis out of range.
    #[track_caller]
    pub fn transpose(self, a: isize, b: isize) -> Result<Self> {
        let at = Location::caller();
        let shape = self.shape();
        let a = normalize_axis("transpose", a, &shape).map_err(|e| e.at(at))?;
        let b = normalize_axis("transpose", b, &shape).map_err(|e| e.at(at))?;
        let mut perm: Shape = (0..shape.len()).collect();
        perm.swap(a, b);
        self.tape
            .apply_at(Permute { perm }, &[self], Location::caller())
    }

    /// Repeats the value along axes of extent 1 (or missing) to `shape`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.broadcast_to(&[4, 2, 3])?;
    /// assert_eq!(y.shape().as_slice(), &[4, 2, 3]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when it does not broadcast.
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Result<Self> {
        if self.shape().as_slice() == shape {
            return Ok(self);
        }
        let op = BroadcastTo {
            shape: shape_of(shape),
        };
        self.tape.apply_at(op, &[self], Location::caller())
    }

    /// Sums over the axes along which `shape` broadcasts to this value's
    /// shape: the adjoint of [`broadcast_to`](Var::broadcast_to).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.sum_to(&[1, 3])?;
    /// assert_eq!(y.shape().as_slice(), &[1, 3]);
    /// assert_eq!(y.value().data(), &[1.0, 3.0, 5.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when `shape` does not
    /// broadcast to this value's shape.
    #[track_caller]
    pub fn sum_to(self, shape: &[usize]) -> Result<Self> {
        if self.shape().as_slice() == shape {
            return Ok(self);
        }
        let op = SumTo {
            shape: shape_of(shape),
        };
        self.tape.apply_at(op, &[self], Location::caller())
    }

    /// Entries `start..start + len` along `axis` (a slice).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.narrow(1, 1, 2)?;
    /// assert_eq!(y.shape().as_slice(), &[2, 2]);
    /// assert_eq!(y.value().data(), &[1.0, 2.0, 2.0, 3.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) for a bad axis or range.
    #[track_caller]
    pub fn narrow(self, axis: isize, start: usize, len: usize) -> Result<Self> {
        let op = Narrow { axis, start, len };
        self.tape.apply_at(op, &[self], Location::caller())
    }

    /// Entries `indices` along `axis`, in order; `index_select(0, rows)`
    /// selects rows.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_fn(&[2, 3], |i| i.iter().sum::<usize>() as f64));
    /// let y = x.index_select(0, &[1, 1, 0])?;
    /// assert_eq!(y.shape().as_slice(), &[3, 3]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) for a bad axis or index.
    #[track_caller]
    pub fn index_select(self, axis: isize, indices: &[usize]) -> Result<Self> {
        let op = IndexSelect {
            axis,
            indices: indices.to_vec(),
        };
        self.tape.apply_at(op, &[self], Location::caller())
    }

    /// Concatenates `parts` along `axis`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor, Var};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?);
    /// let b = tape.var(Tensor::from_vec(vec![3.0, 4.0], &[1, 2])?);
    /// let c = Var::concat(&[a, b], 0)?;
    /// assert_eq!(c.shape().as_slice(), &[2, 2]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the parts disagree
    /// on another axis; [`ErrorKind::Argument`](crate::ErrorKind::Argument)
    /// for an empty list.
    #[track_caller]
    pub fn concat(parts: &[Var<'t, T>], axis: isize) -> Result<Self> {
        let Some(first) = parts.first() else {
            return Err(
                Error::argument("concat", "needs at least one tensor").at(Location::caller())
            );
        };
        first
            .tape
            .apply_at(Concat { axis }, parts, Location::caller())
    }
}
