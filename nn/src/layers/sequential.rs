//! [`Sequential`]: modules applied one after another.

use autodiff::{Float, Result, Tensor, Var};

use crate::module::{join, Module};
use crate::param::Param;
use crate::session::Session;

/// Modules applied in order; parameters are named by position
/// (`0.weight`, `2.bias`, …), as in PyTorch's `nn.Sequential`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{Activation, Init, Linear, Module, Sequential, Session};
/// let net = Sequential::<f64>::new()
///     .push(Linear::new(2, 8, Init::HeUniform, 1))
///     .push(Activation::Relu)
///     .push(Linear::new(8, 3, Init::HeUniform, 2));
/// assert_eq!(net.param_names(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// assert_eq!(net.forward(&s, s.input(Tensor::zeros(&[5, 2])))?.shape().as_slice(), &[5, 3]);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Default)]
pub struct Sequential<T: Float> {
    // Send + Sync: a model is shared by the threads of
    // `chunked::grads_in_chunks` (and may move to another thread)
    layers: Vec<Box<dyn Module<T> + Send + Sync>>,
}

impl<T: Float> Sequential<T> {
    /// An empty sequence (the identity).
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// Appends a module (`Send + Sync`, as nn's layers are, so that the
    /// sequence can be shared by threads).
    #[allow(clippy::should_implement_trait)]
    pub fn push(mut self, layer: impl Module<T> + Send + Sync + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the sequence is empty.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl<T: Float> Module<T> for Sequential<T> {
    fn forward<'t>(&self, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        let mut h = x;
        for layer in &self.layers {
            h = layer.forward(s, h)?;
        }
        Ok(h)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_params(&join(prefix, &i.to_string()), f);
        }
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params_mut(&join(prefix, &i.to_string()), f);
        }
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        for layer in &mut self.layers {
            layer.for_each_param_mut(f);
        }
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_buffers(&join(prefix, &i.to_string()), f);
        }
    }

    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_buffers_mut(&join(prefix, &i.to_string()), f);
        }
    }
}
