//! The element types a [`Tensor`](crate::Tensor) can hold.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point element type: `f32` for speed, `f64` for gradient checks.
///
/// Beyond [`num_traits::Float`] it knows how to multiply matrices, so that
/// every GEMM goes through one well-kept kernel ([`matrixmultiply`]).
pub trait Float:
    num_traits::Float
    + Debug
    + Display
    + Default
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + approx::RelativeEq<Epsilon = Self>
    + 'static
{
    /// The name printed in messages: `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts an `f64` constant to this type (rounding for `f32`).
    fn of_f64(x: f64) -> Self;

    /// Widens to `f64` (exact for both types).
    fn as_f64(self) -> f64;

    /// `C = A·B` for row-major `A` (m×k), `B` (k×n) and `C` (m×n), all with unit
    /// column stride; `C` is overwritten.
    ///
    /// `rsa`, `rsb` and `rsc` are the row strides, `csa`, `csb` the column
    /// strides of `A` and `B`, so a transposed operand costs no copy.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        rsa: isize,
        csa: isize,
        b: &[Self],
        rsb: isize,
        csb: isize,
        c: &mut [Self],
    );
}

macro_rules! impl_float {
    ($t:ty, $name:literal, $gemm:path) => {
        impl Float for $t {
            const NAME: &'static str = $name;

            #[inline]
            fn of_f64(x: f64) -> Self {
                x as $t
            }

            #[inline]
            fn as_f64(self) -> f64 {
                self as f64
            }

            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                a: &[Self],
                rsa: isize,
                csa: isize,
                b: &[Self],
                rsb: isize,
                csb: isize,
                c: &mut [Self],
            ) {
                if m == 0 || n == 0 {
                    return;
                }
                assert!(c.len() >= m * n, "gemm: output buffer too small");
                if k == 0 {
                    c[..m * n].fill(0.0);
                    return;
                }
                // SAFETY: the callers (kernels::gemm) pass slices whose extents
                // cover every index reached with these strides, which the
                // checked indexing of the debug assertions below confirms.
                debug_assert!(((m - 1) as isize * rsa + (k - 1) as isize * csa) < a.len() as isize);
                debug_assert!(((k - 1) as isize * rsb + (n - 1) as isize * csb) < b.len() as isize);
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        rsa,
                        csa,
                        b.as_ptr(),
                        rsb,
                        csb,
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
            }
        }
    };
}

impl_float!(f32, "f32", matrixmultiply::sgemm);
impl_float!(f64, "f64", matrixmultiply::dgemm);
