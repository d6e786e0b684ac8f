"""GPU workloads, ctorch vs PyTorch CUDA, each library in its own process (needs a GPU).

    python benchmarks/cuda.py [--quick]

Rows:
  copy 2^26 f32      device-to-device copy_ of 64M floats: GB/s counting bytes read + written
  add 2^26 f32       a + b on 64M floats: GB/s counting 2 reads + 1 write; the "of copy" column
                     is its bandwidth over the same library's copy bandwidth (issue 5 asks >= 0.85)
  matmul 8192 f16    8192^3 product in float16: TFLOP/s
  matmul 8192 bf16   the same in bfloat16
  mlp step / lenet step / conv2d   benchmarks/nn.py's workloads on the GPU: ms per iteration
ratio: ctorch time over PyTorch time (< 1: ctorch faster); for rates, PyTorch's rate over ctorch's.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nn as nn_bench  # noqa: E402  (benchmarks/nn.py: the training workloads)


def gpu_ms(lib, fn, iters, warmup=3):
    for _ in range(warmup):
        fn()
    lib.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    lib.cuda.synchronize()
    return (time.perf_counter() - t0) / iters * 1e3


def worker(name, quick):
    lib = __import__(name)
    dev = "cuda"
    it = 5 if quick else 20
    out = {}
    n = 1 << 26
    a = lib.rand(n, device=dev)
    b = lib.rand(n, device=dev)
    c = lib.empty(n, device=dev)
    ms = gpu_ms(lib, lambda: c.copy_(a), it)
    out["copy 2^26 f32 GB/s"] = 2 * n * 4 / ms / 1e6
    ms = gpu_ms(lib, lambda: lib.add(a, b, out=c), it)
    out["add 2^26 f32 GB/s"] = 3 * n * 4 / ms / 1e6
    del a, b, c
    for dt in ("float16", "bfloat16"):
        m = 8192
        x = lib.randn(m, m, device=dev, dtype=getattr(lib, dt))
        y = lib.randn(m, m, device=dev, dtype=getattr(lib, dt))
        ms = gpu_ms(lib, lambda: lib.matmul(x, y), max(3, it // 2))
        out[f"matmul 8192 {dt} TFLOP/s"] = 2 * m ** 3 / ms / 1e9
    for key, fn in nn_bench.workloads(lib, dev).items():
        out[f"{key} ms"] = gpu_ms(lib, fn, 20 if quick else 100)
    print(json.dumps(out))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", choices=["ctorch", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.quick)
        return
    results = {}
    for lib in ("torch", "ctorch"):
        cmd = [sys.executable, __file__, "--worker", lib] + (["--quick"] if args.quick else [])
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{lib} failed:\n{run.stderr[-3000:]}")
            continue
        results[lib] = json.loads(run.stdout)
    if "ctorch" not in results:
        sys.exit(1)
    ours, theirs = results["ctorch"], results.get("torch", {})
    print(f"{'workload':<28} {'ctorch':>10} {'PyTorch':>10} {'ratio':>6}")
    for key, v in ours.items():
        t = theirs.get(key, float("nan"))
        ratio = v / t if key.endswith(" ms") else t / v
        print(f"{key:<28} {v:10.3f} {t:10.3f} {ratio:6.2f}")
    print(f"ctorch add bandwidth / copy bandwidth: "
          f"{ours['add 2^26 f32 GB/s'] / ours['copy 2^26 f32 GB/s']:.2f} (issue 5 asks >= 0.85)")


if __name__ == "__main__":
    main()
