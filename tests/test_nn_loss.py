"""Tests for the nn losses (functional forms and modules), compared with PyTorch on the same random
float64 inputs: loss values, input gradients and target gradients where PyTorch has them, every
reduction and option; error cases must raise PyTorch's exception class."""
import warnings

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F
from conftest import DEVICES, compare_module_on_device, compare_on_device

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-10, 1e-12
REDUCTIONS = ["none", "mean", "sum"]


def _rng(seed):
    return np.random.default_rng(seed)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _convert(lib, v, grad=False):
    """A NumPy array as a fresh tensor of lib (ctorch or torch); other values pass through."""
    if not isinstance(v, np.ndarray):
        return v
    t = (ctorch if lib is ctorch else torch).from_numpy(v.copy())
    if grad:
        t.requires_grad_(True)
    return t


def _run(lib, fn, args, grads, kwargs, seed):
    """fn(*args, **kwargs) in lib, then backward with a fixed random cotangent of the output's shape:
    returns (value, [grad of each args[i] for i in grads])."""
    a = [_convert(lib, v, i in grads) for i, v in enumerate(args)]
    kw = {k: _convert(lib, v) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # size / kl 'mean' warnings are checked separately
        out = fn(*a, **kw)
    cot = _rng(seed).standard_normal(tuple(out.shape))
    out_np = out.detach().numpy().copy()
    if not grads:
        return out_np, []
    (out * _convert(lib, cot)).sum().backward()
    return out_np, [a[i].grad.numpy().copy() for i in grads]


def _compare_on_device(fname, mname, args, grads, kwargs, module_kwargs, device):
    """Functional fname and (if mname) module mname on `device` against the CPU."""
    a = [_convert(ctorch, v, i in grads) for i, v in enumerate(args)]
    names = [k for k, v in kwargs.items() if isinstance(v, np.ndarray)]  # tensor keywords (weights)
    other = {k: v for k, v in kwargs.items() if k not in names}
    fn = getattr(F, fname)

    def call(*xs):  # every tensor is an input, so compare_on_device moves it
        return fn(*xs[:len(a)], **dict(zip(names, xs[len(a):])), **other)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_on_device(call, a + [_convert(ctorch, kwargs[k]) for k in names], device)
        if mname:
            mk = kwargs if module_kwargs is None else module_kwargs
            cm = getattr(nn, mname)(**{k: _convert(ctorch, v) for k, v in mk.items()})
            compare_module_on_device(cm, [_convert(ctorch, v, i in grads) for i, v in enumerate(args)], device)


def _compare(fname, mname, args, grads=(0,), kwargs=None, module_kwargs=None, seed=0, device="cpu"):
    """Functional fname and (if mname) module mname against torch: value and the listed gradients.
    On another device: the same calls against the CPU."""
    kwargs = kwargs or {}
    if device != "cpu":
        return _compare_on_device(fname, mname, args, grads, kwargs, module_kwargs, device)
    pairs = [(getattr(F, fname), getattr(torch.nn.functional, fname), kwargs)]
    if mname:
        mk = kwargs if module_kwargs is None else module_kwargs
        cm = getattr(nn, mname)(**{k: _convert(ctorch, v) for k, v in mk.items()})
        tm = getattr(torch.nn, mname)(**{k: _convert(torch, v) for k, v in mk.items()})
        pairs.append((cm, tm, {}))
    for cfn, tfn, kw in pairs:
        cv, cg = _run(ctorch, cfn, args, grads, kw, seed)
        tv, tg = _run(torch, tfn, args, grads, kw, seed)
        assert cv.shape == tv.shape, (cv.shape, tv.shape)
        np.testing.assert_allclose(cv, tv, rtol=RTOL, atol=ATOL)
        for i, (c, t) in zip(grads, zip(cg, tg)):
            assert c.shape == t.shape
            np.testing.assert_allclose(c, t, rtol=RTOL, atol=ATOL, err_msg=f"grad of argument {i}")


# ------------------------------------------------------------------------------- regression losses

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fname,mname", [("mse_loss", "MSELoss"), ("l1_loss", "L1Loss")])
@pytest.mark.parametrize("device", DEVICES)
def test_mse_l1(fname, mname, reduction, device):
    r = _rng(1)
    x, y = r.standard_normal((3, 4)), r.standard_normal((3, 4))
    _compare(fname, mname, [x, y], (0, 1), {"reduction": reduction}, device=device)
    # broadcast target (PyTorch warns and broadcasts)
    _compare(fname, mname, [x, r.standard_normal(4)], (0, 1), {"reduction": reduction}, device=device)
    # 2.x functional weight: 'mean' divides by the weight sum
    w = r.uniform(0.1, 2.0, (3, 4))
    _compare(fname, None, [x, y], (0, 1), {"reduction": reduction, "weight": w}, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0, 2.0])
