//! Max and average pooling (PyTorch's window, stride, padding and
//! `ceil_mode`) and adaptive average pooling, each with its adjoint as an
//! operation, so that the backward rules stay differentiable.

use autodiff::smallvec::smallvec;
use autodiff::{BackwardCtx, Float, InputGrads, Op, Result, Tensor, ValueGrads, ValuesCtx, Var};

use autodiff::kernels::elementwise::parallel;
use rayon::prelude::*;

use super::geometry::{Hw, PoolGeometry, PoolOptions, WindowSpans};

/// Max pooling. `y = max over the window`; the derivative is 1 at the
/// window's maximum and 0 elsewhere. **Ties:** the first maximal element of
/// the window in row-major order takes the whole gradient (a NaN counts as
/// the maximum). The positions are saved in `forward`.
struct MaxPool2d {
    options: PoolOptions,
    argmax: Vec<usize>,
    input_shape: [usize; 4],
}

/// The adjoint of max pooling: scatters each output gradient to the input
/// position that won its window (summing where windows overlap).
struct ScatterToArgmax {
    argmax: Vec<usize>,
    input_shape: [usize; 4],
}

/// Windows per block of [`max_of_2x2_block`].
const BLOCK: usize = 4;

/// The maxima of `BLOCK` consecutive 2×2 windows of a pair of input rows
/// (`top` above `bottom`, window `t` at columns `2t, 2t + 1`), and which
/// candidate won each: 0, 1 in the top row, 2, 3 in the bottom one. The
/// first maximum in row-major order wins, and a NaN counts as maximal.
/// A block of fixed size, read straight from the rows, lets the compiler
/// compare the windows as vectors with selects: compared one window at a
/// time, the row's last windows took branches that random data mispredicted
/// (LeNet's second pool, five windows a row, took 17 ns a window).
#[inline]
fn max_of_2x2_block<T: Float>(
    top: &[T; 2 * BLOCK],
    bottom: &[T; 2 * BLOCK],
) -> ([T; BLOCK], [u32; BLOCK]) {
    let mut best = [T::zero(); BLOCK];
    let mut won = [0u32; BLOCK];
    for t in 0..BLOCK {
        let (mut b, mut k) = (top[2 * t], 0);
        for (x, i) in [
            (top[2 * t + 1], 1),
            (bottom[2 * t], 2),
            (bottom[2 * t + 1], 3),
        ] {
            let take = (x > b) | (x.is_nan() & !b.is_nan());
            k = if take { i } else { k };
            b = if take { x } else { b };
        }
        best[t] = b;
        won[t] = k;
    }
    (best, won)
}

