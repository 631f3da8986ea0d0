//! Matrix products on row-major tensors through the [`gemm`](https://docs.rs/gemm)
//! crate's kernels (AVX-512 or AVX2+FMA, chosen at run time), split across
//! threads (rayon) when a product is large enough to pay for it.
//!
//! Every extent is checked, in checked arithmetic, before the `unsafe` calls
//! into the kernel; a mismatch panics with a message naming the product
//! (these are internal kernels: the operations check shapes first and
//! return errors).
//!
//! Each output element is computed by one thread with the same summation
//! order as the single-threaded kernel, so results do not depend on the
//! number of threads (the bands keep the kernel's blocking of the whole
//! product; see the comments of the private `multiply`).

use super::split::for_each_part;

use crate::float::Float;

/// Products with fewer multiply-adds than this run on one thread.
///
/// When a parallel region cost a wake-up of rayon's sleeping worker (tens
/// of µs on the project's 2-core virtual machine; ~60,000 context switches
/// a second when W3 split every product above 2²¹), only products of
/// ~70 µs or more on one core paid: the bound was 2²⁴. Regions now run on
/// [`split`](super::split)'s team, whose caller takes a part itself and
/// whose helper is usually still spinning from the region before, so the
/// bound is 2²²: W2's second layer, 128×256×128 = 2²² multiply-adds, ran
/// in 99–103 µs on one thread or two before and in 52–57 µs on two after
/// (with the bands of columns below), with the W2 and W3 steps no slower
/// (README, "What each change bought").
pub const PARALLEL_MIN_MULADDS: usize = 1 << 22;

/// Bands are at least this many rows or columns wide (narrower ones cost
/// more in packing than they save).
const MIN_BAND: usize = 16;

/// The kernel takes a path of its own for products with both m and n at
/// most this (see [`multiply`]).
const SMALL_PATH: usize = 64;

/// One operand of a product: a row-major matrix of `rows × cols` elements
/// read with the given row and column strides from `data`.
#[derive(Clone, Copy)]
pub(super) struct View<'a, T> {
    pub(super) data: &'a [T],
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) row_stride: usize,
    pub(super) col_stride: usize,
}

impl<'a, T> View<'a, T> {
    /// The stored matrix `rows × cols` (row-major, contiguous), read
    /// transposed when `trans` is set.
    fn stored(data: &'a [T], rows: usize, cols: usize, trans: bool) -> Self {
        if trans {
            View {
                data,
                rows: cols,
                cols: rows,
                row_stride: 1,
                col_stride: cols,
            }
        } else {
            View {
                data,
                rows,
                cols,
                row_stride: cols,
                col_stride: 1,
            }
        }
    }

    /// Whether every element `(i, j)`, `i < rows`, `j < cols`, lies inside
    /// `data`, computed without overflow.
    pub(super) fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .and_then(|r| (self.cols - 1).checked_mul(self.col_stride).map(|c| (r, c)))
            .and_then(|(r, c)| r.checked_add(c));
        matches!(last, Some(l) if l < self.data.len())
            && isize::try_from(self.row_stride).is_ok()
            && isize::try_from(self.col_stride).is_ok()
    }

    /// Rows `r0..r0 + rows` (columns unchanged).
    fn rows(self, r0: usize, rows: usize) -> Self {
        View {
            data: &self.data[r0 * self.row_stride..],
            rows,
            ..self
        }
    }

    /// Columns `c0..c0 + cols` (rows unchanged).
    fn cols(self, c0: usize, cols: usize) -> Self {
        View {
            data: &self.data[c0 * self.col_stride..],
            cols,
            ..self
        }
    }
}

/// `batch` row-major matrices of `rows × cols` in `data`, each
/// `batch_stride` elements after the one before (0: one matrix for every
/// batch entry), used as stored or transposed: an operand of [`batched`].
///
/// ```
/// use autodiff::kernels::gemm::Matrices;
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let two = Matrices::stacked(&data, 1, 3); // two 1×3 matrices
/// assert_eq!((two.batch_stride, two.op_shape()), (3, (1, 3)));
/// let one_t = Matrices::shared(&data, 2, 3).t(); // one 2×3, used as 3×2
/// assert_eq!((one_t.batch_stride, one_t.op_shape()), (0, (3, 2)));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Matrices<'a, T> {
    /// The elements.
    pub data: &'a [T],
    /// Rows of each stored matrix.
    pub rows: usize,
    /// Columns of each stored matrix.
    pub cols: usize,
    /// Elements from one matrix to the next.
    pub batch_stride: usize,
    /// Whether the product uses each matrix transposed.
    pub transposed: bool,
}

