"""DataLoader worker processes: the worker loop, WorkerInfo/get_worker_info, fetchers, error wrapping."""
import copyreg
import io
import os
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import ctorch
from ctorch import _C
from multiprocessing.reduction import ForkingPickler, recvfds, sendfds

# How often a blocked worker or main process wakes up to check that its peer is still alive.
MP_STATUS_CHECK_INTERVAL = 0.5


class WorkerInfo:
    """What a worker knows about itself: id, num_workers, seed and its copy of the dataset."""
    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = [f"{k}={getattr(self, k)}" for k in self.__keys]
        return f"{self.__class__.__name__}({', '.join(items)})"


_worker_info = None


def get_worker_info():
    """The current worker's WorkerInfo (id, num_workers, seed, dataset), or None in the main process."""
    return _worker_info


class ExceptionWrapper:
    """Carries an exception and its formatted traceback across a process boundary."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyError(msg)  # KeyError quotes its message; a wrapper keeps newlines readable
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    seed: int = None


class _MapDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self._fast = auto_collation and _is_plain_tensor_dataset(dataset) and _is_default_collate(collate_fn)

    def fetch(self, possibly_batched_index):
        if self.auto_collation:
            if self._fast and len(possibly_batched_index) > 0:
                # TensorDataset + default_collate: one gather per tensor instead of per-sample
                # indexing and a stack; default_collate of tuples gives a list, and so does this.
                idx = ctorch.tensor(list(possibly_batched_index), dtype=ctorch.int64)
                return [t[idx] for t in self.dataset.tensors]
            if hasattr(self.dataset, "__getitems__") and self.dataset.__getitems__:
                data = self.dataset.__getitems__(possibly_batched_index)
            else:
                data = [self.dataset[idx] for idx in possibly_batched_index]
        else:
            data = self.dataset[possibly_batched_index]
        return self.collate_fn(data)


class _IterableDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in possibly_batched_index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if len(data) == 0 or (self.drop_last and len(data) < len(possibly_batched_index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


def _is_plain_tensor_dataset(dataset):
    from ctorch.utils.data.dataset import TensorDataset
    return type(dataset) is TensorDataset


def _is_default_collate(fn):
    from ctorch.utils.data._utils.collate import default_collate
    return fn is default_collate


def create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
    cls = _MapDatasetFetcher if kind == "map" else _IterableDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# Batch tensors travel as shared-memory descriptors over a per-worker Unix socket (SCM_RIGHTS), sent
# while the batch is pickled; the pickle itself only names the channel. This is much cheaper than
# multiprocessing's resource_sharer (a socket connection and handshake per tensor), and the worker
# need not stay alive until the main process has fetched the descriptors.
_fd_channels = {}  # main process: channel key -> its end of each worker's socket


def _rebuild_from_channel(key, nbytes, dtype, sizes, strides, offset):
    fd = recvfds(_fd_channels[key], 1)[0]
    return _C._tensor_from_shm_fd(fd, nbytes, dtype, list(sizes), list(strides), offset)


class _ChannelPickler(ForkingPickler):
    def __init__(self, file, sock, key):
        super().__init__(file, -1)
        self.sock = sock
        self.key = key
        self.dispatch_table = copyreg.dispatch_table.copy()
        self.dispatch_table.update(ForkingPickler._extra_reducers)
        self.dispatch_table[ctorch.Tensor] = self._reduce_tensor

    def _reduce_tensor(self, t):
        if t.device.type != "cpu":
            raise RuntimeError(f"[DataLoader] worker batches must hold CPU tensors, got one on {t.device}")
        t.share_memory_()
        fd, nbytes = t._shm_handle()
        sendfds(self.sock, [fd])
        return (_rebuild_from_channel, (self.key, nbytes, t.dtype, tuple(t.shape), tuple(t.stride()),
                                        t.storage_offset()))


def _dumps_over_channel(obj, sock, key):
    buf = io.BytesIO()
    _ChannelPickler(buf, sock, key).dump(obj)
    return buf.getvalue()


class _ParentWatchdog:
    """Notices that the process which started this worker has died (the worker is reparented)."""

    def __init__(self):
        self.manager_pid = os.getppid()
        self.manager_dead = False

    def is_alive(self):
        if not self.manager_dead:
            self.manager_dead = os.getppid() != self.manager_pid
        return not self.manager_dead


def _seed_worker(seed):
    random.seed(seed)
    ctorch.manual_seed(seed)
    if "numpy" in sys.modules:
        import numpy as np
        # NumPy only takes 32-bit seeds here, as in PyTorch's worker loop.
        np.random.seed(seed % (2 ** 32))


def _worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers,
                 persistent_workers, fd_sock, fd_key):
    global _worker_info
    try:
        # Keep each worker to one intra-op thread: N workers on N cores would oversubscribe.
        if hasattr(ctorch, "set_num_threads"):
            ctorch.set_num_threads(1)
        seed = base_seed + worker_id
        _seed_worker(seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)

        init_exception = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

        iteration_end = False
        watchdog = _ParentWatchdog()
        while watchdog.is_alive():
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(r, _ResumeIteration):
                # persistent workers start a new epoch: reseed and restart the dataset iterator
                data_queue.put((r, None))
                iteration_end = False
                if r.seed is not None:
                    _seed_worker(r.seed + worker_id)
                fetcher = create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
                continue
            if r is None:
                break  # shutdown
            if done_event.is_set() or iteration_end:
                continue  # draining after shutdown or after this worker's iterable ended
            idx, index = r
            data = None
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and dataset_kind == "iterable":
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            # Pickled here, in order, so the descriptors on fd_sock and the messages stay in step;
            # pickling moves the batch's tensors into shared memory.
            data_queue.put((idx, _dumps_over_channel(data, fd_sock, fd_key)))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
