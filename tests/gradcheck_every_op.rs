//! Every built-in operation of autodiff and nn, gradchecked in f64 at tight
//! tolerance and in f32 at a tolerance suited to f32, from one table. The
//! table is checked against the operations the sources define (every
//! string an `Op::name` returns): a new operation without a row here fails
//! `every_operation_the_sources_define_has_a_row`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use autodiff::{gradcheck, Float, FusedActivation, GradcheckOptions, Result, Tape, Tensor, Var};
use nn::loss::bce_with_logits;
use nn::ops::{avg_pool2d, conv2d, max_pool2d};

/// Values in [-1, 1).
fn rand(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, -1.0, 1.0, seed)
}

/// |x| in [0.2, 1.2): away from kinks (relu, abs) and poles (div).
fn away_from_zero(shape: &[usize], seed: u64) -> Tensor<f64> {
    rand(shape, seed).map(|v| if v >= 0.0 { v + 0.2 } else { v - 0.2 })
}

fn positive(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, 0.3, 2.0, seed)
}

/// Distinct values at least 0.1 apart (a permutation of a grid): a max or
/// a max-pool window has one clear winner even after an f32 step of 1e-2.
fn spaced(shape: &[usize], seed: u64) -> Tensor<f64> {
    let n = shape.iter().product::<usize>();
    let mut k = 0usize;
    Tensor::from_fn(shape, |_| {
        k += 1;
        let p = (k * 7 + seed as usize * 3) % (n.max(1) * 7 + 1);
        p as f64 * 0.1 - 0.35 * n as f64
    })
}

