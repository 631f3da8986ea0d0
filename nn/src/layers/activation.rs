//! The lecture note's activations as a layer.

use autodiff::{Float, FusedActivation, Result, Var};

use crate::module::Module;
use crate::param::Param;
use crate::session::Session;

/// An element-wise activation: the four that TensorFlow Playground offers,
/// and SiLU, an operation nn adds through autodiff's public `Op` trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// The identity, `a = z` (Playground's "Linear").
    Linear,
    /// `a = 1 / (1 + e⁻ᶻ)`.
    Sigmoid,
    /// `a = tanh z`.
    Tanh,
    /// `a = max(0, z)`.
    Relu,
    /// `a = z·σ(z)` (swish; [`ops::silu`](crate::ops::silu)).
    Silu,
}

impl Activation {
    /// Applies the activation to `z`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// use nn::Activation;
    /// let tape = Tape::new();
    /// let z = tape.constant(Tensor::from_vec(vec![-1.0, 2.0], &[2])?);
    /// assert_eq!(Activation::Relu.apply(z)?.value().data(), &[0.0, 2.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// None in practice (element-wise operations accept any shape); the
    /// `Result` is the tape's.
    #[track_caller]
    pub fn apply<'t, T: Float>(self, z: Var<'t, T>) -> Result<Var<'t, T>> {
        match self {
            Activation::Linear => z.identity(),
            Activation::Sigmoid => z.sigmoid(),
            Activation::Tanh => z.tanh(),
            Activation::Relu => z.relu(),
            Activation::Silu => crate::ops::silu(z),
        }
    }

    /// The activation as autodiff fuses it into a dense layer's node
    /// ([`linear_then`](Var::linear_then)), for those whose derivative is a
    /// function of their output; `None` for Linear (nothing to fuse) and
    /// SiLU (its derivative needs the input).
    ///
    /// ```
    /// use autodiff::FusedActivation;
    /// use nn::Activation;
    /// assert_eq!(Activation::Tanh.fused(), Some(FusedActivation::Tanh));
    /// assert_eq!(Activation::Silu.fused(), None);
    /// ```
    pub fn fused(self) -> Option<FusedActivation> {
        match self {
            Activation::Relu => Some(FusedActivation::Relu),
            Activation::Sigmoid => Some(FusedActivation::Sigmoid),
            Activation::Tanh => Some(FusedActivation::Tanh),
            Activation::Linear | Activation::Silu => None,
        }
    }

    /// The activation of a plain number, and its derivative there: the
    /// formulas of the note's (b), used by the hand-written backprop.
    ///
    /// ```
    /// use nn::Activation;
    /// assert_eq!(Activation::Sigmoid.eval(0.0f64), (0.5, 0.25));
    /// assert_eq!(Activation::Relu.eval(0.0f64), (0.0, 0.0)); // subgradient 0 at 0
    /// ```
    pub fn eval<T: Float>(self, z: T) -> (T, T) {
        use autodiff::activations as f;
        match self {
            Activation::Linear => (z, T::one()),
            Activation::Sigmoid => {
                let s = f::sigmoid(z);
                (s, f::sigmoid_derivative(s))
            }
            Activation::Tanh => {
                let t = f::tanh(z);
                (t, f::tanh_derivative(t))
            }
            Activation::Relu => (f::relu(z), f::relu_derivative(z)),
            Activation::Silu => crate::ops::silu_eval(z),
        }
    }

    /// The lower-case name, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Silu => "silu",
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Activation {
    type Err = String;

    /// Parses `linear`, `sigmoid`, `tanh`, `relu` or `silu` (any case).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "linear" | "identity" => Activation::Linear,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "silu" | "swish" => Activation::Silu,
            other => {
                return Err(format!(
                    "unknown activation '{other}' (expected linear, sigmoid, tanh, relu or silu)"
                ))
            }
        })
    }
}

impl<T: Float> Module<T> for Activation {
    fn forward<'t>(&self, _: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        self.apply(x)
    }
    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param<T>)) {}
    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param<T>)) {}
}
