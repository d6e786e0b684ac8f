"""ctorch.multiprocessing: the standard multiprocessing module, with ctorch tensors sent through its
queues and pipes as shared-memory handles (the storage moves to shared memory; nothing is copied)."""
import multiprocessing
import sys

from multiprocessing import *  # noqa: F401,F403

from .reductions import init_reductions

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies"]
__all__ += multiprocessing.__all__  # type: ignore[attr-defined]

# Only file descriptors are used: each segment is unlinked from /dev/shm the moment it is created,
# so it disappears with the last process holding it, even if that process is SIGKILLed.
_sharing_strategy = "file_descriptor"
_all_sharing_strategies = {"file_descriptor"}


def set_sharing_strategy(new_strategy):
    """Sets the strategy for sharing CPU tensors; only 'file_descriptor' is supported."""
    if new_strategy not in _all_sharing_strategies:
        raise ValueError(f"[set_sharing_strategy] unsupported sharing strategy {new_strategy!r}; "
                         f"supported: {sorted(_all_sharing_strategies)}")
    global _sharing_strategy
    _sharing_strategy = new_strategy


def get_sharing_strategy():
    return _sharing_strategy


def get_all_sharing_strategies():
    return set(_all_sharing_strategies)


init_reductions()
