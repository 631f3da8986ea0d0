//! [`grads_in_chunks`]: one training step's gradient with the batch's rows
//! split into chunks that run in parallel, each on a tape of its own.
//!
//! The mean loss over a batch of `N` rows is the weighted sum of its
//! chunks' mean losses, `L = Σ_c (n_c / N) L_c`, and so its gradient is
//! `∂L/∂θ = Σ_c (n_c / N) ∂L_c/∂θ`. Each chunk scales its loss by
//! `n_c / N` before its backward sweep (which costs nothing: the sweep's
//! seed becomes `n_c / N` instead of 1), and the chunks' gradients are
//! added in chunk order. The chunks depend on `N` and `chunk_rows` only, so
//! the result is the same bits on any number of threads; it differs from
//! one unsplit sweep by float rounding (the batch sums are grouped by
//! chunk).
//!
//! Why: a parallel region inside each operation (a matrix product split in
//! bands) pays a thread wake-up per operation, many per step; chunks pay one
//! per step and keep every core busy for the whole forward and backward
//! pass, as data-parallel processes do, without copying gradients between
//! processes.

use std::ops::Range;

use autodiff::{Error, Float, Result, Tape, Tensor, Var};

use crate::data::rows;
use crate::session::{ParamGrads, Session};

/// The gradient of a batch's mean loss over the parameters its forward pass
/// uses, and the loss, computed in chunks of `chunk_rows` rows of `x` (the
/// last chunk may be smaller) in parallel: from outside rayon's pools on
/// the calling thread and `autodiff::kernels::split`'s helpers, from a
/// thread of a rayon pool on that pool.
///
/// `chunk_loss(s, x_c, rows)` runs the forward pass of the chunk `x_c` (the
/// rows `rows` of `x`) on the training session `s` and returns the chunk's
/// *mean* loss as one element. It runs on several threads at once, so what
/// it captures (the model, the labels) must be `Sync`.
///
/// ```
/// use autodiff::Tensor;
/// use nn::{chunked::grads_in_chunks, Activation, Init, Mlp, Module};
/// let mlp = Mlp::<f64>::new(&[3, 8, 2], Activation::Tanh, Init::PyTorch, 1)?;
/// let x = Tensor::rand_normal(&[10, 3], 0.0, 1.0, 2);
/// let labels = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1];
/// let (loss, grads) = grads_in_chunks(&x, 4, |s, x, rows| {
///     mlp.forward(s, x)?.cross_entropy(&labels[rows])
/// })?;
/// assert_eq!(grads.len(), 4); // chunks of 4, 4 and 2 rows
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when
/// `chunk_rows` is 0 or `x` has no rows; any error of `chunk_loss` or of
/// its backward sweep (the first chunk's, in row order).
pub fn grads_in_chunks<T, F>(
    x: &Tensor<T>,
    chunk_rows: usize,
    chunk_loss: F,
) -> Result<(f64, ParamGrads<T>)>
where
    T: Float,
    F: for<'t> Fn(&Session<'t, T>, Var<'t, T>, Range<usize>) -> Result<Var<'t, T>> + Sync,
{
    let n = x.shape().first().copied().unwrap_or(0);
    if chunk_rows == 0 || n == 0 {
        return Err(Error::argument(
            "grads_in_chunks",
            format!(
                "chunks of {chunk_rows} rows of a batch of shape {:?}",
                x.shape()
            ),
        ));
    }
    let chunks: Vec<Range<usize>> = (0..n)
        .step_by(chunk_rows)
        .map(|start| start..(start + chunk_rows).min(n))
        .collect();
    let one_chunk = |range: &Range<usize>| -> Result<(f64, ParamGrads<T>)> {
        let xc = if chunks.len() == 1 {
            x.clone()
        } else {
            rows(x, &range.clone().collect::<Vec<_>>())?
        };
        let tape = Tape::new();
        let s = Session::train(&tape);
        let loss = chunk_loss(&s, s.input(xc), range.clone())?;
        let weighted = if chunks.len() == 1 {
            loss
        } else {
            loss.mul_scalar(T::of_f64(range.len() as f64 / n as f64))?
        };
        let value = weighted
            .value()
            .data()
            .first()
            .map_or(f64::NAN, |v| v.as_f64());
        Ok((value, s.grads(weighted)?))
    };
    // one slot per chunk, filled by whichever thread of the team runs it
    type ChunkResult<T> = Result<(f64, ParamGrads<T>)>;
    let mut results: Vec<Option<ChunkResult<T>>> = chunks.iter().map(|_| None).collect();
    autodiff::kernels::split::for_each_part(
        chunks.iter().zip(results.iter_mut()).collect(),
        |(range, slot)| *slot = Some(one_chunk(range)),
    );
    let results = results
        .into_iter()
        .map(|r| r.expect("for_each_part ran every chunk"));
    let mut loss = 0.0;
    let mut total: Option<ParamGrads<T>> = None;
    for result in results {
        let (l, g) = result?;
        loss += l;
        total = Some(match total {
            None => g,
            Some(sum) => sum.added(&g)?,
        });
    }
    Ok((loss, total.expect("at least one chunk")))
}
