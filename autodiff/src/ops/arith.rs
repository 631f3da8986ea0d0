//! Arithmetic with numpy broadcasting: `a + b`, `a − b`, `a ⊙ b`, `a / b`,
//! `−a`, and the same with a scalar constant.
//!
//! Broadcasting repeats an operand along axes where its extent is 1 (or
//! missing); the adjoint of that repetition is a sum, so every backward rule
//! ends with [`Var::sum_to`] the operand's shape.

use std::ops;
use std::panic::Location;

use smallvec::smallvec;

use crate::error::Result;
use crate::float::Float;
use crate::kernels::{elementwise, reduce};
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
use crate::tape::Var;
use crate::tensor::Tensor;

/// The four broadcasting binary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binary {
    /// `a + b`; ∂/∂a = 1, ∂/∂b = 1.
    Add,
    /// `a − b`; ∂/∂a = 1, ∂/∂b = −1.
    Sub,
    /// `a ⊙ b`; ∂/∂a = b, ∂/∂b = a.
    Mul,
    /// `a / b`; ∂/∂a = 1/b, ∂/∂b = −a/b² = −out/b.
    Div,
}

impl<T: Float> Op<T> for Binary {
    fn name(&self) -> &str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
        }
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let name = Op::<T>::name(self);
        match self {
            Binary::Add => elementwise::zip(name, x[0], x[1], |a, b| a + b),
            Binary::Sub => elementwise::zip(name, x[0], x[1], |a, b| a - b),
            Binary::Mul => elementwise::zip(name, x[0], x[1], |a, b| a * b),
            Binary::Div => elementwise::zip(name, x[0], x[1], |a, b| a / b),
        }
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let ga = if ctx.needs_grad(0) {
            let d = match self {
                Binary::Add | Binary::Sub => g,
                Binary::Mul => g.mul(b)?,
                Binary::Div => g.div(b)?,
            };
            Some(d.sum_to(&a.shape())?)
        } else {
            None
        };
        let gb = if ctx.needs_grad(1) {
            let d = match self {
                Binary::Add => g,
                Binary::Sub => g.neg()?,
                Binary::Mul => g.mul(a)?,
                Binary::Div => g.mul(ctx.output())?.div(b)?.neg()?,
            };
            Some(d.sum_to(&b.shape())?)
        } else {
            None
        };
        Ok(smallvec![ga, gb])
    }

    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        Some(self.values_rule(ctx, g))
    }
}

impl Binary {
    /// The backward rule on tensors: the same products as [`Op::backward`],
    /// each a single pass (a broadcast operand read in place).
    fn values_rule<T: Float>(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Result<ValueGrads<T>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let name = Op::<T>::name(self);
        let ga = if ctx.needs_grad(0) {
            let d = match self {
                Binary::Add | Binary::Sub => g.clone(),
                Binary::Mul => elementwise::zip(name, g, b, |g, b| g * b)?,
                Binary::Div => elementwise::zip(name, g, b, |g, b| g / b)?,
            };
            Some(reduce::sum_to_owned(d, a.shape()))
        } else {
            None
        };
        let gb = if ctx.needs_grad(1) {
            Some(match self {
                Binary::Add => reduce::sum_to(g, b.shape()),
                Binary::Sub => elementwise::map(&reduce::sum_to(g, b.shape()), |v| -v),
                Binary::Mul => {
                    reduce::sum_to_owned(elementwise::zip(name, g, a, |g, a| g * a)?, b.shape())
                }
                Binary::Div => {
                    let gy = elementwise::zip_same(g, ctx.output(), |g, y| g * y);
                    let d = elementwise::zip(name, &gy, b, |gy, b| -(gy / b))?;
                    reduce::sum_to_owned(d, b.shape())
                }
            })
        } else {
            None
        };
        Ok(smallvec![ga, gb])
    }
}

/// Operations of a tensor with a scalar constant `c`.
#[derive(Clone, Copy, Debug)]
enum WithScalar<T> {
    /// `x + c`; ∂/∂x = 1.
    Add(T),
    /// `x · c`; ∂/∂x = c.
    Mul(T),
    /// `x / c`; ∂/∂x = 1/c.
    Div(T),
    /// `c − x`; ∂/∂x = −1.
    SubFrom(T),
    /// `c / x`; ∂/∂x = −c/x² = −y/x.
    DivInto(T),
    /// `−x`; ∂/∂x = −1.
    Neg,
}

