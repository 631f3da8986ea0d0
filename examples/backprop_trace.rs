//! Task 2 of the lecture note, traced: one small batch through its
//! two-layer network, every quantity of the backprop derivation printed
//! three ways — the formula, its value computed by hand from the formula
//! (plain loops here, no tape), and the value the tape reports (through
//! `retain_grad`) — with their difference, for ReLU and for Sigmoid.
//!
//! ```sh
//! cargo run --release --example backprop_trace
//! cargo run --release --example backprop_trace -- --markdown docs/backprop_trace.md
//! ```
//!
//! Notation (rows are examples, as in the code): x [m×d], z1 = x W1 + b1,
//! a1 = σ(z1), z2 = a1 W2 + b2, ŷ = softmax(z2) by rows, y one-hot labels,
//! L = −(1/m) Σᵢ yᵢᵀ log ŷᵢ.

#[path = "support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Parser;
use tapegrad::nn::Activation;
use tapegrad::prelude::*;

/// Print Task 2's backprop step by step: formula, by hand, by the tape.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Also write the trace as a Markdown page
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Seed of the batch and the weights
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// The largest difference between hand and tape that the trace accepts.
const TOLERANCE: f64 = 1e-12;

/// A row-major matrix for the hand computations: independent of the tape.
#[derive(Clone)]
struct M {
    rows: usize,
    cols: usize,
    v: Vec<f64>,
}

impl M {
    fn of(t: &Tensor<f64>) -> M {
        let (rows, cols) = match t.shape() {
            [r, c] => (*r, *c),
            [c] => (1, *c),
            s => panic!("a matrix or a row, not {s:?}"),
        };
        M {
            rows,
            cols,
            v: t.data().to_vec(),
        }
    }
    fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.cols + j]
    }
    fn from_fn(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64) -> M {
        let v = (0..rows * cols).map(|k| f(k / cols, k % cols)).collect();
        M { rows, cols, v }
    }
    /// Σ_k a[i,k] b[k,j]
    fn matmul(&self, b: &M) -> M {
        M::from_fn(self.rows, b.cols, |i, j| {
            (0..self.cols).map(|k| self.at(i, k) * b.at(k, j)).sum()
        })
    }
    fn t(&self) -> M {
        M::from_fn(self.cols, self.rows, |i, j| self.at(j, i))
    }
    fn map(&self, f: impl Fn(f64) -> f64) -> M {
        M::from_fn(self.rows, self.cols, |i, j| f(self.at(i, j)))
    }
    fn zip(&self, b: &M, f: impl Fn(f64, f64) -> f64) -> M {
        M::from_fn(self.rows, self.cols, |i, j| f(self.at(i, j), b.at(i, j)))
    }
    /// x W + b, b added to every row
    fn affine(&self, w: &M, b: &M) -> M {
        let p = self.matmul(w);
        M::from_fn(p.rows, p.cols, |i, j| p.at(i, j) + b.at(0, j))
    }
    /// Σ over rows, as a row
    fn column_sums(&self) -> M {
        M::from_fn(1, self.cols, |_, j| {
            (0..self.rows).map(|i| self.at(i, j)).sum()
        })
    }
    fn row(&self, i: usize) -> M {
        M::from_fn(1, self.cols, |_, j| self.at(i, j))
    }
    fn max_diff(&self, b: &M) -> f64 {
        assert_eq!((self.rows, self.cols), (b.rows, b.cols), "shapes differ");
        self.v
            .iter()
            .zip(&b.v)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }
    fn show(&self) -> String {
        let mut s = String::new();
        for i in 0..self.rows {
            s.push_str("  [");
            for j in 0..self.cols {
                // + 0.0 prints −0 (from −y/ŷ where y = 0) as 0
                let _ = write!(s, "{:>11.6}", self.at(i, j) + 0.0);
            }
            s.push_str(" ]\n");
        }
        s
    }
}

/// One line of the derivation, checked.
struct Step {
    name: &'static str,
    formula: &'static str,
    by_hand: M,
    tape: M,
}

fn activation_of(name: &str) -> Activation {
    if name == "ReLU" {
        Activation::Relu
    } else {
        Activation::Sigmoid
    }
}