@pytest.mark.parametrize("device", DEVICES)
def test_smooth_l1(reduction, beta, device):
    r = _rng(2)
    x, y = 2 * r.standard_normal((4, 5)), r.standard_normal((4, 5))
    _compare("smooth_l1_loss", "SmoothL1Loss", [x, y], (0, 1), {"reduction": reduction, "beta": beta}, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
@pytest.mark.parametrize("device", DEVICES)
def test_huber(reduction, delta, device):
    r = _rng(3)
    x, y = 2 * r.standard_normal((4, 5)), r.standard_normal((4, 5))
    _compare("huber_loss", "HuberLoss", [x, y], (0, 1), {"reduction": reduction, "delta": delta}, device=device)
    w = r.uniform(0.1, 2.0, (4, 5))  # functional weight: 'mean' is the plain mean of w * loss
    _compare("huber_loss", None, [x, y], (0, 1), {"reduction": reduction, "delta": delta, "weight": w}, device=device)


@pytest.mark.parametrize("fname", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weight_gradient(fname, reduction):
    # the 2.x elementwise weight is differentiable too (PyTorch composes these in Python)
    r = _rng(16)
    x, y, w = r.standard_normal((3, 4)), r.standard_normal((3, 4)), r.uniform(0.1, 2.0, (3, 4))
    res = []
    for lib, fns in ((ctorch, F), (torch, torch.nn.functional)):
        wt = _convert(lib, w, grad=True)
        out = getattr(fns, fname)(_convert(lib, x), _convert(lib, y), reduction=reduction, weight=wt)
        out.sum().backward()
        res.append((out.detach().numpy(), wt.grad.numpy()))
    for c, t in zip(*res):
        np.testing.assert_allclose(c, t, rtol=RTOL, atol=ATOL)


def test_size_warning():
    x, y = ctorch.randn(3, 4), ctorch.randn(4)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(x, ctorch.randn(3, 4))


# ---------------------------------------------------------------------------- classification losses

def _class_targets(r, shape, n_classes, ignore_index=None):
    t = r.integers(0, n_classes, shape).astype(np.int64)
    if ignore_index is not None:
        flat = t.reshape(-1)
        flat[::3] = ignore_index  # some targets ignored (every third)
    return t


def _grads_for(tshape):
    # PyTorch 2.13's backward fails for an unbatched input with a 1-element 1-D target (its forward
    # works): compare values only there
    return () if tshape == (1,) else (0,)


# (input shape, target shape): unbatched (0-d and 1-element target), 2-D, 3-D, 4-D, 5-D
CLASS_SHAPES = [((5,), ()), ((5,), (1,)), ((6, 5), (6,)), ((3, 5, 4), (3, 4)), ((2, 5, 3, 2), (2, 3, 2)),
                ((2, 5, 2, 2, 2), (2, 2, 2, 2))]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=lambda s: f"{len(s[0])}d")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [None, -100, 2])
