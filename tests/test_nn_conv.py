"""Tests for the convolutions (ctorch.conv1d/conv2d/conv_transpose1d/conv_transpose2d, their
nn.functional forms and the Conv*/ConvTranspose* modules) against PyTorch on the same inputs:
outputs and input/weight/bias gradients in float32 and float64 over stride/padding/dilation/groups
combinations, non-contiguous and zero-size inputs; gradcheck and gradgradcheck; module reprs,
state_dicts, default initialisation; bad arguments raise PyTorch's exception class."""
import math

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F
from conftest import DEVICES, compare_module_on_device, compare_on_device

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

TOL = {"float32": (2e-5, 2e-5), "float64": (1e-10, 1e-10)}


def _arr(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _leaves(shapes, dtype, seed):
    """The same random arrays as ctorch and torch leaves requiring grad (None stays None)."""
    cs, ts = [], []
    for i, s in enumerate(shapes):
        if s is None:
            cs.append(None)
            ts.append(None)
            continue
        a = _arr(s, seed + i)
        cs.append(ctorch.from_numpy(a.copy()).to(getattr(ctorch, dtype)).requires_grad_())
        ts.append(torch.from_numpy(a.copy()).to(getattr(torch, dtype)).requires_grad_())
    return cs, ts


def _np(t):
    return t.detach().float().numpy() if hasattr(t, "detach") else np.asarray(t)


def _close(a, b, dtype="float64"):
    rtol, atol = TOL[dtype]
    scale = max(1.0, float(np.abs(_np(b)).max()) if _np(b).size else 1.0)
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol * scale)


def _check_against_torch(name, shapes, kwargs, dtype, seed=0, prep=None):
    """Runs ctorch.<name> and torch.nn.functional.<name> on the same leaves and compares the
    output and every leaf's gradient for the same random output gradient."""
    cs, ts = _leaves(shapes, dtype, seed)
    ci, ti = list(cs), list(ts)
    if prep is not None:  # e.g. non-contiguous views of the leaves
        ci, ti = prep(ci, ctorch), prep(ti, torch)
    yc = getattr(ctorch, name)(*ci, **kwargs)
    yt = getattr(torch.nn.functional, name)(*ti, **kwargs)
    assert tuple(yc.shape) == tuple(yt.shape)
    assert yc.dtype == getattr(ctorch, dtype)
    _close(yc, yt, dtype)
    g = _arr(tuple(yt.shape), seed + 100)
    yc.backward(ctorch.from_numpy(g.copy()).to(getattr(ctorch, dtype)))
    yt.backward(torch.from_numpy(g.copy()).to(getattr(torch, dtype)))
    for c, t in zip(cs, ts):
        if t is not None:
            _close(c.grad, t.grad, dtype)


