//! Keeps the `gemm` crate's per-call packing buffers from creeping up a
//! thread's glibc `malloc` arena.
//!
//! Every large product asks the `gemm` crate for packing buffers (W2's are
//! 66–353 KiB), which it allocates aligned (`posix_memalign`) on each call
//! and frees at its end. glibc serves an aligned request by carving a chunk
//! with some slack and freeing the unaligned head and the tail it did not
//! need: small chunks (filling the sizes of 32 to 144 bytes, as below,
//! measured enough to stop the growth). A thread's first seven free chunks
//! of each small size go to its *tcache*, a per-thread list that glibc never
//! merges with the neighbouring free memory. A tail parked there, just
//! above a packing buffer, keeps that buffer from merging back into the
//! arena's free top when it is freed; the next buffer, of another size, is
//! carved above it, and the arena grows step by step until every cached
//! tail is one of those already parked. On W2 at two threads the helper
//! thread's arena grew so to 1,816 KiB for at most 353 KiB of live buffers.
//!
//! [`fill_once_per_thread`] fills the tcache lists of those sizes once per
//! thread, before the thread's first product, with chunks that it
//! allocates and frees at once (56 chunks, 4.5 KiB). With the lists full,
//! glibc frees the later heads and tails the ordinary way: chunks above
//! 128 bytes merge with their neighbours at once, smaller ones ("fast bins")
//! are merged before the next large request. W6 (200 W2 steps, peak
//! resident memory; `/usr/bin/time -v`, 6 interleaved runs each) at two
//! threads went from 12,576–13,808 KiB (median 12,624) to 10,888–11,248
//! (11,100), and at one thread from 10,892–11,180 to 10,804–10,980: the
//! main thread's arena gains a little too. Filling only the threads of
//! rayon's pools, not the main thread, measured 11,260–11,688 at two.
//!
//! Only glibc has a tcache (seven entries per size by default, sizes in
//! steps of 16 bytes: the `glibc.malloc.tcache_count` tunable of its
//! manual); elsewhere this does nothing. With another global allocator it
//! costs 56 small allocations per thread that multiplies matrices.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::cell::Cell;

    /// glibc's default number of chunks per tcache size.
    const PER_SIZE: usize = 7;

    /// The tcache sizes filled: requests of 24, 40, …, 136 bytes, that is
    /// chunks of 32 to 144 bytes, the sizes of the heads and tails of
    /// aligned requests (filling every tcache size, up to 1,032 bytes,
    /// parks 240 KiB and measured 600 KiB more at two threads).
    const SIZES: usize = 8;

    thread_local! {
        static FILLED: Cell<bool> = const { Cell::new(false) };
    }

    #[inline]
    pub fn fill_once_per_thread() {
        if !FILLED.with(|f| f.replace(true)) {
            fill();
        }
    }

    #[cold]
    fn fill() {
        let chunks: Vec<Vec<u8>> = (0..SIZES)
            .flat_map(|s| (0..PER_SIZE).map(move |_| Vec::with_capacity(24 + 16 * s)))
            .collect();
        // The allocations must happen, and all be live at once: freeing
        // them together is what leaves the lists full.
        drop(std::hint::black_box(chunks));
    }
}

/// Fill this thread's glibc tcache lists of the sizes that aligned
/// allocations leave behind, the first time the thread calls it (see the
/// module documentation); a no-op without glibc.
#[inline]
pub(crate) fn fill_once_per_thread() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::fill_once_per_thread();
}
