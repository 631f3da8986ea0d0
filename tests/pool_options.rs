//! PyTorch's pooling settings — window and stride per direction, stride
//! defaulting to the window, padding, `ceil_mode` — and adaptive average
//! pooling, against loops written from PyTorch's definitions, and against
//! finite differences.

use autodiff::{gradcheck, GradcheckOptions, Tape, Tensor};
use nn::ops::{adaptive_avg_pool2d, avg_pool2d_with, max_pool2d_with, PoolOptions};

/// PyTorch's output extent: ⌊(n + 2p − k)/s⌋ + 1, or ⌈·⌉ with ceil_mode,
/// less one when the last window would start past the input and its left
/// padding.
fn extent(n: usize, k: usize, s: usize, p: usize, ceil: bool) -> usize {
    let span = n + 2 * p - k;
    let mut out = if ceil { span.div_ceil(s) } else { span / s } + 1;
    if ceil && (out - 1) * s >= n + p {
        out -= 1;
    }
    out
}

/// Max (`max = true`) or average pooling by PyTorch's loops: window start
/// `o·s − p`, end `min(start + k, n + p)`, the average's divisor taken
/// before clipping the window to the input.
fn direct(x: &Tensor<f64>, o: &PoolOptions, max: bool) -> Vec<f64> {
    let [n, c, h, w] = <[usize; 4]>::try_from(x.shape()).unwrap();
    let ([kh, kw], [sh, sw], [ph, pw]) = (o.kernel, o.stride, o.padding);
    let (ho, wo) = (
        extent(h, kh, sh, ph, o.ceil_mode),
        extent(w, kw, sw, pw, o.ceil_mode),
    );
    let mut y = Vec::new();
    for plane in 0..n * c {
        for oy in 0..ho {
            for ox in 0..wo {
                let (ys, xs) = (
                    (oy * sh) as isize - ph as isize,
                    (ox * sw) as isize - pw as isize,
                );
                let ye = (ys + kh as isize).min((h + ph) as isize);
                let xe = (xs + kw as isize).min((w + pw) as isize);
                let divisor = ((ye - ys) * (xe - xs)) as f64;
                let (ys, xs) = (ys.max(0), xs.max(0));
                let (ye, xe) = (ye.min(h as isize), xe.min(w as isize));
                let mut acc = if max { f64::NEG_INFINITY } else { 0.0 };
                for yy in ys..ye {
                    for xx in xs..xe {
                        let v = x.data()[(plane * h + yy as usize) * w + xx as usize];
                        acc = if max { acc.max(v) } else { acc + v };
                    }
                }
                y.push(if max { acc } else { acc / divisor });
            }
        }
    }
    y
}

/// Values with distinct entries, so that finite differences do not cross a
/// switch of a window's maximum.
fn distinct(shape: &[usize], seed: u64) -> Tensor<f64> {
    let u = Tensor::<f64>::rand_uniform(shape, 0.0, 1.0, seed);
    let n = u.numel();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| u.data()[a].total_cmp(&u.data()[b]));
    let mut v = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        v[i] = rank as f64 / n as f64 - 0.5;
    }
    Tensor::from_vec(v, shape).unwrap()
}

fn cases() -> Vec<([usize; 4], PoolOptions)> {
    vec![
        ([2, 3, 7, 7], PoolOptions::new(3).stride(2).padding(1)),
        ([1, 2, 5, 6], PoolOptions::new(2).ceil_mode(true)),
        (
            [1, 2, 7, 5],
            PoolOptions::new(3).stride(2).padding(1).ceil_mode(true),
        ),
        ([2, 1, 6, 9], PoolOptions::new((2, 3)).stride((1, 2))),
        (
            [1, 1, 4, 7],
            PoolOptions::new((3, 2))
                .padding((1, 1))
                .stride((2, 3))
                .ceil_mode(true),
        ),
        ([1, 2, 8, 8], PoolOptions::new(2)), // the common case, fast path
    ]
}

