"""Tests for the transformer layers (TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
TransformerDecoder, Transformer): torch modules' weights are copied into ctorch through state_dict and
numpy, then outputs and gradients (input and every parameter) are compared on the same float64 inputs
with dropout=0, over norm_first, batch_first, relu/gelu/callable activations and causal / padding masks.
Also state_dict keys, reprs, generate_square_subsequent_mask, causal-mask detection, MultiheadAttention's
is_causal hint, F.pairwise_distance, and error cases with PyTorch's exception classes."""
import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
from conftest import DEVICES, compare_module_on_device
import ctorch.nn.functional as F

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-8, 1e-10
# torch warns when a bool key_padding_mask meets a float attn_mask, and about nested tensors being
# unusable for some layer configurations; neither matters for these comparisons
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]

D, H, FF = 8, 2, 12


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)


def _pair(shape, seed, grad=True):
    """The same random float64 array as a ctorch and a torch leaf tensor."""
    a = np.random.default_rng(seed).standard_normal(shape)
    return ctorch.from_numpy(a.copy()).requires_grad_(grad), torch.from_numpy(a.copy()).requires_grad_(grad)


def _mask_pair(m):
    return ctorch.from_numpy(np.ascontiguousarray(m)), torch.from_numpy(np.ascontiguousarray(m))


def _padding_pair(n, s, seed):
    """(N, S) bool key padding mask (True = padding) with padding only at the end of each sequence and
    at least one real position per row."""
    lengths = np.random.default_rng(seed).integers(1, s + 1, size=n)
    lengths[0] = s - 1 if s > 1 else 1
    return _mask_pair(np.arange(s)[None, :] >= lengths[:, None]), lengths


def _copy_weights(cmod, tmod):
    """Loads the torch module's state_dict into the ctorch one (through numpy) after checking that the
    keys (names and order) match."""
    tsd = tmod.state_dict()
    assert list(cmod.state_dict().keys()) == list(tsd.keys())
    cmod.load_state_dict({k: ctorch.from_numpy(v.detach().numpy().copy()) for k, v in tsd.items()})


def _make(cls_name, *args, activation=None, **kw):
    """The same module in both libraries (float64, dropout 0), torch's weights copied into ctorch.
    activation: 'relu' / 'gelu' strings, or a (ctorch_fn, torch_fn) pair for a callable."""
    tkw, ckw = dict(kw, dtype=torch.float64), dict(kw, dtype=ctorch.float64)
    if activation is not None:
        ca, ta = activation if isinstance(activation, tuple) else (activation, activation)
        tkw["activation"], ckw["activation"] = ta, ca
    tmod = getattr(torch.nn, cls_name)(*args, dropout=0.0, **tkw)
    cmod = getattr(nn, cls_name)(*args, dropout=0.0, **ckw)
    _copy_weights(cmod, tmod)
    return cmod, tmod


def _check_grads(cout, tout, cmod, tmod, cins, tins, seed=7):
    """Backprops the same random cotangent through both outputs; compares input and parameter grads."""
    g = np.random.default_rng(seed).standard_normal(tuple(tout.shape))
    cout.backward(ctorch.from_numpy(g.copy()))
    tout.backward(torch.from_numpy(g.copy()))
    for c, t in zip(cins, tins):
        _close(c.grad, t.grad)
    cparams = dict(cmod.named_parameters())
    for name, tp in tmod.named_parameters():
        assert tp.grad is not None, name
        _close(cparams[name].grad, tp.grad)


def _shape(L, N, batch_first):
    return (N, L, D) if batch_first else (L, N, D)


# ------------------------------------------------------------------ encoder layer

