//! Shapes of convolutions and poolings, and the im2col / col2im kernels.

use autodiff::kernels::elementwise::parallel;
use autodiff::shape::{checked_numel, fmt_shape};
use autodiff::{Error, Float, Result, ResultExt};
use rayon::prelude::*;

/// The sizes of a 2-D convolution of `x: [n, c, h, w]` with
/// `weight: [o, c, kh, kw]`, stride `s` and zero padding `p` on every side:
/// the output is `[n, o, ho, wo]` with `ho = (h + 2p − kh)/s + 1` (and
/// likewise `wo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub o: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride (both directions).
    pub stride: usize,
    /// Zero padding (every side).
    pub padding: usize,
    /// Output height.
    pub ho: usize,
    /// Output width.
    pub wo: usize,
}

impl ConvGeometry {
    /// Checks the shapes and computes the output size.
    ///
    /// ```
    /// use nn::ops::ConvGeometry;
    /// let g = ConvGeometry::new(&[64, 1, 28, 28], &[6, 1, 5, 5], 1, 2)?;
    /// assert_eq!((g.ho, g.wo), (28, 28));
    /// let err = ConvGeometry::new(&[1, 3, 8, 8], &[4, 2, 3, 3], 1, 0).unwrap_err();
    /// assert!(err.to_string().contains("3 input channels but the weight expects 2"));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming `conv2d` and
    /// the shapes when the input or weight is not 4-D, the channels differ,
    /// the kernel is larger than the padded input, the stride is 0, or the
    /// padded image, the output or the im2col matrix would have more
    /// elements than a tensor can hold.
    #[track_caller]
    pub fn new(x: &[usize], weight: &[usize], stride: usize, padding: usize) -> Result<Self> {
        let shapes = || format!("input {} and weight {}", fmt_shape(x), fmt_shape(weight));
        let (&[n, c, h, w], &[o, cw, kh, kw]) = (x, weight) else {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: expected input [n, c, h, w] and weight [out, in, kh, kw]",
                    shapes()
                ),
            )
            .at_caller());
        };
        if c != cw {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: the input has {c} input channels but the weight expects {cw}",
                    shapes()
                ),
            )
            .at_caller());
        }
        if stride == 0 {
            return Err(Error::argument("conv2d", "stride must be at least 1").at_caller());
        }
        // h + 2p and w + 2p in checked arithmetic: a padding near
        // usize::MAX / 2 must be refused, not wrapped around
        let padded = |extent: usize| padding.checked_mul(2)?.checked_add(extent);
        let (Some(hp), Some(wp)) = (padded(h), padded(w)) else {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: padding {padding} makes the padded image larger than memory can address",
                    shapes()
                ),
            )
            .at_caller());
        };
        if kh == 0 || kw == 0 || hp < kh || wp < kw {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: a {kh}×{kw} kernel does not fit a {h}×{w} image padded by {padding}",
                    shapes()
                ),
            )
            .at_caller());
        }
        let (ho, wo) = ((hp - kh) / stride + 1, (wp - kw) / stride + 1);
        // the output and the im2col matrix of one sample must be representable
        checked_numel("conv2d", &[n, o, ho, wo]).at_caller()?;
        checked_numel("conv2d", &[c, kh, kw, ho, wo]).at_caller()?;
        Ok(ConvGeometry {
            n,
            c,
            h,
            w,
            o,
            kh,
            kw,
            stride,
            padding,
            ho,
            wo,
        })
    }

    /// Rows of the im2col matrix: `c · kh · kw`.
    pub fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Columns of the im2col matrix: `ho · wo`.
    pub fn positions(&self) -> usize {
        self.ho * self.wo
    }

    /// The input shape `[n, c, h, w]`.
    pub fn input_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }

    /// The weight shape `[o, c, kh, kw]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.o, self.c, self.kh, self.kw]
    }

    /// The output shape `[n, o, ho, wo]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.o, self.ho, self.wo]
    }

    /// Visits row `row = (c·kh + i)·kw + j` of one sample's im2col matrix
    /// as runs: for each output row `oy`, the output columns `ox` whose input
    /// pixel lies inside the image (the rest read zero padding). Calls
    /// `f(first position, length, first input offset)`; consecutive
    /// positions of a run read input offsets `stride` apart.
    #[inline]
    fn for_each_run_of_row(&self, row: usize, mut f: impl FnMut(usize, usize, usize)) {
        let (s, p) = (self.stride, self.padding);
        let (c, i, j) = (
            row / (self.kh * self.kw),
            (row / self.kw) % self.kh,
            row % self.kw,
        );
        // x = ox·s + j − p must lie in [0, w)
        let lo = if j >= p { 0 } else { (p - j).div_ceil(s) };
        let hi = if self.w + p > j {
            ((self.w + p - j - 1) / s + 1).min(self.wo)
        } else {
            0
        };
        if lo >= hi {
            return;
        }
        for oy in 0..self.ho {
            let Some(y) = (oy * s + i).checked_sub(p).filter(|&y| y < self.h) else {
                continue;
            };
            let x0 = lo * s + j - p;
            f(oy * self.wo + lo, hi - lo, (c * self.h + y) * self.w + x0);
        }
    }

    /// im2col of the whole batch: the `[c·kh·kw, n·ho·wo]` row-major matrix
    /// whose column `(n, oy, ox)` holds the input patch the kernel sees at
    /// that output position of sample `n` (0 in the padding). One GEMM with
    /// it computes the convolution of every sample.
    ///
    /// ```
    /// use nn::ops::ConvGeometry;
    /// // a 3×3 image, a 2×2 kernel: four 2×2 patches, one per column
    /// let g = ConvGeometry::new(&[1, 1, 3, 3], &[1, 1, 2, 2], 1, 0)?;
    /// let x: Vec<f64> = (1..=9).map(f64::from).collect();
    /// assert_eq!(g.im2col(&x), [1.0, 2.0, 4.0, 5.0,   // kernel tap (0, 0)
    ///                           2.0, 3.0, 5.0, 6.0,   // tap (0, 1)
    ///                           4.0, 5.0, 7.0, 8.0,   // tap (1, 0)
    ///                           5.0, 6.0, 8.0, 9.0]); // tap (1, 1)
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn im2col<T: Float>(&self, x: &[T]) -> Vec<T> {
        let mut cols = vec![T::zero(); self.patch() * self.n * self.positions()];
        self.im2col_into(x, &mut cols);
        cols
    }

    /// [`im2col`](Self::im2col) written into `cols` (`c·kh·kw · n·ho·wo`
    /// elements, zero where the kernel reads padding: pass it zeroed).
    ///
    /// # Panics
    /// When `x` or `cols` is shorter than the geometry needs.
    pub fn im2col_into<T: Float>(&self, x: &[T], cols: &mut [T]) {
        let (positions, sample, s) = (self.positions(), self.c * self.h * self.w, self.stride);
        let width = self.n * positions;
        assert!(x.len() >= self.n * sample && cols.len() >= self.patch() * width);
        if width == 0 {
            return;
        }
        let cols = &mut cols[..self.patch() * width];
        // one patch row of the matrix per task: contiguous, disjoint
        let fill_row = |(row, dst_row): (usize, &mut [T])| {
            for n in 0..self.n {
                let src = &x[n * sample..(n + 1) * sample];
                let dst_sample = &mut dst_row[n * positions..(n + 1) * positions];
                self.for_each_run_of_row(row, |pos, len, at| {
                    let dst = &mut dst_sample[pos..pos + len];
                    if s == 1 {
                        dst.copy_from_slice(&src[at..at + len]);
                    } else {
                        for (k, d) in dst.iter_mut().enumerate() {
                            *d = src[at + k * s];
                        }
                    }
                });
            }
        };
        if parallel(cols.len()) {
            cols.par_chunks_mut(width).enumerate().for_each(fill_row);
        } else {
            cols.chunks_mut(width).enumerate().for_each(fill_row);
        }
    }

    /// col2im, the adjoint of [`im2col`](Self::im2col): an `[n, c, h, w]`
    /// buffer into which every entry of `cols` is added at the input element
    /// it was read from.
    ///
    /// ```
    /// use nn::ops::ConvGeometry;
    /// // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ — here with stride 2 and padding 1
    /// let g = ConvGeometry::new(&[2, 2, 5, 4], &[3, 2, 3, 2], 2, 1)?;
    /// let x: Vec<f64> = (0..80).map(|i| (i as f64 * 0.37).sin()).collect();
    /// let c: Vec<f64> = (0..g.patch() * 2 * g.positions()).map(|i| (i as f64 * 0.11).cos()).collect();
    /// let left: f64 = g.im2col(&x).iter().zip(&c).map(|(a, b)| a * b).sum();
    /// let right: f64 = x.iter().zip(g.col2im(&c)).map(|(a, b)| a * b).sum();
    /// assert!((left - right).abs() < 1e-12);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn col2im<T: Float>(&self, cols: &[T]) -> Vec<T> {
        let mut x = vec![T::zero(); self.n * self.c * self.h * self.w];
        self.col2im_add(cols, &mut x);
        x
    }

    /// [`col2im`](Self::col2im) added into `x` (`n·c·h·w` elements), one
    /// sample per task when the batch is large.
    ///
    /// # Panics
    /// When `x` or `cols` is shorter than the geometry needs.
    pub fn col2im_add<T: Float>(&self, cols: &[T], x: &mut [T]) {
        let (positions, sample, s) = (self.positions(), self.c * self.h * self.w, self.stride);
        let width = self.n * positions;
        assert!(x.len() >= self.n * sample && cols.len() >= self.patch() * width);
        if sample == 0 {
            return;
        }
        let add_sample = |(n, dst): (usize, &mut [T])| {
            let offset = n * positions;
            for row in 0..self.patch() {
                self.for_each_run_of_row(row, |pos, len, at| {
                    let src = &cols[row * width + offset + pos..][..len];
                    if s == 1 {
                        for (d, &v) in dst[at..at + len].iter_mut().zip(src) {
                            *d += v;
                        }
                    } else {
                        for (d, &v) in dst[at..].iter_mut().step_by(s).zip(src) {
                            *d += v;
                        }
                    }
                });
            }
        };
        let x = &mut x[..self.n * sample];
        if parallel(cols.len()) {
            x.par_chunks_mut(sample).enumerate().for_each(add_sample);
        } else {
            x.chunks_mut(sample).enumerate().for_each(add_sample);
        }
    }

    /// Reorders an output-shaped `[n, o, positions]` buffer into the
    /// `[o, n·positions]` layout of the batched GEMM.
    pub fn to_channel_major<T: Float>(&self, y: &[T]) -> Vec<T> {
        let mut out = vec![T::zero(); self.o * self.n * self.positions()];
        self.to_channel_major_into(y, &mut out);
        out
    }

    /// [`to_channel_major`](Self::to_channel_major) written into `out`
    /// (`o · n·ho·wo` elements).
    ///
    /// # Panics
    /// When `y` or `out` is shorter than the geometry needs.
    pub fn to_channel_major_into<T: Float>(&self, y: &[T], out: &mut [T]) {
        let (positions, width) = (self.positions(), self.n * self.positions());
        assert!(y.len() >= self.o * width && out.len() >= self.o * width);
        if width == 0 {
            return;
        }
        let out = &mut out[..self.o * width];
        let fill = |(o, dst): (usize, &mut [T])| {
            for n in 0..self.n {
                let from = (n * self.o + o) * positions;
                dst[n * positions..(n + 1) * positions].copy_from_slice(&y[from..from + positions]);
            }
        };
        if parallel(out.len()) {
            out.par_chunks_mut(width).enumerate().for_each(fill);
        } else {
            out.chunks_mut(width).enumerate().for_each(fill);
        }
    }

    /// The inverse of [`to_channel_major`](Self::to_channel_major), written
    /// into `out` (`n·o·ho·wo` elements, `[n, o, ho, wo]` order).
    ///
    /// # Panics
    /// When `y` or `out` is shorter than the geometry needs.
    pub fn from_channel_major_into<T: Float>(&self, y: &[T], out: &mut [T]) {
        let (positions, width) = (self.positions(), self.n * self.positions());
        let sample = self.o * positions;
        assert!(y.len() >= self.o * width && out.len() >= self.n * sample);
        if sample == 0 {
            return;
        }
        let fill = |(n, dst): (usize, &mut [T])| {
            for o in 0..self.o {
                dst[o * positions..(o + 1) * positions].copy_from_slice(
                    &y[o * width + n * positions..o * width + (n + 1) * positions],
                );
            }
        };
        let out = &mut out[..self.n * sample];
        if parallel(out.len()) {
            out.par_chunks_mut(sample).enumerate().for_each(fill);
        } else {
            out.chunks_mut(sample).enumerate().for_each(fill);
        }
    }

    /// The inverse of [`to_channel_major`](Self::to_channel_major).
    pub fn from_channel_major<T: Float>(&self, y: &[T]) -> Vec<T> {
        let mut out = vec![T::zero(); self.n * self.o * self.positions()];
        self.from_channel_major_into(y, &mut out);
        out
    }
}

