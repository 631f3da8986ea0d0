//! A tensor's elements: one held in the tensor itself, or any number in
//! one shared allocation.
//!
//! Scalars and one-element tensors are everywhere on a tape — losses,
//! their gradients, scalar chains like W4's — and each used to cost an
//! allocation and a reference count. Held inline they cost neither, and
//! the type stays two words: `One(T)` is told apart from `Shared` by the
//! `Arc`'s pointer, which is never null.

use std::sync::Arc;

use super::pool;
use crate::float::Float;

/// The elements of a tensor, in row-major order.
pub(crate) enum Storage<T> {
    /// Exactly one element, held inline.
    One(T),
    /// Any number of elements (two or more, unless a kernel built it from
    /// a buffer it had), behind a reference count, shared by clones.
    Shared(Arc<[T]>),
}

impl<T: Float> Storage<T> {
    /// The storage of `elements`: inline for none or one, else a pooled
    /// buffer of that length or the vector's own elements moved.
    pub(crate) fn from_vec(elements: Vec<T>) -> Self {
        match elements.len() {
            1 => Storage::One(elements[0]),
            n => Storage::Shared(match pool::take::<T>(n) {
                Some(mut buffer) => {
                    Arc::get_mut(&mut buffer)
                        .expect("pooled buffers are unique")
                        .copy_from_slice(&elements);
                    buffer
                }
                None => elements.into(),
            }),
        }
    }

    /// The elements.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            Storage::One(v) => std::slice::from_ref(v),
            Storage::Shared(a) => a,
        }
    }

    /// The elements for writing, if no other tensor shares them.
    #[inline]
    pub(crate) fn get_mut(&mut self) -> Option<&mut [T]> {
        match self {
            Storage::One(v) => Some(std::slice::from_mut(v)),
            Storage::Shared(a) => unique_mut(a),
        }
    }

    /// The elements for writing, copied first if another tensor shares them.
    pub(crate) fn make_mut(&mut self) -> &mut [T] {
        if let Storage::Shared(a) = self {
            if unique_mut(a).is_none() {
                // the shared storage is released as usual (others still hold it)
                *a = a.iter().copied().collect();
            }
        }
        self.get_mut().expect("storage just made unique")
    }

    /// Hands a shared buffer that no other tensor holds to the pool, for
    /// the next tensor of its length; leaves one zero behind (for the drop
    /// of a tensor that is going away).
    #[inline]
    pub(crate) fn recycle(&mut self) {
        if let Storage::Shared(a) = std::mem::replace(self, Storage::One(T::zero())) {
            if Arc::strong_count(&a) == 1 {
                pool::give(a);
            }
        }
    }
}

/// `Arc::get_mut` for a tensor's storage, without its compare-and-swap.
///
/// `Arc::get_mut` locks the weak count with an atomic compare-and-swap to
/// rule out a `Weak` being upgraded meanwhile; two of those per written
/// tensor were 8 % of the Playground network's training step (`perf`).
/// Two plain loads decide the same question here: with the `Arc` borrowed
/// mutably, no other thread can clone it, and with no `Weak` pointer (this
/// crate never makes one; a count of zero is checked all the same) none
/// can be upgraded, so counts of one strong and zero weak references stay
/// so while the slice is borrowed.
#[inline]
fn unique_mut<T>(a: &mut Arc<[T]>) -> Option<&mut [T]> {
    if Arc::strong_count(a) != 1 || Arc::weak_count(a) != 0 {
        return None;
    }
    // Pairs with the release decrement of the last other `Arc`'s drop: its
    // thread's accesses to the elements happen before the writes that the
    // returned slice allows.
    std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
    // SAFETY: `a` is the only `Arc` of its allocation and no `Weak` exists
    // (counts checked above; neither can change while `a` is borrowed
    // mutably, as argued above), so no other reference to the elements
    // exists or can be made for the lifetime of the returned slice, which
    // borrows `a` mutably. The pointer comes from `Arc::as_ptr`, which
    // points at the live elements, valid for reads and writes of `len`
    // elements — what `Arc::get_mut` itself returns in this case.
    Some(unsafe { &mut *(Arc::as_ptr(a) as *mut [T]) })
}

impl<T: Copy> Clone for Storage<T> {
    /// The same elements: a copy of an inline one, another reference to
    /// shared ones.
    #[inline]
    fn clone(&self) -> Self {
        match self {
            Storage::One(v) => Storage::One(*v),
            Storage::Shared(a) => Storage::Shared(a.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_element_is_held_inline_in_two_words() {
        assert_eq!(std::mem::size_of::<Storage<f64>>(), 16);
        assert!(matches!(Storage::from_vec(vec![2.5f64]), Storage::One(v) if v == 2.5));
        assert!(Storage::<f32>::from_vec(vec![]).as_slice().is_empty());
        let mut shared = Storage::from_vec(vec![1.0f64, 2.0]);
        let other = shared.clone();
        assert!(shared.get_mut().is_none(), "shared with the clone");
        shared.make_mut()[0] = 9.0;
        assert_eq!(
            (shared.as_slice(), other.as_slice()),
            (&[9.0, 2.0][..], &[1.0, 2.0][..])
        );
    }

    #[test]
    fn storage_is_writable_in_place_exactly_when_no_other_reference_exists() {
        let mut a: Arc<[f64]> = vec![1.0, 2.0, 3.0].into();
        assert!(unique_mut(&mut a).is_some());
        // a clone read and dropped on another thread: unique again after
        let b = a.clone();
        assert!(unique_mut(&mut a).is_none());
        let sum = std::thread::spawn(move || b.iter().sum::<f64>())
            .join()
            .unwrap();
        assert_eq!(sum, 6.0);
        unique_mut(&mut a).expect("the clone was dropped")[0] = 4.0;
        assert_eq!(&a[..], &[4.0, 2.0, 3.0]);
        // a weak pointer (this crate makes none) also keeps it read-only
        let weak = Arc::downgrade(&a);
        assert!(unique_mut(&mut a).is_none());
        drop(weak);
        assert!(unique_mut(&mut a).is_some());
        // writes through the storage land in place, without a copy
        let mut s = Storage::Shared(a);
        let before = s.as_slice().as_ptr();
        s.make_mut()[1] = 5.0;
        assert_eq!(
            (s.as_slice(), s.as_slice().as_ptr()),
            (&[4.0, 5.0, 3.0][..], before)
        );
    }
}