impl<'a, T> Matrices<'a, T> {
    /// Consecutive `rows × cols` matrices (batch stride `rows·cols`).
    pub fn stacked(data: &'a [T], rows: usize, cols: usize) -> Self {
        Matrices {
            data,
            rows,
            cols,
            batch_stride: rows.saturating_mul(cols),
            transposed: false,
        }
    }

    /// One `rows × cols` matrix used for every batch entry.
    pub fn shared(data: &'a [T], rows: usize, cols: usize) -> Self {
        Matrices {
            batch_stride: 0,
            ..Self::stacked(data, rows, cols)
        }
    }

    /// The same matrices, used transposed (`cols × rows`).
    pub fn t(self) -> Self {
        Matrices {
            transposed: !self.transposed,
            ..self
        }
    }

    /// The extents of each matrix as the product uses it:
    /// `(cols, rows)` when transposed, else `(rows, cols)`.
    pub fn op_shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }
}

/// `C[i] = op(A[i]) · op(B[i])` for `i < batch`, `op` transposing the
/// operands marked so ([`Matrices::t`]); `C` is `batch` stacked
/// `m × n` matrices for `op(A)` of `m × k` and `op(B)` of `k × n`.
///
/// ```
/// use autodiff::kernels::gemm::{self, Matrices};
/// let (a, i) = ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 0.0, 1.0]);
/// // [1 2; 3 4] · I
/// let c = gemm::batched(1, Matrices::shared(&a, 2, 2), Matrices::shared(&i, 2, 2));
/// assert_eq!(c, vec![1.0, 2.0, 3.0, 4.0]);
/// // Aᵀ·A: [10 14; 14 20]
/// let ata = gemm::batched(1, Matrices::shared(&a, 2, 2).t(), Matrices::shared(&a, 2, 2));
/// assert_eq!(ata, vec![10.0, 14.0, 14.0, 20.0]);
/// ```
///
/// # Panics
/// When the inner extents differ, an operand is too short for `batch`
/// matrices of its extents and stride, or the output size overflows
/// `usize`.
pub fn batched<T: Float>(batch: usize, a: Matrices<'_, T>, b: Matrices<'_, T>) -> Vec<T> {
    let (m, n) = (a.op_shape().0, b.op_shape().1);
    let size = m
        .checked_mul(n)
        .and_then(|mn| mn.checked_mul(batch))
        .expect("gemm::batched: the output size overflows usize");
    let mut c = vec![T::zero(); size];
    batched_into(batch, a, b, &mut c);
    c
}

/// [`batched`] writing into `c` (`batch·m·n` elements, overwritten).
///
/// ```
/// use autodiff::kernels::gemm::{self, Matrices};
/// let mut c = [0.0; 4];
/// let (a, two_i) = ([1.0, 2.0, 3.0, 4.0], [2.0, 0.0, 0.0, 2.0]);
/// gemm::batched_into(1, Matrices::shared(&a, 2, 2), Matrices::shared(&two_i, 2, 2), &mut c);
/// assert_eq!(c, [2.0, 4.0, 6.0, 8.0]);
/// ```
///
/// # Panics
/// As [`batched`], and when `c` does not hold exactly `batch·m·n` elements.
pub fn batched_into<T: Float>(batch: usize, a: Matrices<'_, T>, b: Matrices<'_, T>, c: &mut [T]) {
    let ((m, k), (kb, n)) = (a.op_shape(), b.op_shape());
    assert!(
        k == kb,
        "gemm::batched: inner extents differ: {m}×{k} times {kb}×{n}"
    );
    multiply_batch(
        batch,
        m,
        k,
        n,
        a.data,
        a.batch_stride,
        a.transposed,
        b.data,
        b.batch_stride,
        b.transposed,
        c,
    );
}

