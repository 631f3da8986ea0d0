//! Layers: [`Linear`], [`Conv2d`], [`MaxPool2d`], [`AvgPool2d`],
//! [`AdaptiveAvgPool2d`], [`Flatten`], [`Activation`], [`Sequential`], and the [`Mlp`].

mod activation;
mod conv;
mod linear;
mod mlp;
mod pool;
mod sequential;

pub use activation::Activation;
pub use conv::Conv2d;
pub use linear::Linear;
pub use mlp::Mlp;
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, Flatten, MaxPool2d};
pub use sequential::Sequential;
