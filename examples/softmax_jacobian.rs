//! The lecture note's Task 2, formula (2), on screen: the softmax Jacobian
//! from the tape beside the closed form diag(ŷ) − ŷŷᵀ, and their largest
//! difference.
//!
//! ```sh
//! cargo run --release --example softmax_jacobian
//! ```

use tapegrad::prelude::*;

fn main() -> Result<()> {
    let z = Tensor::from_vec(vec![1.0, 2.0, 0.5, -1.0], &[4])?;
    let n = z.numel();

    // the tape: one reverse sweep per output element
    let tape_jac = jacobian(|z| z.softmax(-1), &z)?;

    // the closed form, from ŷ alone
    let tape = Tape::new();
    let y = tape.constant(z.clone()).softmax(-1)?.value();
    let closed = Tensor::from_fn(&[n, n], |i| {
        let (j, k) = (i[0], i[1]);
        let delta = if j == k { 1.0 } else { 0.0 };
        y.data()[j] * (delta - y.data()[k])
    });

    println!("z = {z:.4}");
    println!("ŷ = softmax(z) = {y:.4}\n");
    println!("∂ŷ/∂z from the tape:\n{tape_jac:.6}\n");
    println!("diag(ŷ) − ŷŷᵀ:\n{closed:.6}\n");
    println!("largest difference: {:e}", tape_jac.max_abs_diff(&closed)?);
    println!(
        "(the note's last row prints ŷn·ŷ2 without its minus sign; both matrices above carry it)"
    );
    Ok(())
}
