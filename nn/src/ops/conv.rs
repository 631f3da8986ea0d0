//! 2-D convolution (cross-correlation, as in PyTorch) through im2col and
//! GEMM, with its two adjoints as operations of their own.
//!
//! For `y = conv(x, W)` — `y[n, o, oy, ox] = Σ_{c,i,j} W[o, c, i, j] ·
//! x[n, g·C + c, oy·s + i·d − p, ox·s + j·d − p]` with `g` the group of
//! output channel `o` and `C = channels/groups` — and an upstream gradient
//! `ḡ`:
//!
//! - `∂L/∂x = convᵀ_x(ḡ, W)`: col2im(Wᵀ·Ḡ) ([`InputGrad`]);
//! - `∂L/∂W = convᵀ_W(x, ḡ)`: `Ḡ · im2col(x)ᵀ` ([`WeightGrad`]),
//!
//! with `Ḡ` the gradient laid out `[o, n·positions]` and im2col taken over
//! the whole batch, so that each is one GEMM per group.
//!
//! All three are bilinear, and `⟨ḡ, conv(x, W)⟩ = ⟨convᵀ_x(ḡ, W), x⟩ =
//! ⟨convᵀ_W(x, ḡ), W⟩`, so each one's backward rule is made of the other
//! two: convolution is differentiable to any order.

use autodiff::kernels::gemm::{self, Matrices};
use autodiff::smallvec::smallvec;
use autodiff::{BackwardCtx, Float, InputGrads, Op, Result, Tensor, ValueGrads, ValuesCtx, Var};

use super::geometry::{ConvGeometry, ConvOptions};

/// A temporary buffer of `len` elements, as a tensor so that its storage is
/// reused from step to step (see `autodiff::tensor_pool`).
fn scratch<T: Float>(len: usize) -> Tensor<T> {
    Tensor::for_overwrite(&[len])
}

/// im2col of `x` for the geometry `g`, as a (pooled) tensor.
fn im2col<T: Float>(g: &ConvGeometry, x: &Tensor<T>) -> Tensor<T> {
    // im2col_into writes every element, the padding's zeros too
    let mut cols = scratch(g.patch() * g.n * g.positions());
    g.im2col_into(x.data(), cols.data_mut());
    cols
}

/// How many samples [`InputGrad`] turns into columns at once.
const INPUT_GRAD_CHUNK: usize = 8;

/// `conv2d(x, W)` without bias. Keeps the im2col matrix of `x` from the
/// forward pass for the weight gradient (memory for speed, as cuDNN's
/// im2col algorithms do).
struct Conv2d<T: Float> {
    options: ConvOptions,
    geometry: Option<ConvGeometry>,
    cols: Option<Tensor<T>>,
}

/// `∂L/∂x` of a convolution: `(ḡ, W) ↦ convᵀ_x(ḡ, W)`, of the input's shape.
struct InputGrad {
    geometry: ConvGeometry,
}

/// `∂L/∂W` of a convolution: `(x, ḡ) ↦ convᵀ_W(x, ḡ)`, of the weight's shape.
/// `cols`, when given, is im2col(x) computed already.
struct WeightGrad<T: Float> {
    geometry: ConvGeometry,
    cols: Option<Tensor<T>>,
}

impl<T: Float> Op<T> for Conv2d<T> {
    fn name(&self) -> &str {
        "conv2d"
    }

    fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (x, w) = (inputs[0], inputs[1]);
        let g = ConvGeometry::with_options(x.shape(), w.shape(), &self.options)?;
        self.geometry = Some(g);
        // per group: Y [o/g, n·positions] = W [o/g, patch/g] · cols [patch/g, n·positions];
        // the large temporaries are tensors, so that their buffers are
        // reused from step to step (autodiff::tensor_pool)
        let width = g.n * g.positions();
        let (og, pg) = (g.group_outputs(), g.group_patch());
        let cols = im2col(&g, x);
        let mut y = scratch(g.o * width);
        gemm::batched_into(
            g.groups(),
            Matrices::stacked(w.data(), og, pg),
            Matrices::stacked(cols.data(), pg, width),
            y.data_mut(),
        );
        self.cols = Some(cols);
        let mut out = Tensor::for_overwrite(&g.output_shape());
        g.from_channel_major_into(y.data(), out.data_mut());
        Ok(out)
    }

    fn backward<'t>(
        &self,
        ctx: &BackwardCtx<'t, T>,
        grad: Var<'t, T>,
    ) -> Result<InputGrads<'t, T>> {
        let geometry = self.geometry.expect("forward ran");
        let (x, w) = (ctx.input(0), ctx.input(1));
        let tape = grad.tape();
        let dx = if ctx.needs_grad(0) {
            Some(tape.apply(InputGrad { geometry }, &[grad, w])?)
        } else {
            None
        };
        let dw = if ctx.needs_grad(1) {
            let cols = self.cols.clone();
            Some(tape.apply(WeightGrad { geometry, cols }, &[x, grad])?)
        } else {
            None
        };
        Ok(smallvec![dx, dw])
    }

    /// The two adjoints computed directly, the weight gradient from the
    /// columns saved by `forward`.
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        grad: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let geometry = self.geometry?;
        let rule = || -> Result<ValueGrads<T>> {
            let dx = if ctx.needs_grad(0) {
                Some(InputGrad { geometry }.forward(&[grad, ctx.input(1)])?)
            } else {
                None
            };
            let dw = if ctx.needs_grad(1) {
                let mut op = WeightGrad {
                    geometry,
                    cols: self.cols.clone(),
                };
                Some(op.forward(&[ctx.input(0), grad])?)
            } else {
                None
            };
            Ok(smallvec![dx, dw])
        };
        Some(rule())
    }
}

