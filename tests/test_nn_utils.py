"""Tests for ctorch.nn.utils (clip_grad, convert_parameters, rnn.pad_sequence), dropout, pad, normalize,
cosine_similarity, glu, softmin and Embedding, compared with PyTorch where results are deterministic."""
import math

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F

torch = pytest.importorskip("torch")


def _ct(a, requires_grad=False):
    return ctorch.tensor(np.asarray(a), requires_grad=requires_grad)


def _tt(a, requires_grad=False):
    return torch.tensor(np.asarray(a), requires_grad=requires_grad)


def _close(c, t, atol=1e-6, rtol=1e-5):
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), atol=atol, rtol=rtol)


def _param_pairs(shapes, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    cps, tps = [], []
    for shape in shapes:
        w = rng.standard_normal(shape).astype(np.float32)
        g = (rng.standard_normal(shape) * scale).astype(np.float32)
        cp, tp = nn.Parameter(_ct(w)), torch.nn.Parameter(_tt(w))
        cp.grad, tp.grad = _ct(g), _tt(g)
        cps.append(cp)
        tps.append(tp)
    return cps, tps


# ---------------------------------------------------------------- clip_grad

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1000.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    nt = float(norm_type)
    cps, tps = _param_pairs([(3, 4), (5,), (2, 2, 2)])
    cn = nn.utils.clip_grad_norm_(cps, max_norm, norm_type=nt)
    tn = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=nt)
    _close(cn, tn, rtol=1e-5)
    for cp, tp in zip(cps, tps):
        _close(cp.grad, tp.grad)


def test_clip_grad_norm_single_tensor_generator_and_missing_grads():
    cps, tps = _param_pairs([(4, 3), (6,)], seed=1)
    extra_c, extra_t = nn.Parameter(ctorch.ones(3)), torch.nn.Parameter(torch.ones(3))  # no .grad: skipped
    cn = nn.utils.clip_grad_norm_((p for p in cps + [extra_c]), 2.0)
    tn = torch.nn.utils.clip_grad_norm_((p for p in tps + [extra_t]), 2.0)
    _close(cn, tn)
    assert extra_c.grad is None
    cn = nn.utils.clip_grad_norm_(cps[0], 0.1)
    tn = torch.nn.utils.clip_grad_norm_(tps[0], 0.1)
    _close(cn, tn)
    _close(cps[0].grad, tps[0].grad)
    assert float(nn.utils.clip_grad_norm_([extra_c], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite():
    cps, _ = _param_pairs([(3,)])
    cps[0].grad = _ct(np.array([1.0, np.inf, 2.0], dtype=np.float32))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(cps, 1.0, error_if_nonfinite=True)
    assert math.isinf(float(nn.utils.clip_grad_norm_(cps, 1.0)))


def test_clip_grad_value_matches_torch():
    cps, tps = _param_pairs([(3, 4), (7,)], scale=3.0)
    assert nn.utils.clip_grad_value_(cps, 1.5) is None
    torch.nn.utils.clip_grad_value_(tps, 1.5)
    for cp, tp in zip(cps, tps):
        _close(cp.grad, tp.grad)
        assert float(cp.grad.abs().max()) <= 1.5


# ---------------------------------------------------------------- convert_parameters

def test_parameters_to_vector_and_back():
    cps, tps = _param_pairs([(2, 3), (4,), (1, 2, 2)])
    cv = nn.utils.parameters_to_vector(cps)
    tv = torch.nn.utils.parameters_to_vector(tps)
    _close(cv, tv)
    # differentiable with respect to the parameters
    (cv * ctorch.arange(cv.numel(), dtype=ctorch.float32)).sum().backward()
    (tv * torch.arange(tv.numel(), dtype=torch.float32)).sum().backward()
    for cp, tp in zip(cps, tps):
        _close(cp.grad, tp.grad)
    new = np.arange(14, dtype=np.float32)
    nn.utils.vector_to_parameters(_ct(new), cps)
    torch.nn.utils.vector_to_parameters(_tt(new), tps)
    for cp, tp in zip(cps, tps):
        assert tuple(cp.shape) == tuple(tp.shape)
        _close(cp, tp)
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters([1.0], cps)


# ---------------------------------------------------------------- pad_sequence

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (3,)])
def test_pad_sequence_matches_torch(batch_first, padding_side, trailing):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((n,) + trailing).astype(np.float32) for n in (3, 5, 1, 5)]
    cs = [_ct(a, True) for a in arrays]
    ts = [_tt(a, True) for a in arrays]
    co = nn.utils.rnn.pad_sequence(cs, batch_first=batch_first, padding_value=-2.5,
                                   padding_side=padding_side)
    to = torch.nn.utils.rnn.pad_sequence(ts, batch_first=batch_first, padding_value=-2.5,
                                         padding_side=padding_side)
    assert tuple(co.shape) == tuple(to.shape)
    _close(co, to)
    w = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    (co * _ct(w)).sum().backward()
    (to * _tt(w)).sum().backward()
    for c, t in zip(cs, ts):
        _close(c.grad, t.grad)


def test_pad_sequence_errors():
    with pytest.raises(RuntimeError, match="padding_side"):
        nn.utils.rnn.pad_sequence([ctorch.ones(2)], padding_side="middle")
    with pytest.raises(RuntimeError, match="empty"):
        nn.utils.rnn.pad_sequence([])