/// The sizes of a 2-D pooling of `x: [n, c, h, w]` with a `k × k` window and
/// stride `s`: the output is `[n, c, (h − k)/s + 1, (w − k)/s + 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Batch size times channels: the pooled planes.
    pub planes: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Output height.
    pub ho: usize,
    /// Output width.
    pub wo: usize,
    /// The input shape.
    pub input: [usize; 4],
}

impl PoolGeometry {
    /// Checks the shapes and computes the output size.
    ///
    /// ```
    /// use nn::ops::PoolGeometry;
    /// let g = PoolGeometry::new("max_pool2d", &[2, 6, 28, 28], 2, 2)?;
    /// assert_eq!(g.output_shape(), [2, 6, 14, 14]);
    /// assert!(PoolGeometry::new("max_pool2d", &[2, 6, 1, 28], 2, 2).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming `op` when the
    /// input is not 4-D or smaller than the window, or the window or stride
    /// is 0.
    #[track_caller]
    pub fn new(op: &str, x: &[usize], k: usize, stride: usize) -> Result<Self> {
        let &[n, c, h, w] = x else {
            return Err(
                Error::shape(op, format!("input {} must be [n, c, h, w]", fmt_shape(x)))
                    .at_caller(),
            );
        };
        if k == 0 || stride == 0 {
            return Err(Error::argument(op, "window and stride must be at least 1").at_caller());
        }
        if h < k || w < k {
            return Err(Error::shape(
                op,
                format!("a {k}×{k} window does not fit input {}", fmt_shape(x)),
            )
            .at_caller());
        }
        Ok(PoolGeometry {
            planes: n * c,
            h,
            w,
            k,
            stride,
            ho: (h - k) / stride + 1,
            wo: (w - k) / stride + 1,
            input: [n, c, h, w],
        })
    }

    /// The output shape `[n, c, ho, wo]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.input[0], self.input[1], self.ho, self.wo]
    }

    /// The offsets of a window's elements from its top-left input index,
    /// in row-major order: `dy·w + dx` for `dy, dx < k`.
    pub fn window_offsets(&self) -> Vec<usize> {
        (0..self.k * self.k)
            .map(|t| (t / self.k) * self.w + t % self.k)
            .collect()
    }

    /// Calls `f(output index, input index of the window's top-left element)`
    /// for every output element, in output order; add
    /// [`window_offsets`](Self::window_offsets) for the rest of the window.
    pub fn for_each_window(&self, mut f: impl FnMut(usize, usize)) {
        let mut out = 0;
        for plane in 0..self.planes {
            let base = plane * self.h * self.w;
            for oy in 0..self.ho {
                let row = base + oy * self.stride * self.w;
                for ox in 0..self.wo {
                    f(out, row + ox * self.stride);
                    out += 1;
                }
            }
        }
    }
}
