//! Appendix B: convolution and pooling, built in `nn` through autodiff's
//! public extension point. The forward pass is checked against a direct
//! convolution written here with plain loops; gradients against finite
//! differences (gradcheck, f64).

use autodiff::{gradcheck, GradcheckOptions, Tape, Tensor};
use nn::ops::{avg_pool2d, conv2d, max_pool2d};

/// The definition, loop by loop:
/// y[n,o,oy,ox] = b[o] + Σ_{c,i,j} w[o,c,i,j] · x[n,c,oy·s+i−p,ox·s+j−p] (0 outside).
fn direct_conv(
    x: &Tensor<f64>,
    w: &Tensor<f64>,
    b: Option<&Tensor<f64>>,
    s: usize,
    p: usize,
) -> Tensor<f64> {
    let (&[n, c, h, wd], &[o, _, kh, kw]) = (x.shape(), w.shape()) else {
        panic!()
    };
    let ho = (h + 2 * p - kh) / s + 1;
    let wo = (wd + 2 * p - kw) / s + 1;
    Tensor::from_fn(&[n, o, ho, wo], |idx| {
        let (bn, bo, oy, ox) = (idx[0], idx[1], idx[2], idx[3]);
        let mut acc = b.map_or(0.0, |b| b.data()[bo]);
        for ch in 0..c {
            for i in 0..kh {
                for j in 0..kw {
                    let (y, xx) = (
                        (oy * s + i) as isize - p as isize,
                        (ox * s + j) as isize - p as isize,
                    );
                    if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < wd {
                        acc += w.get(&[bo, ch, i, j]).unwrap()
                            * x.get(&[bn, ch, y as usize, xx as usize]).unwrap();
                    }
                }
            }
        }
        acc
    })
}

/// (batch, in channels, h, w, out channels, kh, kw, stride, padding)
type ConvCase = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);

const SHAPES: [ConvCase; 11] = [
    (1, 1, 5, 5, 1, 3, 3, 1, 0),
    (2, 1, 6, 6, 3, 3, 3, 1, 1),
    (2, 3, 7, 5, 2, 3, 3, 2, 0),
    (1, 3, 6, 7, 4, 2, 3, 1, 2),
    (3, 1, 8, 8, 2, 5, 5, 1, 2),
    (2, 3, 9, 6, 3, 3, 2, 2, 1),
    (1, 1, 4, 9, 2, 1, 4, 1, 0),
    (2, 2, 5, 5, 1, 5, 5, 1, 0),
    (1, 3, 7, 7, 2, 3, 3, 3, 2),
    (4, 1, 6, 5, 5, 2, 2, 2, 1),
    // more samples than the input gradient turns into columns at once
    (10, 2, 5, 5, 3, 3, 3, 1, 1),
];

#[test]
fn conv2d_forward_equals_the_direct_convolution() {
    for (k, &(n, c, h, w, o, kh, kw, s, p)) in SHAPES.iter().enumerate() {
        let seed = k as u64;
        let x = Tensor::rand_uniform(&[n, c, h, w], -1.0, 1.0, seed);
        let wt = Tensor::rand_uniform(&[o, c, kh, kw], -1.0, 1.0, seed + 50);
        let b = Tensor::rand_uniform(&[o], -1.0, 1.0, seed + 100);
        let tape = Tape::new();
        let y = conv2d(
            tape.constant(x.clone()),
            tape.constant(wt.clone()),
            Some(tape.constant(b.clone())),
            s,
            p,
        )
        .unwrap()
        .value();
        let want = direct_conv(&x, &wt, Some(&b), s, p);
        assert_eq!(y.shape(), want.shape(), "shape {k}");
        let diff = y.max_abs_diff(&want).unwrap();
        assert!(diff < 1e-12, "shape {k} {:?}: {diff:e}", SHAPES[k]);
    }
}

