//! Seeded splits and mini-batches.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A seeded random split of `0..n` into (train, test) index lists, with
/// `round(n · test_fraction)` indices in the test list.
///
/// ```
/// let (train, test) = nn::data::train_test_split(10, 0.5, 3);
/// assert_eq!((train.len(), test.len()), (5, 5));
/// let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
/// ```
pub fn train_test_split(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_test = ((n as f64) * test_fraction.clamp(0.0, 1.0)).round() as usize;
    let test = idx.split_off(n - n_test);
    (idx, test)
}

/// Mini-batches of `0..n` in a fresh seeded order each epoch; the last
/// batch of an epoch may be smaller.
///
/// ```
/// use nn::data::Batches;
/// let mut b = Batches::new(5, 2, 0);
/// let epoch: Vec<Vec<usize>> = b.epoch().collect();
/// assert_eq!(epoch.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
/// let next: Vec<Vec<usize>> = b.epoch().collect();
/// assert_ne!(epoch, next); // reshuffled
/// ```
pub struct Batches {
    order: Vec<usize>,
    batch: usize,
    rng: ChaCha8Rng,
}

impl Batches {
    /// Batches of `batch` indices (at least 1) over `0..n`.
    pub fn new(n: usize, batch: usize, seed: u64) -> Self {
        Batches {
            order: (0..n).collect(),
            batch: batch.max(1),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The number of batches in an epoch.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch)
    }

    /// Whether an epoch has no batch.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Shuffles and returns the batches of one epoch.
    pub fn epoch(&mut self) -> impl Iterator<Item = Vec<usize>> + '_ {
        self.order.shuffle(&mut self.rng);
        self.order.chunks(self.batch).map(<[usize]>::to_vec)
    }
}
