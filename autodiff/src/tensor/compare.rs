//! Approximate comparison of tensors through the `approx` crate's traits.
//!
//! Two tensors are close when their shapes are equal and every pair of
//! elements is close; tensors of different shapes are never close.
//!
//! ```
//! use approx::assert_relative_eq;
//! use autodiff::Tensor;
//! let a = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap();
//! let b = Tensor::from_vec(vec![1.0 + 1e-13, 2.0], &[2]).unwrap();
//! assert_relative_eq!(a, b, epsilon = 1e-12);
//! ```

use approx::{AbsDiffEq, RelativeEq};

use super::Tensor;
use crate::float::Float;

impl<T: Float> PartialEq for Tensor<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shape() == other.shape() && self.data() == other.data()
    }
}

impl<T: Float> AbsDiffEq for Tensor<T> {
    type Epsilon = T;

    fn default_epsilon() -> T {
        T::default_epsilon()
    }

    fn abs_diff_eq(&self, other: &Self, epsilon: T) -> bool {
        self.shape() == other.shape()
            && self
                .data()
                .iter()
                .zip(other.data())
                .all(|(a, b)| a.abs_diff_eq(b, epsilon))
    }
}

impl<T: Float> RelativeEq for Tensor<T> {
    fn default_max_relative() -> T {
        T::default_max_relative()
    }

    fn relative_eq(&self, other: &Self, epsilon: T, max_relative: T) -> bool {
        self.shape() == other.shape()
            && self
                .data()
                .iter()
                .zip(other.data())
                .all(|(a, b)| a.relative_eq(b, epsilon, max_relative))
    }
}
