//! `grads_in_chunks` gives the gradient of the whole batch's mean loss
//! (against one unsplit sweep, in f64), the same bits on 1 and on 2
//! threads, and the errors of its chunks.

use autodiff::{ErrorKind, Tape, Tensor};
use nn::chunked::grads_in_chunks;
use nn::{models, Activation, Init, Mlp, Module, ParamGrads, Session};

fn flat(model: &dyn Module<f64>, g: &ParamGrads<f64>) -> Vec<f64> {
    let mut v = Vec::new();
    model.visit_params("", &mut |_, p| {
        v.extend_from_slice(g.get(p).unwrap().data())
    });
    v
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn chunked_gradients_equal_one_sweep_over_the_whole_batch() {
    let mlp = Mlp::<f64>::new(&[5, 16, 7, 3], Activation::Tanh, Init::PyTorch, 3).unwrap();
    let x = Tensor::rand_normal(&[23, 5], 0.0, 1.0, 4);
    let labels: Vec<usize> = (0..23).map(|i| (i * 5 + 1) % 3).collect();
    let tape = Tape::new();
    let s = Session::train(&tape);
    let whole_loss = mlp
        .forward(&s, s.input(x.clone()))
        .and_then(|z| z.cross_entropy(&labels))
        .unwrap();
    let whole = flat(&mlp, &s.grads(whole_loss).unwrap());
    let whole_loss = whole_loss.value().item().unwrap();
    // uneven chunks (23 = 4·5 + 3), one chunk per row, and one chunk
    for chunk_rows in [5, 1, 23, 100] {
        let (loss, g) = grads_in_chunks(&x, chunk_rows, |s, x, rows| {
            mlp.forward(s, x)?.cross_entropy(&labels[rows])
        })
        .unwrap();
        assert!(
            (loss - whole_loss).abs() <= 1e-14,
            "chunks of {chunk_rows}: loss {loss} against {whole_loss}"
        );
        let g = flat(&mlp, &g);
        let d = g
            .iter()
            .zip(&whole)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(d <= 1e-15, "chunks of {chunk_rows}: gradient off by {d:e}");
    }
}

#[test]
fn chunked_gradients_are_the_same_bits_on_one_and_on_two_threads() {
    let net = models::lenet5::<f64>(Init::PyTorch, 1).unwrap();
    let x = Tensor::rand_normal(&[10, 1, 28, 28], 0.0, 1.0, 2);
    let labels: Vec<usize> = (0..10).collect();
    let chunked = || {
        let (loss, g) = grads_in_chunks(&x, 3, |s, x, rows| {
            net.forward(s, x)?.cross_entropy(&labels[rows])
        })
        .unwrap();
        (
            loss.to_bits(),
            flat(&net, &g)
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
        )
    };
    let one = pool(1).install(chunked);
    assert_eq!(one, pool(2).install(chunked), "two threads of a pool");
    // outside rayon's pools the chunks run on this thread and the helpers
    assert_eq!(one, chunked(), "the team of this thread and the helpers");
}

#[test]
fn a_chunks_error_is_returned_and_bad_chunk_sizes_are_refused() {
    let mlp = Mlp::<f64>::new(&[2, 3], Activation::Linear, Init::PyTorch, 1).unwrap();
    let x = Tensor::zeros(&[6, 2]);
    // the label 7 of row 4 is out of range for 3 classes: the third chunk fails
    let labels = [0, 1, 2, 0, 7, 1];
    let e = grads_in_chunks(&x, 2, |s, x, rows| {
        mlp.forward(s, x)?.cross_entropy(&labels[rows])
    })
    .unwrap_err();
    assert!(e.to_string().contains('7'), "{e}");
    for (rows, x) in [(0, Tensor::zeros(&[6, 2])), (2, Tensor::zeros(&[0, 2]))] {
        let e = grads_in_chunks(&x, rows, |s, x, _| mlp.forward(s, x)?.sum()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Argument, "{e}");
        assert!(e.to_string().contains("grads_in_chunks"), "{e}");
    }
}
