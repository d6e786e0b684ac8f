"""CUDA pooling (max/avg/adaptive in 1-d and 2-d, max_unpool2d), the fused LSTM/GRU cells (and the
LSTM/GRU modules and cells built on them) and the fused SGD/Adam/AdamW steps against the CPU: outputs,
indices, gradients (double backward too) over random configurations, dtypes, layouts and empty inputs,
plus the mixed-device errors. The CPU result is the reference (tests/test_nn_pool.py etc. check the CPU
against PyTorch)."""
import os

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F

# "cpu" only dry-runs this file's own logic on a machine without a GPU (both sides then run the CPU).
DEV = os.environ.get("CTORCH_CUDA_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(DEV == "cuda" and not ctorch.cuda.is_available(), reason="CUDA not available")
needs_gpu = pytest.mark.skipif(DEV != "cuda", reason="mixed-device checks need a GPU")

TOL = {ctorch.float64: (1e-12, 1e-12), ctorch.float32: (1e-5, 1e-6), ctorch.float16: (1e-3, 1e-3),
       ctorch.bfloat16: (1e-2, 1e-2)}


def _np(t):
    t = t.detach().cpu()
    if t.dtype in (ctorch.float16, ctorch.bfloat16):
        t = t.float()
    return t.numpy()


def _close(dev_t, cpu_t, dtype, exact=False, scale=1):
    assert dev_t.device.type == DEV
    assert tuple(dev_t.shape) == tuple(cpu_t.shape)
    assert dev_t.dtype == cpu_t.dtype
    if exact or not cpu_t.is_floating_point():
        np.testing.assert_array_equal(_np(dev_t), _np(cpu_t))
    else:
        rtol, atol = TOL[dtype]
        np.testing.assert_allclose(_np(dev_t), _np(cpu_t), rtol=rtol * scale, atol=atol * scale)


def _leaves(arr, dtype, noncontig=False, grad=True):
    """The same values as a CPU and a device tensor; noncontig gives both a transposed layout."""
    if noncontig:
        base = ctorch.from_numpy(np.ascontiguousarray(np.swapaxes(arr, -1, -2))).to(dtype)
        c, d = base.clone().transpose(-1, -2), base.clone().to(DEV).transpose(-1, -2)
    else:
        c = ctorch.from_numpy(arr.copy()).to(dtype)
        d = c.clone().to(DEV)
    if grad and dtype.is_floating_point:
        c.requires_grad_(True)
        d.requires_grad_(True)
    return c, d


def _run(fn, arr, dtype=ctorch.float64, noncontig=False, seed=0, exact_values=False):
    """fn on the CPU and on the device: the same exception class, or the same outputs and indices and
    the same input gradient (and gradient of the gradient) for a random upstream gradient."""
    c, d = _leaves(arr, dtype, noncontig)
    try:
        oc = fn(c)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        with pytest.raises(type(e)):
            fn(d)
        return False
    od = fn(d)
    oc = oc if isinstance(oc, tuple) else (oc,)
    od = od if isinstance(od, tuple) else (od,)
    for a, b in zip(od, oc):
        _close(a, b, dtype, exact=exact_values)
    if not dtype.is_floating_point or oc[0].numel() == 0:
        return True
    g = np.random.default_rng(seed).standard_normal(tuple(oc[0].shape))
    gc = ctorch.from_numpy(g).to(dtype).requires_grad_(True)
    gd = gc.detach().clone().to(DEV).requires_grad_(True)
    xc, = ctorch.autograd.grad(oc[0], c, gc, create_graph=True)
    xd, = ctorch.autograd.grad(od[0], d, gd, create_graph=True)
    _close(xd, xc, dtype, scale=10)
    # double backward: the gradient is linear in the upstream gradient
    v = np.random.default_rng(seed + 1).standard_normal(tuple(c.shape))
    vc = ctorch.from_numpy(v).to(dtype)
    ggc, = ctorch.autograd.grad((xc * vc).sum(), gc)
    ggd, = ctorch.autograd.grad((xd * vc.to(DEV)).sum(), gd)
    _close(ggd, ggc, dtype, scale=10)
    return True


def _random_configs(seed, n, two_d, with_dilation):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        nd = 2 if two_d else 1
        k = [int(rng.integers(1, 5)) for _ in range(nd)]
        s = [int(rng.integers(1, 4)) for _ in range(nd)]
        p = [int(rng.integers(0, kk // 2 + 2)) for kk in k]  # sometimes too large: must raise like the CPU
        d = [int(rng.integers(1, 3)) for _ in range(nd)] if with_dilation else [1] * nd
        spatial = [int(rng.integers(1, 11)) for _ in range(nd)]
        lead = [[2, 3], [3], [0, 2]][int(rng.integers(0, 3))]
        ceil = bool(rng.integers(0, 2))
        stride = None if rng.integers(0, 4) == 0 else (s if rng.integers(0, 2) else s[0])
        out.append((lead + spatial, k if rng.integers(0, 2) else k[0], stride, p if nd == 2 else p[0],
                    d if nd == 2 else d[0], ceil))
    return out


FLOATS = [ctorch.float32, ctorch.float64]

# ------------------------------------------------------------------ pooling


@pytest.mark.parametrize("dtype", FLOATS)
def test_max_pool2d_random(dtype):
    ran = 0
    for i, (shape, k, s, p, d, ceil) in enumerate(_random_configs(1, 40, True, True)):
        arr = np.random.default_rng(i).standard_normal(shape)
        ran += _run(lambda x: F.max_pool2d(x, k, s, p, d, ceil, return_indices=True), arr, dtype,
                    noncontig=i % 3 == 0, seed=i, exact_values=True)
    assert ran > 10


@pytest.mark.parametrize("dtype", FLOATS)
def test_max_pool1d_random(dtype):
    ran = 0
    for i, (shape, k, s, p, d, ceil) in enumerate(_random_configs(2, 30, False, True)):
        arr = np.random.default_rng(i).standard_normal(shape)
        k0 = k if isinstance(k, int) else k[0]
        s0 = s if s is None or isinstance(s, int) else s[0]
        ran += _run(lambda x: F.max_pool1d(x, k0, s0, p, d, ceil, return_indices=True), arr, dtype, seed=i,
                    exact_values=True)
    assert ran > 10


@pytest.mark.parametrize("dtype", FLOATS)
def test_avg_pool2d_random(dtype):
    ran = 0
    for i, (shape, k, s, p, _, ceil) in enumerate(_random_configs(3, 40, True, False)):
        arr = np.random.default_rng(i).standard_normal(shape)
        cip = bool(i % 2)
        div = [None, None, 3][i % 3]
        ran += _run(lambda x: F.avg_pool2d(x, k, s, p, ceil, cip, div), arr, dtype, noncontig=i % 4 == 1, seed=i)
    assert ran > 10


@pytest.mark.parametrize("dtype", FLOATS)
def test_avg_pool1d_random(dtype):
    ran = 0
    for i, (shape, k, s, p, _, ceil) in enumerate(_random_configs(4, 30, False, False)):
        arr = np.random.default_rng(i).standard_normal(shape)
        k0 = k if isinstance(k, int) else k[0]
        s0 = s if s is None or isinstance(s, int) else s[0]
        ran += _run(lambda x: F.avg_pool1d(x, k0, s0, p, ceil, bool(i % 2)), arr, dtype, seed=i)
    assert ran > 10


@pytest.mark.parametrize("dtype", FLOATS)
def test_adaptive_pool_random(dtype):
    rng = np.random.default_rng(5)
    for i in range(20):
        lead = [[2, 3], [3], [0, 2]][i % 3]
        h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        oh, ow = int(rng.integers(1, 14)), int(rng.integers(1, 14))
        arr = rng.standard_normal(lead + [h, w])
        osz = [(oh, ow), oh, (None, ow), (oh, None)][i % 4]
        _run(lambda x: F.adaptive_avg_pool2d(x, osz), arr, dtype, noncontig=i % 5 == 0, seed=i)
        _run(lambda x: F.adaptive_max_pool2d(x, osz, True), arr, dtype, noncontig=i % 5 == 2, seed=i,
             exact_values=True)
        arr1 = arr.reshape(lead + [h * w])
        _run(lambda x: F.adaptive_avg_pool1d(x, oh), arr1, dtype, seed=i)
        _run(lambda x: F.adaptive_max_pool1d(x, ow, True), arr1, dtype, seed=i, exact_values=True)


def test_ceil_mode_edges():
    cases = [(5, 2, 2, 0), (6, 3, 2, 1), (7, 3, 2, 1), (4, 2, 2, 0), (5, 3, 3, 1), (1, 2, 2, 1), (8, 4, 3, 2)]
    for i, (n, k, s, p) in enumerate(cases):
        arr = np.random.default_rng(i).standard_normal((2, 3, n, n + 1))
        for ceil in (False, True):
            for cip in (False, True):
                _run(lambda x: F.avg_pool2d(x, k, s, p, ceil, cip), arr)
            _run(lambda x: F.max_pool2d(x, k, s, p, 1, ceil, True), arr, exact_values=True)
            _run(lambda x: F.max_pool2d(x, k, s, p // 2, 2, ceil, True), arr, exact_values=True)


def test_avg_pool_adjoint_is_the_cpu_sum_order():
    # overlapping windows (stride 1): each input gathers from up to 9 windows in the CPU's order
    arr = np.random.default_rng(11).standard_normal((2, 3, 9, 8))
    for fn in [lambda x: F.avg_pool2d(x, 3, 1, 1, False, False), lambda x: F.avg_pool2d(x, 3, 1, 1, True, True, 5),
               lambda x: F.adaptive_avg_pool2d(x, (7, 5)), lambda x: F.adaptive_avg_pool2d(x, (12, 11))]:
        c, d = _leaves(arr, ctorch.float64)
        g = ctorch.from_numpy(np.random.default_rng(12).standard_normal(tuple(fn(c).shape)))
        xc, = ctorch.autograd.grad(fn(c), c, g)
        xd, = ctorch.autograd.grad(fn(d), d, g.to(DEV))
        _close(xd, xc, ctorch.float64, exact=True)


def test_nan_and_inf():
    arr = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    arr[0, 0, 0, 1] = np.nan
    arr[0, 0, 1, 0] = np.nan  # two NaNs in one window: the last one is kept
    arr[1, 1, 4:, 4:] = -np.inf
    arr[0, 1, 2, 3] = np.inf
    for fn in [lambda x: F.max_pool2d(x, 2, return_indices=True),
               lambda x: F.max_pool2d(x, 3, 1, 1, return_indices=True),
               lambda x: F.adaptive_max_pool2d(x, 4, True),
               lambda x: F.max_pool1d(x.flatten(-2), 4, return_indices=True)]:
        for dtype in FLOATS:
            c, d = _leaves(arr, dtype, grad=False)
            for a, b in zip(fn(d), fn(c)):
                _close(a, b, dtype, exact=True)
    c, d = _leaves(arr, ctorch.float32, grad=False)
    _close(F.avg_pool2d(d, 2), F.avg_pool2d(c, 2), ctorch.float32, exact=True)


def test_integer_and_16bit_dtypes():
    arr = np.random.default_rng(1).integers(-50, 50, size=(2, 3, 7, 6))
    for dtype in [ctorch.int64, ctorch.int32, ctorch.int16, ctorch.int8, ctorch.uint8]:
        a = np.abs(arr) if dtype == ctorch.uint8 else arr
        for fn in [lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
                   lambda x: F.max_pool2d(x, 2, 1, 0, 2, True, return_indices=True),
                   lambda x: F.adaptive_max_pool2d(x, (4, 5), True)]:
            _run(fn, a, dtype)
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 8))
    for dtype in [ctorch.float16, ctorch.bfloat16]:
        for fn in [lambda v: F.max_pool2d(v, 2), lambda v: F.avg_pool2d(v, 3, 2, 1),
                   lambda v: F.adaptive_avg_pool2d(v, (4, 3)), lambda v: F.adaptive_max_pool2d(v, 5)]:
            c, d = _leaves(x, dtype)
            oc, od = fn(c), fn(d)
            _close(od, oc, dtype)
            gc, = ctorch.autograd.grad(oc.sum(), c)
            gd, = ctorch.autograd.grad(od.sum(), d)
            _close(gd, gc, dtype)
    # the CPU's dtype errors
    for dtype, fn in [(ctorch.bool, lambda v: F.max_pool2d(v, 2)), (ctorch.int64, lambda v: F.avg_pool2d(v, 2)),
                      (ctorch.int64, lambda v: F.adaptive_avg_pool2d(v, 2))]:
        c, d = _leaves(np.zeros((1, 2, 4, 4)), dtype, grad=False)
        with pytest.raises(Exception) as cpu_err:
            fn(c)
        with pytest.raises(type(cpu_err.value)):
            fn(d)


def test_large_and_empty():
    arr = np.random.default_rng(3).standard_normal((8, 16, 32, 32))
    _run(lambda x: F.max_pool2d(x, 2, return_indices=True), arr, ctorch.float32, exact_values=True)
    _run(lambda x: F.max_pool2d(x, 3, 1, 1, return_indices=True), arr, ctorch.float32, exact_values=True)
    _run(lambda x: F.avg_pool2d(x, 3, 2, 1), arr, ctorch.float32)
    _run(lambda x: F.adaptive_avg_pool2d(x, 7), arr, ctorch.float32)
    _run(lambda x: F.adaptive_max_pool2d(x, 7, True), arr, ctorch.float32, exact_values=True)
    for fn in [lambda x: F.max_pool2d(x, 2), lambda x: F.avg_pool2d(x, 2), lambda x: F.adaptive_avg_pool2d(x, 3),
               lambda x: F.adaptive_max_pool2d(x, 3), lambda x: F.max_pool1d(x.flatten(-2), 3)]:
        x = ctorch.zeros(0, 3, 4, 4).to(DEV).requires_grad_()
        y = fn(x)
        assert y.shape[0] == 0 and y.device.type == DEV
        y.sum().backward()
        assert x.grad.shape == x.shape
    y = F.adaptive_avg_pool2d(ctorch.zeros(2, 0, 4, 4).to(DEV), 2)
    assert y.shape == (2, 0, 2, 2)
    _close(F.adaptive_avg_pool2d(ctorch.ones(1, 2, 4, 4).to(DEV), (0, 3)),
           F.adaptive_avg_pool2d(ctorch.ones(1, 2, 4, 4), (0, 3)), ctorch.float32)


def test_max_unpool2d():
    for shape, k, s, p, osz in [((2, 3, 8, 10), 2, None, 0, None), ((2, 3, 7, 9), 3, 2, 1, (7, 9)),
                                ((2, 3, 7, 9), 2, None, 0, (7, 9)), ((3, 7, 9), 3, 2, 1, (2, 3, 7, 9)),
                                ((2, 3, 8, 10), (2, 3), (2, 1), (1, 0), None), ((2, 3, 8, 8), 3, 1, 1, None)]:
        arr = np.random.default_rng(7).standard_normal(shape)
        for dtype in FLOATS:
            c, d = _leaves(arr, dtype)
            oc, ic = F.max_pool2d(c, k, s, p, return_indices=True)
            od, idd = F.max_pool2d(d, k, s, p, return_indices=True)
            uc, ud = F.max_unpool2d(oc, ic, k, s, p, osz), F.max_unpool2d(od, idd, k, s, p, osz)
            _close(ud, uc, dtype, exact=True)
            assert ud.grad_fn.name() == "MaxUnpool2DBackward0"
            g = ctorch.from_numpy(np.random.default_rng(8).standard_normal(tuple(uc.shape))).to(dtype)
            gc, = ctorch.autograd.grad(uc, c, g)
            gd, = ctorch.autograd.grad(ud, d, g.to(DEV))
            _close(gd, gc, dtype, scale=10)
            mc, md = nn.MaxUnpool2d(k, s, p)(oc, ic, osz), nn.MaxUnpool2d(k, s, p)(od, idd, osz)
            _close(md, mc, dtype, exact=True)
    # duplicate indices with different values: the last one in the plane wins, as on the CPU; other dtypes
    vals = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    idx = np.random.default_rng(9).integers(0, 6, size=vals.shape)
    for dtype in [ctorch.float32, ctorch.int64, ctorch.int16, ctorch.uint8, ctorch.bool, ctorch.float16]:
        xc = ctorch.from_numpy(vals % 200).to(dtype)
        ic = ctorch.from_numpy(idx)
        _close(F.max_unpool2d(xc.to(DEV), ic.to(DEV), 1), F.max_unpool2d(xc, ic, 1), dtype, exact=True)
    # invalid indices raise on the device too
    o, i = F.max_pool2d(ctorch.randn(1, 1, 7, 9).to(DEV), 2, return_indices=True)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(o, i.clone().fill_(48), 2)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(o, i.clone().fill_(-1), 2)


def test_modules():
    arr = np.random.default_rng(9).standard_normal((2, 4, 10, 9))
    mods = [(nn.MaxPool2d(3, 2, 1, ceil_mode=True), False),
            (nn.MaxPool2d((2, 3), dilation=(1, 2), return_indices=True), False),
            (nn.MaxPool1d(3, 2, 1, 2, True, True), True), (nn.AvgPool2d(3, 2, 1, True, False, None), False),
            (nn.AvgPool2d((2, 3), divisor_override=4), False), (nn.AvgPool1d(3, 2, 1, True, False), True),
            (nn.AdaptiveAvgPool2d((None, 4)), False), (nn.AdaptiveAvgPool2d(3), False),
            (nn.AdaptiveMaxPool2d((3, None), True), False), (nn.AdaptiveAvgPool1d(5), True),
            (nn.AdaptiveMaxPool1d(5, True), True)]
    for m, one_d in mods:
        _run(m, arr.reshape(2, 4, 90) if one_d else arr, ctorch.float32)
    net = nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    c, d = _leaves(np.random.default_rng(10).standard_normal((3, 2, 8, 8)), ctorch.float32)
    net(c).sum().backward()
    net(d).sum().backward()
    _close(d.grad, c.grad, ctorch.float32)


@needs_gpu
def test_pool_mixed_device_errors():
    x = ctorch.randn(1, 2, 6, 6).to(DEV)
    o, i = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="same device"):
        F.max_unpool2d(o, i.cpu(), 2)
    with pytest.raises(RuntimeError, match="same device"):
        F.max_unpool2d(o.cpu(), i, 2)


# ------------------------------------------------------------------ fused RNN cells and modules


def _rand(shape, seed, dtype, scale=1.0):
    return ctorch.from_numpy(np.random.default_rng(seed).standard_normal(shape) * scale).to(dtype)


def _grads_both(outs_c, outs_d, leaves_c, leaves_d, dtype, seed=100, retain=False):
    """Random-weighted sums of every output, differentiated on both sides."""
    lc, ld = 0, 0
    for k, (c, d) in enumerate(zip(outs_c, outs_d)):
        w = _rand(tuple(c.shape), seed + k, dtype)
        lc = lc + (c * w).sum()
        ld = ld + (d * w.to(DEV)).sum()
    gc = ctorch.autograd.grad(lc, leaves_c, retain_graph=retain)
    gd = ctorch.autograd.grad(ld, leaves_d, retain_graph=retain)
    return gc, gd


@pytest.mark.parametrize("dtype", FLOATS)
def test_fused_cells(dtype):
    gates, c = _rand((5, 12), 0, dtype, 3), _rand((5, 3), 1, dtype)
    xg, hg, h = _rand((4, 9), 2, dtype, 2), _rand((4, 9), 3, dtype, 2), _rand((4, 3), 4, dtype)
    for fn, args in [(ctorch._C._lstm_cell, (gates, c)), (ctorch._C._gru_cell, (xg, hg, h))]:
        lc = [a.clone().requires_grad_() for a in args]
        ld = [a.clone().to(DEV).requires_grad_() for a in args]
        oc, od = fn(*lc), fn(*ld)
        oc = oc if isinstance(oc, tuple) else (oc,)
        od = od if isinstance(od, tuple) else (od,)
        for a, b in zip(od, oc):
            _close(a, b, dtype)
        gc, gd = _grads_both(oc, od, lc, ld, dtype, retain=True)  # the fused backward kernel
        for a, b in zip(gd, gc):
            _close(a, b, dtype, scale=10)
        # only the first output used (LSTM: c' gets no gradient of its own)
        gc = ctorch.autograd.grad(oc[0].sum(), lc[0], retain_graph=True)[0]
        gd = ctorch.autograd.grad(od[0].sum(), ld[0], retain_graph=True)[0]
        _close(gd, gc, dtype, scale=10)
        # create_graph: the backward in ops, then double backward
        wc = [_rand(tuple(o.shape), 50 + k, dtype) for k, o in enumerate(oc)]
        g1c = ctorch.autograd.grad(sum((o * w).sum() for o, w in zip(oc, wc)), lc, create_graph=True)
        g1d = ctorch.autograd.grad(sum((o * w.to(DEV)).sum() for o, w in zip(od, wc)), ld, create_graph=True)
        for a, b in zip(g1d, g1c):
            _close(a, b, dtype, scale=10)
        g2c = ctorch.autograd.grad(sum((g * g).sum() for g in g1c), lc)
        g2d = ctorch.autograd.grad(sum((g * g).sum() for g in g1d), ld)
        for a, b in zip(g2d, g2c):
            _close(a, b, dtype, scale=100)


@needs_gpu
def test_fused_cell_errors():
    with pytest.raises(RuntimeError, match="same device"):
        ctorch._C._lstm_cell(ctorch.zeros(2, 8).to(DEV), ctorch.zeros(2, 2))
    with pytest.raises(RuntimeError, match="same device"):
        ctorch._C._gru_cell(ctorch.zeros(2, 6).to(DEV), ctorch.zeros(2, 6).to(DEV), ctorch.zeros(2, 2))
    with pytest.raises(RuntimeError, match="lstm_cell"):
        ctorch._C._lstm_cell(ctorch.zeros(2, 7).to(DEV), ctorch.zeros(2, 2).to(DEV))
    with pytest.raises(TypeError, match="gru_cell"):
        ctorch._C._gru_cell(ctorch.zeros(2, 6).to(DEV), ctorch.zeros(2, 6).to(DEV),
                            ctorch.zeros(2, 2, dtype=ctorch.float64).to(DEV))


def _module_pair(kind, args, kw, dtype, seed):
    ctorch.manual_seed(seed)
    mc = getattr(nn, kind)(*args, **kw).to(dtype)
    md = getattr(nn, kind)(*args, **kw).to(dtype)
    md.load_state_dict(mc.state_dict())
    return mc, md.to(DEV)


MODULE_CASES = [("LSTM", (5, 7), {}), ("LSTM", (5, 7), {"num_layers": 2, "bidirectional": True, "batch_first": True}),
                ("LSTM", (4, 6), {"proj_size": 3, "bias": False}), ("GRU", (5, 7), {}),
                ("GRU", (5, 7), {"num_layers": 2, "bidirectional": True, "batch_first": True}),
                ("GRU", (4, 6), {"bias": False})]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind,args,kw", MODULE_CASES, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(MODULE_CASES)])
def test_rnn_modules(kind, args, kw, dtype):
    mc, md = _module_pair(kind, args, kw, dtype, 0)
    for batched, given in [(True, False), (True, True), (False, True)]:
        T, B = 6, 3
        shape = ((B, T) if kw.get("batch_first") else (T, B)) + (args[0],) if batched else (T, args[0])
        xc = _rand(shape, 1, dtype).requires_grad_()
        xd = xc.detach().clone().to(DEV).requires_grad_()
        leaves_c, leaves_d = [xc] + list(mc.parameters()), [xd] + list(md.parameters())
        hx_c = hx_d = None
        if given:
            layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
            hsz = kw.get("proj_size", 0) or args[1]
            lead = (layers, B) if batched else (layers,)
            h0 = _rand(lead + (hsz,), 2, dtype).requires_grad_()
            if kind == "LSTM":
                c0 = _rand(lead + (args[1],), 3, dtype).requires_grad_()
                hx_c = (h0, c0)
                hx_d = tuple(t.detach().clone().to(DEV).requires_grad_() for t in hx_c)
                leaves_c, leaves_d = leaves_c + list(hx_c), leaves_d + list(hx_d)
            else:
                hx_c, hx_d = h0, h0.detach().clone().to(DEV).requires_grad_()
                leaves_c, leaves_d = leaves_c + [hx_c], leaves_d + [hx_d]
        out_c, st_c = mc(xc, hx_c)
        out_d, st_d = md(xd, hx_d)
        st_c = st_c if isinstance(st_c, tuple) else (st_c,)
        st_d = st_d if isinstance(st_d, tuple) else (st_d,)
        outs_c, outs_d = (out_c,) + st_c, (out_d,) + st_d
        for a, b in zip(outs_d, outs_c):
            _close(a, b, dtype, scale=10)
        gc, gd = _grads_both(outs_c, outs_d, leaves_c, leaves_d, dtype)
        for a, b in zip(gd, gc):
            _close(a, b, dtype, scale=100)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell"])
def test_rnn_cells(kind, dtype):
    mc, md = _module_pair(kind, (5, 4), {}, dtype, 1)
    for batched in (True, False):
        for given in (False, True):
            xc = _rand((3, 5) if batched else (5,), 4, dtype).requires_grad_()
            xd = xc.detach().clone().to(DEV).requires_grad_()
            leaves_c, leaves_d = [xc] + list(mc.parameters()), [xd] + list(md.parameters())
            hx_c = hx_d = None
            if given:
                hs = (3, 4) if batched else (4,)
                if kind == "LSTMCell":
                    hx_c = (_rand(hs, 5, dtype).requires_grad_(), _rand(hs, 6, dtype).requires_grad_())
                    hx_d = tuple(t.detach().clone().to(DEV).requires_grad_() for t in hx_c)
                    leaves_c, leaves_d = leaves_c + list(hx_c), leaves_d + list(hx_d)
                else:
                    hx_c = _rand(hs, 5, dtype).requires_grad_()
                    hx_d = hx_c.detach().clone().to(DEV).requires_grad_()
                    leaves_c, leaves_d = leaves_c + [hx_c], leaves_d + [hx_d]
            oc, od = mc(xc, hx_c), md(xd, hx_d)
            oc = oc if isinstance(oc, tuple) else (oc,)
            od = od if isinstance(od, tuple) else (od,)
            for a, b in zip(od, oc):
                _close(a, b, dtype, scale=10)
            gc, gd = _grads_both(oc, od, leaves_c, leaves_d, dtype)
            for a, b in zip(gd, gc):
                _close(a, b, dtype, scale=100)


# ------------------------------------------------------------------ fused optimizer steps

OPT_CASES = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.3, "maximize": True}),
]
OPT_SHAPES = [(3, 4), (5,), (2, 3, 2), (64, 33)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,kwargs", OPT_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPT_CASES)])
def test_optimizer_trajectory(name, kwargs, dtype):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s) for s in OPT_SHAPES]
    coefs = [rng.standard_normal(s) for s in OPT_SHAPES]
    pc = [ctorch.from_numpy(v.copy()).to(dtype).requires_grad_() for v in values]
    pd = [p.detach().clone().to(DEV).requires_grad_() for p in pc]
    cc = [ctorch.from_numpy(c).to(dtype) for c in coefs]
    cd = [c.to(DEV) for c in cc]
    oc, od = getattr(ctorch.optim, name)(pc, **kwargs), getattr(ctorch.optim, name)(pd, **kwargs)
    rtol, atol = (1e-10, 1e-10) if dtype == ctorch.float64 else (1e-4, 1e-5)
    for step in range(10):
        for opt, ps, cs in ((oc, pc, cc), (od, pd, cd)):
            opt.zero_grad()
            sum(((p * c) ** 2 + p.sin()).sum() for p, c in zip(ps, cs)).backward()
            opt.step()
        for a, b in zip(pd, pc):
            assert a.device.type == DEV
            np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol, err_msg=f"step {step}")
    for sa, sb in zip((od.state[p] for p in pd), (oc.state[p] for p in pc)):
        for key in sb:
            if key != "step":
                np.testing.assert_allclose(_np(sa[key]), _np(sb[key]), rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("dtype", FLOATS)
def test_fused_steps_take_the_device_path(dtype):
    p = ctorch.randn(10, 3, dtype=dtype).to(DEV)
    g = ctorch.randn(10, 3, dtype=dtype).to(DEV)
    buf = ctorch.empty_like(p)
    p0 = p.clone()
    assert ctorch._C._sgd_step_(p, g, buf, 0.1, 0.9, 0.0, 0.0, False, False, True)
    _close(buf, g, dtype, exact=True)  # the first step seeds the buffer with the gradient
    _close(p, p0 - 0.1 * g, dtype)
    m, v = ctorch.zeros(10, 3, dtype=dtype).to(DEV), ctorch.zeros(10, 3, dtype=dtype).to(DEV)
    assert ctorch._C._adam_step_(p, g, m, v, None, 0.01, 0.9, 0.999, 1e-8, 0.0, False, False, 1.0)
    # not eligible: touches nothing and says so
    pt = ctorch.randn(3, 10, dtype=dtype).to(DEV).t()
    pt0 = pt.clone()
    assert not ctorch._C._sgd_step_(pt, g, None, 0.1, 0.0, 0.0, 0.0, False, False, False)
    _close(pt, pt0, dtype, exact=True)
    assert not ctorch._C._sgd_step_(p, g.to(ctorch.float16), None, 0.1, 0.0, 0.0, 0.0, False, False, False)


@needs_gpu
def test_fused_steps_mixed_devices_are_not_eligible():
    p = ctorch.randn(4).to(DEV)
    p0 = p.clone()
    g = ctorch.randn(4)
    assert not ctorch._C._sgd_step_(p, g, None, 0.1, 0.0, 0.0, 0.0, False, False, False)
    m, v = ctorch.zeros(4), ctorch.zeros(4).to(DEV)
    assert not ctorch._C._adam_step_(p, g.to(DEV), m, v, None, 0.01, 0.9, 0.999, 1e-8, 0.0, False, False, 1.0)
    _close(p, p0, ctorch.float32, exact=True)
