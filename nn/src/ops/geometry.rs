//! Shapes of convolutions and poolings, and the im2col / col2im kernels.

use autodiff::kernels::elementwise::parallel;
use autodiff::shape::{checked_numel, fmt_shape};
use autodiff::{Error, Float, Result, ResultExt};
use rayon::prelude::*;

/// A height and a width: `2` means `[2, 2]`, `(2, 1)` means `[2, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hw(pub [usize; 2]);

impl From<usize> for Hw {
    fn from(v: usize) -> Self {
        Hw([v, v])
    }
}

impl From<(usize, usize)> for Hw {
    fn from((h, w): (usize, usize)) -> Self {
        Hw([h, w])
    }
}

impl From<[usize; 2]> for Hw {
    fn from(hw: [usize; 2]) -> Self {
        Hw(hw)
    }
}

/// A convolution's settings beyond its kernel, with PyTorch's meaning and
/// defaults: stride 1, padding 0, dilation 1, groups 1. Each of stride,
/// padding and dilation is a number for both directions or a pair
/// `(height, width)`.
///
/// ```
/// use nn::ops::ConvOptions;
/// let o = ConvOptions::default().stride(2).padding((1, 0)).dilation(2).groups(4);
/// assert_eq!((o.stride, o.padding, o.dilation, o.groups), ([2, 2], [1, 0], [2, 2], 4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvOptions {
    /// Step between output positions, `[height, width]`.
    pub stride: [usize; 2],
    /// Zeros added on each side, `[top and bottom, left and right]`.
    pub padding: [usize; 2],
    /// Spacing between kernel taps (`d − 1` holes between them).
    pub dilation: [usize; 2],
    /// Input and output channels split into this many independent groups
    /// (`groups = channels`: a depthwise convolution).
    pub groups: usize,
}

