//! [`FileError`]: a data or model file that could not be read or written.

use std::fmt;
use std::path::{Path, PathBuf};

/// A data or model file that could not be read or written: the file, what
/// was wrong, and — when the operating system refused — its `io::Error`
/// as the [`source`](std::error::Error::source).
///
/// ```
/// use std::error::Error;
/// let e = nn::data::files::load_mnist("no/such/folder").unwrap_err();
/// assert!(e.to_string().starts_with("no/such/folder"));
/// let io = e.source().and_then(|s| s.downcast_ref::<std::io::Error>()).expect("the OS error");
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Debug)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What was wrong with it.
    pub message: String,
    source: Option<std::io::Error>,
}

impl FileError {
    /// A fault found in the file's contents (no operating-system error).
    pub(crate) fn new(path: &Path, message: impl Into<String>) -> Self {
        FileError {
            path: path.to_path_buf(),
            message: message.into(),
            source: None,
        }
    }

    /// The operating system's refusal to `what` ("read", "write the
    /// temporary file", …), kept as the source.
    pub(crate) fn io(path: &Path, what: &str, error: std::io::Error) -> Self {
        FileError {
            path: path.to_path_buf(),
            message: format!("cannot {what}: {error}"),
            source: Some(error),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
