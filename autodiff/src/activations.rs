//! The lecture note's activations on plain numbers, each with its
//! derivative: the one definition that the tape's operations
//! ([`Var::relu`](crate::Var::relu), [`Var::sigmoid`](crate::Var::sigmoid),
//! [`Var::tanh`](crate::Var::tanh)), nn's layers and its hand-written
//! backprop all use. Sigmoid and tanh give their derivative from their
//! output, as backprop has it at hand.
//!
//! ```
//! use autodiff::activations::{relu, relu_derivative, sigmoid, sigmoid_derivative};
//! assert_eq!(sigmoid(0.0f64), 0.5);
//! assert_eq!(sigmoid_derivative(sigmoid(0.0f64)), 0.25); // σ(1 − σ) from the output
//! assert_eq!((relu(-2.0f32), relu_derivative(0.0f32)), (0.0, 0.0)); // subgradient 0 at 0
//! assert!(sigmoid(-1000.0f64) == 0.0 && sigmoid(1000.0f64) == 1.0); // no overflow
//! ```

use crate::float::Float;

/// `relu(z) = max(0, z)`.
#[inline]
pub fn relu<T: Float>(z: T) -> T {
    if z > T::zero() {
        z
    } else {
        T::zero()
    }
}

/// `d relu/dz = 1[z > 0]`: the subgradient at `z = 0` is **0**, as in
/// PyTorch and the lecture note's `diag(1[z > 0])`.
#[inline]
pub fn relu_derivative<T: Float>(z: T) -> T {
    if z > T::zero() {
        T::one()
    } else {
        T::zero()
    }
}

/// `σ(z) = 1/(1 + e⁻ᶻ)`, computed without overflow for large |z|
/// (`eᶻ/(1 + eᶻ)` for negative z).
#[inline]
pub fn sigmoid<T: Float>(z: T) -> T {
    if z >= T::zero() {
        T::one() / (T::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::one() + e)
    }
}

/// `dσ/dz = σ(1 − σ)`, from the output `y = σ(z)`.
#[inline]
pub fn sigmoid_derivative<T: Float>(y: T) -> T {
    y * (T::one() - y)
}

/// `tanh z`. In `f32` it is computed in `f64` without a call to libm (and
/// so vectorized over a tensor): the correctly rounded `tanh z` but for at
/// most about one input in a million, which is one unit in the last place
/// off; in `f64` it is libm's `tanh`.
#[inline]
pub fn tanh<T: Float>(z: T) -> T {
    crate::float::sealed::Sealed::tanh_elem(z)
}

/// `out[i] = tanh z[i]`: [`tanh`] over a slice at once, as the tape's
/// `tanh` computes it (in `f32`, vectorized: 256-bit vectors where the CPU
/// has AVX2, the same bits on every CPU).
///
/// ```
/// use autodiff::activations::{tanh, tanh_slice};
/// let z = [-2.0f32, 0.0, 0.5, 30.0];
/// let mut out = [0.0; 4];
/// tanh_slice(&z, &mut out);
/// assert_eq!(out, z.map(tanh));
/// ```
///
/// # Panics
/// When `z` and `out` differ in length.
pub fn tanh_slice<T: Float>(z: &[T], out: &mut [T]) {
    assert_eq!(
        z.len(),
        out.len(),
        "tanh_slice: {} inputs for {} outputs",
        z.len(),
        out.len()
    );
    // SAFETY: `MaybeUninit<T>` has the layout of `T`, and `tanh_into` only
    // writes initialized values, so `out` stays initialized.
    let out = unsafe { &mut *(out as *mut [T] as *mut [std::mem::MaybeUninit<T>]) };
    <T as crate::float::sealed::Sealed>::tanh_into(z, out);
}

/// `d tanh/dz = 1 − tanh² z`, from the output `y = tanh z`.
#[inline]
pub fn tanh_derivative<T: Float>(y: T) -> T {
    T::one() - y * y
}
