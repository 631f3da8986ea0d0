//! Convolution, pooling and the SiLU activation, added to the tape through
//! autodiff's public extension point ([`autodiff::Op`]) — the same way a
//! user adds a layer.
//!
//! Every operation here comes with its adjoint as another operation, and
//! each backward rule is written with these operations, so gradients of
//! gradients work through convolutions and pooling too.
//!
//! | operation | y | ∂L/∂input | file |
//! |---|---|---|---|
//! | `conv2d` | y = conv(x, W) (stride, padding, dilation, groups) | `conv2d_input_grad`(ḡ, W), `conv2d_weight_grad`(x, ḡ) | `conv.rs` |
//! | `conv2d_input_grad` | convᵀₓ(ḡ, W) = col2im(Wᵀ·Ḡ) | conv(h, W) for ḡ; `conv2d_weight_grad`(h, ḡ) for W | `conv.rs` |
//! | `conv2d_weight_grad` | convᵀ_W(x, ḡ) = Ḡ·im2col(x)ᵀ | `conv2d_input_grad`(ḡ, K) for x; conv(x, K) for ḡ | `conv.rs` |
//! | `max_pool2d` | the maximum of each window | `max_pool2d_scatter`: ḡ to each window's first maximum | `pool.rs` |
//! | `max_pool2d_scatter` | ḡ added at the saved maxima | the gather of the same positions (`index_select`) | `pool.rs` |
//! | `avg_pool2d` | the mean of each window (sliding or adaptive) | `avg_pool2d_spread`: ḡ/size over each window | `pool.rs` |
//! | `avg_pool2d_spread` | ḡ/size spread over each window | `avg_pool2d` of the upstream gradient | `pool.rs` |
//! | `silu` | x·σ(x) | ḡ·(σ(x) + y·(1 − σ(x))) | `silu.rs` |
//! | `bce_with_logits` | max(z, 0) − z·y + ln(1 + e^−\|z\|) | (σ(z) − y)·ḡ/n for z, −z·ḡ/n for y | `../loss.rs` |
//!
//! Batch and layer normalisation ([`normalize`]) are compositions of
//! autodiff's operations.

mod conv;
mod geometry;
mod norm;
mod pool;
mod silu;

pub use conv::{conv2d, conv2d_with};
pub use geometry::{ConvGeometry, ConvOptions, Hw, PoolGeometry, PoolOptions, WindowSpans};
pub use norm::normalize;
pub use pool::{adaptive_avg_pool2d, avg_pool2d, avg_pool2d_with, max_pool2d, max_pool2d_with};
pub use silu::{silu, silu_eval};