# (op, [input, weight, bias] shapes, kwargs)
CASES = [
    ("conv2d", [(2, 3, 7, 6), (4, 3, 3, 3), (4,)], {}),
    ("conv2d", [(2, 3, 7, 6), (4, 3, 3, 3), None], dict(stride=2, padding=1)),
    ("conv2d", [(2, 4, 9, 8), (6, 2, 3, 2), (6,)],
     dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ("conv2d", [(3, 6, 5, 5), (6, 1, 3, 3), (6,)], dict(padding=1, groups=6)),  # depthwise
    ("conv2d", [(2, 4, 5, 6), (8, 4, 1, 1), (8,)], {}),  # pointwise
    ("conv2d", [(2, 4, 5, 6), (8, 2, 1, 1), None], dict(stride=2, groups=2)),
    ("conv2d", [(2, 3, 7, 6), (4, 3, 4, 2), (4,)], dict(padding="same", dilation=(1, 3))),
    ("conv2d", [(2, 3, 7, 6), (4, 3, 3, 3), (4,)], dict(padding="valid")),
    ("conv2d", [(3, 7, 6), (4, 3, 3, 3), (4,)], dict(padding=(0, 2))),  # unbatched
    ("conv2d", [(9, 3, 16, 16), (16, 3, 3, 3), (16,)], dict(padding=1)),  # threads split the batch
    ("conv2d", [(20, 2, 6, 6), (5, 2, 3, 3), (5,)], dict(stride=(1, 2))),  # several samples per GEMM
    ("conv1d", [(2, 4, 11), (6, 2, 3), (6,)], dict(stride=2, padding=1, groups=2)),
    ("conv1d", [(4, 11), (6, 4, 4), None], dict(padding="same", dilation=2)),
    ("conv1d", [(3, 2, 9), (5, 2, 1), (5,)], {}),
    ("conv_transpose2d", [(2, 4, 5, 6), (4, 3, 3, 3), (3,)], {}),
    ("conv_transpose2d", [(2, 4, 5, 6), (4, 3, 3, 2), (6,)],
     dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2)),
    ("conv_transpose2d", [(2, 4, 4, 5), (4, 2, 3, 3), None], dict(padding=1, output_padding=1, dilation=2)),
    ("conv_transpose2d", [(4, 5, 6), (4, 3, 2, 2), (3,)], dict(stride=2)),  # unbatched
    ("conv_transpose2d", [(2, 4, 5, 6), (4, 3, 1, 1), (3,)], {}),
    ("conv_transpose1d", [(2, 4, 7), (4, 3, 3), (6,)], dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_transpose1d", [(4, 7), (4, 3, 3), None], dict(dilation=2)),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1][0]}-{c[2]}")
def test_matches_torch(case, dtype, device):
    name, shapes, kwargs = case
    if device != "cpu":
        inputs = _leaves(shapes, dtype, 0)[0]
        compare_on_device(lambda *xs: getattr(ctorch, name)(*xs, **kwargs), inputs, device)
        return
    _check_against_torch(name, shapes, kwargs, dtype)


def _noncontig(ts, lib):
    # input: a channels-last permutation viewed back to NCHW; weight: every other output channel
    x, w, b = ts
    x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) * 1.0
    w = lib.cat([w, w], 0)[::2] if w.shape[0] > 0 else w
    return [x, w, b]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_noncontiguous_inputs(dtype):
    _check_against_torch("conv2d", [(2, 3, 7, 6), (4, 3, 3, 3), (4,)], dict(stride=2, padding=1), dtype,
                         prep=_noncontig)
    _check_against_torch("conv_transpose2d", [(2, 3, 5, 4), (3, 4, 3, 3), (4,)], dict(stride=2), dtype,
                         prep=_noncontig)


def test_noncontiguous_views_directly():
    a = _arr((2, 5, 6, 3), 1)
    xc = ctorch.from_numpy(a.copy()).permute(0, 3, 1, 2)
    xt = torch.from_numpy(a.copy()).permute(0, 3, 1, 2)
    assert not xc.is_contiguous()
    w = _arr((4, 3, 2, 2), 2)
    _close(ctorch.conv2d(xc, ctorch.from_numpy(w.copy())), torch.conv2d(xt, torch.from_numpy(w.copy())))


