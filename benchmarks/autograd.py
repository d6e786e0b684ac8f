"""Autograd overhead, ctorch vs PyTorch in one run: tiny graphs, where the engine's and the
recording's per-op cost dominate. Prints µs per iteration and ctorch/PyTorch time ratios
(<1: ctorch faster).

    python benchmarks/autograd.py [--quick]

Rows:
  mlp step      y = ((x * w + b).relu()).sum(); y.backward()   on 8-element float32 tensors
  mlp step, g   y = (x * w + b).relu(); y.backward(g)          (the same without the reduction)
  chain fwd     a 100-op chain of small elementwise ops, forward only (records the graph)
  chain f+b     the same chain, forward + backward
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


def per_call_us(fn, n, reps=7):
    for _ in range(max(10, n // 20)):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        ts.append((time.perf_counter() - t0) / n)
    return statistics.median(ts) * 1e6


def workloads(lib, quick):
    scale = 5 if quick else 1
    x = lib.rand(8, requires_grad=True)
    w = lib.rand(8, requires_grad=True)
    b = lib.rand(8, requires_grad=True)
    g = lib.ones(8)

    def mlp_step():
        y = ((x * w + b).relu()).sum()
        y.backward()

    def mlp_step_g():
        y = (x * w + b).relu()
        y.backward(g)

    c = lib.rand(8, requires_grad=True)
    k = lib.full((8,), 0.5)

    def chain():
        y = c
        for i in range(25):  # 4 ops per round: 100 ops
            y = ((y * k + k).tanh() - c)
        return y

    def chain_fb():
        chain().backward(g)

    return [
        ("mlp step (sum, backward())", lambda: per_call_us(mlp_step, 4000 // scale)),
        ("mlp step (backward(g))", lambda: per_call_us(mlp_step_g, 4000 // scale)),
        ("100-op chain, forward", lambda: per_call_us(chain, 300 // scale)),
        ("100-op chain, fwd + bwd", lambda: per_call_us(chain_fb, 300 // scale)),
    ]


def measure(lib, quick):
    out = []
    for name, run in workloads(lib, quick):
        try:
            val = run()
        except (AttributeError, RuntimeError, TypeError) as e:
            val = None
            print(f"  {lib.__name__}: {name} failed: {e}")
        out.append((name, val))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    args = ap.parse_args()
    ours = measure(ctorch, args.quick)
    theirs = measure(torch, args.quick) if torch else [(n, None) for n, _ in ours]
    print(f"{'workload':30} {'ctorch us':>10} {'torch us':>10} {'ratio':>8}")
    for (name, v), (_, tv) in zip(ours, theirs):
        fmt = lambda t: f"{t:10.2f}" if t is not None else f"{'-':>10}"  # noqa: E731
        ratio = f"{v / tv:8.2f}" if v is not None and tv is not None else ""
        print(f"{name:30} {fmt(v)} {fmt(tv)} {ratio}")


if __name__ == "__main__":
    main()