/// The kernel behind [`batched_into`], on the operands' parts.
#[allow(clippy::too_many_arguments)]
fn multiply_batch<T: Float>(
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
    c: &mut [T],
) {
    let mn = m * n; // c.len() == batch·m·n below bounds this product
    assert!(
        batch.checked_mul(mn) == Some(c.len()) && m.checked_mul(n).is_some(),
        "gemm::batched: output of {} elements for {batch} products of {m}×{n}",
        c.len()
    );
    if mn == 0 {
        return;
    }
    let (a_rows, a_cols) = if trans_a { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if trans_b { (n, k) } else { (k, n) };
    for i in 0..batch {
        let a_at = i.checked_mul(a_batch_stride).filter(|&o| o <= a.len());
        let b_at = i.checked_mul(b_batch_stride).filter(|&o| o <= b.len());
        let (Some(a_at), Some(b_at)) = (a_at, b_at) else {
            panic!("gemm::batched: batch entry {i} starts past the end of an operand");
        };
        let lhs = View::stored(&a[a_at..], a_rows, a_cols, trans_a);
        let rhs = View::stored(&b[b_at..], b_rows, b_cols, trans_b);
        multiply(lhs, rhs, &mut c[i * mn..(i + 1) * mn]);
    }
}

/// `C = A·B` into `c` (row-major, `A.rows × B.cols`), on one thread or in
/// bands across the rayon pool.
///
/// The kernel blocks the k axis by a size that depends on k alone, except
/// for products with both m and n at most [`SMALL_PATH`], which take a path
/// of their own (and rows or columns of one element, which take a
/// matrix-vector path). A band keeps one dimension of the whole product and
/// is at least [`MIN_BAND`] wide in the other, so rows are split only when
/// n > 64, and columns only when m > 64 or each band of columns is wider
/// than 64: every band then takes the same path as the whole product, and
/// each element is summed in the same order whatever the number of threads.
///
/// Of the two, bands of rows are taken when m ≥ n, unless B is read
/// transposed (`x·Wᵀ`, a dense layer's forward): the kernel then repacks
/// B, every band of rows all of it and every band of columns only its
/// columns, so columns are split. (W2's 128×256×128 `x·Wᵀ` on two threads:
/// 66–70 µs in bands of rows, 52–57 µs in bands of columns.)
fn multiply<T: Float>(a: View<'_, T>, b: View<'_, T>, c: &mut [T]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        a.cols == b.rows && a.in_bounds() && b.in_bounds() && c.len() == m * n,
        "gemm: operands {}×{} and {}×{} do not fit their buffers ({}, {}) or an output of {}",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        a.data.len(),
        b.data.len(),
        c.len()
    );
    let work = m.saturating_mul(n).saturating_mul(k);
    if work <= super::small_gemm::MAX_MULADDS {
        return super::small_gemm::multiply(a, b, c);
    }
    let threads = rayon::current_num_threads();
    if threads < 2 || work < PARALLEL_MIN_MULADDS {
        return kernel(a, b, c, n);
    }
    let min_cols = if m > SMALL_PATH {
        MIN_BAND
    } else {
        SMALL_PATH + 1
    };
    let row_bands = if n > SMALL_PATH {
        threads.min(m / MIN_BAND)
    } else {
        1
    };
    let col_bands = threads.min(n / min_cols);
    // B read transposed (`x·Wᵀ`): the kernel repacks B, the whole of it for
    // every band of rows but only its own columns for a band of columns
    let b_transposed = b.row_stride == 1 && b.col_stride > 1;
    if row_bands >= 2 && (col_bands < 2 || (m >= n && !b_transposed)) {
        // bands of rows: disjoint, contiguous pieces of C
        let mut pieces = Vec::with_capacity(row_bands);
        let mut rest = c;
        for t in 0..row_bands {
            let (r0, r1) = (band(m, row_bands, t), band(m, row_bands, t + 1));
            let (piece, tail) = rest.split_at_mut((r1 - r0) * n);
            pieces.push((r0, r1 - r0, piece));
            rest = tail;
        }
        for_each_part(pieces, |(r0, rows, piece)| {
            kernel(a.rows(r0, rows), b, piece, n)
        });
    } else if col_bands >= 2 {
        // bands of columns, each written in place into its columns of C
        let out = OutPtr(c.as_mut_ptr());
        for_each_part((0..col_bands).collect(), |t| {
            let (j0, j1) = (band(n, col_bands, t), band(n, col_bands, t + 1));
            // SAFETY: `c` holds m·n elements (asserted above) and outlives
            // the parallel loop; band t writes exactly the elements (i, j)
            // with i < m and j0 ≤ j < j1, at i·n + j, and the bands' column
            // ranges are disjoint, so no element is written by two bands
            // and none is read. No reference to `c` is used meanwhile.
            unsafe { kernel_raw(a, b.cols(j0, j1 - j0), out.at(j0), n) };
        });
    } else {
        kernel(a, b, c, n);
    }
}

