//! Fork-join on a team of the calling thread and private helpers.
//!
//! Four costs make a parallel region started from a thread outside rayon's
//! pools (the program's main thread) expensive on a small virtual machine:
//!
//! - a parallel iterator hands all its work to the pool and puts the
//!   caller to sleep until the pool is done (a sleep and a wake-up per
//!   region);
//! - rayon's workers go to sleep some 30 µs after they run out of work, and
//!   waking a sleeping virtual CPU takes 40–90 µs here. A training step
//!   starts a parallel region every few hundred µs, so every region began
//!   with that wait: the 128×784×256 product of W2, 350 µs on one thread,
//!   still took 290–370 µs on two;
//! - with `RAYON_NUM_THREADS=n` the global pool has n workers besides the
//!   caller: n + 1 threads for n cores. A worker that is woken for a part
//!   another one has taken spins for its next job on a core the caller and
//!   the other worker need;
//! - a caller from outside the pool that finishes its part first waits for
//!   the others on a condition variable: it sleeps, and the last part's
//!   thread wakes it through the kernel.
//!
//! So a region started outside rayon's pools runs on a *team*: the calling
//! thread, which runs the first part (as an OpenMP team includes its
//! master), and a private pool of n − 1 helpers (n is
//! [`rayon::current_num_threads`], the global pool's size), which run the
//! others. The caller, done with its part, spins for up to 200 µs until
//! the other parts are done before it blocks; and after the region one
//! helper spins for up to [`LINGER`] on a counter that the next region
//! bumps, so that the next region's parts start at once (OpenMP runtimes
//! spin the same ways). On W2 (two threads) the caller's spin took the step
//! from 1,139 to 972 µs (medians of 9 interleaved runs).
//!
//! Called from a thread of a rayon pool (a batch split in chunks on the
//! global pool, say) the parts are spawned on that pool and nobody lingers:
//! the other workers have chunks to run. A region started inside a part of a
//! team region runs its parts one after the other on its thread: the team
//! is busy already.
//!
//! Which thread runs a part never changes what the part computes, so results
//! do not depend on the number of threads as long as the parts do not.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rayon::{Scope, ThreadPool};

/// How long a helper stays awake after a region for the next one.
pub const LINGER: Duration = Duration::from_micros(500);

/// Bumped by every team region: a lingering helper stops when it changes.
static REGION: AtomicU64 = AtomicU64::new(0);

/// Whether a helper is lingering now (at most one does).
static LINGERING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Whether this thread is running a part of a team region.
    static IN_TEAM_PART: Cell<bool> = const { Cell::new(false) };
}

/// The helpers of team regions: a pool of `rayon::current_num_threads() − 1`
/// threads, built on first use; `None` with one thread (or when the
/// operating system refuses to start threads: regions then run on the
/// caller alone).
fn helpers() -> Option<&'static ThreadPool> {
    static HELPERS: OnceLock<Option<ThreadPool>> = OnceLock::new();
    HELPERS
        .get_or_init(|| {
            let team = rayon::current_num_threads();
            (team >= 2)
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(team - 1)
                        .thread_name(|i| format!("tapegrad-helper-{i}"))
                        .build()
                        .ok()
                })
                .flatten()
        })
        .as_ref()
}

/// Where a region started on this thread runs its parts.
enum Place {
    /// One after the other on this thread.
    Here,
    /// On the team of this thread and the helpers.
    Team(&'static ThreadPool),
    /// On the rayon pool this thread belongs to.
    CurrentPool,
}

fn place() -> Place {
    if IN_TEAM_PART.with(Cell::get) {
        return Place::Here;
    }
    if rayon::current_thread_index().is_some() {
        return Place::CurrentPool;
    }
    helpers().map_or(Place::Here, Place::Team)
}

/// Runs `f` marked as a part of a team region (nested regions run inline),
/// restoring the mark afterwards, also when `f` panics.
fn as_team_part<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IN_TEAM_PART.with(|m| m.set(self.0));
        }
    }
    let _restore = Restore(IN_TEAM_PART.with(|m| m.replace(true)));
    f()
}

/// `f()`, [marked](as_team_part) when `team` is set.
fn mark_if<R>(team: bool, f: impl FnOnce() -> R) -> R {
    if team {
        as_team_part(f)
    } else {
        f()
    }
}

/// Runs `body` in a scope of the place's pool (spawning the other parts
/// there) and lingers afterwards for a team region.
fn in_scope<'s, R>(pool: Option<&'static ThreadPool>, body: impl FnOnce(&Scope<'s>) -> R) -> R {
    match pool {
        Some(pool) => {
            REGION.fetch_add(1, Ordering::Release);
            let out = pool.in_place_scope(|scope| as_team_part(|| body(scope)));
            linger(pool);
            out
        }
        None => rayon::in_place_scope(body),
    }
}