impl<T: Float> Op<T> for WithScalar<T> {
    fn name(&self) -> &str {
        match self {
            WithScalar::Add(_) => "add_scalar",
            WithScalar::Mul(_) => "mul_scalar",
            WithScalar::Div(_) => "div_scalar",
            WithScalar::SubFrom(_) => "rsub_scalar",
            WithScalar::DivInto(_) => "rdiv_scalar",
            WithScalar::Neg => "neg",
        }
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(match *self {
            WithScalar::Add(c) => elementwise::map(x[0], move |v| v + c),
            WithScalar::Mul(c) => elementwise::map(x[0], move |v| v * c),
            WithScalar::Div(c) => elementwise::map(x[0], move |v| v / c),
            WithScalar::SubFrom(c) => elementwise::map(x[0], move |v| c - v),
            WithScalar::DivInto(c) => elementwise::map(x[0], move |v| c / v),
            WithScalar::Neg => elementwise::map(x[0], |v| -v),
        })
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let gx = match *self {
            WithScalar::Add(_) => g,
            WithScalar::Mul(c) => g.mul_scalar(c)?,
            WithScalar::Div(c) => g.div_scalar(c)?,
            WithScalar::SubFrom(_) | WithScalar::Neg => g.neg()?,
            // −ḡ·y/x, recorded through y = c/x so that it differentiates again
            WithScalar::DivInto(_) => g.mul(ctx.output())?.div(ctx.input(0))?.neg()?,
        };
        Ok(smallvec![Some(gx)])
    }

    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let gx = match *self {
            WithScalar::Add(_) => g.clone(),
            WithScalar::Mul(c) => elementwise::map(g, move |v| v * c),
            WithScalar::Div(c) => elementwise::map(g, move |v| v / c),
            WithScalar::SubFrom(_) | WithScalar::Neg => elementwise::map(g, |v| -v),
            WithScalar::DivInto(_) => {
                let (x, y) = (ctx.input(0), ctx.output());
                let data = g
                    .data()
                    .iter()
                    .zip(y.data())
                    .zip(x.data())
                    .map(|((&g, &y), &x)| -(g * y / x))
                    .collect();
                return Some(Tensor::from_vec(data, g.shape()).map(|t| smallvec![Some(t)]));
            }
        };
        Some(Ok(smallvec![Some(gx)]))
    }
}

// The fallible `add`/`sub`/`mul`/`div`/`neg` share their names with the
// operator traits on purpose: the traits below are implemented as sugar for
// them (and panic where these return `Err`).
#[allow(clippy::should_implement_trait)]
impl<'t, T: Float> Var<'t, T> {
    fn binary(self, op: Binary, other: Var<'t, T>, at: &'static Location<'static>) -> Result<Self> {
        self.tape.apply_at(op, &[self, other], at)
    }

    fn with_scalar(self, op: WithScalar<T>, at: &'static Location<'static>) -> Result<Self> {
        self.tape.apply_at(op, &[self], at)
    }

    /// `self + other`, broadcasting. ∂/∂self = 1, ∂/∂other = 1 (summed over
    /// broadcast axes).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let b = tape.var(Tensor::from_vec(vec![10.0, 20.0], &[2])?); // broadcast over rows
    /// let y = a.add(b)?;
    /// assert_eq!(y.value().data(), &[11.0, 22.0, 13.0, 24.0]);
    /// let g = y.sum()?.backward()?;
    /// assert_eq!(g.wrt(a)?.data(), &[1.0, 1.0, 1.0, 1.0]);
    /// assert_eq!(g.wrt(b)?.data(), &[2.0, 2.0]); // summed over the broadcast rows
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the shapes do not broadcast.
    #[track_caller]
    pub fn add(self, other: Var<'t, T>) -> Result<Self> {
        self.binary(Binary::Add, other, Location::caller())
    }

