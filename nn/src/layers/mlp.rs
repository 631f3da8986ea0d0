//! [`Mlp`]: a multilayer perceptron from a list of widths.

use autodiff::{Error, Float, Result, Var};

use crate::init::Init;
use crate::layers::{Activation, Linear};
use crate::module::{join, Module};
use crate::param::Param;
use crate::session::Session;

/// A multilayer perceptron: `Linear → activation → … → Linear`. Every hidden
/// layer applies the activation; the output layer is linear (logits). A
/// hidden layer with ReLU, sigmoid or tanh is one tape node
/// ([`Linear::forward_activated`]), with the values and gradients of the
/// two.
/// Parameters are named `layers.{i}.weight` and `layers.{i}.bias`.
///
/// ```
/// use nn::{Activation, Init, Mlp, Module};
/// // the lecture note's Playground net: 2 inputs, hidden [4, 2], 2 classes
/// let mlp = Mlp::<f32>::new(&[2, 4, 2, 2], Activation::Tanh, Init::Playground, 42)?;
/// assert_eq!(mlp.layers().len(), 3);
/// assert_eq!(mlp.num_params(), (2 * 4 + 4) + (4 * 2 + 2) + (2 * 2 + 2));
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Mlp<T: Float> {
    layers: Vec<Linear<T>>,
    activation: Activation,
}

impl<T: Float> Mlp<T> {
    /// An MLP with `widths = [inputs, hidden…, outputs]`; layer `i` is
    /// initialised from `seed + 2i` (weight) and `seed + 2i + 1` (bias).
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for fewer than
    /// two widths or a zero width.
    #[track_caller]
    pub fn new(widths: &[usize], activation: Activation, init: Init, seed: u64) -> Result<Self> {
        if widths.len() < 2 || widths.contains(&0) {
            return Err(Error::argument(
                "Mlp::new",
                format!(
                    "widths {widths:?}: need at least an input and an output width, none of them 0"
                ),
            )
            .at_caller());
        }
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::new(w[0], w[1], init, seed.wrapping_add(2 * i as u64)))
            .collect();
        Ok(Mlp { layers, activation })
    }

    /// The linear layers, input first.
    pub fn layers(&self) -> &[Linear<T>] {
        &self.layers
    }

    /// The hidden layers' activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The widths `[inputs, hidden…, outputs]`.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(self.layers[0].in_features())
            .chain(self.layers.iter().map(|l| l.out_features()))
            .collect()
    }
}

impl<T: Float> Module<T> for Mlp<T> {
    fn forward<'t>(&self, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        let mut h = x;
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = if i < last {
                // one tape node per hidden layer where the activation fuses
                layer.forward_activated(s, h, self.activation)?
            } else {
                layer.forward(s, h)?
            };
        }
        Ok(h)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_params(&join(prefix, &format!("layers.{i}")), f);
        }
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params_mut(&join(prefix, &format!("layers.{i}")), f);
        }
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        for layer in &mut self.layers {
            layer.for_each_param_mut(f);
        }
    }
}
