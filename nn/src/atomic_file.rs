//! Atomic, durable file writes: a reader sees the old file or the new one,
//! never a mixture, and a crash or a killed process at any moment leaves the
//! previous file intact.
//!
//! The bytes go to a temporary file with a unique name in the target's own
//! folder (so that the rename stays on one file system), which is flushed to
//! the disk (`fsync`), renamed over the target (atomic on POSIX), and then
//! the folder is flushed too, so that the rename itself survives a power
//! loss. On any error the temporary file is removed.
//!
//! The new file gets the permissions the target had, or, for a new target,
//! those of a file made by `File::create` (0o666 less the umask) — not the
//! owner-only 0o600 of a temporary file.

use std::io::Write;
use std::path::Path;

use crate::error::FileError;

/// Writes `contents` to `path` atomically and durably (see the module
/// documentation). Two writers saving to different targets in one folder
/// never share a temporary file; a user's own `*.tmp` files are never
/// touched.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("notes.txt");
/// nn::write_atomically(&path, b"first")?;
/// nn::write_atomically(&path, b"second")?;
/// assert_eq!(std::fs::read(&path)?, b"second");
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 1); // no temporary left behind
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A [`FileError`] naming `path` when the folder does not exist or is not
/// writable, the disk is full, or the rename fails; the target is then
/// unchanged.
pub fn write_atomically(path: impl AsRef<Path>, contents: &[u8]) -> Result<(), FileError> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| FileError::new(path, "cannot write: the path does not name a file"))?;
    let fail = |what: &str, e: std::io::Error| FileError::io(path, what, e);
    // a hidden, unique temporary beside the target: `.name.XXXXXX.tmp`
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    if let Some(permissions) = permissions_for(path) {
        builder.permissions(permissions);
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| fail("create a temporary file in its folder", e))?;
    tmp.write_all(contents)
        .map_err(|e| fail("write the temporary file", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| fail("flush the temporary file to disk", e))?;
    // on failure `persist` hands the temporary back; dropping it deletes it
    tmp.persist(path)
        .map_err(|e| fail("rename the temporary file onto it", e.error))?;
    sync_dir(dir).map_err(|e| fail("flush its folder to disk", e))
}

/// The target's own permissions when it exists, else read-write for all
/// less the umask (what `File::create` gives); `None` where the platform
/// has no such modes.
fn permissions_for(path: &Path) -> Option<std::fs::Permissions> {
    if let Ok(meta) = std::fs::metadata(path) {
        return Some(meta.permissions());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(std::fs::Permissions::from_mode(0o666))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Flushes a folder's entries (the rename) to disk. Folders cannot be
/// opened as files on Windows, where the rename is durable on its own.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
