"""ctorch vs PyTorch on the same workloads in one run; prints times and ctorch/PyTorch ratios.

    python benchmarks/run.py [--quick]

Ratios are throughput ratios (>1: ctorch faster) except for latency rows (µs, <1: ctorch faster).
Run on a quiet machine; both libraries use 2 threads.
"""
import argparse
import statistics
import time

try:  # imported first so it keeps its own OpenMP defaults
    import torch
    torch.set_num_threads(2)
except ImportError:
    torch = None

import ctorch

ctorch.set_num_threads(2)


def timeit(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def per_call(fn, n):
    def run():
        for _ in range(n):
            fn()
    return timeit(run, 7) / n


def workloads(lib, quick):
    n24 = 1 << (22 if quick else 24)
    rows = []
    a1, b1 = lib.ones(1), lib.ones(1)
    rows.append(("a + b, 1 element", "us", lambda: per_call(lambda: a1 + b1, 20000) * 1e6, None))
    a, b = lib.rand(n24), lib.rand(n24)
    nbytes = n24 * 4
    rows.append((f"add 2^{n24.bit_length() - 1} f32", "GB/s", lambda: timeit(lambda: a + b, 9), 3 * nbytes))
    rows.append((f"exp 2^{n24.bit_length() - 1} f32", "GB/s", lambda: timeit(lambda: a.exp(), 9), 2 * nbytes))
    rows.append((f"sum 2^{n24.bit_length() - 1} f32", "GB/s", lambda: timeit(lambda: a.sum(), 9), nbytes))
    s = lib.rand(4096, 1024)
    rows.append(("softmax rows 4096x1024", "GB/s", lambda: timeit(lambda: lib.softmax(s, 1), 9), 2 * s.numel() * 4))
    for n in ((512,) if quick else (1024, 2048)):
        m1, m2 = lib.rand(n, n), lib.rand(n, n)
        rows.append((f"matmul {n} f32", "GFLOP/s", lambda m1=m1, m2=m2: timeit(lambda: m1 @ m2, 5), 2 * n ** 3))
    return rows


def measure(lib, quick):
    out = []
    for name, unit, run, work in workloads(lib, quick):
        try:
            t = run()
            val = t if work is None else work / t / 1e9
        except (AttributeError, RuntimeError, TypeError) as e:
            val = None
            print(f"  {lib.__name__}: {name} failed: {e}")
        out.append((name, unit, val, work is None))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = ap.parse_args()
    ours = measure(ctorch, args.quick)
    theirs = measure(torch, args.quick) if torch else [(n, u, None, l) for n, u, _, l in ours]
    print(f"{'workload':28} {'unit':8} {'ctorch':>10} {'torch':>10} {'ratio':>8}")
    for (name, unit, v, latency), (_, _, tv, _) in zip(ours, theirs):
        ratio = ""
        if v is not None and tv:
            ratio = f"{(v / tv if latency else v / tv):.2f}"
        fmt = lambda x: "-" if x is None else f"{x:10.2f}"
        print(f"{name:28} {unit:8} {fmt(v)} {fmt(tv)} {ratio:>8}")
    print("ratio = ctorch/torch: for 'us' rows lower is better, otherwise higher is better")


if __name__ == "__main__":
    main()
