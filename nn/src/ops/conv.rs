//! 2-D convolution (cross-correlation, as in PyTorch) through im2col and
//! GEMM, with its two adjoints as operations of their own.
//!
//! For `y = conv(x, W)` — `y[n, o, oy, ox] = Σ_{c,i,j} W[o, c, i, j] ·
//! x[n, c, oy·s + i − p, ox·s + j − p]` — and an upstream gradient `ḡ`:
//!
//! - `∂L/∂x = convᵀ_x(ḡ, W)`: per sample, col2im(Wᵀ·ḡₙ) ([`InputGrad`]);
//! - `∂L/∂W = convᵀ_W(x, ḡ)`: `Σₙ ḡₙ · im2col(xₙ)ᵀ` ([`WeightGrad`]).
//!
//! All three are bilinear, and `⟨ḡ, conv(x, W)⟩ = ⟨convᵀ_x(ḡ, W), x⟩ =
//! ⟨convᵀ_W(x, ḡ), W⟩`, so each one's backward rule is made of the other
//! two: convolution is differentiable to any order.

use autodiff::kernels::gemm;
use autodiff::smallvec::smallvec;
use autodiff::{BackwardCtx, Float, InputGrads, Op, Result, Tensor, Var};

use super::geometry::ConvGeometry;

/// `conv2d(x, W)` without bias.
struct Conv2d {
    stride: usize,
    padding: usize,
    geometry: Option<ConvGeometry>,
}

/// `∂L/∂x` of a convolution: `(ḡ, W) ↦ convᵀ_x(ḡ, W)`, of the input's shape.
struct InputGrad {
    geometry: ConvGeometry,
}

/// `∂L/∂W` of a convolution: `(x, ḡ) ↦ convᵀ_W(x, ḡ)`, of the weight's shape.
struct WeightGrad {
    geometry: ConvGeometry,
}

impl<T: Float> Op<T> for Conv2d {
    fn name(&self) -> &str {
        "conv2d"
    }

    fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (x, w) = (inputs[0], inputs[1]);
        let g = ConvGeometry::new(x.shape(), w.shape(), self.stride, self.padding)?;
        self.geometry = Some(g);
        let (patch, positions) = (g.patch(), g.positions());
        let sample_in = g.c * g.h * g.w;
        let sample_out = g.o * positions;
        let mut y = Vec::with_capacity(g.n * sample_out);
        let mut cols = Vec::new();
        for n in 0..g.n {
            g.im2col(&x.data()[n * sample_in..(n + 1) * sample_in], &mut cols);
            // yₙ [o, positions] = W [o, patch] · cols [patch, positions]
            y.extend(gemm::batched(
                1,
                g.o,
                patch,
                positions,
                w.data(),
                0,
                false,
                &cols,
                0,
                false,
            ));
        }
        Tensor::from_vec(y, &g.output_shape())
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
            Some(tape.apply(WeightGrad { geometry }, &[x, grad])?)
        } else {
            None
        };
        Ok(smallvec![dx, dw])
    }
}

impl<T: Float> Op<T> for InputGrad {
    fn name(&self) -> &str {
        "conv2d_input_grad"
    }

    fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (g, w) = (inputs[0], inputs[1]);
        let geo = self.geometry;
        let (patch, positions) = (geo.patch(), geo.positions());
        let sample_in = geo.c * geo.h * geo.w;
        let mut dx = vec![T::zero(); geo.n * sample_in];
        for n in 0..geo.n {
            let gn = &g.data()[n * geo.o * positions..(n + 1) * geo.o * positions];
            // cols [patch, positions] = Wᵀ [patch, o] · ḡₙ [o, positions]
            let cols = gemm::batched(1, patch, geo.o, positions, w.data(), 0, true, gn, 0, false);
            geo.col2im_add(&cols, &mut dx[n * sample_in..(n + 1) * sample_in]);
        }
        Tensor::from_vec(dx, &geo.input_shape())
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, h: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        // ⟨convᵀ_x(ḡ, W), h⟩ = ⟨ḡ, conv(h, W)⟩ = ⟨convᵀ_W(h, ḡ), W⟩
        let (g, w) = (ctx.input(0), ctx.input(1));
        let geo = self.geometry;
        let tape = h.tape();
        let dg = if ctx.needs_grad(0) {
            Some(conv2d(h, w, None, geo.stride, geo.padding)?)
        } else {
            None
        };
        let dw = if ctx.needs_grad(1) {
            Some(tape.apply(WeightGrad { geometry: geo }, &[h, g])?)
        } else {
            None
        };
        Ok(smallvec![dg, dw])
    }
}

impl<T: Float> Op<T> for WeightGrad {
    fn name(&self) -> &str {
        "conv2d_weight_grad"
    }

    fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (x, g) = (inputs[0], inputs[1]);
        let geo = self.geometry;
        let (patch, positions) = (geo.patch(), geo.positions());
        let sample_in = geo.c * geo.h * geo.w;
        let mut dw = vec![T::zero(); geo.o * patch];
        let mut cols = Vec::new();
        for n in 0..geo.n {
            geo.im2col(&x.data()[n * sample_in..(n + 1) * sample_in], &mut cols);
            let gn = &g.data()[n * geo.o * positions..(n + 1) * geo.o * positions];
            // dW [o, patch] += ḡₙ [o, positions] · colsᵀ [positions, patch]
            let part = gemm::batched(1, geo.o, positions, patch, gn, 0, false, &cols, 0, true);
            for (d, p) in dw.iter_mut().zip(part) {
                *d += p;
            }
        }
        Tensor::from_vec(dw, &geo.weight_shape())
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
            Some(conv2d(x, k, None, geo.stride, geo.padding)?)
        } else {
            None
        };
        Ok(smallvec![dx, dg])
    }
}

/// 2-D convolution (cross-correlation) of `x: [n, c, h, w]` with
/// `weight: [o, c, kh, kw]` and an optional `bias: [o]`, stride and zero
/// padding on every side; the output is `[n, o, ho, wo]`,
/// `ho = (h + 2·padding − kh)/stride + 1`.
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
    let op = Conv2d {
        stride,
        padding,
        geometry: None,
    };
    let y = x.tape().apply(op, &[x, weight])?;
    let Some(b) = bias else {
        return Ok(y);
    };
    let o = weight.shape()[0];
    if b.shape().as_slice() != [o] {
        return Err(autodiff::Error::shape(
            "conv2d",
            format!(
                "bias of shape {} for {o} output channels",
                autodiff::shape::fmt_shape(&b.shape())
            ),
        ));
    }
    // b broadcast over batch and positions: the backward sums ḡ over them
    y.add(b.reshape(&[1, o, 1, 1])?)
}
