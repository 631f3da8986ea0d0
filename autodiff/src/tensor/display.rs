//! Readable printing of small tensors, numpy style:
//!
//! ```text
//! [[1.0000, 2.0000],
//!  [3.0000, 4.0000]]
//! ```
//! Axes longer than [`EDGE_ITEMS`]`·2` show their first and last
//! [`EDGE_ITEMS`] entries around `...`. `{:.2}` sets the digits (default 4).

use std::fmt;

use super::Tensor;
use crate::float::Float;

/// How many leading and trailing entries of a long axis are printed.
pub const EDGE_ITEMS: usize = 3;

impl<T: Float> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(4);
        let shape = self.shape();
        if shape.is_empty() {
            return write!(f, "{:.*}", precision, self.data()[0]);
        }
        // right-align every entry to the widest one, so columns line up
        let width = self
            .data()
            .iter()
            .map(|v| format!("{:.*}", precision, v).chars().count())
            .max()
            .unwrap_or(0);
        write_axis(f, self.data(), shape, 0, 0, (precision, width))
    }
}

fn write_axis<T: Float>(
    f: &mut fmt::Formatter<'_>,
    data: &[T],
    shape: &[usize],
    axis: usize,
    offset: usize,
    (precision, width): (usize, usize),
) -> fmt::Result {
    let n = shape[axis];
    let stride: usize = shape[axis + 1..].iter().product();
    let shown: Vec<Option<usize>> = if n > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((n - EDGE_ITEMS..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    };
    write!(f, "[")?;
    for (k, entry) in shown.iter().enumerate() {
        if k > 0 {
            if axis + 1 == shape.len() {
                write!(f, ", ")?;
            } else {
                write!(f, ",")?;
                for _ in 0..(shape.len() - axis - 1) {
                    writeln!(f)?;
                }
                write!(f, "{}", " ".repeat(axis + 1))?;
            }
        }
        match entry {
            None => write!(f, "...")?,
            Some(i) if axis + 1 == shape.len() => {
                write!(f, "{:>w$.p$}", data[offset + i], w = width, p = precision)?
            }
            Some(i) => write_axis(
                f,
                data,
                shape,
                axis + 1,
                offset + i * stride,
                (precision, width),
            )?,
        }
    }
    write!(f, "]")
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn prints_matrix_rows_on_lines() {
        let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        assert_eq!(format!("{t:.1}"), "[[1.0, 2.0],\n [3.0, 4.0]]");
        assert_eq!(format!("{}", Tensor::scalar(0.5f32)), "0.5000");
    }

    #[test]
    fn elides_long_axes() {
        let t = Tensor::<f64>::from_fn(&[10], |i| i[0] as f64);
        assert_eq!(format!("{t:.0}"), "[0, 1, 2, ..., 7, 8, 9]");
    }

    #[test]
    fn aligns_columns() {
        let t = Tensor::from_vec(vec![-1.0f64, 2.0, 3.0, -40.0], &[2, 2]).unwrap();
        assert_eq!(format!("{t:.1}"), "[[ -1.0,   2.0],\n [  3.0, -40.0]]");
    }
}