impl<T: Float> Op<T> for MaxPool2d {
    fn name(&self) -> &str {
        "max_pool2d"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let g = PoolGeometry::with_options("max_pool2d", x[0].shape(), &self.options)?;
        let data = x[0].data();
        let mut out = Tensor::zeros(&g.output_shape());
        let mut argmax = vec![0; out.numel()];
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        let ([kh, kw], [sh, sw]) = (g.options.kernel, g.options.stride);
        let inside = g.windows_inside();
        // the spans are as long as the output is high and wide: only built
        // when there is something to pool (an empty batch may be 2⁴⁰ high)
        let (rows, cols) = if inside || g.planes == 0 {
            (WindowSpans::empty(), WindowSpans::empty())
        } else {
            g.spans()
        };
        // one plane per task: its windows, maxima and their positions
        let pool_plane = |(plane, (values, args)): (usize, (&mut [T], &mut [usize]))| {
            let base = plane * plane_in;
            if !inside {
                // windows that read padding or are cut off at the far edge:
                // each window over its part inside the input, row-major
                for (oy, &(y0, y1, _)) in rows.spans.iter().enumerate() {
                    for (ox, &(x0, x1, _)) in cols.spans.iter().enumerate() {
                        let (mut best, mut at) = (T::neg_infinity(), base + y0 * g.w + x0);
                        for y in y0..y1 {
                            for x in x0..x1 {
                                let i = base + y * g.w + x;
                                let v = data[i];
                                let take = (v > best) | (v.is_nan() & !best.is_nan());
                                at = if take { i } else { at };
                                best = if take { v } else { best };
                            }
                        }
                        values[oy * g.wo + ox] = best;
                        args[oy * g.wo + ox] = at;
                    }
                }
                return;
            }
            if kh == 2 && kw == 2 && sh == 2 && sw == 2 && g.wo >= BLOCK {
                // the common 2×2 window with stride 2: two input rows give
                // one output row, taken in blocks of windows; a last block
                // that would run past the row's end starts BLOCK windows
                // before it instead (recomputing some windows, which gives
                // the same result)
                for oy in 0..g.ho {
                    let (r0, r1) = (base + 2 * oy * g.w, base + (2 * oy + 1) * g.w);
                    let vals = &mut values[oy * g.wo..(oy + 1) * g.wo];
                    let wins = &mut args[oy * g.wo..(oy + 1) * g.wo];
                    let last = g.wo - BLOCK;
                    let starts = (0..last).step_by(BLOCK).chain(std::iter::once(last));
                    for ox in starts {
                        let block = |r: usize| -> &[T; 2 * BLOCK] {
                            data[r + 2 * ox..r + 2 * (ox + BLOCK)]
                                .try_into()
                                .expect("a block of two rows of windows")
                        };
                        let (best, won) = max_of_2x2_block(block(r0), block(r1));
                        vals[ox..ox + BLOCK].copy_from_slice(&best);
                        // candidate k of window ox + t lies k / 2 rows and
                        // k % 2 columns from the window's corner
                        for (t, (a, k)) in wins[ox..ox + BLOCK].iter_mut().zip(won).enumerate() {
                            let k = k as usize;
                            // (k >> 1)·w as a mask: no 64-bit multiply
                            *a = r0 + 2 * (ox + t) + (k & 1) + ((k >> 1).wrapping_neg() & g.w);
                        }
                    }
                }
                return;
            }
            // a row of windows at a time, one window element after another:
            // the comparisons are selects over independent windows, read
            // from row slices with a stride (no index arithmetic per element)
            let span = (g.wo - 1) * sw + kw;
            for oy in 0..g.ho {
                let top = base + oy * sh * g.w;
                let vals = &mut values[oy * g.wo..(oy + 1) * g.wo];
                let wins = &mut args[oy * g.wo..(oy + 1) * g.wo];
                for dy in 0..kh {
                    let row_at = top + dy * g.w;
                    let row = &data[row_at..row_at + span];
                    for dx in 0..kw {
                        let column = row[dx..].iter().step_by(sw);
                        if dy == 0 && dx == 0 {
                            for (ox, ((v, a), &x)) in
                                vals.iter_mut().zip(wins.iter_mut()).zip(column).enumerate()
                            {
                                *v = x;
                                *a = row_at + ox * sw;
                            }
                            continue;
                        }
                        for (ox, ((best, arg), &v)) in
                            vals.iter_mut().zip(wins.iter_mut()).zip(column).enumerate()
                        {
                            let take = (v > *best) | (v.is_nan() & !best.is_nan());
                            *arg = if take { row_at + dx + ox * sw } else { *arg };
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

/// Average pooling over windows given by their rows and columns (sliding
/// or adaptive): `y[oy, ox] = Σ_{window} x / divisor`; each input in a
/// window gets `ḡ/divisor` of that window's gradient.
struct WindowAverage {
    rows: WindowSpans,
    cols: WindowSpans,
    /// The output's height and width (the spans' lengths, unless the
    /// batch is empty and they were not built).
    out: [usize; 2],
}

/// The adjoint of [`WindowAverage`]: spreads each output gradient evenly
/// over its window (summing where windows overlap), into `input`'s shape.
struct WindowSpread {
    rows: WindowSpans,
    cols: WindowSpans,
    out: [usize; 2],
    input: [usize; 4],
}

impl<T: Float> Op<T> for WindowAverage {
    fn name(&self) -> &str {
        "avg_pool2d"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let shape = x[0].shape();
        let (h, w) = (shape[2], shape[3]);
        let [ho, wo] = self.out;
        let data = x[0].data();
        let planes = shape[0] * shape[1];
        let mut values = Vec::with_capacity(planes * ho * wo);
        for plane in 0..planes {
            let base = plane * h * w;
            for &(y0, y1, dy) in &self.rows.spans {
                for &(x0, x1, dx) in &self.cols.spans {
                    let mut sum = T::zero();
                    for y in y0..y1 {
                        let row = base + y * w;
                        sum += data[row + x0..row + x1].iter().copied().sum::<T>();
                    }
                    values.push(sum / T::of_f64((dy * dx) as f64));
                }
            }
        }
        Tensor::from_vec(values, &[shape[0], shape[1], ho, wo])
    }

    fn backward<'t>(
        &self,
        ctx: &BackwardCtx<'t, T>,
        grad: Var<'t, T>,
    ) -> Result<InputGrads<'t, T>> {
        let shape = ctx.input(0).shape();
        let op = WindowSpread {
            rows: self.rows.clone(),
            cols: self.cols.clone(),
            out: self.out,
            input: [shape[0], shape[1], shape[2], shape[3]],
        };
        Ok(smallvec![Some(grad.tape().apply(op, &[grad])?)])
    }
}

impl<T: Float> Op<T> for WindowSpread {
    fn name(&self) -> &str {
        "avg_pool2d_spread"
    }

    fn forward(&mut self, g: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let [_, _, h, w] = self.input;
        let mut dx = Tensor::zeros(&self.input);
        let d = dx.data_mut();
        let mut grads = g[0].data().iter();
        let planes = self.input[0] * self.input[1];
        for plane in 0..planes {
            let base = plane * h * w;
            for &(y0, y1, dy) in &self.rows.spans {
                for &(x0, x1, dx) in &self.cols.spans {
                    let share = *grads.next().expect("one gradient per window")
                        / T::of_f64((dy * dx) as f64);
                    for y in y0..y1 {
                        let row = base + y * w;
                        for v in &mut d[row + x0..row + x1] {
                            *v += share;
                        }
                    }
                }
            }
        }
        Ok(dx)
    }

    fn backward<'t>(&self, _: &BackwardCtx<'t, T>, h: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        // spreading is the adjoint of averaging, and vice versa
        let op = WindowAverage {
            rows: self.rows.clone(),
            cols: self.cols.clone(),
            out: self.out,
        };
        Ok(smallvec![Some(h.tape().apply(op, &[h])?)])
    }
}

/// Max pooling of `x: [n, c, h, w]` over `k × k` windows with `stride`:
/// `[n, c, (h − k)/stride + 1, (w − k)/stride + 1]`. The gradient flows to
/// each window's maximum; on ties, to the first in row-major order.
/// [`max_pool2d_with`] takes PyTorch's other settings.
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
    max_pool2d_with(x, PoolOptions::new(k).stride(stride))
}

/// Max pooling with PyTorch's settings ([`PoolOptions`]: window and stride
/// per direction, padding that never wins, `ceil_mode`).
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::ops::{max_pool2d_with, PoolOptions};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec((1..=10).map(f64::from).collect(), &[1, 1, 2, 5])?);
/// // 2×2 windows, stride 2, ceil_mode: the last window holds one column
/// let y = max_pool2d_with(x, PoolOptions::new(2).ceil_mode(true))?;
/// assert_eq!(y.value().data(), &[7.0, 9.0, 10.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// As [`PoolGeometry::with_options`], naming `max_pool2d`.
#[track_caller]
pub fn max_pool2d_with<'t, T: Float>(x: Var<'t, T>, options: PoolOptions) -> Result<Var<'t, T>> {
    let op = MaxPool2d {
        options,
        argmax: Vec::new(),
        input_shape: [0; 4],
    };
    x.tape().apply(op, &[x])
}