/// Runs `work(part)` for every part — the first on the calling thread, the
/// others on the team's helpers or the current rayon pool (see the module
/// documentation) — and returns when all have finished (a panic in any part
/// is resumed here).
///
/// A team region with more parts than the team has threads hands each
/// thread one run of consecutive parts, the runs as even as the count
/// allows (the caller the first run): four chunks of a batch on a team of
/// two run two on each thread, not one on the caller and three on the
/// helper. On a rayon pool every part is a job of its own, and idle
/// workers steal them.
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
    let pool = match place() {
        _ if parts.len() < 2 => return parts.into_iter().for_each(work),
        Place::Here => return parts.into_iter().for_each(work),
        Place::Team(pool) => Some(pool),
        Place::CurrentPool => None,
    };
    let team = pool.map_or(usize::MAX, |p| p.current_num_threads() + 1);
    if parts.len() > team {
        let runs = runs_of(parts, team);
        spread(pool, runs, |run| run.into_iter().for_each(&work));
    } else {
        spread(pool, parts, work);
    }
}

/// [`for_each_part`]'s region on `pool` (a team's helpers) or, with
/// `None`, on the current rayon pool: one part on the caller, one job for
/// each of the others.
fn spread<P: Send>(pool: Option<&'static ThreadPool>, parts: Vec<P>, work: impl Fn(P) + Sync) {
    let pending = Pending::new(parts.len() - 1);
    let mut parts = parts.into_iter();
    let first = parts.next().expect("at least two parts");
    let (work, pending) = (&work, &pending);
    in_scope(pool, |scope| {
        for part in parts {
            scope.spawn(move |_| {
                let _done = pending.finish_on_drop();
                mark_if(pool.is_some(), || work(part))
            });
        }
        work(first);
        if pool.is_some() {
            pending.spin_until_done();
        }
    });
}

/// `parts` in `runs` runs of consecutive parts, in order: run `t` holds
/// parts `⌊len·t/runs⌋ .. ⌊len·(t+1)/runs⌋`, so runs differ in length by
/// at most one (and none is empty when `runs ≤ len`).
fn runs_of<P>(parts: Vec<P>, runs: usize) -> Vec<Vec<P>> {
    let len = parts.len();
    let mut parts = parts.into_iter();
    (0..runs)
        .map(|t| {
            // len·t fits: t < runs ≤ len here, and len is a Vec's length
            let size = len * (t + 1) / runs - len * t / runs;
            parts.by_ref().take(size).collect()
        })
        .collect()
}

/// `(a(), b())`, `a` on the calling thread and `b` on a helper or the
/// current rayon pool, as [`for_each_part`] runs two parts.
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
    let pool = match place() {
        Place::Here => return (a(), b()),
        Place::Team(pool) => Some(pool),
        Place::CurrentPool => None,
    };
    let mut b_out = None;
    let pending = Pending::new(1);
    let a_out = in_scope(pool, |scope| {
        let pending = &pending;
        let b_out = &mut b_out;
        scope.spawn(move |_| {
            let _done = pending.finish_on_drop();
            *b_out = Some(mark_if(pool.is_some(), b));
        });
        let a_out = a();
        if pool.is_some() {
            pending.spin_until_done();
        }
        a_out
    });
    (a_out, b_out.expect("the scope ran the spawned part"))
}

/// How long the calling thread spins for the other parts of a region
/// after its own, before it blocks in rayon's scope (a sleep and a wake-up
/// through the kernel, tens of µs on a virtual machine).
const SPIN_FOR_PARTS: Duration = Duration::from_micros(200);

/// The parts of a region that have not finished yet.
struct Pending(AtomicUsize);

/// Counts a part as finished when dropped (also when the part panics).
struct Finished<'a>(&'a AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

impl Pending {
    fn new(parts: usize) -> Self {
        Pending(AtomicUsize::new(parts))
    }

    fn finish_on_drop(&self) -> Finished<'_> {
        Finished(&self.0)
    }

    /// Spins until every part has finished or [`SPIN_FOR_PARTS`] has
    /// passed; rayon's scope then waits for whatever is left. Only for team
    /// regions: a worker of a rayon pool waits in the scope instead, where
    /// it runs the parts nobody has taken (they are in its own queue).
    fn spin_until_done(&self) {
        if self.0.load(Ordering::Acquire) == 0 {
            return;
        }
        let start = Instant::now();
        while self.0.load(Ordering::Acquire) != 0 && start.elapsed() < SPIN_FOR_PARTS {
            std::hint::spin_loop();
        }
    }
}