impl Default for ConvOptions {
    fn default() -> Self {
        ConvOptions {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl ConvOptions {
    /// With this stride.
    pub fn stride(mut self, stride: impl Into<Hw>) -> Self {
        self.stride = stride.into().0;
        self
    }

    /// With this zero padding.
    pub fn padding(mut self, padding: impl Into<Hw>) -> Self {
        self.padding = padding.into().0;
        self
    }

    /// With this dilation.
    pub fn dilation(mut self, dilation: impl Into<Hw>) -> Self {
        self.dilation = dilation.into().0;
        self
    }

    /// With this many groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
}

/// The sizes of a 2-D convolution of `x: [n, c, h, w]` with
/// `weight: [o, c/groups, kh, kw]` and [`ConvOptions`] (stride s, padding p,
/// dilation d per direction): the output is `[n, o, ho, wo]` with
/// `ho = (h + 2p − d·(kh − 1) − 1)/s + 1` (and likewise `wo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Batch size.
    pub n: usize,
    /// Input channels (all groups).
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels (all groups).
    pub o: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride, padding, dilation and groups.
    pub options: ConvOptions,
    /// Output height.
    pub ho: usize,
    /// Output width.
    pub wo: usize,
}

impl ConvGeometry {
    /// Checks the shapes and computes the output size for a square stride
    /// and padding (no dilation, one group).
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
    /// As [`with_options`](Self::with_options).
    #[track_caller]
    pub fn new(x: &[usize], weight: &[usize], stride: usize, padding: usize) -> Result<Self> {
        Self::with_options(
            x,
            weight,
            &ConvOptions::default().stride(stride).padding(padding),
        )
    }

    /// Checks the shapes and computes the output size.
    ///
    /// ```
    /// use nn::ops::{ConvGeometry, ConvOptions};
    /// // a depthwise 3×3 convolution with dilation 2 on 8 channels
    /// let o = ConvOptions::default().dilation(2).padding(2).groups(8);
    /// let g = ConvGeometry::with_options(&[1, 8, 10, 12], &[8, 1, 3, 3], &o)?;
    /// assert_eq!((g.ho, g.wo), (10, 12));
    /// let wrong = ConvGeometry::with_options(&[1, 8, 10, 12], &[8, 2, 3, 3], &o).unwrap_err();
    /// assert!(wrong.to_string().contains("8 input channels in 8 groups"));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming `conv2d` and
    /// the shapes when the input or weight is not 4-D, the channels do not
    /// match the weight and the groups, the dilated kernel is larger than
    /// the padded input, or the padded image, the output or the im2col
    /// matrix would have more elements than a tensor can hold;
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a stride,
    /// dilation or group count of 0.
    #[track_caller]
    pub fn with_options(x: &[usize], weight: &[usize], options: &ConvOptions) -> Result<Self> {
        let shapes = || format!("input {} and weight {}", fmt_shape(x), fmt_shape(weight));
        let (&[n, c, h, w], &[o, cw, kh, kw]) = (x, weight) else {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: expected input [n, c, h, w] and weight [out, in/groups, kh, kw]",
                    shapes()
                ),
            )
            .at_caller());
        };
        let ConvOptions {
            stride: [sh, sw],
            padding: [ph, pw],
            dilation: [dh, dw],
            groups,
        } = *options;
        if sh == 0 || sw == 0 || dh == 0 || dw == 0 || groups == 0 {
            return Err(Error::argument(
                "conv2d",
                format!(
                    "stride {:?}, dilation {:?} and groups {groups} must all be at least 1",
                    options.stride, options.dilation
                ),
            )
            .at_caller());
        }
        if groups == 1 && c != cw {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: the input has {c} input channels but the weight expects {cw}",
                    shapes()
                ),
            )
            .at_caller());
        }
        if c % groups != 0 || o % groups != 0 || c / groups != cw {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: {c} input channels in {groups} groups need a weight of [o, {}, kh, kw] with o a multiple of {groups}",
                    shapes(),
                    if c % groups == 0 { (c / groups).to_string() } else { "c/groups".into() }
                ),
            )
            .at_caller());
        }
        // h + 2p and the dilated kernel in checked arithmetic: a padding
        // near usize::MAX / 2 must be refused, not wrapped around
        let padded = |extent: usize, p: usize| p.checked_mul(2)?.checked_add(extent);
        let dilated = |k: usize, d: usize| k.checked_sub(1)?.checked_mul(d)?.checked_add(1);
        let (Some(hp), Some(wp)) = (padded(h, ph), padded(w, pw)) else {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: padding {:?} makes the padded image larger than memory can address",
                    shapes(),
                    options.padding
                ),
            )
            .at_caller());
        };
        let fits = match (dilated(kh, dh), dilated(kw, dw)) {
            (Some(ekh), Some(ekw)) => (hp >= ekh && wp >= ekw).then_some((ekh, ekw)),
            _ => None,
        };
        let Some((ekh, ekw)) = fits else {
            let padding = if ph == pw {
                ph.to_string()
            } else {
                format!("{ph}×{pw}")
            };
            let dilation = if dh == 1 && dw == 1 {
                String::new()
            } else {
                format!(" dilated by {:?}", options.dilation)
            };
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: a {kh}×{kw} kernel{dilation} does not fit a {h}×{w} image padded by {padding}",
                    shapes()
                ),
            )
            .at_caller());
        };
        let (ho, wo) = ((hp - ekh) / sh + 1, (wp - ekw) / sw + 1);
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
            options: *options,
            ho,
            wo,
        })
    }

    /// The number of groups.
    pub fn groups(&self) -> usize {
        self.options.groups
    }

    /// Rows of one group's im2col matrix: `(c/groups) · kh · kw`.
    pub fn group_patch(&self) -> usize {
        self.patch() / self.groups()
    }

    /// Output channels per group.
    pub fn group_outputs(&self) -> usize {
        self.o / self.groups()
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

    /// The weight shape `[o, c/groups, kh, kw]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.o, self.c / self.groups(), self.kh, self.kw]
    }

    /// The output shape `[n, o, ho, wo]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.o, self.ho, self.wo]
    }

    /// Visits row `row = (c·kh + i)·kw + j` of one sample's im2col matrix
    /// as runs: for each output row `oy`, the output columns `ox` whose input
    /// pixel `(oy·sh + i·dh − ph, ox·sw + j·dw − pw)` lies inside the image
    /// (the rest read zero padding). Calls `f(first position, length, first
    /// input offset)`; consecutive positions of a run read input offsets
    /// `sw` apart.
    #[inline]
    fn for_each_run_of_row(&self, row: usize, mut f: impl FnMut(usize, usize, usize)) {
        let ConvOptions {
            stride: [sh, sw],
            padding: [ph, pw],
            dilation: [dh, dw],
            ..
        } = self.options;
        let (c, i, j) = (
            row / (self.kh * self.kw),
            (row / self.kw) % self.kh,
            row % self.kw,
        );
        let (di, dj) = (i * dh, j * dw);
        // x = ox·sw + dj − pw must lie in [0, w)
        let lo = if dj >= pw { 0 } else { (pw - dj).div_ceil(sw) };
        let hi = if self.w + pw > dj {
            ((self.w + pw - dj - 1) / sw + 1).min(self.wo)
        } else {
            0
        };
        if lo >= hi {
            return;
        }
        for oy in 0..self.ho {
            let Some(y) = (oy * sh + di).checked_sub(ph).filter(|&y| y < self.h) else {
                continue;
            };
            let x0 = lo * sw + dj - pw;
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
    /// elements, each overwritten: zero where the kernel reads padding).
    ///
    /// # Panics
    /// When `x` or `cols` is shorter than the geometry needs.
    pub fn im2col_into<T: Float>(&self, x: &[T], cols: &mut [T]) {
        let (positions, sample, s) = (
            self.positions(),
            self.c * self.h * self.w,
            self.options.stride[1],
        );
        let width = self.n * positions;
        assert!(x.len() >= self.n * sample && cols.len() >= self.patch() * width);
        if width == 0 {
            return;
        }
        let cols = &mut cols[..self.patch() * width];
        // without padding the runs cover every position
        let padded = self.options.padding != [0, 0];
        // one patch row of the matrix per task: contiguous, disjoint. With
        // padding, each sample's part of the row is zeroed just before its
        // runs are copied (while it is in cache: cheaper than zeroing the
        // whole matrix first)
        let fill_row = |(row, dst_row): (usize, &mut [T])| {
            for n in 0..self.n {
                let src = &x[n * sample..(n + 1) * sample];
                let dst_sample = &mut dst_row[n * positions..(n + 1) * positions];
                if padded {
                    dst_sample.fill(T::zero());
                }
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
        let (positions, sample, s) = (
            self.positions(),
            self.c * self.h * self.w,
            self.options.stride[1],
        );
        let width = self.n * positions;
        assert!(x.len() >= self.n * sample && cols.len() >= self.patch() * width);
        if sample == 0 {
            return;
        }
        // the terms of sample n's patch row `row` added where they were read
        let add_row = |row: usize, n: usize, dst: &mut [T]| {
            let offset = n * positions;
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
        };
        // Every element receives its terms in patch-row order either way, so
        // both orders give the same bits. In parallel, one sample per task
        // (disjoint outputs); on one thread, `cols` is read in its own
        // order, row after row: one stream through memory instead of one per
        // patch row (LeNet's second layer has 150), while the batch's
        // outputs stay in cache.
        let x = &mut x[..self.n * sample];
        if parallel(cols.len()) {
            x.par_chunks_mut(sample).enumerate().for_each(|(n, dst)| {
                (0..self.patch()).for_each(|row| add_row(row, n, dst));
            });
        } else {
            for row in 0..self.patch() {
                for (n, dst) in x.chunks_mut(sample).enumerate() {
                    add_row(row, n, dst);
                }
            }
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

/// A pooling's window and how it moves, with PyTorch's meaning: the stride
/// defaults to the window, padding to 0, `ceil_mode` to false (round the
/// output size down). Max pooling ignores the padding (it is −∞); average
/// pooling counts it as zeros in the divisor (PyTorch's default
/// `count_include_pad = true`), except past the input's far edge, where a
/// `ceil_mode` window is cut off.
///
/// ```
/// use nn::ops::PoolOptions;
/// let o = PoolOptions::new(3).stride(2).padding(1).ceil_mode(true);
/// assert_eq!((o.kernel, o.stride, o.padding, o.ceil_mode), ([3, 3], [2, 2], [1, 1], true));
/// assert_eq!(PoolOptions::new((2, 3)).stride, [2, 3]); // the stride follows the window
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolOptions {
    /// Window `[height, width]`.
    pub kernel: [usize; 2],
    /// Step between windows (the window, unless set).
    pub stride: [usize; 2],
    /// Padding on each side (at most half the window).
    pub padding: [usize; 2],
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
}

impl PoolOptions {
    /// A `kernel` window moving by its own size, no padding.
    pub fn new(kernel: impl Into<Hw>) -> Self {
        let kernel = kernel.into().0;
        PoolOptions {
            kernel,
            stride: kernel,
            padding: [0, 0],
            ceil_mode: false,
        }
    }

    /// With this stride.
    pub fn stride(mut self, stride: impl Into<Hw>) -> Self {
        self.stride = stride.into().0;
        self
    }

    /// With this padding.
    pub fn padding(mut self, padding: impl Into<Hw>) -> Self {
        self.padding = padding.into().0;
        self
    }

    /// Rounding the output size up (`true`) or down.
    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }
}

/// The sizes of a 2-D pooling of `x: [n, c, h, w]` with [`PoolOptions`]
/// (window k, stride s, padding p per direction): the output is
/// `[n, c, ho, wo]` with `ho = ⌊(h + 2p − k)/s⌋ + 1` (⌈·⌉ with `ceil_mode`,
/// less one if that last window would start past the input and its left
/// padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Batch size times channels: the pooled planes.
    pub planes: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window, stride, padding and rounding.
    pub options: PoolOptions,
    /// Output height.
    pub ho: usize,
    /// Output width.
    pub wo: usize,
    /// The input shape.
    pub input: [usize; 4],
}

/// One extent of the windows of a pooling: for each output index, the
/// input range `[start, end)` it covers and the divisor of an average over
/// it (the window's size, with the padding it covers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowSpans {
    /// `(start, end, divisor)` per output index.
    pub spans: Vec<(usize, usize, usize)>,
}

impl WindowSpans {
    /// No windows (for an empty batch, which has nothing to pool).
    pub fn empty() -> Self {
        WindowSpans { spans: Vec::new() }
    }

    /// A sliding window of extent `k`, stride `s`, padding `p` over an
    /// input of extent `n`, for `outputs` positions: window `i` covers
    /// `[i·s − p, i·s − p + k)` clipped to the padded input for the divisor
    /// and to the input for the range.
    pub fn sliding(n: usize, k: usize, s: usize, p: usize, outputs: usize) -> Self {
        let spans = (0..outputs)
            .map(|i| {
                let start = i * s; // in padded coordinates
                let end = (start + k).min(n + 2 * p);
                let divisor = end - start;
                let (lo, hi) = (start.saturating_sub(p).min(n), end.saturating_sub(p).min(n));
                (lo, hi.max(lo), divisor)
            })
            .collect();
        WindowSpans { spans }
    }

    /// PyTorch's adaptive windows: output `i` of `outputs` covers
    /// `[⌊i·n/outputs⌋, ⌈(i + 1)·n/outputs⌉)`, averaged over its size.
    pub fn adaptive(n: usize, outputs: usize) -> Self {
        let spans = (0..outputs)
            .map(|i| {
                let (lo, hi) = (i * n / outputs, ((i + 1) * n).div_ceil(outputs));
                (lo, hi, hi - lo)
            })
            .collect();
        WindowSpans { spans }
    }
}

impl PoolGeometry {
    /// Checks the shapes and computes the output size of a square `k × k`
    /// window with `stride`, no padding.
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
    /// As [`with_options`](Self::with_options).
    #[track_caller]
    pub fn new(op: &str, x: &[usize], k: usize, stride: usize) -> Result<Self> {
        Self::with_options(op, x, &PoolOptions::new(k).stride(stride))
    }

    /// Checks the shapes and computes the output size.
    ///
    /// ```
    /// use nn::ops::{PoolGeometry, PoolOptions};
    /// // PyTorch: a 3×3 window, stride 2, padding 1 over 7×7 → 4×4; 5×5 → 3×3
    /// let o = PoolOptions::new(3).stride(2).padding(1);
    /// assert_eq!(PoolGeometry::with_options("max_pool2d", &[1, 1, 7, 7], &o)?.output_shape(), [1, 1, 4, 4]);
    /// // ceil_mode keeps the partial window at the end: 6 → 3 instead of 2
    /// let c = PoolOptions::new(2).stride(2).ceil_mode(true);
    /// assert_eq!(PoolGeometry::with_options("max_pool2d", &[1, 1, 5, 6], &c)?.output_shape(), [1, 1, 3, 3]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming `op` when the
    /// input is not 4-D, has a height or width of 0, or the window does not
    /// fit the padded input;
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a zero
    /// window or stride, or a padding over half the window.
    #[track_caller]
    pub fn with_options(op: &str, x: &[usize], options: &PoolOptions) -> Result<Self> {
        let &[n, c, h, w] = x else {
            return Err(
                Error::shape(op, format!("input {} must be [n, c, h, w]", fmt_shape(x)))
                    .at_caller(),
            );
        };
        let PoolOptions {
            kernel: [kh, kw],
            stride: [sh, sw],
            padding: [ph, pw],
            ceil_mode,
        } = *options;
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 {
            return Err(Error::argument(op, "window and stride must be at least 1").at_caller());
        }
        if h == 0 || w == 0 {
            // every window would read padding only: PyTorch refuses it too
            return Err(Error::shape(
                op,
                format!("input {} has no rows or columns to pool", fmt_shape(x)),
            )
            .at_caller());
        }
        if ph > kh / 2 || pw > kw / 2 {
            return Err(Error::argument(
                op,
                format!(
                    "padding {:?} is more than half the {kh}×{kw} window",
                    options.padding
                ),
            )
            .at_caller());
        }
        // an empty batch may carry any extent: checked arithmetic
        let padded = |n: usize, p: usize| p.checked_mul(2).and_then(|d| d.checked_add(n));
        let (Some(hp), Some(wp)) = (padded(h, ph), padded(w, pw)) else {
            return Err(Error::shape(
                op,
                format!(
                    "input {} padded by {:?} is larger than memory can address",
                    fmt_shape(x),
                    options.padding
                ),
            )
            .at_caller());
        };
        if hp < kh || wp < kw {
            let padded = if ph == 0 && pw == 0 {
                String::new()
            } else {
                format!(" padded by {:?}", options.padding)
            };
            return Err(Error::shape(
                op,
                format!(
                    "a {kh}×{kw} window does not fit input {}{padded}",
                    fmt_shape(x)
                ),
            )
            .at_caller());
        }
        let extent = |padded: usize, n: usize, k: usize, s: usize, p: usize| {
            let steps = padded - k;
            let mut out = if ceil_mode {
                steps.div_ceil(s) + 1
            } else {
                steps / s + 1
            };
            // the last window must start inside the input or its left padding
            if ceil_mode && (out - 1) * s >= n + p {
                out -= 1;
            }
            out
        };
        Ok(PoolGeometry {
            planes: n * c,
            h,
            w,
            options: *options,
            ho: extent(hp, h, kh, sh, ph),
            wo: extent(wp, w, kw, sw, pw),
            input: [n, c, h, w],
        })
    }

    /// The output shape `[n, c, ho, wo]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.input[0], self.input[1], self.ho, self.wo]
    }

    /// Whether every window lies inside the input (no padding read, no
    /// window cut off by `ceil_mode`).
    pub fn windows_inside(&self) -> bool {
        let PoolOptions {
            kernel: [kh, kw],
            stride: [sh, sw],
            padding,
            ..
        } = self.options;
        padding == [0, 0] && (self.ho - 1) * sh + kh <= self.h && (self.wo - 1) * sw + kw <= self.w
    }

    /// The windows' rows and columns.
    pub fn spans(&self) -> (WindowSpans, WindowSpans) {
        let PoolOptions {
            kernel: [kh, kw],
            stride: [sh, sw],
            padding: [ph, pw],
            ..
        } = self.options;
        (
            WindowSpans::sliding(self.h, kh, sh, ph, self.ho),
            WindowSpans::sliding(self.w, kw, sw, pw, self.wo),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// col2im written as the definition: every entry of `cols` added at the
    /// input element it was read from, entries in row order (kernel
    /// channel, row, column), as the general path adds them.
    /// The im2col matrix by its definition, entry by entry in its row-major
    /// order: column `(n, oy, ox)` of row `(c·kh + i)·kw + j` reads input
    /// element `[n, c, oy·sh + i·dh − ph, ox·sw + j·dw − pw]`, or the zero
    /// padding (`None`) outside the image.
    fn matrix_sources(g: &ConvGeometry) -> Vec<Option<usize>> {
        let ConvOptions {
            stride: [sh, sw],
            padding: [ph, pw],
            dilation: [dh, dw],
            ..
        } = g.options;
        let mut sources = Vec::new();
        for c in 0..g.c {
            for i in 0..g.kh {
                for j in 0..g.kw {
                    for n in 0..g.n {
                        for oy in 0..g.ho {
                            for ox in 0..g.wo {
                                let y = (oy * sh + i * dh) as isize - ph as isize;
                                let xx = (ox * sw + j * dw) as isize - pw as isize;
                                let inside = (0..g.h as isize).contains(&y)
                                    && (0..g.w as isize).contains(&xx);
                                sources.push(inside.then(|| {
                                    ((n * g.c + c) * g.h + y as usize) * g.w + xx as usize
                                }));
                            }
                        }
                    }
                }
            }
        }
        sources
    }

    /// col2im by its definition: each entry of `cols` added at the input
    /// element it was read from (each element's terms in row order).
    fn col2im_by_definition(g: &ConvGeometry, cols: &[f64]) -> Vec<f64> {
        let mut x = vec![0.0; g.n * g.c * g.h * g.w];
        for (entry, source) in matrix_sources(g).into_iter().enumerate() {
            if let Some(at) = source {
                x[at] += cols[entry];
            }
        }
        x
    }

    /// Input and weight shapes with options that exercise the edge cases of
    /// both kernels: strides, dilation, padding wider than the kernel.
    fn odd_geometries() -> Vec<([usize; 4], [usize; 4], ConvOptions)> {
        let d = ConvOptions::default();
        vec![
            ([2, 3, 14, 14], [1, 3, 5, 5], d),          // LeNet's second layer
            ([1, 2, 3, 4], [1, 2, 5, 5], d.padding(3)), // kernel wider than the image
            ([1, 2, 6, 5], [1, 2, 3, 2], d.padding((0, 4))), // no column reached by all taps
            (
                [2, 2, 9, 8],
                [1, 2, 3, 3],
                d.stride((2, 1)).dilation((2, 1)).padding(1),
            ),
            ([1, 2, 9, 9], [1, 2, 3, 3], d.stride(2).padding(1)),
            ([1, 1, 9, 9], [1, 1, 2, 3], d.dilation(2)),
        ]
    }

    #[test]
    fn col2im_is_its_definition_bit_for_bit_row_by_row_and_sample_by_sample() {
        let d = ConvOptions::default();
        let mut cases = odd_geometries();
        cases.extend([
            ([2, 1, 7, 6], [1, 1, 5, 5], d.padding(2)), // LeNet's first, small
            // 2²⁰ entries or more: one sample per task when rayon has threads
            ([24, 8, 20, 20], [1, 8, 5, 5], d.padding(1)),
        ]);
        for (k, (xs, ws, o)) in cases.into_iter().enumerate() {
            let g = ConvGeometry::with_options(&xs, &ws, &o).unwrap();
            let len = g.patch() * g.n * g.positions();
            let cols: Vec<f64> = (0..len)
                .map(|i| ((i * 7919 % 1000) as f64 * 0.37).sin())
                .collect();
            assert_eq!(
                g.col2im(&cols),
                col2im_by_definition(&g, &cols),
                "case {k}: {o:?}"
            );
        }
    }

    /// im2col by its definition: each entry the input element it reads, or 0.
    fn im2col_by_definition(g: &ConvGeometry, x: &[f64]) -> Vec<f64> {
        matrix_sources(g)
            .into_iter()
            .map(|source| source.map_or(0.0, |at| x[at]))
            .collect()
    }

    #[test]
    fn im2col_is_its_definition_for_every_run_length_and_gap() {
        let d = ConvOptions::default();
        let mut cases = odd_geometries();
        cases.extend([
            ([2, 1, 28, 28], [1, 1, 5, 5], d.padding(2)), // LeNet's first
            // runs of 1 to 70 columns, some with gaps of 3 to 9 zeros
            ([1, 1, 3, 70], [1, 1, 1, 1], d),
            ([1, 1, 4, 40], [1, 1, 2, 7], d.padding((1, 9))),
            ([1, 2, 5, 11], [1, 2, 3, 3], d.padding((0, 5))),
            ([2, 1, 6, 33], [1, 1, 3, 4], d.padding(2)),
            // 2²⁰ entries or more: one patch row per task when rayon has threads
            ([24, 8, 20, 20], [1, 8, 5, 5], d.padding(1)),
        ]);
        for (k, (xs, ws, o)) in cases.into_iter().enumerate() {
            let g = ConvGeometry::with_options(&xs, &ws, &o).unwrap();
            let x: Vec<f64> = (0..g.n * g.c * g.h * g.w)
                .map(|i| ((i * 7919 % 1000) as f64 * 0.37).sin() + 2.0)
                .collect();
            let mut stale = vec![f64::NAN; g.patch() * g.n * g.positions()];
            g.im2col_into(&x, &mut stale);
            assert_eq!(stale, im2col_by_definition(&g, &x), "case {k}: {o:?}");
        }
    }

    #[test]
    fn im2col_overwrites_every_element() {
        let g = ConvGeometry::with_options(
            &[2, 2, 5, 4],
            &[1, 2, 3, 3],
            &ConvOptions::default().padding(2),
        )
        .unwrap();
        let x: Vec<f64> = (0..g.n * g.c * g.h * g.w).map(|i| i as f64 + 1.0).collect();
        let mut stale = vec![f64::NAN; g.patch() * g.n * g.positions()];
        g.im2col_into(&x, &mut stale);
        assert_eq!(stale, g.im2col(&x));
        assert!(stale.contains(&0.0), "the padding reads zeros");
    }
}
