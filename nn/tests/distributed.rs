//! Data-parallel training on MPI equals training in one process: after 10
//! steps of SGD with momentum in f64, every rank's parameters equal those
//! of one process that trained on the whole global batches (to 1e-12), and
//! the all-reduced gradient of the first step equals the global batch's
//! gradient (to 1e-13) — with 2 ranks, and with 3 (an uneven split); the
//! last batch of each epoch (one example) leaves some ranks' shards empty.
//! The same holds for gradients reduced while the backward sweep runs
//! (`overlap_gradients`, with buckets small enough that there are two).
//!
//! Runs with `cargo test -p tapegrad-nn --features mpi --test distributed`;
//! the launcher tests start `mpirun` on this very test binary, whose
//! ignored `worker` test then runs once per rank.
#![cfg(feature = "mpi")]

use std::process::Command;

use autodiff::{Tape, Tensor};
use nn::data::{rows, Batches, ShardedBatches};
use nn::distributed::DataParallel;
use nn::optim::{Optimizer, Sgd};
use nn::{Activation, Init, Mlp, Module, ParamGrads, Session};

const N: usize = 17;
const BATCH: usize = 8;
const STEPS: usize = 10;
const SEED: u64 = 5;

fn data() -> (Tensor<f64>, Vec<usize>) {
    let x = Tensor::rand_normal(&[N, 3], 0.0, 1.0, 1);
    let labels = x
        .data()
        .chunks(3)
        .map(|r| usize::from(r[0] + r[1] > 0.0) + usize::from(r[2] > 0.5))
        .collect();
    (x, labels)
}

/// The gradient of the mean cross-entropy over this rank's shard `batch`
/// of a global batch of `global`, all-reduced while the sweep runs.
fn overlapped_grads_of(
    dp: &DataParallel,
    model: &Mlp<f64>,
    x: &Tensor<f64>,
    labels: &[usize],
    batch: &[usize],
    global: usize,
) -> ParamGrads<f64> {
    let tape = Tape::new();
    let s = Session::train(&tape);
    if batch.is_empty() {
        let reduction = dp.overlap_gradients(model, &s, 0, global).unwrap();
        let mut g = ParamGrads::default();
        reduction.finish(model, &mut g).unwrap();
        return g;
    }
    let y: Vec<usize> = batch.iter().map(|&i| labels[i]).collect();
    let logits = model.forward(&s, s.input(rows(x, batch).unwrap())).unwrap();
    let loss = logits.cross_entropy(&y).unwrap();
    let reduction = dp
        .overlap_gradients(model, &s, batch.len(), global)
        .unwrap();
    assert_eq!((reduction.buckets(), reduction.started()), (2, 0));
    let mut g = s.grads(loss).unwrap();
    // the hooks of the sweep started the first bucket (the second is
    // complete only when the sweep ends; `finish` reduces it)
    assert_eq!(reduction.started(), 1);
    reduction.finish(model, &mut g).unwrap();
    g
}

/// The gradient of the mean cross-entropy over `batch`.
fn grads_of(
    model: &Mlp<f64>,
    x: &Tensor<f64>,
    labels: &[usize],
    batch: &[usize],
) -> ParamGrads<f64> {
    let tape = Tape::new();
    let s = Session::train(&tape);
    let y: Vec<usize> = batch.iter().map(|&i| labels[i]).collect();
    let logits = model.forward(&s, s.input(rows(x, batch).unwrap())).unwrap();
    s.grads(logits.cross_entropy(&y).unwrap()).unwrap()
}

fn params(model: &Mlp<f64>) -> Vec<f64> {
    let mut v = Vec::new();
    model.visit_params("", &mut |_, p| v.extend_from_slice(p.value().data()));
    v
}

