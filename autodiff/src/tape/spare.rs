//! Spare lists: the emptied node and edge lists of a dropped tape, and the gradient
//! list of a dropped [`Grads`](super::Grads), kept for the next tape or
//! sweep on the same thread.
//!
//! A training step builds a tape of the same length every step. Grown
//! afresh, its node list is reallocated a dozen times per step, and each
//! large reallocation makes `malloc` consolidate the thousands of small
//! blocks the previous step freed (on the 3,000-operation chain of W4 that
//! was a fifth of the time spent in `malloc`). Kept, it is allocated once.
//! One list per element type is kept per thread, up to [`MAX_BYTES`].

use std::any::Any;
use std::cell::RefCell;

/// Lists with more capacity than this (in bytes) go back to the allocator.
pub(crate) const MAX_BYTES: usize = 64 << 20;

thread_local! {
    static SPARES: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// An empty `Vec<E>`: a list given back on this thread, with its capacity,
/// or a new one.
pub(crate) fn take<E: 'static>() -> Vec<E> {
    SPARES
        .try_with(|spares| {
            let mut spares = spares.try_borrow_mut().ok()?;
            let i = spares.iter().position(|s| s.is::<Vec<E>>())?;
            spares.swap_remove(i).downcast::<Vec<E>>().ok().map(|v| *v)
        })
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Empties `list` (dropping its elements) and keeps it for the next
/// [`take`] of its type on this thread, unless one is kept already or it
/// is too large.
pub(crate) fn give<E: 'static>(mut list: Vec<E>) {
    list.clear();
    let bytes = list.capacity().saturating_mul(std::mem::size_of::<E>());
    if list.capacity() == 0 || bytes > MAX_BYTES {
        return;
    }
    // during thread teardown, or if an element's drop re-entered, the
    // list is simply freed
    let _ = SPARES.try_with(|spares| {
        if let Ok(mut spares) = spares.try_borrow_mut() {
            if !spares.iter().any(|s| s.is::<Vec<E>>()) {
                spares.push(Box::new(list));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_list_comes_back_empty_with_its_capacity() {
        let mut v: Vec<u32> = take();
        v.extend(0..1000);
        let cap = v.capacity();
        give(v);
        let again: Vec<u32> = take();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), cap);
        // and only once
        assert_eq!(take::<u32>().capacity(), 0);
        // other types are kept apart
        give(vec![1u8; 10]);
        assert_eq!(take::<u16>().capacity(), 0);
        assert_eq!(take::<u8>().capacity(), 10);
    }
}
