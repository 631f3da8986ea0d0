//! Matrix products on row-major tensors through [`Float::gemm`], split
//! across threads (rayon) when a product is large enough to pay for it.
//!
//! Each output element is computed by one thread with the same summation
//! order as the single-threaded kernel, so results do not depend on the
//! number of threads.

use rayon::prelude::*;

use crate::float::Float;

/// Products with fewer multiply-adds than this run on one thread: below it
/// the cost of waking a second core exceeds the gain (measured on the W1,
/// W2 and W3 benches; a 128×256×256 product, 8.4 M, gains ~1.7× on 2 cores).
pub const PARALLEL_MIN_MULADDS: usize = 1 << 22;

/// `C[b] = op(A[b]) · op(B[b])` for `batch` stacked matrices, where `op`
/// transposes when the flag is set. `A[b]` is stored m×k (k×m when
/// `trans_a`), `B[b]` k×n (n×k when `trans_b`); a batch stride of 0 reuses
/// one matrix for every batch entry (broadcasting).
///
/// ```
/// use autodiff::kernels::gemm;
/// // [1 2; 3 4] · [1 0; 0 1], one batch entry, no transposes
/// let c = gemm::batched(1, 2, 2, 2, &[1.0, 2.0, 3.0, 4.0], 0, false, &[1.0, 0.0, 0.0, 1.0], 0, false);
/// assert_eq!(c, vec![1.0, 2.0, 3.0, 4.0]);
/// // Aᵀ·A for A = [1 2; 3 4] stored as is: [10 14; 14 20]
/// let a = [1.0, 2.0, 3.0, 4.0];
/// assert_eq!(gemm::batched(1, 2, 2, 2, &a, 0, true, &a, 0, false), vec![10.0, 14.0, 14.0, 20.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn batched<T: Float>(
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    a_batch_stride: usize,
    trans_a: bool,
    b: &[T],
    b_batch_stride: usize,
    trans_b: bool,
) -> Vec<T> {
    let mut c = vec![T::zero(); batch * m * n];
    let (rsa, csa) = if trans_a { (1, m) } else { (k, 1) };
    let (rsb, csb) = if trans_b { (1, k) } else { (n, 1) };
    for i in 0..batch {
        let operands = Operands {
            m,
            k,
            n,
            a: &a[i * a_batch_stride..],
            rsa,
            csa,
            b: &b[i * b_batch_stride..],
            rsb,
            csb,
        };
        operands.multiply(&mut c[i * m * n..(i + 1) * m * n]);
    }
    c
}

/// One product `A·B` with A m×k and B k×n given by their strides.
struct Operands<'a, T> {
    m: usize,
    k: usize,
    n: usize,
    a: &'a [T],
    rsa: usize,
    csa: usize,
    b: &'a [T],
    rsb: usize,
    csb: usize,
}

impl<T: Float> Operands<'_, T> {
    /// Writes the product into `c` (m×n, row-major).
    fn multiply(&self, c: &mut [T]) {
        let threads = rayon::current_num_threads();
        if threads < 2 || self.m * self.n * self.k < PARALLEL_MIN_MULADDS {
            self.block(0, self.m, 0, self.n, c, self.n);
        } else if self.m >= self.n {
            // bands of rows: disjoint, contiguous pieces of C
            let rows = self.m.div_ceil(threads);
            c.par_chunks_mut(rows * self.n)
                .enumerate()
                .for_each(|(t, band)| {
                    let r0 = t * rows;
                    self.block(r0, band.len() / self.n, 0, self.n, band, self.n);
                });
        } else {
            // bands of columns, computed apart and copied into place
            let cols = self.n.div_ceil(threads);
            let bands: Vec<(usize, Vec<T>)> = (0..self.n.div_ceil(cols))
                .into_par_iter()
                .map(|t| {
                    let (j0, width) = (t * cols, cols.min(self.n - t * cols));
                    let mut band = vec![T::zero(); self.m * width];
                    self.block(0, self.m, j0, width, &mut band, width);
                    (j0, band)
                })
                .collect();
            for (j0, band) in bands {
                let width = band.len() / self.m;
                for r in 0..self.m {
                    c[r * self.n + j0..r * self.n + j0 + width]
                        .copy_from_slice(&band[r * width..(r + 1) * width]);
                }
            }
        }
    }

    /// Rows `r0..r0 + rows` and columns `j0..j0 + cols` of the product into
    /// `out`, a row-major buffer with row length `ld == cols` (the kernel
    /// writes rows of `cols` elements, `ld` apart).
    fn block(&self, r0: usize, rows: usize, j0: usize, cols: usize, out: &mut [T], ld: usize) {
        debug_assert_eq!(ld, cols);
        T::gemm(
            rows,
            self.k,
            cols,
            &self.a[r0 * self.rsa..],
            self.rsa as isize,
            self.csa as isize,
            &self.b[j0 * self.csb..],
            self.rsb as isize,
            self.csb as isize,
            out,
        );
    }
}
