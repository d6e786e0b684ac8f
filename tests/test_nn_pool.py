"""Tests for pooling (max/avg/adaptive pooling in 1-d and 2-d, max_unpool2d): outputs, indices and
gradients against PyTorch on random shapes and option combinations (padding, dilation, ceil_mode,
count_include_pad, divisor_override), NaN/-inf handling, batched/unbatched/empty/non-contiguous
inputs, 16-bit floats, gradcheck and gradgradcheck, node names, errors (PyTorch's exception class
for every invalid combination the random sweep hits) and module reprs."""
import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F
from conftest import DEVICES, compare_on_device, to_device

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [(ctorch.float32, torch.float32, 1e-5, 1e-6), (ctorch.float64, torch.float64, 1e-12, 1e-13)]


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _leaves(arr, cdt, tdt, noncontig=False):
    """The same values as a ctorch and a torch leaf; noncontig gives both a transposed layout."""
    if noncontig:
        base = np.ascontiguousarray(np.swapaxes(arr, -1, -2))
        c = ctorch.from_numpy(base.copy()).to(cdt).transpose(-1, -2)
        t = torch.from_numpy(base.copy()).to(tdt).transpose(-1, -2)
        assert c.numel() <= 1 or c.shape[-1] == 1 or c.shape[-2] == 1 or not c.is_contiguous()
    else:
        c, t = ctorch.from_numpy(arr.copy()).to(cdt), torch.from_numpy(arr.copy()).to(tdt)
    return c.requires_grad_(True), t.requires_grad_(True)


def _run(cfn, tfn, arr, cdt=ctorch.float64, tdt=torch.float64, rtol=1e-12, atol=1e-13, noncontig=False,
         seed=0, device="cpu"):
    """Runs both; if torch raises, ctorch must raise the same class. Else compares outputs, indices
    and the input gradient for a random upstream gradient. On another device: cfn there against
    cfn on the CPU (errors included)."""
    c, t = _leaves(arr, cdt, tdt, noncontig)
    if device != "cpu":
        try:
            cfn(c)
        except Exception as e:  # noqa: BLE001 - the class is what is compared
            with pytest.raises(type(e)):
                cfn(to_device(c, device))
            return False
        compare_on_device(cfn, [c], device, seed=seed)
        return True
    try:
        tout = tfn(t)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        with pytest.raises(type(e)):
            cfn(c)
        return False
    cout = cfn(c)
    touts = tout if isinstance(tout, tuple) else (tout,)
    couts = cout if isinstance(cout, tuple) else (cout,)
    assert len(touts) == len(couts)
    for a, b in zip(couts, touts):
        assert tuple(a.shape) == tuple(b.shape)
        if b.dtype == torch.int64:
            assert a.dtype == ctorch.int64
            np.testing.assert_array_equal(_np(a), _np(b))
        else:
            np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)
    if touts[0].numel():
        g = np.random.default_rng(seed).standard_normal(tuple(touts[0].shape))
        cg, = ctorch.autograd.grad(couts[0], c, ctorch.from_numpy(g.copy()).to(cdt))
        tg, = torch.autograd.grad(touts[0], t, torch.from_numpy(g.copy()).to(tdt))
        np.testing.assert_allclose(_np(cg), _np(tg), rtol=rtol, atol=max(atol, 1e-5 if cdt == ctorch.float32 else 0))
    return True


