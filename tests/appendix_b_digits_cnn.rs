//! Appendix B in a test: a small CNN learns the real UCI 8×8 handwritten
//! digits (1,797 images, committed in data/digits). A seeded split holds out
//! 360 images; after 12 epochs of Adam (under a second) the test accuracy
//! must be far above chance (10 %): measured 97.8 %, asserted ≥ 95 %.

use autodiff::Tape;
use nn::data::files::load_digits;
use nn::data::{train_test_split, Batches};
use nn::optim::{Adam, Optimizer};
use nn::{loss, Activation, Conv2d, Flatten, Init, Linear, MaxPool2d, Module, Sequential, Session};

#[test]
fn a_small_cnn_learns_the_8x8_digits() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits/digits.csv.gz");
    let digits = load_digits(path).expect("data/digits/digits.csv.gz");
    let (train_idx, test_idx) = train_test_split(digits.len(), 360.0 / 1797.0, 7).unwrap();
    let (train, test) = (
        digits.select(&train_idx).unwrap(),
        digits.select(&test_idx).unwrap(),
    );

    // conv 3×3 (8 channels, padding 1) → ReLU → max-pool 2 → 8·4·4 = 128 → 10
    let mut net = Sequential::<f32>::new()
        .push(Conv2d::new(1, 8, (3, 3), 1, 1, Init::HeUniform, 1).unwrap())
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(128, 10, Init::HeUniform, 3));
    let accuracy = |net: &Sequential<f32>| {
        let tape = Tape::new();
        let s = Session::eval(&tape);
        let x = test
            .images
            .to_tensor((0..test.len()).collect::<Vec<_>>().as_slice())
            .unwrap();
        loss::accuracy(&net.forward(&s, s.input(x)).unwrap().value(), &test.labels).unwrap()
    };
    let before = accuracy(&net);
    let mut adam = Adam::new(0.01).unwrap();
    let mut batches = Batches::new(train.len(), 32, 11).unwrap();
    for _ in 0..12 {
        for batch in batches.epoch() {
            let tape = Tape::new();
            let s = Session::train(&tape);
            let labels: Vec<usize> = batch.iter().map(|&i| train.labels[i]).collect();
            let logits = net
                .forward(&s, s.input(train.images.to_tensor(&batch).unwrap()))
                .unwrap();
            let grads = s.grads(logits.cross_entropy(&labels).unwrap()).unwrap();
            adam.step(&mut net, &grads).unwrap();
        }
    }
    let after = accuracy(&net);
    println!("8×8 digits, held-out accuracy: {before:.3} untrained, {after:.3} after 12 epochs");
    assert!(
        before < 0.3,
        "an untrained net should be near chance, got {before}"
    );
    assert!(after >= 0.95, "test accuracy {after}");
}
