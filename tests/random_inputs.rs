//! Seeded random testing that stays in CI: every public tensor operation on
//! random shapes (zero-size and huge extents among them), axes and values
//! (NaN and ±infinity among them), and the file loaders on random
//! mutations of valid files. Each call must return without panicking; an
//! `Err` must name the operation (or the file); an `Ok` must have the shape
//! the documentation promises.
//!
//! A few seconds under `cargo test` (bounded well below a minute);
//! `TAPEGRAD_RANDOM_CASES=<n>`
//! multiplies the case counts by `n` for a longer hunt, and
//! `TAPEGRAD_RANDOM_SEED` picks another stream.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use autodiff::shape::broadcast_shapes;
use autodiff::{Error, Result, Tape, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn scale() -> usize {
    std::env::var("TAPEGRAD_RANDOM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn rng(stream: u64) -> ChaCha8Rng {
    let seed: u64 = std::env::var("TAPEGRAD_RANDOM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2026);
    ChaCha8Rng::seed_from_u64(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// An extent: mostly small, sometimes 0, sometimes huge.
fn extent(rng: &mut ChaCha8Rng) -> usize {
    match rng.random_range(0..20) {
        0 => 1 << 40,
        1 => usize::MAX,
        2 => (1 << 62) + 1,
        3..=5 => 0,
        _ => rng.random_range(1..=4),
    }
}

fn shape(rng: &mut ChaCha8Rng) -> Vec<usize> {
    let rank = rng.random_range(0..=4);
    (0..rank).map(|_| extent(rng)).collect()
}

/// A value: mostly ordinary, sometimes NaN, ±∞, 0 or huge.
fn value(rng: &mut ChaCha8Rng) -> f64 {
    match rng.random_range(0..12) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => 0.0,
        4 => 1e300,
        _ => rng.random_range(-3.0..3.0),
    }
}

/// A tensor of a random shape, or `None` when the shape cannot be held
/// (which `try_full` must report as an error naming itself).
fn tensor(rng: &mut ChaCha8Rng) -> Option<Tensor<f64>> {
    let s = shape(rng);
    if autodiff::shape::checked_numel("t", &s).is_ok_and(|n| n > LARGEST_RESULT) {
        return None; // holdable in principle, but not in this machine's memory
    }
    match Tensor::try_full(&s, 0.0) {
        Ok(t) => {
            let mut t = t;
            for x in t.data_mut() {
                *x = value(rng);
            }
            Some(t)
        }
        Err(e) => {
            assert_eq!(e.op(), "Tensor::full", "{e}");
            None
        }
    }
}

/// The shape a reduction over `axes` documents.
fn reduced(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    (0..shape.len())
        .filter_map(|i| match (axes.contains(&i), keepdim) {
            (false, _) => Some(shape[i]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

fn axis_of(axis: isize, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as isize } else { axis };
    (0..rank as isize).contains(&a).then_some(a as usize)
}

/// A deferred call: its result once run.
type Call<'t> = Box<dyn FnOnce() -> Result<Var<'t, f64>> + 't>;

/// One random operation; returns its name, the shape the documentation
/// promises when the call succeeds (`None`: not checked), and the call.
fn random_call<'t>(
    rng: &mut ChaCha8Rng,
    a: Var<'t, f64>,
    b: Var<'t, f64>,
) -> (&'static str, Option<Vec<usize>>, Call<'t>) {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    let axis = rng.random_range(-5..5i64) as isize;
    let keepdim = rng.random();
    let same = Some(sa.clone());
    let broadcast = broadcast_shapes("t", &sa, &sb).ok().map(|s| s.to_vec());
    let along = |len: usize| {
        axis_of(axis, sa.len()).map(|ax| {
            let mut s = sa.clone();
            s[ax] = len;
            s
        })
    };
    match rng.random_range(0..20) {
        0 => ("add", broadcast, Box::new(move || a.add(b))),
        1 => ("mul", broadcast, Box::new(move || a.mul(b))),
        2 => ("div", broadcast, Box::new(move || a.div(b))),
        3 => {
            let want = match (sa.as_slice(), sb.as_slice()) {
                ([m, _], [_, n]) => Some(vec![*m, *n]),
                ([q, m, _], [_, _, n]) | ([q, m, _], [_, n]) => Some(vec![*q, *m, *n]),
                ([m, _], [q, _, n]) => Some(vec![*q, *m, *n]),
                _ => None,
            };
            ("matmul", want, Box::new(move || a.matmul(b)))
        }
        4 => {
            let target = shape(rng);
            (
                "reshape",
                Some(target.clone()),
                Box::new(move || a.reshape(&target)),
            )
        }
        5 => {
            let want = axis_of(axis, sa.len()).map(|ax| reduced(&sa, &[ax], keepdim));
            ("sum", want, Box::new(move || a.sum_axes(&[axis], keepdim)))
        }
        6 => {
            let want = axis_of(axis, sa.len()).map(|ax| reduced(&sa, &[ax], keepdim));
            (
                "mean",
                want,
                Box::new(move || a.mean_axes(&[axis], keepdim)),
            )
        }
        7 => {
            let want = axis_of(axis, sa.len()).map(|ax| reduced(&sa, &[ax], keepdim));
            ("max", want, Box::new(move || a.max_axis(axis, keepdim)))
        }
        8 => ("softmax", same, Box::new(move || a.softmax(axis))),
        9 => ("log_softmax", same, Box::new(move || a.log_softmax(axis))),
        10 => {
            let start = extent(rng);
            let len = rng.random_range(0..3);
            (
                "narrow",
                along(len),
                Box::new(move || a.narrow(axis, start, len)),
            )
        }
        11 => {
            let indices = [0, extent(rng)];
            (
                "index_select",
                along(2),
                Box::new(move || a.index_select(axis, &indices)),
            )
        }
        12 => {
            let want = axis_of(axis, sa.len()).map(|ax| {
                let mut s = sa.clone();
                s[ax] = sa[ax].saturating_add(sb.get(ax).copied().unwrap_or(0));
                s
            });
            ("concat", want, Box::new(move || Var::concat(&[a, b], axis)))
        }
        13 => {
            let other = rng.random_range(-5..5i64) as isize;
            let want = match (axis_of(axis, sa.len()), axis_of(other, sa.len())) {
                (Some(x), Some(y)) => {
                    let mut s = sa.clone();
                    s.swap(x, y);
                    Some(s)
                }
                _ => None,
            };
            (
                "transpose",
                want,
                Box::new(move || a.transpose(axis, other)),
            )
        }
        14 => {
            let target = shape(rng);
            (
                "broadcast_to",
                Some(target.clone()),
                Box::new(move || a.broadcast_to(&target)),
            )
        }
        15 => {
            let target = shape(rng);
            (
                "sum_to",
                Some(target.clone()),
                Box::new(move || a.sum_to(&target)),
            )
        }
        16 => {
            let labels: Vec<usize> = (0..rng.random_range(0..4)).map(|_| extent(rng)).collect();
            (
                "cross_entropy",
                Some(vec![]),
                Box::new(move || a.cross_entropy(&labels)),
            )
        }
        17 => ("exp", same, Box::new(move || a.exp())),
        18 => ("relu", same, Box::new(move || a.relu())),
        _ => {
            let n = rng.random_range(-3..4);
            ("powi", same, Box::new(move || a.powi(n)))
        }
    }
}

/// Results larger than this are not computed: a shape that fits the
/// address space but not the memory makes the allocator abort the process,
/// as it does for every Rust collection (see the README's "What bad input
/// gets"); arithmetic overflow is what this suite hunts.
const LARGEST_RESULT: usize = 1 << 22;

fn check_error(what: &str, e: &Error, context: &str) {
    let text = e.to_string();
    assert!(
        !e.op().is_empty() && text.starts_with(e.op()),
        "{what}: an error that does not lead with its operation: {text} ({context})"
    );
    assert!(
        e.location().is_some_and(|l| l.file() == file!()),
        "{what}: an error without this file's line: {text} ({context})"
    );
}

/// Runs `count` cases of stream `stream`, each with its own seeded
/// generator: `Some(true)` for a call that succeeded, `Some(false)` for an
/// error, `None` for a case skipped. A panic fails the test naming the case
/// and its seed. Returns (succeeded, errors).
fn run_cases(
    stream: u64,
    count: usize,
    case: impl Fn(&mut ChaCha8Rng) -> Option<bool>,
) -> (usize, usize) {
    let mut rng = rng(stream);
    let (mut ok, mut err) = (0, 0);
    for n in 0..count {
        let seed = rng.random::<u64>();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            case(&mut ChaCha8Rng::seed_from_u64(seed))
        }));
        match outcome {
            Ok(Some(true)) => ok += 1,
            Ok(Some(false)) => err += 1,
            Ok(None) => {}
            Err(_) => panic!("case {n} (seed {seed}) panicked"),
        }
    }
    (ok, err)
}

#[test]
fn random_operations_on_extreme_shapes_and_values_keep_their_promises() {
    let (ok, err) = run_cases(1, 40_000 * scale(), |local| {
        let (Some(x), Some(y)) = (tensor(local), tensor(local)) else {
            return None;
        };
        let context = format!("shapes {:?} and {:?}", x.shape(), y.shape());
        let tape = Tape::new();
        let (a, b) = (tape.var(x), tape.var(y));
        let (what, want, call) = random_call(local, a, b);
        let too_large = want.as_ref().is_some_and(|w| {
            autodiff::shape::checked_numel("t", w).is_ok_and(|n| n > LARGEST_RESULT)
        });
        if too_large {
            return None;
        }
        let result = call();
        Some(match result {
            Ok(v) => {
                if let Some(want) = want {
                    assert_eq!(v.shape().as_slice(), want, "{what} ({context})");
                }
                // and back: the gradient of Σ v has each input's shape
                let g = v.vjp(&Tensor::ones(&v.shape())).unwrap();
                assert_eq!(g.wrt(a).unwrap().shape(), a.shape().as_slice());
                true
            }
            Err(e) => {
                check_error(what, &e, &context);
                false
            }
        })
    });
    println!("{ok} calls succeeded, {err} returned an error, none panicked");
    assert!(ok > 3000 && err > 3000, "ok {ok}, err {err}");
}

/// `bytes` with a few random edits: flipped bits, overwritten, inserted or
/// deleted runs, truncation, or appended garbage.
fn mutate(rng: &mut ChaCha8Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=b.len());
        match rng.random_range(0..6) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] = rng.random();
            }
            2 => {
                let run: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
                b.splice(at..at, run);
            }
            3 => {
                let end = (at + rng.random_range(1..32)).min(b.len());
                b.drain(at..end);
            }
            4 => b.truncate(at),
            _ => b.extend((0..rng.random_range(1..16)).map(|_| rng.random::<u8>())),
        }
    }
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Runs `load` on mutations of `valid`; every outcome is Ok or an error
/// naming the file, never a panic.
fn fuzz_loader(
    name: &str,
    valid: &[u8],
    cases: usize,
    stream: u64,
    load: impl Fn(&Path) -> std::result::Result<(), String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut rng = rng(stream);
    let mut errors = 0;
    for case in 0..cases {
        let bytes = mutate(&mut rng, valid);
        std::fs::write(&path, &bytes).unwrap();
        match catch_unwind(AssertUnwindSafe(|| load(&path))) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                errors += 1;
                assert!(
                    message.starts_with(&path.display().to_string()),
                    "{name} case {case}: {message}"
                );
            }
            Err(_) => panic!("{name} case {case} panicked on {} bytes", bytes.len()),
        }
    }
    assert!(
        errors > cases / 4,
        "{name}: only {errors} of {cases} mutations were refused"
    );
}

