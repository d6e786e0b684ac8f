"""Tests for attention: F.scaled_dot_product_attention and nn.MultiheadAttention, compared with PyTorch
on the same random float64 inputs (and, for the module, the same weights copied through state_dict):
outputs, attention weights, input/mask/parameter gradients; error cases raise PyTorch's exception class."""
import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F
from conftest import DEVICES, compare_module_on_device, compare_on_device

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-9, 1e-11
# torch warns when a bool key_padding_mask meets a float attn_mask; ctorch accepts the mix silently
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")


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

def _check_sdpa(qs, ks, vs, mask=None, device="cpu", **kw):
    """Runs both libraries on the same q/k/v (and mask pair), compares output and all gradients;
    on another device, ctorch there against ctorch on the CPU."""
    cq, tq = _pair(qs, 1)
    ck, tk = _pair(ks, 2)
    cv, tv = _pair(vs, 3)
    cm, tm = mask if mask is not None else (None, None)
    if device != "cpu":
        compare_on_device(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw),
                          [cq, ck, cv, cm], device)
        return
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


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_plain_3d(device):
    _check_sdpa((2, 5, 4), (2, 7, 4), (2, 7, 3), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_2d_inputs(device):
    _check_sdpa((5, 4), (6, 4), (6, 2), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_batched_4d(device):
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 5), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_custom_scale(device):
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), scale=0.37, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_causal_square_and_rect(device):
    _check_sdpa((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4), is_causal=True, device=device)
    _check_sdpa((2, 4, 4), (2, 6, 4), (2, 6, 3), is_causal=True, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_bool_mask_full(device):
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), mask=_bool_pair((2, 3, 5, 6), 4), device=device)


@pytest.mark.parametrize("mshape", [(5, 6), (1, 6), (2, 1, 5, 6), (3, 1, 6)])
@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_bool_mask_broadcast(mshape, device):
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), mask=_bool_pair(mshape, 5), device=device)


