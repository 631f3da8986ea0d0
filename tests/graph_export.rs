//! Graph export: the DOT text of the Task 2 two-layer net is a consistent
//! graph — every edge joins declared nodes, every recorded input is an
//! edge, and each node names its operation, shape and source line.

use std::collections::{HashMap, HashSet};

use autodiff::{Tape, Tensor};

/// A minimal reader for the DOT subset `to_dot` writes: `nI [label="…", …];`
/// and `nA -> nB;`. Returns the labels by node and the edge list.
fn parse(dot: &str) -> (HashMap<String, String>, Vec<(String, String)>) {
    let mut lines = dot.lines();
    assert_eq!(lines.next(), Some("digraph tape {"));
    assert_eq!(dot.lines().last(), Some("}"));
    let mut nodes = HashMap::new();
    let mut edges = Vec::new();
    for line in lines {
        let line = line.trim();
        if let Some((from, to)) = line.strip_suffix(';').and_then(|l| l.split_once(" -> ")) {
            edges.push((from.to_string(), to.to_string()));
        } else if let Some((id, rest)) = line.split_once(" [label=\"") {
            let label = rest.split("\", ").next().unwrap().to_string();
            assert!(
                nodes.insert(id.to_string(), label).is_none(),
                "node {id} declared twice"
            );
        }
    }
    (nodes, edges)
}

#[test]
fn the_dot_of_the_two_layer_net_is_consistent() {
    let tape = Tape::new();
    let x = tape.constant(Tensor::<f64>::rand_normal(&[5, 4], 0.0, 1.0, 1));
    let w1 = tape.var(Tensor::rand_normal(&[4, 6], 0.0, 1.0, 2));
    let b1 = tape.var(Tensor::zeros(&[6]));
    let w2 = tape.var(Tensor::rand_normal(&[6, 3], 0.0, 1.0, 3));
    let b2 = tape.var(Tensor::zeros(&[3]));
    let line = line!() + 1;
    let z1 = x.matmul(w1).unwrap().add(b1).unwrap();
    let a1 = z1.sigmoid().unwrap();
    let loss = a1
        .matmul(w2)
        .unwrap()
        .add(b2)
        .unwrap()
        .cross_entropy(&[0, 1, 2, 0, 1])
        .unwrap();

    let (nodes, edges) = parse(&loss.to_dot());
    // x, W1, b1, W2, b2 and six operations
    assert_eq!(nodes.len(), 11, "{nodes:?}");
    // matmul, add, matmul, add have two inputs; sigmoid and cross_entropy one
    assert_eq!(edges.len(), 10);
    for (from, to) in &edges {
        assert!(
            nodes.contains_key(from) && nodes.contains_key(to),
            "edge {from} -> {to}"
        );
    }
    let indegree = |id: &str| edges.iter().filter(|(_, t)| t == id).count();
    let ops: Vec<&str> = nodes
        .values()
        .map(|l| l.split("\\n").next().unwrap())
        .collect();
    for op in ["matmul", "add", "sigmoid", "cross_entropy", "var", "const"] {
        assert!(
            ops.iter().any(|o| o.ends_with(op)),
            "no {op} node in {ops:?}"
        );
    }
    // the output is the only node with no outgoing edge, and it has one input
    let sources: HashSet<&String> = edges.iter().map(|(f, _)| f).collect();
    let sinks: Vec<&String> = nodes.keys().filter(|n| !sources.contains(n)).collect();
    assert_eq!(sinks.len(), 1);
    assert_eq!(indegree(sinks[0]), 1);
    assert!(nodes[sinks[0]].contains("cross_entropy\\n[]\\n"));
    // labels carry shapes and the recording line
    let z1_label = &nodes[&format!("n{}", z1.id())];
    assert!(
        z1_label.contains("add\\n[5, 6]\\ngraph_export.rs:"),
        "{z1_label}"
    );
    let mm_label = nodes
        .values()
        .find(|l| l.contains("matmul\\n[5, 6]"))
        .unwrap();
    assert!(
        mm_label.ends_with(&format!("graph_export.rs:{line}")),
        "{mm_label}"
    );
}

#[test]
fn the_whole_tape_includes_unrelated_values_and_the_var_view_does_not() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(1.0f64));
    let _unrelated = tape.var(Tensor::scalar(2.0f64)).exp().unwrap();
    let y = x.tanh().unwrap();
    let (all, _) = parse(&tape.to_dot());
    let (mine, edges) = parse(&y.to_dot());
    assert_eq!((all.len(), mine.len(), edges.len()), (4, 2, 1));
}

#[test]
fn named_values_carry_their_names_into_the_graph() {
    let tape = Tape::new();
    let x = tape.constant(Tensor::<f64>::zeros(&[2, 3])).named("x");
    let w1 = tape.var(Tensor::zeros(&[3, 4])).named("W1");
    let z1 = x.matmul(w1).unwrap().named("first").named("z1"); // renamed
    let a1 = z1.relu().unwrap(); // not named
    let (nodes, _) = parse(&a1.to_dot());
    let label = |id: usize| &nodes[&format!("n{id}")];
    assert!(
        label(x.id()).starts_with("#0 x = const\\n"),
        "{}",
        label(x.id())
    );
    assert!(
        label(w1.id()).starts_with("#1 W1 = var\\n"),
        "{}",
        label(w1.id())
    );
    assert!(
        label(z1.id()).starts_with("#2 z1 = matmul\\n"),
        "{}",
        label(z1.id())
    );
    assert!(
        label(a1.id()).starts_with("#3 relu\\n"),
        "{}",
        label(a1.id())
    );
    assert!(!a1.to_dot().contains("first"));
    assert_eq!((z1.name().as_deref(), a1.name()), (Some("z1"), None));
}
