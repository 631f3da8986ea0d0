//! A per-thread cache of large tensor buffers.
//!
//! A training step allocates and frees the same large buffers every step
//! (activations, gradients, products). Handed back to `malloc`, they go back
//! to the operating system at the top of the heap and come back one page
//! fault per 4 KiB in the next step: on the LeNet step that was half of the
//! time. Like the caching allocators of PyTorch and XLA, the storage of a
//! dropped tensor of at least [`MIN_ELEMENTS`] elements is kept here, per
//! thread, and reused by the next tensor of the same element type and
//! length. At most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes are kept;
//! [`clear`] frees them.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::sync::Arc;

/// Buffers smaller than this (in elements) go straight back to `malloc`.
pub const MIN_ELEMENTS: usize = 1 << 14;

/// The most buffers one thread keeps.
pub const MAX_BUFFERS: usize = 64;

/// The most bytes one thread keeps.
pub const MAX_BYTES: usize = 256 << 20;

struct Cached {
    ty: TypeId,
    len: usize,
    bytes: usize,
    buffer: Box<dyn Any>,
}

#[derive(Default)]
struct Pool {
    buffers: Vec<Cached>,
    bytes: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::default();
}

/// A cached buffer of `len` elements of `T`, uniquely owned, if one is kept.
/// Its elements hold whatever the last tensor left there.
pub(crate) fn take<T: 'static>(len: usize) -> Option<Arc<[T]>> {
    if len < MIN_ELEMENTS {
        return None;
    }
    let ty = TypeId::of::<T>();
    POOL.try_with(|pool| {
        let mut pool = pool.try_borrow_mut().ok()?;
        let i = pool
            .buffers
            .iter()
            .rposition(|c| c.ty == ty && c.len == len)?;
        let cached = pool.buffers.swap_remove(i);
        pool.bytes -= cached.bytes;
        cached.buffer.downcast::<Arc<[T]>>().ok().map(|b| *b)
    })
    .ok()
    .flatten()
}

/// Keeps `buffer` (the last reference to a dropped tensor's storage) for
/// reuse, unless it is small or the cache is full.
pub(crate) fn give<T: 'static>(buffer: Arc<[T]>) {
    let len = buffer.len();
    let bytes = len * std::mem::size_of::<T>();
    if len < MIN_ELEMENTS || bytes > MAX_BYTES {
        return;
    }
    let _ = POOL.try_with(|pool| {
        let Ok(mut pool) = pool.try_borrow_mut() else {
            return;
        };
        if pool.buffers.len() >= MAX_BUFFERS || pool.bytes + bytes > MAX_BYTES {
            // make room: the oldest buffer goes back to the allocator
            let old = pool.buffers.remove(0);
            pool.bytes -= old.bytes;
        }
        pool.bytes += bytes;
        pool.buffers.push(Cached {
            ty: TypeId::of::<T>(),
            len,
            bytes,
            buffer: Box::new(buffer),
        });
    });
}

/// Frees every buffer this thread keeps.
///
/// ```
/// use autodiff::Tensor;
/// drop(Tensor::<f32>::zeros(&[1 << 16])); // its buffer is kept for reuse
/// assert!(autodiff::tensor_pool::cached_bytes() >= 4 << 16);
/// autodiff::tensor_pool::clear();
/// assert_eq!(autodiff::tensor_pool::cached_bytes(), 0);
/// ```
pub fn clear() {
    let _ = POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            pool.buffers.clear();
            pool.bytes = 0;
        }
    });
}

/// How many bytes of buffers this thread keeps.
///
/// ```
/// autodiff::tensor_pool::clear();
/// assert_eq!(autodiff::tensor_pool::cached_bytes(), 0);
/// ```
pub fn cached_bytes() -> usize {
    POOL.try_with(|pool| pool.try_borrow().map(|p| p.bytes).unwrap_or(0))
        .unwrap_or(0)
}
