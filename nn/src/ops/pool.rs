//! Max and average pooling over `k × k` windows, each with its adjoint as
//! an operation, so that the backward rules stay differentiable.

use autodiff::smallvec::smallvec;
use autodiff::{BackwardCtx, Float, InputGrads, Op, Result, Tensor, ValueGrads, ValuesCtx, Var};

use autodiff::kernels::elementwise::parallel;
use rayon::prelude::*;

use super::geometry::PoolGeometry;

/// Max pooling. `y = max over the window`; the derivative is 1 at the
/// window's maximum and 0 elsewhere. **Ties:** the first maximal element of
/// the window in row-major order takes the whole gradient (a NaN counts as
/// the maximum). The positions are saved in `forward`.
struct MaxPool2d {
    k: usize,
    stride: usize,
    argmax: Vec<usize>,
    input_shape: [usize; 4],
}

/// The adjoint of max pooling: scatters each output gradient to the input
/// position that won its window (summing where windows overlap).
struct ScatterToArgmax {
    argmax: Vec<usize>,
    input_shape: [usize; 4],
}

impl<T: Float> Op<T> for MaxPool2d {
    fn name(&self) -> &str {
        "max_pool2d"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let g = PoolGeometry::new("max_pool2d", x[0].shape(), self.k, self.stride)?;
        let data = x[0].data();
        let mut out = Tensor::zeros(&g.output_shape());
        let mut argmax = vec![0; out.numel()];
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        // one plane per task: its windows, maxima and their positions
        let pool_plane = |(plane, (values, args)): (usize, (&mut [T], &mut [usize]))| {
            let base = plane * plane_in;
            if g.k == 2 && g.stride == 2 {
                // the common 2×2 window with stride 2: two input rows give
                // one output row, each window four candidates in row-major
                // order (the first maximum wins; a NaN counts as maximal)
                for oy in 0..g.ho {
                    let (r0, r1) = (base + 2 * oy * g.w, base + (2 * oy + 1) * g.w);
                    let row0 = &data[r0..r0 + 2 * g.wo];
                    let row1 = &data[r1..r1 + 2 * g.wo];
                    let vals = &mut values[oy * g.wo..(oy + 1) * g.wo];
                    let wins = &mut args[oy * g.wo..(oy + 1) * g.wo];
                    let windows = row0.chunks_exact(2).zip(row1.chunks_exact(2));
                    for (ox, ((v, a), (p0, p1))) in vals
                        .iter_mut()
                        .zip(wins.iter_mut())
                        .zip(windows)
                        .enumerate()
                    {
                        let (mut best, mut at) = (p0[0], r0 + 2 * ox);
                        for (x, i) in [
                            (p0[1], r0 + 2 * ox + 1),
                            (p1[0], r1 + 2 * ox),
                            (p1[1], r1 + 2 * ox + 1),
                        ] {
                            let take = (x > best) | (x.is_nan() & !best.is_nan());
                            at = if take { i } else { at };
                            best = if take { x } else { best };
                        }
                        *v = best;
                        *a = at;
                    }
                }
                return;
            }
            // a row of windows at a time, one window element after another:
            // the comparisons are selects over independent windows, read
            // from row slices with a stride (no index arithmetic per element)
            let span = (g.wo - 1) * g.stride + g.k;
            for oy in 0..g.ho {
                let top = base + oy * g.stride * g.w;
                let vals = &mut values[oy * g.wo..(oy + 1) * g.wo];
                let wins = &mut args[oy * g.wo..(oy + 1) * g.wo];
                for dy in 0..g.k {
                    let row_at = top + dy * g.w;
                    let row = &data[row_at..row_at + span];
                    for dx in 0..g.k {
                        let column = row[dx..].iter().step_by(g.stride);
                        if dy == 0 && dx == 0 {
                            for (ox, ((v, a), &x)) in
                                vals.iter_mut().zip(wins.iter_mut()).zip(column).enumerate()
                            {
                                *v = x;
                                *a = row_at + ox * g.stride;
                            }
                            continue;
                        }
                        for (ox, ((best, arg), &v)) in
                            vals.iter_mut().zip(wins.iter_mut()).zip(column).enumerate()
                        {
                            let take = (v > *best) | (v.is_nan() & !best.is_nan());
                            *arg = if take {
                                row_at + dx + ox * g.stride
                            } else {
                                *arg
                            };
                            *best = if take { v } else { *best };
                        }
                    }
                }
            }
        };
        if plane_out > 0 {
            let values = out.data_mut();
            if parallel(data.len()) {
                values
                    .par_chunks_mut(plane_out)
                    .zip(argmax.par_chunks_mut(plane_out))
                    .enumerate()
                    .for_each(pool_plane);
            } else {
                values
                    .chunks_mut(plane_out)
                    .zip(argmax.chunks_mut(plane_out))
                    .enumerate()
                    .for_each(pool_plane);
            }
        }
        self.argmax = argmax;
        self.input_shape = g.input;
        Ok(out)
    }

    fn backward<'t>(&self, _: &BackwardCtx<'t, T>, grad: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let op = ScatterToArgmax {
            argmax: self.argmax.clone(),
            input_shape: self.input_shape,
        };
        Ok(smallvec![Some(grad.tape().apply(op, &[grad])?)])
    }

    /// The scatter on tensors, without copying the saved positions.
    fn backward_values(
        &self,
        _: &ValuesCtx<'_, T>,
        grad: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        Some(Ok(smallvec![Some(scatter(
            &self.argmax,
            self.input_shape,
            grad
        ))]))
    }
}

impl<T: Float> Op<T> for ScatterToArgmax {
    fn name(&self) -> &str {
        "max_pool2d_scatter"
    }