fn flat_grads(model: &Mlp<f64>, g: &ParamGrads<f64>) -> Vec<f64> {
    let mut v = Vec::new();
    model.visit_params("", &mut |_, p| {
        v.extend_from_slice(g.get(p).unwrap().data())
    });
    v
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// One rank of the job (run by `mpirun` through the launcher tests).
#[test]
#[ignore = "one rank of an MPI job: started by the launcher tests through mpirun"]
fn worker() {
    let universe = mpi::initialize().expect("MPI initializes once");
    let mut dp = DataParallel::new(universe.world());
    dp.set_bucket_elements(8).unwrap(); // [3, 5, 3]: buckets of 18 and 20
    let (rank, size) = (dp.rank(), dp.size());
    let (x, labels) = data();
    let new_model =
        |seed| Mlp::<f64>::new(&[3, 5, 3], Activation::Tanh, Init::PyTorch, seed).unwrap();
    let sgd = || Sgd::new(0.1).and_then(|s| s.momentum(0.9)).unwrap();

    // every rank starts from its own weights; the broadcast makes them rank 0's
    let mut model = new_model(100 + rank as u64);
    dp.broadcast_parameters(&mut model);
    let mut reference = new_model(100);
    assert_eq!(params(&model), params(&reference), "rank {rank}: broadcast");
    let mut overlapped = new_model(100 + rank as u64);
    dp.broadcast_parameters(&mut overlapped);

    let mut shards = ShardedBatches::new(N, BATCH, SEED, rank, size).unwrap();
    let mut globals = Batches::new(N, BATCH, SEED).unwrap();
    let (mut opt, mut opt_ref, mut opt_over) = (sgd(), sgd(), sgd());
    let mut step = 0;
    while step < STEPS {
        for (shard, global) in shards.epoch().zip(globals.epoch()) {
            if step == STEPS {
                break;
            }
            let mut g = if shard.indices.is_empty() {
                ParamGrads::default()
            } else {
                grads_of(&model, &x, &labels, &shard.indices)
            };
            dp.all_reduce_gradients(&model, &mut g, shard.indices.len(), shard.global)
                .unwrap();
            let g_over =
                overlapped_grads_of(&dp, &overlapped, &x, &labels, &shard.indices, shard.global);
            let g_ref = grads_of(&reference, &x, &labels, &global);
            if step == 0 {
                let d = max_diff(&flat_grads(&model, &g), &flat_grads(&reference, &g_ref));
                assert!(d <= 1e-13, "rank {rank}: first gradient off by {d:e}");
                let d = max_diff(
                    &flat_grads(&overlapped, &g_over),
                    &flat_grads(&reference, &g_ref),
                );
                assert!(
                    d <= 1e-13,
                    "rank {rank}: first overlapped gradient off by {d:e}"
                );
            }
            opt.step(&mut model, &g).unwrap();
            opt_ref.step(&mut reference, &g_ref).unwrap();
            opt_over.step(&mut overlapped, &g_over).unwrap();
            step += 1;
        }
    }
    let d = max_diff(&params(&model), &params(&reference));
    assert!(
        d <= 1e-12,
        "rank {rank}: parameters off by {d:e} after {STEPS} steps"
    );
    let d_over = max_diff(&params(&overlapped), &params(&reference));
    assert!(
        d_over <= 1e-12,
        "rank {rank}: overlapped parameters off by {d_over:e} after {STEPS} steps"
    );
    assert!(dp.replicas_agree(&model), "rank {rank}: replicas differ");
    assert!(
        dp.replicas_agree(&overlapped),
        "rank {rank}: overlapped replicas differ"
    );
    // a second backward through the same session is an error, not a wrong sum
    let tape = Tape::new();
    let s = Session::train(&tape);
    let loss = overlapped
        .forward(&s, s.input(rows(&x, &[0, 1]).unwrap()))
        .and_then(|y| y.cross_entropy(&labels[..2]))
        .unwrap();
    let reduction = dp.overlap_gradients(&overlapped, &s, 2, 2 * size).unwrap();
    s.grads(loss).unwrap();
    let mut g = s.grads(loss).unwrap();
    let e = reduction.finish(&overlapped, &mut g).unwrap_err();
    assert!(e.message().contains("arrived twice"), "{e}");
    dp.check_replicas(&model).unwrap();
    // a replica changed on one rank only is noticed on every rank
    if rank == size - 1 {
        model.visit_params_mut("", &mut |_, p| p.data_mut()[0] += 1e-9);
    }
    let e = dp.check_replicas(&model).unwrap_err();
    assert!(
        e.message().contains("no longer hold the same parameters"),
        "{e}"
    );
    println!("worker rank {rank} of {size}: {STEPS} steps, parameters within {d:e} of one process");
}

/// Runs `mpirun` with `args`; a job still running after 60 s is killed and
/// the test fails (a rank hangs in a collective).
fn mpirun(args: &[&str]) -> (std::process::ExitStatus, String, String) {
    use std::io::Read;
    let mut child = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe"])
        .args(["--mca", "btl_vader_single_copy_mechanism", "none"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mpirun (Debian: openmpi-bin) is installed");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).ok();
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "mpirun {args:?} still runs after 60 s: a rank hangs\n{}\n{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (status, stdout.join().unwrap(), stderr.join().unwrap())
}

fn launch(ranks: usize) {
    let exe = std::env::current_exe().unwrap();
    let np = ranks.to_string();
    let (status, stdout, stderr) = mpirun(&[
        "-np",
        &np,
        exe.to_str().unwrap(),
        "--exact",
        "worker",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    assert!(
        status.success(),
        "mpirun -np {ranks} failed:\n{stdout}\n{stderr}"
    );
    for rank in 0..ranks {
        assert!(
            stdout.contains(&format!("worker rank {rank} of {ranks}: ")),
            "rank {rank} did not report:\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn two_ranks_train_exactly_as_one_process() {
    launch(2);
}

#[test]
fn three_ranks_with_uneven_shards_train_exactly_as_one_process() {
    launch(3);
}

/// A job whose rank 1 fails to read its file while rank 0 waits in an
/// all-reduce (run by the launcher test through mpirun).
#[test]
#[ignore = "one rank of an MPI job: started by the launcher tests through mpirun"]
fn worker_with_a_failing_rank() {
    let universe = mpi::initialize().expect("MPI initializes once");
    let dp = DataParallel::new(universe.world());
    if dp.rank() == 1 {
        let missing = std::env::temp_dir().join("tapegrad-no-such-digits.csv");
        dp.or_abort(nn::data::files::load_digits(&missing));
    }
    // the other ranks would wait here forever without the abort
    let total = dp.sum(1.0);
    println!("rank {} finished with total {total}", dp.rank());
}

#[test]
fn a_failing_rank_ends_the_whole_job_promptly_with_its_message() {
    let exe = std::env::current_exe().unwrap();
    let started = std::time::Instant::now();
    let (status, stdout, stderr) = mpirun(&[
        "-np",
        "3",
        exe.to_str().unwrap(),
        "--exact",
        "worker_with_a_failing_rank",
        "--ignored",
        "--nocapture",
    ]);
    assert!(!status.success(), "the job exited 0:\n{stderr}");
    assert!(
        stderr.contains("rank 1 of 3: ") && stderr.contains("tapegrad-no-such-digits.csv"),
        "the failing rank's message is missing:\n{stderr}"
    );
    assert!(
        !stdout.contains("finished with total"),
        "a rank went past the collective"
    );
    println!("the job ended in {:.1} s", started.elapsed().as_secs_f64());
}