/// Gradchecks `f` in type `T` and returns the names of the operations it
/// recorded.
fn check<T, F>(
    case: &str,
    inputs: &[Tensor<T>],
    f: F,
    options: &GradcheckOptions,
) -> BTreeSet<String>
where
    T: Float,
    F: for<'t> Fn(&'t Tape<T>, &[Var<'t, T>]) -> Result<Var<'t, T>>,
{
    let names = RefCell::new(BTreeSet::new());
    let traced = gradcheck(
        |tape, v| {
            let y = f(tape, v)?;
            names.borrow_mut().extend(tape.op_names());
            Ok(y)
        },
        inputs,
        options,
    );
    if let Err(e) = traced {
        panic!("{case} in {}: {e}", T::NAME);
    }
    names.into_inner()
}

struct Row {
    name: &'static str,
    /// Runs the f64 and the f32 check; returns the operations recorded.
    run: fn() -> BTreeSet<String>,
}

/// One row: the operation's name, its inputs (f64; cast for the f32 run),
/// and the function of them to check, written once for both types.
macro_rules! row {
    ($name:literal, [$($input:expr),* $(,)?], |$tape:pat_param, $v:ident| $body:expr) => {
        Row {
            name: $name,
            run: || {
                let inputs: Vec<Tensor<f64>> = vec![$($input),*];
                let mut names = check($name, &inputs, |$tape, $v| $body, &GradcheckOptions::default());
                let narrow: Vec<Tensor<f32>> = inputs.iter().map(Tensor::cast).collect();
                names.extend(check($name, &narrow, |$tape, $v| $body, &GradcheckOptions::f32()));
                names
            },
        }
    };
}

fn table() -> Vec<Row> {
    vec![
        // arithmetic, with broadcasting
        row!("add", [rand(&[2, 3], 1), rand(&[3], 2)], |_, v| v[0]
            .add(v[1])),
        row!("sub", [rand(&[2, 1], 3), rand(&[2, 3], 4)], |_, v| v[0]
            .sub(v[1])),
        row!("mul", [rand(&[2, 3], 5), rand(&[1, 3], 6)], |_, v| v[0]
            .mul(v[1])),
        row!(
            "div",
            [rand(&[2, 3], 7), away_from_zero(&[3], 8)],
            |_, v| v[0].div(v[1])
        ),
        row!("neg", [rand(&[3], 9)], |_, v| v[0].neg()),
        row!("add_scalar", [rand(&[3], 10)], |_, v| v[0].add_scalar(0.7)),
        row!("mul_scalar", [rand(&[3], 11)], |_, v| v[0].mul_scalar(-1.5)),
        row!("div_scalar", [rand(&[3], 12)], |_, v| v[0].div_scalar(4.0)),
        row!("rsub_scalar", [rand(&[3], 13)], |_, v| v[0]
            .rsub_scalar(2.0)),
        row!("rdiv_scalar", [away_from_zero(&[3], 14)], |_, v| v[0]
            .rdiv_scalar(2.0)),
        // element-wise functions
        row!("exp", [rand(&[2, 2], 14)], |_, v| v[0].exp()),
        row!("ln", [positive(&[2, 2], 15)], |_, v| v[0].ln()),
        row!("sqrt", [positive(&[2, 2], 16)], |_, v| v[0].sqrt()),
        row!("powi", [rand(&[2, 2], 17)], |_, v| v[0].powi(3)),
        row!("abs", [away_from_zero(&[4], 18)], |_, v| v[0].abs()),
        row!("relu", [away_from_zero(&[4], 19)], |_, v| v[0].relu()),
        row!("sigmoid", [rand(&[4], 20)], |_, v| v[0].sigmoid()),
        row!("tanh", [rand(&[4], 21)], |_, v| v[0].tanh()),
        // products and reductions
        row!("matmul", [rand(&[2, 3], 22), rand(&[3, 4], 23)], |_, v| v
            [0]
        .matmul(v[1])),
        row!(
            "linear",
            [rand(&[3, 4], 60), rand(&[2, 4], 61), rand(&[2], 62)],
            |_, v| v[0].linear(v[1], Some(v[2]))?.mul(v[0].narrow(1, 0, 2)?)
        ),
        row!(
            "linear_relu",
            // |x·Wᵀ| < 0.5 and b = ±1: one output on each side of the kink,
            // none near it
            [
                rand(&[3, 4], 63),
                rand(&[2, 4], 64).map(|w| 0.1 * w),
                Tensor::from_vec(vec![1.0, -1.0], &[2]).unwrap()
            ],
            |_, v| v[0]
                .linear_then(v[1], Some(v[2]), FusedActivation::Relu)?
                .mul(v[0].narrow(1, 0, 2)?)
        ),
        row!(
            "linear_sigmoid",
            [rand(&[3, 4], 66), rand(&[2, 4], 67), rand(&[2], 68)],
            |_, v| v[0]
                .linear_then(v[1], Some(v[2]), FusedActivation::Sigmoid)?
                .mul(v[0].narrow(1, 0, 2)?)
        ),
        row!(
            "linear_tanh",
            [rand(&[3, 4], 69), rand(&[2, 4], 70)],
            |_, v| v[0]
                .linear_then(v[1], None, FusedActivation::Tanh)?
                .mul(v[0].narrow(1, 0, 2)?)
        ),
        row!("max", [spaced(&[2, 4], 24)], |_, v| v[0].max_axis(1, false)),
        row!("softmax", [rand(&[2, 3], 25)], |_, v| v[0].softmax(-1)),
        row!("log_softmax", [rand(&[2, 3], 26)], |_, v| v[0]
            .log_softmax(0)),
        row!("cross_entropy", [rand(&[3, 4], 27)], |_, v| v[0]
            .cross_entropy(&[0, 3, 1])),
        // rearrangements
        row!("reshape", [rand(&[2, 3], 28)], |_, v| v[0].reshape(&[3, 2])),
        row!("permute", [rand(&[2, 3, 2], 29)], |_, v| v[0]
            .permute(&[2, 0, 1])),
        row!("broadcast_to", [rand(&[3], 30)], |_, v| v[0]
            .broadcast_to(&[2, 3])),
        row!("sum_to", [rand(&[2, 3], 31)], |_, v| v[0].sum_to(&[1, 3])),
        row!("narrow", [rand(&[2, 4], 32)], |_, v| v[0].narrow(1, 1, 2)),
        row!("concat", [rand(&[1, 2], 33), rand(&[2, 2], 34)], |_, v| {
            Var::concat(&[v[0], v[1]], 0)
        }),
        row!("index_select", [rand(&[3, 2], 35)], |_, v| v[0]
            .index_select(0, &[2, 0, 2])),
        // the adjoints that only recorded backward sweeps use: gradients
        // of gradients (the recorded backward of narrow pads, of
        // index_select scatters)
        row!("pad_axis", [rand(&[2, 4], 36)], |_, v| v[0]
            .narrow(1, 1, 2)?
            .powi(3)?
            .sum()?
            .grad(v[0])),
        row!("index_add", [rand(&[3, 2], 37)], |_, v| v[0]
            .index_select(0, &[2, 0, 2])?
            .powi(3)?
            .sum()?
            .grad(v[0])),
        // nn's operations
        row!(
            "conv2d",
            [
                rand(&[1, 2, 4, 4], 38),
                rand(&[3, 2, 3, 3], 39),
                rand(&[3], 40)
            ],
            |_, v| { conv2d(v[0], v[1], Some(v[2]), 1, 1) }
        ),
        row!(
            "conv2d_input_grad",
            [rand(&[1, 1, 3, 3], 41), rand(&[2, 1, 2, 2], 42)],
            |_, v| { conv2d(v[0], v[1], None, 1, 0)?.powi(2)?.sum()?.grad(v[0]) }
        ),
        row!(
            "conv2d_weight_grad",
            [rand(&[1, 1, 3, 3], 43), rand(&[2, 1, 2, 2], 44)],
            |_, v| { conv2d(v[0], v[1], None, 2, 1)?.powi(2)?.sum()?.grad(v[1]) }
        ),
        row!(
            "max_pool2d",
            [spaced(&[1, 2, 4, 4], 45)],
            |_, v| max_pool2d(v[0], 2, 2)
        ),
        row!("max_pool2d_scatter", [spaced(&[1, 1, 4, 4], 46)], |_, v| {
            max_pool2d(v[0], 2, 1)?.powi(3)?.sum()?.grad(v[0])
        }),
        row!("avg_pool2d", [rand(&[1, 2, 4, 4], 47)], |_, v| avg_pool2d(
            v[0], 2, 2
        )),
        row!("avg_pool2d_spread", [rand(&[1, 1, 4, 4], 48)], |_, v| {
            avg_pool2d(v[0], 3, 1)?.powi(3)?.sum()?.grad(v[0])
        }),
        row!(
            "bce_with_logits",
            [
                rand(&[2, 3], 49),
                Tensor::rand_uniform(&[2, 3], 0.1, 0.9, 50)
            ],
            |_, v| { bce_with_logits(v[0], v[1]) }
        ),
        row!("silu", [rand(&[2, 3], 51)], |_, v| nn::ops::silu(v[0])),
    ]
}

#[test]
fn every_row_passes_gradcheck_in_f64_and_f32_and_records_its_operation() {
    for row in table() {
        let recorded = (row.run)();
        assert!(
            recorded.contains(row.name),
            "the row {} did not record {} (it recorded {recorded:?})",
            row.name,
            row.name
        );
    }
}

/// Every string literal an `Op::name` body returns in the crates' sources
/// (doc comments, with their example operations, and unit-test modules,
/// with their test-only operations, left out: a file is read up to its
/// `#[cfg(test)] mod`, which clippy's `items_after_test_module`, denied in
/// CI, keeps last).
fn names_in_sources() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).expect("a source file");
                let library = source
                    .find("#[cfg(test)]\nmod ")
                    .map_or(source.as_str(), |at| &source[..at]);
                let text: String = library
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let mut rest = text.as_str();
                while let Some(at) = rest.find("fn name(&self) -> &str {") {
                    let body = &rest[at..];
                    let end = body.find("\n    }").unwrap_or(body.len());
                    for (k, piece) in body[..end].split('"').enumerate() {
                        if k % 2 == 1 {
                            out.insert(piece.to_string());
                        }
                    }
                    rest = &body[end..];
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = BTreeSet::new();
    walk(&root.join("autodiff/src"), &mut names);
    walk(&root.join("nn/src"), &mut names);
    names
}

#[test]
fn every_operation_the_sources_define_has_a_row() {
    let defined = names_in_sources();
    assert!(
        defined.len() >= 30 && defined.contains("matmul") && defined.contains("conv2d"),
        "the scan of the sources found {defined:?}"
    );
    let listed: BTreeSet<String> = table().iter().map(|r| r.name.to_string()).collect();
    let missing: Vec<_> = defined.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "operations without a gradcheck row: {missing:?}"
    );
    let unknown: Vec<_> = listed.difference(&defined).collect();
    assert!(unknown.is_empty(), "rows for no operation: {unknown:?}");
}

#[test]
fn every_operation_is_in_the_table() {
    // autodiff's operations are listed in the table of autodiff/src/ops/mod.rs,
    // nn's in nn/src/ops/mod.rs
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tables = [
        std::fs::read_to_string(root.join("autodiff/src/ops/mod.rs")).unwrap(),
        std::fs::read_to_string(root.join("nn/src/ops/mod.rs")).unwrap(),
    ]
    .concat();
    let missing: Vec<String> = names_in_sources()
        .into_iter()
        .filter(|name| !tables.contains(&format!("| `{name}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "operations missing from the tables: {missing:?}"
    );
}
