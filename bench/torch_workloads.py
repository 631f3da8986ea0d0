#!/usr/bin/env python3
"""PyTorch on tapegrad's benchmark workloads (bench/WORKLOADS.md).

Prints one line per workload in the format of `cargo run --release --example
workloads`, so that the two can be run one after the other (or interleaved)
and compared as ratios:

    RESULT system=torch workload=w2 threads=1 unit=us/step median=... min=... max=... p10=... p90=... n=...

Usage (PyTorch and numpy installed, e.g. `pip install torch numpy`):

    python3 bench/torch_workloads.py w2 --threads 1
    python3 bench/torch_workloads.py w5 --threads 2
    /usr/bin/time -v python3 bench/torch_workloads.py w6      # peak memory

Set OMP_NUM_THREADS / MKL_NUM_THREADS to the same count as --threads, as
RAYON_NUM_THREADS for tapegrad.
"""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

MASK64 = (1 << 64) - 1


def splitmix64(seed):
    """SplitMix64's stream, as examples/support/workloads.rs draws it."""
    state = seed & MASK64
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


def w1_batches():
    """500 points in [-1, 1]^2 (u·2 − 1, x then y), label 1 where the signs differ; 50 batches of 10."""
    draw = splitmix64(42)
    uniform = lambda: np.float32((next(draw) >> 40) / float(1 << 24))
    points, labels = [], []
    for _ in range(500):
        x = np.float32(uniform() * np.float32(2) - np.float32(1))
        y = np.float32(uniform() * np.float32(2) - np.float32(1))
        points.append((x, y))
        labels.append(int((x > 0) != (y > 0)))
    xs = torch.tensor(np.array(points, dtype=np.float32))
    ys = torch.tensor(labels, dtype=torch.int64)
    return [(xs[i * 10:(i + 1) * 10], ys[i * 10:(i + 1) * 10]) for i in range(50)]


def random_batches(count, shape):
    """`count` batches of standard-normal inputs with labels 0..9 (any fixed data will do)."""
    gen = torch.Generator().manual_seed(100)
    out = []
    for i in range(count):
        x = torch.randn(shape, generator=gen)
        y = torch.tensor([(k * 7 + i) % 10 for k in range(shape[0])], dtype=torch.int64)
        out.append((x, y))
    return out


def summary(times):
    """median, min, max, p10, p90 and n of a list."""
    v = sorted(times)
    n = len(v)
    at = lambda q: v[int(round((n - 1) * q))]
    return [statistics.median(v), v[0], v[-1], at(0.1), at(0.9), n]


def report(workload, threads, unit, s, extra=""):
    print(
        f"RESULT system=torch workload={workload} threads={threads} unit={unit} "
        f"median={s[0]:.4f} min={s[1]:.4f} max={s[2]:.4f} p10={s[3]:.4f} p90={s[4]:.4f} n={s[5]}{extra}",
        flush=True,
    )


def timed(warmup, steps, step):
    """Microseconds of each of `steps` calls of step(i), after `warmup` untimed calls."""
    for i in range(warmup):
        step(i)
    out = []
    for i in range(steps):
        t = time.perf_counter()
        step(warmup + i)
        out.append((time.perf_counter() - t) * 1e6)
    return out


def train(model, batches, lr, warmup, steps):
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step(i):
        x, y = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return timed(warmup, steps, step)


def mlp(widths, activation):
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(activation())
    return torch.nn.Sequential(*layers)


def lenet5():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["w1", "w2", "w3", "w4", "w5", "w6"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--steps", type=int)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    defaults = {"w1": (500, 5000), "w2": (20, 300), "w3": (5, 60), "w4": (10, 100), "w5": (3, 0), "w6": (0, 200)}
    warmup, steps = defaults[args.workload]
    warmup = args.warmup if args.warmup is not None else warmup
    steps = args.steps if args.steps is not None else steps
    t = args.threads

    if args.workload == "w1":
        report("w1", t, "us/step", summary(train(mlp([2, 8, 8, 2], torch.nn.Tanh), w1_batches(), 0.03, warmup, steps)))
    elif args.workload in ("w2", "w6"):
        times = train(mlp([784, 256, 128, 10], torch.nn.ReLU), random_batches(8, (128, 784)), 0.01, warmup, steps)
        if args.workload == "w2":
            report("w2", t, "us/step", summary(times))
        elif times:
            report("w6_w2x200", t, "us/step", summary(times))
    elif args.workload == "w3":
        report("w3", t, "us/step", summary(train(lenet5(), random_batches(4, (64, 1, 28, 28)), 0.01, warmup, steps)))
    elif args.workload == "w4":
        def chain(_):
            x = torch.tensor([0.5], requires_grad=True)
            y = x
            for _ in range(1000):
                y = torch.sigmoid(y * 0.9 + 0.1)
            y.sum().backward()
            return x.grad

        times = timed(warmup, steps, chain)
        report("w4", t, "ns/op", summary([us * 1e3 / 3000 for us in times]))
    elif args.workload == "w5":
        gen = torch.Generator().manual_seed(42)
        for n in (256, 512, 1024):
            a = torch.randn((n, n), generator=gen)
            b = torch.randn((n, n), generator=gen)
            reps = {256: 200, 512: 40, 1024: 10}[n]
            times = timed(warmup, reps, lambda _: torch.mm(a, b))
            gflops = lambda us: 2 * n ** 3 / (us * 1e-6) / 1e9
            s = summary(times)
            # as the Rust example: "min" is the slowest run, "max" the fastest
            report(f"w5_n{n}", t, "GFLOP/s", [gflops(s[0]), gflops(s[2]), gflops(s[1]), gflops(s[4]), gflops(s[3]), s[5]])


if __name__ == "__main__":
    main()
