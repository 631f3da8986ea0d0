//! Layers: [`Linear`], [`Activation`], [`Sequential`], and the [`Mlp`]
//! built from them.

mod activation;
mod linear;
mod mlp;
mod sequential;

pub use activation::Activation;
pub use linear::Linear;
pub use mlp::Mlp;
pub use sequential::Sequential;