/// Average pooling of `x: [n, c, h, w]` over `k × k` windows with `stride`.
/// [`avg_pool2d_with`] takes PyTorch's other settings.
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
    avg_pool2d_with(x, PoolOptions::new(k).stride(stride))
}

/// Average pooling with PyTorch's settings ([`PoolOptions`]); padding
/// counts as zeros in the divisor (`count_include_pad = true`), a window
/// cut off by `ceil_mode` is averaged over what is left of it.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::ops::{avg_pool2d_with, PoolOptions};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![4.0, 8.0], &[1, 1, 1, 2])?);
/// // a 1×2 window with 1 column of padding: [0 4] [8 0], each over 2
/// let y = avg_pool2d_with(x, PoolOptions::new((1, 2)).padding((0, 1)))?;
/// assert_eq!(y.value().data(), &[2.0, 4.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// As [`PoolGeometry::with_options`], naming `avg_pool2d`.
#[track_caller]
pub fn avg_pool2d_with<'t, T: Float>(x: Var<'t, T>, options: PoolOptions) -> Result<Var<'t, T>> {
    let g = PoolGeometry::with_options("avg_pool2d", &x.shape(), &options)?;
    let (rows, cols) = if g.planes == 0 {
        (WindowSpans::empty(), WindowSpans::empty())
    } else {
        g.spans()
    };
    let out = [g.ho, g.wo];
    x.tape().apply(WindowAverage { rows, cols, out }, &[x])
}

