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
#[command(version)]
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
    // named as in the note's derivation, so that the graph reads like it
    let x = tape
        .constant(Tensor::<f64>::rand_normal(&[5, 4], 0.0, 1.0, 1))
        .named("x");
    let w1 = tape
        .var(Tensor::rand_normal(&[4, 3], 0.0, 0.5, 2))
        .named("W1");
    let b1 = tape.var(Tensor::zeros(&[3])).named("b1");
    let w2 = tape
        .var(Tensor::rand_normal(&[3, 2], 0.0, 0.5, 3))
        .named("W2");
    let b2 = tape.var(Tensor::zeros(&[2])).named("b2");
    let z1 = x.matmul(w1)?.add(b1)?.named("z1");
    let a1 = z1.sigmoid()?.named("a1");
    let z2 = a1.matmul(w2)?.add(b2)?.named("z2");
    let loss = z2.cross_entropy(&[0, 1, 1, 0, 1])?.named("L");

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
