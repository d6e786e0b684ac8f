# Tests for ctorch.utils.data.DataLoader: batching, worker processes, seeding, faults and shutdown.
import gc
import multiprocessing as python_mp
import os
import random
import signal
import time

import pytest

import ctorch
from ctorch.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info)
from conftest import ctorch_shm_entries


@pytest.fixture(autouse=True, scope="module")
def _no_leaks():
    before = set(ctorch_shm_entries())
    yield
    assert set(ctorch_shm_entries()) - before == set()
    gc.collect()  # iterators kept alive by exception tracebacks shut their workers down when freed
    deadline = time.time() + 5
    while python_mp.active_children() and time.time() < deadline:
        time.sleep(0.05)
    assert python_mp.active_children() == []


def _lists(batches):
    out = []
    for b in batches:
        if isinstance(b, (list, tuple)):
            out.append([x.tolist() if isinstance(x, ctorch.Tensor) else x for x in b])
        elif isinstance(b, ctorch.Tensor):
            out.append(b.tolist())
        else:
            out.append(b)
    return out


def _tensor_ds(n=37):
    x = ctorch.arange(n * 3, dtype=ctorch.float32).reshape(n, 3)
    y = ctorch.arange(n)
    return TensorDataset(x, y)


class SquareDataset(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"i": i, "sq": ctorch.tensor([float(i * i)])}