/// Adaptive average pooling (PyTorch's `adaptive_avg_pool2d`): `x: [n, c,
/// h, w]` to `[n, c, oh, ow]`, output `(i, j)` the mean over rows
/// `⌊i·h/oh⌋ .. ⌈(i+1)·h/oh⌉` and the columns likewise. `output = 1` is
/// global average pooling.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec((0..12).map(f64::from).collect(), &[1, 2, 2, 3])?);
/// let y = nn::ops::adaptive_avg_pool2d(x, 1)?; // the mean of each channel
/// assert_eq!(y.value().data(), &[2.5, 8.5]);
/// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[1.0 / 6.0; 12]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming
/// `adaptive_avg_pool2d` for an input that is not 4-D or has no rows or
/// columns; [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for an
/// output extent of 0.
#[track_caller]
pub fn adaptive_avg_pool2d<'t, T: Float>(
    x: Var<'t, T>,
    output: impl Into<Hw>,
) -> Result<Var<'t, T>> {
    let at = std::panic::Location::caller();
    let Hw([oh, ow]) = output.into();
    let shape = x.shape();
    let &[n, c, h, w] = shape.as_slice() else {
        return Err(autodiff::Error::shape(
            "adaptive_avg_pool2d",
            format!(
                "input {} must be [n, c, h, w]",
                autodiff::shape::fmt_shape(&shape)
            ),
        )
        .at(at));
    };
    if oh == 0 || ow == 0 {
        return Err(autodiff::Error::argument(
            "adaptive_avg_pool2d",
            format!("output {oh}×{ow} must be at least 1×1"),
        )
        .at(at));
    }
    if h == 0 || w == 0 {
        return Err(autodiff::Error::shape(
            "adaptive_avg_pool2d",
            format!(
                "input {} has no pixels to average",
                autodiff::shape::fmt_shape(&shape)
            ),
        )
        .at(at));
    }
    autodiff::shape::checked_numel("adaptive_avg_pool2d", &[n, c, oh, ow]).map_err(|e| e.at(at))?;
    let op = if n * c == 0 {
        WindowAverage {
            rows: WindowSpans::empty(),
            cols: WindowSpans::empty(),
            out: [oh, ow],
        }
    } else {
        WindowAverage {
            rows: WindowSpans::adaptive(h, oh),
            cols: WindowSpans::adaptive(w, ow),
            out: [oh, ow],
        }
    };
    x.tape().apply(op, &[x])
}
