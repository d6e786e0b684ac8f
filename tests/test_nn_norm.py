"""Tests for the normalization layers (LayerNorm, BatchNorm1d/2d, GroupNorm) and their functional forms,
compared with PyTorch on the same random float64 inputs and weights: outputs, input/weight/bias
gradients, running statistics over training steps, eval outputs, state_dict keys, reprs; error cases
must raise PyTorch's exception class."""
import copy

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F
from conftest import DEVICES, assert_close_devices, compare_module_on_device, to_device

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-9, 1e-11


def _pair(shape, seed):
    """The same random float64 array as a ctorch and a torch leaf requiring grad."""
    a = np.random.default_rng(seed).standard_normal(shape) * 2 + 0.5
    return (ctorch.from_numpy(a.copy()).requires_grad_(True),
            torch.from_numpy(a.copy()).requires_grad_(True))


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _close(a, b):
    np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL, atol=ATOL)


def _copy_params(cm, tm, seed):
    """Random weights/biases (same in both modules) so the affine part is exercised."""
    rng = np.random.default_rng(seed)
    for (cn, cp), (tn, tp) in zip(cm.named_parameters(), tm.named_parameters()):
        assert cn == tn
        a = rng.standard_normal(tuple(tp.shape))
        with ctorch.no_grad():
            cp.copy_(ctorch.from_numpy(a.copy()))
        with torch.no_grad():
            tp.copy_(torch.from_numpy(a.copy()))


def _check_fwd_bwd(cm, tm, shape, seed, device="cpu"):
    """Output, input gradient and parameter gradients of cm and tm on the same input and cotangent;
    on another device, cm there against cm on the CPU."""
    if device != "cpu":
        compare_module_on_device(cm, [_pair(shape, seed)[0]], device)
        return
    cx, tx = _pair(shape, seed)
    cy, ty = cm(cx), tm(tx)
    _close(cy, ty)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(ty.shape))
    cy.backward(ctorch.from_numpy(g.copy()))
    ty.backward(torch.from_numpy(g.copy()))
    _close(cx.grad, tx.grad)
    for (n, cp), (_, tp) in zip(cm.named_parameters(), tm.named_parameters()):
        assert (cp.grad is None) == (tp.grad is None), n
        if tp.grad is not None:
            _close(cp.grad, tp.grad)


# ---- LayerNorm

@pytest.mark.parametrize("shape,ns", [((4, 10), 10), ((3, 5, 6), (6,)), ((2, 3, 4, 5), (4, 5)),
                                      ((7, 2, 3), [2, 3])])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("device", DEVICES)
def test_layer_norm_module(shape, ns, affine, bias, device):
    cm = nn.LayerNorm(ns, eps=1e-5, elementwise_affine=affine, bias=bias).double()
    tm = torch.nn.LayerNorm(ns, eps=1e-5, elementwise_affine=affine, bias=bias).double()
    _copy_params(cm, tm, 3)
    assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    _check_fwd_bwd(cm, tm, shape, 11, device)
    assert repr(cm) == repr(tm)


def test_layer_norm_functional_and_defaults():
    cx, tx = _pair((3, 4, 5), 0)
    cw, tw = _pair((4, 5), 1)
    cb, tb = _pair((4, 5), 2)
    cy = F.layer_norm(cx, (4, 5), cw, cb, eps=1e-3)
    ty = torch.nn.functional.layer_norm(tx, (4, 5), tw, tb, eps=1e-3)
    _close(cy, ty)
    cy.sum().backward()
    ty.sum().backward()
    for c, t in [(cx, tx), (cw, tw), (cb, tb)]:
        _close(c.grad, t.grad)
    m = nn.LayerNorm(10)
    _close(m.weight, np.ones(10))
    _close(m.bias, np.zeros(10))
    assert repr(m) == "LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert list(m.state_dict()) == list(torch.nn.LayerNorm(10).state_dict())


def test_layer_norm_bad_shape():
    for lib in (ctorch, torch):
        msg = r"Given normalized_shape=\[5\], expected input with shape \[\*, 5\], but got input of size"
        with pytest.raises(RuntimeError, match=msg):
            lib.nn.LayerNorm(5)(lib.randn(3, 4))
        with pytest.raises(RuntimeError, match=r"normalized_shape=\[2, 3\]"):
            lib.nn.functional.layer_norm(lib.randn(3), (2, 3))


