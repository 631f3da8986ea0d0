//! The cases the tests of the fused dense-layer operations (`linear`,
//! `linear_then`) share: the shapes they cover, and the two pools they run
//! on.
#![allow(dead_code)]

/// `(m, k, n)` of `[m, k]·[n, k]ᵀ`: one element, a row, W1's two layers
/// (10×2·8 and 10×8·2), and odd sizes past the tiny-product kernel.
pub const SHAPES: [(usize, usize, usize); 5] =
    [(1, 1, 1), (1, 3, 2), (10, 2, 8), (10, 8, 2), (7, 33, 65)];

/// Runs `case(m, k, n, bias)` for every shape of [`SHAPES`], with and
/// without a bias.
pub fn for_each_shape_with_and_without_bias(case: impl Fn(usize, usize, usize, bool)) {
    for (m, k, n) in SHAPES {
        for bias in [true, false] {
            case(m, k, n, bias);
        }
    }
}

/// Runs `case` on rayon's default pool, then on a pool of two threads.
pub fn on_default_and_two_threads(case: impl Fn() + Send + Sync) {
    case();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(case);
}
