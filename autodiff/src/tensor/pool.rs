//! Caches of tensor buffers: a process-wide one for large buffers, and
//! per-thread lists for small ones (`small_buffers.rs`).
//!
//! A training step allocates and frees the same large buffers every step
//! (activations, gradients, products). Handed back to `malloc`, they go back
//! to the operating system at the top of the heap and come back one page
//! fault per 4 KiB in the next step: on the LeNet step that was half of the
//! time. Like the caching allocators of PyTorch and XLA, the storage of a
//! dropped tensor of at least [`MIN_ELEMENTS`] elements is kept here and
//! reused by the next tensor of the same element type and length. The
//! cache is shared by all threads (behind a mutex, taken once per large
//! buffer): a gradient computed on one of rayon's threads and dropped on
//! the main thread comes back to whichever thread needs the next one. At
//! most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes are kept; [`clear`]
//! frees them.

use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex, MutexGuard};

use super::small_buffers as small;
use crate::float::Float;

/// Buffers smaller than this (in elements) go straight back to `malloc`.
pub const MIN_ELEMENTS: usize = 1 << 14;

/// The most buffers kept.
pub const MAX_BUFFERS: usize = 128;

/// The most bytes kept.
pub const MAX_BYTES: usize = 256 << 20;

struct Cached {
    ty: TypeId,
    len: usize,
    bytes: usize,
    buffer: Box<dyn Any + Send>,
}

struct Pool {
    buffers: Vec<Cached>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    buffers: Vec::new(),
    bytes: 0,
});

/// The pool, also after a panic elsewhere while it was locked (its
/// invariants hold between any two statements that change it).
fn pool() -> MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A cached buffer of `len` elements of `T`, uniquely owned, if one is kept
/// (small ones in this thread's lists, large ones in the shared pool).
/// Its elements hold whatever the last tensor left there.
#[inline]
pub(crate) fn take<T: Float>(len: usize) -> Option<Arc<[T]>> {
    if len <= small::MAX_ELEMENTS {
        return small::take(len);
    }
    if len < MIN_ELEMENTS {
        return None;
    }
    let ty = TypeId::of::<T>();
    let cached = {
        let mut pool = pool();
        let i = pool
            .buffers
            .iter()
            .rposition(|c| c.ty == ty && c.len == len)?;
        let cached = pool.buffers.swap_remove(i);
        pool.bytes -= cached.bytes;
        cached
    };
    cached.buffer.downcast::<Arc<[T]>>().ok().map(|b| *b)
}

/// Keeps `buffer` (the last reference to a dropped tensor's storage) for
/// reuse: a small one in this thread's lists, a large one in the shared
/// pool; one of a size in between, or that finds no room, is freed.
#[inline]
pub(crate) fn give<T: Float>(buffer: Arc<[T]>) {
    let len = buffer.len();
    if len <= small::MAX_ELEMENTS {
        return small::give(buffer);
    }
    let bytes = len * std::mem::size_of::<T>();
    if len < MIN_ELEMENTS || bytes > MAX_BYTES {
        return;
    }
    let evicted = {
        let mut pool = pool();
        let mut evicted = Vec::new();
        while !pool.buffers.is_empty()
            && (pool.buffers.len() >= MAX_BUFFERS || pool.bytes + bytes > MAX_BYTES)
        {
            // make room: the oldest buffers go back to the allocator
            let old = pool.buffers.remove(0);
            pool.bytes -= old.bytes;
            evicted.push(old);
        }
        pool.bytes += bytes;
        pool.buffers.push(Cached {
            ty: TypeId::of::<T>(),
            len,
            bytes,
            buffer: Box::new(buffer),
        });
        evicted
    };
    drop(evicted); // freed outside the lock
}

/// Frees every buffer kept: the shared pool's, and this thread's small
/// ones.
///
/// ```
/// use autodiff::Tensor;
/// drop(Tensor::<f32>::zeros(&[1 << 16])); // its buffer is kept for reuse
/// assert!(autodiff::tensor_pool::cached_bytes() >= 4 << 16);
/// autodiff::tensor_pool::clear();
/// assert_eq!(autodiff::tensor_pool::cached_bytes(), 0);
/// ```
pub fn clear() {
    small::clear::<f32>();
    small::clear::<f64>();
    let buffers = {
        let mut pool = pool();
        pool.bytes = 0;
        std::mem::take(&mut pool.buffers)
    };
    drop(buffers);
}

/// How many bytes of buffers are kept: in the shared pool, and in this
/// thread's small lists.
///
/// ```
/// autodiff::tensor_pool::clear();
/// assert_eq!(autodiff::tensor_pool::cached_bytes(), 0);
/// ```
pub fn cached_bytes() -> usize {
    pool().bytes + small::cached_bytes::<f32>() + small::cached_bytes::<f64>()
}