@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("device", DEVICES)
def test_encoder_layer_masks(norm_first, batch_first, activation, device):
    cmod, tmod = _make("TransformerEncoderLayer", D, H, FF, activation=activation, norm_first=norm_first,
                       batch_first=batch_first)
    S, N = 5, 3
    cx, tx = _pair(_shape(S, N, batch_first), 1)
    cm, tm = _mask_pair(np.triu(np.full((S, S), -np.inf), 1))
    ck, tk = _padding_pair(N, S, 2)[0]
    if device != "cpu":
        compare_module_on_device(cmod, [cx, cm, ck], device,
                                 call=lambda m, x, mask, kpm: m(x, src_mask=mask, src_key_padding_mask=kpm))
        return
    cout = cmod(cx, src_mask=cm, src_key_padding_mask=ck)
    tout = tmod(tx, src_mask=tm, src_key_padding_mask=tk)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [cx], [tx])


def test_encoder_layer_no_mask_defaults():
    # default dim_feedforward (2048) and activation (F.relu); no masks
    cmod, tmod = _make("TransformerEncoderLayer", D, H)
    assert cmod.linear1.out_features == 2048 and cmod.activation is F.relu
    assert cmod.activation_relu_or_gelu == tmod.activation_relu_or_gelu == 1
    cx, tx = _pair((4, 2, D), 3)
    cout, tout = cmod(cx), tmod(tx)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [cx], [tx])


def test_encoder_layer_callable_activation_and_is_causal():
    # a callable activation (tanh) and a module activation (GELU, registered as a submodule)
    cmod, tmod = _make("TransformerEncoderLayer", D, H, FF, activation=(ctorch.tanh, torch.tanh))
    assert cmod.activation_relu_or_gelu == 0
    S = 6
    cx, tx = _pair((S, 2, D), 4)
    cm = nn.Transformer.generate_square_subsequent_mask(S, dtype=ctorch.float64)
    tm = torch.nn.Transformer.generate_square_subsequent_mask(S, dtype=torch.float64)
    cout, tout = cmod(cx, src_mask=cm, is_causal=True), tmod(tx, src_mask=tm, is_causal=True)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [cx], [tx])
    cmod, tmod = _make("TransformerEncoderLayer", D, H, FF, activation=(nn.GELU(), torch.nn.GELU()))
    assert cmod.activation_relu_or_gelu == tmod.activation_relu_or_gelu == 2
    assert list(dict(cmod.named_modules())) == list(dict(tmod.named_modules()))
    _close(cmod(cx), tmod(tx))


def test_encoder_layer_unbatched_and_bias_false():
    cmod, tmod = _make("TransformerEncoderLayer", D, H, FF, bias=False, norm_first=True)
    assert cmod.norm1.bias is None and cmod.linear1.bias is None and cmod.self_attn.in_proj_bias is None
    cx, tx = _pair((5, D), 5)
    ck, tk = _mask_pair(np.array([False, False, False, True, True]))
    cout, tout = cmod(cx, src_key_padding_mask=ck), tmod(tx, src_key_padding_mask=tk)
    assert tuple(cout.shape) == (5, D)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [cx], [tx])


def test_encoder_layer_float_padding_mask_and_3d_mask():
    cmod, tmod = _make("TransformerEncoderLayer", D, H, FF)
    S, N = 4, 2
    cx, tx = _pair((S, N, D), 6)
    pad = np.zeros((N, S))
    pad[1, 3] = -np.inf
    pad[0, 2] = -1.5
    ck, tk = _mask_pair(pad)
    m = np.random.default_rng(7).random((N * H, S, S)) > 0.7
    m[..., 0] = False
    cm, tm = _mask_pair(m)
    cout = cmod(cx, src_mask=cm, src_key_padding_mask=ck)
    tout = tmod(tx, src_mask=tm, src_key_padding_mask=tk)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [cx], [tx])