class RandomDataset(Dataset):
    """Each item draws from ctorch's, Python's and NumPy's global RNGs (seeded per worker)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        import numpy as np
        return ctorch.tensor([ctorch.rand(1).item(), random.random(), float(np.random.rand())])


class RangeIterable(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


class FailingDataset(Dataset):
    def __len__(self):
        return 20

    def __getitem__(self, i):
        if i == 9:
            raise ValueError("item nine is broken")
        return i


class KillSelfDataset(Dataset):
    def __len__(self):
        return 40

    def __getitem__(self, i):
        if i == 10:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


class SlowDataset(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(5 if i == 1 else 0)
        return i


class PidDataset(Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, i):
        return os.getpid()


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("num_workers", [1, 2, 3])
@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (5, False), (5, True), (None, False)])
def test_tensor_dataset_matches_single_process(num_workers, batch_size, drop_last):
    ds = _tensor_ds()
    ref = _lists(DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    got = _lists(DataLoader(ds, batch_size=batch_size, drop_last=drop_last, num_workers=num_workers))
    assert got == ref
    n = 37 if batch_size is None else (37 // 5 if drop_last else -(-37 // 5)) if batch_size == 5 else 37
    assert len(ref) == n
    assert len(DataLoader(ds, batch_size=batch_size, drop_last=drop_last)) == n


def test_batches_from_workers_are_shared_memory():
    batches = list(DataLoader(_tensor_ds(), batch_size=8, num_workers=2))
    assert all(x.is_shared() and y.is_shared() for x, y in batches)
    assert batches[0][0].dtype == ctorch.float32 and batches[0][1].dtype == ctorch.int64
    assert not any(x.is_shared() for x, _ in DataLoader(_tensor_ds(), batch_size=8))


def test_dict_samples_and_custom_collate():
    ds = SquareDataset(10)
    ref = list(DataLoader(ds, batch_size=4))
    got = list(DataLoader(ds, batch_size=4, num_workers=2))
    assert [b["i"].tolist() for b in got] == [b["i"].tolist() for b in ref] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b["sq"].tolist() for b in got] == [b["sq"].tolist() for b in ref]
    got = list(DataLoader(ds, batch_size=3, num_workers=2, collate_fn=lambda b: [s["i"] for s in b]))
    assert got == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_shuffle_same_generator_same_batches_any_worker_count():
    ds = _tensor_ds(50)
    runs = []
    for nw in (0, 2):
        g = ctorch.Generator().manual_seed(123)
        runs.append(_lists(DataLoader(ds, batch_size=7, shuffle=True, generator=g, num_workers=nw)))
    assert runs[0] == runs[1]
    flat = sorted(v for b in runs[0] for v in b[1])
    assert flat == list(range(50))
    assert runs[0] != _lists(DataLoader(ds, batch_size=7))


def test_worker_seeding_reproducible_and_distinct():
    pytest.importorskip("numpy")

    def run(seed, nw):
        g = ctorch.Generator().manual_seed(seed)
        return [b.tolist() for b in DataLoader(RandomDataset(), batch_size=3, num_workers=nw, generator=g)]

    a, b = run(5, 2), run(5, 2)
    assert a == b
    assert run(6, 2) != a
    # worker 0 gets batches 0 and 2, worker 1 batches 1 and 3: their RNG streams differ
    assert a[0] != a[1]


def test_worker_info_and_init_fn():
    def collate(batch):
        info = get_worker_info()
        return (info.id, info.num_workers, info.seed, os.getpid())

    seen = list(DataLoader(SquareDataset(8), batch_size=2, num_workers=2, collate_fn=collate,
                           worker_init_fn=lambda wid: random.seed(wid)))
    assert [s[0] for s in seen] == [0, 1, 0, 1]
    assert {s[1] for s in seen} == {2}
    assert seen[1][2] == seen[0][2] + 1  # base_seed + worker id
    assert seen[0][3] != os.getpid() and seen[0][3] != seen[1][3]
    assert get_worker_info() is None


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_iterable_dataset_with_workers_no_duplicates():
    ref = [b.tolist() for b in DataLoader(RangeIterable(23), batch_size=4)]
    assert sum(ref, []) == list(range(23))
    got = [b.tolist() for b in DataLoader(RangeIterable(23), batch_size=4, num_workers=3)]
    flat = sum(got, [])
    assert sorted(flat) == list(range(23)) and len(flat) == 23
    unbatched = [int(x) for x in DataLoader(RangeIterable(9), batch_size=None, num_workers=2)]
    assert sorted(unbatched) == list(range(9))


def test_iterable_dataset_len_and_bad_options():
    dl = DataLoader(RangeIterable(5))
    with pytest.raises(TypeError):
        len(dl)
    with pytest.raises(ValueError):
        DataLoader(RangeIterable(5), shuffle=True)
    with pytest.raises(ValueError):
        DataLoader(RangeIterable(5), sampler=[0, 1])


def test_argument_validation():
    ds = _tensor_ds()
    with pytest.raises(ValueError):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError):
        DataLoader(ds, timeout=-1)
    with pytest.raises(ValueError):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError):
        DataLoader(ds, sampler=range(3), shuffle=True)
    with pytest.raises(ValueError):
        DataLoader(ds, batch_sampler=[[0, 1]], batch_size=2)
    with pytest.raises(ValueError):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError):
        DataLoader(ds, num_workers=1, multiprocessing_context="nope")
    with pytest.raises(ValueError):
        DataLoader(ds, multiprocessing_context="fork")
    dl = DataLoader(ds, batch_size=4)
    with pytest.raises(ValueError):
        dl.batch_size = 3


def test_batch_sampler_and_pin_memory():
    # With a GPU every batch comes pinned; without one PyTorch warns and yields unpinned batches.
    ds = _tensor_ds(10)
    dl = DataLoader(ds, batch_sampler=[[3, 1], [0], [9, 8, 7]], num_workers=2, pin_memory=True)
    if ctorch.cuda.is_available():
        batches = list(dl)
        assert all(t.is_pinned() for b in batches for t in b)
    else:
        with pytest.warns(UserWarning, match="pin_memory"):
            batches = list(dl)
        assert not any(t.is_pinned() for b in batches for t in b)
    assert [b[1].tolist() for b in batches] == [[3, 1], [0], [9, 8, 7]]
    assert len(dl) == 3


def test_worker_exception_reraised_with_traceback():
    dl = DataLoader(FailingDataset(), batch_size=2, num_workers=2)
    t0 = time.time()
    with pytest.raises(ValueError) as ei:
        list(dl)
    msg = str(ei.value)
    assert "item nine is broken" in msg
    assert "DataLoader worker process" in msg and "Traceback" in msg and "__getitem__" in msg
    assert time.time() - t0 < 10


def test_worker_sigkill_raises_runtime_error_naming_pid():
    dl = DataLoader(KillSelfDataset(), batch_size=2, num_workers=2)
    t0 = time.time()
    with pytest.raises(RuntimeError, match=r"pid \d+.*SIGKILL"):
        for _ in dl:
            pass
    assert time.time() - t0 < 10


def test_timeout():
    dl = DataLoader(SlowDataset(), batch_size=1, num_workers=1, timeout=0.5)
    t0 = time.time()
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(dl)
    assert time.time() - t0 < 4


def test_early_break_leaves_no_children():
    dl = DataLoader(_tensor_ds(200), batch_size=2, num_workers=2)
    for i, _ in enumerate(dl):
        if i == 3:
            break
    # the iterator is gone once the loop is left; its workers are joined or terminated
    deadline = time.time() + 5
    while python_mp.active_children() and time.time() < deadline:
        time.sleep(0.05)
    assert python_mp.active_children() == []


def test_delete_iterator_shuts_workers_down():
    it = iter(DataLoader(_tensor_ds(), batch_size=2, num_workers=2))
    next(it)
    pids = [w.pid for w in it._workers]
    del it
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: not a zombie


def test_persistent_workers_reused_across_epochs():
    dl = DataLoader(PidDataset(), batch_size=4, num_workers=2, persistent_workers=True)
    e1 = [b.tolist() for b in dl]
    it1 = dl._iterator
    e2 = [b.tolist() for b in dl]
    assert dl._iterator is it1
    assert {p for b in e1 for p in b} == {p for b in e2 for p in b}
    assert len({p for b in e1 for p in b}) == 2
    ds = _tensor_ds(21)
    dl = DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True)
    ref = _lists(DataLoader(ds, batch_size=4))
    it = iter(dl)
    next(it)  # a partial epoch, then a full one
    assert _lists(dl) == ref
    assert _lists(dl) == ref
    dl._iterator._shutdown_workers()


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_and_forkserver_contexts(method):
    ds = _tensor_ds(10)
    ctx = python_mp.get_context(method) if method == "forkserver" else method
    got = _lists(DataLoader(ds, batch_size=3, num_workers=2, multiprocessing_context=ctx))
    assert got == _lists(DataLoader(ds, batch_size=3))


def test_in_order_false_yields_everything():
    got = [b.tolist() for b in DataLoader(_tensor_ds(30).tensors[1], batch_size=4, num_workers=2,
                                          in_order=False)]
    assert sorted(sum(got, [])) == list(range(30))


@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (4, True), (1, False), (None, False)])
def test_parity_with_torch(batch_size, drop_last):
    torch = pytest.importorskip("torch")
    import numpy as np
    data = np.arange(30, dtype=np.float32).reshape(10, 3)
    labels = np.arange(10)
    ref_dl = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(data), torch.from_numpy(labels)),
        batch_size=batch_size, drop_last=drop_last)
    dl = DataLoader(TensorDataset(ctorch.tensor(data), ctorch.tensor(labels)), batch_size=batch_size,
                    drop_last=drop_last, num_workers=2)
    assert len(dl) == len(ref_dl)
    ref = [[t.tolist() for t in b] for b in ref_dl]
    assert _lists(dl) == ref


_ORPHAN_SCRIPT = r"""
import os, sys, time
import ctorch
from ctorch.utils.data import DataLoader, TensorDataset
dl = DataLoader(TensorDataset(ctorch.arange(1000)), batch_size=2, num_workers=2)
it = iter(dl)
next(it)
print(" ".join(str(w.pid) for w in it._workers), flush=True)
os.kill(os.getpid(), 9)
"""


def test_workers_exit_when_main_process_dies():
    import subprocess
    import sys
    # The child imports the same ctorch as this process (installed, or PYTHONPATH in a dev build).
    proc = subprocess.run([sys.executable, "-c", _ORPHAN_SCRIPT], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:  # a zombie reparented to init counts as gone
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False
        return True

    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids)


def test_batch_outlives_its_worker():
    # Descriptors travel through the kernel, so a batch is usable after its worker has exited.
    dl = DataLoader(_tensor_ds(8), batch_size=4, num_workers=1)
    batches = list(dl)  # the iterator shut its worker down at the end of the epoch
    assert python_mp.active_children() == [] or all(not c.is_alive() for c in python_mp.active_children())
    assert batches[1][1].tolist() == [4, 5, 6, 7]
    batches[1][0].add_(1)
    assert batches[1][0][0].tolist() == [13.0, 14.0, 15.0]


class LyingLengthIterable(IterableDataset):
    def __len__(self):
        return 3

    def __iter__(self):
        return iter(range(5))


def test_iterable_len_and_overrun_warning():
    dl = DataLoader(LyingLengthIterable(), batch_size=None)
    assert len(dl) == 3
    with pytest.warns(UserWarning, match="was reported to be 3"):
        assert [int(x) for x in dl] == [0, 1, 2, 3, 4]
    assert len(DataLoader(LyingLengthIterable(), batch_size=2)) == 2
    assert len(DataLoader(LyingLengthIterable(), batch_size=2, drop_last=True)) == 1


def test_worker_init_fn_exception_is_reraised():
    def bad_init(worker_id):
        raise KeyError(f"init failed in {worker_id}")

    with pytest.raises(KeyError, match="init failed in"):
        list(DataLoader(_tensor_ds(8), batch_size=2, num_workers=2, worker_init_fn=bad_init))
