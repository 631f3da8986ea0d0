//! Neural-network building blocks for tapegrad, built only on the public API
//! of [`autodiff`].
//!
//! - [`Param`] and [`Session`]: parameters outlive tapes; a session binds
//!   them to a fresh tape each step and returns their gradients.
//! - [`Module`]: forward plus named parameters (`layers.0.weight`, …).
//! - [`layers`]: [`Linear`], [`Activation`], [`Sequential`], [`Mlp`].
//! - [`loss`]: cross-entropy, MSE, binary cross-entropy with logits;
//!   [`Regularization`]: L1 and L2 weight penalties as losses on the tape.
//! - [`optim`]: [`optim::Sgd`] (momentum, weight decay), [`optim::Adam`],
//!   step and cosine schedules.
//! - [`data`]: TensorFlow Playground's datasets and features, splits,
//!   shuffled mini-batches.
//! - [`manual`]: the lecture note's backprop by hand, no tape.
//! - [`save`] and [`load`]: model files in the safetensors format.
//!
//! # Training a Playground net
//!
//! ```
//! use autodiff::Tape;
//! use nn::data::{features, Batches, Dataset, Feature};
//! use nn::optim::{Optimizer, Sgd};
//! use nn::{Activation, Init, Mlp, Module, Session};
//!
//! let points = Dataset::Gauss.generate(200, 0.0, 1)?;
//! let x = features::<f32>(&points, &[Feature::X1, Feature::X2]);
//! let mut mlp = Mlp::new(&[2, 4, 2], Activation::Tanh, Init::Playground, 2)?;
//! let mut sgd = Sgd::new(0.1)?;
//! let mut batches = Batches::new(points.len(), 10, 3)?;
//! for _epoch in 0..5 {
//!     for batch in batches.epoch() {
//!         let tape = Tape::new();
//!         let s = Session::train(&tape);
//!         let xb = s.input(nn::data::rows(&x, &batch)?);
//!         let yb: Vec<usize> = batch.iter().map(|&i| points.labels[i]).collect();
//!         let loss = mlp.forward(&s, xb)?.cross_entropy(&yb)?;
//!         let grads = s.grads(loss)?;
//!         sgd.step(&mut mlp, &grads)?;
//!     }
//! }
//! let tape = Tape::new();
//! let s = Session::eval(&tape);
//! let logits = mlp.forward(&s, s.input(x))?.value();
//! assert!(nn::loss::accuracy(&logits, &points.labels)? > 0.95);
//! # Ok::<(), autodiff::Error>(())
//! ```

#![warn(missing_docs)]

pub mod approximation;
mod atomic_file;
mod bound;
pub mod chunked;
pub mod data;
#[cfg(feature = "mpi")]
pub mod distributed;
mod error;
mod init;
pub mod layers;
pub mod loss;
pub mod manual;
mod model_file;
pub mod models;
mod module;
pub mod ops;
pub mod optim;
mod param;
pub mod playground;
mod regularization;
mod session;

pub use atomic_file::write_atomically;
pub use autodiff;
pub use error::FileError;
pub use init::Init;
pub use layers::{
    Activation, AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten,
    LayerNorm, Linear, MaxPool2d, Mlp, Sequential,
};
pub use model_file::{load, load_with, save, LoadOptions};
pub use module::{join, Module};
pub use param::{Param, ParamId};
pub use regularization::Regularization;
pub use session::{ParamGrads, Session};