    /// `self − other`, broadcasting. ∂/∂self = 1, ∂/∂other = −1.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let b = tape.var(Tensor::from_vec(vec![10.0, 20.0], &[2])?); // broadcast over rows
    /// let y = a.sub(b)?;
    /// assert_eq!(y.value().data(), &[-9.0, -18.0, -7.0, -16.0]);
    /// let g = y.sum()?.backward()?;
    /// assert_eq!(g.wrt(a)?.data(), &[1.0, 1.0, 1.0, 1.0]);
    /// assert_eq!(g.wrt(b)?.data(), &[-2.0, -2.0]); // summed over the broadcast rows
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the shapes do not broadcast.
    #[track_caller]
    pub fn sub(self, other: Var<'t, T>) -> Result<Self> {
        self.binary(Binary::Sub, other, Location::caller())
    }

    /// `self ⊙ other` (element-wise), broadcasting. ∂/∂self = other,
    /// ∂/∂other = self.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let b = tape.var(Tensor::from_vec(vec![10.0, 20.0], &[2])?); // broadcast over rows
    /// let y = a.mul(b)?;
    /// assert_eq!(y.value().data(), &[10.0, 40.0, 30.0, 80.0]);
    /// let g = y.sum()?.backward()?;
    /// assert_eq!(g.wrt(a)?.data(), &[10.0, 20.0, 10.0, 20.0]);
    /// assert_eq!(g.wrt(b)?.data(), &[4.0, 6.0]); // summed over the broadcast rows
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the shapes do not broadcast.
    #[track_caller]
    pub fn mul(self, other: Var<'t, T>) -> Result<Self> {
        self.binary(Binary::Mul, other, Location::caller())
    }

    /// `self / other` (element-wise), broadcasting. ∂/∂self = 1/other,
    /// ∂/∂other = −self/other².
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let b = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?); // broadcast over rows
    /// let y = a.div(b)?;
    /// assert_eq!(y.value().data(), &[1.0, 1.0, 3.0, 2.0]);
    /// let g = y.sum()?.backward()?;
    /// assert_eq!(g.wrt(a)?.data(), &[1.0, 0.5, 1.0, 0.5]);
    /// assert_eq!(g.wrt(b)?.data(), &[-4.0, -1.5]); // summed over the broadcast rows
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the shapes do not broadcast.
    #[track_caller]
    pub fn div(self, other: Var<'t, T>) -> Result<Self> {
        self.binary(Binary::Div, other, Location::caller())
    }

    /// `−self`. ∂/∂self = −1.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, -2.0], &[2])?);
    /// let y = x.neg()?;
    /// assert_eq!(y.value().data(), &[-1.0, 2.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[-1.0, -1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn neg(self) -> Result<Self> {
        self.with_scalar(WithScalar::Neg, Location::caller())
    }

    /// `self + c`. ∂/∂self = 1.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, -2.0], &[2])?);
    /// let y = x.add_scalar(0.5)?;
    /// assert_eq!(y.value().data(), &[1.5, -1.5]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[1.0, 1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn add_scalar(self, c: T) -> Result<Self> {
        self.with_scalar(WithScalar::Add(c), Location::caller())
    }

    /// `self − c`. ∂/∂self = 1.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, -2.0], &[2])?);
    /// let y = x.sub_scalar(0.5)?;
    /// assert_eq!(y.value().data(), &[0.5, -2.5]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[1.0, 1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn sub_scalar(self, c: T) -> Result<Self> {
        self.with_scalar(WithScalar::Add(-c), Location::caller())
    }

    /// `c − self` (the reversed `sub_scalar`; PyTorch's `rsub`; `c - x`
    /// with the operator). ∂/∂self = −1.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, -2.0], &[2])?);
    /// let y = x.rsub_scalar(1.0)?;
    /// assert_eq!(y.value().data(), &[0.0, 3.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[-1.0, -1.0]);
    /// assert_eq!((1.0f64 - x).value().data(), y.value().data());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn rsub_scalar(self, c: T) -> Result<Self> {
        self.with_scalar(WithScalar::SubFrom(c), Location::caller())
    }

    /// The old name of [`rsub_scalar`](Self::rsub_scalar) (`c − self`).
    #[deprecated(
        since = "0.2.0",
        note = "renamed `rsub_scalar` (c − x), beside `sub_scalar` (x − c)"
    )]
    #[track_caller]
    pub fn scalar_sub(self, c: T) -> Result<Self> {
        self.with_scalar(WithScalar::SubFrom(c), Location::caller())
    }

    /// `c / self` (the reversed `div_scalar`; `c / x` with the operator).
    /// ∂/∂self = −c/self².
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![2.0, -4.0], &[2])?);
    /// let y = x.rdiv_scalar(8.0)?;
    /// assert_eq!(y.value().data(), &[4.0, -2.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[-2.0, -0.5]); // −8/x²
    /// assert_eq!((8.0f64 / x).value().data(), y.value().data());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn rdiv_scalar(self, c: T) -> Result<Self> {
        self.with_scalar(WithScalar::DivInto(c), Location::caller())
    }

    /// `self · c`. ∂/∂self = c.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, -2.0], &[2])?);
    /// let y = x.mul_scalar(3.0)?;
    /// assert_eq!(y.value().data(), &[3.0, -6.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[3.0, 3.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn mul_scalar(self, c: T) -> Result<Self> {
        self.with_scalar(WithScalar::Mul(c), Location::caller())
    }

    /// `self / c`. ∂/∂self = 1/c.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, -2.0], &[2])?);
    /// let y = x.div_scalar(2.0)?;
    /// assert_eq!(y.value().data(), &[0.5, -1.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[0.5, 0.5]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn div_scalar(self, c: T) -> Result<Self> {
        self.with_scalar(WithScalar::Div(c), Location::caller())
    }
}

