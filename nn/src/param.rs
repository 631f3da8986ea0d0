//! [`Param`]: a trainable tensor that outlives the tapes it is used on.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use autodiff::shape::fmt_shape;
use autodiff::{Error, Float, Result, Tensor};

static NEXT_PARAM_ID: AtomicU64 = AtomicU64::new(1);

/// A stable identity for a parameter, unique in the process: gradients and
/// optimizer state are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(u64);

/// A trainable tensor owned by a model. Each training step binds it to a
/// fresh tape as a tracked leaf ([`Session::param`](crate::Session::param));
/// the optimizer then updates its value in place.
///
/// Cloning a parameter copies its value under a **new** identity, so a cloned
/// model never shares optimizer state with the original.
///
/// ```
/// use autodiff::Tensor;
/// use nn::Param;
/// let p = Param::new(Tensor::<f32>::zeros(&[2, 3]));
/// assert_eq!(p.value().shape(), &[2, 3]);
/// assert_ne!(p.id(), p.clone().id());
/// ```
#[derive(Debug)]
pub struct Param<T: Float> {
    id: ParamId,
    value: Tensor<T>,
    frozen: bool,
}

impl<T: Float> Param<T> {
    /// A parameter holding `value`, with a fresh identity.
    pub fn new(value: Tensor<T>) -> Self {
        Param {
            id: ParamId(NEXT_PARAM_ID.fetch_add(1, Ordering::Relaxed)),
            value,
            frozen: false,
        }
    }

    /// The identity gradients and optimizer state are keyed by.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The current value.
    pub fn value(&self) -> &Tensor<T> {
        &self.value
    }

    /// Freezes (`false`) or unfreezes (`true`) the parameter: a frozen one
    /// is bound to a training session's tape as a constant, so it gets no
    /// gradient and no optimizer changes it (PyTorch's
    /// `requires_grad_(False)`). [`Module::set_trainable`](crate::Module::set_trainable)
    /// does it for a whole model or layer.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// use nn::{Linear, Module, Session};
    /// let mut layer = Linear::from_tensors(Tensor::<f64>::eye(2), Some(Tensor::zeros(&[2])))?;
    /// layer.weight.set_trainable(false);
    /// let tape = Tape::new();
    /// let s = Session::train(&tape);
    /// let loss = layer.forward(&s, s.input(Tensor::ones(&[1, 2])))?.sum()?;
    /// let grads = s.grads(loss)?;
    /// assert!(grads.get(&layer.weight).is_none());      // frozen
    /// assert!(grads.get(layer.bias.as_ref().unwrap()).is_some());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn set_trainable(&mut self, trainable: bool) {
        self.frozen = !trainable;
    }

    /// Whether the parameter takes gradients (not frozen).
    pub fn is_trainable(&self) -> bool {
        !self.frozen
    }

    /// Mutable access to the elements (for optimizers and initialisers).
    pub fn data_mut(&mut self) -> &mut [T] {
        self.value.data_mut()
    }

    /// Replaces the value with one of the same shape.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// use nn::Param;
    /// let mut p = Param::new(Tensor::<f64>::zeros(&[2]));
    /// p.set_value(Tensor::ones(&[2]))?;
    /// assert!(p.set_value(Tensor::ones(&[3])).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when the shapes differ.
    #[track_caller]
    pub fn set_value(&mut self, value: Tensor<T>) -> Result<()> {
        if value.shape() != self.value.shape() {
            return Err(Error::shape(
                "Param::set_value",
                format!(
                    "new value of shape {} for a parameter of shape {}",
                    fmt_shape(value.shape()),
                    fmt_shape(self.value.shape())
                ),
            )
            .at_caller());
        }
        self.value = value;
        Ok(())
    }
}

impl<T: Float> Clone for Param<T> {
    fn clone(&self) -> Self {
        let mut p = Param::new(self.value.clone());
        p.frozen = self.frozen;
        p
    }
}

/// A map keyed by [`ParamId`]. The ids are distinct counters, so a
/// multiplicative hash of the id is enough: no SipHash on every lookup of a
/// training step.
pub(crate) type IdMap<V> = HashMap<ParamId, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of a [`ParamId`]'s counter.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0 ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
