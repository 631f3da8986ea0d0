//! [`Tensor<T>`]: an n-dimensional, row-major array of `f32` or `f64`.
//!
//! A tensor is an immutable value: its elements are shared by its clones,
//! so cloning one is cheap and never copies the data. Operations build new
//! tensors; the tape records them (see [`Tape`](crate::Tape)). A tensor of
//! one element holds it inline; larger ones keep their elements and their
//! reference count in one allocation (`Arc<[T]>`), which the kernels fill
//! in place.

mod compare;
mod display;
pub mod pool;
mod random;
pub(crate) mod small_buffers;
mod storage;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::{checked_numel, fmt_shape, numel, shape_of, strides, Shape};
pub(crate) use storage::Storage;

/// An n-dimensional, row-major (C-order) array of `T`.
///
/// Its accessors: the shape, rank and element count, the elements, and
/// copies of them.
///
/// ```
/// use autodiff::Tensor;
/// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!((t.rank(), t.numel()), (2, 6));
/// assert_eq!(t.data()[4], 5.0);
/// assert_eq!(t.get(&[1, 0])?, 4.0);
/// assert_eq!(t.to_vec(), t.clone().into_vec());
/// # Ok::<(), autodiff::Error>(())
/// ```
pub struct Tensor<T: Float> {
    shape: Shape,
    data: Storage<T>,
}

impl<T: Float> Clone for Tensor<T> {
    /// Another handle to the same elements (no copy), with its own shape.
    #[inline]
    fn clone(&self) -> Self {
        Tensor {
            // `shape_of` copies up to four extents as one block
            // (`SmallVec::clone` pushes them one by one)
            shape: shape_of(&self.shape),
            data: self.data.clone(),
        }
    }
}

impl<T: Float> Drop for Tensor<T> {
    /// The last tensor holding a buffer hands it to the [`pool`], which
    /// keeps small and large ones for the next tensor of the same size.
    #[inline]
    fn drop(&mut self) {
        self.data.recycle();
    }
}