/// σ(z) and σ'(z) by hand.
fn sigma(name: &str, z: f64) -> (f64, f64) {
    if name == "ReLU" {
        (z.max(0.0), if z > 0.0 { 1.0 } else { 0.0 })
    } else {
        let s = 1.0 / (1.0 + (-z).exp());
        (s, s * (1.0 - s))
    }
}

/// The derivation for one activation: the steps, hand against tape.
fn trace(act: &'static str, seed: u64) -> Result<Vec<Step>> {
    let (m, d, h, c) = (3, 4, 3, 3);
    let x_t = Tensor::<f64>::rand_normal(&[m, d], 0.0, 1.0, seed);
    let w1_t = Tensor::rand_normal(&[d, h], 0.0, 0.7, seed + 1);
    let b1_t = Tensor::rand_normal(&[h], 0.0, 0.3, seed + 2);
    let w2_t = Tensor::rand_normal(&[h, c], 0.0, 0.7, seed + 3);
    let b2_t = Tensor::rand_normal(&[c], 0.0, 0.3, seed + 4);
    let labels = [2usize, 0, 1];
    let y_t = Tensor::from_fn(&[m, c], |ix| f64::from(u8::from(labels[ix[0]] == ix[1])));

    // the tape, with the note's names and every intermediate retained
    let tape = Tape::new();
    let x = tape.constant(x_t.clone()).named("x");
    let y = tape.constant(y_t.clone()).named("y");
    let w1 = tape.var(w1_t.clone()).named("W1");
    let b1 = tape.var(b1_t.clone()).named("b1");
    let w2 = tape.var(w2_t.clone()).named("W2");
    let b2 = tape.var(b2_t.clone()).named("b2");
    let z1 = x.matmul(w1)?.add(b1)?.named("z1").retain_grad();
    let a1 = activation_of(act).apply(z1)?.named("a1").retain_grad();
    let z2 = a1.matmul(w2)?.add(b2)?.named("z2").retain_grad();
    let y_hat = z2.softmax(1)?.named("ŷ").retain_grad();
    // L = −(1/m) Σ y ⊙ log ŷ, written out as the note writes it
    let loss = y
        .mul(y_hat.ln()?)?
        .sum()?
        .mul_scalar(-1.0 / m as f64)?
        .named("L");
    let g = loss.backward()?;

    // the same quantities by hand, from the formulas
    let (x, w1m, b1m, w2m, b2m, ym) = (
        M::of(&x_t),
        M::of(&w1_t),
        M::of(&b1_t),
        M::of(&w2_t),
        M::of(&b2_t),
        M::of(&y_t),
    );
    let z1h = x.affine(&w1m, &b1m);
    let a1h = z1h.map(|z| sigma(act, z).0);
    let z2h = a1h.affine(&w2m, &b2m);
    let y_hat_h = M::from_fn(m, c, |i, j| {
        let top = (0..c)
            .map(|k| z2h.at(i, k))
            .fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..c).map(|k| (z2h.at(i, k) - top).exp()).sum();
        (z2h.at(i, j) - top).exp() / sum
    });
    let dl_dyhat = ym.zip(&y_hat_h, |y, p| -y / (p * m as f64));
    let p0 = y_hat_h.row(0);
    let jac_h = M::from_fn(c, c, |i, j| {
        p0.at(0, i) * (f64::from(u8::from(i == j))) - p0.at(0, i) * p0.at(0, j)
    });
    let delta2 = y_hat_h.zip(&ym, |p, y| (p - y) / m as f64);
    let dsig = z1h.map(|z| sigma(act, z).1);
    let delta1 = delta2.matmul(&w2m.t()).zip(&dsig, |a, b| a * b);

    // the tape's side of the Jacobian and of σ′, each on a tape of its own
    let jac_tape = {
        let t = Tape::new();
        let zr = t.var(Tensor::from_vec(z2.value().data()[..c].to_vec(), &[c])?);
        zr.softmax(0)?.jacobian(zr)?
    };
    let dsig_tape = {
        let t = Tape::new();
        let z = t.var(z1.value());
        let a = activation_of(act).apply(z)?;
        a.vjp(&Tensor::ones(&[m, h]))?.wrt(z)?
    };

    Ok(vec![
        Step {
            name: "∂L/∂ŷ",
            formula: "−y ⊘ ŷ / m (element-wise)",
            by_hand: dl_dyhat,
            tape: M::of(&g.wrt(y_hat)?),
        },
        Step {
            name: "∂ŷ/∂z2 (example 1)",
            formula: "diag(ŷ) − ŷ ŷᵀ",
            by_hand: jac_h,
            tape: M::of(&jac_tape),
        },
        Step {
            name: "δ2 = ∂L/∂z2",
            formula: "(ŷ − y) / m",
            by_hand: delta2.clone(),
            tape: M::of(&g.wrt(z2)?),
        },
        Step {
            name: "σ′(z1)",
            formula: if act == "ReLU" {
                "1[z1 > 0]"
            } else {
                "σ(z1) ⊙ (1 − σ(z1))"
            },
            by_hand: dsig,
            tape: M::of(&dsig_tape),
        },
        Step {
            name: "∂L/∂a1",
            formula: "δ2 W2ᵀ",
            by_hand: delta2.matmul(&w2m.t()),
            tape: M::of(&g.wrt(a1)?),
        },
        Step {
            name: "δ1 = ∂L/∂z1",
            formula: "(δ2 W2ᵀ) ⊙ σ′(z1)",
            by_hand: delta1.clone(),
            tape: M::of(&g.wrt(z1)?),
        },
        Step {
            name: "∂L/∂W2",
            formula: "a1ᵀ δ2",
            by_hand: a1h.t().matmul(&delta2),
            tape: M::of(&g.wrt(w2)?),
        },
        Step {
            name: "∂L/∂b2",
            formula: "Σ over examples of δ2",
            by_hand: delta2.column_sums(),
            tape: M::of(&g.wrt(b2)?),
        },
        Step {
            name: "∂L/∂W1",
            formula: "xᵀ δ1",
            by_hand: x.t().matmul(&delta1),
            tape: M::of(&g.wrt(w1)?),
        },
        Step {
            name: "∂L/∂b1",
            formula: "Σ over examples of δ1",
            by_hand: delta1.column_sums(),
            tape: M::of(&g.wrt(b1)?),
        },
    ])
}

