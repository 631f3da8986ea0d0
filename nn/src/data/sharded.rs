//! Mini-batches split across the processes of a data-parallel job.

use autodiff::Result;

use super::Batches;

/// The global mini-batches of [`Batches`] — the same seeded order on every
/// process — each split into `parts` contiguous shards, of which this
/// process takes shard `part`. Shard sizes differ by at most one: of a
/// global batch of `b` examples, shard `r` holds `⌊b/p⌋ + 1` examples when
/// `r < b mod p` and `⌊b/p⌋` otherwise, so a small last batch may leave a
/// shard empty. [`Shard::global`] is the size of the whole global batch,
/// which a data-parallel step needs to weight its shard's gradient
/// (`local_len / global` of the global mean).
///
/// ```
/// use nn::data::ShardedBatches;
/// // 10 examples, global batches of 4, two processes
/// let shards = |part| -> Vec<Vec<usize>> {
///     let mut b = ShardedBatches::new(10, 4, 7, part, 2).unwrap();
///     b.epoch().map(|s| s.indices).collect()
/// };
/// let (a, b) = (shards(0), shards(1));
/// assert_eq!(a.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]); // the last batch has 2
/// assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
/// let mut all: Vec<usize> = a.concat().into_iter().chain(b.concat()).collect();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>()); // disjoint, and every example once
/// ```
pub struct ShardedBatches {
    batches: Batches,
    part: usize,
    parts: usize,
}

/// One process's shard of a global batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// The examples of this process's shard (possibly none).
    pub indices: Vec<usize>,
    /// The size of the global batch the shard belongs to.
    pub global: usize,
}

impl ShardedBatches {
    /// Shard `part` of `parts` of the global batches of `batch` examples
    /// over `0..n`, shuffled from `seed` each epoch.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `batch`
    /// is 0, `parts` is 0, or `part ≥ parts`.
    #[track_caller]
    pub fn new(n: usize, batch: usize, seed: u64, part: usize, parts: usize) -> Result<Self> {
        if parts == 0 || part >= parts {
            return Err(autodiff::Error::argument(
                "ShardedBatches::new",
                format!("shard {part} of {parts}: need 0 ≤ part < parts"),
            )
            .at_caller());
        }
        Ok(ShardedBatches {
            batches: Batches::new(n, batch, seed)?,
            part,
            parts,
        })
    }

    /// The number of global batches in an epoch.
    pub fn len(&self) -> usize {
        self.batches.len()
    }

    /// Whether an epoch has no batch.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Shuffles (identically on every process) and returns this process's
    /// shard of each global batch of one epoch.
    pub fn epoch(&mut self) -> impl Iterator<Item = Shard> + '_ {
        let (part, parts) = (self.part, self.parts);
        self.batches.epoch().map(move |global| {
            let (b, p) = (global.len(), parts);
            let start = part * (b / p) + part.min(b % p);
            let len = b / p + usize::from(part < b % p);
            Shard {
                indices: global[start..start + len].to_vec(),
                global: b,
            }
        })
    }
}