def test_encoder_layer_eval_fast_path_matches_on_real_positions():
    # torch's eval/no-grad path (fused kernel, nested tensors in the encoder) must agree with ctorch
    # wherever a position is not padding
    cmod, tmod = _make("TransformerEncoderLayer", D, H, FF, batch_first=True)
    cenc = nn.TransformerEncoder(cmod, 2)
    tenc = torch.nn.TransformerEncoder(tmod, 2)
    _copy_weights(cenc, tenc)
    cenc.eval()
    tenc.eval()
    N, S = 3, 5
    cx, tx = _pair((N, S, D), 8, grad=False)
    (ck, tk), lengths = _padding_pair(N, S, 9)
    with ctorch.no_grad():
        cout = cenc(cx, src_key_padding_mask=ck)
    with torch.no_grad():
        tout = tenc(tx, src_key_padding_mask=tk)
        tlayer = tmod(tx, src_key_padding_mask=tk)
    with ctorch.no_grad():
        clayer = cmod(cx, src_key_padding_mask=ck)
    for b in range(N):
        _close(cout[b, :lengths[b]], tout[b, :lengths[b]])
        _close(clayer[b, :lengths[b]], tlayer[b, :lengths[b]])


# ------------------------------------------------------------------ encoder

@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("device", DEVICES)
def test_encoder_stack(norm_first, batch_first, device):
    tlayer = torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first,
                                              batch_first=batch_first, activation="gelu", dtype=torch.float64)
    clayer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first, batch_first=batch_first,
                                        activation="gelu", dtype=ctorch.float64)
    tenc = torch.nn.TransformerEncoder(tlayer, 3, norm=torch.nn.LayerNorm(D, dtype=torch.float64))
    cenc = nn.TransformerEncoder(clayer, 3, norm=nn.LayerNorm(D, dtype=ctorch.float64))
    _copy_weights(cenc, tenc)
    S, N = 5, 2
    cx, tx = _pair(_shape(S, N, batch_first), 10)
    cm, tm = _mask_pair(np.triu(np.full((S, S), -np.inf), 1))
    ck, tk = _padding_pair(N, S, 11)[0]
    if device != "cpu":
        compare_module_on_device(cenc, [cx, cm, ck], device,
                                 call=lambda m, x, mask, kpm: m(x, mask=mask, src_key_padding_mask=kpm))
        return
    cout = cenc(cx, mask=cm, src_key_padding_mask=ck)
    tout = tenc(tx, mask=tm, src_key_padding_mask=tk)
    _close(cout, tout)
    _check_grads(cout, tout, cenc, tenc, [cx], [tx])


def test_encoder_clones_are_independent_deep_copies():
    layer = nn.TransformerEncoderLayer(D, H, FF)
    enc = nn.TransformerEncoder(layer, 2)
    assert enc.num_layers == 2 and enc.norm is None and len(enc.layers) == 2
    a, b = enc.layers[0], enc.layers[1]
    assert a is not layer and a is not b
    assert a.linear1.weight is not b.linear1.weight and a.linear1.weight is not layer.linear1.weight
    _close(a.linear1.weight, layer.linear1.weight, 0, 0)
    with ctorch.no_grad():
        a.linear1.weight.fill_(0.5)
    assert not bool((layer.linear1.weight == 0.5).all()) and not bool((b.linear1.weight == 0.5).all())
    assert len(list(enc.parameters())) == 2 * len(list(layer.parameters()))
    assert enc.enable_nested_tensor is True and enc.mask_check is True and enc.use_nested_tensor is False


def test_encoder_bool_causal_mask_and_detection():
    # a bool causal mask (True above the diagonal) works like the float one
    cmod, tmod = _make("TransformerEncoderLayer", D, H, FF)
    cenc, tenc = nn.TransformerEncoder(cmod, 2), torch.nn.TransformerEncoder(tmod, 2)
    _copy_weights(cenc, tenc)
    S = 4
    cx, tx = _pair((S, 2, D), 12)
    cm, tm = _mask_pair(np.triu(np.ones((S, S), dtype=bool), 1))
    cout, tout = cenc(cx, mask=cm), tenc(tx, mask=tm)
    _close(cout, tout)
    _check_grads(cout, tout, cenc, tenc, [cx], [tx])