@pytest.mark.parametrize("name,shapes", [
    ("conv2d", [(0, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    ("conv1d", [(0, 3, 5), (4, 3, 3), (4,)]),
    ("conv_transpose2d", [(0, 3, 5, 5), (3, 4, 3, 3), (4,)]),
])
def test_zero_batch(name, shapes):
    cs, ts = _leaves(shapes, "float64", 0)
    yc = getattr(ctorch, name)(*cs)
    yt = getattr(torch, name)(*ts)
    assert tuple(yc.shape) == tuple(yt.shape)
    yc.sum().backward()
    yt.sum().backward()
    for c, t in zip(cs, ts):
        assert tuple(c.grad.shape) == tuple(t.grad.shape)
        _close(c.grad, t.grad)  # zeros


def test_half_precision_computes_through_float():
    a, w = _arr((2, 3, 6, 6), 0), _arr((4, 3, 3, 3), 1)
    for dt in (ctorch.float16, ctorch.bfloat16):
        y = ctorch.conv2d(ctorch.from_numpy(a).to(dt), ctorch.from_numpy(w).to(dt), padding=1)
        assert y.dtype == dt
        ref = torch.conv2d(torch.from_numpy(a).float(), torch.from_numpy(w).float(), padding=1)
        np.testing.assert_allclose(_np(y), ref.numpy(), rtol=5e-2, atol=0.15)


def test_grad_fn_names():
    x = ctorch.randn(1, 2, 5, 5, requires_grad=True)
    w = ctorch.randn(3, 2, 3, 3, requires_grad=True)
    assert ctorch.conv2d(x, w).grad_fn.name() == "ConvolutionBackward0"
    assert ctorch.conv1d(x[0, :, 0], w[:, :, 0]).grad_fn.name() == "ConvolutionBackward0"
    assert ctorch.conv_transpose2d(x, w.transpose(0, 1)).grad_fn.name() == "ConvolutionBackward0"
    with ctorch.no_grad():
        assert ctorch.conv2d(x, w).grad_fn is None


def _g(shape, seed):
    return ctorch.from_numpy(_arr(shape, seed)).requires_grad_()


GRADCHECK = [
    (lambda x, w, b: ctorch.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
     [(2, 4, 5, 6), (4, 2, 3, 2), (4,)]),
    (lambda x, w, b: ctorch.conv2d(x, w, b, padding="same"), [(1, 2, 4, 5), (3, 2, 2, 3), (3,)]),
    (lambda x, w, b: ctorch.conv1d(x, w, b, stride=2, padding=2), [(2, 7), (3, 2, 3), (3,)]),
    (lambda x, w, b: ctorch.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=(1, 0), groups=2),
     [(1, 4, 3, 3), (4, 2, 3, 2), (4,)]),
    (lambda x, w, b: ctorch.conv_transpose1d(x, w, b, stride=3, dilation=2), [(2, 2, 4), (2, 3, 2), (3,)]),
    (lambda x, w, b: ctorch.conv2d(x, w, b), [(2, 4, 3, 3), (2, 4, 1, 1), (2,)]),
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck_and_gradgradcheck(i):
    fn, shapes = GRADCHECK[i]
    args = tuple(_g(s, 10 * i + k) for k, s in enumerate(shapes))
    assert ctorch.autograd.gradcheck(fn, args)
    assert ctorch.autograd.gradgradcheck(fn, args)


def test_double_backward_matches_torch():
    (cx, cw), (tx, tw) = _leaves([(2, 3, 6, 5), (4, 3, 3, 2)], "float64", 3)
    outs = []
    for lib, x, w in ((ctorch, cx, cw), (torch, tx, tw)):
        y = lib.conv2d(x, w, stride=2, padding=1)
        gx, gw = lib.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        (gx.pow(2).sum() + (gw * gw).sum()).backward()
        outs.append((gx, gw, x.grad, w.grad))
    for c, t in zip(*outs):
        _close(c, t)


# ---- modules

MODULES = [
    ("Conv2d", (4, 6, 3), dict(stride=2, padding=1, groups=2), (2, 4, 8, 7)),
    ("Conv2d", (3, 4, (3, 2)), dict(padding="same", dilation=2, bias=False), (2, 3, 6, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=(1, 2), padding_mode="reflect"), (2, 3, 6, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="replicate"), (3, 6, 5)),
    ("Conv2d", (3, 4, 3), dict(padding=2, padding_mode="circular", stride=2), (2, 3, 6, 6)),
    ("Conv2d", (3, 4, 4), dict(padding="same", padding_mode="reflect"), (2, 3, 6, 6)),
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, groups=2), (2, 4, 9)),
    ("Conv1d", (4, 6, 3), dict(padding=1, padding_mode="circular"), (4, 9)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 4)),
    ("ConvTranspose2d", (4, 6, (2, 3)), dict(dilation=2, bias=False), (4, 5, 4)),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=3, padding=1), (2, 4, 5)),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", MODULES, ids=lambda c: f"{c[0]}-{c[2]}")
