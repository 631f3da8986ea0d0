//! tapegrad: reverse-mode automatic differentiation over n-dimensional
//! tensors ([`autodiff`]) and neural-network building blocks on its public
//! API ([`nn`]).
//!
//! ```
//! use tapegrad::prelude::*;
//!
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3])?);
//! let y = x.softmax(-1)?;
//! let jac = y.jacobian(x)?; // diag(ŷ) − ŷŷᵀ
//! assert_eq!(jac.shape(), &[3, 3]);
//! # Ok::<(), tapegrad::autodiff::Error>(())
//! ```

pub use autodiff;
pub use nn;

/// The names most programs need: `use tapegrad::prelude::*;`.
pub mod prelude {
    pub use autodiff::{
        gradcheck, jacobian, BackwardCtx, Error, ErrorKind, Float, GradcheckOptions, Grads,
        InputGrads, Op, Result, Tape, Tensor, Var,
    };
}

/// The README's code blocks, compiled and run as doc tests so that they
/// stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
