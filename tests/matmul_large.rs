//! Products large enough to be split across threads: against a naive triple
//! loop, and bit for bit the same on one thread as on two.

mod common;

use autodiff::kernels::gemm::{batched, Matrices, PARALLEL_MIN_MULADDS};
use autodiff::Tensor;

fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Vec<f64> {
    let at = |i: usize, p: usize| if ta { a[p * m + i] } else { a[i * k + p] };
    let bt = |p: usize, j: usize| if tb { b[j * k + p] } else { b[p * n + j] };
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| at(i, p) * bt(p, j)).sum();
        }
    }
    c
}

fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn large_products_match_the_naive_loop_and_do_not_depend_on_threads() {
    // tall (split by rows) and wide (split by columns), with every transpose
    // and the thin shapes of a convolution: few rows (columns split in bands
    // wider than 64) or few columns (rows split)
    for (m, k, n) in [
        (600, 240, 120),
        (6, 900, 3200),
        (6, 25, 120_000),
        (64, 256, 1100),
        (7000, 150, 16),
        // W2's second layer: square, so x·Wᵀ (tb) splits by columns and
        // the others by rows
        (128, 256, 128),
    ] {
        assert!(m * k * n >= PARALLEL_MIN_MULADDS, "large enough to split");
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Tensor::<f64>::rand_uniform(&[m * k], -1.0, 1.0, 1);
            let b = Tensor::<f64>::rand_uniform(&[k * n], -1.0, 1.0, 2);
            let (sa, sb) = (
                if ta { (k, m) } else { (m, k) },
                if tb { (n, k) } else { (k, n) },
            );
            let operand = |data, (r, c), t: bool| {
                let v = Matrices::shared(data, r, c);
                if t {
                    v.t()
                } else {
                    v
                }
            };
            let run = || batched(1, operand(a.data(), sa, ta), operand(b.data(), sb, tb));
            let (one, two) = (on_threads(1, run), on_threads(2, run));
            assert_eq!(
                one, two,
                "{m}×{k}×{n} ({ta}, {tb}): threads changed the result"
            );
            // from this thread, outside rayon's pools: the team of this
            // thread and kernels::split's helpers (one per core but one)
            assert_eq!(
                one,
                run(),
                "{m}×{k}×{n} ({ta}, {tb}): the team changed the result"
            );
            let want = naive(a.data(), b.data(), m, k, n, ta, tb);
            let diff = one
                .iter()
                .zip(&want)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(diff < 1e-11, "{m}×{k}×{n} ({ta}, {tb}): {diff:e}");
        }
    }
}

#[test]
#[should_panic(expected = "gemm")]
fn a_short_operand_is_refused_not_read_out_of_bounds() {
    // A of 2×3 needs 6 elements; 5 are given. The extents are checked before
    // the kernel's unsafe call, in release builds too.
    let _ = batched(
        1,
        Matrices::shared(&[1.0f64; 5], 2, 3),
        Matrices::shared(&[1.0; 6], 3, 2),
    );
}

#[test]
#[should_panic(expected = "gemm")]
fn a_batch_stride_past_the_end_is_refused() {
    // the second batch entry would start at element 12 of a 6-element slice
    let a = Matrices {
        batch_stride: 12,
        ..Matrices::shared(&[1.0f64; 6], 2, 3)
    };
    let _ = batched(2, a, Matrices::shared(&[1.0; 6], 3, 2));
}

#[test]
#[should_panic(expected = "inner extents differ: 2×3 times 2×2")]
fn operands_whose_inner_extents_differ_are_refused() {
    let _ = batched(
        1,
        Matrices::shared(&[1.0f64; 6], 2, 3),
        Matrices::shared(&[1.0; 4], 2, 2),
    );
}
