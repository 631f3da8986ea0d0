//! [`Session`]: the parameters of a model bound to one tape, for one step.

use std::cell::RefCell;

use autodiff::{Float, Result, Tape, Tensor, Var};

use crate::bound::BoundParams;
use crate::param::{IdMap, Param, ParamId};

/// Binds parameters to a tape: the first time a layer asks for a parameter
/// it becomes a leaf on the tape (tracked when training, constant when
/// evaluating), and later requests get the same [`Var`].
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{Activation, Init, Mlp, Module, Session};
/// let mlp = Mlp::<f64>::new(&[2, 3, 2], Activation::Tanh, Init::XavierUniform, 7)?;
/// let tape = Tape::new();
/// let s = Session::train(&tape);
/// let x = s.input(Tensor::from_vec(vec![0.5, -1.0], &[1, 2])?);
/// let loss = mlp.forward(&s, x)?.cross_entropy(&[1])?;
/// let grads = s.grads(loss)?;
/// assert_eq!(grads.len(), 4); // two weights, two biases
/// # Ok::<(), autodiff::Error>(())
/// ```
pub struct Session<'t, T: Float> {
    tape: &'t Tape<T>,
    bound: RefCell<BoundParams<'t, T>>,
    training: bool,
}

impl<'t, T: Float> Session<'t, T> {
    /// A training session: parameters are tracked leaves.
    pub fn train(tape: &'t Tape<T>) -> Self {
        Session {
            tape,
            bound: RefCell::new(BoundParams::new()),
            training: true,
        }
    }

    /// An evaluation session: parameters are constants and nothing is
    /// recorded, so the forward pass costs only its arithmetic.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// use nn::{Activation, Init, Mlp, Module, Session};
    /// let mlp = Mlp::<f32>::new(&[2, 2], Activation::Linear, Init::XavierUniform, 1)?;
    /// let tape = Tape::new();
    /// let s = Session::eval(&tape);
    /// let y = mlp.forward(&s, s.input(Tensor::zeros(&[4, 2])))?;
    /// assert!(!y.requires_grad());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn eval(tape: &'t Tape<T>) -> Self {
        Session {
            tape,
            bound: RefCell::new(BoundParams::new()),
            training: false,
        }
    }

    /// The tape this session records on.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// Whether parameters are tracked (a training session).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The parameter as a value on the tape, bound on first use.
    pub fn param(&self, p: &Param<T>) -> Var<'t, T> {
        if let Some(v) = self.bound.borrow().get(p.id()) {
            return v;
        }
        let v = if self.training && p.is_trainable() {
            self.tape.var(p.value().clone())
        } else {
            self.tape.constant(p.value().clone())
        };
        self.bound.borrow_mut().insert(p.id(), v);
        v
    }

    /// The value `p` is bound to in this session, if a layer has used it
    /// (the place to register a gradient hook on a parameter).
    pub fn bound(&self, p: &Param<T>) -> Option<Var<'t, T>> {
        self.bound.borrow().get(p.id())
    }

    /// Input data as a constant on the tape.
    pub fn input(&self, x: Tensor<T>) -> Var<'t, T> {
        self.tape.constant(x)
    }

    /// Input data as a tracked leaf, for when its gradient is wanted
    /// (saliency maps, adversarial examples, the note's δ at the input):
    /// pass it to [`grads_and_input_grads`](Self::grads_and_input_grads).
    /// Works in an evaluation session too, where only inputs are tracked.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// use nn::{Linear, Module, Session};
    /// // one linear layer y = xWᵀ: ∂(Σy)/∂x = Σ_rows W, whatever x is
    /// let w = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// let layer = Linear::from_tensors(w, None)?;
    /// let tape = Tape::new();
    /// let s = Session::eval(&tape);
    /// let x = s.input_with_grad(Tensor::from_vec(vec![0.3, -1.0, 2.0], &[1, 3])?);
    /// let loss = layer.forward(&s, x)?.sum()?;
    /// let (params, inputs) = s.grads_and_input_grads(loss, &[x])?;
    /// assert!(params.is_empty()); // evaluation: parameters are constants
    /// assert_eq!(inputs[0].data(), &[5.0, 7.0, 9.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn input_with_grad(&self, x: Tensor<T>) -> Var<'t, T> {
        self.tape.var(x)
    }

    /// Runs backward from the one-element `loss` and returns the gradient
    /// of every tracked parameter bound in this session, and of each of
    /// `inputs` (made by [`input_with_grad`](Self::input_with_grad); any
    /// tracked value of this tape will do), in their order.
    ///
    /// # Errors
    /// The errors of [`Var::backward`] (a loss with more than one element);
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) naming the
    /// position of an input that is not tracked (made by [`input`](Self::input)).
    #[track_caller]
    pub fn grads_and_input_grads(
        &self,
        loss: Var<'t, T>,
        inputs: &[Var<'t, T>],
    ) -> Result<(ParamGrads<T>, Vec<Tensor<T>>)> {
        let at = std::panic::Location::caller();
        if let Some(k) = inputs.iter().position(|x| !x.requires_grad()) {
            return Err(autodiff::Error::argument(
                "Session::grads_and_input_grads",
                format!(
                    "input {k} is not tracked: make it with Session::input_with_grad, not Session::input"
                ),
            )
            .at(at));
        }
        let grads = loss.backward().map_err(|e| e.at(at))?;
        let bound = self.bound.borrow();
        let mut out = IdMap::with_capacity_and_hasher(bound.len(), Default::default());
        for (id, var) in bound.iter() {
            if var.requires_grad() {
                out.insert(id, grads.wrt(var)?);
            }
        }
        let inputs = inputs
            .iter()
            .map(|&x| grads.wrt(x))
            .collect::<Result<Vec<_>>>()?;
        Ok((ParamGrads { grads: out }, inputs))
    }

    /// Runs backward from the one-element `loss` and returns the gradient
    /// of every parameter bound in this session.
    ///
    /// # Errors
    /// The errors of [`Var::backward`] (a loss with more than one element).
    #[track_caller]
    pub fn grads(&self, loss: Var<'t, T>) -> Result<ParamGrads<T>> {
        Ok(self.grads_and_input_grads(loss, &[])?.0)
    }
}

