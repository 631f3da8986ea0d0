//! Reading the handwritten-digit files: MNIST in the IDX format and the UCI
//! 8×8 digits as CSV, both gzip-compressed. Every malformed file gives a
//! [`FileError`] naming the file and what was wrong — never a panic.
//!
//! IDX (LeCun's format): a big-endian header — magic `0x0000_08DD` (`08`:
//! unsigned bytes, `DD`: the number of dimensions), then one `u32` extent
//! per dimension — followed by exactly the product of the extents in bytes.
//! Images have 3 dimensions (magic `0x00000803`), labels 1 (`0x00000801`).

use std::io::Read;
use std::path::Path;

use autodiff::{Float, Tensor};
use flate2::read::MultiGzDecoder;

pub use crate::error::FileError;

/// The bytes of a file, decompressed when it is gzip (magic `1f 8b`).
fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, FileError> {
    let raw = std::fs::read(path).map_err(|e| FileError::io(path, "read", e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        // Every member of the file, as gzip (RFC 1952 §2.2) and gunzip read
        // it: a second member is the continuation of the data, and bytes
        // after the last member that are not a member are an error, never
        // silently dropped.
        let mut out = Vec::new();
        MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| {
                FileError::new(
                    path,
                    format!("broken gzip stream (or bytes after its last member): {e}"),
                )
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an IDX file of unsigned bytes with `dims` dimensions: the extents
/// and the data.
fn parse_idx(path: &Path, bytes: &[u8], dims: u8) -> Result<(Vec<usize>, Vec<u8>), FileError> {
    let want = 0x0000_0800u32 | u32::from(dims);
    let header_len = 4 + 4 * usize::from(dims);
    if bytes.len() < 4 {
        return Err(FileError::new(
            path,
            format!(
                "truncated: {} bytes, too short for an IDX header",
                bytes.len()
            ),
        ));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != want {
        return Err(FileError::new(
            path,
            format!("wrong magic number 0x{magic:08x}, expected 0x{want:08x} (unsigned bytes, {dims} dimensions)"),
        ));
    }
    if bytes.len() < header_len {
        return Err(FileError::new(
            path,
            format!(
                "truncated: {} bytes, the header needs {header_len}",
                bytes.len()
            ),
        ));
    }
    let extents: Vec<usize> = (0..usize::from(dims))
        .map(|d| {
            let at = 4 + 4 * d;
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
        })
        .collect();
    let expected = extents
        .iter()
        .try_fold(1usize, |acc, &e| acc.checked_mul(e));
    let have = bytes.len() - header_len;
    match expected {
        Some(n) if n == have => Ok((extents, bytes[header_len..].to_vec())),
        Some(n) if n > have => Err(FileError::new(
            path,
            format!("truncated: the header {extents:?} announces {n} bytes of data, the file holds {have}"),
        )),
        Some(n) => Err(FileError::new(
            path,
            format!("{} bytes after the {n} bytes of data the header {extents:?} announces", have - n),
        )),
        None => Err(FileError::new(path, format!("extents {extents:?} overflow"))),
    }
}

/// Grey-level images, row-major, one byte a pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    /// How many images.
    pub count: usize,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// `count · rows · cols` pixels.
    pub pixels: Vec<u8>,
    /// The largest possible pixel value (255 for MNIST, 16 for the 8×8 digits).
    pub max_value: u8,
}

impl Images {
    /// The number of pixels of one image, after checking that the public
    /// fields agree: `pixels.len() == count · rows · cols` (in checked
    /// arithmetic).
    fn image_size(&self, op: &str) -> autodiff::Result<usize> {
        let size = self.rows.checked_mul(self.cols);
        match size.and_then(|s| s.checked_mul(self.count)) {
            Some(total) if total == self.pixels.len() => Ok(size.unwrap_or(0)),
            _ => Err(autodiff::Error::shape(
                op,
                format!(
                    "{} images of {}×{} pixels need {} pixels, `pixels` holds {}",
                    self.count,
                    self.rows,
                    self.cols,
                    size.and_then(|s| s.checked_mul(self.count))
                        .map_or("more than memory can address".to_string(), |t| t
                            .to_string()),
                    self.pixels.len()
                ),
            )),
        }
    }

    /// The images at `indices` as a `[k, 1, rows, cols]` tensor with values
    /// scaled to [0, 1].
    ///
    /// ```
    /// use nn::data::files::Images;
    /// let im = Images { count: 2, rows: 1, cols: 2, pixels: vec![0, 255, 51, 102], max_value: 255 };
    /// assert_eq!(im.to_tensor::<f32>(&[1])?.data(), &[0.2, 0.4]);
    /// assert!(im.to_tensor::<f32>(&[2]).is_err());
    /// let broken = Images { count: 3, ..im };
    /// assert!(broken.to_tensor::<f32>(&[0]).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](autodiff::ErrorKind::Index) for an index out of
    /// range; [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when the
    /// public fields disagree (`pixels.len() != count · rows · cols`).
    #[track_caller]
    pub fn to_tensor<T: Float>(&self, indices: &[usize]) -> autodiff::Result<Tensor<T>> {
        let at = std::panic::Location::caller();
        let size = self.image_size("Images::to_tensor").map_err(|e| e.at(at))?;
        let max = f64::from(self.max_value.max(1));
        let mut data = Vec::with_capacity(indices.len().saturating_mul(size));
        for &i in indices {
            data.extend(
                self.image(i)
                    .map_err(|e| autodiff::Error::index("Images::to_tensor", e.message()).at(at))?
                    .iter()
                    .map(|&p| T::of_f64(f64::from(p) / max)),
            );
        }
        Tensor::from_vec(data, &[indices.len(), 1, self.rows, self.cols]).map_err(|e| e.at(at))
    }

    /// The pixels of image `i`.
    ///
    /// ```
    /// use nn::data::files::Images;
    /// let im = Images { count: 2, rows: 1, cols: 2, pixels: vec![0, 255, 51, 102], max_value: 255 };
    /// assert_eq!(im.image(1)?, &[51, 102]);
    /// assert!(im.image(2).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](autodiff::ErrorKind::Index) when `i ≥ count`;
    /// [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when the public
    /// fields disagree.
    #[track_caller]
    pub fn image(&self, i: usize) -> autodiff::Result<&[u8]> {
        let at = std::panic::Location::caller();
        let size = self.image_size("Images::image").map_err(|e| e.at(at))?;
        if i >= self.count {
            return Err(autodiff::Error::index(
                "Images::image",
                format!("image {i} is out of range for {} images", self.count),
            )
            .at(at));
        }
        Ok(&self.pixels[i * size..(i + 1) * size])
    }
}

/// Reads an IDX image file (gzip or not): magic `0x00000803`, extents
/// `[count, rows, cols]`.
///
/// # Errors
/// A [`FileError`] naming the file for an unreadable file, a broken gzip
/// stream, a wrong magic number, or a length that does not match the header.
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<Images, FileError> {
    let path = path.as_ref();
    let (extents, pixels) = parse_idx(path, &read_maybe_gzip(path)?, 3)?;
    Ok(Images {
        count: extents[0],
        rows: extents[1],
        cols: extents[2],
        pixels,
        max_value: 255,
    })
}

/// Reads an IDX label file (gzip or not): magic `0x00000801`, labels 0–9.
///
/// # Errors
/// As [`read_idx_images`], and a label above 9.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>, FileError> {
    let path = path.as_ref();
    let (_, bytes) = parse_idx(path, &read_maybe_gzip(path)?, 1)?;
    if let Some((i, &l)) = bytes.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(FileError::new(
            path,
            format!("label {l} at index {i} is not a digit 0–9"),
        ));
    }
    Ok(bytes.into_iter().map(usize::from).collect())
}

/// Images with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    /// The images.
    pub images: Images,
    /// One label per image.
    pub labels: Vec<usize>,
}

impl Labelled {
    fn pair(images: Images, labels: Vec<usize>, labels_path: &Path) -> Result<Self, FileError> {
        if images.count != labels.len() {
            return Err(FileError::new(
                labels_path,
                format!("{} labels for {} images", labels.len(), images.count),
            ));
        }
        Ok(Labelled { images, labels })
    }

    /// The number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The examples at `indices`, as a copy.
    ///
    /// ```
    /// use nn::data::files::{Images, Labelled};
    /// let images = Images { count: 2, rows: 1, cols: 1, pixels: vec![7, 9], max_value: 255 };
    /// let set = Labelled { images, labels: vec![3, 4] };
    /// assert_eq!(set.select(&[1])?.labels, [4]);
    /// assert!(set.select(&[2]).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Index`](autodiff::ErrorKind::Index) for an index out of
    /// range; [`ErrorKind::Shape`](autodiff::ErrorKind::Shape) when the
    /// public fields disagree (pixels, count and labels).
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> autodiff::Result<Labelled> {
        let at = std::panic::Location::caller();
        if self.labels.len() != self.images.count {
            return Err(autodiff::Error::shape(
                "Labelled::select",
                format!(
                    "{} labels for {} images",
                    self.labels.len(),
                    self.images.count
                ),
            )
            .at(at));
        }
        let mut pixels = Vec::new();
        for &i in indices {
            let image = self.images.image(i).map_err(|e| {
                autodiff::Error::new(e.kind(), "Labelled::select", e.message()).at(at)
            })?;
            pixels.extend_from_slice(image);
        }
        Ok(Labelled {
            images: Images {
                count: indices.len(),
                pixels,
                ..self.images.clone()
            },
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        })
    }
}

/// MNIST: 60,000 training and 10,000 test examples.
#[derive(Clone, Debug)]
pub struct Mnist {
    /// `train-images-idx3-ubyte.gz` with `train-labels-idx1-ubyte.gz`.
    pub train: Labelled,
    /// `t10k-images-idx3-ubyte.gz` with `t10k-labels-idx1-ubyte.gz`.
    pub test: Labelled,
}

/// Loads MNIST from a folder holding the four `.gz` files (the repository
/// keeps them in `data/mnist`).
///
/// # Errors
/// A [`FileError`] naming the first file that is missing or malformed, or
/// whose label count does not match its images.
pub fn load_mnist(dir: impl AsRef<Path>) -> Result<Mnist, FileError> {
    let dir = dir.as_ref();
    let load = |images: &str, labels: &str| -> Result<Labelled, FileError> {
        let labels_path = dir.join(labels);
        Labelled::pair(
            read_idx_images(dir.join(images))?,
            read_idx_labels(&labels_path)?,
            &labels_path,
        )
    };
    Ok(Mnist {
        train: load("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")?,
        test: load("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")?,
    })
}

/// Loads the UCI 8×8 digits: a CSV (gzip or not) of 65 integers a line,
/// 64 pixels 0–16 row-major and the label 0–9.
///
/// ```
/// let digits = nn::data::files::load_digits(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits/digits.csv.gz"))?;
/// assert_eq!((digits.len(), digits.images.rows, digits.images.cols), (1797, 8, 8));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A [`FileError`] naming the file and line for a line without 65 fields, a
/// field that is not an integer, a pixel above 16 or a label above 9.
pub fn load_digits(path: impl AsRef<Path>) -> Result<Labelled, FileError> {
    let path = path.as_ref();
    let bytes = read_maybe_gzip(path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| FileError::new(path, format!("not UTF-8 text: {e}")))?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = |msg: String| FileError::new(path, format!("line {}: {msg}", n + 1));
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 65 {
            return Err(at(format!(
                "{} fields, expected 65 (64 pixels and a label)",
                fields.len()
            )));
        }
        for (k, f) in fields.iter().enumerate() {
            let v: f64 = f
                .parse()
                .map_err(|_| at(format!("field {}: '{f}' is not a number", k + 1)))?;
            let (max, what) = if k < 64 {
                (16.0, "pixel")
            } else {
                (9.0, "label")
            };
            if v.fract() != 0.0 || !(0.0..=max).contains(&v) {
                return Err(at(format!(
                    "field {}: {what} {f} is not an integer in 0..={max}",
                    k + 1
                )));
            }
            if k < 64 {
                pixels.push(v as u8);
            } else {
                labels.push(v as usize);
            }
        }
    }
    if labels.is_empty() {
        return Err(FileError::new(
            path,
            "holds no examples (expected lines of 64 pixels and a label)",
        ));
    }
    let images = Images {
        count: labels.len(),
        rows: 8,
        cols: 8,
        pixels,
        max_value: 16,
    };
    Ok(Labelled { images, labels })
}