#[test]
fn conv2d_passes_gradcheck_for_input_weight_and_bias() {
    for (k, &(n, c, h, w, o, kh, kw, s, p)) in SHAPES.iter().enumerate() {
        let seed = 200 + k as u64;
        let inputs = [
            Tensor::rand_uniform(&[n, c, h, w], -1.0, 1.0, seed),
            Tensor::rand_uniform(&[o, c, kh, kw], -1.0, 1.0, seed + 1),
            Tensor::rand_uniform(&[o], -1.0, 1.0, seed + 2),
        ];
        gradcheck(
            |_, v| conv2d(v[0], v[1], Some(v[2]), s, p),
            &inputs,
            &GradcheckOptions::default(),
        )
        .unwrap_or_else(|e| panic!("shape {k} {:?}: {e}", SHAPES[k]));
    }
}

#[test]
fn conv2d_second_derivatives_pass_gradcheck() {
    // the gradient of a loss through conv2d is itself differentiable
    let x = Tensor::rand_uniform(&[2, 2, 5, 4], -1.0, 1.0, 1);
    let w = Tensor::rand_uniform(&[3, 2, 3, 2], -1.0, 1.0, 2);
    gradcheck(
        |_, v| {
            let loss = conv2d(v[0], v[1], None, 1, 1)?.tanh()?.sum()?;
            let (gx, gw) = (loss.grad(v[0])?, loss.grad(v[1])?);
            gx.square()?.sum()?.add(gw.mul(v[1])?.sum()?)
        },
        &[x, w],
        &GradcheckOptions::default(),
    )
    .unwrap();
}

/// Values with distinct entries (no ties), so that finite differences do
/// not cross a switch of the maximum.
fn distinct(shape: &[usize], seed: u64) -> Tensor<f64> {
    let u = Tensor::<f64>::rand_uniform(shape, 0.0, 1.0, seed);
    let mut order: Vec<usize> = (0..u.numel()).collect();
    order.sort_by(|&a, &b| u.data()[a].total_cmp(&u.data()[b]));
    let mut v = vec![0.0; u.numel()];
    for (rank, &i) in order.iter().enumerate() {
        v[i] = rank as f64 * 0.01 - 1.0;
    }
    Tensor::from_vec(v, shape).unwrap()
}

const POOLS: [(usize, usize, usize, usize, usize, usize); 6] = [
    // (n, c, h, w, k, stride)
    (1, 1, 4, 4, 2, 2),
    (2, 3, 6, 5, 2, 2),
    (1, 2, 5, 7, 3, 1),
    (2, 1, 7, 7, 3, 2),
    (3, 3, 4, 6, 2, 1),
    (1, 1, 9, 4, 4, 3),
];

#[test]
fn pooling_forward_equals_its_definition_and_passes_gradcheck() {
    for (k, &(n, c, h, w, size, s)) in POOLS.iter().enumerate() {
        let x = distinct(&[n, c, h, w], k as u64);
        let tape = Tape::new();
        let mx = max_pool2d(tape.constant(x.clone()), size, s)
            .unwrap()
            .value();
        let av = avg_pool2d(tape.constant(x.clone()), size, s)
            .unwrap()
            .value();
        let (ho, wo) = ((h - size) / s + 1, (w - size) / s + 1);
        assert_eq!(mx.shape(), &[n, c, ho, wo]);
        for idx in 0..mx.numel() {
            let (plane, oy, ox) = (idx / (ho * wo), idx / wo % ho, idx % wo);
            let window: Vec<f64> = (0..size * size)
                .map(|t| x.data()[plane * h * w + (oy * s + t / size) * w + ox * s + t % size])
                .collect();
            assert_eq!(
                mx.data()[idx],
                window.iter().copied().fold(f64::MIN, f64::max)
            );
            let mean = window.iter().sum::<f64>() / (size * size) as f64;
            assert!((av.data()[idx] - mean).abs() < 1e-15);
        }
        let opts = GradcheckOptions::default();
        gradcheck(
            |_, v| max_pool2d(v[0], size, s),
            std::slice::from_ref(&x),
            &opts,
        )
        .unwrap_or_else(|e| panic!("max_pool2d {:?}: {e}", POOLS[k]));
        gradcheck(
            |_, v| avg_pool2d(v[0], size, s),
            std::slice::from_ref(&x),
            &opts,
        )
        .unwrap_or_else(|e| panic!("avg_pool2d {:?}: {e}", POOLS[k]));
        // and their backward rules are differentiable too
        gradcheck(
            |_, v| max_pool2d(v[0], size, s)?.square()?.sum()?.grad(v[0]),
            std::slice::from_ref(&x),
            &opts,
        )
        .unwrap();
        gradcheck(
            |_, v| avg_pool2d(v[0], size, s)?.square()?.sum()?.grad(v[0]),
            std::slice::from_ref(&x),
            &opts,
        )
        .unwrap();
    }
}

