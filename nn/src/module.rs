//! [`Module`]: anything that runs forward on a [`Session`] and owns named
//! parameters.

use autodiff::{Float, Result, Tensor, Var};

use crate::param::Param;
use crate::session::Session;

/// A model or a layer: a forward function and a set of named parameters.
///
/// Names follow PyTorch: a field's name joined by dots, list entries by
/// their index (`layers.0.weight`), so weights compare directly with a
/// PyTorch `state_dict`.
pub trait Module<T: Float> {
    /// Runs the module on `x`, recording on the session's tape.
    ///
    /// # Errors
    /// Shape errors naming the layer when `x` does not fit it. The method is
    /// `#[track_caller]` in every implementation: errors name the line that
    /// called `forward`, also through `Sequential` and `dyn Module`.
    #[track_caller]
    fn forward<'t>(&self, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>>;

    /// Calls `f` with the full name and a reference of every parameter,
    /// each name prefixed by `prefix` (empty at the top).
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>));

    /// As [`visit_params`](Module::visit_params), with mutable access (for
    /// optimizers and loaders).
    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<T>));

    /// Calls `f` on every parameter, mutably, in visiting order, without
    /// building their names: what an optimizer step needs. The default walks
    /// [`visit_params_mut`](Module::visit_params_mut); containers and layers
    /// override it so that a training step allocates no name strings.
    ///
    /// ```
    /// use nn::{Activation, Init, Mlp, Module};
    /// let mut mlp = Mlp::<f32>::new(&[2, 4, 1], Activation::Relu, Init::HeUniform, 0)?;
    /// let mut count = 0;
    /// mlp.for_each_param_mut(&mut |p| count += p.value().numel());
    /// assert_eq!(count, mlp.num_params());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        self.visit_params_mut("", &mut |_, p| f(p));
    }

    /// Freezes (`false`) or unfreezes (`true`) every parameter of the
    /// module (see [`Param::set_trainable`]): fine-tuning a head on a
    /// frozen body is `body.set_trainable(false)`.
    fn set_trainable(&mut self, trainable: bool) {
        self.for_each_param_mut(&mut |p| p.set_trainable(trainable));
    }

    /// Visits the module's buffers by name: state saved with the model but
    /// not trained, such as BatchNorm's running statistics (PyTorch's
    /// buffers). None by default; containers forward it to their layers.
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
        let _ = (prefix, f);
    }

    /// Visits the buffers mutably (to load them).
    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
        let _ = (prefix, f);
    }

    /// The parameter names in visiting order.
    ///
    /// ```
    /// use nn::{Activation, Init, Mlp, Module};
    /// let mlp = Mlp::<f32>::new(&[2, 4, 1], Activation::Relu, Init::HeUniform, 0)?;
    /// assert_eq!(
    ///     mlp.param_names(),
    ///     ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    /// );
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit_params("", &mut |name, _| names.push(name.to_string()));
        names
    }

    /// The total number of scalar parameters.
    ///
    /// ```
    /// use nn::{Activation, Init, Mlp, Module};
    /// let mlp = Mlp::<f32>::new(&[2, 4, 1], Activation::Relu, Init::HeUniform, 0)?;
    /// assert_eq!(mlp.num_params(), 2 * 4 + 4 + 4 * 1 + 1);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit_params("", &mut |_, p| n += p.value().numel());
        n
    }
}

/// Joins a parameter path: `join("layers.0", "weight") == "layers.0.weight"`,
/// `join("", "weight") == "weight"`.
///
/// ```
/// assert_eq!(nn::join("layers.0", "weight"), "layers.0.weight");
/// assert_eq!(nn::join("", "bias"), "bias");
/// ```
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Visits a layer's `weight` and optional `bias` under `prefix` — the
/// parameters of [`Linear`](crate::Linear) and [`Conv2d`](crate::Conv2d).
pub(crate) fn visit_weight_bias<P>(
    prefix: &str,
    weight: P,
    bias: Option<P>,
    f: &mut dyn FnMut(&str, P),
) {
    f(&join(prefix, "weight"), weight);
    if let Some(b) = bias {
        f(&join(prefix, "bias"), b);
    }
}

/// Visits an optional `weight` and `bias` (a normalisation's γ and β).
pub(crate) fn visit_affine<P>(
    prefix: &str,
    weight: Option<P>,
    bias: Option<P>,
    f: &mut dyn FnMut(&str, P),
) {
    if let Some(w) = weight {
        f(&join(prefix, "weight"), w);
    }
    if let Some(b) = bias {
        f(&join(prefix, "bias"), b);
    }
}