def test_module_matches_torch(case, device):
    cls, args, kwargs, xshape = case
    if device != "cpu":
        m = getattr(nn, cls)(*args, **kwargs, dtype=ctorch.float64)
        compare_module_on_device(m, _leaves([xshape], "float64", 5)[0], device)
        return
    cm = getattr(nn, cls)(*args, **kwargs, dtype=ctorch.float64)
    tm = getattr(torch.nn, cls)(*args, **kwargs, dtype=torch.float64)
    assert repr(cm) == repr(tm)
    tsd = tm.state_dict()
    assert list(cm.state_dict().keys()) == list(tsd.keys())
    for k, v in cm.state_dict().items():
        assert tuple(v.shape) == tuple(tsd[k].shape)
    cm.load_state_dict({k: ctorch.from_numpy(v.numpy().copy()) for k, v in tsd.items()})
    (cx,), (tx,) = _leaves([xshape], "float64", 5)
    yc, yt = cm(cx), tm(tx)
    _close(yc, yt)
    yc.sum().backward()
    yt.sum().backward()
    _close(cx.grad, tx.grad)
    for (n, p), (_, q) in zip(cm.named_parameters(), tm.named_parameters()):
        _close(p.grad, q.grad)


def test_conv_transpose_output_size():
    cm = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=ctorch.float64)
    tm = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=torch.float64)
    cm.load_state_dict({k: ctorch.from_numpy(v.numpy().copy()) for k, v in tm.state_dict().items()})
    (cx,), (tx,) = _leaves([(1, 3, 4, 5)], "float64", 0)
    for size in ([7, 9], [8, 10], (1, 2, 8, 9)):
        yc, yt = cm(cx, output_size=size), tm(tx, output_size=size)
        assert tuple(yc.shape) == tuple(yt.shape)
        _close(yc, yt)
    for bad in ([6, 9], [7, 11], [7]):
        with pytest.raises(ValueError):
            tm(tx, output_size=bad)
        with pytest.raises(ValueError):
            cm(cx, output_size=bad)
    c1 = nn.ConvTranspose1d(3, 2, 3, stride=3)
    assert tuple(c1(ctorch.randn(2, 3, 4), output_size=[12]).shape) == (2, 2, 12)


def test_default_init_statistics():
    ctorch.manual_seed(0)
    m = nn.Conv2d(64, 128, 3)
    fan_in = 64 * 9
    bound = 1 / math.sqrt(fan_in)
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound + 1e-7
    # U(-b, b) has standard deviation b / sqrt(3); 73728 draws pin it down to well under 1%
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert abs(w.mean()) < 0.01 * bound
    bias = m.bias.detach().numpy()
    assert np.abs(bias).max() <= bound and bias.std() > 0.3 * bound
    t = nn.ConvTranspose2d(16, 8, 3, groups=2)  # fan_in from weight dim 1: 8 / 2 * 9
    assert tuple(t.weight.shape) == (16, 4, 3, 3)
    assert np.abs(t.weight.detach().numpy()).max() <= 1 / math.sqrt(36) + 1e-7
    assert np.abs(t.weight.detach().numpy()).max() > 0.8 / math.sqrt(36)


def test_module_dtype_and_unbatched():
    m = nn.Conv1d(2, 3, 2, dtype=ctorch.float64)
    assert m.weight.dtype == ctorch.float64 and m.bias.dtype == ctorch.float64
    assert tuple(m(ctorch.randn(2, 5, dtype=ctorch.float64)).shape) == (3, 4)


# ---- errors: the exception class PyTorch raises

def _raises_like_torch(fn_c, fn_t):
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(et.type):
        fn_c()


X, W = (2, 4, 5, 5), (6, 4, 3, 3)


