"""Python-side helpers for the random ops: factory signatures (sizes, dtype=, device=, generator=)
and the Tensor methods with overloaded arguments."""
import builtins as _b

from ctorch import _C
from ctorch._C import Tensor
from ctorch._tensor import _factory, _dev, _shape

__all__ = [
    "rand", "randn", "randint", "randperm", "normal", "bernoulli", "rand_like", "randn_like",
    "randint_like"]


def _out(r, out):
    if out is None:
        return r
    if tuple(out.shape) != tuple(r.shape):
        raise RuntimeError(f"[random] out has shape {list(out.shape)} but the result has shape {list(r.shape)}")
    out.copy_(r)
    return out


def _sizes(size, size_kw=None):
    if size_kw is not None:
        if size:
            raise TypeError("size given both positionally and as size=")
        size = (size_kw,)
    return [_b.int(s) for s in _shape(size)]


@_factory
def rand(*size, generator=None, out=None, dtype=None, device=None, requires_grad=False,
         **kw):
    """Uniform numbers in [0, 1)."""
    return _out(_C._rand(_sizes(size, kw.get("size")), dtype or _C.get_default_dtype(), _dev(device), generator), out)


@_factory
def randn(*size, generator=None, out=None, dtype=None, device=None, requires_grad=False,
         **kw):
    """Standard normal numbers."""
    return _out(_C._randn(_sizes(size, kw.get("size")), dtype or _C.get_default_dtype(), _dev(device), generator), out)


@_factory
def randint(*args, low=None, high=None, size=None, generator=None, out=None, dtype=None, device=None,
            requires_grad=False, **_):
    """randint(high, size) or randint(low, high, size): integers uniform in [low, high)."""
    args = list(args)
    if size is None:
        if not args or isinstance(args[-1], (_b.int, Tensor)):
            raise TypeError("randint() missing required argument 'size'")
        size = args.pop()
    if high is not None:
        args.append(high)
    if low is not None:
        args.insert(0, low)
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError(f"randint() takes high or (low, high) and a size, got {len(args)} bounds")
    return _out(_C._randint(_b.int(low), _b.int(high), _sizes((size,)), dtype or _C.int64, _dev(device),
                            generator), out)


@_factory
def randperm(n, *, generator=None, out=None, dtype=None, device=None, requires_grad=False, **_):
    """A random permutation of 0..n-1."""
    return _out(_C._randperm(_b.int(n), dtype or _C.int64, _dev(device), generator), out)


@_factory
def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False, **_):
    """Normal numbers: tensor/float mean and std (broadcast), or float ones with a size."""
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if mt and st:
        r = _C._normal_tt(mean, std, generator)
    elif mt:
        r = _C._normal_tf(mean, float(std), generator)
    elif st:
        r = _C._normal_ft(float(mean), std, generator)
    else:
        if size is None:
            raise TypeError("normal() with float mean and std needs a size")
        r = _C._normal_ff(float(mean), float(std), _sizes((size,)), dtype or _C.get_default_dtype(),
                          _dev(device), generator)
    return _out(r, out)


def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 draws: with probabilities `input`, or with one probability `p` in input's shape."""
    r = _C._bernoulli_t(input, generator) if p is None else _C._bernoulli_f(input, float(p), generator)
    return _out(r, out)


def _like_dtype(input, dtype):
    return dtype or input.dtype


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False, **_):
    return rand(*input.shape, generator=generator, dtype=_like_dtype(input, dtype),
                device=device or input.device, requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False, **_):
    return randn(*input.shape, generator=generator, dtype=_like_dtype(input, dtype),
                 device=device or input.device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad=False, **_):
    """randint_like(input, high) or randint_like(input, low, high)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator, dtype=_like_dtype(input, dtype),
                   device=device or input.device, requires_grad=requires_grad)


# ---- Tensor methods with overloads

def _random_(self, *args, generator=None, **kw):
    """random_(), random_(to) or random_(from, to): integers in [from, to)."""
    frm, to = kw.pop("from", None), kw.pop("to", None)
    if kw:
        raise TypeError(f"random_() got unexpected arguments {sorted(kw)}")
    if len(args) == 1 and frm is None and to is None:
        frm, to = 0, args[0]
    elif len(args) == 2:
        frm, to = args
    elif len(args) == 1:
        frm = args[0]
    elif args:
        raise TypeError("random_() takes at most 2 positional arguments")
    if frm is None and to is not None:
        frm = 0
    return self._random_(None if frm is None else _b.int(frm), None if to is None else _b.int(to), generator)


def _bernoulli_method(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


for _name, _fn in {"random_": _random_, "bernoulli": _bernoulli_method}.items():
    setattr(Tensor, _name, _fn)
