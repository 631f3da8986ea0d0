//! The `gemm` crate's packing buffers, allocated aligned on every product,
//! do not make a thread's glibc `malloc` arena creep upwards
//! (`autodiff/src/kernels/malloc_cache.rs` says how they did).
//!
//! One test in its own binary: it reads glibc's counters for the whole
//! process, so nothing else may allocate meanwhile.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use autodiff::kernels::gemm::{batched_into, Matrices};

/// Bytes that glibc's arenas hold from the operating system (all arenas).
fn arena_bytes() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    unsafe { libc::mallinfo2() }.arena
}

#[test]
fn products_on_a_fresh_thread_do_not_grow_its_arena_step_by_step() {
    // one thread: every product runs on the thread below, none on helpers
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("the global pool is built once, here");
    let sizes = std::thread::spawn(|| {
        // W2's three largest products, each with packing buffers of its
        // own size: x·Wᵀ (128×784 by 784×256), Δᵀ·x (256×128 by 128×784)
        // and Δ·W (128×128 by 128×256)
        let x = vec![0.5f32; 128 * 784];
        let w1 = vec![0.25f32; 256 * 784];
        let d1 = vec![1.0f32; 128 * 256];
        let d2 = vec![1.0f32; 128 * 128];
        let w2 = vec![0.5f32; 128 * 256];
        let mut y1 = vec![0.0f32; 128 * 256];
        let mut gw1 = vec![0.0f32; 256 * 784];
        let mut ga1 = vec![0.0f32; 128 * 256];
        let mut round = || {
            batched_into(
                1,
                Matrices::shared(&x, 128, 784),
                Matrices::shared(&w1, 256, 784).t(),
                &mut y1,
            );
            batched_into(
                1,
                Matrices::shared(&d1, 128, 256).t(),
                Matrices::shared(&x, 128, 784),
                &mut gw1,
            );
            batched_into(
                1,
                Matrices::shared(&d2, 128, 128),
                Matrices::shared(&w2, 128, 256),
                &mut ga1,
            );
        };
        // glibc's arenas after each round (no allocation in between); the
        // first rounds may grow them: glibc serves the first large buffers
        // by mmap and then raises its threshold, taking later ones from
        // the arena
        let mut sizes = Vec::with_capacity(43);
        for _ in 0..43 {
            round();
            sizes.push(arena_bytes());
        }
        // the products are right, too (every term is the same)
        assert_eq!((y1[0], gw1[0], ga1[0]), (98.0, 64.0, 64.0));
        sizes
    })
    .join()
    .expect("the products run");
    // Without malloc_cache's fill the arena grew by ~400 KB a round for
    // nine rounds here (0.84 → 3.78 MB); with it, not after the second.
    let grown = sizes[42].saturating_sub(sizes[2]);
    assert!(
        grown <= 64 << 10,
        "40 rounds of the same products grew glibc's arenas by {grown} bytes: {sizes:?}"
    );
}