def test_detect_is_causal_mask():
    from ctorch.nn.modules.transformer import _detect_is_causal_mask
    from torch.nn.modules.transformer import _detect_is_causal_mask as t_detect
    S = 4
    causal = np.triu(np.full((S, S), -np.inf), 1)
    other = causal.copy()
    other[3, 0] = -np.inf
    cases = [(causal, None, None), (causal, None, S), (causal, None, S + 1), (causal, False, None),
             (other, None, None), (other, True, None), (None, None, None), (None, True, None),
             (np.triu(np.ones((S, S), dtype=bool), 1), None, None),
             (np.tril(np.ones((S, S), dtype=bool)), None, S)]
    for m, flag, size in cases:
        cm, tm = (None, None) if m is None else _mask_pair(m)
        assert _detect_is_causal_mask(cm, flag, size) == t_detect(tm, flag, size), (m, flag, size)


# ------------------------------------------------------------------ decoder layer / decoder

@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("device", DEVICES)
def test_decoder_layer_masks(norm_first, batch_first, activation, device):
    cmod, tmod = _make("TransformerDecoderLayer", D, H, FF, activation=activation, norm_first=norm_first,
                       batch_first=batch_first)
    T, S, N = 4, 6, 2
    ct, tt = _pair(_shape(T, N, batch_first), 20)
    cmem, tmem = _pair(_shape(S, N, batch_first), 21)
    ctm, ttm = _mask_pair(np.triu(np.full((T, T), -np.inf), 1))
    mm = np.random.default_rng(22).random((T, S)) > 0.6
    mm[:, 0] = False
    cmm, tmm = _mask_pair(mm)
    (ctk, ttk), _ = _padding_pair(N, T, 23)
    (cmk, tmk), _ = _padding_pair(N, S, 24)
    if device != "cpu":
        compare_module_on_device(cmod, [ct, cmem, ctm, cmm, ctk, cmk], device,
                                 call=lambda m, t, mem, tm, mm, tk, mk: m(
                                     t, mem, tgt_mask=tm, memory_mask=mm, tgt_key_padding_mask=tk,
                                     memory_key_padding_mask=mk))
        return
    cout = cmod(ct, cmem, tgt_mask=ctm, memory_mask=cmm, tgt_key_padding_mask=ctk,
                memory_key_padding_mask=cmk)
    tout = tmod(tt, tmem, tgt_mask=ttm, memory_mask=tmm, tgt_key_padding_mask=ttk,
                memory_key_padding_mask=tmk)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [ct, cmem], [tt, tmem])


def test_decoder_layer_causal_hints_and_unbatched():
    cmod, tmod = _make("TransformerDecoderLayer", D, H, FF, norm_first=True)
    T, S = 5, 5
    ct, tt = _pair((T, D), 25)
    cmem, tmem = _pair((S, D), 26)
    ctm, ttm = _mask_pair(np.triu(np.full((T, T), -np.inf), 1))
    cmm, tmm = _mask_pair(np.triu(np.full((T, S), -np.inf), 1))
    cout = cmod(ct, cmem, tgt_mask=ctm, memory_mask=cmm, tgt_is_causal=True, memory_is_causal=True)
    tout = tmod(tt, tmem, tgt_mask=ttm, memory_mask=tmm, tgt_is_causal=True, memory_is_causal=True)
    assert tuple(cout.shape) == (T, D)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [ct, cmem], [tt, tmem])


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("device", DEVICES)
def test_decoder_stack(norm_first, batch_first, device):
    tlayer = torch.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first,
                                              batch_first=batch_first, dtype=torch.float64)
    clayer = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first, batch_first=batch_first,
                                        dtype=ctorch.float64)
    tdec = torch.nn.TransformerDecoder(tlayer, 2, norm=torch.nn.LayerNorm(D, dtype=torch.float64))
    cdec = nn.TransformerDecoder(clayer, 2, norm=nn.LayerNorm(D, dtype=ctorch.float64))
    _copy_weights(cdec, tdec)
    T, S, N = 4, 3, 3
    ct, tt = _pair(_shape(T, N, batch_first), 30)
    cmem, tmem = _pair(_shape(S, N, batch_first), 31)
    ctm, ttm = _mask_pair(np.triu(np.full((T, T), -np.inf), 1))
    (cmk, tmk), _ = _padding_pair(N, S, 32)
    if device != "cpu":
        compare_module_on_device(cdec, [ct, cmem, ctm, cmk], device,
                                 call=lambda m, t, mem, tm, mk: m(t, mem, tgt_mask=tm, memory_key_padding_mask=mk))
        return
    cout = cdec(ct, cmem, tgt_mask=ctm, memory_key_padding_mask=cmk)
    tout = tdec(tt, tmem, tgt_mask=ttm, memory_key_padding_mask=tmk)
    _close(cout, tout)
    _check_grads(cout, tout, cdec, tdec, [ct, cmem], [tt, tmem])


