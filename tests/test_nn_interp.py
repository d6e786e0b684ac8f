"""Tests for F.interpolate / nn.Upsample* and F.unfold / F.fold / nn.Unfold / nn.Fold: outputs and input
gradients compared with PyTorch (float64), error classes, module reprs."""
import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F
from conftest import DEVICES, compare_on_device

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    return ctorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _check(cfn, tfn, shape, seed=0, exact=False, device="cpu"):
    """Output and input gradient (with a random upstream gradient) agree with torch; on another
    device, with cfn on the CPU."""
    a, b = _pair(shape, seed)
    if device != "cpu":
        compare_on_device(cfn, [a], device, seed=seed)
        return
    out_c, out_t = cfn(a), tfn(b)
    assert tuple(out_c.shape) == tuple(out_t.shape)
    tol = 0 if exact else 1e-12
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), atol=tol, rtol=tol)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(out_t.shape))
    out_c.backward(ctorch.tensor(g))
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12, rtol=1e-12)


# ---------------------------------------------------------------- interpolate

NEAREST_CASES = [
    ((2, 3, 5), dict(size=9)),
    ((2, 3, 8), dict(size=3)),
    ((1, 2, 4), dict(scale_factor=2)),
    ((1, 2, 7), dict(scale_factor=1.7)),
    ((1, 2, 7), dict(scale_factor=0.45)),
    ((2, 2, 4, 5), dict(size=(7, 3))),
    ((2, 2, 4, 5), dict(scale_factor=(2.5, 0.7))),
    ((2, 2, 6, 6), dict(scale_factor=1.3, recompute_scale_factor=True)),
    ((1, 2, 3, 4, 5), dict(size=(5, 2, 9))),
    ((1, 2, 3, 4, 5), dict(scale_factor=1.5)),
]


@pytest.mark.parametrize("shape,kw", NEAREST_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_interpolate_nearest(shape, kw, device):
    _check(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), shape, exact=True, device=device)


LINEAR_CASES = [
    ((2, 3, 5), dict(size=9, mode="linear")),
    ((2, 3, 9), dict(size=4, mode="linear")),
    ((1, 2, 6), dict(scale_factor=1.7, mode="linear")),
    ((1, 2, 6), dict(scale_factor=0.4, mode="linear")),
    ((1, 2, 6), dict(size=1, mode="linear")),
    ((2, 2, 4, 5), dict(size=(7, 3), mode="bilinear")),
    ((2, 2, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ((2, 2, 6, 7), dict(scale_factor=(1.6, 0.55), mode="bilinear")),
    ((1, 3, 8, 8), dict(size=(3, 5), mode="bilinear")),
    ((1, 1, 5, 5), dict(size=(1, 4), mode="bilinear")),
    ((2, 2, 6, 6), dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True)),
]


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("shape,kw", LINEAR_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_interpolate_linear(shape, kw, align, device):
    _check(lambda x: F.interpolate(x, align_corners=align, **kw),
           lambda x: TF.interpolate(x, align_corners=align, **kw), shape, device=device)


# PyTorch's CPU kernels: 1-D / 3-D nearest round in the input's opmath type, 2-D nearest in float32 with
# shortcuts for out == in and out == 2 * in; linear kernels leave an unchanged-size dim as is
KERNEL_RULE_CASES = [
    ((1, 2, 26), dict(size=22)),
    ((1, 2, 5), dict(scale_factor=2.105)),
    ((2, 3, 5, 6), dict(scale_factor=(2.105, 1.01))),
    ((2, 3, 6, 5), dict(scale_factor=(0.8565, 2.1053))),
    ((1, 2, 5, 4, 5), dict(scale_factor=(0.4419, 1.2001, 1.6476))),
    ((1, 2, 8), dict(scale_factor=1.1, mode="linear")),
    ((1, 2, 8, 8), dict(scale_factor=(1.1, 1.3), mode="bilinear")),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,kw", KERNEL_RULE_CASES)
def test_interpolate_kernel_rules(shape, kw, dtype):
    x = np.random.default_rng(5).standard_normal(shape).astype(dtype)
    c = F.interpolate(ctorch.tensor(x), **kw)
    t = TF.interpolate(torch.tensor(x), **kw)
    assert tuple(c.shape) == tuple(t.shape)
    np.testing.assert_allclose(c.numpy(), t.numpy(), atol=1e-6)


def test_interpolate_default_align_corners_is_false():
    _check(lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
           lambda x: TF.interpolate(x, scale_factor=1.5, mode="bilinear"), (1, 2, 4, 4))


def test_interpolate_float32():
    x = np.random.default_rng(3).standard_normal((1, 2, 5, 6)).astype(np.float32)
    for kw in (dict(scale_factor=1.37), dict(size=(9, 4), mode="bilinear")):
        c = F.interpolate(ctorch.tensor(x), **kw)
        t = TF.interpolate(torch.tensor(x), **kw)
        assert c.dtype == ctorch.float32
        np.testing.assert_allclose(c.numpy(), t.numpy(), atol=1e-6)


def test_interpolate_errors():
    x = ctorch.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError):
        F.interpolate(x, size=(2, 2), scale_factor=2)
    with pytest.raises(ValueError):
        F.interpolate(x)
    with pytest.raises(ValueError):
        F.interpolate(x, size=2, align_corners=True)
    with pytest.raises(ValueError):
        F.interpolate(x, size=(2, 2, 2))
    with pytest.raises(ValueError):
        F.interpolate(x, scale_factor=(2, 2, 2))
    with pytest.raises(NotImplementedError):
        F.interpolate(x, size=3, mode="linear")
    with pytest.raises(NotImplementedError):
        F.interpolate(ctorch.zeros((1, 1, 4)), size=3, mode="bilinear")
    with pytest.raises(NotImplementedError):
        F.interpolate(ctorch.zeros((4, 4)), size=3)
    with pytest.raises(NotImplementedError):
        F.interpolate(x, size=3, mode="bicubic")
    # the same classes in torch
    tx = torch.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError):
        TF.interpolate(tx, size=(2, 2), scale_factor=2)
    with pytest.raises(ValueError):
        TF.interpolate(tx, size=2, align_corners=True)
    with pytest.raises(NotImplementedError):
        TF.interpolate(tx, size=3, mode="linear")


def test_upsample_modules():
    m = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    tm = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    assert repr(m) == repr(tm) == "Upsample(scale_factor=2.0, mode='bilinear')"
    _check(m, tm, (1, 2, 3, 4))
    m, tm = nn.Upsample(size=(5, 3)), torch.nn.Upsample(size=(5, 3))
    assert repr(m) == repr(tm)
    _check(m, tm, (2, 1, 3, 4), exact=True)
    m, tm = nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)
    assert repr(m) == repr(tm)
    _check(m, tm, (1, 2, 3, 4), exact=True)
    m, tm = nn.UpsamplingBilinear2d(size=(7, 6)), torch.nn.UpsamplingBilinear2d(size=(7, 6))
    assert m.align_corners is True and repr(m) == repr(tm)
    _check(m, tm, (1, 2, 3, 4))