@pytest.mark.parametrize("mshape", [(2, 3, 5, 6), (5, 6), (2, 1, 1, 6)])
@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_float_mask_with_grad(mshape, device):
    _check_sdpa((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), mask=_pair(mshape, 6), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_float_mask_with_neg_inf(device):
    m = np.random.default_rng(7).standard_normal((5, 6))
    m[:, 2] = -np.inf
    _check_sdpa((2, 5, 4), (2, 6, 4), (2, 6, 4),
                mask=(ctorch.from_numpy(m.copy()), torch.from_numpy(m.copy())), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_gqa(device):
    _check_sdpa((2, 4, 5, 3), (2, 2, 6, 3), (2, 2, 6, 3), enable_gqa=True, device=device)


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


# ------------------------------------------------------------------ MultiheadAttention

def _mha_pair(E, H, seed, **kw):
    """A ctorch and a torch MultiheadAttention (float64) holding the same random weights, copied key by
    key through state_dict (so the key names must agree)."""
    tm = torch.nn.MultiheadAttention(E, H, **kw).double()
    cm = nn.MultiheadAttention(E, H, **kw, dtype=ctorch.float64)
    rng = np.random.default_rng(seed)
    tsd = tm.state_dict()
    csd = cm.state_dict()
    assert list(csd.keys()) == list(tsd.keys())
    for name, tp in tsd.items():
        a = rng.standard_normal(tuple(tp.shape)) * 0.5
        with torch.no_grad():
            tp.copy_(torch.from_numpy(a.copy()))
        with ctorch.no_grad():
            csd[name].copy_(ctorch.from_numpy(a.copy()))
    return cm, tm


def _check_mha(E=8, H=2, L=4, S=5, N=3, batch_first=False, kdim=None, vdim=None, bias=True,
               kpm=False, attn_mask=None, need_weights=True, average=True, unbatched=False, seed=0,
               device="cpu"):
    """Compares output, weights, q/k/v gradients and parameter gradients of the two modules (on
    another device: the ctorch module there against the CPU).
    attn_mask: None, '2d-bool', '2d-float', '3d-bool', '3d-float'."""
    cm, tm = _mha_pair(E, H, seed, batch_first=batch_first, kdim=kdim, vdim=vdim, bias=bias)
    kd, vd = kdim or E, vdim or E

    def shape(seq, d):
        if unbatched:
            return (seq, d)
        return (N, seq, d) if batch_first else (seq, N, d)
    cq, tq = _pair(shape(L, E), seed + 1)
    ck, tk = _pair(shape(S, kd), seed + 2)
    cv, tv = _pair(shape(S, vd), seed + 3)
    kw_c, kw_t = {}, {}
    if kpm:
        c, t = _bool_pair((S,) if unbatched else (N, S), seed + 4)
        kw_c["key_padding_mask"], kw_t["key_padding_mask"] = ~c, ~t  # True = ignore; column 0 kept
    if attn_mask is not None:
        dims, kind = attn_mask.split("-")
        mshape = (L, S) if dims == "2d" else ((1 if unbatched else N) * H, L, S)
        if kind == "bool":
            c, t = _bool_pair(mshape, seed + 5)
            kw_c["attn_mask"], kw_t["attn_mask"] = ~c, ~t
        else:
            c, t = _pair(mshape, seed + 5, grad=False)
            kw_c["attn_mask"], kw_t["attn_mask"] = c, t
    if device != "cpu":
        names = list(kw_c)  # the masks are inputs too, so they move to the device

        def call(m, q, k, v, *masks):
            return m(q, k, v, need_weights=need_weights, average_attn_weights=average,
                     **dict(zip(names, masks)))
        compare_module_on_device(cm, [cq, ck, cv] + [kw_c[n] for n in names], device, call=call)
        return
    co, cw = cm(cq, ck, cv, need_weights=need_weights, average_attn_weights=average, **kw_c)
    to, tw = tm(tq, tk, tv, need_weights=need_weights, average_attn_weights=average, **kw_t)
    assert tuple(co.shape) == tuple(to.shape)
    _close(co, to)
    if need_weights:
        assert tuple(cw.shape) == tuple(tw.shape)
        _close(cw, tw)
    else:
        assert cw is None and tw is None
    g = np.random.default_rng(seed + 6).standard_normal(tuple(to.shape))
    loss_c = (co * ctorch.from_numpy(g.copy())).sum()
    loss_t = (to * torch.from_numpy(g.copy())).sum()
    if need_weights:
        gw = np.random.default_rng(seed + 7).standard_normal(tuple(tw.shape))
        loss_c = loss_c + (cw * ctorch.from_numpy(gw.copy())).sum()
        loss_t = loss_t + (tw * torch.from_numpy(gw.copy())).sum()
    loss_c.backward()
    loss_t.backward()
    for c, t in ((cq, tq), (ck, tk), (cv, tv)):
        _close(c.grad, t.grad)
    cparams = dict(cm.named_parameters())
    tparams = dict(tm.named_parameters())
    assert list(cparams) == list(tparams)
    for name, tp in tparams.items():
        _close(cparams[name].grad, tp.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("device", DEVICES)
def test_mha_basic(batch_first, device):
    _check_mha(batch_first=batch_first, device=device)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("device", DEVICES)
def test_mha_key_padding_mask(batch_first, device):
    _check_mha(batch_first=batch_first, kpm=True, device=device)


@pytest.mark.parametrize("mask", ["2d-bool", "2d-float", "3d-bool", "3d-float"])
@pytest.mark.parametrize("device", DEVICES)
def test_mha_attn_mask(mask, device):
    _check_mha(attn_mask=mask, device=device)


@pytest.mark.parametrize("mask", ["2d-bool", "3d-float"])
@pytest.mark.parametrize("device", DEVICES)
def test_mha_attn_mask_and_kpm(mask, device):
    _check_mha(attn_mask=mask, kpm=True, batch_first=True, device=device)


@pytest.mark.parametrize("mask", [None, "2d-float", "3d-bool"])
@pytest.mark.parametrize("device", DEVICES)
def test_mha_need_weights_false(mask, device):
    _check_mha(need_weights=False, attn_mask=mask, kpm=True, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_mha_average_false(device):
    _check_mha(average=False, attn_mask="2d-float", device=device)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("device", DEVICES)
def test_mha_kdim_vdim(batch_first, device):
    _check_mha(kdim=5, vdim=3, batch_first=batch_first, kpm=True, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_mha_no_bias(device):
    _check_mha(bias=False, device=device)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("device", DEVICES)
def test_mha_unbatched(need_weights, device):
    _check_mha(unbatched=True, kpm=True, attn_mask="3d-float", need_weights=need_weights, average=False,
               device=device)
    _check_mha(unbatched=True, attn_mask="2d-bool", need_weights=need_weights, device=device)


def test_mha_is_causal_with_mask():
    L = 4
    causal = np.triu(np.ones((L, L), dtype=bool), 1)  # True above the diagonal = masked out
    cm, tm = _mha_pair(8, 2, 11)
    cx, tx = _pair((L, 2, 8), 12)
    co, cw = cm(cx, cx, cx, attn_mask=ctorch.from_numpy(causal.copy()), is_causal=True)
    to, tw = tm(tx, tx, tx, attn_mask=torch.from_numpy(causal.copy()), is_causal=True)
    _close(co, to)
    _close(cw, tw)
    with pytest.raises(RuntimeError):
        cm(cx, cx, cx, is_causal=True)


def test_mha_parameters_and_init():
    m = nn.MultiheadAttention(6, 3)
    t = torch.nn.MultiheadAttention(6, 3)
    assert list(m.state_dict().keys()) == list(t.state_dict().keys())
    assert m.in_proj_weight.shape == (18, 6) and m.q_proj_weight is None
    assert float(m.in_proj_bias.abs().sum()) == 0.0 and float(m.out_proj.bias.abs().sum()) == 0.0
    bound = (6.0 / (6 + 18)) ** 0.5  # xavier_uniform_ on the [3E, E] in_proj_weight
    w = _np(m.in_proj_weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    m2 = nn.MultiheadAttention(6, 2, kdim=4, vdim=5, bias=False)
    t2 = torch.nn.MultiheadAttention(6, 2, kdim=4, vdim=5, bias=False)
    assert list(m2.state_dict().keys()) == list(t2.state_dict().keys())
    assert [tuple(p.shape) for p in m2.parameters()] == [tuple(p.shape) for p in t2.parameters()]
    assert m2.in_proj_weight is None and m2.in_proj_bias is None
    assert isinstance(m.out_proj, nn.Linear)


def test_mha_dropout_train_eval():
    m = nn.MultiheadAttention(8, 2, dropout=0.5, dtype=ctorch.float64)
    x = ctorch.randn(5, 2, 8, dtype=ctorch.float64)
    m.eval()
    a, _ = m(x, x, x)
    b, _ = m(x, x, x)
    np.testing.assert_array_equal(_np(a), _np(b))
    m.train()
    ctorch.manual_seed(1)
    c, w = m(x, x, x)
    assert not np.allclose(_np(a), _np(c))
    # returned weights are the pre-dropout softmax (rows sum to 1), as PyTorch's
    np.testing.assert_allclose(_np(w).sum(-1), 1.0, rtol=1e-12)


def test_mha_errors():
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(7, 2)
    with pytest.raises(NotImplementedError):
        nn.MultiheadAttention(8, 2, add_bias_kv=True)
    with pytest.raises(NotImplementedError):
        nn.MultiheadAttention(8, 2, add_zero_attn=True)
    m = nn.MultiheadAttention(8, 2)
    x = ctorch.randn(4, 2, 8)
    with pytest.raises(AssertionError):
        m(x, ctorch.randn(4, 8), x)
    with pytest.raises(AssertionError):
        m(ctorch.randn(4, 2, 6), x, x)
    with pytest.raises(RuntimeError):
        m(x, x, x, attn_mask=ctorch.zeros(3, 4))
    with pytest.raises(RuntimeError):
        m(x, x, x, attn_mask=ctorch.zeros(2, 4, 4))
    with pytest.raises(AssertionError):
        m(x, x, x, key_padding_mask=ctorch.zeros(2, 5, dtype=ctorch.bool))
