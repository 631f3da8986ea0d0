//! Ready-made networks for the digit experiments.

use autodiff::{Float, Result};

use crate::init::Init;
use crate::layers::{Activation, Conv2d, Flatten, Linear, MaxPool2d, Sequential};

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
