//! Element-wise functions: exp, ln, sqrt, integer powers, abs.

use std::panic::Location;

use smallvec::smallvec;

use crate::error::Result;
use crate::float::Float;
use crate::kernels::elementwise;
use crate::tape::op::{BackwardCtx, InputGrads, Op, ValueGrads, ValuesCtx};
use crate::tape::Var;
use crate::tensor::Tensor;

/// The element-wise functions and their derivatives.
#[derive(Clone, Copy, Debug)]
enum Unary {
    /// `exp x`; d/dx = exp x (the output).
    Exp,
    /// `ln x`; d/dx = 1/x.
    Ln,
    /// `√x`; d/dx = 1/(2√x) (the output again).
    Sqrt,
    /// `xⁿ`; d/dx = n·xⁿ⁻¹.
    Powi(i32),
    /// `|x|`; d/dx = sign x, taken as 0 at x = 0.
    Abs,
}

impl<T: Float> Op<T> for Unary {
    fn name(&self) -> &str {
        match self {
            Unary::Exp => "exp",
            Unary::Ln => "ln",
            Unary::Sqrt => "sqrt",
            Unary::Powi(_) => "powi",
            Unary::Abs => "abs",
        }
    }

    fn forward(&mut self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(match *self {
            Unary::Exp => elementwise::map(x[0], T::exp),
            Unary::Ln => elementwise::map(x[0], T::ln),
            Unary::Sqrt => elementwise::map(x[0], T::sqrt),
            Unary::Powi(n) => elementwise::map(x[0], |v| v.powi(n)),
            Unary::Abs => elementwise::map(x[0], T::abs),
        })
    }

    fn backward<'t>(&self, ctx: &BackwardCtx<'t, T>, g: Var<'t, T>) -> Result<InputGrads<'t, T>> {
        let (x, y) = (ctx.input(0), ctx.output());
        let gx = match *self {
            Unary::Exp => g.mul(y)?,
            Unary::Ln => g.div(x)?,
            Unary::Sqrt => g.div(y)?.mul_scalar(T::of_f64(0.5))?,
            Unary::Powi(0) => g.mul_scalar(T::zero())?,
            Unary::Powi(1) => g,
            Unary::Powi(n) => g.mul(x.powi(n - 1)?)?.mul_scalar(T::of_f64(n as f64))?,
            Unary::Abs => {
                let sign = x.value().map(|v| {
                    if v > T::zero() {
                        T::one()
                    } else if v < T::zero() {
                        -T::one()
                    } else {
                        T::zero()
                    }
                });
                g.mul(g.tape().constant(sign))?
            }
        };
        Ok(smallvec![Some(gx)])
    }

    /// The same products, each in one pass.
    fn backward_values(
        &self,
        ctx: &ValuesCtx<'_, T>,
        g: &Tensor<T>,
    ) -> Option<Result<ValueGrads<T>>> {
        let (x, y) = (ctx.input(0), ctx.output());
        let gx = match *self {
            Unary::Exp => elementwise::zip_same(g, y, |g, y| g * y),
            Unary::Ln => elementwise::zip_same(g, x, |g, x| g / x),
            Unary::Sqrt => {
                let half = T::of_f64(0.5);
                elementwise::zip_same(g, y, move |g, y| (g / y) * half)
            }
            Unary::Powi(0) => elementwise::map(g, |g| g * T::zero()),
            Unary::Powi(1) => g.clone(),
            Unary::Powi(n) => {
                let c = T::of_f64(n as f64);
                elementwise::zip_same(g, x, move |g, x| (g * x.powi(n - 1)) * c)
            }
            Unary::Abs => elementwise::zip_same(g, x, |g, x| {
                g * if x > T::zero() {
                    T::one()
                } else if x < T::zero() {
                    -T::one()
                } else {
                    T::zero()
                }
            }),
        };
        Some(Ok(smallvec![Some(gx)]))
    }
}

impl<'t, T: Float> Var<'t, T> {
    fn unary(self, op: Unary, at: &'static std::panic::Location<'static>) -> Result<Self> {
        self.tape.apply_at(op, &[self], at)
    }

    /// `eˣ` element-wise. d/dx = eˣ.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0, 1.0], &[2])?);
    /// let y = x.exp()?;
    /// assert_eq!(y.value().data(), &[1.0, 1f64.exp()]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[1.0, 1f64.exp()]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn exp(self) -> Result<Self> {
        self.unary(Unary::Exp, Location::caller())
    }

    /// The natural logarithm element-wise. d/dx = 1/x.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 4.0], &[2])?);
    /// let y = x.ln()?;
    /// assert_eq!(y.value().data(), &[0.0, 4f64.ln()]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[1.0, 0.25]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn ln(self) -> Result<Self> {
        self.unary(Unary::Ln, Location::caller())
    }

    /// `√x` element-wise. d/dx = 1/(2√x).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![4.0, 16.0], &[2])?);
    /// let y = x.sqrt()?;
    /// assert_eq!(y.value().data(), &[2.0, 4.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[0.25, 0.125]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn sqrt(self) -> Result<Self> {
        self.unary(Unary::Sqrt, Location::caller())
    }

    /// `xⁿ` element-wise for an integer `n`. d/dx = n·xⁿ⁻¹.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![2.0, -1.0], &[2])?);
    /// let y = x.powi(3)?;
    /// assert_eq!(y.value().data(), &[8.0, -1.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[12.0, 3.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn powi(self, n: i32) -> Result<Self> {
        self.unary(Unary::Powi(n), Location::caller())
    }

    /// `x²` element-wise. d/dx = 2x.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![3.0, -1.0], &[2])?);
    /// let y = x.square()?;
    /// assert_eq!(y.value().data(), &[9.0, 1.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[6.0, -2.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn square(self) -> Result<Self> {
        self.unary(Unary::Powi(2), Location::caller())
    }

    /// `|x|` element-wise. d/dx = sign x, with the subgradient 0 at x = 0.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![-3.0, 0.0], &[2])?);
    /// let y = x.abs()?;
    /// assert_eq!(y.value().data(), &[3.0, 0.0]);
    /// assert_eq!(y.sum()?.backward()?.wrt(x)?.data(), &[-1.0, 0.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    #[track_caller]
    pub fn abs(self) -> Result<Self> {
        self.unary(Unary::Abs, Location::caller())
    }
}