/// The output pointer shared by the bands of columns of one product.
#[derive(Clone, Copy)]
struct OutPtr<T>(*mut T);

impl<T> OutPtr<T> {
    /// The pointer `offset` elements on (taking `self` whole, so that a
    /// closure captures the `Send` wrapper rather than its raw field).
    ///
    /// # Safety
    /// As [`pointer::add`]: the result must stay inside the output.
    unsafe fn at(self, offset: usize) -> *mut T {
        // SAFETY: the caller keeps `offset` inside the output buffer.
        unsafe { self.0.add(offset) }
    }
}

// SAFETY: the bands write disjoint elements through it (see `multiply`).
unsafe impl<T: Send> Send for OutPtr<T> {}
// SAFETY: as above; the pointer itself is only copied.
unsafe impl<T: Send> Sync for OutPtr<T> {}

/// Where band `t` of `bands` balanced bands over `len` starts: every band
/// is `⌊len/bands⌋` or one more wide.
fn band(len: usize, bands: usize, t: usize) -> usize {
    // len·t fits: t ≤ bands ≤ threads, and len is a matrix extent
    len * t / bands
}

/// One product on this thread: `out` (row stride `ldc`) = `A·B`.
fn kernel<T: Float>(a: View<'_, T>, b: View<'_, T>, out: &mut [T], ldc: usize) {
    let (m, n) = (a.rows, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1)
            .checked_mul(ldc)
            .and_then(|x| x.checked_add(n))
            .is_some_and(|end| end <= out.len()),
        "gemm: a {m}×{n} output with row stride {ldc} does not fit {} elements",
        out.len()
    );
    // SAFETY: just checked: every (i, j), i < m, j < n, at i·ldc + j lies
    // inside `out`, which is borrowed mutably for the call.
    unsafe { kernel_raw(a, b, out.as_mut_ptr(), ldc) }
}

/// `A·B` written to the m×n elements `out + i·ldc + j`.
///
/// # Safety
/// Those elements must be valid for writes, and no other access to them
/// may happen during the call.
unsafe fn kernel_raw<T: Float>(a: View<'_, T>, b: View<'_, T>, out: *mut T, ldc: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        a.cols == b.rows
            && a.in_bounds()
            && b.in_bounds()
            && n <= ldc
            && isize::try_from(ldc).is_ok(),
        "gemm: a {m}×{k} by {k}×{n} product does not fit its buffers"
    );
    if k == 0 {
        for r in 0..m {
            for j in 0..n {
                // SAFETY: (r, j) is one of the elements the caller vouches for.
                unsafe { out.add(r * ldc + j).write(T::zero()) };
            }
        }
        return;
    }
    // The crate allocates its packing buffers aligned on every call.
    super::malloc_cache::fill_once_per_thread();
    // SAFETY: the assertion above proved, in checked arithmetic, that every
    // element (i, p) of A at i·rsa + p·csa and (p, j) of B at p·rsb + j·csb
    // lies inside its slice, and that the strides fit `isize`; the caller
    // vouches for the output elements (i, j) at i·ldc + j. `read_dst =
    // false`: the output is only written. `T` is f32 or f64 (`Float` is
    // sealed), which the crate dispatches on.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            ldc as isize,
            false,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
