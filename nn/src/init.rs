//! Weight initialisation, always from a seed.

use autodiff::{Float, Tensor};

/// How a layer's weights and biases start.
///
/// `fan_in` and `fan_out` are the layer's input and output widths (times the
/// kernel area for convolutions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Glorot & Bengio (2010): `W ~ U(−a, a)`, `a = √(6 / (fan_in + fan_out))`; biases 0.
    XavierUniform,
    /// Glorot & Bengio: `W ~ N(0, 2 / (fan_in + fan_out))`; biases 0.
    XavierNormal,
    /// He et al. (2015): `W ~ U(−a, a)`, `a = √(6 / fan_in)`; biases 0.
    HeUniform,
    /// He et al.: `W ~ N(0, 2 / fan_in)`; biases 0.
    HeNormal,
    /// TensorFlow Playground's: `W ~ U(−0.5, 0.5)`, biases 0.1.
    Playground,
    /// PyTorch's default for `nn.Linear` and `nn.Conv2d`:
    /// `W, b ~ U(−1/√fan_in, 1/√fan_in)`.
    PyTorch,
}

impl Init {
    /// A weight tensor of `shape` for a layer with the given fans.
    ///
    /// ```
    /// use nn::Init;
    /// let w = Init::Playground.weight::<f64>(&[3, 2], 2, 3, 42);
    /// assert!(w.data().iter().all(|v| v.abs() <= 0.5));
    /// assert_eq!(w, Init::Playground.weight(&[3, 2], 2, 3, 42)); // seeded
    /// ```
    pub fn weight<T: Float>(
        self,
        shape: &[usize],
        fan_in: usize,
        fan_out: usize,
        seed: u64,
    ) -> Tensor<T> {
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        let uniform = |a: f64| Tensor::rand_uniform(shape, T::of_f64(-a), T::of_f64(a), seed);
        let normal = |var: f64| Tensor::rand_normal(shape, T::zero(), T::of_f64(var.sqrt()), seed);
        match self {
            Init::XavierUniform => uniform((6.0 / (fi + fo)).sqrt()),
            Init::XavierNormal => normal(2.0 / (fi + fo)),
            Init::HeUniform => uniform((6.0 / fi).sqrt()),
            Init::HeNormal => normal(2.0 / fi),
            Init::Playground => uniform(0.5),
            Init::PyTorch => uniform(1.0 / fi.sqrt()),
        }
    }

    /// A bias tensor of `shape` (seeded where it is random).
    ///
    /// ```
    /// use nn::Init;
    /// assert_eq!(Init::Playground.bias::<f32>(&[2], 2, 7).data(), &[0.1, 0.1]);
    /// assert_eq!(Init::HeNormal.bias::<f32>(&[2], 2, 7).data(), &[0.0, 0.0]);
    /// ```
    pub fn bias<T: Float>(self, shape: &[usize], fan_in: usize, seed: u64) -> Tensor<T> {
        match self {
            Init::Playground => Tensor::full(shape, T::of_f64(0.1)),
            Init::PyTorch => {
                let a = 1.0 / (fan_in.max(1) as f64).sqrt();
                Tensor::rand_uniform(shape, T::of_f64(-a), T::of_f64(a), seed)
            }
            _ => Tensor::zeros(shape),
        }
    }
}

impl std::str::FromStr for Init {
    type Err = String;

    /// Parses `xavier`, `xavier-normal`, `he`, `he-normal`, `playground`, `pytorch`.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "xavier" | "xavier-uniform" | "glorot" => Init::XavierUniform,
            "xavier-normal" => Init::XavierNormal,
            "he" | "he-uniform" | "kaiming" => Init::HeUniform,
            "he-normal" | "kaiming-normal" => Init::HeNormal,
            "playground" => Init::Playground,
            "pytorch" => Init::PyTorch,
            other => {
                return Err(format!(
                    "unknown initialisation '{other}' (expected xavier, xavier-normal, he, he-normal, playground or pytorch)"
                ))
            }
        })
    }
}