#[test]
fn loaders_refuse_random_mutations_of_valid_files_without_panicking() {
    use nn::data::files::{load_digits, read_idx_images, read_idx_labels};
    let cases = 3000 * scale();
    // IDX images (raw and gzip) and labels
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 4];
    images.extend((0..48).map(|i| i as u8));
    let labels = [0u8, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3, 4, 9];
    let idx = |p: &Path| read_idx_images(p).map(|_| ()).map_err(|e| e.to_string());
    let lab = |p: &Path| read_idx_labels(p).map(|_| ()).map_err(|e| e.to_string());
    fuzz_loader("images.idx", &images, cases, 2, idx);
    fuzz_loader("images.idx.gz", &gzip(&images), cases, 3, idx);
    fuzz_loader("labels.idx", &labels, cases, 4, lab);
    // the 8×8 digits CSV
    let line: Vec<String> = (0..64).map(|i| (i % 17).to_string()).collect();
    let csv = format!("{},3\n{},7\n", line.join(","), line.join(","));
    let digits = |p: &Path| load_digits(p).map(|_| ()).map_err(|e| e.to_string());
    fuzz_loader("digits.csv", csv.as_bytes(), cases, 5, digits);
    fuzz_loader("digits.csv.gz", &gzip(csv.as_bytes()), cases, 6, digits);
    // a safetensors model file
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("m.safetensors");
    let mlp = nn::Mlp::<f32>::new(&[3, 4, 2], nn::Activation::Relu, nn::Init::PyTorch, 1).unwrap();
    nn::save(&mlp, &good).unwrap();
    let model = std::fs::read(&good).unwrap();
    fuzz_loader("m.safetensors", &model, cases, 7, |p| {
        let mut m = mlp.clone();
        nn::load(&mut m, p).map_err(|e| e.to_string())
    });
}