# ------------------------------------------------------------------ full Transformer

@pytest.mark.parametrize("norm_first,batch_first,activation", [(False, False, "relu"), (True, True, "gelu"),
                                                               (False, True, "gelu"), (True, False, "relu")])
@pytest.mark.parametrize("device", DEVICES)
def test_transformer_full(norm_first, batch_first, activation, device):
    cmod, tmod = _make("Transformer", D, H, 2, 1, FF, activation=activation, norm_first=norm_first,
                       batch_first=batch_first)
    S, T, N = 5, 4, 2
    cs, ts = _pair(_shape(S, N, batch_first), 40)
    ct, tt = _pair(_shape(T, N, batch_first), 41)
    ctm = nn.Transformer.generate_square_subsequent_mask(T, dtype=ctorch.float64)
    ttm = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    (csk, tsk), _ = _padding_pair(N, S, 42)
    (ctk, ttk), _ = _padding_pair(N, T, 43)
    if device != "cpu":
        compare_module_on_device(cmod, [cs, ct, ctm, csk, ctk], device,
                                 call=lambda m, s, t, tm, sk, tk: m(
                                     s, t, tgt_mask=tm, src_key_padding_mask=sk, tgt_key_padding_mask=tk,
                                     memory_key_padding_mask=sk))
        return
    cout = cmod(cs, ct, tgt_mask=ctm, src_key_padding_mask=csk, tgt_key_padding_mask=ctk,
                memory_key_padding_mask=csk)
    tout = tmod(ts, tt, tgt_mask=ttm, src_key_padding_mask=tsk, tgt_key_padding_mask=ttk,
                memory_key_padding_mask=tsk)
    assert tuple(cout.shape) == tuple(tout.shape) == _shape(T, N, batch_first)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [cs, ct], [ts, tt])


def test_transformer_unbatched_and_causal_flags():
    cmod, tmod = _make("Transformer", D, H, 1, 1, FF)
    S, T = 4, 3
    cs, ts = _pair((S, D), 44)
    ct, tt = _pair((T, D), 45)
    csm, tsm = _mask_pair(np.triu(np.full((S, S), -np.inf), 1))
    ctm, ttm = _mask_pair(np.triu(np.full((T, T), -np.inf), 1))
    cout = cmod(cs, ct, src_mask=csm, tgt_mask=ctm, src_is_causal=True, tgt_is_causal=True)
    tout = tmod(ts, tt, src_mask=tsm, tgt_mask=ttm, src_is_causal=True, tgt_is_causal=True)
    assert tuple(cout.shape) == (T, D)
    _close(cout, tout)
    _check_grads(cout, tout, cmod, tmod, [cs, ct], [ts, tt])


