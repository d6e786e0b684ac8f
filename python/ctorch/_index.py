"""Python-side helpers for the index ops: variadic forms (meshgrid, atleast_*d) and one_hot."""
from ctorch import _C
from ctorch._C import Tensor

__all__ = ["meshgrid", "atleast_1d", "atleast_2d", "atleast_3d", "one_hot", "column_stack"]


def _tensors(args):
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return list(args[0])
    return list(args)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 0-D/1-D tensors; indexing 'ij' (default) or 'xy'."""
    return tuple(_C._meshgrid(_tensors(tensors), "ij" if indexing is None else indexing))


def _atleast(fn, args):
    ts = _tensors(args)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return fn(args[0])
    return tuple(fn(t) for t in ts)


def atleast_1d(*tensors):
    return _atleast(_C._atleast_1d, tensors)


def atleast_2d(*tensors):
    return _atleast(_C._atleast_2d, tensors)


def atleast_3d(*tensors):
    return _atleast(_C._atleast_3d, tensors)


def column_stack(tensors):
    """Stacks 0-D/1-D tensors as columns (and 2-D ones as they are) along dim 1."""
    cols = [t.reshape(t.numel(), 1) if t.dim() <= 1 else t for t in tensors]
    return _C.hstack(cols)


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of num_classes (-1: max value + 1)."""
    return _C.one_hot(tensor, num_classes)