@pytest.mark.parametrize("device", DEVICES)
def test_nll_loss(reduction, shapes, weighted, ignore_index, device):
    r = _rng(4)
    ishape, tshape = shapes
    cdim = 0 if len(ishape) == 1 else 1
    x = np.log(_softmax(r.standard_normal(ishape), cdim))
    t = _class_targets(r, tshape, 5, ignore_index if len(tshape) else None)
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = r.uniform(0.2, 2.0, 5)
    if ignore_index is not None:
        kw["ignore_index"] = ignore_index
    _compare("nll_loss", "NLLLoss", [x, t], _grads_for(tshape), kw, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=lambda s: f"{len(s[0])}d")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 1])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy_indices(reduction, shapes, weighted, ignore_index, label_smoothing, device):
    r = _rng(5)
    ishape, tshape = shapes
    if tshape == (1,) and label_smoothing:
        pytest.skip("PyTorch 2.13's own forward fails here (a shape [] vs [1] broadcast error)")
    x = 2 * r.standard_normal(ishape)
    t = _class_targets(r, tshape, 5, ignore_index if len(tshape) else None)
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    if weighted:
        kw["weight"] = r.uniform(0.2, 2.0, 5)
    if ignore_index is not None:
        kw["ignore_index"] = ignore_index
    _compare("cross_entropy", "CrossEntropyLoss", [x, t], _grads_for(tshape), kw, device=device)


def test_cross_entropy_default_ignore_and_uint8():
    r = _rng(6)
    x = r.standard_normal((6, 4))
    t = _class_targets(r, (6,), 4, -100)  # the default ignore_index present in the targets
    for red in REDUCTIONS:
        _compare("cross_entropy", "CrossEntropyLoss", [x, t], (0,), {"reduction": red})
        _compare("cross_entropy", None, [x, t], (0,), {"reduction": red, "weight": r.uniform(0.5, 2, 4),
                                                       "label_smoothing": 0.1})
    # Byte targets are accepted like Long
    _compare("cross_entropy", None, [x, r.integers(0, 4, 6).astype(np.uint8)], (0,), {})
    # every target ignored: 'mean' is 0 / 0 = NaN, as in PyTorch
    v = F.cross_entropy(ctorch.from_numpy(x), ctorch.full((6,), -100, dtype=ctorch.int64))
    assert np.isnan(v.item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ishape", [(5,), (6, 5), (3, 5, 4), (2, 5, 3, 2)], ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy_probabilities(reduction, ishape, weighted, label_smoothing, device):
    r = _rng(7)
    cdim = 0 if len(ishape) == 1 else 1
    x = 2 * r.standard_normal(ishape)
    p = _softmax(r.standard_normal(ishape), cdim)
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    if weighted:
        kw["weight"] = r.uniform(0.2, 2.0, 5)
    _compare("cross_entropy", "CrossEntropyLoss", [x, p], (0, 1), kw, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape,wshape", [((6,), (6,)), ((4, 3), (3,)), ((2, 3, 4), (3, 1)),
                                          ((4, 3), (4, 3))])
@pytest.mark.parametrize("device", DEVICES)
def test_bce(reduction, weighted, shape, wshape, device):
    r = _rng(8)
    x, y = r.uniform(0.02, 0.98, shape), r.uniform(0, 1, shape)
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = r.uniform(0.2, 2.0, wshape)
    _compare("binary_cross_entropy", "BCELoss", [x, y], (0, 1), kw, device=device)


def test_bce_log_clamp():
    # log(0) is clamped at -100: input 0 with target 1 costs 100, not inf
    x = ctorch.tensor([0.0, 1.0, 0.5], dtype=ctorch.float64)
    y = ctorch.tensor([1.0, 0.0, 1.0], dtype=ctorch.float64)
    tv = torch.nn.functional.binary_cross_entropy(torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64),
                                                  torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64),
                                                  reduction="none")
    np.testing.assert_allclose(F.binary_cross_entropy(x, y, reduction="none").numpy(), tv.numpy(),
                               rtol=RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, (4,), (3, 4)])
