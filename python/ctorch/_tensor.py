"""Python-side sugar over ctorch._C: Size, device, factories and Tensor conversions."""
import builtins as _b
import functools as _functools

from ctorch import _C
from ctorch._C import Tensor

__all__ = [
    "Size", "device", "tensor", "as_tensor", "asarray", "empty", "zeros", "ones", "full",
    "empty_like", "zeros_like", "ones_like", "full_like", "arange", "range", "linspace",
    "logspace", "eye", "is_tensor", "numel", "is_floating_point", "where", "gelu",
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
    "float64", "half", "float", "double", "short", "int", "long", "cfloat",
]

bool, uint8, int8, int16, int32, int64 = _C.bool, _C.uint8, _C.int8, _C.int16, _C.int32, _C.int64
float16, bfloat16, float32, float64 = _C.float16, _C.bfloat16, _C.float32, _C.float64
half, float, double, short, int, long = float16, float32, float64, int16, int32, int64
cfloat = None  # complex dtypes are not supported


class Size(tuple):
    """The shape of a tensor: a tuple of ints."""

    def __repr__(self):
        return f"ctorch.Size([{', '.join(str(s) for s in self)}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


class device:
    """A device: ``device('cuda:0')``, ``device('cpu')`` or ``device('cuda', 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, _b.int):
            type, index = "cuda", type
        t, i = _C._parse_device(type)
        if i is not None and index is not None:
            raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {type}")
        object.__setattr__(self, "type", t)
        object.__setattr__(self, "index", i if i is not None else index)

    @property
    def _ctorch_device(self):
        return str(self)

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __setattr__(self, k, v):
        raise AttributeError("device is immutable")


_device_cls = device  # for functions whose parameter is called `device`


def _check_built_for(d):
    """A CUDA device in a build without CUDA: PyTorch's AssertionError, before any work."""
    if not _C._cuda_built() and str(d).startswith("cuda"):
        raise AssertionError("ctorch not compiled with CUDA enabled")


def _dev(d):
    if d is None:
        return "cpu"
    _check_built_for(d)
    return str(d) if isinstance(d, device) else d


def _factory(fn):
    """Adds the `requires_grad=` argument of tensor factories."""
    @_functools.wraps(fn)
    def make(*args, requires_grad=False, **kwargs):
        t = fn(*args, **kwargs)
        return t.requires_grad_() if requires_grad else t
    return make


def _shape(size):
    if len(size) == 1 and not isinstance(size[0], _b.int):
        return tuple(size[0])
    return size


@_factory
def tensor(data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (nested lists, numbers, NumPy arrays, tensors)."""
    return _C._tensor(data, dtype, _dev(device))


def as_tensor(data, dtype=None, device=None):
    """`data` as a tensor, sharing memory where dtype and device allow."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype or data.dtype, device=device or data.device)
    if type(data).__name__ == "ndarray":  # NumPy is imported only when it is used
        try:
            t = _C.from_numpy(data)
        except (TypeError, ValueError):
            return tensor(data, dtype=dtype, device=device)
        return t.to(dtype=dtype or t.dtype, device=device or "cpu")
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


@_factory
def empty(*size, dtype=None, device=None, requires_grad=False, **_):
    return _C._empty(list(_shape(size)), dtype, _dev(device))


@_factory
def zeros(*size, dtype=None, device=None, requires_grad=False, **_):
    return _C._full(list(_shape(size)), 0, dtype or _C.get_default_dtype(), _dev(device))


@_factory
def ones(*size, dtype=None, device=None, requires_grad=False, **_):
    return _C._full(list(_shape(size)), 1, dtype or _C.get_default_dtype(), _dev(device))


@_factory
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return _C._full(list(size), fill_value, dtype, _dev(device))


def _like(fn, t, dtype, device, *extra):
    return fn(*((list(t.shape),) + extra), dtype=dtype or t.dtype, device=device or t.device)


@_factory
def empty_like(input, *, dtype=None, device=None, requires_grad=False, **_):
    return _like(empty, input, dtype, device)


@_factory
def zeros_like(input, *, dtype=None, device=None, requires_grad=False, **_):
    return _like(zeros, input, dtype, device)


@_factory
def ones_like(input, *, dtype=None, device=None, requires_grad=False, **_):
    return _like(ones, input, dtype, device)


@_factory
def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, **_):
    return full(list(input.shape), fill_value, dtype=dtype or input.dtype, device=device or input.device)