impl<T: Float> Op<T> for InputGrad {
    fn name(&self) -> &str {
        "conv2d_input_grad"
    }

    fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (g, w) = (inputs[0], inputs[1]);
        let geo = self.geometry;
        let (sample_in, sample_out) = (geo.c * geo.h * geo.w, geo.o * geo.positions());
        let mut dx = Tensor::zeros(&geo.input_shape());
        let dx_data = dx.data_mut();
        // a few samples at a time, so that the column buffer stays small
        for n0 in (0..geo.n).step_by(INPUT_GRAD_CHUNK) {
            let part = ConvGeometry {
                n: INPUT_GRAD_CHUNK.min(geo.n - n0),
                ..geo
            };
            // per group: cols [patch/g, k·positions] = Wᵀ [patch/g, o/g] ·
            // Ḡ [o/g, k·positions], then col2im
            let width = part.n * part.positions();
            let (og, pg) = (part.group_outputs(), part.group_patch());
            let mut gm = scratch(part.o * width);
            part.to_channel_major_into(
                &g.data()[n0 * sample_out..(n0 + part.n) * sample_out],
                gm.data_mut(),
            );
            let mut cols = scratch(part.patch() * width);
            gemm::batched_into(
                part.groups(),
                Matrices::stacked(w.data(), og, pg).t(),
                Matrices::stacked(gm.data(), og, width),
                cols.data_mut(),
            );
            part.col2im_add(
                cols.data(),
                &mut dx_data[n0 * sample_in..(n0 + part.n) * sample_in],
            );
        }
        Ok(dx)
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, h: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        // ⟨convᵀ_x(ḡ, W), h⟩ = ⟨ḡ, conv(h, W)⟩ = ⟨convᵀ_W(h, ḡ), W⟩
        let (g, w) = (ctx.input(0), ctx.input(1));
        let geo = self.geometry;
        let tape = h.tape();
        let dg = if ctx.needs_grad(0) {
            Some(conv2d_with(h, w, None, geo.options)?)
        } else {
            None
        };
        let dw = if ctx.needs_grad(1) {
            Some(tape.apply(
                WeightGrad {
                    geometry: geo,
                    cols: None,
                },
                &[h, g],
            )?)
        } else {
            None
        };
        Ok(smallvec![dg, dw])
    }
}

impl<T: Float> Op<T> for WeightGrad<T> {
    fn name(&self) -> &str {
        "conv2d_weight_grad"
    }

    fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (x, g) = (inputs[0], inputs[1]);
        let geo = self.geometry;
        // per group: dW [o/g, patch/g] = Ḡ [o/g, n·positions] · colsᵀ [n·positions, patch/g]
        let cols = match self.cols.take() {
            Some(cols) => cols,
            None => im2col(&geo, x),
        };
        let width = geo.n * geo.positions();
        let (og, pg) = (geo.group_outputs(), geo.group_patch());
        let mut gm = scratch(geo.o * width);
        geo.to_channel_major_into(g.data(), gm.data_mut());
        let mut dw = Tensor::for_overwrite(&geo.weight_shape());
        gemm::batched_into(
            geo.groups(),
            Matrices::stacked(gm.data(), og, width),
            Matrices::stacked(cols.data(), pg, width).t(),
            dw.data_mut(),
        );
        Ok(dw)
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, k: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        // ⟨convᵀ_W(x, ḡ), K⟩ = ⟨ḡ, conv(x, K)⟩ = ⟨convᵀ_x(ḡ, K), x⟩
        let (x, g) = (ctx.input(0), ctx.input(1));
        let geo = self.geometry;
        let tape = k.tape();
        let dx = if ctx.needs_grad(0) {
            Some(tape.apply(InputGrad { geometry: geo }, &[g, k])?)
        } else {
            None
        };
        let dg = if ctx.needs_grad(1) {
            Some(conv2d_with(x, k, None, geo.options)?)
        } else {
            None
        };
        Ok(smallvec![dx, dg])
    }
}

