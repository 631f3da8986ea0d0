//! Graph export: the tape as Graphviz DOT, one node per value (operation,
//! shape and the source line that recorded it) and one edge per input.

use std::fmt::Write;

use crate::float::Float;
use crate::shape::fmt_shape;

use super::{NodeKind, Tape, Var};

impl<T: Float> Tape<T> {
    /// The whole tape as a Graphviz `digraph`: render it with
    /// `dot -Tsvg tape.dot -o tape.svg`.
    ///
    /// Tracked leaves are boxes, constants grey boxes, operations ellipses
    /// labelled `#id name` (`#id z1 = add` for a value named with
    /// [`Var::named`]), the output shape, and `file:line` of the call that
    /// recorded them. Edges run from inputs to outputs.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// let y = x.exp()?.sum()?;
    /// let dot = tape.to_dot();
    /// assert!(dot.starts_with("digraph tape {"));
    /// assert!(dot.contains("n0 -> n1"));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn to_dot(&self) -> String {
        let all = vec![true; self.len()];
        self.dot_of(&all)
    }

    fn dot_of(&self, include: &[bool]) -> String {
        let inner = self.inner.borrow();
        let mut out = String::from(
            "digraph tape {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n",
        );
        for (i, node) in inner.nodes.iter().enumerate() {
            if !include[i] {
                continue;
            }
            let (name, style) = match (node.kind, &node.op) {
                (NodeKind::Op, Some(op)) => (op.name().to_string(), "shape=ellipse"),
                (NodeKind::Op, None) => ("(running backward)".to_string(), "shape=ellipse"),
                (NodeKind::Leaf, _) => ("var".to_string(), "shape=box, style=bold"),
                (NodeKind::Constant, _) => (
                    "const".to_string(),
                    "shape=box, style=filled, fillcolor=\"#eeeeee\"",
                ),
            };
            let name = match inner.names.iter().find(|(id, _)| *id == i) {
                Some((_, given)) => format!("{given} = {name}"),
                None => name,
            };
            let loc = node.location;
            let file = loc.file().rsplit('/').next().unwrap_or(loc.file());
            let label = format!(
                "#{i} {name}\\n{}\\n{file}:{}",
                fmt_shape(node.value.shape()),
                loc.line()
            );
            let _ = writeln!(out, "  n{i} [label=\"{}\", {style}];", escape(&label));
        }
        for i in 0..inner.nodes.len() {
            if !include[i] {
                continue;
            }
            for &p in inner.parents(i) {
                let _ = writeln!(out, "  n{p} -> n{i};");
            }
        }
        out.push_str("}\n");
        out
    }
}

impl<T: Float> Var<'_, T> {
    /// The part of the tape this value depends on, as Graphviz DOT (see
    /// [`Tape::to_dot`]).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(1.0));
    /// let unrelated = tape.var(Tensor::scalar(2.0)).exp()?;
    /// let y = x.tanh()?;
    /// let dot = y.to_dot();
    /// assert!(dot.contains("tanh") && !dot.contains("exp"));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn to_dot(self) -> String {
        let mut include = vec![false; self.tape.len()];
        include[self.id] = true;
        {
            let inner = self.tape.inner.borrow();
            for i in (0..=self.id).rev() {
                if include[i] {
                    for &p in inner.parents(i) {
                        include[p] = true;
                    }
                }
            }
        }
        self.tape.dot_of(&include)
    }
}

/// Escapes a label for a double-quoted DOT string (newlines are already `\n`).
fn escape(s: &str) -> String {
    s.replace('"', "\\\"")
}
