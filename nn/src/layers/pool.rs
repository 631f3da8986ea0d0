//! Pooling and flattening layers (no parameters).

use autodiff::{Float, Result, Var};

use crate::module::Module;
use crate::ops::{adaptive_avg_pool2d, avg_pool2d_with, max_pool2d_with, Hw, PoolOptions};
use crate::param::Param;
use crate::session::Session;

macro_rules! no_params {
    () => {
        fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param<T>)) {}
        fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param<T>)) {}
    };
}

/// Max pooling (PyTorch's `MaxPool2d`; see
/// [`ops::max_pool2d_with`](crate::ops::max_pool2d_with)): a window, a
/// stride that defaults to the window, padding, `ceil_mode`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::ops::PoolOptions;
/// use nn::{MaxPool2d, Module, Session};
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// let x = s.input(Tensor::<f32>::zeros(&[1, 3, 8, 6]));
/// assert_eq!(MaxPool2d::new(2).forward(&s, x)?.shape().as_slice(), &[1, 3, 4, 3]);
/// let overlapping = MaxPool2d::with_options(PoolOptions::new(3).stride(2).padding(1));
/// assert_eq!(overlapping.forward(&s, x)?.shape().as_slice(), &[1, 3, 4, 3]);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Window, stride, padding and rounding.
    pub options: PoolOptions,
}

impl MaxPool2d {
    /// `kernel` windows moved by their own size.
    pub fn new(kernel: impl Into<Hw>) -> Self {
        MaxPool2d {
            options: PoolOptions::new(kernel),
        }
    }

    /// With all of PyTorch's settings.
    pub fn with_options(options: PoolOptions) -> Self {
        MaxPool2d { options }
    }
}

impl<T: Float> Module<T> for MaxPool2d {
    fn forward<'t>(&self, _: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        max_pool2d_with(x, self.options)
    }
    no_params!();
}

/// Average pooling (PyTorch's `AvgPool2d`, counting padding in the
/// divisor; see [`ops::avg_pool2d_with`](crate::ops::avg_pool2d_with)).
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::ops::PoolOptions;
/// use nn::{AvgPool2d, Module, Session};
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// let pool = AvgPool2d::with_options(PoolOptions::new(3).stride(1));
/// let y = pool.forward(&s, s.input(Tensor::<f32>::ones(&[2, 1, 4, 4])))?;
/// assert_eq!(y.value().data(), &[1.0; 8]);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    /// Window, stride, padding and rounding.
    pub options: PoolOptions,
}

impl AvgPool2d {
    /// `kernel` windows moved by their own size.
    pub fn new(kernel: impl Into<Hw>) -> Self {
        AvgPool2d {
            options: PoolOptions::new(kernel),
        }
    }

    /// With all of PyTorch's settings.
    pub fn with_options(options: PoolOptions) -> Self {
        AvgPool2d { options }
    }
}

impl<T: Float> Module<T> for AvgPool2d {
    fn forward<'t>(&self, _: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        avg_pool2d_with(x, self.options)
    }
    no_params!();
}

/// Adaptive average pooling to a fixed output size (PyTorch's
/// `AdaptiveAvgPool2d`; see [`ops::adaptive_avg_pool2d`](crate::ops::adaptive_avg_pool2d)).
/// `AdaptiveAvgPool2d::new(1)` is global average pooling.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{AdaptiveAvgPool2d, Module, Session};
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// let y = AdaptiveAvgPool2d::new(1).forward(&s, s.input(Tensor::<f32>::ones(&[2, 5, 7, 3])))?;
/// assert_eq!(y.shape().as_slice(), &[2, 5, 1, 1]);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d {
    /// The output `[height, width]`.
    pub output: [usize; 2],
}

impl AdaptiveAvgPool2d {
    /// Pooling to `output` (a number for both extents, or a pair).
    pub fn new(output: impl Into<Hw>) -> Self {
        AdaptiveAvgPool2d {
            output: output.into().0,
        }
    }
}

impl<T: Float> Module<T> for AdaptiveAvgPool2d {
    fn forward<'t>(&self, _: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        adaptive_avg_pool2d(x, self.output)
    }
    no_params!();
}

/// Flattens everything after the batch axis: `[n, c, h, w] → [n, c·h·w]`.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{Flatten, Module, Session};
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// let y = Flatten.forward(&s, s.input(Tensor::<f32>::zeros(&[2, 16, 5, 5])))?;
/// assert_eq!(y.shape().as_slice(), &[2, 400]);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<T: Float> Module<T> for Flatten {
    fn forward<'t>(&self, _: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        x.flatten_batch()
    }
    no_params!();
}
