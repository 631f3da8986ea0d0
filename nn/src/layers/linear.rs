//! [`Linear`]: `y = x·Wᵀ + b`, with PyTorch's weight layout `[out, in]`.

use autodiff::shape::fmt_shape;
use autodiff::{Error, Float, FusedActivation, Result, Tensor, Var};

use crate::init::Init;
use crate::layers::Activation;
use crate::module::{visit_weight_bias, Module};
use crate::param::Param;
use crate::session::Session;

/// A fully connected layer: `y = x·Wᵀ + b`.
///
/// # Shapes
/// - input `[batch, in]` (or `[in]`)
/// - weight `[out, in]`, bias `[out]`
/// - output `[batch, out]` (or `[out]`)
///
/// Gradients (the note's (c) and (d)): `∂L/∂W = ḡᵀ·x`, `∂L/∂b = Σ_rows ḡ`,
/// `∂L/∂x = ḡ·W`.
#[derive(Clone, Debug)]
pub struct Linear<T: Float> {
    /// `[out, in]`.
    pub weight: Param<T>,
    /// `[out]`, if the layer has one.
    pub bias: Option<Param<T>>,
}

impl<T: Float> Linear<T> {
    /// A layer `in_features → out_features` with a bias, initialised by
    /// `init` from `seed` (the bias from `seed + 1`).
    ///
    /// ```
    /// use nn::{Init, Linear};
    /// let l = Linear::<f32>::new(3, 2, Init::XavierUniform, 0);
    /// assert_eq!(l.weight.value().shape(), &[2, 3]);
    /// ```
    pub fn new(in_features: usize, out_features: usize, init: Init, seed: u64) -> Self {
        let weight = init.weight(
            &[out_features, in_features],
            in_features,
            out_features,
            seed,
        );
        let bias = init.bias(&[out_features], in_features, seed.wrapping_add(1));
        Linear {
            weight: Param::new(weight),
            bias: Some(Param::new(bias)),
        }
    }

    /// A layer with the given weight `[out, in]` and optional bias `[out]`.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// use nn::Linear;
    /// let l = Linear::from_tensors(Tensor::<f64>::eye(2), None)?;
    /// assert!(Linear::from_tensors(Tensor::<f64>::eye(2), Some(Tensor::zeros(&[3]))).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when the weight is
    /// not 2-D or the bias does not have `out` entries.
    #[track_caller]
    pub fn from_tensors(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Result<Self> {
        if weight.rank() != 2 {
            return Err(Error::shape(
                "Linear",
                format!(
                    "weight of shape {} must be [out, in]",
                    fmt_shape(weight.shape())
                ),
            )
            .at_caller());
        }
        if let Some(b) = &bias {
            if b.shape() != [weight.shape()[0]] {
                return Err(Error::shape(
                    "Linear",
                    format!(
                        "bias of shape {} for a weight of shape {}: expected [{}]",
                        fmt_shape(b.shape()),
                        fmt_shape(weight.shape()),
                        weight.shape()[0]
                    ),
                )
                .at_caller());
            }
        }
        Ok(Linear {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
        })
    }

    /// The number of input features.
    pub fn in_features(&self) -> usize {
        self.weight.value().shape()[1]
    }

    /// The number of output features.
    pub fn out_features(&self) -> usize {
        self.weight.value().shape()[0]
    }
}

impl<T: Float> Linear<T> {
    /// The layer followed by `activation`, `f(x·Wᵀ + b)`: one tape node
    /// when the activation's derivative is a function of its output (ReLU,
    /// sigmoid, tanh: autodiff's [`linear_then`](Var::linear_then)), else
    /// the layer's node and the activation's. The values and gradients are
    /// those of [`forward`](Module::forward) then
    /// [`Activation::apply`], bit for bit.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// use nn::{Activation, Linear, Module, Session};
    /// let l = Linear::from_tensors(Tensor::from_vec(vec![1.0, -2.0], &[1, 2])?, None)?;
    /// let tape = Tape::new();
    /// let s = Session::eval(&tape);
    /// let x = s.input(Tensor::from_vec(vec![1.0, 1.0], &[1, 2])?);
    /// let a = l.forward_activated(&s, x, Activation::Relu)?;
    /// assert_eq!(a.value().data(), &[0.0]); // relu(1 − 2)
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`forward`](Module::forward).
    #[track_caller]
    pub fn forward_activated<'t>(
        &self,
        s: &Session<'t, T>,
        x: Var<'t, T>,
        activation: Activation,
    ) -> Result<Var<'t, T>> {
        match activation.fused() {
            Some(f) => self.affine(s, x, Some(f)),
            None => activation.apply(self.affine(s, x, None)?),
        }
    }

    /// `x·Wᵀ + b`, then `then` in the same tape node if given.
    #[track_caller]
    fn affine<'t>(
        &self,
        s: &Session<'t, T>,
        x: Var<'t, T>,
        then: Option<FusedActivation>,
    ) -> Result<Var<'t, T>> {
        let shape = x.shape();
        let features = shape.last().copied().unwrap_or(0);
        let n = self.in_features();
        if shape.is_empty() || shape.len() > 2 {
            return Err(Error::shape(
                "linear",
                format!(
                    "input {} has rank {}; the layer takes [batch, {n}] or [{n}] (flatten the other axes first)",
                    fmt_shape(&shape),
                    shape.len(),
                ),
            )
            .at_caller());
        }
        if features != n {
            return Err(Error::shape(
                "linear",
                format!(
                    "input {} has {features} features, the layer expects {n} (input must be [batch, {n}] or [{n}])",
                    fmt_shape(&shape),
                ),
            )
            .at_caller());
        }
        let w = s.param(&self.weight);
        let x2 = if shape.len() == 1 {
            x.reshape(&[1, features])?
        } else {
            x
        };
        // x·Wᵀ + b, and the activation, as one tape node (autodiff's
        // `linear` and `linear_then`)
        let b = self.bias.as_ref().map(|b| s.param(b));
        let mut y = match then {
            Some(f) => x2.linear_then(w, b, f)?,
            None => x2.linear(w, b)?,
        };
        if shape.len() == 1 {
            y = y.reshape(&[self.out_features()])?;
        }
        Ok(y)
    }
}

impl<T: Float> Module<T> for Linear<T> {
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// use nn::{Linear, Module, Session};
    /// let l = Linear::from_tensors(
    ///     Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?,
    ///     Some(Tensor::from_vec(vec![0.5, -0.5], &[2])?),
    /// )?;
    /// let tape = Tape::new();
    /// let s = Session::eval(&tape);
    /// let y = l.forward(&s, s.input(Tensor::from_vec(vec![1.0, 0.0, -1.0], &[1, 3])?))?;
    /// assert_eq!(y.value().data(), &[-1.5, -2.5]);
    /// let err = l.forward(&s, s.input(Tensor::zeros(&[1, 4]))).unwrap_err();
    /// assert!(err.to_string().starts_with("linear: input [1, 4] has 4 features, the layer expects 3"));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    fn forward<'t>(&self, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        self.affine(s, x, None)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), f);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<T>)) {
        visit_weight_bias(prefix, &mut self.weight, self.bias.as_mut(), f);
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}
