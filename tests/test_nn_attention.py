"""Tests for attention: F.scaled_dot_product_attention and nn.MultiheadAttention, compared with PyTorch
on the same random float64 inputs (and, for the module, the same weights copied through state_dict):
outputs, attention weights, input/mask/parameter gradients; error cases raise PyTorch's exception class."""
import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-9, 1e-11


def _pair(shape, seed, grad=True):
    """The same random float64 array as a ctorch and a torch tensor (leaves requiring grad)."""
    a = np.random.default_rng(seed).standard_normal(shape)
    return (ctorch.from_numpy(a.copy()).requires_grad_(grad), torch.from_numpy(a.copy()).requires_grad_(grad))


def _bool_pair(shape, seed, keep_first=True):
    """The same random bool mask in both libraries; keep_first leaves column 0 set so no row is empty."""
    m = np.random.default_rng(seed).random(shape) > 0.4
    if keep_first:
        m[..., 0] = True
    return ctorch.from_numpy(m.copy()), torch.from_numpy(m.copy())


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _close(a, b):
    np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------ scaled_dot_product_attention

def _check_sdpa(qs, ks, vs, mask=None, **kw):
    """Runs both libraries on the same q/k/v (and mask pair), compares output and all gradients."""
    cq, tq = _pair(qs, 1)
    ck, tk = _pair(ks, 2)
    cv, tv = _pair(vs, 3)
    cm, tm = mask if mask is not None else (None, None)
    co = F.scaled_dot_product_attention(cq, ck, cv, attn_mask=cm, **kw)
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kw)
    assert tuple(co.shape) == tuple(to.shape)
    _close(co, to)
    g = np.random.default_rng(9).standard_normal(tuple(to.shape))
    co.backward(ctorch.from_numpy(g.copy()))
    to.backward(torch.from_numpy(g.copy()))
    for c, t in ((cq, tq), (ck, tk), (cv, tv)):
        _close(c.grad, t.grad)
    if cm is not None and cm.requires_grad:
        _close(cm.grad, tm.grad)


def test_sdpa_plain_3d():
    _check_sdpa((2, 5, 4), (2, 7, 4), (2, 7, 3))


def test_sdpa_2d_inputs():
    _check_sdpa((5, 4), (6, 4), (6, 2))


def test_sdpa_batched_4d():
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 5))


def test_sdpa_custom_scale():
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), scale=0.37)


def test_sdpa_causal_square_and_rect():
    _check_sdpa((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4), is_causal=True)
    _check_sdpa((2, 4, 4), (2, 6, 4), (2, 6, 3), is_causal=True)


def test_sdpa_bool_mask_full():
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), mask=_bool_pair((2, 3, 5, 6), 4))


@pytest.mark.parametrize("mshape", [(5, 6), (1, 6), (2, 1, 5, 6), (3, 1, 6)])
def test_sdpa_bool_mask_broadcast(mshape):
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), mask=_bool_pair(mshape, 5))


@pytest.mark.parametrize("mshape", [(2, 3, 5, 6), (5, 6), (2, 1, 1, 6)])
def test_sdpa_float_mask_with_grad(mshape):
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), mask=_pair(mshape, 6))


def test_sdpa_float_mask_with_neg_inf():
    m = np.random.default_rng(7).standard_normal((5, 6))
    m[:, 2] = -np.inf
    _check_sdpa((2, 5, 4), (2, 6, 4), (2, 6, 4),
                mask=(ctorch.from_numpy(m.copy()), torch.from_numpy(m.copy())))


def test_sdpa_gqa():
    _check_sdpa((2, 4, 5, 3), (2, 2, 6, 3), (2, 2, 6, 3), enable_gqa=True)


def test_sdpa_dropout_statistics():
    # dropout only scales kept weights by 1/(1-p): with value = ones the output rows are the kept
    # probability mass / (1-p), so p=1 gives zeros and small p a mean near 1
    q = ctorch.randn(4, 8, 3)
    k = ctorch.randn(4, 8, 3)
    v = ctorch.ones(4, 8, 2)
    assert float(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).abs().sum()) == 0.0
    ctorch.manual_seed(0)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    ref = F.scaled_dot_product_attention(q, k, v)
    assert not np.allclose(_np(out), _np(ref))
    big = F.scaled_dot_product_attention(ctorch.zeros(1, 400, 3), ctorch.zeros(1, 400, 3),
                                         ctorch.ones(1, 400, 1), dropout_p=0.2)
    assert abs(float(big.mean()) - 1.0) < 0.05


def test_sdpa_errors():
    q, k, v = ctorch.randn(2, 3, 4), ctorch.randn(2, 3, 4), ctorch.randn(2, 3, 4)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ctorch.ones(3, 3, dtype=ctorch.bool),
                                       is_causal=True)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, ctorch.randn(2, 3, 5), v)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, k, ctorch.randn(2, 4, 4))