def test_transformer_custom_encoder_decoder_and_init():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF), 1)
    m = nn.Transformer(D, H, custom_encoder=enc, custom_decoder=dec)
    assert m.encoder is enc and m.decoder is dec and m.d_model == D and m.nhead == H
    assert not m.batch_first
    # defaults: 6 + 6 layers, final norms, xavier_uniform_ on every matrix, identity LayerNorms
    ctorch.manual_seed(0)
    t = nn.Transformer(16, 2, dim_feedforward=32)
    assert len(t.encoder.layers) == 6 and len(t.decoder.layers) == 6
    assert isinstance(t.encoder.norm, nn.LayerNorm) and isinstance(t.decoder.norm, nn.LayerNorm)
    tt = torch.nn.Transformer(16, 2, dim_feedforward=32)
    assert list(t.state_dict().keys()) == list(tt.state_dict().keys())
    for name, p in t.named_parameters():
        if p.dim() > 1:
            fan_out, fan_in = p.shape
            bound = (6.0 / (fan_in + fan_out)) ** 0.5
            assert float(p.abs().max()) <= bound and float(p.abs().max()) > 0.5 * bound, name
        elif "norm" in name:
            expected = 1.0 if name.endswith("weight") else 0.0
            assert bool((p == expected).all()), name
    w0 = t.encoder.layers[0].linear1.weight
    w1 = t.encoder.layers[1].linear1.weight
    assert not bool((w0 == w1).all())


# ------------------------------------------------------------------ names, reprs, masks

def test_state_dict_keys_match_torch():
    def pairs():
        yield nn.TransformerEncoderLayer(D, H, FF), torch.nn.TransformerEncoderLayer(D, H, FF)
        yield nn.TransformerDecoderLayer(D, H, FF, bias=False), torch.nn.TransformerDecoderLayer(D, H, FF,
                                                                                                  bias=False)
        yield (nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF), 2, nn.LayerNorm(D)),
               torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, H, FF), 2,
                                           torch.nn.LayerNorm(D)))
        yield (nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF), 2),
               torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, H, FF), 2))
        yield nn.Transformer(D, H, 2, 2, FF), torch.nn.Transformer(D, H, 2, 2, FF)
    for c, t in pairs():
        assert list(c.state_dict().keys()) == list(t.state_dict().keys())
        assert [n for n, _ in c.named_modules()] == [n for n, _ in t.named_modules()]
        for (n, cp), (_, tp) in zip(c.named_parameters(), t.named_parameters()):
            assert tuple(cp.shape) == tuple(tp.shape), n


def test_reprs_match_torch():
    def pairs():
        yield nn.TransformerEncoderLayer(D, H), torch.nn.TransformerEncoderLayer(D, H)
        yield (nn.TransformerDecoderLayer(D, H, FF, 0.2, "gelu", 1e-6, bias=False),
               torch.nn.TransformerDecoderLayer(D, H, FF, 0.2, "gelu", 1e-6, bias=False))
        yield (nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF), 3, nn.LayerNorm(D)),
               torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, H, FF), 3,
                                           torch.nn.LayerNorm(D)))
        yield nn.Transformer(D, H, 2, 1, FF), torch.nn.Transformer(D, H, 2, 1, FF)
    for c, t in pairs():
        assert repr(c) == repr(t)


def test_generate_square_subsequent_mask():
    for sz in (1, 4):
        c = nn.Transformer.generate_square_subsequent_mask(sz)
        t = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        assert c.dtype == ctorch.float32
        np.testing.assert_array_equal(_np(c), _np(t))
    c = nn.Transformer.generate_square_subsequent_mask(3, dtype=ctorch.float64)
    assert c.dtype == ctorch.float64 and c.device.type == "cpu"
    # usable on an instance too (a staticmethod)
    m = nn.Transformer(D, H, 1, 1, FF)
    np.testing.assert_array_equal(_np(m.generate_square_subsequent_mask(3)),
                                  _np(torch.nn.Transformer.generate_square_subsequent_mask(3)))


def test_dropout_active_in_train_only():
    ctorch.manual_seed(0)
    m = nn.TransformerEncoderLayer(D, H, FF, dropout=0.5)
    x = ctorch.randn(5, 2, D)
    m.eval()
    a, b = m(x), m(x)
    _close(a, b, 0, 0)
    m.train()
    assert not bool((m(x) == m(x)).all())
    assert all(not sub.training for sub in m.eval().modules())
    assert m.self_attn.dropout == 0.5 and m.dropout1.p == 0.5


