//! Layers: [`Linear`], [`Conv2d`], [`MaxPool2d`], [`AvgPool2d`],
//! [`AdaptiveAvgPool2d`], [`BatchNorm1d`], [`BatchNorm2d`], [`LayerNorm`],
//! [`Dropout`], [`Flatten`], [`Activation`], [`Sequential`], and the [`Mlp`].

mod activation;
mod conv;
mod dropout;
mod linear;
mod mlp;
mod norm;
mod pool;
mod sequential;

pub use activation::Activation;
pub use conv::Conv2d;
pub use dropout::Dropout;
pub use linear::Linear;
pub use mlp::Mlp;
pub use norm::{BatchNorm1d, BatchNorm2d, LayerNorm};
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, Flatten, MaxPool2d};
pub use sequential::Sequential;
