//! Ready-made networks for the digit experiments.

use autodiff::{Float, Result};

use crate::init::Init;
use crate::layers::{
    Activation, AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d,
    Sequential,
};

/// LeNet-5 in today's form (LeCun et al. 1989/1998, with ReLU and max
/// pooling), for `[n, 1, 28, 28]` images and 10 classes:
/// conv 5×5 (6, padding 2) → ReLU → max-pool 2 → conv 5×5 (16) → ReLU →
/// max-pool 2 → flatten (400) → 120 → ReLU → 84 → ReLU → 10.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{models, Init, Module, Session};
/// let net = models::lenet5::<f32>(Init::HeUniform, 0)?;
/// assert_eq!(net.num_params(), 61_706);
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// assert_eq!(net.forward(&s, s.input(Tensor::zeros(&[2, 1, 28, 28])))?.shape().as_slice(), &[2, 10]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// None for these fixed sizes; the `Result` is the layers'.
#[track_caller]
pub fn lenet5<T: Float>(init: Init, seed: u64) -> Result<Sequential<T>> {
    Ok(Sequential::new()
        .push(Conv2d::new(1, 6, (5, 5), 1, 2, init, seed)?)
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Conv2d::new(6, 16, (5, 5), 1, 0, init, seed + 2)?)
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(400, 120, init, seed + 4))
        .push(Activation::Relu)
        .push(Linear::new(120, 84, init, seed + 6))
        .push(Activation::Relu)
        .push(Linear::new(84, 10, init, seed + 8)))
}

/// A multilayer perceptron on flattened `[n, 1, h, w]` images:
/// flatten → `h·w` → hidden… (ReLU) → 10.
///
/// ```
/// use nn::{models, Init, Module};
/// let net = models::image_mlp::<f32>(28 * 28, &[256, 128], Init::HeUniform, 0)?;
/// assert_eq!(net.num_params(), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a zero width.
#[track_caller]
pub fn image_mlp<T: Float>(
    pixels: usize,
    hidden: &[usize],
    init: Init,
    seed: u64,
) -> Result<Sequential<T>> {
    if pixels == 0 || hidden.contains(&0) {
        return Err(autodiff::Error::argument("image_mlp", "widths must be positive").at_caller());
    }
    let mut net = Sequential::new().push(Flatten);
    let mut fan_in = pixels;
    for (i, &width) in hidden.iter().enumerate() {
        net = net
            .push(Linear::new(fan_in, width, init, seed + 2 * i as u64))
            .push(Activation::Relu);
        fan_in = width;
    }
    Ok(net.push(Linear::new(
        fan_in,
        10,
        init,
        seed + 2 * hidden.len() as u64,
    )))
}

/// A small VGG-style CNN for `[n, 1, 28, 28]` images and 10 classes (after
/// Simonyan & Zisserman 2015: stacks of 3×3 convolutions, each with
/// batch normalisation, between 2×2 max-poolings; global average pooling
/// and dropout before the classifier):
///
/// `[conv 3×3 (16) → BN → ReLU] × 2 → max-pool 2 → [conv 3×3 (32) → BN →
/// ReLU] × 2 → max-pool 2 → conv 3×3 (64) → BN → ReLU → global average
/// pool → flatten (64) → dropout (p) → 10`
///
/// All convolutions have padding 1 and no bias (the batch norm's shift
/// takes its place). Train it in a [`Session::train`](crate::Session::train)
/// and evaluate in a [`Session::eval`](crate::Session::eval): batch norm and
/// dropout behave differently in the two.
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{models, Init, Module, Session};
/// let net = models::vgg_small::<f32>(0.25, Init::HeUniform, 0)?;
/// let tape = Tape::new();
/// let s = Session::eval(&tape);
/// assert_eq!(net.forward(&s, s.input(Tensor::zeros(&[2, 1, 28, 28])))?.shape().as_slice(), &[2, 10]);
/// assert!(net.param_names().contains(&"1.weight".to_string())); // the first batch norm's γ
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a dropout
/// probability outside [0, 1].
#[track_caller]
pub fn vgg_small<T: Float>(dropout: f64, init: Init, seed: u64) -> Result<Sequential<T>> {
    let mut net = Sequential::new();
    let mut channels = 1;
    let blocks: [(&[usize], bool); 3] = [(&[16, 16], true), (&[32, 32], true), (&[64], false)];
    let mut layer_seed = seed;
    for (widths, pool) in blocks {
        for &width in widths {
            let mut conv = Conv2d::new(channels, width, (3, 3), 1, 1, init, layer_seed)?;
            conv.bias = None;
            net = net
                .push(conv)
                .push(BatchNorm2d::new(width)?)
                .push(Activation::Relu);
            channels = width;
            layer_seed += 2;
        }
        if pool {
            net = net.push(MaxPool2d::new(2));
        }
    }
    Ok(net
        .push(AdaptiveAvgPool2d::new(1))
        .push(Flatten)
        .push(Dropout::new(dropout, seed.wrapping_add(1000))?)
        .push(Linear::new(channels, 10, init, layer_seed)))
}
