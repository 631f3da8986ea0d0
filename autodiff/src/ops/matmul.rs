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

impl Matmul {
    /// `op(A)·op(B)` of two 2-D operands whose inner extents agree and
    /// whose product is not too large for a tensor, the common case, with no more
    /// checks than that; `None` for every other case, which
    /// [`Op::forward`] handles (and reports) in full. The same kernel call
    /// as the general path, so the same bits.
    #[inline]
    fn product_2d<T: Float>(&self, a: &Tensor<T>, b: &Tensor<T>) -> Option<Tensor<T>> {
        let (&[ra, ca], &[rb, cb]) = (a.shape(), b.shape()) else {
            return None;
        };
        let (m, k) = if self.trans_a { (ca, ra) } else { (ra, ca) };
        let (k2, n) = if self.trans_b { (cb, rb) } else { (rb, cb) };
        if k != k2 || crate::shape::checked_numel("matmul", &[m, n]).is_err() {
            return None;
        }
        let mut out = Tensor::for_overwrite(&[m, n]);
        let operand = |data, rows, cols, transposed: bool| {
            let m = Matrices::shared(data, rows, cols);
            if transposed {
                m.t()
            } else {
                m
            }
        };
        gemm::batched_into(
            1,
            operand(a.data(), ra, ca, self.trans_a),
            operand(b.data(), rb, cb, self.trans_b),
            out.data_mut(),
        );
        Some(out)
    }
}

impl<T: Float> Op<T> for Matmul {
    fn name(&self) -> &str {
        "matmul"
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (a, b) = (x[0], x[1]);
        if let Some(c) = self.product_2d(a, b) {
            return Ok(c);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `op(A)·op(B)` by the definition, in f64: `c_ij = Σ_l op(A)_il·op(B)_lj`.
    fn by_definition(a: &Tensor<f32>, ta: bool, b: &Tensor<f32>, tb: bool) -> Vec<f64> {
        let (&[ra, ca], &[rb, cb]) = (a.shape(), b.shape()) else {
            panic!("2-D operands");
        };
        let at = |i: usize, l: usize| {
            f64::from(if ta {
                a.data()[l * ca + i]
            } else {
                a.data()[i * ca + l]
            })
        };
        let bt = |l: usize, j: usize| {
            f64::from(if tb {
                b.data()[j * cb + l]
            } else {
                b.data()[l * cb + j]
            })
        };
        let (m, k) = if ta { (ca, ra) } else { (ra, ca) };
        let n = if tb { rb } else { cb };
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| at(i, l) * bt(l, j)).sum();
            }
        }
        c
    }

    #[test]
    fn the_two_dimensional_path_gives_the_general_paths_bits() {
        // (m, k, n): the tiny kernel, the crate's small path, and a product
        // large enough to be split across threads
        for (s, &(m, k, n)) in [(3, 5, 2), (37, 20, 70), (130, 300, 128)]
            .iter()
            .enumerate()
        {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a_shape = if ta { [k, m] } else { [m, k] };
                let b_shape = if tb { [n, k] } else { [k, n] };
                let a = Tensor::<f32>::rand_normal(&a_shape, 0.0, 1.0, 10 + s as u64);
                let b = Tensor::<f32>::rand_normal(&b_shape, 0.0, 1.0, 20 + s as u64);
                let mut op = Matmul {
                    trans_a: ta,
                    trans_b: tb,
                };
                let fast = op.forward(&[&a, &b]).expect("2-D product");
                // a batch of one goes through the general path
                let a3 = a.reshape(&[1, a_shape[0], a_shape[1]]).expect("same size");
                let b3 = b.reshape(&[1, b_shape[0], b_shape[1]]).expect("same size");
                let general = op.forward(&[&a3, &b3]).expect("batched product");
                assert_eq!(fast.shape(), &[m, n]);
                assert_eq!(general.shape(), &[1, m, n]);
                assert!(
                    fast.data()
                        .iter()
                        .zip(general.data())
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{m}×{k}×{n}, transposed {ta}/{tb}: the paths differ"
                );
                for (x, want) in fast.data().iter().zip(by_definition(&a, ta, &b, tb)) {
                    assert!(
                        (f64::from(*x) - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "{x} against {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn mismatched_two_dimensional_operands_still_get_the_full_error() {
        let (a, b) = (Tensor::<f32>::zeros(&[2, 3]), Tensor::<f32>::zeros(&[2, 3]));
        let mut op = Matmul {
            trans_a: false,
            trans_b: false,
        };
        let err = op.forward(&[&a, &b]).unwrap_err().to_string();
        assert!(
            err.starts_with("matmul: [2, 3] x [2, 3]: inner dimensions 3 and 2 differ"),
            "{err}"
        );
        // the same operands, B used transposed, fit
        op.trans_b = true;
        assert_eq!(op.forward(&[&a, &b]).expect("2×3 · 3×2").shape(), &[2, 2]);
    }
}
