"""Pickling ctorch tensors between processes by shared-memory handle instead of by value."""
import multiprocessing
from multiprocessing.reduction import ForkingPickler

import ctorch
from ctorch import _C


def _rebuild_shared_tensor(df, nbytes, dtype, sizes, strides, offset):
    # df is a multiprocessing DupFd: detach() hands this process its own descriptor of the segment
    # (received over a Unix socket, or inherited by a spawned child), which the new storage owns.
    try:
        fd = df.detach()
    except (OSError, EOFError) as e:
        # The sender keeps the descriptor until it is fetched, so it must outlive the hand-over.
        raise RuntimeError("[ctorch.multiprocessing] could not receive a shared-memory tensor: the "
                           f"sending process exited before the receiver fetched it ({e!r})") from e
    return _C._tensor_from_shm_fd(fd, nbytes, dtype, list(sizes), list(strides), offset)


def reduce_tensor(tensor):
    """ForkingPickler reducer: move the storage into shared memory (in place, as PyTorch does) and
    send (fd, nbytes, dtype, sizes, strides, offset); the segment itself is never copied."""
    if tensor.device.type != "cpu":
        raise RuntimeError("[ctorch.multiprocessing] only CPU tensors can be sent between processes, "
                           f"got a tensor on {tensor.device}")
    tensor.share_memory_()
    fd, nbytes = tensor._shm_handle()
    df = multiprocessing.reduction.DupFd(fd)
    return (_rebuild_shared_tensor,
            (df, nbytes, tensor.dtype, tuple(tensor.shape), tuple(tensor.stride()),
             tensor.storage_offset()))


def init_reductions():
    ForkingPickler.register(ctorch.Tensor, reduce_tensor)
