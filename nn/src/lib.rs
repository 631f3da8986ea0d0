//! Neural-network building blocks for tapegrad, built only on the public API
//! of [`autodiff`].
//!
//! This crate is being built: layers, losses, optimizers and data come with
//! the nn issue. Today it re-exports the autodiff prelude so that the
//! workspace layout is in place.

pub use autodiff;