# ---------------------------------------------------------------- unfold / fold

FOLD_CASES = [
    ((2, 3, 5, 5), dict(kernel_size=2)),
    ((2, 3, 6, 7), dict(kernel_size=(2, 3), stride=2)),
    ((1, 2, 6, 7), dict(kernel_size=3, padding=1)),
    ((1, 2, 7, 8), dict(kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(1, 3))),
    ((2, 1, 9, 9), dict(kernel_size=3, dilation=2, stride=2, padding=2)),
    ((1, 2, 4, 4), dict(kernel_size=4)),
]


@pytest.mark.parametrize("shape,kw", FOLD_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_unfold(shape, kw, device):
    _check(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw), shape, exact=True, device=device)


@pytest.mark.parametrize("shape,kw", FOLD_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_fold(shape, kw, device):
    L = TF.unfold(torch.zeros(shape, dtype=torch.float64), **kw).shape
    _check(lambda x: F.fold(x, shape[2:], **kw), lambda x: TF.fold(x, shape[2:], **kw), tuple(L), device=device)


@pytest.mark.parametrize("shape,kw", FOLD_CASES)
def test_fold_unfold_is_x_times_counts(shape, kw):
    a, _ = _pair(shape)
    counts = F.fold(F.unfold(ctorch.ones(shape, dtype=ctorch.float64), **kw), shape[2:], **kw)
    y = F.fold(F.unfold(a, **kw), shape[2:], **kw)
    np.testing.assert_allclose(y.detach().numpy(), (a * counts).detach().numpy(), atol=1e-12)
    assert float(counts.max()) >= 1


def test_unbatched():
    _check(lambda x: F.unfold(x, 2, stride=2), lambda x: TF.unfold(x, 2, stride=2), (3, 4, 6))
    _check(lambda x: F.fold(x, (4, 6), 2, stride=2), lambda x: TF.fold(x, (4, 6), 2, stride=2), (12, 6))


def test_fold_errors():
    with pytest.raises(RuntimeError):
        F.unfold(ctorch.zeros((2, 3)), 2)
    with pytest.raises(RuntimeError):
        F.unfold(ctorch.zeros((1, 1, 2, 2)), 3)
    with pytest.raises(RuntimeError):
        F.unfold(ctorch.zeros((1, 1, 4, 4)), 2, stride=0)
    with pytest.raises(RuntimeError):
        F.fold(ctorch.zeros((1, 5, 4)), (3, 3), 2)   # 5 not divisible by 4
    with pytest.raises(RuntimeError):
        F.fold(ctorch.zeros((1, 4, 5)), (3, 3), 2)   # 4 blocks expected
    with pytest.raises(RuntimeError):
        F.fold(ctorch.zeros(4), (3, 3), 2)
    with pytest.raises(RuntimeError):
        TF.fold(torch.zeros((1, 4, 5)), (3, 3), 2)


def test_fold_modules():
    m, tm = nn.Unfold((2, 3), padding=1, stride=2), torch.nn.Unfold((2, 3), padding=1, stride=2)
    assert repr(m) == repr(tm)
    _check(m, tm, (1, 2, 5, 6), exact=True)
    m, tm = nn.Fold((5, 6), (2, 3), padding=1, stride=2), torch.nn.Fold((5, 6), (2, 3), padding=1, stride=2)
    assert repr(m) == repr(tm)
    _check(m, tm, (1, 12, 9))