def test_dtype_argument():
    m = nn.Transformer(D, H, 1, 1, FF, dtype=ctorch.float64)
    assert all(p.dtype == ctorch.float64 for p in m.parameters())
    m = nn.TransformerDecoderLayer(D, H, FF, layer_norm_eps=1e-3)
    assert m.norm1.eps == m.norm2.eps == m.norm3.eps == 1e-3


# ------------------------------------------------------------------ MultiheadAttention is_causal hint

def test_mha_is_causal_hint_replaces_mask_like_torch():
    # with no key_padding_mask and need_weights=False, PyTorch uses the causal mask instead of attn_mask
    # (is_causal is a hint); with a key_padding_mask or need_weights it uses attn_mask as given
    tm = torch.nn.MultiheadAttention(D, H, dtype=torch.float64)
    cm = nn.MultiheadAttention(D, H, dtype=ctorch.float64)
    _copy_weights(cm, tm)
    L = 4
    cq, tq = _pair((L, 2, D), 50)
    not_causal = np.zeros((L, L))
    not_causal[:, 1] = -np.inf
    cam, tam = _mask_pair(not_causal)
    ck, tk = _mask_pair(np.array([[False] * L, [False] * (L - 1) + [True]]))
    for kw_c, kw_t in (({}, {}), ({"key_padding_mask": ck}, {"key_padding_mask": tk})):
        for need in (False, True):
            co = cm(cq, cq, cq, attn_mask=cam, is_causal=True, need_weights=need, **kw_c)[0]
            to = tm(tq, tq, tq, attn_mask=tam, is_causal=True, need_weights=need, **kw_t)[0]
            _close(co, to)
    co = cm(cq, cq, cq, attn_mask=cam, is_causal=True, need_weights=False)[0]
    to = tm(tq, tq, tq, attn_mask=tam, is_causal=True, need_weights=False)[0]
    _check_grads(co, to, cm, tm, [cq], [tq])


# ------------------------------------------------------------------ errors

def test_errors():
    with pytest.raises(AssertionError):
        nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(AssertionError):
        nn.TransformerDecoderLayer(10, 4)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerEncoderLayer(D, H, activation="tanh")
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerDecoderLayer(D, H, activation="swish")
    with pytest.raises(ValueError):
        nn.TransformerEncoderLayer(D, H, dropout=1.5)
    m = nn.Transformer(D, H, 1, 1, FF)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        m(ctorch.randn(3, 2, D), ctorch.randn(3, 4, D))
    with pytest.raises(RuntimeError, match="batch number"):
        nn.Transformer(D, H, 1, 1, FF, batch_first=True)(ctorch.randn(2, 3, D), ctorch.randn(3, 3, D))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to d_model"):
        m(ctorch.randn(3, 2, D), ctorch.randn(3, 2, D + 1))
    layer = nn.TransformerEncoderLayer(D, H, FF)
    x = ctorch.randn(4, 2, D)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        layer(x, is_causal=True)
    with pytest.raises(AssertionError, match="only bool and floating types"):
        layer(x, src_mask=ctorch.zeros(4, 4, dtype=ctorch.int64))
    with pytest.raises(AssertionError, match="only bool and floating types"):
        nn.TransformerEncoder(layer, 1)(x, src_key_padding_mask=ctorch.zeros(2, 4, dtype=ctorch.int64))
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        layer(x, src_mask=ctorch.zeros(3, 3))
    with pytest.raises(AssertionError, match="key_padding_mask"):
        layer(x, src_key_padding_mask=ctorch.zeros(2, 5, dtype=ctorch.bool))
    dec = nn.TransformerDecoderLayer(D, H, FF)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        dec(x, x, tgt_is_causal=True)
    with pytest.raises(RuntimeError):  # memory's feature size must be d_model (torch: a matmul error)
        dec(x, ctorch.randn(4, 2, D + 2))


