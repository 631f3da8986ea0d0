//! Shapes of convolutions and poolings, and the im2col / col2im kernels.

use autodiff::shape::fmt_shape;
use autodiff::{Error, Float, Result};

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
    /// the kernel is larger than the padded input, or the stride is 0.
    pub fn new(x: &[usize], weight: &[usize], stride: usize, padding: usize) -> Result<Self> {
        let shapes = || format!("input {} and weight {}", fmt_shape(x), fmt_shape(weight));
        let (&[n, c, h, w], &[o, cw, kh, kw]) = (x, weight) else {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: expected input [n, c, h, w] and weight [out, in, kh, kw]",
                    shapes()
                ),
            ));
        };
        if c != cw {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: the input has {c} input channels but the weight expects {cw}",
                    shapes()
                ),
            ));
        }
        if stride == 0 {
            return Err(Error::argument("conv2d", "stride must be at least 1"));
        }
        if kh == 0 || kw == 0 || h + 2 * padding < kh || w + 2 * padding < kw {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "{}: a {kh}×{kw} kernel does not fit a {h}×{w} image padded by {padding}",
                    shapes()
                ),
            ));
        }
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
            ho: (h + 2 * padding - kh) / stride + 1,
            wo: (w + 2 * padding - kw) / stride + 1,
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

    /// Visits the im2col matrix of one sample in row-major order: calls
    /// `f(source)` with the input offset (within the sample) read at each
    /// (patch row `(c, i, j)`, output position `(oy, ox)`), or `None` where
    /// the kernel reads the zero padding.
    #[inline]
    fn visit_patches(&self, mut f: impl FnMut(Option<usize>)) {
        let (s, p) = (self.stride, self.padding);
        for c in 0..self.c {
            for i in 0..self.kh {
                for j in 0..self.kw {
                    for oy in 0..self.ho {
                        let y = (oy * s + i).checked_sub(p).filter(|&y| y < self.h);
                        for ox in 0..self.wo {
                            let x = (ox * s + j).checked_sub(p).filter(|&x| x < self.w);
                            f(y.zip(x).map(|(y, x)| (c * self.h + y) * self.w + x));
                        }
                    }
                }
            }
        }
    }

    /// im2col of one sample: the `[c·kh·kw, ho·wo]` row-major matrix whose
    /// column `(oy, ox)` holds the input patch the kernel sees at that output
    /// position (0 in the padding).
    pub fn im2col<T: Float>(&self, sample: &[T], cols: &mut Vec<T>) {
        cols.clear();
        cols.reserve(self.patch() * self.positions());
        self.visit_patches(|src| cols.push(src.map_or(T::zero(), |s| sample[s])));
    }

    /// col2im of one sample, the adjoint of [`im2col`](Self::im2col): adds
    /// every entry of `cols` into the input element it was read from.
    pub fn col2im_add<T: Float>(&self, cols: &[T], sample: &mut [T]) {
        let mut k = 0;
        self.visit_patches(|src| {
            if let Some(s) = src {
                sample[s] += cols[k];
            }
            k += 1;
        });
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
    pub fn new(op: &str, x: &[usize], k: usize, stride: usize) -> Result<Self> {
        let &[n, c, h, w] = x else {
            return Err(Error::shape(
                op,
                format!("input {} must be [n, c, h, w]", fmt_shape(x)),
            ));
        };
        if k == 0 || stride == 0 {
            return Err(Error::argument(op, "window and stride must be at least 1"));
        }
        if h < k || w < k {
            return Err(Error::shape(
                op,
                format!("a {k}×{k} window does not fit input {}", fmt_shape(x)),
            ));
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

    /// Calls `f(output index, input indices of its window)` for every
    /// output element; the window's indices are in row-major order.
    pub fn for_each_window(&self, mut f: impl FnMut(usize, &mut dyn Iterator<Item = usize>)) {
        let mut out = 0;
        for plane in 0..self.planes {
            let base = plane * self.h * self.w;
            for oy in 0..self.ho {
                for ox in 0..self.wo {
                    let (y0, x0) = (oy * self.stride, ox * self.stride);
                    let (k, w) = (self.k, self.w);
                    let mut window = (0..k * k).map(move |t| base + (y0 + t / k) * w + x0 + t % k);
                    f(out, &mut window);
                    out += 1;
                }
            }
        }
    }
}