@_factory
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    return _C._arange(start, end, step, dtype, _dev(device))


def range(start, end, step=1, *, dtype=None, device=None):
    """Deprecated in PyTorch: like arange but includes `end`."""
    return _C._linspace(start, end, _b.int((end - start) // step) + 1, dtype, _dev(device))


@_factory
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    return _C._linspace(start, end, steps, dtype, _dev(device))


@_factory
def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    return _C._logspace(start, end, steps, base, dtype, _dev(device))


@_factory
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    return _C._eye(n, m, dtype, _dev(device))


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.is_floating_point()


def where(condition, input=None, other=None):
    """where(cond, a, b) picks elementwise; where(cond) is nonzero(cond, as_tuple=True)."""
    if input is None and other is None:
        return _C.nonzero(condition, as_tuple=True)
    return _C._where3(condition, input, other)


def gelu(input, approximate="none"):
    return _C._gelu(input, approximate)


# ---- Tensor methods written in Python (no hot path)

def _parse_to(args, kwargs, what="to"):
    """(device, dtype, non_blocking, copy) from the call forms of Tensor.to and Module.to:
    to(dtype, non_blocking=False, copy=False), to(device=None, dtype=None, non_blocking=False,
    copy=False) and to(other, non_blocking=False, copy=False), positionally or by keyword."""
    args = list(args)
    device = dtype = None
    if args and isinstance(args[0], Tensor):
        other = args.pop(0)
        device, dtype = other.device, other.dtype
    elif args and isinstance(args[0], _C.dtype):
        dtype = args.pop(0)
    elif args and not isinstance(args[0], _b.bool):
        device = args.pop(0)
        if args and (args[0] is None or isinstance(args[0], _C.dtype)):
            dtype = args.pop(0)
    if len(args) > 2 or any(not isinstance(a, _b.bool) for a in args):
        raise TypeError(f"{what}() received an invalid combination of arguments: expected "
                        "(dtype | device[, dtype] | tensor)[, non_blocking[, copy]]")
    non_blocking = args[0] if args else False
    copy = args[1] if len(args) > 1 else False
    for key, value in kwargs.items():
        if key == "device" and device is None:
            device = value
        elif key == "dtype" and dtype is None:
            dtype = value
        elif key == "non_blocking" and len(args) < 1:
            non_blocking = value
        elif key == "copy" and len(args) < 2:
            copy = value
        elif key != "memory_format":
            raise TypeError(f"{what}() got an unexpected or repeated keyword argument '{key}'")
    if device is not None and (isinstance(device, _b.bool)
                               or not isinstance(device, (str, _device_cls, _b.int))):
        raise TypeError(f"{what}(): expected a device (str, int or ctorch.device), "
                        f"got {type(device).__name__}")
    if dtype is not None and not isinstance(dtype, _C.dtype):
        raise TypeError(f"{what}(): expected a ctorch.dtype, got {type(dtype).__name__}")
    device = _device_cls(device) if device is not None else None
    return device, dtype, _b.bool(non_blocking), _b.bool(copy)


def _to(self, *args, **kwargs):
    dev, dtype, non_blocking, copy = _parse_to(args, kwargs)
    if dev is not None:
        _check_built_for(dev)
    return self._to(dtype or self.dtype, str(dev) if dev is not None else self.device, copy,
                    non_blocking)


def _cuda(self, device=None, non_blocking=False, memory_format=None):
    """A copy on a GPU (`device`: None for the current device, an index, "cuda:N"); self when it
    is already there."""
    dev = _device_cls("cuda") if device is None else _device_cls(device)
    if dev.type != "cuda":
        raise RuntimeError(f"Invalid device, must be cuda device, got {dev}")
    return self.to(dev, non_blocking=non_blocking)


def _cpu(self, memory_format=None):
    return self.to("cpu")


def _get_device(self):
    """The GPU index of a CUDA tensor, -1 for a CPU tensor."""
    return self.device.index if self.is_cuda else -1


def _tolist(self):
    t = self if self.dtype != bfloat16 else self.float()
    return t.numpy(force=True).tolist()


def _array(self, dtype=None, copy=None):
    if self.requires_grad or self.is_cuda:  # np.asarray(t) is t.numpy(), which refuses these
        self.numpy()
    a = self.numpy(force=True) if self.dtype != bfloat16 else self.float().numpy(force=True)
    return a if dtype is None else a.astype(dtype, copy=False)


def _type_as(self, other):
    return self.to(other.dtype)


def _expand_as(self, other):
    return self.expand(*other.shape)


def _view_as(self, other):
    return self.view(*other.shape)


def _reshape_as(self, other):
    return self.reshape(*other.shape)


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new_factory(fn):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **_):
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
    return method


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _gelu_method(self, approximate="none"):
    return _C._gelu(self, approximate)


for _name, _fn in {
    "to": _to, "tolist": _tolist, "__array__": _array, "type_as": _type_as,
    "expand_as": _expand_as, "view_as": _view_as, "reshape_as": _reshape_as,
    "new_tensor": _new_tensor, "new_empty": _new_factory(empty), "new_zeros": _new_factory(zeros),
    "new_ones": _new_factory(ones), "new_full": _new_full, "gelu": _gelu_method,
    "cpu": _cpu, "cuda": _cuda, "get_device": _get_device, 
    "bool": lambda self: self.to(bool), "byte": lambda self: self.to(uint8),
    "char": lambda self: self.to(int8), "short": lambda self: self.to(int16),
    "int": lambda self: self.to(int32), "long": lambda self: self.to(int64),
    "half": lambda self: self.to(float16), "bfloat16": lambda self: self.to(bfloat16),
    "float": lambda self: self.to(float32), "double": lambda self: self.to(float64),
    "__iter__": lambda self: iter(self.unbind(0)) if self.dim() > 0 else (_ for _ in ()).throw(TypeError("iteration over a 0-d tensor")),
    "__array_priority__": 1000,
}.items():
    setattr(Tensor, _name, _fn)


# ---- pickling and copying: data only (raw bytes, dtype, shape, device), never code

_SAME_SIZE_INT = {1: "uint8", 2: "int16", 4: "int32", 8: "int64"}


def _rebuild_tensor(data, dtype_name, shape, device_str, requires_grad=False):
    import numpy as np
    raw = _C.from_numpy(np.frombuffer(data, dtype=_SAME_SIZE_INT[getattr(_C, dtype_name).itemsize]).copy())
    t = raw.view(getattr(_C, dtype_name)).reshape(list(shape))
    t = t if device_str == "cpu" else t.to(device_str)
    return t.requires_grad_() if requires_grad else t


def _reduce_ex(self, protocol):
    t = self.detach().to("cpu").contiguous()
    data = t.view(getattr(_C, _SAME_SIZE_INT[t.itemsize])).numpy().tobytes()
    return _rebuild_tensor, (data, str(self.dtype).split(".")[1], tuple(self.shape), str(self.device),
                             self.requires_grad)


def _deepcopy(self, memo):
    """A copy that is a new leaf (with requires_grad and a copy of .grad), as in PyTorch."""
    if not self.is_leaf:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                           "deepcopy protocol at the moment.")
    if id(self) not in memo:
        new = self.detach().clone().requires_grad_(self.requires_grad)
        memo[id(self)] = new
        if self.grad is not None:
            import copy  # deepcopy keeps the temporary .grad object alive in memo (its id is the key)
            new.grad = copy.deepcopy(self.grad, memo)
    return memo[id(self)]


Tensor.__reduce_ex__ = _reduce_ex
Tensor.__deepcopy__ = _deepcopy
Tensor.__copy__ = lambda self: self.detach()  # a shallow copy shares the data