@pytest.mark.parametrize("pos_weight", [None, (4,), (3, 4)])
@pytest.mark.parametrize("device", DEVICES)
def test_bce_with_logits(reduction, weight, pos_weight, device):
    r = _rng(9)
    x, y = 4 * r.standard_normal((3, 4)), r.uniform(0, 1, (3, 4))
    kw = {"reduction": reduction}
    if weight is not None:
        kw["weight"] = r.uniform(0.2, 2.0, weight)
    if pos_weight is not None:
        kw["pos_weight"] = r.uniform(0.2, 3.0, pos_weight)  # (4,) broadcasts over the batch
    _compare("binary_cross_entropy_with_logits", "BCEWithLogitsLoss", [x, y], (0, 1), kw, device=device)


def test_bce_with_logits_stable():
    # large logits: no overflow, and the same values/gradients as PyTorch
    x = np.array([-800.0, -50.0, 0.0, 50.0, 800.0])
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    _compare("binary_cross_entropy_with_logits", None, [x, y], (0, 1), {"reduction": "none"})
    _compare("binary_cross_entropy_with_logits", None, [x, y], (0, 1),
             {"reduction": "sum", "pos_weight": np.array([2.0])})


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    r = _rng(10)
    x = np.log(_softmax(r.standard_normal((4, 5)), 1))
    p = _softmax(r.standard_normal((4, 5)), 1)
    t = np.log(p) if log_target else p
    _compare("kl_div", "KLDivLoss", [x, t], (0, 1), {"reduction": reduction, "log_target": log_target})
    # zeros in the target contribute 0 (xlogy), values and input gradients still match
    z = p.copy()
    z[0, 1] = z[2, 3] = 0.0
    if not log_target:
        _compare("kl_div", None, [x, z], (0,), {"reduction": reduction})


def test_kl_div_mean_warns():
    x = ctorch.randn(2, 3)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, x.exp())
    # batchmean of a 0-d input is the plain sum
    _compare("kl_div", None, [np.array(-0.4), np.array(0.3)], (0, 1), {"reduction": "batchmean"})


def test_empty_batch_and_float32():
    # an empty batch: 'mean' is NaN (0 / 0) like PyTorch, 'sum' is 0
    for target in (ctorch.zeros(0, dtype=ctorch.int64), ctorch.zeros(0, 5)):
        x = ctorch.zeros(0, 5)
        assert np.isnan(F.cross_entropy(x, target).item())
        assert F.cross_entropy(x, target, reduction="sum").item() == 0.0
        assert tuple(F.cross_entropy(x, target, reduction="none").shape) == (0,)
    # float32 follows PyTorch to float32 rounding
    r = _rng(15)
    x, t = r.standard_normal((4, 3)).astype(np.float32), r.integers(0, 3, 4)
    cv = F.cross_entropy(ctorch.from_numpy(x), ctorch.from_numpy(t), label_smoothing=0.1)
    tv = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), label_smoothing=0.1)
    assert cv.dtype == ctorch.float32
    np.testing.assert_allclose(cv.item(), tv.item(), rtol=1e-5)
    y = r.uniform(0, 1, (4, 3)).astype(np.float32)
    cv = F.binary_cross_entropy_with_logits(ctorch.from_numpy(x), ctorch.from_numpy(y))
    tv = torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(x), torch.from_numpy(y))
    assert cv.dtype == ctorch.float32
    np.testing.assert_allclose(cv.item(), tv.item(), rtol=1e-5)


