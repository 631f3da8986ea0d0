//! The built-in operations, one file per family. Each is an [`Op`](crate::Op)
//! — the same public trait a user implements — with a doc comment that
//! states its formula and its derivative. The methods on [`Var`](crate::Var)
//! that users call are defined beside them.
//!
//! # Every operation and its vector-Jacobian product
//!
//! For `y = f(x, …)` and the upstream gradient `ḡ = ∂L/∂y`, the rule gives
//! `∂L/∂x`. Broadcast inputs get the rule summed back to their shape
//! (`sum_to`). Each name is the operation's `Op::name` (as the graph
//! export, anomaly mode and errors print it); each has a row, checked
//! against central differences in f64 and f32, in
//! `tests/gradcheck_every_op.rs` (whose `every_operation_the_sources_define_has_a_row`
//! fails for an operation without one, and `every_operation_is_in_the_table`
//! for one missing here).
//!
//! | operation | y | ∂L/∂input | file |
//! |---|---|---|---|
//! | `add` | a + b | ḡ, ḡ | `arith.rs` |
//! | `sub` | a − b | ḡ, −ḡ | `arith.rs` |
//! | `mul` | a ⊙ b | ḡ ⊙ b, ḡ ⊙ a | `arith.rs` |
//! | `div` | a / b | ḡ / b, −ḡ ⊙ a / b² | `arith.rs` |
//! | `neg` | −x | −ḡ | `arith.rs` |
//! | `add_scalar` | x + c | ḡ | `arith.rs` |
//! | `mul_scalar` | c·x | c·ḡ | `arith.rs` |
//! | `div_scalar` | x / c | ḡ / c | `arith.rs` |
//! | `rsub_scalar` | c − x | −ḡ | `arith.rs` |
//! | `rdiv_scalar` | c / x | −ḡ ⊙ y / x | `arith.rs` |
//! | `exp` | eˣ | ḡ ⊙ y | `unary.rs` |
//! | `ln` | ln x | ḡ / x | `unary.rs` |
//! | `sqrt` | √x | ḡ / (2y) | `unary.rs` |
//! | `powi` | xⁿ | n·ḡ ⊙ xⁿ⁻¹ | `unary.rs` |
//! | `abs` | \|x\| | ḡ ⊙ sign(x) (0 at 0) | `unary.rs` |
//! | `relu` | max(x, 0) | ḡ ⊙ 1[x > 0] | `activation.rs` |
//! | `sigmoid` | 1/(1 + e⁻ˣ) | ḡ ⊙ y(1 − y) | `activation.rs` |
//! | `tanh` | tanh x | ḡ ⊙ (1 − y²) | `activation.rs` |
//! | `matmul` | A·B (batched, transposed operands) | ḡ·Bᵀ, Aᵀ·ḡ | `matmul.rs` |
//! | `linear` | X·Wᵀ + b (a dense layer; W is [out, in]) | ḡ·W, ḡᵀ·X, Σ_rows ḡ | `linear.rs` |
//! | `linear_relu` | relu(X·Wᵀ + b), one node | `linear`'s, with ḡ ⊙ 1[y > 0] for ḡ | `linear.rs` |
//! | `linear_sigmoid` | σ(X·Wᵀ + b), one node | `linear`'s, with ḡ ⊙ y(1 − y) for ḡ | `linear.rs` |
//! | `linear_tanh` | tanh(X·Wᵀ + b), one node | `linear`'s, with ḡ ⊙ (1 − y²) for ḡ | `linear.rs` |
//! | `max` | max over an axis | ḡ at the first maximum, 0 elsewhere | `reduce.rs` |
//! | `softmax` | eˣⁱ / Σ eˣʲ over an axis | y ⊙ (ḡ − Σ ḡ ⊙ y) | `softmax.rs` |
//! | `log_softmax` | x − ln Σ eˣʲ | ḡ − softmax(x) ⊙ Σ ḡ | `softmax.rs` |
//! | `cross_entropy` | −mean log softmax(z)[label] | (softmax(z) − onehot) · ḡ / n | `loss.rs` |
//! | `reshape` | the same values, another shape | ḡ reshaped back | `shape.rs` |
//! | `permute` | axes reordered | ḡ with the inverse permutation | `shape.rs` |
//! | `broadcast_to` | x repeated along new or unit axes | `sum_to`(ḡ, shape of x) | `shape.rs` |
//! | `sum_to` | x summed down to a shape (`sum`, `sum_axes`, `mean` build on it) | `broadcast_to`(ḡ, shape of x) | `shape.rs` |
//! | `narrow` | a slice along an axis | `pad_axis`(ḡ): zeros outside the slice | `shape.rs` |
//! | `pad_axis` | zeros around x along an axis | `narrow`(ḡ) | `shape.rs` |
//! | `concat` | inputs joined along an axis | the matching `narrow` of ḡ for each | `shape.rs` |
//! | `index_select` | rows picked by index (repeats allowed) | `index_add`: ḡ's rows added at their indices | `shape.rs` |
//! | `index_add` | zeros with x's rows added at indices | `index_select`(ḡ) | `shape.rs` |
//!
//! `sum`, `mean`, `sum_axes`, `mean_axes`, `square`, `t`, `transpose`,
//! `flatten_batch`, `identity` and the numbers-on-the-left operators
//! (`2.0 * x`) are compositions of the rows above. nn adds `conv2d`, its
//! two adjoints, the poolings and `bce_with_logits` (see `nn::ops`).

mod activation;
mod arith;
mod linear;
pub use linear::FusedActivation;
mod loss;
mod matmul;
mod reduce;
mod shape;
mod softmax;
mod unary;
