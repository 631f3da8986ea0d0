//! Seeded random tensors. The generator is ChaCha8, whose stream is fixed by
//! its specification, so a seed gives the same tensor on every machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::Tensor;
use crate::float::Float;
use crate::shape::{checked_numel, shape_of};

impl<T: Float> Tensor<T> {
    /// Elements drawn uniformly from `[low, high)`, reproducibly from `seed`.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::<f32>::rand_uniform(&[2, 3], -1.0, 1.0, 7);
    /// assert_eq!(a, Tensor::rand_uniform(&[2, 3], -1.0, 1.0, 7));
    /// assert!(a.data().iter().all(|&x| (-1.0..=1.0).contains(&x)));
    /// ```
    ///
    /// # Panics
    /// As [`Tensor::full`], for a shape with too many elements.
    #[track_caller]
    pub fn rand_uniform(shape: &[usize], low: T, high: T, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (lo, hi) = (low.as_f64(), high.as_f64());
        let data = (0..checked_numel("Tensor::rand", shape).unwrap_or_else(|e| panic!("{e}")))
            .map(|_| T::of_f64(lo + (hi - lo) * rng.random::<f64>()))
            .collect();
        Self::from_parts(data, shape_of(shape))
    }

    /// Elements drawn from the normal distribution N(`mean`, `std`²),
    /// reproducibly from `seed`.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let t = Tensor::<f64>::rand_normal(&[1000], 0.0, 1.0, 3);
    /// let mean = t.data().iter().sum::<f64>() / 1000.0;
    /// assert!(mean.abs() < 0.1);
    /// assert_eq!(t, Tensor::rand_normal(&[1000], 0.0, 1.0, 3)); // same seed, same tensor
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Panics
    /// As [`Tensor::full`], for a shape with too many elements.
    #[track_caller]
    pub fn rand_normal(shape: &[usize], mean: T, std: T, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (m, s) = (mean.as_f64(), std.as_f64());
        let data = (0..checked_numel("Tensor::rand", shape).unwrap_or_else(|e| panic!("{e}")))
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                T::of_f64(m + s * z)
            })
            .collect();
        Self::from_parts(data, shape_of(shape))
    }
}
