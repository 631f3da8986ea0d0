//! PyTorch's convolution settings — separate stride, padding and kernel
//! heights and widths, dilation, groups (depthwise convolution) — against a
//! convolution written with plain loops from its definition, and against
//! finite differences (first and second derivatives).

use autodiff::{gradcheck, GradcheckOptions, Tape, Tensor};
use nn::ops::{conv2d_with, ConvOptions};

/// `y[n, o, oy, ox] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x[n, g·C + c, oy·sh + i·dh − ph, ox·sw + j·dw − pw]`,
/// straight from the definition.
fn direct(x: &Tensor<f64>, w: &Tensor<f64>, b: Option<&Tensor<f64>>, o: &ConvOptions) -> Vec<f64> {
    let [n, c, h, wd] = <[usize; 4]>::try_from(x.shape()).unwrap();
    let [oc, cg, kh, kw] = <[usize; 4]>::try_from(w.shape()).unwrap();
    let ([sh, sw], [ph, pw], [dh, dw], groups) = (o.stride, o.padding, o.dilation, o.groups);
    assert_eq!(cg * groups, c);
    let ho = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    let wo = (wd + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    let og = oc / groups;
    let mut y = Vec::new();
    for ni in 0..n {
        for oi in 0..oc {
            let g = oi / og;
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut acc = b.map_or(0.0, |b| b.data()[oi]);
                    for ci in 0..cg {
                        for i in 0..kh {
                            for j in 0..kw {
                                let yy = (oy * sh + i * dh) as isize - ph as isize;
                                let xx = (ox * sw + j * dw) as isize - pw as isize;
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= wd as isize {
                                    continue;
                                }
                                let xi =
                                    ((ni * c + g * cg + ci) * h + yy as usize) * wd + xx as usize;
                                let wi = ((oi * cg + ci) * kh + i) * kw + j;
                                acc += w.data()[wi] * x.data()[xi];
                            }
                        }
                    }
                    y.push(acc);
                }
            }
        }
    }
    y
}

/// (input [n, c, h, w], weight [o, c/g, kh, kw], options)
fn cases() -> Vec<([usize; 4], [usize; 4], ConvOptions)> {
    let d = ConvOptions::default();
    vec![
        ([2, 3, 7, 6], [4, 3, 3, 2], d.stride((2, 1)).padding((1, 0))),
        ([1, 2, 9, 9], [3, 2, 3, 3], d.dilation(2).padding(2)),
        (
            [2, 2, 8, 7],
            [2, 2, 2, 3],
            d.dilation((1, 2)).stride((1, 2)),
        ),
        ([2, 4, 6, 6], [6, 2, 3, 3], d.groups(2).padding(1)),
        ([1, 6, 5, 7], [6, 1, 3, 3], d.groups(6).padding(1).stride(2)), // depthwise
        ([2, 6, 6, 5], [12, 1, 2, 2], d.groups(6).dilation(2)),         // depthwise × 2
        ([1, 4, 5, 5], [4, 2, 1, 1], d.groups(2)),                      // grouped 1×1
    ]
}

#[test]
fn every_setting_equals_the_convolution_written_with_loops() {
    for (k, (xs, ws, o)) in cases().into_iter().enumerate() {
        let x = Tensor::<f64>::rand_uniform(&xs, -1.0, 1.0, 10 + k as u64);
        let w = Tensor::<f64>::rand_uniform(&ws, -1.0, 1.0, 20 + k as u64);
        let b = Tensor::<f64>::rand_uniform(&[ws[0]], -1.0, 1.0, 30 + k as u64);
        let tape = Tape::new();
        let y = conv2d_with(
            tape.var(x.clone()),
            tape.var(w.clone()),
            Some(tape.var(b.clone())),
            o,
        )
        .unwrap_or_else(|e| panic!("case {k}: {e}"));
        let want = direct(&x, &w, Some(&b), &o);
        assert_eq!(y.value().numel(), want.len(), "case {k}: {:?}", y.shape());
        for (got, want) in y.value().data().iter().zip(&want) {
            assert!(
                (got - want).abs() < 1e-12,
                "case {k} {o:?}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn every_setting_passes_gradcheck_for_input_weight_and_bias() {
    for (k, (xs, ws, o)) in cases().into_iter().enumerate() {
        let inputs = [
            Tensor::rand_uniform(&xs, -1.0, 1.0, 40 + k as u64),
            Tensor::rand_uniform(&ws, -1.0, 1.0, 50 + k as u64),
            Tensor::rand_uniform(&[ws[0]], -1.0, 1.0, 60 + k as u64),
        ];
        gradcheck(
            |_, v| conv2d_with(v[0], v[1], Some(v[2]), o),
            &inputs,
            &GradcheckOptions::default(),
        )
        .unwrap_or_else(|e| panic!("case {k} {o:?}: {e}"));
    }
}

#[test]
fn grouped_and_dilated_second_derivatives_pass_gradcheck() {
    let o = ConvOptions::default()
        .groups(2)
        .dilation(2)
        .padding(1)
        .stride((1, 2));
    let x = Tensor::rand_uniform(&[2, 4, 6, 7], -1.0, 1.0, 1);
    let w = Tensor::rand_uniform(&[4, 2, 2, 3], -1.0, 1.0, 2);
    gradcheck(
        |_, v| {
            let loss = conv2d_with(v[0], v[1], None, o)?.tanh()?.sum()?;
            let (gx, gw) = (loss.grad(v[0])?, loss.grad(v[1])?);
            gx.square()?.sum()?.add(gw.mul(v[1])?.sum()?)
        },
        &[x, w],
        &GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn settings_that_cannot_work_are_refused_with_the_reason() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::zeros(&[1, 6, 5, 5]));
    let refuse = |w: &[usize], o: ConvOptions| {
        conv2d_with(x, tape.var(Tensor::zeros(w)), None, o)
            .unwrap_err()
            .to_string()
    };
    let d = ConvOptions::default();
    let e = refuse(&[4, 3, 3, 3], d.groups(4));
    assert!(e.contains("6 input channels in 4 groups"), "{e}");
    let e = refuse(&[3, 3, 3, 3], d.groups(2));
    assert!(e.contains("o a multiple of 2"), "{e}");
    let e = refuse(&[2, 6, 3, 3], d.dilation(3));
    assert!(
        e.contains("3×3 kernel dilated by [3, 3] does not fit a 5×5 image"),
        "{e}"
    );
    for bad in [d.groups(0), d.stride((1, 0)), d.dilation((0, 1))] {
        let e = refuse(&[2, 6, 3, 3], bad);
        assert!(e.contains("must all be at least 1"), "{e}");
    }
    assert_eq!(
        tape.len(),
        1 + 6,
        "the input and six weights, no convolution"
    );
}