# ----------------------------------------------------------------------------- embedding losses

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
def test_cosine_embedding(reduction, margin):
    r = _rng(11)
    a, b = r.standard_normal((6, 4)), r.standard_normal((6, 4))
    t = np.array([1.0, -1.0, 1.0, -1.0, -1.0, 0.0])  # 0: neither branch, loss 0
    _compare("cosine_embedding_loss", "CosineEmbeddingLoss", [a, b, t], (0, 1),
             {"reduction": reduction, "margin": margin})
    # unbatched: 1-D inputs with a 0-d target
    for tv in (1.0, -1.0):
        _compare("cosine_embedding_loss", "CosineEmbeddingLoss", [a[0], a[0] + 0.5 * b[0], np.array(tv)],
                 (0, 1), {"reduction": reduction, "margin": margin})


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking(reduction, margin):
    r = _rng(12)
    a, b = r.standard_normal(8), r.standard_normal(8)
    t = np.where(r.uniform(size=8) > 0.5, 1.0, -1.0)
    _compare("margin_ranking_loss", "MarginRankingLoss", [a, b, t], (0, 1, 2),
             {"reduction": reduction, "margin": margin})


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("margin", [1.0, 3.0])
def test_triplet_margin(reduction, p, swap, margin):
    r = _rng(13)
    a, pos, neg = (r.standard_normal((6, 4)) for _ in range(3))
    kw = {"reduction": reduction, "p": p, "swap": swap, "margin": margin}
    _compare("triplet_margin_loss", "TripletMarginLoss", [a, pos, neg], (0, 1, 2), kw)
    # 1-D (unbatched) inputs, and a positive broadcast over the batch
    _compare("triplet_margin_loss", "TripletMarginLoss", [a[0], pos[0], neg[0]], (0, 1, 2), kw)
    _compare("triplet_margin_loss", "TripletMarginLoss", [a, pos[:1], neg], (0, 1, 2), kw)
    _compare("triplet_margin_loss", None, [a, pos, neg], (0, 1, 2), dict(kw, eps=1e-3))


# ------------------------------------------------------------------------------ modules

def test_module_reprs_buffers_and_legacy_args():
    for name in nn.modules.loss.__all__:
        m = getattr(nn, name)()
        assert repr(m) == repr(getattr(torch.nn, name)()) == f"{name}()"
        assert m.reduction == "mean"
    w = ctorch.ones(3)
    m = nn.CrossEntropyLoss(weight=w, ignore_index=2, label_smoothing=0.1)
    assert list(m.state_dict()) == ["weight"] and m.weight is w
    assert (m.ignore_index, m.label_smoothing) == (2, 0.1)
    assert list(nn.BCEWithLogitsLoss(pos_weight=w).state_dict()) == ["pos_weight"]
    assert nn.HuberLoss(delta=2.0).delta == 2.0 and nn.SmoothL1Loss(beta=0.5).beta == 0.5
    t = nn.TripletMarginLoss(margin=2.0, p=1.0, eps=1e-3, swap=True)
    assert (t.margin, t.p, t.eps, t.swap) == (2.0, 1.0, 1e-3, True)
    # the deprecated size_average / reduce pair maps onto reduction (with PyTorch's warning)
    for sa, rd, expect in [(False, None, "sum"), (None, False, "none"), (True, True, "mean")]:
        with pytest.warns(UserWarning, match="deprecated"):
            assert nn.MSELoss(size_average=sa, reduce=rd).reduction == expect
        with pytest.warns(UserWarning):
            assert torch.nn.MSELoss(size_average=sa, reduce=rd).reduction == expect
    with pytest.warns(UserWarning):
        v = F.l1_loss(ctorch.ones(2, 2), ctorch.zeros(2, 2), size_average=False)
    assert v.item() == 4.0