    fn forward(&mut self, g: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(scatter(&self.argmax, self.input_shape, g[0]))
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, h: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        // the adjoint of a scatter is the gather of the same positions
        let numel: usize = self.input_shape.iter().product();
        let gathered = h
            .reshape(&[numel])?
            .index_select(0, &self.argmax)?
            .reshape(&ctx.input(0).shape())?;
        Ok(smallvec![Some(gathered)])
    }
}

/// `dx[argmax[i]] += g[i]`: each output gradient to the input position that
/// won its window.
fn scatter<T: Float>(argmax: &[usize], input_shape: [usize; 4], g: &Tensor<T>) -> Tensor<T> {
    let mut dx = Tensor::zeros(&input_shape);
    let planes = input_shape[0] * input_shape[1];
    let plane_in = input_shape[2] * input_shape[3];
    let d = dx.data_mut();
    if planes == 0 || plane_in == 0 || argmax.len() % planes != 0 || !parallel(d.len()) {
        for (&i, &v) in argmax.iter().zip(g.data()) {
            d[i] += v;
        }
        return dx;
    }
    // every window of a plane lies in that plane: one plane per task
    let plane_out = argmax.len() / planes;
    d.par_chunks_mut(plane_in)
        .zip(
            argmax
                .par_chunks(plane_out)
                .zip(g.data().par_chunks(plane_out)),
        )
        .enumerate()
        .for_each(|(plane, (dst, (args, vals)))| {
            let base = plane * plane_in;
            for (&i, &v) in args.iter().zip(vals) {
                dst[i - base] += v;
            }
        });
    dx
}

/// Average pooling: `y = (1/k²) Σ window`; each input in a window gets
/// `ḡ/k²` of that window's gradient.
struct AvgPool2d {
    k: usize,
    stride: usize,
}

/// The adjoint of average pooling: spreads each output gradient evenly
/// over its window (summing where windows overlap).
struct AvgPoolSpread {
    geometry: PoolGeometry,
}

impl<T: Float> Op<T> for AvgPool2d {
    fn name(&self) -> &str {
        "avg_pool2d"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let g = PoolGeometry::new("avg_pool2d", x[0].shape(), self.k, self.stride)?;
        let data = x[0].data();
        let scale = T::one() / T::of_f64((g.k * g.k) as f64);
        let mut values = Vec::with_capacity(g.planes * g.ho * g.wo);
        let offsets = g.window_offsets();
        g.for_each_window(|_, top_left| {
            let sum: T = offsets.iter().map(|&d| data[top_left + d]).sum();
            values.push(sum * scale);
        });
        Tensor::from_vec(values, &g.output_shape())
    }

    fn backward<'t>(
        &self,
        ctx: &BackwardCtx<'t, T>,
        grad: Var<'t, T>,
    ) -> Result<InputGrads<'t, T>> {
        let geometry = PoolGeometry::new("avg_pool2d", &ctx.input(0).shape(), self.k, self.stride)?;
        Ok(smallvec![Some(
            grad.tape().apply(AvgPoolSpread { geometry }, &[grad])?
        )])
    }
}

impl<T: Float> Op<T> for AvgPoolSpread {
    fn name(&self) -> &str {
        "avg_pool2d_spread"
    }

    fn forward(&mut self, g: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let geo = self.geometry;
        let scale = T::one() / T::of_f64((geo.k * geo.k) as f64);
        let mut dx = Tensor::zeros(&geo.input);
        let d = dx.data_mut();
        let grads = g[0].data();
        let offsets = geo.window_offsets();
        geo.for_each_window(|out, top_left| {
            let share = grads[out] * scale;
            for &o in &offsets {
                d[top_left + o] += share;
            }
        });
        Ok(dx)
    }

    fn backward<'t>(&self, _: &BackwardCtx<'t, T>, h: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        // spreading is the adjoint of averaging, and vice versa
        Ok(smallvec![Some(avg_pool2d(
            h,
            self.geometry.k,
            self.geometry.stride
        )?)])
    }
}

/// Max pooling of `x: [n, c, h, w]` over `k × k` windows with `stride`:
/// `[n, c, (h − k)/stride + 1, (w − k)/stride + 1]`. The gradient flows to
/// each window's maximum; on ties, to the first in row-major order.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 5.0, 5.0, 2.0], &[1, 1, 2, 2])?);
/// let y = nn::ops::max_pool2d(x, 2, 2)?;
/// assert_eq!(y.value().data(), &[5.0]);
/// // a tie between positions 1 and 2: the first takes the gradient
/// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[0.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming `max_pool2d` for
/// an input that is not 4-D or is smaller than the window;
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a zero window
/// or stride.
#[track_caller]
pub fn max_pool2d<'t, T: Float>(x: Var<'t, T>, k: usize, stride: usize) -> Result<Var<'t, T>> {
    let op = MaxPool2d {
        k,
        stride,
        argmax: Vec::new(),
        input_shape: [0; 4],
    };
    x.tape().apply(op, &[x])
}

/// Average pooling of `x: [n, c, h, w]` over `k × k` windows with `stride`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[1, 1, 2, 2])?);
/// let y = nn::ops::avg_pool2d(x, 2, 2)?;
/// assert_eq!(y.value().data(), &[3.0]);
/// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[0.25; 4]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// As [`max_pool2d`], naming `avg_pool2d`.
#[track_caller]
pub fn avg_pool2d<'t, T: Float>(x: Var<'t, T>, k: usize, stride: usize) -> Result<Var<'t, T>> {
    x.tape().apply(AvgPool2d { k, stride }, &[x])
}
