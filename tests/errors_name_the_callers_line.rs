//! Every fallible public entry point reports the caller's line: the error
//! of each call below must name this file and the line of the call, never a
//! line inside the library (`#[track_caller]` through the whole call path,
//! including closures, trait objects and nested layers).

use autodiff::{gradcheck, hessian, hvp, jacobian, jacobian_fwd, jvp, GradcheckOptions};
use autodiff::{Tape, Tensor, Var};
use nn::data::files::{Images, Labelled};
use nn::data::{rows, train_test_split, Batches, Dataset};
use nn::ops::{avg_pool2d, conv2d, max_pool2d, ConvGeometry, PoolGeometry};
use nn::optim::{Adam, Optimizer, Sgd};
use nn::{loss, playground, Activation, AvgPool2d, Conv2d, Flatten, Init, Linear, MaxPool2d};
use nn::{Mlp, Module, Param, Sequential, Session};

/// Asserts that `$call` fails with an error located at this very line.
macro_rules! fails_here {
    ($call:expr) => {{
        let line = line!();
        let e = $call
            .err()
            .expect(concat!(stringify!($call), " should fail"));
        let at = e
            .location()
            .unwrap_or_else(|| panic!("{} carries no location: {e}", stringify!($call)));
        assert_eq!(
            (at.file(), at.line()),
            (file!(), line),
            "{} reported {e}",
            stringify!($call)
        );
    }};
}

fn ones(shape: &[usize]) -> Tensor<f64> {
    Tensor::ones(shape)
}

#[test]
fn tensor_entry_points() {
    let t = ones(&[2, 3]);
    fails_here!(Tensor::from_vec(vec![1.0], &[2]));
    fails_here!(Tensor::<f64>::try_full(&[usize::MAX, 2], 0.0));
    fails_here!(t.reshape(&[4]));
    fails_here!(t.get(&[2, 0]));
    fails_here!(t.item());
    fails_here!(t.zip_map(&ones(&[3]), |a, b| a + b));
    fails_here!(t.max_abs_diff(&ones(&[3])));
}

#[test]
fn var_operations() {
    let tape = Tape::new();
    let x = tape.var(ones(&[2, 3]));
    let v = tape.var(ones(&[3]));
    fails_here!(x.add(tape.var(ones(&[4]))));
    fails_here!(x.matmul(x));
    fails_here!(x.linear(v, None));
    fails_here!(x.linear(tape.var(ones(&[4, 3])), Some(v)));
    fails_here!(x.reshape(&[5]));
    fails_here!(x.transpose(0, 5));
    fails_here!(v.t());
    fails_here!(x.permute(&[0, 0]));
    fails_here!(x.broadcast_to(&[4, 3]));
    fails_here!(x.sum_to(&[4]));
    fails_here!(x.narrow(1, 2, 5));
    fails_here!(x.index_select(0, &[9]));
    fails_here!(Var::concat(&[x, v], 0));
    fails_here!(tape.var(Tensor::scalar(1.0)).flatten_batch());
    fails_here!(x.sum_axes(&[7], false));
    fails_here!(x.softmax(3));
    fails_here!(x.cross_entropy(&[0, 9]));
}

#[test]
fn gradients_and_derivatives() {
    let tape = Tape::new();
    let x = tape.var(ones(&[2]));
    let y = x.exp().unwrap();
    let other = Tape::new();
    let foreign = other.var(ones(&[2]));
    fails_here!(y.backward());
    fails_here!(y.vjp(&ones(&[3])));
    fails_here!(y.backward_graph());
    fails_here!(y.vjp_graph(tape.var(ones(&[3])), &[]));
    fails_here!(y.grad(x));
    fails_here!(y.jacobian(foreign));
    let g = y.sum().unwrap().backward().unwrap();
    fails_here!(g.wrt(y));
    fails_here!(g.wrt(foreign));
    let vg = y.sum().unwrap().backward_graph().unwrap();
    fails_here!(vg.wrt(y));
    fails_here!(jvp(|v| v.mul(v), &ones(&[2]), &ones(&[3])));
    fails_here!(hvp(|v| v.sum(), &ones(&[2]), &ones(&[3])));
    fails_here!(hessian(|v| v.exp(), &ones(&[2])));
    fails_here!(jacobian(|v| v.reshape(&[3]), &ones(&[2])));
    fails_here!(jacobian_fwd(|v| v.reshape(&[3]), &ones(&[2])));
    let options = GradcheckOptions::default();
    // relu at 0: the tape says 0, central differences ½
    fails_here!(gradcheck(
        |_, xs| xs[0].relu(),
        &[Tensor::<f64>::zeros(&[2])],
        &options
    ));
}