/// The gradients of a model's parameters after one backward sweep.
#[derive(Clone, Debug, Default)]
pub struct ParamGrads<T: Float> {
    grads: IdMap<Tensor<T>>,
}

impl<T: Float> ParamGrads<T> {
    /// The gradient of `p`, if it took part in the loss.
    pub fn get(&self, p: &Param<T>) -> Option<&Tensor<T>> {
        self.grads.get(&p.id())
    }

    /// The gradient of the parameter with identity `id`.
    pub fn by_id(&self, id: ParamId) -> Option<&Tensor<T>> {
        self.grads.get(&id)
    }

    /// How many parameters have a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }

    /// Sets the gradient of `p` (for gradients computed without a tape,
    /// such as [`manual::backprop`](crate::manual::backprop)).
    pub fn insert(&mut self, p: &Param<T>, grad: Tensor<T>) {
        self.grads.insert(p.id(), grad);
    }

    /// The sum of two sets of gradients, parameter by parameter (a
    /// parameter in one set only keeps its gradient): `self`'s buffers are
    /// updated in place where no other tensor shares them.
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when a parameter's
    /// two gradients differ in shape.
    pub fn added(mut self, other: &ParamGrads<T>) -> Result<ParamGrads<T>> {
        for (id, g) in &other.grads {
            match self.grads.get_mut(id) {
                Some(sum) if sum.shape() == g.shape() => {
                    for (a, &b) in sum.data_mut().iter_mut().zip(g.data()) {
                        *a += b;
                    }
                }
                Some(sum) => {
                    return Err(autodiff::Error::new(
                        autodiff::ErrorKind::Shape,
                        "ParamGrads::added",
                        format!(
                            "gradients of shapes {:?} and {:?} for one parameter",
                            sum.shape(),
                            g.shape()
                        ),
                    ))
                }
                None => {
                    self.grads.insert(*id, g.clone());
                }
            }
        }
        Ok(self)
    }

    /// Scales all gradients together so that their global norm is at most
    /// `max_norm` (PyTorch's `clip_grad_norm_`): when `‖g‖ > max_norm`,
    /// every gradient is multiplied by `max_norm/‖g‖`. Returns the norm
    /// before clipping.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// use nn::{Param, ParamGrads};
    /// let (a, b) = (Param::new(Tensor::<f64>::zeros(&[1])), Param::new(Tensor::zeros(&[1])));
    /// let mut grads = ParamGrads::default();
    /// grads.insert(&a, Tensor::from_vec(vec![3.0], &[1])?);
    /// grads.insert(&b, Tensor::from_vec(vec![4.0], &[1])?);
    /// assert_eq!(grads.clip_global_norm(1.0)?, 5.0);
    /// assert!((grads.global_norm() - 1.0).abs() < 1e-15);
    /// assert!((grads.get(&a).unwrap().data()[0] - 0.6).abs() < 1e-15); // the direction is kept
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a
    /// `max_norm` that is negative or not finite;
    /// [`ErrorKind::Anomaly`](autodiff::ErrorKind::Anomaly) when the
    /// gradients' norm is NaN or infinite (nothing is scaled).
    #[track_caller]
    pub fn clip_global_norm(&mut self, max_norm: f64) -> Result<f64> {
        let at = std::panic::Location::caller();
        if !(max_norm.is_finite() && max_norm >= 0.0) {
            return Err(autodiff::Error::argument(
                "ParamGrads::clip_global_norm",
                format!("max norm {max_norm} must be finite and ≥ 0"),
            )
            .at(at));
        }
        let norm = self.global_norm();
        if !norm.is_finite() {
            return Err(autodiff::Error::new(
                autodiff::ErrorKind::Anomaly,
                "ParamGrads::clip_global_norm",
                format!("the gradients' norm is {norm}"),
            )
            .at(at));
        }
        if norm > max_norm {
            let scale = T::of_f64(max_norm / norm);
            for g in self.grads.values_mut() {
                for v in g.data_mut() {
                    *v *= scale;
                }
            }
        }
        Ok(norm)
    }

    /// The Euclidean norm of all gradients together, `√Σ g²`.
    pub fn global_norm(&self) -> f64 {
        self.grads
            .values()
            .flat_map(|t| t.data().iter())
            .map(|&g| g.as_f64() * g.as_f64())
            .sum::<f64>()
            .sqrt()
    }
}
