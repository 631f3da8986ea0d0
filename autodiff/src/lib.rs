//! Reverse-mode, tape-based automatic differentiation over n-dimensional
//! tensors, generic over `f32` and `f64`.
//!
//! - [`Tensor`]: an immutable, row-major n-dimensional array.
//! - [`Tape`]: a Wengert list. Operations on [`Var`]s (handles to values on
//!   the tape) append nodes; [`Var::backward`] sweeps them once in reverse.
//! - [`Grads`]: the gradients of the tracked leaves, asked for by their `Var`.
//! - [`Var::vjp`], [`Var::jacobian`], [`jacobian`]: vector-Jacobian products
//!   and full Jacobians.
//! - [`gradcheck`]: the tape's gradients against central finite differences.
//! - [`Op`]: the public extension point; every built-in operation is an `Op`
//!   too.
//! - [`Error`]: one error type; messages name the operation, the shapes and
//!   the calling source line.
//!
//! # A first example: the gradient of a tiny network
//!
//! ```
//! use autodiff::{Tape, Tensor};
//!
//! let tape = Tape::new();
//! let x = tape.constant(Tensor::from_vec(vec![1.0f64, 2.0], &[1, 2])?);
//! let w = tape.var(Tensor::from_vec(vec![0.5, -0.5, 0.25, 1.0], &[2, 2])?);
//! let b = tape.var(Tensor::from_vec(vec![0.1, 0.2], &[2])?);
//!
//! let z = x.matmul(w)?.add(b)?;          // z = x·W + b   (b broadcast over rows)
//! let loss = z.cross_entropy(&[1])?;     // L = −log softmax(z)₁
//! let grads = loss.backward()?;
//!
//! // ∂L/∂z = ŷ − y, so ∂L/∂b = ŷ − y and ∂L/∂W = xᵀ(ŷ − y)
//! let y_hat = z.softmax(-1)?.value();
//! let db = grads.wrt(b)?;
//! assert!((db.data()[0] - y_hat.data()[0]).abs() < 1e-15);
//! assert!((db.data()[1] - (y_hat.data()[1] - 1.0)).abs() < 1e-15);
//! assert_eq!(grads.wrt(w)?.shape(), &[2, 2]);
//! # Ok::<(), autodiff::Error>(())
//! ```
//!
//! # Errors instead of panics
//!
//! Every operation returns [`Result`]. Incompatible shapes, a bad axis or an
//! out-of-range label give an [`Error`] such as
//! `matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ (called at
//! src/main.rs:12:5)`. The operators `+ - * /` on `Var`s are sugar that
//! panics with that same message.

#![warn(missing_docs)]

pub mod activations;
mod check;
mod derivatives;
mod error;
mod float;
pub mod kernels;
mod ops;
pub mod shape;
mod tape;
mod tensor;

pub use check::{gradcheck, GradcheckOptions, GradcheckReport, GradcheckWorst};
pub use derivatives::{function, hessian, hvp, jacobian, jacobian_fwd, jvp};
pub use error::{Error, ErrorKind, Result, ResultExt};
pub use float::Float;
pub use ops::FusedActivation;
pub use shape::Shape;
pub use tape::{
    BackwardCtx, GradHook, Grads, InputGrads, Op, Tape, ValueGrads, ValuesCtx, Var, VarGrads,
};
pub use tensor::pool as tensor_pool;
pub use tensor::Tensor;

/// Re-exported so that custom operations can build [`InputGrads`] with
/// `smallvec![...]`.
pub use smallvec;
