//! Helpers shared by the examples: atomic file writes and SVG figures.
#![allow(dead_code)]

pub mod plot;

use std::path::Path;

/// Runs an example's body and exits with status 1 and its message on error.
pub fn exit_on_error(result: Result<(), Box<dyn std::error::Error>>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Writes `contents` to `path` through a temporary file in the same folder
/// and a rename, so a reader never sees half a file and an interrupted run
/// never destroys the previous one.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("creating folder {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, contents).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), path.display()))
}
