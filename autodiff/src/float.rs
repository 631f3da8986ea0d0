//! The element types a [`Tensor`](crate::Tensor) can hold.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

pub(crate) mod sealed {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    use crate::tensor::small_buffers::{Lists, F32, F64};

    /// Only `f32` and `f64` are [`Float`](super::Float)s: the matrix kernels
    /// dispatch on exactly these two types.
    pub trait Sealed: Sized + 'static {
        /// This thread's free lists of small buffers of this type.
        fn small_lists() -> &'static LocalKey<RefCell<Lists<Self>>>;

        /// `tanh self`: for `f32` computed in `f64` without a libm call
        /// (`kernels::tanh_f32`), for `f64` libm's.
        fn tanh_elem(self) -> Self;

        /// `out[i] = tanh src[i]` for `i < out.len()`, vectorized for `f32`.
        /// Panics when `src` is shorter than `out`.
        fn tanh_into(src: &[Self], out: &mut [std::mem::MaybeUninit<Self>]);
    }
    impl Sealed for f32 {
        fn small_lists() -> &'static LocalKey<RefCell<Lists<Self>>> {
            &F32
        }

        #[inline(always)]
        fn tanh_elem(self) -> Self {
            crate::kernels::tanh_f32::tanh(self)
        }

        fn tanh_into(src: &[Self], out: &mut [std::mem::MaybeUninit<Self>]) {
            crate::kernels::tanh_f32::tanh_into(src, out);
        }
    }
    impl Sealed for f64 {
        fn small_lists() -> &'static LocalKey<RefCell<Lists<Self>>> {
            &F64
        }

        #[inline(always)]
        fn tanh_elem(self) -> Self {
            num_traits::Float::tanh(self)
        }

        fn tanh_into(src: &[Self], out: &mut [std::mem::MaybeUninit<Self>]) {
            let src = &src[..out.len()];
            for (o, &x) in out.iter_mut().zip(src) {
                o.write(num_traits::Float::tanh(x));
            }
        }
    }
}

/// A floating-point element type: `f32` for speed, `f64` for gradient checks.
///
/// The trait is sealed: it is implemented for `f32` and `f64` only, the two
/// types the matrix kernels ([`kernels::gemm`](crate::kernels::gemm)) know.
pub trait Float:
    sealed::Sealed
    + num_traits::Float
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
}

macro_rules! impl_float {
    ($t:ty, $name:literal) => {
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
        }
    };
}

impl_float!(f32, "f32");
impl_float!(f64, "f64");
