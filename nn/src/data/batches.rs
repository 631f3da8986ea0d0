//! Seeded splits and mini-batches.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A seeded random split of `0..n` into (train, test) index lists, with
/// `round(n · test_fraction)` indices in the test list.
///
/// ```
/// let (train, test) = nn::data::train_test_split(10, 0.5, 3)?;
/// assert_eq!((train.len(), test.len()), (5, 5));
/// let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
/// assert!(nn::data::train_test_split(10, f64::NAN, 3).is_err());
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when
/// `test_fraction` is NaN or outside [0, 1].
#[track_caller]
pub fn train_test_split(
    n: usize,
    test_fraction: f64,
    seed: u64,
) -> autodiff::Result<(Vec<usize>, Vec<usize>)> {
    if !(0.0..=1.0).contains(&test_fraction) {
        return Err(autodiff::Error::argument(
            "train_test_split",
            format!("test fraction {test_fraction} is not in [0, 1]"),
        )
        .at(std::panic::Location::caller()));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_test = (((n as f64) * test_fraction).round() as usize).min(n);
    let test = idx.split_off(n - n_test);
    Ok((idx, test))
}

/// Mini-batches of `0..n` in a fresh seeded order each epoch; the last
/// batch of an epoch may be smaller.
///
/// ```
/// use nn::data::Batches;
/// let mut b = Batches::new(5, 2, 0)?;
/// let epoch: Vec<Vec<usize>> = b.epoch().collect();
/// assert_eq!(epoch.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
/// let next: Vec<Vec<usize>> = b.epoch().collect();
/// assert_ne!(epoch, next); // reshuffled
/// assert!(Batches::new(5, 0, 0).is_err());
/// # Ok::<(), autodiff::Error>(())
/// ```
pub struct Batches {
    order: Vec<usize>,
    batch: usize,
    rng: ChaCha8Rng,
}

impl Batches {
    /// Batches of `batch` indices over `0..n`.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `batch`
    /// is 0.
    #[track_caller]
    pub fn new(n: usize, batch: usize, seed: u64) -> autodiff::Result<Self> {
        if batch == 0 {
            return Err(autodiff::Error::argument(
                "Batches::new",
                "batch size 0: a batch needs at least one example",
            )
            .at(std::panic::Location::caller()));
        }
        Ok(Batches {
            order: (0..n).collect(),
            batch,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
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
