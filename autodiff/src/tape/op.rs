//! The extension point: [`Op`], the trait every operation implements,
//! built-in or yours.
//!
//! An operation has a forward function on tensors and a backward rule on
//! [`Var`]s. Because the rule is written with differentiable operations, the
//! tape can record the backward pass itself and so take gradients of
//! gradients. With recording off, the same rule runs as plain tensor
//! arithmetic.
//!
//! # Example: a custom operation
//!
//! `cube(x) = x³`, with `∂cube/∂x = 3x²`:
//!
//! ```
//! use autodiff::{BackwardCtx, InputGrads, Op, Result, Tape, Tensor, Var, Float};
//!
//! struct Cube;
//!
//! impl<T: Float> Op<T> for Cube {
//!     fn name(&self) -> &str {
//!         "cube"
//!     }
//!     fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
//!         Ok(inputs[0].map(|x| x * x * x))
//!     }
//!     fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, grad: Var<'t, T>) -> Result<InputGrads<'t, T>> {
//!         let x = ctx.input(0);
//!         // ḡ · 3x², written with operations so that it is differentiable too
//!         let dx = grad.mul(x.square()?.mul_scalar(T::of_f64(3.0))?)?;
//!         Ok(InputGrads::from_elem(Some(dx), 1))
//!     }
//! }
//!
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
//! let y = tape.apply(Cube, &[x])?.sum()?;
//! let g = y.backward()?;
//! assert_eq!(g.wrt(x)?.data(), &[3.0, 12.0]);
//! # Ok::<(), autodiff::Error>(())
//! ```

use smallvec::SmallVec;

use super::{Tape, Var};
use crate::error::Result;
use crate::float::Float;
use crate::tensor::Tensor;

/// The gradients a backward rule returns: one entry per input, `None` where
/// the input gets no gradient (it is constant, or the rule chose not to).
/// Up to three inputs (`linear`'s input, weight and bias) are held inline.
pub type InputGrads<'t, T> = SmallVec<[Option<Var<'t, T>>; 3]>;

/// The gradients a tensor-level backward rule ([`Op::backward_values`])
/// returns: one entry per input, `None` where the input gets no gradient.
/// Up to three are held inline, without a heap allocation.
pub type ValueGrads<T> = SmallVec<[Option<Tensor<T>>; 3]>;

/// An operation that the tape can record: a forward function and its
/// backward rule (the vector-Jacobian product).
///
/// Implement it for a struct holding the operation's parameters (an axis, a
/// stride, ...). `forward` takes `&mut self`, so it may save what the
/// backward rule needs (indices of maxima, say); the struct is then kept on
/// the tape with the node. Record it with [`Tape::apply`].
pub trait Op<T: Float>: 'static {
    /// The operation's name, used in error messages and graph exports.
    fn name(&self) -> &str;

    /// Computes the output from the input values.
    ///
    /// # Errors
    /// Return an [`Error`](crate::Error) naming the operation and the shapes
    /// when the inputs do not fit together.
    fn forward(&mut self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>>;

    /// Given `grad` = ∂L/∂output, returns ∂L/∂input for each input: the
    /// vector-Jacobian product `gradᵀ · ∂output/∂input`.
    ///
    /// Write it with [`Var`] operations: they are recorded when the caller
    /// asks for a differentiable backward pass, and run as plain arithmetic
    /// otherwise. Each returned gradient must have its input's shape. Skip
    /// the work for inputs where [`BackwardCtx::needs_grad`] is false.
    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, grad: Var<'t, T>)
        -> Result<InputGrads<'t, T>>;

    /// The same vector-Jacobian product on plain tensors, for a backward
    /// pass that will not be differentiated again (the common
    /// [`Var::backward`]). Optional: return `None` (the default) and the tape
    /// runs [`backward`](Op::backward) unrecorded instead.
    ///
    /// Implement it when the rule can be computed faster on tensors than as
    /// a sequence of operations — fused into one pass, without temporaries,
    /// without recording anything. It must compute what `backward` computes:
    /// a plain sweep uses this rule, a recorded one (`backward_graph`,
    /// `grad`) the other. (The project's tests hold the built-in operations'
    /// two rules to the same numbers.)
    ///
    /// ```
    /// use autodiff::{BackwardCtx, InputGrads, Op, Result, Tape, Tensor, ValueGrads, ValuesCtx, Var, Float};
    /// use autodiff::smallvec::smallvec;
    /// /// cube(x) = x³, d/dx = 3x²
    /// struct Cube;
    /// impl<T: Float> Op<T> for Cube {
    ///     fn name(&self) -> &str { "cube" }
    ///     fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> { Ok(x[0].map(|v| v * v * v)) }
    ///     fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
    ///         let x = ctx.input(0);
    ///         Ok(smallvec![Some(g.mul(x.square()?.mul_scalar(T::of_f64(3.0))?)?)])
    ///     }
    ///     // ḡ · 3x² in one pass over the elements
    ///     fn backward_values(&self, ctx: &ValuesCtx<'_, T>, g: &Tensor<T>) -> Option<Result<ValueGrads<T>>> {
    ///         let three = T::of_f64(3.0);
    ///         Some(g.zip_map(ctx.input(0), |g, x| g * three * x * x).map(|d| smallvec![Some(d)]))
    ///     }
    /// }
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// let y = tape.apply(Cube, &[x])?.sum()?;
    /// assert_eq!(y.backward()?.wrt(x)?.data(), &[3.0, 12.0]);      // backward_values
    /// assert_eq!(y.grad(x)?.value().data(), &[3.0, 12.0]);         // backward, recorded
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        grad: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let _ = (ctx, grad);
        None
    }
}

