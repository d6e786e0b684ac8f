"""Shared test helpers: NumPy conversion, closeness checks, sample inputs (non-contiguous too)."""
import os

import numpy as np
import pytest

import ctorch

ALL_DTYPES = [ctorch.bool, ctorch.uint8, ctorch.int8, ctorch.int16, ctorch.int32, ctorch.int64,
              ctorch.float16, ctorch.bfloat16, ctorch.float32, ctorch.float64]
FLOAT_DTYPES = [ctorch.float16, ctorch.bfloat16, ctorch.float32, ctorch.float64]
INT_DTYPES = [ctorch.uint8, ctorch.int8, ctorch.int16, ctorch.int32, ctorch.int64]

# Tolerances by dtype for results compared with a float64 NumPy reference.
TOL = {ctorch.float16: (1e-2, 1e-2), ctorch.bfloat16: (5e-2, 5e-2), ctorch.float32: (1e-5, 1e-6),
       ctorch.float64: (1e-12, 1e-12)}


def to_np(t):
    """A ctorch tensor as a NumPy array (bfloat16 widened to float32)."""
    if t.dtype == ctorch.bfloat16:
        t = t.float()
    return t.numpy(force=True).copy()


def assert_close(actual, expected, dtype=None, rtol=None, atol=None, equal_nan=True):
    dtype = dtype or actual.dtype
    r, a = TOL.get(dtype, (0, 0))
    exp = np.asarray(expected)
    act = to_np(actual)
    assert act.shape == exp.shape, f"shape {act.shape} != {exp.shape}"
    if act.dtype == np.bool_ or exp.dtype == np.bool_ or (r == 0 and a == 0 and rtol is None):
        np.testing.assert_array_equal(act, exp.astype(act.dtype))
    else:
        np.testing.assert_allclose(act.astype(np.float64), exp.astype(np.float64),
                                   rtol=rtol if rtol is not None else r,
                                   atol=atol if atol is not None else a, equal_nan=equal_nan)


def make_tensor(shape, dtype, low=-5, high=5, seed=0):
    """Random values in [low, high) for every dtype (bool: random True/False)."""
    rng = np.random.default_rng(seed)
    if dtype == ctorch.bool:
        return ctorch.tensor(rng.random(shape) > 0.5)
    if dtype in INT_DTYPES:
        lo = 0 if dtype == ctorch.uint8 else low
        return ctorch.tensor(rng.integers(lo, high, size=shape, dtype=np.int64)).to(dtype)
    return ctorch.tensor(rng.uniform(low, high, size=shape)).to(dtype)


def noncontiguous(t):
    """The same values as `t`, laid out with gaps (every other element of a wider buffer)."""
    if t.dim() == 0:
        return t
    wide = ctorch.zeros(*t.shape[:-1], t.shape[-1] * 2, dtype=t.dtype)
    view = wide.as_strided(tuple(t.shape), wide.stride()[:-1] + (2,))
    view.copy_(t)
    assert not view.is_contiguous() or t.numel() <= 1
    return view


def grad_leaf(shape, seed=0, low=-2.0, high=2.0, dtype=ctorch.float64, noncontig=False, distinct=False):
    """A float leaf requiring grad, for gradcheck. `distinct` spaces the values 0.25 apart (ties
    and near-ties make max, sort, ... non-differentiable, and finite differences must not reorder
    them); `noncontig` lays the leaf out with gaps, so the op sees a non-contiguous input."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    if distinct:
        vals = rng.permutation(n).astype(np.float64) * 0.25 - n * 0.125 + 0.0625
    else:
        vals = rng.uniform(low, high, size=n)
    t = ctorch.tensor(vals.reshape(shape)).to(dtype)
    if noncontig:
        t = noncontiguous(t).detach()
        assert t.numel() <= 1 or not t.is_contiguous()
    return t.requires_grad_()


def L(t):
    """The library a tensor belongs to, so one lambda runs on ctorch and on torch tensors."""
    return ctorch if isinstance(t, ctorch.Tensor) else __import__("torch")


def spec_leaves(lib, specs, seed, dtype):
    """Leaves of ctorch or torch (the same values for both at the same seed), random in [-2, 2),
    one per spec: a shape (contiguous), ("nc", shape) (gaps in the last dim) or ("t", shape)
    (dims reversed over a contiguous buffer)."""
    rng = np.random.default_rng(seed)
    leaves = []
    for spec in specs:
        kind, shape = spec if isinstance(spec, tuple) and spec and isinstance(spec[0], str) else ("c", spec)
        arr = np.asarray(rng.uniform(-2, 2, size=shape))
        if kind == "nc" and len(shape) > 0:
            wide = lib.zeros(*shape[:-1], 2 * shape[-1], dtype=dtype)
            t = wide[..., ::2]
            t.copy_(lib.tensor(arr, dtype=dtype))
        elif kind == "t" and len(shape) > 1:
            t = lib.tensor(np.ascontiguousarray(arr.transpose()), dtype=dtype).permute(*reversed(range(len(shape))))
        else:
            t = lib.tensor(arr, dtype=dtype)
        assert kind == "c" or t.numel() <= 1 or not t.is_contiguous()
        leaves.append(t.requires_grad_())
    return leaves


def as_list(out):
    """An op's output(s) as a list: ops like split or meshgrid return several tensors."""
    return list(out) if isinstance(out, (list, tuple)) else [out]


def assert_raises_like_torch(torch, cases):
    """Each (name, fn) raises in ctorch an exception of the class fn(torch) raises."""
    for name, fn in cases:
        with pytest.raises(Exception) as theirs:
            fn(torch)
        with pytest.raises(Exception) as ours:
            fn(ctorch)
        assert isinstance(ours.value, type(theirs.value)), (name, ours.value, theirs.value)


def ctorch_shm_entries():
    """ctorch's POSIX shared-memory segments visible in /dev/shm (none should outlive a test)."""
    try:
        return [f for f in os.listdir("/dev/shm") if f.startswith("ctorch")]
    except FileNotFoundError:
        return []


@pytest.fixture
def rng():
    return np.random.default_rng(0)