def test_torch_raises_the_same_errors():
    # the exception classes above are PyTorch's
    with pytest.raises(AssertionError):
        torch.nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        torch.nn.TransformerEncoderLayer(D, H, activation="tanh")
    m = torch.nn.Transformer(D, H, 1, 1, FF)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        m(torch.randn(3, 2, D), torch.randn(3, 4, D))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to d_model"):
        m(torch.randn(3, 2, D), torch.randn(3, 2, D + 1))
    layer = torch.nn.TransformerEncoderLayer(D, H, FF)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        layer(torch.randn(4, 2, D), is_causal=True)
    with pytest.raises(AssertionError, match="only bool and floating types"):
        layer(torch.randn(4, 2, D), src_mask=torch.zeros(4, 4, dtype=torch.int64))


# ------------------------------------------------------------------ F.pairwise_distance

@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(p, keepdim):
    for s1, s2 in (((4, 5), (4, 5)), ((4, 5), (1, 5)), ((5,), (5,)), ((2, 3, 5), (3, 5))):
        c1, t1 = _pair(s1, 60)
        c2, t2 = _pair(s2, 61)
        co = F.pairwise_distance(c1, c2, p=p, eps=1e-6, keepdim=keepdim)
        to = torch.nn.functional.pairwise_distance(t1, t2, p=p, eps=1e-6, keepdim=keepdim)
        assert tuple(co.shape) == tuple(to.shape), (s1, s2)
        _close(co, to)
        co.sum().backward()
        to.sum().backward()
        _close(c1.grad, t1.grad)
        _close(c2.grad, t2.grad)


# ------------------------------------------------------------------ training, float32, copies

def test_training_trajectory_matches_torch():
    # a few Adam steps on a tiny sequence-to-sequence regression: parameters stay equal to torch's
    cmod, tmod = _make("Transformer", D, H, 1, 1, FF, batch_first=True, norm_first=True)
    copt = ctorch.optim.Adam(cmod.parameters(), lr=1e-2)
    topt = torch.optim.Adam(tmod.parameters(), lr=1e-2)
    cs, ts = _pair((2, 5, D), 70, grad=False)
    ct, tt = _pair((2, 4, D), 71, grad=False)
    cy, ty = _pair((2, 4, D), 72, grad=False)
    ctm = nn.Transformer.generate_square_subsequent_mask(4, dtype=ctorch.float64)
    ttm = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    for _ in range(4):
        copt.zero_grad()
        topt.zero_grad()
        closs = F.mse_loss(cmod(cs, ct, tgt_mask=ctm), cy)
        tloss = torch.nn.functional.mse_loss(tmod(ts, tt, tgt_mask=ttm), ty)
        _close(closs, tloss)
        closs.backward()
        tloss.backward()
        copt.step()
        topt.step()
    cparams = dict(cmod.named_parameters())
    for name, tp in tmod.named_parameters():
        _close(cparams[name], tp, 1e-7, 1e-9)


def test_float32_default_dtype():
    tmod = torch.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0)
    cmod = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0)
    assert cmod.linear1.weight.dtype == ctorch.float32
    _copy_weights(cmod, tmod)
    a = np.random.default_rng(80).standard_normal((4, 2, D)).astype(np.float32)
    m = np.random.default_rng(81).standard_normal((3, 2, D)).astype(np.float32)
    cout = cmod(ctorch.from_numpy(a), ctorch.from_numpy(m))
    tout = tmod(torch.from_numpy(a), torch.from_numpy(m))
    assert cout.dtype == ctorch.float32
    _close(cout, tout, 1e-4, 1e-5)


def test_deepcopy_and_state_dict_roundtrip():
    import copy
    m = nn.Transformer(D, H, 1, 1, FF, dropout=0.0)
    m2 = copy.deepcopy(m)
    for (n, a), (_, b) in zip(m.named_parameters(), m2.named_parameters()):
        assert a is not b
        _close(a, b, 0, 0)
    m3 = nn.Transformer(D, H, 1, 1, FF, dropout=0.0)
    m3.load_state_dict(m.state_dict())
    src, tgt = ctorch.randn(3, 2, D), ctorch.randn(2, 2, D)
    _close(m3(src, tgt), m(src, tgt), 0, 0)
    _close(m2(src, tgt), m(src, tgt), 0, 0)
