//! Model files: a module's parameters in the safetensors format, by their
//! PyTorch-style names (`layers.0.weight`, …), so that PyTorch, candle or
//! JAX can read what tapegrad writes and the other way round.
//!
//! Saving goes through [`write_atomically`]: a unique temporary file beside
//! the target, flushed to disk and renamed, so a crash or a killed process
//! never leaves half a model behind. Loading is strict, like PyTorch's
//! `load_state_dict(strict=True)`: every parameter must be in the file with
//! its shape, and the file may hold nothing else; values that would not
//! survive the conversion to the model's type (an f64 beyond f32's range)
//! are refused, and so are NaN and infinite weights unless the caller opts
//! in ([`LoadOptions::allow_non_finite`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use autodiff::shape::fmt_shape;
use autodiff::{Float, Tensor};
use safetensors::tensor::{Dtype, SafeTensors, View};

use safetensors::SafeTensorError;

use crate::atomic_file::write_atomically;
use crate::error::FileError;
use crate::module::Module;

/// One parameter, as safetensors writes it (little-endian bytes).
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Entry {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn to_bytes<T: Float>(t: &Tensor<T>) -> (Dtype, Vec<u8>) {
    if T::NAME == "f32" {
        let bytes = t
            .data()
            .iter()
            .flat_map(|&v| (v.as_f64() as f32).to_le_bytes())
            .collect();
        (Dtype::F32, bytes)
    } else {
        (
            Dtype::F64,
            t.data()
                .iter()
                .flat_map(|&v| v.as_f64().to_le_bytes())
                .collect(),
        )
    }
}

/// Writes every parameter of `model` to `path` in the safetensors format,
/// in the model's element type (F32 or F64).
///
/// ```
/// use nn::{Activation, Init, Mlp, Module};
/// let dir = std::env::temp_dir().join(format!("tapegrad-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("mlp.safetensors");
/// let a = Mlp::<f32>::new(&[2, 3, 2], Activation::Tanh, Init::XavierUniform, 1)?;
/// nn::save(&a, &path)?;
/// let mut b = Mlp::<f32>::new(&[2, 3, 2], Activation::Tanh, Init::XavierUniform, 2)?;
/// nn::load(&mut b, &path)?;
/// assert_eq!(a.layers()[0].weight.value(), b.layers()[0].weight.value());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A [`FileError`] naming the file when it cannot be written.
pub fn save<T: Float>(model: &dyn Module<T>, path: impl AsRef<Path>) -> Result<(), FileError> {
    let path = path.as_ref();
    let mut entries = BTreeMap::new();
    let mut add = |name: &str, t: &Tensor<T>| {
        let (dtype, bytes) = to_bytes(t);
        entries.insert(
            name.to_string(),
            Entry {
                dtype,
                shape: t.shape().to_vec(),
                bytes,
            },
        );
    };
    model.visit_params("", &mut |name, p| add(name, p.value()));
    // buffers (BatchNorm's running statistics) go beside the parameters
    model.visit_buffers("", &mut |name, t| add(name, t));
    let bytes = safetensors::serialize(entries.iter(), &None)
        .map_err(|e| FileError::new(path, format!("cannot encode the model: {}", explain(&e))))?;
    write_atomically(path, &bytes)
}

/// How [`load_with`] treats what it reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Accept NaN and infinite weights (off by default: such a file is
    /// almost always the product of a diverged run).
    pub allow_non_finite: bool,
}

/// What a safetensors error means, in words.
fn explain(e: &SafeTensorError) -> String {
    match e {
        SafeTensorError::InvalidHeader => "its header is not UTF-8 text".into(),
        SafeTensorError::InvalidHeaderStart => "its header does not start with '{'".into(),
        SafeTensorError::InvalidHeaderDeserialization => {
            "its header is not the JSON table of tensors safetensors expects".into()
        }
        SafeTensorError::HeaderTooLarge => {
            "its first 8 bytes announce a header larger than 100 MB (not a safetensors file?)".into()
        }
        SafeTensorError::HeaderTooSmall => {
            "it is shorter than the 8-byte header length that starts every safetensors file".into()
        }
        SafeTensorError::InvalidHeaderLength => {
            "its header length points past the end of the file (truncated?)".into()
        }
        SafeTensorError::TensorNotFound(name) => format!("it has no tensor named {name}"),
        SafeTensorError::TensorInvalidInfo => {
            "a tensor's shape and dtype do not match its byte range".into()
        }
        SafeTensorError::InvalidOffset(name) => {
            format!("the byte range of tensor {name} is invalid (overlapping, out of order or past the end)")
        }
        SafeTensorError::IoError(e) => format!("input/output error: {e}"),
        SafeTensorError::JsonError(e) => format!("its header is not valid JSON: {e}"),
        SafeTensorError::InvalidTensorView(dtype, shape, len) => format!(
            "a {dtype:?} tensor of shape {} cannot be made of {len} bytes",
            fmt_shape(shape)
        ),
        SafeTensorError::MetadataIncompleteBuffer => {
            "the tensors' byte ranges do not cover the data that follows the header (truncated, or bytes added?)".into()
        }
        SafeTensorError::ValidationOverflow => {
            "a tensor's shape or byte size overflows (a corrupt header)".into()
        }
    }
}