/// 2-D convolution (cross-correlation) of `x: [n, c, h, w]` with
/// `weight: [o, c, kh, kw]` and an optional `bias: [o]`, stride and zero
/// padding on every side; the output is `[n, o, ho, wo]`,
/// `ho = (h + 2·padding − kh)/stride + 1`. [`conv2d_with`] takes PyTorch's
/// other settings (separate heights and widths, dilation, groups).
///
/// `y[n, o, oy, ox] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x[n, c, oy·s + i − p, ox·s + j − p]`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// let tape = Tape::new();
/// // a 3×3 image and a 2×2 kernel of ones: sums of 2×2 windows
/// let x = tape.var(Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3])?);
/// let w = tape.var(Tensor::ones(&[1, 1, 2, 2]));
/// let y = nn::ops::conv2d(x, w, None, 1, 0)?;
/// assert_eq!(y.value().data(), &[12.0, 16.0, 24.0, 28.0]);
/// // ∂Σy/∂x counts how many windows cover each pixel
/// let g = y.sum()?.backward()?;
/// assert_eq!(g.wrt(x)?.data(), &[1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming `conv2d` and the
/// shapes (see [`ConvGeometry::new`](super::ConvGeometry::new)); a bias that
/// is not `[o]`.
#[track_caller]
pub fn conv2d<'t, T: Float>(
    x: Var<'t, T>,
    weight: Var<'t, T>,
    bias: Option<Var<'t, T>>,
    stride: usize,
    padding: usize,
) -> Result<Var<'t, T>> {
    conv2d_with(
        x,
        weight,
        bias,
        ConvOptions::default().stride(stride).padding(padding),
    )
}

/// 2-D convolution with PyTorch's settings ([`ConvOptions`]: stride,
/// padding and dilation per direction, groups) of `x: [n, c, h, w]` with
/// `weight: [o, c/groups, kh, kw]` and an optional `bias: [o]`:
///
/// `y[n, o, oy, ox] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x[n, g·C + c, oy·sh + i·dh − ph, ox·sw + j·dw − pw]`
///
/// where output channel `o` belongs to group `g = o / (o_total/groups)` and
/// `C = c_total/groups`. Gradients are exact and differentiable again.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::ops::{conv2d_with, ConvOptions};
/// let tape = Tape::new();
/// // depthwise: each of two channels convolved with its own 1×2 kernel
/// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0], &[1, 2, 1, 3])?);
/// let w = tape.var(Tensor::from_vec(vec![1.0, 1.0, 1.0, -1.0], &[2, 1, 1, 2])?);
/// let y = conv2d_with(x, w, None, ConvOptions::default().groups(2))?;
/// assert_eq!(y.value().data(), &[3.0, 5.0, -10.0, -10.0]);
/// // dilation 2 skips the middle pixel: x₀ + x₂
/// let w1 = tape.var(Tensor::ones(&[1, 1, 1, 2]));
/// let x1 = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 1, 1, 3])?);
/// let d = conv2d_with(x1, w1, None, ConvOptions::default().dilation(2))?;
/// assert_eq!(d.value().data(), &[4.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) naming `conv2d` and the
/// shapes (see [`ConvGeometry::with_options`](super::ConvGeometry::with_options));
/// a bias that is not `[o]`; all before anything is computed or recorded.
#[track_caller]
pub fn conv2d_with<'t, T: Float>(
    x: Var<'t, T>,
    weight: Var<'t, T>,
    bias: Option<Var<'t, T>>,
    options: ConvOptions,
) -> Result<Var<'t, T>> {
    let at = std::panic::Location::caller();
    // the shapes and the bias are checked before the convolution is
    // computed and recorded
    ConvGeometry::with_options(&x.shape(), &weight.shape(), &options).map_err(|e| e.at(at))?;
    let o = weight.shape().first().copied().unwrap_or(0);
    if let Some(b) = bias {
        if b.shape().as_slice() != [o] {
            return Err(autodiff::Error::shape(
                "conv2d",
                format!(
                    "bias of shape {} for {o} output channels (weight {}): expected [{o}]",
                    autodiff::shape::fmt_shape(&b.shape()),
                    autodiff::shape::fmt_shape(&weight.shape())
                ),
            )
            .at(at));
        }
    }
    let op = Conv2d {
        options,
        geometry: None,
        cols: None,
    };
    let y = x.tape().apply(op, &[x, weight])?;
    let Some(b) = bias else {
        return Ok(y);
    };
    // b broadcast over batch and positions: the backward sums ḡ over them
    y.add(b.reshape(&[1, o, 1, 1])?)
}
