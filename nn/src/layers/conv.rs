//! [`Conv2d`]: a 2-D convolution layer, PyTorch's weight layout.

use autodiff::{Error, Float, Result, Tensor, Var};

use crate::init::Init;
use crate::module::{visit_weight_bias, Module};
use crate::ops::{conv2d_with, ConvOptions};
use crate::param::Param;
use crate::session::Session;

/// A 2-D convolution layer: `y = conv2d(x, W) + b` (PyTorch's `Conv2d`,
/// with its stride, padding, dilation and groups in [`ConvOptions`]).
///
/// # Shapes
/// - input `[n, in_channels, h, w]`
/// - weight `[out_channels, in_channels/groups, kh, kw]`, bias `[out_channels]`
/// - output `[n, out_channels, (h + 2p − d(kh − 1) − 1)/s + 1, …]`
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{Conv2d, Init, Module, Session};
/// let conv = Conv2d::<f32>::new(1, 6, (5, 5), 1, 2, Init::PyTorch, 0)?;
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// let y = conv.forward(&s, s.input(Tensor::zeros(&[2, 1, 28, 28])))?;
/// assert_eq!(y.shape().as_slice(), &[2, 6, 28, 28]);
/// assert_eq!(conv.param_names(), ["weight", "bias"]);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d<T: Float> {
    /// `[out, in, kh, kw]`.
    pub weight: Param<T>,
    /// `[out]`, if the layer has one.
    pub bias: Option<Param<T>>,
    /// Stride, padding, dilation and groups.
    pub options: ConvOptions,
}

impl<T: Float> Conv2d<T> {
    /// A layer `in_channels → out_channels` with a `kernel = (kh, kw)`
    /// kernel, a square stride and padding, and a bias, initialised by
    /// `init` with `fan_in = in·kh·kw` and `fan_out = out·kh·kw`, from
    /// `seed` (the bias from `seed + 1`). [`with_options`](Self::with_options)
    /// takes dilation, groups and separate heights and widths.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a zero
    /// channel count, kernel extent or stride.
    #[track_caller]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        stride: usize,
        padding: usize,
        init: Init,
        seed: u64,
    ) -> Result<Self> {
        Self::with_options(
            in_channels,
            out_channels,
            kernel,
            ConvOptions::default().stride(stride).padding(padding),
            init,
            seed,
        )
    }

    /// A layer with PyTorch's settings: `options` holds the stride,
    /// padding, dilation and groups. The weight is
    /// `[out, in/groups, kh, kw]`, initialised by `init` with PyTorch's fans
    /// `fan_in = (in/groups)·kh·kw`, `fan_out = out·kh·kw`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// use nn::ops::ConvOptions;
    /// use nn::{Conv2d, Init, Module, Session};
    /// // depthwise 3×3 over 8 channels, stride (2, 1), padding 1
    /// let options = ConvOptions::default().stride((2, 1)).padding(1).groups(8);
    /// let conv = Conv2d::<f32>::with_options(8, 8, (3, 3), options, Init::PyTorch, 0)?;
    /// assert_eq!(conv.weight.value().shape(), &[8, 1, 3, 3]);
    /// let tape = Tape::new();
    /// let s = Session::eval(&tape);
    /// let y = conv.forward(&s, s.input(Tensor::zeros(&[1, 8, 10, 10])))?;
    /// assert_eq!(y.shape().as_slice(), &[1, 8, 5, 10]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a zero
    /// channel count, kernel extent, stride, dilation or group count, or
    /// channels that the groups do not divide.
    #[track_caller]
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        options: ConvOptions,
        init: Init,
        seed: u64,
    ) -> Result<Self> {
        let (kh, kw) = kernel;
        let groups = options.groups;
        let positive = [in_channels, out_channels, kh, kw, groups]
            .into_iter()
            .chain(options.stride)
            .chain(options.dilation)
            .all(|v| v > 0);
        if !positive || in_channels % groups != 0 || out_channels % groups != 0 {
            return Err(Error::argument(
                "Conv2d::new",
                format!(
                    "channels {in_channels} → {out_channels}, kernel {kh}×{kw}, stride {:?}, dilation {:?}, groups {groups}: \
                     all must be at least 1 and the groups must divide both channel counts",
                    options.stride, options.dilation
                ),
            )
            .at_caller());
        }
        let per_group = in_channels / groups;
        let (fan_in, fan_out) = (per_group * kh * kw, out_channels * kh * kw);
        let weight = init.weight(&[out_channels, per_group, kh, kw], fan_in, fan_out, seed);
        let bias = init.bias(&[out_channels], fan_in, seed.wrapping_add(1));
        Ok(Conv2d {
            weight: Param::new(weight),
            bias: Some(Param::new(bias)),
            options,
        })
    }

    /// A layer with the given weight `[out, in, kh, kw]` and optional bias.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// use nn::Conv2d;
    /// assert!(Conv2d::<f64>::from_tensors(Tensor::zeros(&[2, 1, 3, 3]), None, 1, 1).is_ok());
    /// assert!(Conv2d::<f64>::from_tensors(Tensor::zeros(&[2, 3, 3]), None, 1, 1).is_err());
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when the weight is
    /// not 4-D or the bias is not `[out]`.
    #[track_caller]
    pub fn from_tensors(
        weight: Tensor<T>,
        bias: Option<Tensor<T>>,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        let shape = weight.shape().to_vec();
        if shape.len() != 4 || bias.as_ref().is_some_and(|b| b.shape() != [shape[0]]) {
            return Err(Error::shape(
                "Conv2d",
                format!(
                    "weight {} (must be [out, in, kh, kw]) and bias {:?} (must be [out])",
                    autodiff::shape::fmt_shape(&shape),
                    bias.as_ref().map(|b| b.shape().to_vec())
                ),
            )
            .at_caller());
        }
        Ok(Conv2d {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
            options: ConvOptions::default().stride(stride).padding(padding),
        })
    }
}

impl<T: Float> Module<T> for Conv2d<T> {
    fn forward<'t>(&self, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        let bias = self.bias.as_ref().map(|b| s.param(b));
        conv2d_with(x, s.param(&self.weight), bias, self.options)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), f);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<T>)) {
        visit_weight_bias(prefix, &mut self.weight, self.bias.as_mut(), f);
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}
