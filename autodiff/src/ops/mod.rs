//! The built-in operations, one file per family. Each is an [`Op`](crate::Op)
//! — the same public trait a user implements — with a doc comment that
//! states its formula and its derivative. The methods on [`Var`](crate::Var)
//! that users call are defined beside them.

mod activation;
mod arith;
mod loss;
mod matmul;
mod reduce;
mod shape;
mod softmax;
mod unary;
