//! Matrix products too small to repay a blocked kernel: plain loops.
//!
//! The `gemm` crate packs its operands into scratch buffers it allocates
//! and zeroes on every call; for the products of the lecture note's
//! Playground network (10×2 by 2×8, 10×8 by 8×8, …) that setup costs more
//! than the arithmetic, and the zeroed scratch evicts the step's other data
//! from the cache. Up to [`MAX_MULADDS`] multiply-adds, [`multiply`]
//! computes `C = A·B` directly, in tiles of up to 4 rows × 8 columns of C
//! held in registers while the sum over `p` runs. Every element is the sum
//! `((A[i,0]·B[0,j] + A[i,1]·B[1,j]) + …)` in the order of `p`, whatever
//! the operands' strides.

use super::gemm::View;
use crate::float::Float;

/// Products of at most this many multiply-adds (m·k·n) take the plain
/// loops. Measured on the workloads of `bench/WORKLOADS.md`: with it, the
/// W1 step (all of whose products have at most 640) took 6.9 µs instead of
/// 7.9; alone (`cargo bench --bench kernels`, `small_gemm/…`) the loops win
/// up to 10×8×8 and the blocked kernel from 12×12×12 on.
pub(crate) const MAX_MULADDS: usize = 1024;

/// `c` (row-major `a.rows × b.cols`, overwritten) = `A·B`.
///
/// The caller has checked that `a.cols == b.rows`, that every element of
/// both operands lies inside its slice and that `c` holds `a.rows·b.cols`
/// elements; the slices' own bounds checks still guard every access.
pub(crate) fn multiply<T: Float>(a: View<'_, T>, b: View<'_, T>, c: &mut [T]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    debug_assert!(a.cols == b.rows && c.len() == m * n);
    if k == 0 {
        c.fill(T::zero());
        return;
    }
    if m == 0 || n == 0 {
        return;
    }
    // B with contiguous rows: as stored, or copied so (a transposed B, as
    // in x·Wᵀ, reads its rows with a stride)
    let copied: Vec<T>;
    let (b_rows, b_row_stride) = if b.col_stride == 1 || n == 1 {
        (b.data, b.row_stride)
    } else {
        let mut rows = Vec::with_capacity(k * n);
        for p in 0..k {
            rows.extend((0..n).map(|j| b.at(p, j)));
        }
        copied = rows;
        (&copied[..], n)
    };
    // tiles of up to 4 rows × 8 columns of C, each held in accumulators
    // the compiler keeps in registers for the whole sum over p
    let mut i0 = 0;
    while i0 < m {
        let rows = if m - i0 >= 4 { 4 } else { 1 };
        let mut j0 = 0;
        while j0 < n {
            let cols = match n - j0 {
                8.. => 8,
                4.. => 4,
                2.. => 2,
                _ => 1,
            };
            let at = Tile {
                i0,
                j0,
                b_rows,
                b_row_stride,
                n,
            };
            match (rows, cols) {
                (4, 8) => at.compute::<4, 8>(&a, c),
                (4, 4) => at.compute::<4, 4>(&a, c),
                (4, 2) => at.compute::<4, 2>(&a, c),
                (4, _) => at.compute::<4, 1>(&a, c),
                (_, 8) => at.compute::<1, 8>(&a, c),
                (_, 4) => at.compute::<1, 4>(&a, c),
                (_, 2) => at.compute::<1, 2>(&a, c),
                _ => at.compute::<1, 1>(&a, c),
            }
            j0 += cols;
        }
        i0 += rows;
    }
}

/// Where a tile of C lies, and B's contiguous rows.
struct Tile<'b, T> {
    i0: usize,
    j0: usize,
    b_rows: &'b [T],
    b_row_stride: usize,
    /// C's row length.
    n: usize,
}

impl<T: Float> Tile<'_, T> {
    /// `C[i0 + r][j0 + w] = Σ_p A[i0 + r, p]·B[p, j0 + w]` for `r < R`,
    /// `w < W`, each summed in the order of `p`.
    #[inline(always)]
    fn compute<const R: usize, const W: usize>(&self, a: &View<'_, T>, c: &mut [T]) {
        let mut acc = [[T::zero(); W]; R];
        for p in 0..a.cols {
            let b_row: &[T; W] = self.b_rows[p * self.b_row_stride + self.j0..][..W]
                .try_into()
                .expect("a row of W elements");
            for (r, sums) in acc.iter_mut().enumerate() {
                let a_ip = a.at(self.i0 + r, p);
                for (s, &b_pj) in sums.iter_mut().zip(b_row) {
                    *s += a_ip * b_pj;
                }
            }
        }
        for (r, sums) in acc.iter().enumerate() {
            c[(self.i0 + r) * self.n + self.j0..][..W].copy_from_slice(sums);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product by the definition, C[i][j] = Σ_p A[i][p]·B[p][j].
    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn every_layout_equals_the_definition_bit_for_bit() {
        let (m, k, n) = (5, 3, 4);
        let a: Vec<f64> = (0..m * k).map(|v| (v as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|v| (v as f64 * 0.91).cos()).collect();
        let want = naive(&a, &b, m, k, n);
        // the same matrices stored transposed
        let at: Vec<f64> = (0..k * m).map(|v| a[(v % m) * k + v / m]).collect();
        let bt: Vec<f64> = (0..n * k).map(|v| b[(v % k) * n + v / k]).collect();
        let plain_a = View {
            data: &a,
            rows: m,
            cols: k,
            row_stride: k,
            col_stride: 1,
        };
        let trans_a = View {
            data: &at,
            rows: m,
            cols: k,
            row_stride: 1,
            col_stride: m,
        };
        let plain_b = View {
            data: &b,
            rows: k,
            cols: n,
            row_stride: n,
            col_stride: 1,
        };
        let trans_b = View {
            data: &bt,
            rows: k,
            cols: n,
            row_stride: 1,
            col_stride: k,
        };
        for (lhs, rhs) in [
            (plain_a, plain_b),
            (plain_a, trans_b),
            (trans_a, plain_b),
            (trans_a, trans_b),
        ] {
            let mut c = vec![f64::NAN; m * n];
            multiply(lhs, rhs, &mut c);
            assert_eq!(c, want);
        }
    }

    #[test]
    fn an_empty_inner_extent_gives_zeros() {
        let none: [f64; 0] = [];
        let a = View {
            data: &none,
            rows: 2,
            cols: 0,
            row_stride: 0,
            col_stride: 1,
        };
        let b = View {
            data: &none,
            rows: 0,
            cols: 3,
            row_stride: 3,
            col_stride: 1,
        };
        let mut c = vec![f64::NAN; 6];
        multiply(a, b, &mut c);
        assert_eq!(c, vec![0.0; 6]);
    }
}