impl<T: Float> Tensor<T> {
    /// A tensor of `shape` holding `data` in row-major order.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.get(&[1, 0])?, 3.0);
    /// assert!(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[2, 2]).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when `data.len()` is not
    /// the product of `shape`, or when that product overflows.
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        let at = std::panic::Location::caller();
        let n = checked_numel("Tensor::from_vec", shape).map_err(|e| e.at(at))?;
        if data.len() != n {
            return Err(Error::shape(
                "Tensor::from_vec",
                format!(
                    "{} elements cannot fill shape {} ({n} elements)",
                    data.len(),
                    fmt_shape(shape),
                ),
            )
            .at(at));
        }
        Ok(Self::from_parts(data, shape_of(shape)))
    }

    /// Builds a tensor whose length is already known to match (internal).
    pub(crate) fn from_parts(data: Vec<T>, shape: Shape) -> Self {
        Self::from_storage(Storage::from_vec(data), shape)
    }

    /// Builds a tensor from a shared buffer whose length is already known
    /// to match the shape (internal).
    #[inline]
    pub(crate) fn from_shared(data: Arc<[T]>, shape: Shape) -> Self {
        Self::from_storage(Storage::Shared(data), shape)
    }

    /// Builds a tensor from storage whose length is already known to match
    /// the shape (internal).
    #[inline]
    pub(crate) fn from_storage(data: Storage<T>, shape: Shape) -> Self {
        assert_eq!(
            data.as_slice().len(),
            numel(&shape),
            "tensor storage and shape differ"
        );
        Tensor { shape, data }
    }

    /// A rank-0 tensor (shape `[]`) holding one value.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let t = Tensor::scalar(2.5);
    /// assert_eq!((t.rank(), t.item()?), (0, 2.5));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn scalar(value: T) -> Self {
        Self::from_storage(Storage::One(value), Shape::new())
    }

    /// A tensor of `shape` whose every element is `value`.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// assert_eq!(Tensor::full(&[2], 7.0).data(), &[7.0, 7.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Panics
    /// When the shape has more elements than a tensor can hold
    /// ([`shape::MAX_ELEMENTS`](crate::shape::MAX_ELEMENTS)), like `vec!`
    /// with an impossible length; the message names the shape and the
    /// caller's line. [`try_full`](Self::try_full) returns that as an error.
    #[track_caller]
    pub fn full(shape: &[usize], value: T) -> Self {
        Self::try_full(shape, value).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`full`](Self::full) for shapes that may be too large: an error
    /// instead of a panic.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// assert_eq!(Tensor::try_full(&[2], 7.0)?.data(), &[7.0, 7.0]);
    /// let e = Tensor::<f32>::try_full(&[1 << 32, 1 << 32], 1.0).unwrap_err();
    /// assert_eq!(e.op(), "Tensor::full");
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the product of the
    /// extents overflows or exceeds [`shape::MAX_ELEMENTS`](crate::shape::MAX_ELEMENTS).
    #[track_caller]
    pub fn try_full(shape: &[usize], value: T) -> Result<Self> {
        let at = std::panic::Location::caller();
        let n = checked_numel("Tensor::full", shape).map_err(|e| e.at(at))?;
        let data = match (n, pool::take::<T>(n)) {
            (1, _) => Storage::One(value),
            (_, Some(mut buffer)) => {
                Arc::get_mut(&mut buffer)
                    .expect("pooled buffers are unique")
                    .fill(value);
                Storage::Shared(buffer)
            }
            (_, None) => Storage::Shared(std::iter::repeat_n(value, n).collect()),
        };
        Ok(Self::from_storage(data, shape_of(shape)))
    }

    /// A tensor of `shape` for a kernel that writes every element: its
    /// elements are unspecified (whatever a reused buffer held, or zeros).
    /// It skips the zero-filling of [`zeros`](Self::zeros) when a buffer of
    /// the [`tensor_pool`](crate::tensor_pool) is free.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let mut t = Tensor::<f32>::for_overwrite(&[2, 2]);
    /// t.data_mut().copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(t.data(), &[1.0, 2.0, 3.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// As [`full`](Self::full), for a shape with too many elements.
    #[track_caller]
    pub fn for_overwrite(shape: &[usize]) -> Self {
        let n = checked_numel("Tensor::for_overwrite", shape).unwrap_or_else(|e| panic!("{e}"));
        match pool::take::<T>(n) {
            Some(buffer) if n > 1 => Self::from_shared(buffer, shape_of(shape)),
            _ => Self::zeros(shape),
        }
    }

    /// A tensor of zeros.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// assert_eq!(Tensor::<f32>::zeros(&[3]).data(), &[0.0; 3]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Panics
    /// As [`full`](Self::full), for a shape with too many elements
    /// ([`try_full`](Self::try_full) returns an error instead).
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// assert_eq!(Tensor::<f64>::ones(&[2, 2]).numel(), 4);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Panics
    /// As [`full`](Self::full), for a shape with too many elements
    /// ([`try_full`](Self::try_full) returns an error instead).
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// A tensor whose element at each multi-index is `f(index)`.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let eye = Tensor::<f64>::from_fn(&[2, 2], |i| if i[0] == i[1] { 1.0 } else { 0.0 });
    /// assert_eq!(eye.data(), &[1.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// As [`full`](Self::full), for a shape with too many elements.
    #[track_caller]
    pub fn from_fn(shape: &[usize], mut f: impl FnMut(&[usize]) -> T) -> Self {
        let n = checked_numel("Tensor::from_fn", shape).unwrap_or_else(|e| panic!("{e}"));
        let mut data = Vec::with_capacity(n);
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..n {
            data.push(f(&idx));
            for ax in (0..shape.len()).rev() {
                idx[ax] += 1;
                if idx[ax] < shape[ax] {
                    break;
                }
                idx[ax] = 0;
            }
        }
        Self::from_parts(data, shape_of(shape))
    }

    /// The `n`×`n` identity matrix.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// assert_eq!(Tensor::<f64>::eye(2).data(), &[1.0, 0.0, 0.0, 1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Panics
    /// As [`full`](Self::full), when `n²` elements are too many.
    #[track_caller]
    pub fn eye(n: usize) -> Self {
        Self::from_fn(&[n, n], |i| if i[0] == i[1] { T::one() } else { T::zero() })
    }

    /// The extent of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes (0 for a scalar).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.as_slice().len()
    }

    /// The elements in row-major order.
    #[inline]
    pub fn data(&self) -> &[T] {
        self.data.as_slice()
    }

    /// The elements, copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        self.data().to_vec()
    }

    /// The elements as a `Vec` (a copy: the storage is shared).
    pub fn into_vec(self) -> Vec<T> {
        self.data().to_vec()
    }

    /// Mutable access to the elements, copying them first if the storage is
    /// shared with another tensor (copy-on-write).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
    /// let mut b = a.clone();        // shares a's storage
    /// b.data_mut()[0] = 9.0;        // copies before writing
    /// assert_eq!((a.data()[0], b.data()[0]), (1.0, 9.0));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data.make_mut()
    }

    /// Whether no other tensor shares this one's storage, so that
    /// [`data_mut`](Self::data_mut) writes in place without copying.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let mut a = Tensor::<f64>::zeros(&[2]);
    /// assert!(a.is_unique());
    /// let b = a.clone();
    /// assert!(!a.is_unique());
    /// drop(b);
    /// assert!(a.is_unique());
    /// ```
    pub fn is_unique(&mut self) -> bool {
        self.data.get_mut().is_some()
    }

    /// The element at a multi-index.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.get(&[0, 1])?, 2.0);
    /// assert!(t.get(&[2, 0]).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) when the index has the
    /// wrong length or is out of bounds.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> Result<T> {
        let at = std::panic::Location::caller();
        Ok(self.data()[self.offset("Tensor::get", index).map_err(|e| e.at(at))?])
    }

    /// The value of a one-element tensor (of any rank).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// assert_eq!(Tensor::from_vec(vec![4.0], &[1, 1])?.item()?, 4.0);
    /// assert!(Tensor::<f64>::zeros(&[2]).item().is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the tensor does not
    /// have exactly one element.
    #[track_caller]
    pub fn item(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "Tensor::item",
                format!(
                    "shape {} has {} elements, item needs exactly one",
                    fmt_shape(&self.shape),
                    self.numel()
                ),
            )
            .at(std::panic::Location::caller()));
        }
        Ok(self.data()[0])
    }

    /// The same elements under another shape with as many elements.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4])?.reshape(&[2, 2])?;
    /// assert_eq!(t.shape(), &[2, 2]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the element counts
    /// differ or the new shape's count overflows.
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        let at = std::panic::Location::caller();
        let n = checked_numel("reshape", shape).map_err(|e| e.at(at))?;
        if n != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "{} -> {}: element counts {} and {n} differ",
                    fmt_shape(&self.shape),
                    fmt_shape(shape),
                    self.numel(),
                ),
            )
            .at(at));
        }
        Ok(Tensor {
            shape: shape_of(shape),
            data: self.data.clone(),
        })
    }

    /// Applies `f` to every element.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, -2.0], &[2])?;
    /// assert_eq!(t.map(f64::abs).data(), &[1.0, 2.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        Self::from_parts(
            self.data().iter().map(|&x| f(x)).collect(),
            shape_of(&self.shape),
        )
    }

    /// `f(a, b)` for every pair of elements of two tensors of one shape.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
    /// let b = Tensor::from_vec(vec![10.0, 20.0], &[2])?;
    /// assert_eq!(a.zip_map(&b, |x, y| x * y)?.data(), &[10.0, 40.0]);
    /// assert!(a.zip_map(&Tensor::zeros(&[3]), |x, y| x + y).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the shapes differ
    /// (no broadcasting: see [`Var::add`](crate::Var::add) for that).
    #[track_caller]
    pub fn zip_map(&self, other: &Self, f: impl Fn(T, T) -> T + Sync) -> Result<Self> {
        if self.shape != other.shape {
            return Err(Error::shape(
                "zip_map",
                format!(
                    "{} and {}: shapes differ",
                    fmt_shape(&self.shape),
                    fmt_shape(&other.shape)
                ),
            )
            .at(std::panic::Location::caller()));
        }
        Ok(crate::kernels::elementwise::zip_same(self, other, &f))
    }

    /// Converts every element to another float type (`f32` ↔ `f64`).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![0.1f64], &[1])?;
    /// assert_eq!(t.cast::<f32>().data(), &[0.1f32]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn cast<U: Float>(&self) -> Tensor<U> {
        Tensor::from_parts(
            self.data().iter().map(|&x| U::of_f64(x.as_f64())).collect(),
            shape_of(&self.shape),
        )
    }

    /// The largest absolute element-wise difference to `other`.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
    /// let b = Tensor::from_vec(vec![1.5, 1.0], &[2])?;
    /// assert_eq!(a.max_abs_diff(&b)?, 1.0);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Shape`](crate::ErrorKind::Shape) when the shapes differ.
    #[track_caller]
    pub fn max_abs_diff(&self, other: &Self) -> Result<T> {
        if self.shape != other.shape {
            return Err(Error::shape(
                "max_abs_diff",
                format!(
                    "{} and {}: shapes differ",
                    fmt_shape(&self.shape),
                    fmt_shape(&other.shape)
                ),
            )
            .at(std::panic::Location::caller()));
        }
        Ok(self
            .data()
            .iter()
            .zip(other.data().iter())
            .fold(T::zero(), |m, (&a, &b)| {
                let d = (a - b).abs();
                if d > m || d.is_nan() {
                    d
                } else {
                    m
                }
            }))
    }

    /// Whether every element is finite (no NaN, no infinity).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// assert!(Tensor::from_vec(vec![1.0, 2.0], &[2])?.all_finite());
    /// assert!(!Tensor::from_vec(vec![1.0, f64::NAN], &[2])?.all_finite());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn all_finite(&self) -> bool {
        self.data().iter().all(|x| x.is_finite())
    }

    /// Flat row-major offset of a multi-index, checked.
    pub(crate) fn offset(&self, op: &str, index: &[usize]) -> Result<usize> {
        if index.len() != self.rank() || index.iter().zip(&self.shape).any(|(&i, &d)| i >= d) {
            return Err(Error::index(
                op,
                format!(
                    "index {:?} is out of bounds for shape {}",
                    index,
                    fmt_shape(&self.shape)
                ),
            ));
        }
        Ok(index
            .iter()
            .zip(strides(&self.shape).iter())
            .map(|(i, s)| i * s)
            .sum())
    }

    /// The shape as the inline [`Shape`] type (internal).
    #[inline]
    pub(crate) fn shape_vec(&self) -> Shape {
        shape_of(&self.shape)
    }
}

impl<T: Float> std::fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor<{}>{} ", T::NAME, fmt_shape(&self.shape))?;
        std::fmt::Display::fmt(self, f)
    }
}
