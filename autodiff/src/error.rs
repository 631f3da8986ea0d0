//! One error type for every fallible operation.

use std::fmt;
use std::panic::Location;

/// What went wrong, in broad strokes, so callers can match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Shapes that the operation cannot combine (matmul inner dimensions,
    /// broadcasting, reshape element counts, ...).
    Shape,
    /// An axis, index or range outside the tensor.
    Index,
    /// A class label outside `0..classes`.
    Label,
    /// An argument that is out of its domain (a non-scalar where a scalar is
    /// required, an empty list, ...).
    Argument,
    /// A value that is not on this tape, or a gradient that was not computed.
    Graph,
    /// A gradient check found the analytic and numeric gradients apart.
    GradCheck,
    /// A NaN or infinity was produced (reported in anomaly mode).
    Anomaly,
}

/// The error of every fallible operation in this crate.
///
/// Its message names the operation and the shapes involved, e.g.
/// `matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ`, and, where
/// known, the source location that called the operation.
#[derive(Clone, Debug)]
pub struct Error {
    kind: ErrorKind,
    op: String,
    message: String,
    location: Option<&'static Location<'static>>,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` raised by operation `op` with a message that says
    /// what was wrong.
    ///
    /// ```
    /// use autodiff::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::Shape, "my_op", "[2] and [3] differ");
    /// assert_eq!(e.to_string(), "my_op: [2] and [3] differ");
    /// ```
    pub fn new(kind: ErrorKind, op: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind,
            op: op.into(),
            message: message.into(),
            location: None,
        }
    }

    /// A [`ErrorKind::Shape`] error.
    ///
    /// ```
    /// use autodiff::{Error, ErrorKind};
    /// assert_eq!(Error::shape("conv2d", "kernel larger than image").kind(), ErrorKind::Shape);
    /// ```
    pub fn shape(op: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Shape, op, message)
    }

    /// A [`ErrorKind::Index`] error.
    ///
    /// ```
    /// use autodiff::{Error, ErrorKind};
    /// assert_eq!(Error::index("narrow", "range 2..4 out of bounds").kind(), ErrorKind::Index);
    /// ```
    pub fn index(op: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Index, op, message)
    }

    /// A [`ErrorKind::Argument`] error.
    ///
    /// ```
    /// use autodiff::{Error, ErrorKind};
    /// assert_eq!(Error::argument("concat", "needs at least one tensor").kind(), ErrorKind::Argument);
    /// ```
    pub fn argument(op: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Argument, op, message)
    }

    /// Attaches the source location of the caller (kept if one is already set).
    ///
    /// ```
    /// use autodiff::Error;
    /// let e = Error::shape("my_op", "bad").at(std::panic::Location::caller());
    /// assert!(e.to_string().contains("(called at "));
    /// ```
    pub fn at(mut self, location: &'static Location<'static>) -> Self {
        self.location.get_or_insert(location);
        self
    }

    /// Replaces the location: for an operation's forward error, which is
    /// always reported at the line that applied the operation, wherever
    /// inside the operation it arose (internal).
    pub(crate) fn relocated(mut self, location: &'static Location<'static>) -> Self {
        self.location = Some(location);
        self
    }

    /// Attaches the location that called the enclosing function, like
    /// [`at`](Self::at)`(Location::caller())`. Being `#[track_caller]`
    /// itself, inside a `#[track_caller]` function it names *that*
    /// function's caller — the user's line — however deep the call path.
    ///
    /// ```
    /// use autodiff::Error;
    /// #[track_caller]
    /// fn check(n: usize) -> autodiff::Result<()> {
    ///     if n == 0 {
    ///         return Err(Error::argument("check", "n is 0").at_caller());
    ///     }
    ///     Ok(())
    /// }
    /// let e = check(0).unwrap_err();
    /// assert_eq!(e.location().unwrap().line(), line!() - 1);
    /// ```
    #[track_caller]
    pub fn at_caller(self) -> Self {
        self.at(Location::caller())
    }

    /// The broad kind of the error.
    ///
    /// ```
    /// use autodiff::{ErrorKind, Tape, Tensor};
    /// let tape = Tape::new();
    /// let e = tape.var(Tensor::<f64>::ones(&[2])).cross_entropy(&[5]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Label);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The operation that failed, e.g. `"matmul"`.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let e = tape.var(Tensor::<f64>::ones(&[2])).reshape(&[3]).unwrap_err();
    /// assert_eq!(e.op(), "reshape");
    /// ```
    pub fn op(&self) -> &str {
        &self.op
    }

    /// What was wrong, without the operation's name.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let e = tape.var(Tensor::<f64>::ones(&[2])).reshape(&[3]).unwrap_err();
    /// assert_eq!(e.message(), "[2] -> [3]: element counts 2 and 3 differ");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The source location that called the failing operation, if known.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let e = tape.var(Tensor::<f64>::ones(&[2])).reshape(&[3]).unwrap_err();
    /// assert_eq!(e.location().unwrap().line(), line!() - 1);
    /// ```
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.location
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.message)?;
        if let Some(loc) = self.location {
            write!(
                f,
                " (called at {}:{}:{})",
                loc.file(),
                loc.line(),
                loc.column()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// [`Error::at_caller`] for a `Result`: attaches the location that called
/// the enclosing `#[track_caller]` function to an error that has none yet.
///
/// ```
/// use autodiff::{ResultExt, Tensor};
/// #[track_caller]
/// fn first(t: &Tensor<f64>) -> autodiff::Result<f64> {
///     t.data().first().copied().ok_or_else(|| autodiff::Error::argument("first", "empty")).at_caller()
/// }
/// let e = first(&Tensor::zeros(&[0])).unwrap_err();
/// assert_eq!(e.location().unwrap().file(), file!());
/// ```
pub trait ResultExt {
    /// See the trait's documentation.
    #[track_caller]
    fn at_caller(self) -> Self;
}

impl<T> ResultExt for Result<T> {
    #[track_caller]
    fn at_caller(self) -> Self {
        let location = Location::caller();
        self.map_err(|e| e.at(location))
    }
}
