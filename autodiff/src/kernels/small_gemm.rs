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
/// # Panics
/// When `a.cols != b.rows`, an element of either operand lies outside its
/// slice, or `c` does not hold `a.rows·b.cols` elements (the caller has
/// checked all three; the tiles read without bounds checks, so they are
/// asserted again here).
pub(crate) fn multiply<T: Float>(a: View<'_, T>, b: View<'_, T>, c: &mut [T]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        a.cols == b.rows && c.len() == m * n && a.in_bounds() && b.in_bounds(),
        "small_gemm: {m}×{k} ({} elements) times {}×{n} ({}) into {}",
        a.data.len(),
        b.rows,
        b.data.len(),
        c.len()
    );
    if k == 0 {
        c.fill(T::zero());
        return;
    }
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the one feature the function enables.
        unsafe { tiles_avx2(&a, &b, c) };
        return;
    }
    tiles_for_layout(&a, &b, c);
}

/// [`tiles_for_layout`] compiled for AVX2: the same multiplications and
/// additions (no fused multiply-add) in 256-bit registers, so the same
/// bits as the baseline build on every CPU.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn tiles_avx2<T: Float>(a: &View<'_, T>, b: &View<'_, T>, c: &mut [T]) {
    tiles_for_layout(a, b, c);
}

/// B's rows contiguous (as stored) or strided (a transposed B, as W in
/// x·Wᵀ): two versions of every tile, so that the first loads a row of B
/// as one vector.
#[inline(always)]
fn tiles_for_layout<T: Float>(a: &View<'_, T>, b: &View<'_, T>, c: &mut [T]) {
    if b.col_stride == 1 || b.cols == 1 {
        tiles::<T, true>(a, b, c);
    } else {
        tiles::<T, false>(a, b, c);
    }
}

/// C in tiles of 4, 2 or 1 rows × 8, 4, 2 or 1 columns, each held in
/// accumulators the compiler keeps in registers for the whole sum over p.
/// `B_ROWS_CONTIGUOUS`: B's column stride is 1 (or B has one column).
#[inline(always)]
fn tiles<T: Float, const B_ROWS_CONTIGUOUS: bool>(a: &View<'_, T>, b: &View<'_, T>, c: &mut [T]) {
    let (m, n) = (a.rows, b.cols);
    let mut i0 = 0;
    while i0 < m {
        let rows = match m - i0 {
            4.. => 4,
            2.. => 2,
            _ => 1,
        };
        let mut j0 = 0;
        while j0 < n {
            let cols = match n - j0 {
                8.. => 8,
                4.. => 4,
                2.. => 2,
                _ => 1,
            };
            let at = Tile { i0, j0, a, b };
            match (rows, cols) {
                (4, 8) => at.compute::<4, 8, B_ROWS_CONTIGUOUS>(c),
                (4, 4) => at.compute::<4, 4, B_ROWS_CONTIGUOUS>(c),
                (4, 2) => at.compute::<4, 2, B_ROWS_CONTIGUOUS>(c),
                (4, _) => at.compute::<4, 1, B_ROWS_CONTIGUOUS>(c),
                (2, 8) => at.compute::<2, 8, B_ROWS_CONTIGUOUS>(c),
                (2, 4) => at.compute::<2, 4, B_ROWS_CONTIGUOUS>(c),
                (2, 2) => at.compute::<2, 2, B_ROWS_CONTIGUOUS>(c),
                (2, _) => at.compute::<2, 1, B_ROWS_CONTIGUOUS>(c),
                (_, 8) => at.compute::<1, 8, B_ROWS_CONTIGUOUS>(c),
                (_, 4) => at.compute::<1, 4, B_ROWS_CONTIGUOUS>(c),
                (_, 2) => at.compute::<1, 2, B_ROWS_CONTIGUOUS>(c),
                _ => at.compute::<1, 1, B_ROWS_CONTIGUOUS>(c),
            }
            j0 += cols;
        }
        i0 += rows;
    }
}

/// Where a tile of C lies, and the two operands.
struct Tile<'v, 'o, T> {
    i0: usize,
    j0: usize,
    a: &'v View<'o, T>,
    b: &'v View<'o, T>,
}

impl<T: Float> Tile<'_, '_, T> {
    /// `C[i0 + r][j0 + w] = Σ_p A[i0 + r, p]·B[p, j0 + w]` for `r < R`,
    /// `w < W`, each summed in the order of `p`.
    ///
    /// The tile lies inside C (`i0 + R ≤ m`, `j0 + W ≤ n`), and `multiply`
    /// has asserted that every element of both operands lies inside its
    /// slice (`View::in_bounds`).
    #[inline(always)]
    fn compute<const R: usize, const W: usize, const B_ROWS_CONTIGUOUS: bool>(&self, c: &mut [T]) {
        let (a, b) = (self.a, self.b);
        let mut acc = [[T::zero(); W]; R];
        for p in 0..a.cols {
            let b_at = p * b.row_stride + self.j0 * b.col_stride;
            let b_row: [T; W] = if B_ROWS_CONTIGUOUS {
                // SAFETY: elements (p, j0..j0 + W) of B, p < k and
                // j0 + W ≤ n, at stride 1: inside `b.data` by `in_bounds`.
                let row = unsafe { b.data.get_unchecked(b_at..b_at + W) };
                std::array::from_fn(|w| row[w])
            } else {
                // SAFETY: as above, at B's column stride.
                std::array::from_fn(|w| unsafe { *b.data.get_unchecked(b_at + w * b.col_stride) })
            };
            for (r, sums) in acc.iter_mut().enumerate() {
                // SAFETY: element (i0 + r, p) of A, i0 + r < m and p < k:
                // inside `a.data` by `in_bounds`.
                let a_ip = unsafe {
                    *a.data
                        .get_unchecked((self.i0 + r) * a.row_stride + p * a.col_stride)
                };
                for (s, &b_pj) in sums.iter_mut().zip(&b_row) {
                    *s += a_ip * b_pj;
                }
            }
        }
        let n = b.cols;
        for (r, sums) in acc.iter().enumerate() {
            c[(self.i0 + r) * n + self.j0..][..W].copy_from_slice(sums);
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
        // 7 rows: tiles of 4, 2 and 1; 15 columns: tiles of 8, 4, 2 and 1
        for (m, k, n) in [(5, 3, 4), (7, 3, 15), (1, 9, 1), (2, 1, 9)] {
            every_layout_at(m, k, n);
        }
    }

    fn every_layout_at(m: usize, k: usize, n: usize) {
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
            assert_eq!(c, want, "{m}×{k} times {k}×{n}");
            // the baseline build too, which `multiply` skips on AVX2 CPUs
            let mut c = vec![f64::NAN; m * n];
            tiles_for_layout(&lhs, &rhs, &mut c);
            assert_eq!(c, want, "{m}×{k} times {k}×{n}, baseline");
        }
    }

    /// The tiles read without bounds checks: an operand whose last element
    /// lies past its slice must be refused before any read.
    #[test]
    #[should_panic(expected = "small_gemm: 3×2 (5 elements)")]
    fn an_operand_shorter_than_its_extents_is_refused() {
        let (short, b) = ([1.0f32; 5], [1.0f32; 4]);
        let a = View {
            data: &short,
            rows: 3,
            cols: 2,
            row_stride: 2,
            col_stride: 1,
        };
        let b = View {
            data: &b,
            rows: 2,
            cols: 2,
            row_stride: 2,
            col_stride: 1,
        };
        multiply(a, b, &mut [0.0; 6]);
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