fn main() {
    support::exit_on_error(try_main());
}

fn try_main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut text = String::new();
    let mut page = String::from(
        "# Task 2, traced\n\n\
         The backprop of the lecture note's two-layer network, one step at a time, \
         on a batch of m = 3 examples (4 inputs, 3 hidden units, 3 classes): each \
         quantity as the formula of the derivation, its value computed by hand from \
         that formula, and the value tapegrad's tape reports (`retain_grad`). \
         Written by `cargo run --release --example backprop_trace -- --markdown \
         docs/backprop_trace.md`.\n\n\
         Notation (rows are examples): z1 = x W1 + b1, a1 = σ(z1), z2 = a1 W2 + b2, \
         ŷ = softmax(z2) by rows, L = −(1/m) Σᵢ yᵢᵀ log ŷᵢ. The chain: \
         ∂L/∂ŷ → (softmax Jacobian) → δ2 → (W2ᵀ) → ∂L/∂a1 → (σ′) → δ1, and the \
         parameter gradients from δ2 and δ1.\n",
    );
    let mut worst = 0.0f64;
    for act in ["ReLU", "Sigmoid"] {
        let steps = trace(act, args.seed)?;
        let _ = writeln!(text, "=== σ = {act} ===\n");
        let _ = writeln!(page, "\n## σ = {act}\n");
        for s in &steps {
            let diff = s.by_hand.max_diff(&s.tape);
            worst = worst.max(diff);
            let _ = writeln!(
                text,
                "{}  =  {}\n by hand:\n{} tape:\n{} max |hand − tape| = {diff:.1e}\n",
                s.name,
                s.formula,
                s.by_hand.show(),
                s.tape.show()
            );
            let _ = writeln!(
                page,
                "### {}\n\nFormula: {}\n\nBy hand:\n```\n{}```\nTape:\n```\n{}```\nLargest difference: {diff:.1e}\n",
                s.name,
                s.formula,
                s.by_hand.show(),
                s.tape.show()
            );
        }
    }
    print!("{text}");
    println!("largest difference between hand and tape: {worst:.1e}");
    if let Some(path) = &args.markdown {
        support::write_atomically(path, page.as_bytes())?;
        println!("wrote {}", path.display());
    }
    if worst > TOLERANCE {
        return Err(format!("hand and tape differ by {worst:e} (more than {TOLERANCE:e})").into());
    }
    Ok(())
}