/// Reads the parameters of `model` from the safetensors file at `path`
/// (F32 or F64, converted to the model's element type), refusing NaN and
/// infinite weights: [`load_with`] with the default [`LoadOptions`].
///
/// # Errors
/// A [`FileError`] naming the file and the fault: unreadable or not
/// safetensors (said in words); a parameter missing, of another shape or of
/// another dtype; an f64 value beyond the range of the model's f32; a NaN
/// or infinite weight; tensors in the file that the model does not have.
/// The model is left unchanged on any error.
pub fn load<T: Float>(model: &mut dyn Module<T>, path: impl AsRef<Path>) -> Result<(), FileError> {
    load_with(model, path, LoadOptions::default())
}

/// [`load`] with options: `allow_non_finite` accepts NaN and infinite
/// weights.
///
/// ```
/// use autodiff::Tensor;
/// use nn::{Linear, LoadOptions, Module};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("nan.safetensors");
/// let nan = Linear::from_tensors(Tensor::from_vec(vec![f64::NAN], &[1, 1])?, None)?;
/// nn::save(&nan, &path)?;
/// let mut layer = Linear::from_tensors(Tensor::from_vec(vec![0.0f64], &[1, 1])?, None)?;
/// assert!(nn::load(&mut layer, &path).is_err());
/// nn::load_with(&mut layer, &path, LoadOptions { allow_non_finite: true })?;
/// assert!(layer.weight.value().data()[0].is_nan());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`load`], without the error for non-finite weights when they are
/// allowed.
pub fn load_with<T: Float>(
    model: &mut dyn Module<T>,
    path: impl AsRef<Path>,
    options: LoadOptions,
) -> Result<(), FileError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| FileError::io(path, "read", e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| {
        FileError::new(
            path,
            format!("not a valid safetensors file: {}", explain(&e)),
        )
    })?;

    // read and check everything first, so that a bad file changes nothing
    let mut values: BTreeMap<String, Tensor<T>> = BTreeMap::new();
    let mut fault: Option<String> = None;
    let mut read = |name: &str, shape: &[usize]| {
        if fault.is_some() {
            return;
        }
        match read_tensor::<T>(&file, name, shape, options) {
            Ok(t) => {
                values.insert(name.to_string(), t);
            }
            Err(e) => fault = Some(e),
        }
    };
    model.visit_params("", &mut |name, p| read(name, p.value().shape()));
    model.visit_buffers("", &mut |name, t| read(name, t.shape()));
    if let Some(e) = fault {
        return Err(FileError::new(path, e));
    }
    let expected: BTreeSet<&str> = values.keys().map(String::as_str).collect();
    let unexpected: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| !expected.contains(n.as_str()))
        .cloned()
        .collect();
    let mut unexpected = unexpected;
    unexpected.sort(); // the file's own order is a hash map's: sort for a stable message
    if !unexpected.is_empty() {
        return Err(FileError::new(
            path,
            format!("tensors the model does not have: {}", unexpected.join(", ")),
        ));
    }
    model.visit_params_mut("", &mut |name, p| {
        if let Some(t) = values.remove(name) {
            p.set_value(t).expect("shapes were checked");
        }
    });
    model.visit_buffers_mut("", &mut |name, b| {
        if let Some(t) = values.remove(name) {
            *b = t;
        }
    });
    Ok(())
}

fn read_tensor<T: Float>(
    file: &SafeTensors<'_>,
    name: &str,
    shape: &[usize],
    options: LoadOptions,
) -> Result<Tensor<T>, String> {
    let view = file
        .tensor(name)
        .map_err(|_| format!("parameter {name} is missing"))?;
    if view.shape() != shape {
        return Err(format!(
            "parameter {name} has shape {} in the file, the model expects {}",
            fmt_shape(view.shape()),
            fmt_shape(shape)
        ));
    }
    let values: Vec<f64> = match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        other => {
            return Err(format!(
                "parameter {name} is stored as {other:?}; expected F32 or F64"
            ))
        }
    };
    let mut data = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        let converted = T::of_f64(v);
        if !v.is_finite() && !options.allow_non_finite {
            return Err(format!(
                "parameter {name} holds {v} at element {i}: refusing non-finite weights \
                 (LoadOptions {{ allow_non_finite: true }} accepts them)"
            ));
        }
        if v.is_finite() && !converted.is_finite() {
            return Err(format!(
                "parameter {name} holds {v:e} at element {i}, beyond the range of {}",
                T::NAME
            ));
        }
        data.push(converted);
    }
    Tensor::from_vec(data, shape).map_err(|e| format!("parameter {name}: {e}"))
}
