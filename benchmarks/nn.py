"""nn training workloads, ctorch vs PyTorch: the same code with `lib` = ctorch or torch.

    python benchmarks/nn.py [--quick] [--rounds 2]

Rows (ms per iteration, median of several repeats; ratio = ctorch time / PyTorch time, < 1: ctorch faster):
  mlp step     784-512-256-10 MLP, batch 128, cross-entropy, SGD(momentum=0.9): zero_grad, forward,
               backward, step
  lenet step   LeNet-style CNN (conv 1->6 5x5, maxpool 2, conv 6->16 5x5, maxpool 2, 256-120-84-10),
               batch 64 of 1x28x28, cross-entropy, SGD(momentum=0.9)
  conv2d       conv2d 3->64 3x3 padding 1 on 32x3x32x32, forward + backward (input, weight, bias)

Each library runs in its own process, one after the other (rounds alternate the order): PyTorch's OpenMP
threads spin after each op and would steal the second core from the other library in a shared process.
Both use 2 threads.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def per_iter_ms(fn, iters, reps):
    for _ in range(max(3, iters // 5)):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        times.append((time.perf_counter() - t0) / iters)
    return statistics.median(times) * 1e3


def train_step(lib, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def workloads(lib, device="cpu"):
    """The three workloads on `device` (benchmarks/cuda.py runs them on the GPU)."""
    nn = lib.nn
    lib.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                        nn.Linear(256, 10)).to(device)
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10)).to(device)
    conv = nn.Conv2d(3, 64, 3, padding=1).to(device)
    image = lib.randn(32, 3, 32, 32, device=device, requires_grad=True)

    def conv_fwd_bwd():
        image.grad = None
        conv.zero_grad()
        conv(image).sum().backward()

    return {
        "mlp step": train_step(lib, mlp, lib.randn(128, 784, device=device),
                               lib.randint(0, 10, (128,), device=device)),
        "lenet step": train_step(lib, lenet, lib.randn(64, 1, 28, 28, device=device),
                                 lib.randint(0, 10, (64,), device=device)),
        "conv2d": conv_fwd_bwd,
    }


def worker(name, quick):
    lib = __import__(name)
    lib.set_num_threads(2)
    iters, reps = (10, 3) if quick else (40, 7)
    print(json.dumps({k: per_iter_ms(fn, iters, reps) for k, fn in workloads(lib).items()}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", choices=["ctorch", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.quick)
        return

    results = {"ctorch": [], "torch": []}
    for r in range(args.rounds):
        for lib in (["ctorch", "torch"] if r % 2 == 0 else ["torch", "ctorch"]):
            cmd = [sys.executable, __file__, "--worker", lib] + (["--quick"] if args.quick else [])
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                if lib == "torch":
                    print("PyTorch not available: ctorch numbers only")
                    continue
                sys.exit(run.stderr)
            results[lib].append(json.loads(run.stdout))

    print(f"{'workload':<12} {'ctorch ms':>10} {'PyTorch ms':>11} {'ratio':>6}")
    for key in results["ctorch"][0]:
        ours = min(r[key] for r in results["ctorch"])  # best round: the least disturbed by neighbours
        theirs = min(r[key] for r in results["torch"]) if results["torch"] else float("nan")
        print(f"{key:<12} {ours:10.3f} {theirs:11.3f} {ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