#[test]
fn convolutions_and_pools_on_extreme_geometry_keep_their_promises() {
    use nn::ops::{avg_pool2d, conv2d, max_pool2d};
    let (ok, err) = run_cases(8, 6000 * scale(), |local| {
        let four = |r: &mut ChaCha8Rng| -> Vec<usize> { (0..4).map(|_| extent(r)).collect() };
        let x_shape = if local.random_bool(0.8) {
            four(local)
        } else {
            shape(local)
        };
        let mut w_shape = four(local);
        if x_shape.len() == 4 && local.random_bool(0.6) {
            w_shape[1] = x_shape[1];
        }
        let (stride, padding, k) = (extent(local), extent(local), extent(local));
        let holdable =
            |s: &[usize]| autodiff::shape::checked_numel("t", s).is_ok_and(|n| n <= LARGEST_RESULT);
        if !holdable(&x_shape) || !holdable(&w_shape) {
            return None;
        }
        let tape = Tape::new();
        let x = tape.var(Tensor::<f64>::full(&x_shape, 0.5));
        let w = tape.var(Tensor::<f64>::full(&w_shape, 0.25));
        let (what, want, result) = match local.random_range(0..3) {
            0 => {
                let geometry = nn::ops::ConvGeometry::new(&x_shape, &w_shape, stride, padding);
                let want = geometry.as_ref().ok().map(|g| g.output_shape().to_vec());
                if want.as_ref().is_some_and(|w| !holdable(w))
                    || geometry.is_ok_and(|g| !holdable(&[g.n, g.patch(), g.positions()]))
                {
                    return None;
                }
                ("conv2d", want, conv2d(x, w, None, stride, padding))
            }
            1 => {
                let want = nn::ops::PoolGeometry::new("max_pool2d", &x_shape, k, stride)
                    .ok()
                    .map(|g| g.output_shape().to_vec());
                ("max_pool2d", want, max_pool2d(x, k, stride))
            }
            _ => {
                let want = nn::ops::PoolGeometry::new("avg_pool2d", &x_shape, k, stride)
                    .ok()
                    .map(|g| g.output_shape().to_vec());
                ("avg_pool2d", want, avg_pool2d(x, k, stride))
            }
        };
        let context =
            format!("x {x_shape:?} w {w_shape:?} stride {stride} padding {padding} k {k}");
        Some(match result {
            Ok(y) => {
                assert_eq!(Some(y.shape().to_vec()), want, "{what} ({context})");
                let g = y.vjp(&Tensor::ones(&y.shape())).unwrap();
                assert_eq!(g.wrt(x).unwrap().shape(), x_shape.as_slice());
                true
            }
            Err(e) => {
                check_error(what, &e, &context);
                false
            }
        })
    });
    println!("{ok} convolutions and pools succeeded, {err} returned an error");
    assert!(ok > 100 && err > 1000, "ok {ok}, err {err}");
}

