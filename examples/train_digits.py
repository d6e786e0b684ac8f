"""Train a small CNN on scikit-learn's bundled handwritten digits (8x8 images, no download), save a
checkpoint (model + optimizer + epoch), then reload it in a fresh process and check the test accuracy.

    python examples/train_digits.py [--epochs 15] [--seed 0] [--checkpoint digits.ckpt] [--device cuda]
    python examples/train_digits.py --evaluate digits.ckpt      # what the fresh process runs

On a GPU (--device cuda) the batches come from pinned memory and are copied with non_blocking=True.

Written exactly as it would be for PyTorch: only the import differs.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits

import ctorch as torch
from ctorch import nn
from ctorch.utils.data import DataLoader, TensorDataset


def digits_split(seed=0, test_fraction=0.2):
    """The 1797 digits as float images in [0, 1], split into a train and a test set by a fixed shuffle."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # N x 1 x 8 x 8
    labels = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(labels))
    n_test = int(len(labels) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    as_tensors = lambda idx: (torch.from_numpy(images[idx]), torch.from_numpy(labels[idx]))  # noqa: E731
    return as_tensors(train), as_tensors(test)


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),  # 32 x 4 x 4
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2),  # 64 x 2 x 2
        nn.Flatten(),
        nn.Linear(64 * 2 * 2, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10),
    )


@torch.no_grad()
def correct(model, images, labels):
    """How many test images the model classifies correctly."""
    model.eval()
    predicted = model(images).argmax(dim=1)
    return int((predicted == labels).sum().item())


def progress(epoch, epochs, step, steps, loss, width=24):
    """One line per epoch, redrawn in place while it runs when the output is a terminal."""
    if not sys.stdout.isatty():
        return
    done = width * step // steps
    print(f"\repoch {epoch:2d}/{epochs} [{'=' * done}{' ' * (width - done)}] loss {loss:.4f}", end="",
          flush=True)


def train(epochs, checkpoint, device, seed):
    torch.manual_seed(seed)
    (x_train, y_train), (x_test, y_test) = digits_split()
    x_test, y_test = x_test.to(device), y_test.to(device)
    # The training set stays on the CPU; on a GPU each batch is pinned and copied asynchronously.
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True,
                        pin_memory=torch.device(device).type == "cuda")
    model = make_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    print(f"training on {len(y_train)} digits, testing on {len(y_test)} ({device})")

    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total, seen = 0.0, 0
        for step, (images, labels) in enumerate(loader, 1):
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            seen += len(labels)
            progress(epoch, epochs, step, len(loader), total / seen)
        scheduler.step()
        right = correct(model, x_test, y_test)
        print(f"\repoch {epoch:2d}/{epochs}  loss {total / seen:.4f}  test accuracy {right / len(y_test):.2%}  "
              f"({time.perf_counter() - start:.1f} s)" + " " * 12)

    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epochs,
                "test_correct": right}, checkpoint)
    print(f"saved checkpoint {checkpoint} (epoch {epochs}); training took "
          f"{time.perf_counter() - start:.1f} s")
    return right


def evaluate(checkpoint, device):
    """Rebuilds the model from the checkpoint alone and measures the test accuracy."""
    state = torch.load(checkpoint, map_location=device)
    model = make_model().to(device)
    model.load_state_dict(state["model"])
    optimizer = torch.optim.Adam(model.parameters())
    optimizer.load_state_dict(state["optimizer"])  # a resumed run would continue from here
    _, (x_test, y_test) = digits_split()
    right = correct(model, x_test.to(device), y_test.to(device))
    print(f"reloaded epoch {state['epoch']}: test accuracy {right / len(y_test):.2%} ({right}/{len(y_test)})")
    return right


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=None, help="where to save (default: a temporary file)")
    parser.add_argument("--evaluate", metavar="CHECKPOINT", help="only reload CHECKPOINT and test it")
    # The CPU by default, so the demo's numbers are the same on every machine; --device cuda trains on a GPU.
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    args = parser.parse_args()
    if args.evaluate:
        evaluate(args.evaluate, args.device)
        return

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or os.path.join(tmp, "digits.ckpt")
        right = train(args.epochs, checkpoint, args.device, args.seed)
        # a fresh interpreter: nothing but the checkpoint file carries the model over
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--evaluate", checkpoint,
                              "--device", args.device], check=True, capture_output=True, text=True).stdout
        print(out.strip())
        reloaded = int(out.rsplit("(", 1)[1].split("/")[0])
        same = reloaded == right
        print("fresh process reproduces the test accuracy:", "yes" if same else f"NO ({reloaded} vs {right})")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
