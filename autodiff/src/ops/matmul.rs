//! Matrix products, 2-D and batched 3-D, through the GEMM kernel.
//!
//! `C = op(A)·op(B)` where `op` optionally transposes the last two axes
//! without copying. For `C = A·B`:
//! `∂L/∂A = ḡ·Bᵀ` and `∂L/∂B = Aᵀ·ḡ`; with transposes the same identities
//! are rearranged so that the backward rule is again a product with flags,
//! which keeps it differentiable (for Hessians) and copy-free.
//!
//! Shapes: `[m, k]·[k, n] → [m, n]`; `[b, m, k]·[b, k, n] → [b, m, n]`;
//! a 2-D operand against a 3-D one is used for every batch entry (and its
//! gradient is summed over the batch).

use std::panic::Location;

use smallvec::smallvec;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::kernels::gemm::{self, Matrices};
use crate::kernels::reduce;
use crate::shape::{fmt_shape, Shape};
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
use crate::tape::Var;
use crate::tensor::Tensor;

/// `op(A)·op(B)`, `op` being a transpose of the last two axes where the
/// flag is set.
pub(super) struct Matmul {
    pub(super) trans_a: bool,
    pub(super) trans_b: bool,
}

/// The batch size (`None` for a 2-D operand) and matrix extents of one
/// operand, as stored.
fn dims(shape: &[usize]) -> Option<(Option<usize>, usize, usize)> {
    match *shape {
        [r, c] => Some((None, r, c)),
        [b, r, c] => Some((Some(b), r, c)),
        _ => None,
    }
}

impl<T: Float> Op<T> for Matmul {
    fn name(&self) -> &str {
        "matmul"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (a, b) = (x[0], x[1]);
        let shapes = || format!("{} x {}", fmt_shape(a.shape()), fmt_shape(b.shape()));
        let (Some((ba, ra, ca)), Some((bb, rb, cb))) = (dims(a.shape()), dims(b.shape())) else {
            return Err(Error::shape(
                "matmul",
                format!("{}: operands must be 2-D or 3-D", shapes()),
            ));
        };
        let (m, k) = if self.trans_a { (ca, ra) } else { (ra, ca) };
        let (k2, n) = if self.trans_b { (cb, rb) } else { (rb, cb) };
        if k != k2 {
            return Err(Error::shape(
                "matmul",
                format!("{}: inner dimensions {k} and {k2} differ", shapes()),
            ));
        }
        let batch = match (ba, bb) {
            (Some(x), Some(y)) if x != y => {
                return Err(Error::shape(
                    "matmul",
                    format!("{}: batch sizes {x} and {y} differ", shapes()),
                ))
            }
            (Some(x), _) | (None, Some(x)) => x,
            (None, None) => 1,
        };
        // a 2-D operand is reused for every batch entry (stride 0)
        let shape: Shape = if ba.is_none() && bb.is_none() {
            smallvec![m, n]
        } else {
            smallvec![batch, m, n]
        };
        crate::shape::checked_numel("matmul", &shape)?;
        let mut out = Tensor::for_overwrite(&shape);
        let operand = |data, batched: Option<usize>, rows, cols, transposed: bool| {
            let m = match batched {
                Some(_) => Matrices::stacked(data, rows, cols),
                None => Matrices::shared(data, rows, cols),
            };
            if transposed {
                m.t()
            } else {
                m
            }
        };
        gemm::batched_into(
            batch,
            operand(a.data(), ba, ra, ca, self.trans_a),
            operand(b.data(), bb, rb, cb, self.trans_b),
            out.data_mut(),
        );
        Ok(out)
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let (ta, tb) = (self.trans_a, self.trans_b);
        let ga = if ctx.needs_grad(0) {
            // A not transposed: ∂A = ḡ·op(B)ᵀ; transposed: ∂A = op(B)·ḡᵀ
            let d = if ta {
                b.matmul_t(g, tb, true)?
            } else {
                g.matmul_t(b, false, !tb)?
            };
            Some(d.sum_to(&a.shape())?)
        } else {
            None
        };
        let gb = if ctx.needs_grad(1) {
            // B not transposed: ∂B = op(A)ᵀ·ḡ; transposed: ∂B = ḡᵀ·op(A)
            let d = if tb {
                g.matmul_t(a, true, ta)?
            } else {
                a.matmul_t(g, !ta, false)?
            };
            Some(d.sum_to(&b.shape())?)
        } else {
            None
        };
        Ok(smallvec![ga, gb])
    }

