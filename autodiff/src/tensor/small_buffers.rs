//! Per-thread free lists of small tensor buffers.
//!
//! A training step of a small network, or a chain of scalar operations,
//! makes and drops thousands of tensors of a few elements: values,
//! gradients, temporaries. Each is one allocation (elements and reference
//! count together), and `malloc` serves such a stream slowly once
//! thousands are alive at once (its per-size caches hold seven blocks).
//! The storage of a dropped tensor of at most [`MAX_ELEMENTS`] elements is
//! kept here instead, on the thread that dropped it, in a list for its
//! exact length, and reused by the next tensor of that length made on that
//! thread. At most [`MAX_BYTES`] of elements are kept per thread and
//! element type (`f32` and `f64` each have their lists). No locks: each
//! thread has its own.

use std::cell::RefCell;
use std::sync::Arc;

use crate::float::Float;

/// Buffers of more elements than this go to the process-wide pool or back
/// to `malloc`.
pub const MAX_ELEMENTS: usize = 256;

/// The most bytes of elements kept per thread and element type.
pub const MAX_BYTES: usize = 2 << 20;

/// Free buffers of one element type, by length.
pub struct Lists<T> {
    /// `by_len[n]`: free buffers of `n` elements.
    by_len: Vec<Vec<Arc<[T]>>>,
    bytes: usize,
}

impl<T> Lists<T> {
    const fn new() -> Self {
        Lists {
            by_len: Vec::new(),
            bytes: 0,
        }
    }
}

thread_local! {
    pub(crate) static F32: RefCell<Lists<f32>> = const { RefCell::new(Lists::new()) };
    pub(crate) static F64: RefCell<Lists<f64>> = const { RefCell::new(Lists::new()) };
}

/// Runs `f` on this thread's lists for `T` (`None` while the thread is
/// torn down, or for a re-entrant call).
#[inline]
fn with_lists<T: Float, R>(f: impl FnOnce(&mut Lists<T>) -> R) -> Option<R> {
    T::small_lists()
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut lists| f(&mut lists)))
        .ok()
        .flatten()
}

/// A free buffer of `len` elements (`1 ≤ len ≤ MAX_ELEMENTS`) from this
/// thread's lists, uniquely owned, holding whatever its last tensor left.
#[inline]
pub(crate) fn take<T: Float>(len: usize) -> Option<Arc<[T]>> {
    if len == 0 || len > MAX_ELEMENTS {
        return None;
    }
    with_lists::<T, _>(|lists| {
        let buffer = lists.by_len.get_mut(len)?.pop()?;
        lists.bytes -= len * std::mem::size_of::<T>();
        Some(buffer)
    })
    .flatten()
}

/// Keeps `buffer` (the last reference to a dropped tensor's storage) in
/// this thread's lists if it is small and there is room; else drops it.
#[inline]
pub(crate) fn give<T: Float>(buffer: Arc<[T]>) {
    let len = buffer.len();
    if len == 0 || len > MAX_ELEMENTS {
        return;
    }
    let bytes = len * std::mem::size_of::<T>();
    // a buffer that finds no room (or no lists) is dropped here, outside
    // the lists' borrow
    let _rejected = with_lists::<T, _>(move |lists| {
        if lists.bytes + bytes > MAX_BYTES {
            return Some(buffer);
        }
        if lists.by_len.len() <= len {
            lists.by_len.resize_with(MAX_ELEMENTS + 1, Vec::new);
        }
        lists.bytes += bytes;
        lists.by_len[len].push(buffer);
        None
    });
}

/// How many bytes of elements this thread keeps for `T`.
pub(crate) fn cached_bytes<T: Float>() -> usize {
    with_lists::<T, _>(|lists| lists.bytes).unwrap_or(0)
}

/// Frees every buffer this thread keeps for `T`.
pub(crate) fn clear<T: Float>() {
    let lists = with_lists::<T, _>(|lists| {
        lists.bytes = 0;
        std::mem::take(&mut lists.by_len)
    });
    drop(lists);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_to_the_next_tensor_of_its_length_on_its_thread() {
        clear::<f32>();
        let buffer: Arc<[f32]> = Arc::from(vec![1.0f32, 2.0, 3.0]);
        let at = Arc::as_ptr(&buffer) as *const f32;
        give(buffer);
        assert_eq!(cached_bytes::<f32>(), 12);
        assert!(take::<f32>(2).is_none());
        assert!(take::<f64>(3).is_none());
        let again = take::<f32>(3).expect("kept");
        assert_eq!(Arc::as_ptr(&again) as *const f32, at);
        assert_eq!(cached_bytes::<f32>(), 0);
        // another thread has lists of its own
        give(again);
        std::thread::spawn(|| assert!(take::<f32>(3).is_none()))
            .join()
            .unwrap();
        assert!(take::<f32>(3).is_some());
    }

    #[test]
    fn large_buffers_and_full_lists_are_not_kept() {
        clear::<f64>();
        give::<f64>(Arc::from(vec![0.0; MAX_ELEMENTS + 1]));
        assert_eq!(cached_bytes::<f64>(), 0);
        let per = MAX_ELEMENTS * 8;
        for _ in 0..MAX_BYTES / per + 3 {
            give::<f64>(Arc::from(vec![0.0; MAX_ELEMENTS]));
        }
        assert!(cached_bytes::<f64>() <= MAX_BYTES);
        clear::<f64>();
        assert_eq!(cached_bytes::<f64>(), 0);
    }
}