/// What a tensor-level backward rule ([`Op::backward_values`]) can see: the
/// values of its inputs and output, and which inputs need a gradient.
pub struct ValuesCtx<'a, T: Float> {
    pub(crate) inputs: &'a [&'a Tensor<T>],
    pub(crate) output: &'a Tensor<T>,
    pub(crate) needs: &'a [bool],
}

impl<'a, T: Float> ValuesCtx<'a, T> {
    /// The value of input `i`.
    ///
    /// # Panics
    /// When `i` is not below [`num_inputs`](Self::num_inputs).
    pub fn input(&self, i: usize) -> &'a Tensor<T> {
        self.inputs[i]
    }

    /// The operation's output value (as computed by its forward function).
    pub fn output(&self) -> &'a Tensor<T> {
        self.output
    }

    /// How many inputs the operation has.
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Whether input `i` needs a gradient.
    pub fn needs_grad(&self, i: usize) -> bool {
        self.needs.get(i).copied().unwrap_or(false)
    }
}

/// What a backward rule can see: its inputs and output as [`Var`]s on the
/// tape, and which inputs need a gradient.
///
/// A rule that uses all of it: `y = a ⊙ b`, `∂L/∂a = ḡ ⊙ b`, `∂L/∂b = ḡ ⊙ a`.
///
/// ```
/// use autodiff::{BackwardCtx, InputGrads, Op, Result, Tape, Tensor, Var, Float};
/// use autodiff::smallvec::smallvec;
/// /// y = a·b for two tensors of one shape
/// struct Product;
/// impl<T: Float> Op<T> for Product {
///     fn name(&self) -> &str { "product" }
///     fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
///         Ok(Tensor::from_vec(x[0].data().iter().zip(x[1].data()).map(|(a, b)| *a * *b).collect(), x[0].shape())?)
///     }
///     fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
///         assert_eq!(ctx.num_inputs(), 2);
///         assert_eq!(ctx.output().shape(), ctx.input(0).shape());
///         let _same_tape = ctx.tape();
///         let ga = if ctx.needs_grad(0) { Some(g.mul(ctx.input(1))?) } else { None };
///         let gb = if ctx.needs_grad(1) { Some(g.mul(ctx.input(0))?) } else { None };
///         Ok(smallvec![ga, gb])
///     }
/// }
/// let tape = Tape::new();
/// let a = tape.var(Tensor::from_vec(vec![2.0, 3.0], &[2])?);
/// let b = tape.constant(Tensor::from_vec(vec![5.0, 7.0], &[2])?); // needs_grad(1) is false
/// let g = tape.apply(Product, &[a, b])?.sum()?.backward()?;
/// assert_eq!(g.wrt(a)?.data(), &[5.0, 7.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub struct BackwardCtx<'t, T: Float> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) inputs: super::Parents,
    pub(crate) output: usize,
    pub(crate) needs: SmallVec<[bool; 3]>,
}

impl<'t, T: Float> BackwardCtx<'t, T> {
    /// Input `i` of the operation.
    ///
    /// # Panics
    /// When `i` is not below [`num_inputs`](Self::num_inputs).
    pub fn input(&self, i: usize) -> Var<'t, T> {
        Var::from_id(self.tape, self.inputs[i])
    }

    /// The operation's output (as computed by its forward function).
    pub fn output(&self) -> Var<'t, T> {
        Var::from_id(self.tape, self.output)
    }

    /// How many inputs the operation has.
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Whether input `i` needs a gradient (it is, or depends on, a tracked leaf).
    pub fn needs_grad(&self, i: usize) -> bool {
        self.needs.get(i).copied().unwrap_or(false)
    }

    /// The tape, to make constants or apply other operations.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }
}
