"""ctorch.linalg: PyTorch's torch.linalg namespace (products here; norms come from ctorch._C)."""
from ctorch import _C

__all__ = ["matmul", "vecdot", "multi_dot", "vector_norm"]


def matmul(input, other, *, out=None):
    return _C.matmul(input, other, out=out)


def vecdot(x, y, *, dim=-1):
    """Dot products of vectors along `dim`, with broadcasting (real dtypes)."""
    x, y = _C.broadcast_tensors(x, y)
    return _C.matmul(x.movedim(dim, -1).unsqueeze(-2), y.movedim(dim, -1).unsqueeze(-1)).squeeze(-1).squeeze(-1)


def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices; the first/last may be 1-D (a row/column vector)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        ok = t.dim() == 2 or (t.dim() == 1 and i in (0, len(tensors) - 1))
        if not ok:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D (or 1D at the ends) but got {t.dim()}D")
    r = tensors[0]
    for t in tensors[1:]:
        r = _C.matmul(r, t)
    if out is not None:
        out.copy_(r)
        return out
    return r


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
