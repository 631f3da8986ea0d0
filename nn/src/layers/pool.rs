//! Pooling and flattening layers (no parameters).

use autodiff::{Float, Result, Var};

use crate::module::Module;
use crate::ops::{avg_pool2d, max_pool2d};
use crate::param::Param;
use crate::session::Session;

macro_rules! no_params {
    () => {
        fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param<T>)) {}
        fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param<T>)) {}
    };
}

/// Max pooling over `kernel × kernel` windows with `stride` (see
/// [`ops::max_pool2d`](crate::ops::max_pool2d)).
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{MaxPool2d, Module, Session};
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// let y = MaxPool2d { kernel: 2, stride: 2 }.forward(&s, s.input(Tensor::<f32>::zeros(&[1, 3, 8, 6])))?;
/// assert_eq!(y.shape().as_slice(), &[1, 3, 4, 3]);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    /// The window size.
    pub kernel: usize,
    /// The stride.
    pub stride: usize,
}

impl<T: Float> Module<T> for MaxPool2d {
    fn forward<'t>(&self, _: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        max_pool2d(x, self.kernel, self.stride)
    }
    no_params!();
}

/// Average pooling over `kernel × kernel` windows with `stride` (see
/// [`ops::avg_pool2d`](crate::ops::avg_pool2d)).
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{AvgPool2d, Module, Session};
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// let y = AvgPool2d { kernel: 3, stride: 1 }.forward(&s, s.input(Tensor::<f32>::ones(&[2, 1, 4, 4])))?;
/// assert_eq!(y.value().data(), &[1.0; 8]);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    /// The window size.
    pub kernel: usize,
    /// The stride.
    pub stride: usize,
}

impl<T: Float> Module<T> for AvgPool2d {
    fn forward<'t>(&self, _: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        avg_pool2d(x, self.kernel, self.stride)
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
