//! Convolution and pooling, added to the tape through autodiff's public
//! extension point ([`autodiff::Op`]) — the same way a user adds a layer.
//!
//! Every operation here comes with its adjoint as another operation, and
//! each backward rule is written with these operations, so gradients of
//! gradients work through convolutions and pooling too.

mod conv;
mod geometry;
mod norm;
mod pool;

pub use conv::{conv2d, conv2d_with};
pub use geometry::{ConvGeometry, ConvOptions, Hw, PoolGeometry, PoolOptions, WindowSpans};
pub use norm::normalize;
pub use pool::{adaptive_avg_pool2d, avg_pool2d, avg_pool2d_with, max_pool2d, max_pool2d_with};