    /// The same products as [`Op::backward`], computed directly.
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let need = [ctx.needs_grad(0), ctx.needs_grad(1)];
        let grads = product_input_grads(ctx.input(0), ctx.input(1), self, g, need);
        Some(grads.map(|[ga, gb]| smallvec![ga, gb]))
    }
}

/// The input gradients of `C = op(A)·op(B)` for the upstream gradient `g`
/// (the products of [`Op::backward`], computed directly), each only where
/// `need` asks for it. The two products are independent: they run on two
/// threads when both are needed and each is large enough (each has the
/// forward's m·k·n multiply-adds); either way each is computed as on one
/// thread, so the bits do not depend on the thread count.
pub(super) fn product_input_grads<T: Float>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    flags: &Matmul,
    g: &Tensor<T>,
    need: [bool; 2],
) -> Result<[Option<Tensor<T>>; 2]> {
    let (ta, tb) = (flags.trans_a, flags.trans_b);
    let product = |x: &Tensor<T>, y: &Tensor<T>, trans_a, trans_b| {
        Matmul { trans_a, trans_b }.forward(&[x, y])
    };
    let ga = || -> Result<Option<Tensor<T>>> {
        if !need[0] {
            return Ok(None);
        }
        let d = if ta {
            product(b, g, tb, true)?
        } else {
            product(g, b, false, !tb)?
        };
        Ok(Some(reduce::sum_to_owned(d, a.shape())))
    };
    let gb = || -> Result<Option<Tensor<T>>> {
        if !need[1] {
            return Ok(None);
        }
        let d = if tb {
            product(g, a, true, ta)?
        } else {
            product(a, g, !ta, false)?
        };
        Ok(Some(reduce::sum_to_owned(d, b.shape())))
    };
    let (ga, gb) = if need[0]
        && need[1]
        && rayon::current_num_threads() > 1
        && g.numel().saturating_mul(inner_extent(a, ta)) >= JOIN_MIN_MULADDS
    {
        crate::kernels::split::join(ga, gb)
    } else {
        (ga(), gb())
    };
    Ok([ga?, gb?])
}

/// Input gradients of products with fewer multiply-adds than this are
/// computed one after the other; larger ones on two threads at once
/// (`cargo bench --bench kernels`, `matmul_backward/…`).
const JOIN_MIN_MULADDS: usize = 1 << 21;

/// The inner extent k of `op(A)·op(B)` from A's stored shape.
fn inner_extent<T: Float>(a: &Tensor<T>, trans_a: bool) -> usize {
    let s = a.shape();
    match (s.len(), trans_a) {
        (0, _) => 0,
        (r, false) => s[r - 1],
        (r, true) => s[r.saturating_sub(2)],
    }
}

impl<'t, T: Float> Var<'t, T> {
    /// The matrix product `self · other`, 2-D or batched 3-D.
    ///
    /// `C = A·B`, `∂L/∂A = ḡ·Bᵀ`, `∂L/∂B = Aᵀ·ḡ`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let b = tape.constant(Tensor::eye(2));
    /// assert_eq!(a.matmul(b)?.value(), a.value());
    /// let err = a.matmul(tape.constant(Tensor::zeros(&[3, 1]))).unwrap_err();
    /// assert!(err.to_string().starts_with("matmul: [2, 2] x [3, 1]: inner dimensions 2 and 3 differ"));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when an operand is not
    /// 2-D or 3-D, the inner dimensions differ, or the batch sizes differ.
    #[track_caller]
    pub fn matmul(self, other: Var<'t, T>) -> Result<Self> {
        let op = Matmul {
            trans_a: false,
            trans_b: false,
        };
        self.tape.apply_at(op, &[self, other], Location::caller())
    }

    /// `op(self) · op(other)`, where `op` transposes the last two axes when
    /// its flag is set — without copying the operand.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?);
    /// let gram = a.matmul_t(a, false, true)?; // A·Aᵀ, no copy of Aᵀ
    /// assert_eq!(gram.value().data(), &[14.0, 32.0, 32.0, 77.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`matmul`](Var::matmul), for the transposed shapes.
    #[track_caller]
    pub fn matmul_t(self, other: Var<'t, T>, trans_self: bool, trans_other: bool) -> Result<Self> {
        let op = Matmul {
            trans_a: trans_self,
            trans_b: trans_other,
        };
        self.tape.apply_at(op, &[self, other], Location::caller())
    }
}