@pytest.mark.parametrize("name", ["LayerNorm", "BatchNorm1d", "GroupNorm"])
def test_float32_default_dtype(name):
    """Modules in their default float32 agree with PyTorch to float32 precision."""
    args = {"LayerNorm": (6,), "BatchNorm1d": (6,), "GroupNorm": (3, 6)}[name]
    cm, tm = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    a = np.random.default_rng(9).standard_normal((5, 6)).astype(np.float32)
    cy, ty = cm(ctorch.from_numpy(a.copy())), tm(torch.from_numpy(a.copy()))
    assert cy.dtype == ctorch.float32
    np.testing.assert_allclose(_np(cy), _np(ty), rtol=1e-4, atol=1e-5)


# ---- BatchNorm

BN_CASES = [(nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 5)),
            (nn.BatchNorm2d, torch.nn.BatchNorm2d, (2, 3, 4, 5))]


@pytest.mark.parametrize("ccls,tcls,shape", BN_CASES)
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"bias": False}])
@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_train_grads(ccls, tcls, shape, kw, device):
    cm, tm = ccls(3, **kw).double(), tcls(3, **kw).double()
    _copy_params(cm, tm, 5)
    _check_fwd_bwd(cm, tm, shape, 21, device)


@pytest.mark.parametrize("ccls,tcls,shape", BN_CASES)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_running_stats(ccls, tcls, shape, momentum, device):
    cm, tm = ccls(3, momentum=momentum).double(), tcls(3, momentum=momentum).double()
    _copy_params(cm, tm, 6)
    if device != "cpu":  # three training steps, then eval, on the device against the CPU
        dm = copy.deepcopy(cm).to(device)
        for step in range(3):
            cx = _pair(shape, 100 + step)[0]
            assert_close_devices(dm(to_device(cx, device)), cm(cx))
        for name, b in cm.named_buffers():
            assert_close_devices(getattr(dm, name), b, msg=name)
        cm.eval()
        compare_module_on_device(cm, [_pair(shape, 200)[0]], device)
        return
    for step in range(3):
        cx, tx = _pair(shape, 100 + step)
        _close(cm(cx), tm(tx))
    _close(cm.running_mean, tm.running_mean)
    _close(cm.running_var, tm.running_var)
    assert cm.num_batches_tracked.dtype == ctorch.int64
    assert cm.num_batches_tracked.dim() == 0
    assert cm.num_batches_tracked.item() == tm.num_batches_tracked.item() == 3
    assert not cm.running_mean.requires_grad and not cm.running_var.requires_grad
    cm.eval()
    tm.eval()
    _check_fwd_bwd(cm, tm, shape, 200)
    # eval leaves the running statistics alone
    _close(cm.running_mean, tm.running_mean)
    assert cm.num_batches_tracked.item() == 3


@pytest.mark.parametrize("ccls,tcls,shape", BN_CASES)
def test_batch_norm_no_running_stats(ccls, tcls, shape):
    cm = ccls(3, track_running_stats=False).double()
    tm = tcls(3, track_running_stats=False).double()
    assert cm.running_mean is None and cm.running_var is None and cm.num_batches_tracked is None
    assert list(cm.state_dict()) == list(tm.state_dict())
    _check_fwd_bwd(cm, tm, shape, 31)
    cm.eval()
    tm.eval()
    # no running stats: eval still normalizes with batch statistics
    _check_fwd_bwd(cm, tm, shape, 32)


def test_batch_norm_state_dict_and_repr():
    for ccls, tcls in [(nn.BatchNorm1d, torch.nn.BatchNorm1d), (nn.BatchNorm2d, torch.nn.BatchNorm2d)]:
        for kw in [{}, {"affine": False}, {"momentum": None, "eps": 1e-3}, {"track_running_stats": False},
                   {"bias": False}]:
            cm, tm = ccls(4, **kw), tcls(4, **kw)
            assert list(cm.state_dict()) == list(tm.state_dict())
            assert repr(cm) == repr(tm)
    m = nn.BatchNorm2d(4)
    _close(m.weight, np.ones(4))
    _close(m.bias, np.zeros(4))
    _close(m.running_mean, np.zeros(4))
    _close(m.running_var, np.ones(4))