macro_rules! operator_sugar {
    ($trait:ident, $method:ident) => {
        impl<'t, T: Float> ops::$trait<Var<'t, T>> for Var<'t, T> {
            type Output = Var<'t, T>;

            /// Operator sugar: **panics** with the fallible method's error message.
            #[track_caller]
            fn $method(self, other: Var<'t, T>) -> Var<'t, T> {
                match Var::$method(self, other) {
                    Ok(v) => v,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    };
}

operator_sugar!(Add, add);
operator_sugar!(Sub, sub);
operator_sugar!(Mul, mul);
operator_sugar!(Div, div);

macro_rules! scalar_sugar {
    ($trait:ident, $method:ident, $scalar_method:ident) => {
        impl<'t, T: Float> ops::$trait<T> for Var<'t, T> {
            type Output = Var<'t, T>;

            /// Operator sugar for the scalar variant (never fails).
            #[track_caller]
            fn $method(self, c: T) -> Var<'t, T> {
                match self.$scalar_method(c) {
                    Ok(v) => v,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    };
}

scalar_sugar!(Add, add, add_scalar);
scalar_sugar!(Sub, sub, sub_scalar);
scalar_sugar!(Mul, mul, mul_scalar);
scalar_sugar!(Div, div, div_scalar);

// The number on the left: `2.0 * x`, `1.0 - x`, `10.0 / x`. Rust's
// coherence rules need one impl per concrete float type.
macro_rules! scalar_left_sugar {
    ($float:ty: $($trait:ident, $method:ident, $var_method:ident;)*) => {$(
        impl<'t> ops::$trait<Var<'t, $float>> for $float {
            type Output = Var<'t, $float>;

            /// Operator sugar with the number on the left (never fails).
            #[track_caller]
            fn $method(self, x: Var<'t, $float>) -> Var<'t, $float> {
                match x.$var_method(self) {
                    Ok(v) => v,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    )*};
}

scalar_left_sugar!(f32: Add, add, add_scalar; Sub, sub, rsub_scalar; Mul, mul, mul_scalar; Div, div, rdiv_scalar;);
scalar_left_sugar!(f64: Add, add, add_scalar; Sub, sub, rsub_scalar; Mul, mul, mul_scalar; Div, div, rdiv_scalar;);

impl<'t, T: Float> ops::Neg for Var<'t, T> {
    type Output = Var<'t, T>;

    #[track_caller]
    fn neg(self) -> Var<'t, T> {
        match Var::neg(self) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }
}
