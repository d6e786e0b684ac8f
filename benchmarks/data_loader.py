"""DataLoader throughput, ctorch vs PyTorch: a 60000x784 float32 TensorDataset and a Python-heavy
map-style dataset (~50 us of work per item), with num_workers 0 and 2. Prints samples/s and ratios."""
import argparse
import time

import numpy as np

import ctorch
import ctorch.utils.data as cdata


def busy_item(i):
    # ~50 us of pure-Python work, the same for both libraries
    t0 = time.perf_counter()
    acc = 0
    while time.perf_counter() - t0 < 50e-6:
        acc += i
    return acc


class CtorchPyDataset(cdata.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        busy_item(i)
        return ctorch.full((16,), float(i)), i


def make_torch_py_dataset(torch, n):
    class TorchPyDataset(torch.utils.data.Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):
            busy_item(i)
            return torch.full((16,), float(i)), i
    return TorchPyDataset()


def measure(loader, max_batches):
    it = iter(loader)
    next(it)  # worker start-up and the first batch are not part of the steady state
    t0 = time.perf_counter()
    n = 0
    for i, b in enumerate(it):
        n += len(b[1])
        if i + 1 >= max_batches:
            break
    dt = time.perf_counter() - t0
    del it
    return n / dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=300, help="batches timed per configuration")
    args = ap.parse_args()
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    c_tensor = cdata.TensorDataset(ctorch.tensor(x), ctorch.tensor(y))
    c_py = CtorchPyDataset(64 * (args.batches // 4 + 2))
    if torch is not None:
        t_tensor = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        t_py = make_torch_py_dataset(torch, len(c_py))
    print(f"{'case':<38}{'ctorch samples/s':>18}{'torch samples/s':>18}{'ctorch/torch':>14}")
    for name, cds, tds, batches in [("TensorDataset 60000x784, batch 64", c_tensor,
                                     t_tensor if torch else None, args.batches),
                                    ("Python __getitem__ ~50us, batch 64", c_py,
                                     t_py if torch else None, args.batches // 4)]:
        for nw in (0, 2):
            g = ctorch.Generator().manual_seed(0)
            c = measure(cdata.DataLoader(cds, batch_size=64, shuffle=True, num_workers=nw, generator=g),
                        batches)
            t = None
            if torch is not None:
                tg = torch.Generator().manual_seed(0)
                t = measure(torch.utils.data.DataLoader(tds, batch_size=64, shuffle=True, num_workers=nw,
                                                        generator=tg), batches)
            tstr = f"{t:>18.0f}{c / t:>14.2f}" if t else f"{'-':>18}{'-':>14}"
            print(f"{name + f', workers={nw}':<38}{c:>18.0f}{tstr}")


if __name__ == "__main__":
    main()