#[test]
fn layers_through_modules_and_containers() {
    let tape = Tape::new();
    let s = Session::eval(&tape);
    let x = s.input(Tensor::<f64>::ones(&[2, 3, 4]));
    let linear = Linear::<f64>::new(4, 2, Init::PyTorch, 1);
    fails_here!(linear.forward(&s, x));
    let image = s.input(Tensor::<f64>::ones(&[1, 1, 3, 3]));
    let conv = Conv2d::<f64>::new(2, 1, (3, 3), 1, 0, Init::PyTorch, 1).unwrap();
    fails_here!(conv.forward(&s, image));
    fails_here!(<MaxPool2d as Module<f64>>::forward(
        &MaxPool2d::with_options(nn::ops::PoolOptions::new(5).stride(1)),
        &s,
        image
    ));
    fails_here!(<AvgPool2d as Module<f64>>::forward(
        &AvgPool2d::with_options(nn::ops::PoolOptions::new(0).stride(1)),
        &s,
        image
    ));
    fails_here!(<Flatten as Module<f64>>::forward(
        &Flatten,
        &s,
        s.input(Tensor::scalar(1.0))
    ));
    // the error arises three layers down, inside a Sequential of boxed modules
    let net = Sequential::<f64>::new()
        .push(Flatten)
        .push(Linear::new(9, 4, Init::PyTorch, 2))
        .push(Activation::Relu)
        .push(Linear::new(5, 2, Init::PyTorch, 3));
    fails_here!(net.forward(&s, image));
    let dyn_net: &dyn Module<f64> = &net;
    fails_here!(dyn_net.forward(&s, image));
    let mlp = Mlp::<f64>::new(&[4, 3, 2], Activation::Tanh, Init::PyTorch, 1).unwrap();
    fails_here!(mlp.forward(&s, s.input(ones(&[2, 5]))));
}

#[test]
fn layer_constructors_and_functional_ops() {
    let tape = Tape::new();
    let image = tape.var(Tensor::<f64>::ones(&[1, 1, 3, 3]));
    let w = tape.var(Tensor::<f64>::ones(&[1, 2, 3, 3]));
    fails_here!(Linear::from_tensors(ones(&[2]), None));
    fails_here!(Conv2d::<f64>::new(1, 1, (3, 3), 0, 0, Init::PyTorch, 1).map(|_| ()));
    fails_here!(Conv2d::from_tensors(ones(&[2, 2]), None, 1, 0));
    fails_here!(Mlp::<f64>::new(&[3], Activation::Relu, Init::PyTorch, 1));
    fails_here!(conv2d(image, w, None, 1, 0));
    fails_here!(conv2d(
        image,
        tape.var(ones(&[1, 1, 1, 1])),
        Some(image),
        1,
        0
    ));
    fails_here!(max_pool2d(image, 4, 1));
    fails_here!(avg_pool2d(image, 1, 0));
    fails_here!(ConvGeometry::new(&[1, 1, 3, 3], &[1, 2, 3, 3], 1, 0));
    fails_here!(PoolGeometry::new("max_pool2d", &[1, 1, 3], 2, 2));
    let mut p = Param::new(ones(&[2]));
    fails_here!(p.set_value(ones(&[3])));
}

#[test]
fn losses_sessions_and_optimizers() {
    let tape = Tape::new();
    let s = Session::train(&tape);
    let z = s.input(ones(&[2, 3]));
    fails_here!(loss::cross_entropy(z, &[0]));
    fails_here!(loss::mse(z, s.input(ones(&[3, 2]))));
    fails_here!(loss::accuracy(&ones(&[2, 3]), &[0]));
    fails_here!(loss::check_finite(f64::NAN, 1, 1));
    fails_here!(s.grads(z));
    fails_here!(Sgd::<f64>::new(f64::NAN));
    fails_here!(Sgd::<f64>::new(0.1).unwrap().momentum(2.0));
    fails_here!(Adam::<f64>::new(0.1).unwrap().eps(0.0));
    // a gradient of the wrong shape, through `dyn Optimizer`
    let mut mlp = Mlp::<f64>::new(&[2, 1], Activation::Relu, Init::PyTorch, 1).unwrap();
    let other = Mlp::<f64>::new(&[3, 1], Activation::Relu, Init::PyTorch, 1).unwrap();
    let tape2 = Tape::new();
    let s2 = Session::train(&tape2);
    let y = other.forward(&s2, s2.input(ones(&[1, 3]))).unwrap();
    let mut wrong = s2.grads(y.sum().unwrap()).unwrap();
    let g = wrong.get(&other.layers()[0].weight).unwrap().clone();
    wrong.insert(&mlp.layers()[0].weight, g);
    let opt: &mut dyn Optimizer<f64> = &mut Sgd::new(0.1).unwrap();
    fails_here!(opt.step(&mut mlp, &wrong));
}

#[test]
fn data_helpers_and_the_playground() {
    let images = Images {
        count: 1,
        rows: 1,
        cols: 1,
        pixels: vec![0],
        max_value: 255,
    };
    fails_here!(images.image(1));
    fails_here!(images.to_tensor::<f32>(&[1]));
    let set = Labelled {
        images,
        labels: vec![0],
    };
    fails_here!(set.select(&[1]));
    fails_here!(Dataset::Circle.generate(10, f64::NAN, 1));
    let points = Dataset::Circle.generate(4, 0.0, 1).unwrap();
    fails_here!(points.select(&[4]));
    fails_here!(train_test_split(4, f64::NAN, 1));
    fails_here!(Batches::new(4, 0, 1));
    fails_here!(rows(&ones(&[2, 2]), &[3]));
    let config = playground::Config {
        features: vec![],
        ..playground::Config::default()
    };
    fails_here!(playground::run(&config, |_, _| {}));
    let diverging = playground::Config {
        lr: 1e300,
        activation: Activation::Linear,
        epochs: 3,
        ..playground::Config::default()
    };
    fails_here!(playground::run(&diverging, |_, _| {}));
}