#[test]
fn max_and_average_pooling_equal_pytorchs_loops_for_every_setting() {
    for (k, (shape, o)) in cases().into_iter().enumerate() {
        let x = distinct(&shape, 70 + k as u64);
        let tape = Tape::new();
        let xv = tape.var(x.clone());
        for max in [true, false] {
            let y = if max {
                max_pool2d_with(xv, o)
            } else {
                avg_pool2d_with(xv, o)
            }
            .unwrap_or_else(|e| panic!("case {k}: {e}"));
            let want = direct(&x, &o, max);
            assert_eq!(
                y.value().numel(),
                want.len(),
                "case {k} {o:?}: {:?}",
                y.shape()
            );
            for (got, want) in y.value().data().iter().zip(&want) {
                assert!(
                    (got - want).abs() < 1e-14,
                    "case {k} max {max} {o:?}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn every_pooling_setting_passes_gradcheck() {
    for (k, (shape, o)) in cases().into_iter().enumerate() {
        let x = [distinct(&shape, 80 + k as u64)];
        let options = GradcheckOptions::default();
        gradcheck(|_, v| max_pool2d_with(v[0], o), &x, &options)
            .unwrap_or_else(|e| panic!("max case {k} {o:?}: {e}"));
        gradcheck(|_, v| avg_pool2d_with(v[0], o), &x, &options)
            .unwrap_or_else(|e| panic!("avg case {k} {o:?}: {e}"));
        // the averaging's adjoint is differentiable again
        gradcheck(
            |_, v| {
                let loss = avg_pool2d_with(v[0].tanh()?, o)?.square()?.sum()?;
                loss.grad(v[0])?.square()?.sum()
            },
            &x,
            &options,
        )
        .unwrap_or_else(|e| panic!("avg second derivative, case {k}: {e}"));
    }
}

#[test]
fn adaptive_average_pooling_uses_pytorchs_windows() {
    // rows ⌊i·h/oh⌋ .. ⌈(i+1)·h/oh⌉: for h = 5, oh = 3 that is 0..2, 1..4, 3..5
    let x = Tensor::<f64>::rand_uniform(&[2, 3, 5, 7], -1.0, 1.0, 5);
    let tape = Tape::new();
    let y = adaptive_avg_pool2d(tape.var(x.clone()), (3, 4)).unwrap();
    assert_eq!(y.shape().as_slice(), &[2, 3, 3, 4]);
    let rows = [(0, 2), (1, 4), (3, 5)];
    let cols = [(0, 2), (1, 4), (3, 6), (5, 7)];
    let mut k = 0;
    for plane in 0..6 {
        for &(y0, y1) in &rows {
            for &(x0, x1) in &cols {
                let mut sum = 0.0;
                for r in y0..y1 {
                    for c in x0..x1 {
                        sum += x.data()[(plane * 5 + r) * 7 + c];
                    }
                }
                let want = sum / ((y1 - y0) * (x1 - x0)) as f64;
                assert!((y.value().data()[k] - want).abs() < 1e-14);
                k += 1;
            }
        }
    }
    // global average pooling, and its gradient check; output larger than input
    for out in [(1, 1), (3, 4), (7, 9)] {
        gradcheck(
            |_, v| adaptive_avg_pool2d(v[0], out),
            std::slice::from_ref(&x),
            &GradcheckOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{out:?}: {e}"));
    }
}

#[test]
fn pooling_settings_that_cannot_work_are_refused_with_the_reason() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::zeros(&[1, 1, 4, 4]));
    let e = max_pool2d_with(x, PoolOptions::new(2).padding(2)).unwrap_err();
    assert!(
        e.to_string().contains("more than half the 2×2 window"),
        "{e}"
    );
    let e = avg_pool2d_with(x, PoolOptions::new(5)).unwrap_err();
    assert!(
        e.to_string()
            .contains("a 5×5 window does not fit input [1, 1, 4, 4]"),
        "{e}"
    );
    let e = max_pool2d_with(x, PoolOptions::new(2).stride((0, 1))).unwrap_err();
    assert!(e.to_string().contains("at least 1"), "{e}");
    let e = adaptive_avg_pool2d(x, 0).unwrap_err();
    assert!(e.to_string().contains("at least 1×1"), "{e}");
    assert!(e.to_string().contains(file!()), "{e}");
    let empty = tape.var(Tensor::<f64>::zeros(&[1, 1, 0, 3]));
    assert!(adaptive_avg_pool2d(empty, 1).is_err());
    // a padding whose double overflows: refused, not wrapped around
    let e = max_pool2d_with(x, PoolOptions::new(usize::MAX).padding(usize::MAX / 2)).unwrap_err();
    assert!(
        e.to_string().contains("larger than memory can address"),
        "{e}"
    );
}

#[test]
fn an_empty_batch_of_huge_images_is_pooled_without_building_its_windows() {
    // no window is computed for an empty batch: the output is empty, with
    // the right shape, not an allocation of 2⁴⁰ spans
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::zeros(&[0, 2, 1 << 40, 3]));
    let o = PoolOptions::new(3).stride(2).padding(1);
    let y = avg_pool2d_with(x, o).unwrap();
    assert_eq!(y.shape().as_slice(), &[0, 2, 1 << 39, 2]);
    let y = max_pool2d_with(x, o).unwrap();
    assert_eq!(y.shape().as_slice(), &[0, 2, 1 << 39, 2]);
    let small = tape.var(Tensor::<f64>::zeros(&[0, 1, 4, 4]));
    let y = adaptive_avg_pool2d(small, (1 << 40, 1)).unwrap();
    assert_eq!(y.shape().as_slice(), &[0, 1, 1 << 40, 1]);
    // an output too large to hold is refused
    let one = tape.var(Tensor::<f64>::zeros(&[1, 1, 4, 4]));
    assert!(adaptive_avg_pool2d(one, (1 << 40, 1 << 30)).is_err());
}

/// The window maximum by definition: the first maximal entry in row-major
/// order, a NaN counting as maximal (the first NaN wins).
fn first_max(window: &[(usize, f32)]) -> (usize, f32) {
    let mut best = window[0];
    for &(i, v) in &window[1..] {
        if !best.1.is_nan() && (v.is_nan() || v > best.1) {
            best = (i, v);
        }
    }
    best
}

#[test]
fn two_by_two_max_pooling_keeps_ties_and_nans_on_rows_of_every_width() {
    // rows of 2·wo columns for wo = 1…17 (blocks of windows, and a last
    // block that overlaps the one before), values from {0, 1, 2, NaN} so
    // that most windows tie
    for wo in 1..=17 {
        let shape = [2, 3, 6, 2 * wo];
        let mut state = 7u64 + wo as u64;
        let x = Tensor::<f32>::from_fn(&shape, |_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match state >> 61 {
                0 => f32::NAN,
                r => (r % 3) as f32,
            }
        });
        let weights = Tensor::<f32>::from_fn(&[2, 3, 3, wo], |i| {
            1.0 + (i[0] * 1000 + i[1] * 100 + i[2] * 10 + i[3]) as f32
        });
        let tape = Tape::new();
        let xv = tape.var(x.clone());
        let y = max_pool2d_with(xv, PoolOptions::new(2)).unwrap();
        let loss = y
            .mul(tape.constant(weights.clone()))
            .unwrap()
            .sum()
            .unwrap();
        let grad = loss.backward().unwrap().wrt(xv).unwrap();
        let (data, w) = (x.data(), 2 * wo);
        let mut want_grad = vec![0.0f32; data.len()];
        for plane in 0..6 {
            for oy in 0..3 {
                for ox in 0..wo {
                    let at = |dy: usize, dx: usize| {
                        let i = plane * 6 * w + (2 * oy + dy) * w + 2 * ox + dx;
                        (i, data[i])
                    };
                    let (i, v) = first_max(&[at(0, 0), at(0, 1), at(1, 0), at(1, 1)]);
                    let out = (plane * 3 + oy) * wo + ox;
                    let got = y.value().data()[out];
                    assert!(
                        got.to_bits() == v.to_bits() || (got.is_nan() && v.is_nan()),
                        "wo {wo}, window {out}: {got} instead of {v}"
                    );
                    want_grad[i] += weights.data()[out];
                }
            }
        }
        assert_eq!(
            grad.data(),
            &want_grad[..],
            "wo {wo}: the gradient went elsewhere"
        );
    }
}
