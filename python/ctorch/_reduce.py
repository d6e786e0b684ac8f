"""Python-side helpers for the reduce ops: the named (values, indices) results of max/min/sort/...

The ops themselves are bound in C++ (src/python/bind_reduce.cpp) as ctorch.f and Tensor.f.
"""
import collections as _collections
import types as _types

__all__ = ["return_types"]


def _named(name):
    cls = _collections.namedtuple(name, ["values", "indices"])
    cls.__module__ = "ctorch.return_types"
    cls.__qualname__ = name
    cls.__repr__ = lambda self: f"ctorch.return_types.{name}(\nvalues={self.values},\nindices={self.indices})"
    return cls


# Like torch.return_types: tuples that also name their two fields.
return_types = _types.ModuleType("ctorch.return_types")
for _n in ("max", "min", "sort", "topk", "kthvalue", "median"):
    setattr(return_types, _n, _named(_n))
del _n
