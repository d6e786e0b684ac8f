"""Python-side helpers for the reduce ops: the named (values, indices) results of max/min/sort/...
and a few composites (nansum, nanmean, count_nonzero, aminmax) written with the C++ ops.

The ops themselves are bound in C++ (src/python/bind_reduce.cpp) as ctorch.f and Tensor.f.
"""
import collections as _collections
import types as _types

from ctorch import _C
from ctorch._C import Tensor

__all__ = ["return_types", "nansum", "nanmean", "count_nonzero", "aminmax", "equal", "isclose", "allclose"]


def _named(name, fields=("values", "indices")):
    cls = _collections.namedtuple(name, fields)
    cls.__module__ = "ctorch.return_types"
    cls.__qualname__ = name

    def __repr__(self):
        body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"ctorch.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    return cls


# Like torch.return_types: tuples that also name their fields.
return_types = _types.ModuleType("ctorch.return_types")
for _n in ("max", "min", "sort", "topk", "kthvalue", "median"):
    setattr(return_types, _n, _named(_n))
return_types.aminmax = _named("aminmax", ("min", "max"))
del _n


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """sum treating NaN as zero."""
    if input.is_floating_point():
        input = _C._where3(_C.isnan(input), 0, input)
    return _C.sum(input, dim, keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """mean over the non-NaN values (NaN where there are none)."""
    if not input.is_floating_point() and dtype is None:
        raise RuntimeError(f"[nanmean] expects a floating point input, got {input.dtype}")
    not_nan = _C.logical_not(_C.isnan(input))
    total = nansum(input, dim, keepdim, dtype=dtype)
    return _C.div(total, _C.sum(not_nan, dim, keepdim).to(total.dtype))


def count_nonzero(input, dim=None):
    """The number of non-zero values (over all dims, or the given ones)."""
    return _C.sum(_C.ne(input, 0), dim)


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) in one call."""
    d = () if dim is None else dim
    return return_types.aminmax(_C.amin(input, d, keepdim), _C.amax(input, d, keepdim))


def equal(input, other):
    """True when both tensors have the same shape and the same values (NaN never equals NaN)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"equal(): arguments must be Tensors, got {type(input).__name__} and "
                        f"{type(other).__name__}")
    return tuple(input.shape) == tuple(other.shape) and bool(_C.eq(input, other).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise (broadcast); equal values (infinities too)
    are close, NaN only to NaN with equal_nan."""
    if not isinstance(other, Tensor):
        other = _C.tensor(other, dtype=input.dtype)
    if input.dtype != other.dtype:
        raise RuntimeError(f"{input.dtype} did not match {other.dtype}")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"rtol and atol must be non-negative, got rtol={rtol}, atol={atol}")
    close = _C.eq(input, other)
    if input.is_floating_point():
        a, b = input.double(), other.double()
        within = _C.le(_C.abs(_C.sub(a, b)), _C.add(_C.mul(_C.abs(b), rtol), atol))
        close = _C.logical_or(close, _C.logical_and(within, _C.isfinite(_C.sub(a, b))))
        if equal_nan:
            close = _C.logical_or(close, _C.logical_and(_C.isnan(input), _C.isnan(other)))
    return close


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element of input is close to other's (see isclose)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


for _name in ("nansum", "nanmean", "count_nonzero", "aminmax", "equal", "isclose", "allclose"):
    setattr(Tensor, _name, globals()[_name])
del _name


def _numpy_compatible(method):
    """NumPy's np.sum(t), np.mean(t), ... call t.sum(axis=..., out=None[, keepdims=...])."""
    def wrapper(self, *args, axis=None, out=None, keepdims=None, **kwargs):
        if out is not None:
            raise TypeError(f"{method.__name__}(): out= is not supported")
        if axis is not None:
            kwargs["dim"] = axis
        if keepdims is not None:
            kwargs["keepdim"] = keepdims
        return method(self, *args, **kwargs)
    wrapper.__name__ = wrapper.__qualname__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


for _name in ("sum", "mean", "prod", "max", "min", "all", "any", "std", "var", "argmax", "argmin"):
    setattr(Tensor, _name, _numpy_compatible(getattr(Tensor, _name)))
del _name
