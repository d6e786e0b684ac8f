"""ctorch.linalg: PyTorch's torch.linalg namespace (products here; norms come from ctorch._C)."""
from ctorch import _C

__all__ = ["matmul", "vecdot", "vector_norm"]


def matmul(input, other, *, out=None):
    return _C.matmul(input, other, out=out)


def vecdot(x, y, *, dim=-1):
    """Dot products of vectors along `dim`, with broadcasting (real dtypes)."""
    x, y = _C.broadcast_tensors(x, y)
    return _C.matmul(x.movedim(dim, -1).unsqueeze(-2), y.movedim(dim, -1).unsqueeze(-1)).squeeze(-1).squeeze(-1)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    # Looked up at call time: the kernel lives in the reduction family's part of _C.
    fn = getattr(_C, "vector_norm", None)
    if fn is None:
        raise NotImplementedError("ctorch.linalg.vector_norm needs ctorch._C.vector_norm, which this build lacks")
    kwargs = {}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if out is not None:
        kwargs["out"] = out
    return fn(x, ord, dim, keepdim, **kwargs)
