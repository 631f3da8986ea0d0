//! Writes the tape of the lecture note's two-layer network (Task 2) as a
//! Graphviz DOT file, ready to render:
//!
//! ```sh
//! cargo run --release --example graph_export -- docs/two_layer_net.dot
//! dot -Tsvg docs/two_layer_net.dot -o docs/two_layer_net.svg
//! ```

use std::path::PathBuf;

use tapegrad::prelude::*;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "two_layer_net.dot".to_string()),
    );
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

    // write beside the target and rename: a reader never sees half a file
    let tmp = path.with_extension("dot.tmp");
    std::fs::write(&tmp, loss.to_dot()).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("renaming to {}: {e}", path.display()))?;
    println!(
        "wrote {} ({} nodes on the tape)",
        path.display(),
        tape.len()
    );
    println!("render it with: dot -Tsvg {} -o graph.svg", path.display());
    Ok(())
}