def test_batch_norm_functional():
    cx, tx = _pair((6, 3, 4), 40)
    cw, tw = _pair((3,), 41)
    cb, tb = _pair((3,), 42)
    crm, crv = ctorch.zeros(3, dtype=ctorch.float64), ctorch.ones(3, dtype=ctorch.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    cy = F.batch_norm(cx, crm, crv, cw, cb, training=True, momentum=0.2, eps=1e-4)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.2, eps=1e-4)
    _close(cy, ty)
    _close(crm, trm)
    _close(crv, trv)
    (cy * cy).sum().backward()
    (ty * ty).sum().backward()
    for c, t in [(cx, tx), (cw, tw), (cb, tb)]:
        _close(c.grad, t.grad)
    cy = F.batch_norm(cx, crm, crv, cw, cb, training=False)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=False)
    _close(cy, ty)


def test_batch_norm_errors():
    for lib in (ctorch, torch):
        with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
            lib.nn.BatchNorm1d(3)(lib.randn(2, 3, 4, 5))
        with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
            lib.nn.BatchNorm2d(3)(lib.randn(2, 3, 4))
        with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
            lib.nn.BatchNorm1d(3)(lib.randn(1, 3))
        fb = lib.nn.functional.batch_norm
        with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
            fb(lib.randn(4, 3), lib.zeros(4), lib.ones(4), training=True)
        with pytest.raises(RuntimeError, match="weight should contain 3 elements not 2"):
            fb(lib.randn(4, 3), lib.zeros(3), lib.ones(3), lib.ones(2), training=True)
    # one value per channel is fine in eval (running statistics)
    m = nn.BatchNorm1d(3)
    m.eval()
    assert m(ctorch.randn(1, 3)).shape == (1, 3)


# ---- GroupNorm

@pytest.mark.parametrize("groups,shape", [(1, (4, 6)), (2, (3, 6, 5)), (3, (2, 6, 4, 3)), (6, (2, 6, 7))])
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"bias": False}])
@pytest.mark.parametrize("device", DEVICES)
def test_group_norm_module(groups, shape, kw, device):
    cm = nn.GroupNorm(groups, 6, eps=1e-4, **kw).double()
    tm = torch.nn.GroupNorm(groups, 6, eps=1e-4, **kw).double()
    _copy_params(cm, tm, 7)
    _check_fwd_bwd(cm, tm, shape, 51, device)
    assert repr(cm) == repr(tm)
    assert list(cm.state_dict()) == list(tm.state_dict())


def test_group_norm_functional_and_errors():
    cx, tx = _pair((2, 4, 3), 60)
    cw, tw = _pair((4,), 61)
    cb, tb = _pair((4,), 62)
    cy = F.group_norm(cx, 2, cw, cb)
    ty = torch.nn.functional.group_norm(tx, 2, tw, tb)
    _close(cy, ty)
    cy.sum().backward()
    ty.sum().backward()
    for c, t in [(cx, tx), (cw, tw), (cb, tb)]:
        _close(c.grad, t.grad)
    for lib in (ctorch, torch):
        with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
            lib.nn.GroupNorm(4, 6)
        with pytest.raises(RuntimeError):
            lib.nn.functional.group_norm(lib.randn(2, 6, 3), 4)
    m = nn.GroupNorm(2, 4)
    _close(m.weight, np.ones(4))
    _close(m.bias, np.zeros(4))
    assert repr(m) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"


def test_batch_norm_load_torch_state_dict():
    """A trained PyTorch BatchNorm2d's state_dict loads into ctorch's (same keys, shapes, dtypes) and
    gives the same eval outputs."""
    tm = torch.nn.BatchNorm2d(3).double()
    for step in range(2):
        tm(torch.from_numpy(np.random.default_rng(step).standard_normal((2, 3, 4, 4))))
    cm = nn.BatchNorm2d(3).double()
    cm.load_state_dict({k: ctorch.from_numpy(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})
    assert cm.num_batches_tracked.item() == 2
    assert cm.num_batches_tracked.dtype == ctorch.int64
    cm.eval()
    tm.eval()
    _check_fwd_bwd(cm, tm, (2, 3, 4, 4), 77)