@pytest.mark.parametrize("call", [
    lambda lib, x, w: lib.conv2d(x[0, 0], w),                        # wrong input rank
    lambda lib, x, w: lib.conv2d(x, w, stride=0),
    lambda lib, x, w: lib.conv2d(x, w, padding=-1),
    lambda lib, x, w: lib.conv2d(x, w, dilation=0),
    lambda lib, x, w: lib.conv2d(x, w, groups=0),
    lambda lib, x, w: lib.conv2d(x, w, groups=3),                    # channel count
    lambda lib, x, w: lib.conv2d(x, w[:, :2]),                       # channel count
    lambda lib, x, w: lib.conv2d(x, w[:5, :2], groups=2),            # groups must divide out channels
    lambda lib, x, w: lib.conv2d(x, w.repeat(1, 1, 3, 3)),           # kernel larger than input
    lambda lib, x, w: lib.conv2d(x, w, lib.zeros(5, dtype=lib.float64)),  # bias size
    lambda lib, x, w: lib.conv2d(x, w, stride=(1, 1, 1)),
    lambda lib, x, w: lib.conv2d(x, w, stride=2, padding="same"),
    lambda lib, x, w: lib.conv2d(x, w, padding="full"),
    lambda lib, x, w: lib.conv2d(x, w.float()),                      # dtype mismatch
    lambda lib, x, w: lib.conv2d(x, w, stride="a"),
    lambda lib, x, w: lib.conv1d(x, w),
    lambda lib, x, w: lib.conv_transpose2d(x, w),                    # transposed channel count
    lambda lib, x, w: lib.conv_transpose2d(x, w.transpose(0, 1), output_padding=1),
    lambda lib, x, w: lib.nn.Conv2d(4, 6, 3, groups=4),              # ValueError: out_channels
    lambda lib, x, w: lib.nn.Conv2d(3, 6, 3, groups=2),              # ValueError: in_channels
    lambda lib, x, w: lib.nn.Conv2d(4, 6, 3, padding="full"),
    lambda lib, x, w: lib.nn.Conv2d(4, 6, 3, stride=2, padding="same"),
    lambda lib, x, w: lib.nn.Conv2d(4, 6, 3, padding_mode="mirror"),
    lambda lib, x, w: lib.nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"),
    lambda lib, x, w: lib.nn.Conv2d(4, 6, 3, groups=0),
])
def test_errors_like_torch(call):
    (cx, cw), (tx, tw) = _leaves([X, W], "float64", 0)
    _raises_like_torch(lambda: call(ctorch, cx, cw), lambda: call(torch, tx, tw))


def test_error_messages():
    x, w = ctorch.randn(2, 4, 5, 5), ctorch.randn(6, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"\[conv2d\] Given groups=1, weight of size \[6, 3, 3, 3\], "
                       r"expected input\[2, 4, 5, 5\] to have 3 channels, but got 4 channels instead"):
        ctorch.conv2d(x, w)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"):
        ctorch.conv2d(x[0, 0], w)
    with pytest.raises(RuntimeError, match=r"Kernel size: \(7 x 7\). Kernel size can't be greater"):
        ctorch.conv2d(x, ctorch.randn(6, 4, 7, 7))


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_conv_matches_torch(dtype):
    rng = np.random.default_rng(0)
    a, w = rng.integers(0, 9, (2, 3, 6, 5)), rng.integers(0, 9, (4, 3, 3, 2))
    yc = ctorch.conv2d(ctorch.from_numpy(a).to(getattr(ctorch, dtype)),
                       ctorch.from_numpy(w).to(getattr(ctorch, dtype)), stride=(1, 2), padding=1)
    yt = torch.conv2d(torch.from_numpy(a).to(getattr(torch, dtype)),
                      torch.from_numpy(w).to(getattr(torch, dtype)), stride=(1, 2), padding=1)
    assert yc.dtype == getattr(ctorch, dtype)
    np.testing.assert_array_equal(yc.numpy(), yt.numpy())  # uint8 wraps like PyTorch's


def test_bool_conv_is_not_implemented():
    x, w = ctorch.ones(1, 2, 4, 4, dtype=ctorch.bool), ctorch.ones(3, 2, 3, 3, dtype=ctorch.bool)
    with pytest.raises(NotImplementedError):
        ctorch.conv2d(x, w)


def test_thread_count_does_not_change_results():
    x = ctorch.randn(12, 3, 16, 16, dtype=ctorch.float64, requires_grad=True)
    w = ctorch.randn(8, 3, 3, 3, dtype=ctorch.float64, requires_grad=True)
    n = ctorch.get_num_threads()
    res = []
    try:
        for t in (1, 2):
            ctorch.set_num_threads(t)
            y = ctorch.conv2d(x, w, padding=1)
            gx, gw = ctorch.autograd.grad(y.pow(2).sum(), (x, w))
            res.append((y, gx, gw))
    finally:
        ctorch.set_num_threads(n)
    for a, b in zip(*res):
        _close(a, b)
