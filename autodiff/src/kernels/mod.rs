//! Plain numeric code on tensors: no tape in here.
//!
//! The operations (`src/ops/`) call these for their forward values and
//! their backward rules call operations, never kernels, so that the backward
//! pass can itself be recorded.

pub mod elementwise;
pub mod gemm;
pub(crate) mod layout;
mod malloc_cache;
pub(crate) mod reduce;
mod small_gemm;
pub mod split;
pub(crate) mod tanh_f32;
