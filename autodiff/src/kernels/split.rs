//! Fork-join that keeps the calling thread busy and the helpers awake.
//!
//! Two costs make a parallel region started from a thread outside rayon's
//! pool (the program's main thread) expensive on a virtual machine:
//!
//! - a parallel iterator hands all its work to the pool and puts the
//!   caller to sleep until the pool is done (a sleep and a wake-up per
//!   region);
//! - rayon's workers go to sleep some 30 µs after they run out of work, and
//!   waking a sleeping virtual CPU takes 40–90 µs here. A training step
//!   starts a parallel region every few hundred µs, so every region began
//!   with that wait: the 128×784×256 product of W2, 350 µs on one thread,
//!   still took 290–370 µs on two.
//!
//! [`for_each_part`] runs the first part on the calling thread and only the
//! others on the pool, as an OpenMP team includes its master; and after a
//! region started from outside the pool it leaves one worker spinning for
//! up to [`LINGER`] on a counter that the next region bumps, so that the
//! next region's parts start at once (OpenMP runtimes spin the same way
//! between regions). Called from inside the pool (a batch split in chunks,
//! say) it does not linger: the other workers have chunks to run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a worker stays awake after a region for the next one.
pub const LINGER: Duration = Duration::from_micros(500);

/// Bumped by every region: a lingering worker stops when it changes.
static REGION: AtomicU64 = AtomicU64::new(0);

/// Whether a worker is lingering now (at most one does).
static LINGERING: AtomicBool = AtomicBool::new(false);

/// Runs `work(part)` for every part — the first on the calling thread, the
/// others on rayon's pool — and returns when all have finished (a panic in
/// any part is resumed here).
///
/// ```
/// use autodiff::kernels::split::for_each_part;
/// let mut data = vec![1.0f32; 1000];
/// // disjoint halves, doubled at once on two threads (or one after the other)
/// let halves: Vec<&mut [f32]> = data.chunks_mut(500).collect();
/// for_each_part(halves, |half| half.iter_mut().for_each(|x| *x *= 2.0));
/// assert!(data.iter().all(|&x| x == 2.0));
/// ```
pub fn for_each_part<P: Send>(parts: Vec<P>, work: impl Fn(P) + Sync) {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return;
    };
    REGION.fetch_add(1, Ordering::Release);
    let work = &work;
    rayon::in_place_scope(|scope| {
        for part in parts {
            scope.spawn(move |_| work(part));
        }
        work(first);
    });
    if rayon::current_thread_index().is_none() {
        linger();
    }
}

/// `(a(), b())`, `a` on the calling thread and `b` on rayon's pool, as
/// [`for_each_part`] runs two parts.
///
/// ```
/// use autodiff::kernels::split::join;
/// let (a, b) = join(|| (1..=10).sum::<i32>(), || (1..=10).product::<i32>());
/// assert_eq!((a, b), (55, 3_628_800));
/// ```
pub fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    REGION.fetch_add(1, Ordering::Release);
    let mut b_out = None;
    let a_out = rayon::in_place_scope(|scope| {
        scope.spawn(|_| b_out = Some(b()));
        a()
    });
    if rayon::current_thread_index().is_none() {
        linger();
    }
    (a_out, b_out.expect("the scope ran the spawned part"))
}

/// Leaves one of the pool's workers spinning until the next region starts
/// or [`LINGER`] has passed, unless one is spinning already.
fn linger() {
    if LINGERING.swap(true, Ordering::AcqRel) {
        return;
    }
    let region = REGION.load(Ordering::Acquire);
    rayon::spawn(move || {
        let start = Instant::now();
        while REGION.load(Ordering::Acquire) == region && start.elapsed() < LINGER {
            std::hint::spin_loop();
        }
        LINGERING.store(false, Ordering::Release);
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn every_part_runs_once_and_the_first_on_the_calling_thread() {
        let seen = Mutex::new(Vec::new());
        let caller = std::thread::current().id();
        for_each_part((0..5).collect(), |p| {
            seen.lock()
                .unwrap()
                .push((p, std::thread::current().id() == caller));
        });
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(
            seen.iter().map(|s| s.0).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        assert!(seen[0].1, "part 0 runs on the calling thread");
        for_each_part(Vec::<usize>::new(), |_| unreachable!());
    }
}