/// Leaves one of the helpers spinning until the next team region starts or
/// [`LINGER`] has passed, unless one is spinning already.
fn linger(pool: &ThreadPool) {
    if LINGERING.swap(true, Ordering::AcqRel) {
        return;
    }
    let region = REGION.load(Ordering::Acquire);
    pool.spawn(move || {
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

    /// The threads that ran `parts` parts of one region started here.
    fn threads_of_a_region(parts: usize) -> Vec<std::thread::ThreadId> {
        let seen = Mutex::new(Vec::new());
        for_each_part((0..parts).collect(), |_| {
            // long enough parts that a helper takes some
            std::thread::sleep(Duration::from_millis(2));
            seen.lock().unwrap().push(std::thread::current().id());
        });
        let mut seen = seen.into_inner().unwrap();
        seen.sort_by_key(|id| format!("{id:?}"));
        seen.dedup();
        seen
    }

    #[test]
    fn a_region_outside_rayon_runs_on_the_caller_and_fewer_helpers_than_threads() {
        let team = rayon::current_num_threads();
        let threads = threads_of_a_region(4 * team);
        assert!(
            threads.len() <= team,
            "{} threads, team of {team}",
            threads.len()
        );
        let helpers: Vec<_> = threads
            .iter()
            .filter(|&&id| id != std::thread::current().id())
            .collect();
        assert_eq!(helpers.len() + 1, threads.len(), "the caller runs a part");
        assert_eq!(helpers.is_empty(), team == 1, "helpers run the other parts");
    }

    #[test]
    fn runs_are_consecutive_and_even() {
        let runs = runs_of((0..10).collect(), 4);
        assert_eq!(runs, [vec![0, 1], vec![2, 3, 4], vec![5, 6], vec![7, 8, 9]]);
        assert_eq!(runs_of((0..4).collect(), 4), [[0], [1], [2], [3]]);
    }

    #[test]
    fn more_parts_than_threads_are_shared_evenly_in_runs() {
        // the caller runs the first run of consecutive parts, each helper
        // one run: on a team of n, 2n parts are two per thread
        let team = rayon::current_num_threads();
        let caller = std::thread::current().id();
        let seen = Mutex::new(Vec::new());
        for_each_part((0..2 * team).collect(), |p| {
            std::thread::sleep(Duration::from_millis(2));
            seen.lock().unwrap().push((p, std::thread::current().id()));
        });
        let mut seen = seen.into_inner().unwrap();
        seen.sort_by_key(|s| s.0);
        let mine: Vec<usize> = seen.iter().filter(|s| s.1 == caller).map(|s| s.0).collect();
        assert_eq!(mine, [0, 1], "the caller's run");
        for pair in seen.chunks(2) {
            assert_eq!(
                pair[0].1, pair[1].1,
                "parts {} and {} split",
                pair[0].0, pair[1].0
            );
        }
    }

    #[test]
    fn regions_nested_in_a_team_part_run_on_its_thread_and_join_returns_both() {
        let nested_elsewhere = std::sync::atomic::AtomicUsize::new(0);
        for_each_part((0..4).collect(), |_| {
            let me = std::thread::current().id();
            for_each_part((0..4).collect(), |_| {
                if std::thread::current().id() != me {
                    nested_elsewhere.fetch_add(1, Ordering::Relaxed);
                }
            });
            let (a, b) = join(
                || std::thread::current().id(),
                || std::thread::current().id(),
            );
            assert_eq!((a, b), (me, me));
        });
        assert_eq!(nested_elsewhere.into_inner(), 0);
    }

    #[test]
    fn a_region_inside_a_rayon_pool_runs_on_that_pool() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| {
            let outside = Mutex::new(0);
            for_each_part((0..6).collect(), |_| {
                if rayon::current_thread_index().is_none() {
                    *outside.lock().unwrap() += 1;
                }
            });
            assert_eq!(*outside.lock().unwrap(), 0, "parts ran outside the pool");
        });
    }

    #[test]
    fn a_panic_in_a_part_reaches_the_caller_and_leaves_no_mark() {
        for panicking in 0..2 {
            let caught = std::panic::catch_unwind(|| {
                for_each_part(vec![0, 1], |p| assert_ne!(p, panicking, "part {p}"));
            });
            assert!(caught.is_err(), "the panic of part {panicking} was lost");
            assert!(!IN_TEAM_PART.with(Cell::get), "the caller is still marked");
            // and the next region runs in parallel again
            let (a, b) = join(|| 1, || 2);
            assert_eq!((a, b), (1, 2));
        }
    }
}