def _random_configs(seed, n, two_d, with_dilation):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        nd = 2 if two_d else 1
        k = [int(rng.integers(1, 5)) for _ in range(nd)]
        s = [int(rng.integers(1, 4)) for _ in range(nd)]
        p = [int(rng.integers(0, kk // 2 + 2)) for kk in k]  # sometimes too large: must raise like torch
        d = [int(rng.integers(1, 3)) for _ in range(nd)] if with_dilation else [1] * nd
        spatial = [int(rng.integers(1, 11)) for _ in range(nd)]
        lead = [[2, 3], [3], [0, 2]][int(rng.integers(0, 3))]
        ceil = bool(rng.integers(0, 2))
        stride = None if rng.integers(0, 4) == 0 else (s if rng.integers(0, 2) else s[0])
        out.append((lead + spatial, k if rng.integers(0, 2) else k[0], stride, p if nd == 2 else p[0],
                    d if nd == 2 else d[0], ceil))
    return out


@pytest.mark.parametrize("cdt,tdt,rtol,atol", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_random(cdt, tdt, rtol, atol, device):
    ran = 0
    for i, (shape, k, s, p, d, ceil) in enumerate(_random_configs(1, 60, True, True)):
        arr = np.random.default_rng(i).standard_normal(shape)
        ran += _run(lambda x: F.max_pool2d(x, k, s, p, d, ceil, return_indices=True),
                    lambda x: TF.max_pool2d(x, k, s, p, d, ceil, return_indices=True), arr, cdt, tdt, rtol, atol,
                    noncontig=i % 3 == 0, seed=i, device=device)
    assert ran > 20  # most configurations are valid


@pytest.mark.parametrize("cdt,tdt,rtol,atol", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_max_pool1d_random(cdt, tdt, rtol, atol, device):
    ran = 0
    for i, (shape, k, s, p, d, ceil) in enumerate(_random_configs(2, 50, False, True)):
        arr = np.random.default_rng(i).standard_normal(shape)
        k0 = k if isinstance(k, int) else k[0]
        s0 = s if s is None or isinstance(s, int) else s[0]
        ran += _run(lambda x: F.max_pool1d(x, k0, s0, p, d, ceil, return_indices=True),
                    lambda x: TF.max_pool1d(x, k0, s0, p, d, ceil, return_indices=True), arr, cdt, tdt, rtol, atol,
                    seed=i, device=device)
        ran += _run(lambda x: ctorch.max_pool1d(x, k0, s0 or (), p, d, ceil),
                    lambda x: torch.max_pool1d(x, k0, s0 or (), p, d, ceil), arr, cdt, tdt, rtol, atol,
                    seed=i, device=device)
    assert ran > 20


@pytest.mark.parametrize("cdt,tdt,rtol,atol", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_avg_pool2d_random(cdt, tdt, rtol, atol, device):
    ran = 0
    for i, (shape, k, s, p, _, ceil) in enumerate(_random_configs(3, 60, True, False)):
        arr = np.random.default_rng(i).standard_normal(shape)
        cip = bool(i % 2)
        div = [None, None, 3][i % 3]
        ran += _run(lambda x: F.avg_pool2d(x, k, s, p, ceil, cip, div),
                    lambda x: TF.avg_pool2d(x, k, s, p, ceil, cip, div), arr, cdt, tdt, rtol, atol,
                    noncontig=i % 4 == 1, seed=i, device=device)
    assert ran > 20


@pytest.mark.parametrize("cdt,tdt,rtol,atol", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_avg_pool1d_random(cdt, tdt, rtol, atol, device):
    ran = 0
    for i, (shape, k, s, p, _, ceil) in enumerate(_random_configs(4, 50, False, False)):
        arr = np.random.default_rng(i).standard_normal(shape)
        k0 = k if isinstance(k, int) else k[0]
        s0 = s if s is None or isinstance(s, int) else s[0]
        ran += _run(lambda x: F.avg_pool1d(x, k0, s0, p, ceil, bool(i % 2)),
                    lambda x: TF.avg_pool1d(x, k0, s0, p, ceil, bool(i % 2)), arr, cdt, tdt, rtol, atol,
                    seed=i, device=device)
    assert ran > 20


@pytest.mark.parametrize("cdt,tdt,rtol,atol", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_adaptive_pool_random(cdt, tdt, rtol, atol, device):
    rng = np.random.default_rng(5)
    for i in range(30):
        lead = [[2, 3], [3], [0, 2]][i % 3]
        h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        oh, ow = int(rng.integers(1, 14)), int(rng.integers(1, 14))
        arr = rng.standard_normal(lead + [h, w])
        osz = [(oh, ow), oh, (None, ow), (oh, None)][i % 4]
        _run(lambda x: F.adaptive_avg_pool2d(x, osz), lambda x: TF.adaptive_avg_pool2d(x, osz), arr, cdt, tdt,
             rtol, atol, noncontig=i % 5 == 0, seed=i, device=device)
        _run(lambda x: F.adaptive_max_pool2d(x, osz, True), lambda x: TF.adaptive_max_pool2d(x, osz, True), arr,
             cdt, tdt, rtol, atol, noncontig=i % 5 == 2, seed=i, device=device)
        arr1 = arr.reshape(lead + [h * w])
        _run(lambda x: F.adaptive_avg_pool1d(x, oh), lambda x: TF.adaptive_avg_pool1d(x, oh), arr1, cdt, tdt,
             rtol, atol, seed=i, device=device)
        _run(lambda x: F.adaptive_max_pool1d(x, ow, True), lambda x: TF.adaptive_max_pool1d(x, ow, True), arr1,
             cdt, tdt, rtol, atol, seed=i, device=device)
        _run(lambda x: ctorch.adaptive_max_pool1d(x, ow), lambda x: torch.adaptive_max_pool1d(x, ow), arr1,
             cdt, tdt, rtol, atol, seed=i, device=device)


def test_ceil_mode_edges():
    # (size, kernel, stride, padding): last window partly outside; last window would start in the
    # right padding (dropped); exact fit.
    cases = [(5, 2, 2, 0), (6, 3, 2, 1), (7, 3, 2, 1), (4, 2, 2, 0), (5, 3, 3, 1), (1, 2, 2, 1), (8, 4, 3, 2)]
    for i, (n, k, s, p) in enumerate(cases):
        arr = np.random.default_rng(i).standard_normal((2, 3, n, n + 1))
        for ceil in (False, True):
            for cip in (False, True):
                _run(lambda x: F.avg_pool2d(x, k, s, p, ceil, cip), lambda x: TF.avg_pool2d(x, k, s, p, ceil, cip),
                     arr)
            _run(lambda x: F.max_pool2d(x, k, s, p, 1, ceil, True), lambda x: TF.max_pool2d(x, k, s, p, 1, ceil, True),
                 arr)
            _run(lambda x: F.max_pool2d(x, k, s, p // 2, 2, ceil, True),
                 lambda x: TF.max_pool2d(x, k, s, p // 2, 2, ceil, True), arr)


def test_nan_and_inf():
    arr = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    arr[0, 0, 0, 1] = np.nan
    arr[0, 0, 1, 0] = np.nan  # two NaNs in one window: PyTorch keeps the last
    arr[1, 1, 4:, 4:] = -np.inf
    arr[0, 1, 2, 3] = np.inf
    for cfn, tfn in [(lambda x: F.max_pool2d(x, 2, return_indices=True), lambda x: TF.max_pool2d(x, 2, return_indices=True)),
                     (lambda x: F.max_pool2d(x, 3, 1, 1, return_indices=True),
                      lambda x: TF.max_pool2d(x, 3, 1, 1, return_indices=True)),
                     (lambda x: F.adaptive_max_pool2d(x, 4, True), lambda x: TF.adaptive_max_pool2d(x, 4, True)),
                     (lambda x: F.max_pool1d(x.flatten(-2), 4, return_indices=True),
                      lambda x: TF.max_pool1d(x.flatten(-2), 4, return_indices=True))]:
        c, t = _leaves(arr, ctorch.float64, torch.float64)
        co, ci = cfn(c)
        to, ti = tfn(t)
        np.testing.assert_array_equal(_np(co), _np(to))
        np.testing.assert_array_equal(_np(ci), _np(ti))
    c, t = _leaves(arr, ctorch.float32, torch.float32)
    np.testing.assert_array_equal(_np(F.avg_pool2d(c, 2)), _np(TF.avg_pool2d(t, 2)))


def test_integer_and_16bit_dtypes():
    arr = np.random.default_rng(1).integers(-50, 50, size=(2, 3, 7, 6))
    for cdt, tdt in [(ctorch.int64, torch.int64), (ctorch.int32, torch.int32), (ctorch.uint8, torch.uint8)]:
        a = np.abs(arr) if cdt == ctorch.uint8 else arr
        co, ci = F.max_pool2d(ctorch.from_numpy(a.copy()).to(cdt), 3, 2, 1, return_indices=True)
        to, ti = TF.max_pool2d(torch.from_numpy(a.copy()).to(tdt), 3, 2, 1, return_indices=True)
        assert co.dtype == cdt
        np.testing.assert_array_equal(_np(co), _np(to))
        np.testing.assert_array_equal(_np(ci), _np(ti))
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 8))
    for cdt, tdt, tol in [(ctorch.float16, torch.float16, 1e-3), (ctorch.bfloat16, torch.bfloat16, 1e-2)]:
        c, t = _leaves(x, cdt, tdt)
        for cfn, tfn in [(lambda v: F.max_pool2d(v, 2), lambda v: TF.max_pool2d(v, 2)),
                         (lambda v: F.avg_pool2d(v, 3, 2, 1), lambda v: TF.avg_pool2d(v, 3, 2, 1)),
                         (lambda v: F.adaptive_avg_pool2d(v, (4, 3)), lambda v: TF.adaptive_avg_pool2d(v, (4, 3))),
                         (lambda v: F.adaptive_max_pool2d(v, 5), lambda v: TF.adaptive_max_pool2d(v, 5))]:
            co, to = cfn(c), tfn(t)
            assert co.dtype == cdt
            np.testing.assert_allclose(_np(co.float()), _np(to.float()), rtol=tol, atol=tol)
            cg, = ctorch.autograd.grad(co.sum(), c)
            tg, = torch.autograd.grad(to.sum(), t)
            assert cg.dtype == cdt
            np.testing.assert_allclose(_np(cg.float()), _np(tg.float()), rtol=tol, atol=tol)


def test_large_multithreaded_and_empty():
    arr = np.random.default_rng(3).standard_normal((8, 16, 32, 32))
    _run(lambda x: F.max_pool2d(x, 2, return_indices=True), lambda x: TF.max_pool2d(x, 2, return_indices=True),
         arr, ctorch.float32, torch.float32, 1e-6, 1e-6)
    _run(lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: TF.avg_pool2d(x, 3, 2, 1), arr, ctorch.float32,
         torch.float32, 1e-5, 1e-6)
    _run(lambda x: F.adaptive_avg_pool2d(x, 7), lambda x: TF.adaptive_avg_pool2d(x, 7), arr, ctorch.float32,
         torch.float32, 1e-5, 1e-6)
    for fn in [lambda x: F.max_pool2d(x, 2), lambda x: F.avg_pool2d(x, 2), lambda x: F.adaptive_avg_pool2d(x, 3),
               lambda x: F.adaptive_max_pool2d(x, 3), lambda x: F.max_pool1d(x.flatten(-2), 3)]:
        x = ctorch.zeros(0, 3, 4, 4).requires_grad_()
        y = fn(x)
        assert y.shape[0] == 0
        y.sum().backward()
        assert x.grad.shape == x.shape
    assert F.adaptive_avg_pool2d(ctorch.zeros(2, 0, 4, 4), 2).shape == (2, 0, 2, 2)  # like PyTorch


def _gc(fn, *inputs):
    assert ctorch.autograd.gradcheck(fn, inputs)
    assert ctorch.autograd.gradgradcheck(fn, inputs)


def _distinct(shape, seed=0, noncontig=False):
    """Values spaced apart, so finite differences never reorder a max window."""
    n = int(np.prod(shape))
    vals = np.random.default_rng(seed).permutation(n).astype(np.float64) * 0.25 - n * 0.125
    t = ctorch.from_numpy(vals.reshape(shape).copy())
    if noncontig:
        t = t.transpose(-1, -2).contiguous().transpose(-1, -2)
    return t.requires_grad_()


def test_gradcheck_gradgradcheck():
    x = _distinct((2, 2, 7, 6))
    _gc(lambda v: F.max_pool2d(v, 3, 2, 1, 2, True), x)
    _gc(lambda v: F.max_pool2d(v, (2, 3), (1, 2), (1, 0)), _distinct((3, 5, 6), 1, noncontig=True))
    _gc(lambda v: F.avg_pool2d(v, 3, 2, 1, True, False), x)
    _gc(lambda v: F.avg_pool2d(v, (3, 2), 1, (1, 0), False, True, 5), x)
    _gc(lambda v: F.adaptive_avg_pool2d(v, (4, 5)), x)
    _gc(lambda v: F.adaptive_max_pool2d(v, (3, 4)), x)
    y = _distinct((2, 3, 11), 2)
    _gc(lambda v: F.max_pool1d(v, 3, 2, 1, 2, True), y)
    _gc(lambda v: F.avg_pool1d(v, 3, 2, 1, True, False), y)
    _gc(lambda v: F.adaptive_avg_pool1d(v, 4), y)
    _gc(lambda v: F.adaptive_max_pool1d(v, 4), y)
    out, idx = F.max_pool2d(_distinct((2, 2, 6, 6), 3), 2, return_indices=True)
    _gc(lambda v: F.max_unpool2d(v, idx, 2), out.detach().requires_grad_())


def test_grad_fn_names():
    x = ctorch.randn(2, 3, 8, 8).requires_grad_()
    cases = [(lambda v: F.max_pool2d(v, 2), "MaxPool2DWithIndicesBackward0", "MaxPool2DWithIndicesBackwardBackward0"),
             (lambda v: F.avg_pool2d(v, 2), "AvgPool2DBackward0", "AvgPool2DBackwardBackward0"),
             (lambda v: F.adaptive_avg_pool2d(v, 3), "AdaptiveAvgPool2DBackward0", "AdaptiveAvgPool2DBackwardBackward0"),
             (lambda v: F.adaptive_max_pool2d(v, 3), "AdaptiveMaxPool2DBackward0", "AdaptiveMaxPool2DBackwardBackward0")]
    for fn, name, name2 in cases:
        y = fn(x)
        assert y.grad_fn.name() == name
        g, = ctorch.autograd.grad(y.sum(), x, create_graph=True)
        assert g.grad_fn.name() == name2
    x1 = ctorch.randn(2, 3, 8).requires_grad_()
    for fn in [lambda v: F.max_pool1d(v, 2), lambda v: F.avg_pool1d(v, 2), lambda v: F.adaptive_avg_pool1d(v, 3),
               lambda v: F.adaptive_max_pool1d(v, 3)]:
        assert fn(x1).grad_fn.name() == "SqueezeBackward1"  # as in PyTorch: 1-d runs the 2-d op
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    assert idx.grad_fn is None and not idx.requires_grad
    with ctorch.no_grad():
        assert F.max_pool2d(x, 2).grad_fn is None


def test_saved_input_modified_in_place_raises():
    x = ctorch.randn(1, 1, 4, 4).requires_grad_()
    h = x * 1
    y = F.max_pool2d(h, 2)
    h.mul_(2)
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_errors_like_torch():
    x4, x3, x2 = np.zeros((2, 3, 8, 8)), np.zeros((2, 3, 8)), np.zeros((3, 8))
    cases = [
        (x4, lambda L, v: L.nn.functional.max_pool2d(v, 3, padding=2), "pad should be at most half"),
        (x4, lambda L, v: L.nn.functional.max_pool2d(v, 3, padding=2, dilation=2), "smaller than or equal to half"),
        (x4, lambda L, v: L.nn.functional.max_pool2d(v, 9), "Output size is too small"),
        (x4, lambda L, v: L.nn.functional.max_pool2d(v, 0), "stride should not be zero"),
        (x4, lambda L, v: L.nn.functional.max_pool2d(v, 0, 1), "kernel size should be greater than zero"),
        (x4, lambda L, v: L.nn.functional.max_pool2d(v, 2, dilation=0), "dilation should be greater than zero"),
        (x4, lambda L, v: L.nn.functional.max_pool2d(v, 2, padding=-1), "pad must be non-negative"),
        (x4, lambda L, v: L.nn.functional.max_pool2d(v, (2, 2, 2)), "kernel_size must either be"),
        (x4[0, 0], lambda L, v: L.nn.functional.max_pool2d(v, 2), "3D or 4D"),
        (x4[None], lambda L, v: L.nn.functional.max_pool2d(v, 2), "3D or 4D"),
        (np.zeros((2, 0, 4, 4)), lambda L, v: L.nn.functional.max_pool2d(v, 2), "3D or 4D"),
        (x3, lambda L, v: L.nn.functional.max_pool1d(v, 3, padding=2), "padding should be at most half"),
        (x3, lambda L, v: L.nn.functional.max_pool1d(v, 9), "Invalid computed output size"),
        (x3, lambda L, v: L.nn.functional.max_pool1d(v, 0), "kernel_size must be greater than zero"),
        (x3, lambda L, v: L.nn.functional.max_pool1d(v, 2, 0), "stride must be greater than zero"),
        (x4, lambda L, v: L.nn.functional.max_pool1d(v, 2), "2D or 3D"),
        (x4, lambda L, v: L.nn.functional.avg_pool2d(v, 3, padding=2), "pad should be at most half"),
        (x4, lambda L, v: L.nn.functional.avg_pool2d(v, 9), "Output size is too small"),
        (x4, lambda L, v: L.nn.functional.avg_pool2d(v, 2, divisor_override=0), "divisor must be not zero"),
        (x4[0, 0], lambda L, v: L.nn.functional.avg_pool2d(v, 2), "Dimension out of range"),
        (x3, lambda L, v: L.nn.functional.avg_pool1d(v, 3, padding=2), "pad should be at most half"),
        (x4, lambda L, v: L.nn.functional.avg_pool1d(v, 2), "Expected 2 to 3 dimensions"),
        (x3, lambda L, v: L.nn.functional.avg_pool1d(v, (2, 2)), "should contain one int"),
        (x2[0], lambda L, v: L.nn.functional.adaptive_avg_pool1d(v, 2), "Expected 2 to 3 dimensions"),
        (x2[0], lambda L, v: L.nn.functional.adaptive_max_pool1d(v, 2), "Expected 2 to 3 dimensions"),
        (x3, lambda L, v: L.nn.functional.adaptive_avg_pool1d(v, (2, 2)), "should contain one int"),
        (x2, lambda L, v: L.nn.functional.adaptive_avg_pool2d(v, 2), "Expected 3D or 4D tensor"),
        (x2, lambda L, v: L.nn.functional.adaptive_max_pool2d(v, 2), "Expected 3D or 4D tensor"),
        (x4, lambda L, v: L.nn.functional.adaptive_avg_pool2d(v, -1), "greater than or equal to 0"),
        (np.zeros((2, 0, 4, 4)), lambda L, v: L.nn.functional.adaptive_max_pool2d(v, 2), "non-zero size"),
        (np.zeros((2, 3, 0, 4)), lambda L, v: L.nn.functional.adaptive_avg_pool2d(v, 2), "non-zero size"),
    ]
    for arr, fn, msg in cases:
        with pytest.raises(Exception) as theirs:
            fn(torch, torch.from_numpy(arr.copy()))
        with pytest.raises(type(theirs.value), match=msg):
            fn(ctorch, ctorch.from_numpy(arr.copy()))
    # avg pooling of integers is not implemented here (PyTorch has it on CPU only)
    with pytest.raises(NotImplementedError):
        F.adaptive_avg_pool2d(ctorch.zeros(1, 2, 4, 4, dtype=ctorch.int64), 2)
    with pytest.raises(NotImplementedError):
        F.max_pool2d(ctorch.zeros(1, 2, 4, 4, dtype=ctorch.bool), 2)


def test_max_unpool2d():
    for shape, k, s, p, osz in [((2, 3, 8, 10), 2, None, 0, None), ((2, 3, 7, 9), 3, 2, 1, (7, 9)),
                                ((2, 3, 7, 9), 2, None, 0, (7, 9)), ((3, 7, 9), 3, 2, 1, (2, 3, 7, 9)),
                                ((2, 3, 8, 10), (2, 3), (2, 1), (1, 0), None)]:
        arr = np.random.default_rng(7).standard_normal(shape)
        c, t = _leaves(arr, ctorch.float64, torch.float64)
        co, ci = F.max_pool2d(c, k, s, p, return_indices=True)
        to, ti = TF.max_pool2d(t, k, s, p, return_indices=True)
        cu = F.max_unpool2d(co, ci, k, s, p, osz)
        tu = TF.max_unpool2d(to, ti, k, s, p, osz)
        np.testing.assert_array_equal(_np(cu), _np(tu))
        g = np.random.default_rng(8).standard_normal(tuple(tu.shape))
        cg, = ctorch.autograd.grad(cu, c, ctorch.from_numpy(g.copy()))
        tg, = torch.autograd.grad(tu, t, torch.from_numpy(g.copy()))
        np.testing.assert_allclose(_np(cg), _np(tg), rtol=1e-12)
        mu, tmu = nn.MaxUnpool2d(k, s, p), torch.nn.MaxUnpool2d(k, s, p)
        np.testing.assert_array_equal(_np(mu(co, ci, osz)), _np(tmu(to, ti, osz)))
        assert cu.grad_fn.name() == "MaxUnpool2DBackward0"
    # indices of a 7x9 plane do not fit the default 6x8 output: both raise
    o, i = F.max_pool2d(ctorch.randn(1, 1, 7, 9), 2, return_indices=True)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(o, i.clone().fill_(48), 2)
    with pytest.raises(ValueError):
        F.max_unpool2d(co, ci, 3, 2, 1, (20, 20))
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(co, ci.clone().fill_(1000), 3, 2, 1)


def test_modules_and_repr():
    arr = np.random.default_rng(9).standard_normal((2, 4, 10, 9))
    pairs = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True), False),
        (nn.MaxPool2d((2, 3), dilation=(1, 2), return_indices=True),
         torch.nn.MaxPool2d((2, 3), dilation=(1, 2), return_indices=True), False),
        (nn.MaxPool1d(3, 2, 1, 2, True, True), torch.nn.MaxPool1d(3, 2, 1, 2, True, True), True),
        (nn.AvgPool2d(3, 2, 1, True, False, None), torch.nn.AvgPool2d(3, 2, 1, True, False, None), False),
        (nn.AvgPool2d((2, 3), divisor_override=4), torch.nn.AvgPool2d((2, 3), divisor_override=4), False),
        (nn.AvgPool1d(3, 2, 1, True, False), torch.nn.AvgPool1d(3, 2, 1, True, False), True),
        (nn.AdaptiveAvgPool2d((None, 4)), torch.nn.AdaptiveAvgPool2d((None, 4)), False),
        (nn.AdaptiveAvgPool2d(3), torch.nn.AdaptiveAvgPool2d(3), False),
        (nn.AdaptiveMaxPool2d((3, None), True), torch.nn.AdaptiveMaxPool2d((3, None), True), False),
        (nn.AdaptiveAvgPool1d(5), torch.nn.AdaptiveAvgPool1d(5), True),
        (nn.AdaptiveMaxPool1d(5, True), torch.nn.AdaptiveMaxPool1d(5, True), True),
    ]
    for cm, tm, one_d in pairs:
        assert repr(cm) == repr(tm)
        a = arr.reshape(2, 4, 90) if one_d else arr
        _run(cm, tm, a)
    assert repr(nn.MaxUnpool2d(2)) == repr(torch.nn.MaxUnpool2d(2))
    assert repr(nn.MaxUnpool2d((2, 3), 1, 1)) == repr(torch.nn.MaxUnpool2d((2, 3), 1, 1))
    # top-level functions PyTorch also has
    for name in ["max_pool1d", "max_pool2d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d",
                 "max_pool1d_with_indices"]:
        assert callable(getattr(ctorch, name))
    # a LeNet-style stack trains through pooling
    net = nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    x = ctorch.randn(3, 2, 8, 8).requires_grad_()
    net(x).sum().backward()
    assert x.grad.shape == x.shape