#[test]
fn max_pool_ties_send_the_gradient_to_the_first_maximum_in_row_major_order() {
    // every window of this 4×4 image is constant: all four entries tie
    let tape = Tape::new();
    let x = tape.var(Tensor::from_fn(&[1, 1, 4, 4], |i| {
        ((i[2] / 2) * 2 + i[3] / 2) as f64
    }));
    let y = max_pool2d(x, 2, 2).unwrap();
    assert_eq!(y.value().data(), &[0.0, 1.0, 2.0, 3.0]);
    let g = y.sum().unwrap().backward().unwrap().wrt(x).unwrap();
    #[rustfmt::skip]
    let want = [
        1.0, 0.0, 1.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
        1.0, 0.0, 1.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
    ];
    assert_eq!(g.data(), &want);
    // overlapping windows (stride 1) that share one maximum accumulate on it
    let tape = Tape::new();
    let x = tape.var(
        Tensor::from_vec(
            vec![0.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0],
            &[1, 1, 3, 3],
        )
        .unwrap(),
    );
    let g = max_pool2d(x, 2, 1)
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap()
        .wrt(x)
        .unwrap();
    assert_eq!(g.data()[4], 4.0);
}

#[test]
fn bad_shapes_are_errors_naming_the_operation() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::zeros(&[1, 3, 8, 8]));
    let w = tape.var(Tensor::<f64>::zeros(&[4, 2, 3, 3]));
    let e = conv2d(x, w, None, 1, 0).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "conv2d: input [1, 3, 8, 8] and weight [4, 2, 3, 3]: the input has 3 input channels"
        ),
        "{e}"
    );
    let big = tape.var(Tensor::<f64>::zeros(&[4, 3, 9, 9]));
    let e = conv2d(x, big, None, 1, 0).unwrap_err();
    assert!(
        e.to_string()
            .contains("a 9×9 kernel does not fit a 8×8 image padded by 0"),
        "{e}"
    );
    let w3 = tape.var(Tensor::<f64>::zeros(&[4, 3, 3, 3]));
    assert!(conv2d(x, w3, None, 0, 0).is_err());
    let bad_bias = tape.var(Tensor::zeros(&[3]));
    let recorded = tape.len();
    let e = conv2d(x, w3, Some(bad_bias), 1, 0).unwrap_err();
    assert!(e
        .to_string()
        .contains("bias of shape [3] for 4 output channels"));
    // refused before the convolution was computed or recorded, at this line
    assert_eq!(tape.len(), recorded, "nothing was recorded");
    assert!(e.to_string().contains(file!()), "{e}");
    let e = conv2d(tape.var(Tensor::<f64>::zeros(&[3, 8, 8])), w3, None, 1, 0).unwrap_err();
    assert!(e.to_string().contains("expected input [n, c, h, w]"));
    let e = max_pool2d(tape.var(Tensor::<f64>::zeros(&[1, 1, 1, 5])), 2, 2).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("max_pool2d: a 2×2 window does not fit input [1, 1, 1, 5]"));
    assert!(avg_pool2d(x, 0, 1).is_err());
    assert!(avg_pool2d(tape.var(Tensor::<f64>::zeros(&[8, 8])), 2, 2)
        .unwrap_err()
        .to_string()
        .starts_with("avg_pool2d:"));
}
