//! Helpers shared by the examples: atomic file writes and SVG figures.
#![allow(dead_code)]

pub mod plane_maps;
pub mod plot;

use std::path::Path;

/// Runs an example's body and exits with status 1 and its message on error.
pub fn exit_on_error(result: Result<(), Box<dyn std::error::Error>>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Creates `path`'s folder if needed and writes `contents` there with
/// [`nn::write_atomically`]: a unique temporary file, flushed and renamed,
/// so a reader never sees half a file and an interrupted run never destroys
/// the previous one.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("creating folder {}: {e}", dir.display()))?;
    }
    nn::write_atomically(path, contents).map_err(|e| e.to_string())
}

/// Parses a `--lr` value for clap: a finite number in (0, 10]. NaN,
/// infinities, 0, negative rates and absurd ones like 1e300 are refused
/// before any training starts.
pub fn learning_rate(s: &str) -> Result<f64, String> {
    let lr: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if lr.is_finite() && lr > 0.0 && lr <= 10.0 {
        Ok(lr)
    } else {
        Err(format!("{s} is not a learning rate in (0, 10]"))
    }
}