def test_module_in_training_step():
    # a loss module drives a Linear layer's gradients like PyTorch's
    r = _rng(14)
    w, b = r.standard_normal((3, 4)), r.standard_normal(3)
    x, t = r.standard_normal((5, 4)), r.integers(0, 3, 5)
    cl = nn.Linear(4, 3).double()
    tl = torch.nn.Linear(4, 3).double()
    with ctorch.no_grad():
        cl.weight.copy_(ctorch.from_numpy(w))
        cl.bias.copy_(ctorch.from_numpy(b))
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(w))
        tl.bias.copy_(torch.from_numpy(b))
    nn.CrossEntropyLoss(label_smoothing=0.1)(cl(ctorch.from_numpy(x)), ctorch.from_numpy(t)).backward()
    torch.nn.CrossEntropyLoss(label_smoothing=0.1)(tl(torch.from_numpy(x)), torch.from_numpy(t)).backward()
    np.testing.assert_allclose(cl.weight.grad.numpy(), tl.weight.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(cl.bias.grad.numpy(), tl.bias.grad.numpy(), rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------------------ errors

def _f64(*shape):
    return np.zeros(shape) + 0.25


def _long(*vals, shape=None):
    a = np.array(vals, dtype=np.int64)
    return a.reshape(shape) if shape is not None else a


ERROR_CASES = [
    # name, function, args, kwargs
    ("batch mismatch", "cross_entropy", [_f64(3, 5), _long(1, 2)], {}),
    ("1-d input, 2-element target", "cross_entropy", [_f64(5), _long(1, 2)], {}),
    ("integer input", "cross_entropy", [np.zeros((3, 5), np.int64), _long(1, 2, 3)], {}),
    ("0-d input", "nll_loss", [np.array(1.0), np.array(0)], {}),
    ("0-d target, 2-d input", "cross_entropy", [_f64(3, 5), np.array(1)], {}),
    ("float target", "cross_entropy", [_f64(3, 5), np.array([1.0, 2.0, 3.0])], {}),
    ("int32 target", "nll_loss", [_f64(3, 5), np.array([1, 2, 3], dtype=np.int32)], {}),
    ("target out of range", "cross_entropy", [_f64(3, 5), _long(1, 5, 3)], {}),
    ("negative target", "nll_loss", [_f64(3, 5), _long(1, -1, 3)], {}),
    ("out of range 4-d", "cross_entropy", [_f64(2, 3, 2, 2), np.full((2, 2, 2), 5, np.int64)], {}),
    ("out of range 3-d", "cross_entropy", [_f64(2, 3, 2), np.full((2, 2), 3, np.int64)], {}),
    ("out of range unbatched", "cross_entropy", [_f64(5), np.array(7)], {}),
    ("out of range with smoothing", "cross_entropy", [_f64(3, 5), _long(1, 9, 3)], {"label_smoothing": 0.1}),
    ("weight size", "cross_entropy", [_f64(3, 5), _long(1, 2, 3)], {"weight": np.ones(4)}),
    ("2-d target for 2-d input", "nll_loss", [_f64(3, 5), np.zeros((3, 2), np.int64)], {}),
    ("4-d input, 2-d target", "cross_entropy", [_f64(2, 3, 2, 2), np.zeros((2, 2), np.int64)], {}),
    ("4-d spatial mismatch", "cross_entropy", [_f64(2, 3, 2, 2), np.zeros((2, 2, 3), np.int64)], {}),
    ("3-d spatial mismatch", "cross_entropy", [_f64(2, 3, 2), np.zeros((2, 3), np.int64)], {}),
    ("5-d spatial mismatch", "cross_entropy", [_f64(2, 3, 2, 2, 2), np.zeros((2, 2, 2, 3), np.int64)], {}),
    ("probabilities of integer dtype", "cross_entropy", [_f64(3, 5), np.zeros((3, 5), np.int64)], {}),
    ("probabilities with ignore_index", "cross_entropy", [_f64(3, 5), _f64(3, 5)], {"ignore_index": 1}),
    ("label_smoothing > 1", "cross_entropy", [_f64(3, 5), _long(1, 2, 3)], {"label_smoothing": 1.5}),
    ("bad reduction", "cross_entropy", [_f64(3, 5), _long(1, 2, 3)], {"reduction": "foo"}),
    ("batchmean outside kl_div", "cross_entropy", [_f64(3, 5), _long(1, 2, 3)], {"reduction": "batchmean"}),
    ("bad reduction mse", "mse_loss", [_f64(3), _f64(3)], {"reduction": "foo"}),
    ("bad reduction kl", "kl_div", [_f64(3), _f64(3)], {"reduction": "foo"}),
    ("bad reduction triplet", "triplet_margin_loss", [_f64(2, 3)] * 3, {"reduction": "foo"}),
    ("mse weight size", "mse_loss", [_f64(3, 4), _f64(3, 4)], {"weight": np.ones(4)}),
    ("mse not broadcastable", "mse_loss", [_f64(3, 5), _f64(4)], {}),
    ("bce size", "binary_cross_entropy", [_f64(3), _f64(3, 1)], {}),
    ("bce range", "binary_cross_entropy", [np.array([1.5]), np.array([0.5])], {}),
    ("bce integer target", "binary_cross_entropy", [_f64(3), np.ones(3, np.int64)], {}),
    ("bce weight not broadcastable", "binary_cross_entropy", [_f64(3, 5), _f64(3, 5)],
     {"weight": np.ones(4)}),
    ("bce logits size", "binary_cross_entropy_with_logits", [_f64(3), _f64(3, 1)], {}),
    ("pos_weight not broadcastable", "binary_cross_entropy_with_logits", [_f64(3, 5), _f64(3, 5)],
     {"pos_weight": np.ones(4)}),
    ("smooth_l1 negative beta", "smooth_l1_loss", [_f64(3), _f64(3)], {"beta": -1.0}),
    ("huber zero delta", "huber_loss", [_f64(3), _f64(3)], {"delta": 0.0}),
    ("cosine 2-d target", "cosine_embedding_loss", [_f64(3, 5), _f64(3, 5), np.ones((3, 1))], {}),
    ("cosine 1-d target, 1-d inputs", "cosine_embedding_loss", [_f64(5), _f64(5), np.ones(3)], {}),
    ("cosine 0-d target, 2-d inputs", "cosine_embedding_loss", [_f64(3, 5), _f64(3, 5), np.array(1.0)], {}),
    ("cosine batch mismatch", "cosine_embedding_loss", [_f64(3, 5), _f64(2, 5), np.ones(3)], {}),
    ("margin ranking dims", "margin_ranking_loss", [_f64(3), _f64(3), np.ones((3, 1))], {}),
    ("triplet dims", "triplet_margin_loss", [_f64(3, 4), _f64(3, 4), _f64(4)], {}),
    ("triplet margin", "triplet_margin_loss", [_f64(3, 4)] * 3, {"margin": 0.0}),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors(case):
    _, fname, args, kwargs = case

    def call(lib, fns):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(fns, fname)(*[_convert(lib, a) for a in args],
                                **{k: _convert(lib, v) for k, v in kwargs.items()})

    with pytest.raises(Exception) as texc:
        call(torch, torch.nn.functional)
    with pytest.raises(Exception) as cexc:
        call(ctorch, F)
    assert cexc.type is texc.type, (cexc.value, texc.value)


def test_error_messages():
    with pytest.raises(ValueError,
                       match=r"^Expected input batch_size \(3\) to match target batch_size \(2\)\.$"):
        F.cross_entropy(ctorch.zeros(3, 5), ctorch.tensor([1, 2]))
    with pytest.raises(IndexError, match="^Target 5 is out of bounds.$"):
        F.nll_loss(ctorch.zeros(3, 5), ctorch.tensor([1, 5, 0]))
    with pytest.raises(ValueError, match="^foo is not a valid value for reduction$"):
        nn.L1Loss(reduction="foo")(ctorch.zeros(2), ctorch.zeros(2))
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=-1.0)
    # an ignored target may hold any value, in or out of range
    v = F.cross_entropy(ctorch.zeros(3, 5), ctorch.tensor([1, 7, 0]), ignore_index=7)
    assert abs(v.item() - np.log(5)) < 1e-6
