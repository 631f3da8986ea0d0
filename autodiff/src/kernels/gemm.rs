//! Matrix products on row-major tensors through [`Float::gemm`].

use crate::float::Float;

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
    let (rsa, csa) = if trans_a {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (rsb, csb) = if trans_b {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    for i in 0..batch {
        let a_i = &a[i * a_batch_stride..];
        let b_i = &b[i * b_batch_stride..];
        T::gemm(
            m,
            k,
            n,
            a_i,
            rsa,
            csa,
            b_i,
            rsb,
            csb,
            &mut c[i * m * n..(i + 1) * m * n],
        );
    }
    c
}
