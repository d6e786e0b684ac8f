"""Shared test helpers: NumPy conversion, closeness checks, sample inputs (non-contiguous too),
and the devices tests run on (CPU always; CUDA where present, skipped otherwise)."""
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
    wide = ctorch.zeros(*t.shape[:-1], t.shape[-1] * 2, dtype=t.dtype, device=t.device)
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


# ---- devices: every device-parametrized test runs on the CPU, and on CUDA where a GPU is present.
# On CUDA a test compares the device result, moved to the CPU, with the CPU result of the same
# inputs (the CPU result is itself checked against NumPy/torch by the CPU run).

requires_cuda = pytest.mark.skipif(not ctorch.cuda.is_available(), reason="CUDA not available")
DEVICES = ["cpu", pytest.param("cuda", marks=requires_cuda)]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


# torch.testing.assert_close's default (rtol, atol) by dtype; integers and bool compare exactly.
DEVICE_TOL = {ctorch.float16: (1e-3, 1e-5), ctorch.bfloat16: (1.6e-2, 1e-5),
              ctorch.float32: (1.3e-6, 1e-5), ctorch.float64: (1e-7, 1e-7)}


def to_device(obj, device):
    """`obj` with every tensor copied to `device`, through lists, tuples and dicts. A copy keeps
    the strides and storage offset of its source (a non-contiguous input stays non-contiguous),
    and a tensor that requires grad becomes a leaf that requires grad."""
    if isinstance(obj, ctorch.Tensor):
        t = obj.detach()
        if t.is_contiguous() and t.storage_offset() == 0:
            moved = t.to(device, copy=True)
        else:  # move the whole storage, then take the same view of it
            n = t._storage_nbytes() // t.itemsize
            base = t.as_strided([n], [1], 0).to(device, copy=True)
            moved = base.as_strided(list(t.shape), list(t.stride()), t.storage_offset())
        return moved.requires_grad_() if obj.requires_grad else moved
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    return obj


def assert_close_devices(actual, expected, rtol=None, atol=None, msg=""):
    """`actual` (a tensor on any device, or a list/tuple of them) equals `expected` (the CPU
    result): same dtype and shape, values within PyTorch's dtype tolerance (or rtol/atol when
    looser), NaN where NaN, integers and bools exactly."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), msg
        for a, e in zip(actual, expected):
            assert_close_devices(a, e, rtol, atol, msg)
        return
    if expected is None or not isinstance(expected, ctorch.Tensor):
        assert actual == expected, msg
        return
    assert actual.dtype == expected.dtype, f"{msg}: dtype {actual.dtype} != {expected.dtype}"
    assert tuple(actual.shape) == tuple(expected.shape), f"{msg}: shape {actual.shape} != {expected.shape}"
    act, exp = to_np(actual.cpu()), to_np(expected.cpu())
    if expected.dtype not in DEVICE_TOL:
        np.testing.assert_array_equal(act, exp, err_msg=msg)
        return
    r, a = DEVICE_TOL[expected.dtype]
    np.testing.assert_allclose(act.astype(np.float64), exp.astype(np.float64), rtol=max(r, rtol or 0),
                               atol=max(a, atol or 0), equal_nan=True, err_msg=msg)


def _random_like(t, seed):
    g = np.random.default_rng(seed).standard_normal(tuple(t.shape))
    return ctorch.tensor(g, dtype=t.dtype)


def _flat(out):
    """The tensors (and other values) of a possibly nested list/tuple output, in order."""
    if isinstance(out, (list, tuple)):
        return [x for o in out for x in _flat(o)]
    return [out]


def _compare_calls(cpu_fn, dev_fn, inputs, device, rtol, atol, seed):
    """cpu_fn(*inputs) against dev_fn(*inputs moved to device): outputs, then input gradients
    for the same random output gradient. Returns (device inputs, device outputs)."""
    dev_inputs = to_device(list(inputs), device)
    want, got = cpu_fn(*inputs), dev_fn(*dev_inputs)
    want_l, got_l = _flat(want), _flat(got)
    for g in got_l:
        if isinstance(g, ctorch.Tensor):
            assert g.device.type == ctorch.device(device).type, g.device
    assert_close_devices(got_l, want_l, rtol, atol, "output")
    for i, (c, d) in enumerate(zip(inputs, dev_inputs)):  # inputs updated in place (running stats)
        if isinstance(c, ctorch.Tensor):
            assert_close_devices(d.detach(), c.detach(), rtol, atol, f"input {i} after the call")
    outs = [(w, g) for w, g in zip(want_l, got_l) if isinstance(w, ctorch.Tensor) and w.requires_grad]
    if outs:
        gs = [_random_like(w, seed + i) for i, (w, _) in enumerate(outs)]
        ctorch.autograd.backward([w for w, _ in outs], gs)
        ctorch.autograd.backward([g for _, g in outs], [to_device(x, device) for x in gs])
        for i, (c, d) in enumerate(zip(inputs, dev_inputs)):
            if isinstance(c, ctorch.Tensor) and c.requires_grad:
                assert_close_devices(d.grad, c.grad, rtol, atol, f"grad of input {i}")
    return dev_inputs, got


def compare_on_device(fn, inputs, device, rtol=None, atol=None, seed=123):
    """fn(*inputs) on the CPU against fn on copies of the inputs moved to `device`: the outputs
    (a tensor or a list/tuple), the inputs after the call (ops may update some in place), and the
    gradients of the inputs that require grad for the same random output gradient. Every tensor
    fn uses must be among `inputs`. Returns the device outputs."""
    return _compare_calls(fn, fn, inputs, device, rtol, atol, seed)[1]


def compare_module_on_device(module, inputs, device, rtol=None, atol=None, seed=321, call=None):
    """`module` on the CPU against a deep copy moved with .to(device): outputs, input and
    parameter gradients (same random output gradient) and the buffers after the call.
    `call(module, *inputs)` runs the module when module(*inputs) does not (e.g. nested states)."""
    import copy
    dev_module = copy.deepcopy(module).to(device)
    for p in dev_module.parameters():
        assert p.device.type == ctorch.device(device).type
    call = call or (lambda m, *xs: m(*xs))
    _, got = _compare_calls(lambda *xs: call(module, *xs), lambda *xs: call(dev_module, *xs), inputs,
                            device, rtol, atol, seed)
    for (name, p), (_, q) in zip(module.named_parameters(), dev_module.named_parameters()):
        if p.grad is not None or q.grad is not None:
            assert_close_devices(q.grad, p.grad, rtol, atol, f"grad of {name}")
    for (name, b), (_, c) in zip(module.named_buffers(), dev_module.named_buffers()):
        assert_close_devices(c, b, rtol, atol, f"buffer {name}")
    return got
