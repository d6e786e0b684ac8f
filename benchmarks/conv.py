"""conv2d forward + backward, ctorch vs PyTorch, each library in its own subprocess (PyTorch's
OpenMP threads spin after a region and would slow the other library in the same process).
Prints ms per step (median and best) and the ctorch/PyTorch ratios (<1: ctorch faster). On a
shared machine the best times are the steadier comparison.

    python benchmarks/conv.py [--reps N] [--threads T]

Rows (input requires grad in every row, so both backward kernels run):
  3->64 3x3 p1   input 32x3x32x32
  lenet conv1    1->6 5x5 on 64x1x28x28
  lenet conv2    6->16 5x5 on 64x6x12x12
"""
import argparse
import json
import subprocess
import sys

CASES = [
    ("3->64 3x3 p1, 32x3x32x32", (32, 3, 32, 32), (64, 3, 3, 3), 1),
    ("lenet conv1 1->6 5x5, 64x1x28x28", (64, 1, 28, 28), (6, 1, 5, 5), 0),
    ("lenet conv2 6->16 5x5, 64x6x12x12", (64, 6, 12, 12), (16, 6, 5, 5), 0),
]

CHILD = r"""
import json, statistics, sys, time
lib_name, reps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if lib_name == "torch":
    import torch as lib
else:
    import ctorch as lib
lib.set_num_threads(threads)
lib.manual_seed(0)
out = []
for name, xs, ws, pad in json.loads(sys.argv[4]):
    x = lib.randn(*xs, requires_grad=True)
    w = lib.randn(*ws, requires_grad=True)
    b = lib.randn(ws[0], requires_grad=True)
    def step():
        y = lib.conv2d(x, w, b, padding=pad)
        y.backward(lib.ones_like(y))
    for _ in range(5):
        step()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    out.append([statistics.median(ts) * 1e3, min(ts) * 1e3])
print(json.dumps(out))
"""


def run(lib, reps, threads):
    r = subprocess.run([sys.executable, "-c", CHILD, lib, str(reps), str(threads), json.dumps(CASES)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    c = run("ctorch", a.reps, a.threads)
    try:
        t = run("torch", a.reps, a.threads)
    except (subprocess.CalledProcessError, FileNotFoundError):
        t = None
    print(f"{'case':36s} {'ctorch ms (med/best)':>21s} {'torch ms (med/best)':>21s} {'ratio med/best':>15s}")
    for i, (name, *_rest) in enumerate(CASES):
        cm, cb = c[i]
        row = f"{name:36s} {cm:10.3f} {cb:10.3f}"
        if t is None:
            print(row + "   (torch not installed)")
        else:
            tm, tb = t[i]
            print(row + f" {tm:10.3f} {tb:10.3f} {cm / tm:7.2f} {cb / tb:7.2f}")


if __name__ == "__main__":
    main()