#[test]
fn pytorch_style_convolutions_and_pools_on_extreme_settings_keep_their_promises() {
    use nn::ops::{
        adaptive_avg_pool2d, avg_pool2d_with, conv2d_with, max_pool2d_with, ConvGeometry,
        ConvOptions, PoolGeometry, PoolOptions,
    };
    let (ok, err) = run_cases(9, 6000 * scale(), |local| {
        let four = |r: &mut ChaCha8Rng| -> Vec<usize> { (0..4).map(|_| extent(r)).collect() };
        let x_shape = four(local);
        let mut w_shape = four(local);
        let groups = [1, 1, 2, extent(local)][local.random_range(0..4)];
        if local.random_bool(0.6) && groups > 0 {
            w_shape[1] = x_shape[1] / groups.max(1);
        }
        let pair = |r: &mut ChaCha8Rng| (extent(r), extent(r));
        let conv = ConvOptions::default()
            .stride(pair(local))
            .padding(pair(local))
            .dilation(pair(local))
            .groups(groups);
        let pool = PoolOptions::new(pair(local))
            .stride(pair(local))
            .padding(pair(local))
            .ceil_mode(local.random_bool(0.5));
        let holdable =
            |s: &[usize]| autodiff::shape::checked_numel("t", s).is_ok_and(|n| n <= LARGEST_RESULT);
        if !holdable(&x_shape) || !holdable(&w_shape) {
            return None;
        }
        let tape = Tape::new();
        let x = tape.var(Tensor::<f64>::full(&x_shape, 0.5));
        let w = tape.var(Tensor::<f64>::full(&w_shape, 0.25));
        let (what, want, result) = match local.random_range(0..4) {
            0 => {
                let geometry = ConvGeometry::with_options(&x_shape, &w_shape, &conv);
                let want = geometry.as_ref().ok().map(|g| g.output_shape().to_vec());
                if want.as_ref().is_some_and(|w| !holdable(w))
                    || geometry.is_ok_and(|g| !holdable(&[g.n, g.patch(), g.positions()]))
                {
                    return None;
                }
                ("conv2d", want, conv2d_with(x, w, None, conv))
            }
            1 => {
                let want = PoolGeometry::with_options("max_pool2d", &x_shape, &pool)
                    .ok()
                    .map(|g| g.output_shape().to_vec());
                if want.as_ref().is_some_and(|w| !holdable(w)) {
                    return None;
                }
                ("max_pool2d", want, max_pool2d_with(x, pool))
            }
            2 => {
                let want = PoolGeometry::with_options("avg_pool2d", &x_shape, &pool)
                    .ok()
                    .map(|g| g.output_shape().to_vec());
                if want.as_ref().is_some_and(|w| !holdable(w)) {
                    return None;
                }
                ("avg_pool2d", want, avg_pool2d_with(x, pool))
            }
            _ => {
                let out = pair(local);
                let want = [x_shape[0], x_shape[1], out.0, out.1];
                if !holdable(&want) {
                    return None;
                }
                let ok = out.0 > 0 && out.1 > 0 && x_shape[2] > 0 && x_shape[3] > 0;
                (
                    "adaptive_avg_pool2d",
                    ok.then(|| want.to_vec()),
                    adaptive_avg_pool2d(x, out),
                )
            }
        };
        let context = format!("x {x_shape:?} w {w_shape:?} conv {conv:?} pool {pool:?}");
        Some(match result {
            Ok(y) => {
                assert_eq!(Some(y.shape().to_vec()), want, "{what} ({context})");
                let g = y.vjp(&Tensor::ones(&y.shape())).unwrap();
                assert_eq!(g.wrt(x).unwrap().shape(), x_shape.as_slice());
                true
            }
            Err(e) => {
                assert!(
                    want.is_none() || what == "adaptive_avg_pool2d",
                    "{what}: {e} ({context})"
                );
                check_error(what, &e, &context);
                false
            }
        })
    });
    println!("{ok} PyTorch-style convolutions and pools succeeded, {err} returned an error");
    assert!(ok > 100 && err > 1000, "ok {ok}, err {err}");
}
