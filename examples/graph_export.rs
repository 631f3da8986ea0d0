//! Writes the tape of the lecture note's two-layer network (Task 2) as a
//! Graphviz DOT file, ready to render:
//!
//! ```sh
//! cargo run --release --example graph_export -- docs/two_layer_net.dot
//! dot -Tsvg docs/two_layer_net.dot -o docs/two_layer_net.svg
//! ```

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;

use clap::Parser;
use tapegrad::prelude::*;

/// Write the tape of the lecture note's two-layer network as Graphviz DOT.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The DOT file to write
    #[arg(default_value = "two_layer_net.dot")]
    out: PathBuf,
}

fn main() {
    support::exit_on_error(try_main());
}

fn try_main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let tape = Tape::new();
    let x = tape.constant(Tensor::<f64>::rand_normal(&[5, 4], 0.0, 1.0, 1));
    let w1 = tape.var(Tensor::rand_normal(&[4, 3], 0.0, 0.5, 2));
    let b1 = tape.var(Tensor::zeros(&[3]));
    let w2 = tape.var(Tensor::rand_normal(&[3, 2], 0.0, 0.5, 3));
    let b2 = tape.var(Tensor::zeros(&[2]));
    let z1 = x.matmul(w1)?.add(b1)?;
    let a1 = z1.sigmoid()?;
    let z2 = a1.matmul(w2)?.add(b2)?;
    let loss = z2.cross_entropy(&[0, 1, 1, 0, 1])?;

    support::write_atomically(&args.out, loss.to_dot().as_bytes())?;
    println!(
        "wrote {} ({} nodes on the tape)",
        args.out.display(),
        tape.len()
    );
    println!(
        "render it with: dot -Tsvg {} -o graph.svg",
        args.out.display()
    );
    Ok(())
}
