"""Tests for the recurrent layers (nn.RNN, nn.LSTM, nn.GRU and the RNNCell / LSTMCell / GRUCell cells),
compared with PyTorch on the same weights (copied through state_dict as NumPy) and the same random inputs:
outputs, final states and gradients w.r.t. input, initial states and every parameter; plus gradcheck,
state_dict keys, reprs, dropout behaviour and error cases with PyTorch's exception classes."""
import warnings

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
from conftest import DEVICES, compare_module_on_device

torch = pytest.importorskip("torch")

# torch notes that its oneDNN path lacks LSTM projections and falls back; nothing to do with ctorch
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

TOL = {"float64": (1e-10, 1e-12), "float32": (2e-4, 2e-5)}
T, B, FEAT, HID = 5, 3, 4, 6


def _np(t):
    return t.detach().numpy()


def _close(a, b, dtype):
    rtol, atol = TOL[dtype]
    assert tuple(a.shape) == tuple(b.shape), f"{tuple(a.shape)} != {tuple(b.shape)}"
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)


def _pair(shape, seed, dtype, grad=True):
    """The same random array as a ctorch and a torch tensor (leaves, requiring grad)."""
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return (ctorch.from_numpy(a.copy()).requires_grad_(grad), torch.from_numpy(a.copy()).requires_grad_(grad))


def _twin(kind, args, kw, dtype):
    """A torch module and a ctorch module of the same kind holding the same weights."""
    tm = getattr(torch.nn, kind)(*args, **kw).to(getattr(torch, dtype))
    cm = getattr(nn, kind)(*args, **kw).to(getattr(ctorch, dtype))
    sd = {k: ctorch.from_numpy(v.detach().numpy().copy()) for k, v in tm.state_dict().items()}
    cm.load_state_dict(sd)
    assert list(cm.state_dict()) == list(tm.state_dict())
    return cm, tm


def _loss(outs_c, outs_t, dtype):
    """Random-weighted sums of every output, so gradients flow back through all of them."""
    lc, lt = 0, 0
    for k, (c, t) in enumerate(zip(outs_c, outs_t)):
        gc, gt = _pair(tuple(t.shape), 100 + k, dtype, grad=False)
        lc = lc + (c * gc).sum()
        lt = lt + (t * gt).sum()
    return lc, lt


def _compare_grads(cm, tm, leaves, dtype):
    for c, t in leaves:
        _close(c.grad, t.grad, dtype)
    tparams = dict(tm.named_parameters())
    for name, p in cm.named_parameters():
        assert p.grad is not None, name
        _close(p.grad, tparams[name].grad, dtype)


# ------------------------------------------------------------------ RNN / LSTM / GRU vs torch

KINDS = [
    ("RNN", {"nonlinearity": "tanh"}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {}),
    ("LSTM", {"proj_size": 4}),
    ("GRU", {}),
]
KIND_IDS = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"]

# (num_layers, bidirectional, batch_first, batched, given initial state, dtype, bias)
CONFIGS = [
    (1, False, False, True, False, "float64", True),
    (2, True, True, True, True, "float64", True),
    (2, False, False, False, True, "float32", True),
    (1, True, False, False, False, "float32", True),
    (2, True, False, True, True, "float32", False),
    (1, False, True, True, True, "float64", True),
    (2, True, True, False, True, "float64", True),
]


def _config_id(c):
    L, bi, bf, batched, given, dtype, bias = c
    return (f"L{L}{'-bi' if bi else ''}{'-bf' if bf else ''}{'' if batched else '-unbatched'}"
            f"{'-h0' if given else ''}-{dtype}{'' if bias else '-nobias'}")


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_config_id(c) for c in CONFIGS])
@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("device", DEVICES)
def test_matches_torch(kind, extra, cfg, device):
    L, bi, bf, batched, given, dtype, bias = cfg
    kw = dict(extra, num_layers=L, bidirectional=bi, batch_first=bf, bias=bias)
    cm, tm = _twin(kind, (FEAT, HID), kw, dtype)
    if batched:
        shape = (B, T, FEAT) if bf else (T, B, FEAT)
    else:
        shape = (T, FEAT)
    cx, tx = _pair(shape, 1, dtype)
    D = 2 if bi else 1
    state_batch = (B,) if batched else ()
    h_size = extra.get("proj_size", HID)
    leaves = [(cx, tx)]
    if given:
        ch, th = _pair((L * D,) + state_batch + (h_size,), 2, dtype)
        leaves.append((ch, th))
        if kind == "LSTM":
            cc, tc = _pair((L * D,) + state_batch + (HID,), 3, dtype)
            leaves.append((cc, tc))
    if device != "cpu":  # outputs, states and every gradient against the CPU
        call = (lambda m, x, h, c: m(x, (h, c))) if kind == "LSTM" and given else None
        compare_module_on_device(cm, [c for c, _ in leaves], device, call=call)
        return
    if given:
        if kind == "LSTM":
            co, (chn, ccn) = cm(cx, (ch, cc))
            to, (thn, tcn) = tm(tx, (th, tc))
        else:
            co, chn = cm(cx, ch)
            to, thn = tm(tx, th)
    else:
        if kind == "LSTM":
            co, (chn, ccn) = cm(cx)
            to, (thn, tcn) = tm(tx)
        else:
            co, chn = cm(cx)
            to, thn = tm(tx)
    outs_c, outs_t = [co, chn], [to, thn]
    if kind == "LSTM":
        outs_c.append(ccn)
        outs_t.append(tcn)
    for c, t in zip(outs_c, outs_t):
        _close(c, t, dtype)
        assert c.dtype == getattr(ctorch, dtype)
    lc, lt = _loss(outs_c, outs_t, dtype)
    lc.backward()
    lt.backward()
    _compare_grads(cm, tm, leaves, dtype)


def test_positional_arguments_and_defaults():
    # RNN takes nonlinearity as its 4th positional argument, like PyTorch
    cm, tm = _twin("RNN", (FEAT, HID, 2, "relu", False, True), {}, "float64")
    assert cm.nonlinearity == "relu" and cm.bias is False and cm.batch_first is True and cm.num_layers == 2
    cx, tx = _pair((B, T, FEAT), 4, "float64")
    co, ch = cm(cx)
    to, th = tm(tx)
    _close(co, to, "float64")
    _close(ch, th, "float64")


def test_longer_sequence_and_reuse_of_state():
    # feeding the final state back in continues the sequence: two halves equal the whole
    cm, tm = _twin("LSTM", (FEAT, HID), {"num_layers": 2}, "float64")
    cx, tx = _pair((12, 2, FEAT), 5, "float64", grad=False)
    co, (h, c) = cm(cx)
    to, _ = tm(tx)
    _close(co, to, "float64")
    o1, s1 = cm(cx[:7])
    o2, _ = cm(cx[7:], s1)
    np.testing.assert_allclose(np.concatenate([_np(o1), _np(o2)]), _np(co), rtol=1e-12, atol=1e-13)


def test_zero_batch():
    cm, tm = _twin("GRU", (FEAT, HID), {}, "float64")
    cx, tx = _pair((T, 0, FEAT), 6, "float64", grad=False)
    co, ch = cm(cx)
    to, th = tm(tx)
    assert tuple(co.shape) == tuple(to.shape) and tuple(ch.shape) == tuple(th.shape)


# ------------------------------------------------------------------ cells vs torch

CELLS = [("RNNCell", {"nonlinearity": "tanh"}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {})]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("batched,given", [(True, True), (True, False), (False, True), (False, False)],
                         ids=["batched-hx", "batched", "unbatched-hx", "unbatched"])
@pytest.mark.parametrize("kind,extra", CELLS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("device", DEVICES)
def test_cell_matches_torch(kind, extra, batched, given, bias, device):
    dtype = "float64"
    cm, tm = _twin(kind, (FEAT, HID), dict(extra, bias=bias), dtype)
    batch = (B,) if batched else ()
    cx, tx = _pair(batch + (FEAT,), 1, dtype)
    leaves = [(cx, tx)]
    if given:
        ch, th = _pair(batch + (HID,), 2, dtype)
        leaves.append((ch, th))
        if kind == "LSTMCell":
            cc, tc = _pair(batch + (HID,), 3, dtype)
            leaves.append((cc, tc))
    if device != "cpu":
        call = (lambda m, x, h, c: m(x, (h, c))) if kind == "LSTMCell" and given else None
        compare_module_on_device(cm, [c for c, _ in leaves], device, call=call)
        return
    if given:
        if kind == "LSTMCell":
            c_out, t_out = cm(cx, (ch, cc)), tm(tx, (th, tc))
        else:
            c_out, t_out = cm(cx, ch), tm(tx, th)
    else:
        c_out, t_out = cm(cx), tm(tx)
    if kind != "LSTMCell":
        c_out, t_out = (c_out,), (t_out,)
    for c, t in zip(c_out, t_out):
        _close(c, t, dtype)
    lc, lt = _loss(c_out, t_out, dtype)
    lc.backward()
    lt.backward()
    _compare_grads(cm, tm, leaves, dtype)


def test_cell_unrolled_float32():
    # several steps of an LSTMCell in float32, state carried along, against torch
    cm, tm = _twin("LSTMCell", (FEAT, HID), {}, "float32")
    cx, tx = _pair((T, B, FEAT), 7, "float32")
    cs, ts = None, None
    for t in range(T):
        cs = cm(cx[t], cs)
        ts = tm(tx[t], ts)
    _close(cs[0], ts[0], "float32")
    _close(cs[1], ts[1], "float32")
    (cs[0].sum() + cs[1].sum()).backward()
    (ts[0].sum() + ts[1].sum()).backward()
    _compare_grads(cm, tm, [(cx, tx)], "float32")


# ------------------------------------------------------------------ gradcheck


def _with_params(m, ps):
    """gradcheck differentiates private copies of its inputs, so the module must compute with the
    tensors it is handed: put them in its parameter registry for this call."""
    for name, p in zip(list(m._parameters), ps):
        m._parameters[name] = p


def _gradcheck_module(kind, **kw):
    m = getattr(nn, kind)(3, 2, **kw).double()
    x = ctorch.randn(4, 2, 3, dtype=ctorch.float64, requires_grad=True)
    D = 2 if kw.get("bidirectional") else 1
    h = ctorch.randn(kw.get("num_layers", 1) * D, 2, 2, dtype=ctorch.float64, requires_grad=True)
    params = tuple(m.parameters())
    if kind == "LSTM":
        c = ctorch.randn(kw.get("num_layers", 1) * D, 2, 2, dtype=ctorch.float64, requires_grad=True)

        def f(x, h, c, *ps):
            _with_params(m, ps)
            out, (hn, cn) = m(x, (h, c))
            return out, hn, cn
        inputs = (x, h, c) + params
    else:
        def f(x, h, *ps):
            _with_params(m, ps)
            out, hn = m(x, h)
            return out, hn
        inputs = (x, h) + params
    assert ctorch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_gradcheck_lstm():
    ctorch.manual_seed(0)
    _gradcheck_module("LSTM", num_layers=2, bidirectional=True)


def test_gradcheck_gru():
    ctorch.manual_seed(1)
    _gradcheck_module("GRU", bidirectional=True)


def test_gradcheck_lstm_proj():
    ctorch.manual_seed(2)
    m = nn.LSTM(3, 3, proj_size=2).double()
    x = ctorch.randn(3, 2, 3, dtype=ctorch.float64, requires_grad=True)
    params = tuple(m.parameters())

    def f(x, *ps):
        _with_params(m, ps)
        out, (hn, cn) = m(x)
        return out, cn
    assert ctorch.autograd.gradcheck(f, (x,) + params, eps=1e-6, atol=1e-6, rtol=1e-4)


# ------------------------------------------------------------------ structure: names, shapes, init, repr

MODULE_CASES = [
    ("RNN", (4, 6), {}),
    ("RNN", (4, 6, 3), {"nonlinearity": "relu", "bidirectional": True, "bias": False}),
    ("LSTM", (4, 6, 2), {"bidirectional": True, "proj_size": 3, "batch_first": True, "dropout": 0.25}),
    ("LSTM", (4, 6), {"bias": False}),
    ("GRU", (4, 6, 2), {"bidirectional": True, "dropout": 0.5}),
    ("RNNCell", (4, 6), {"nonlinearity": "relu", "bias": False}),
    ("RNNCell", (4, 6), {}),
    ("LSTMCell", (4, 6), {}),
    ("GRUCell", (4, 6), {"bias": False}),
]


@pytest.mark.parametrize("kind,args,kw", MODULE_CASES)
def test_state_dict_keys_shapes_and_repr(kind, args, kw):
    tm = getattr(torch.nn, kind)(*args, **kw)
    cm = getattr(nn, kind)(*args, **kw)
    assert repr(cm) == repr(tm)
    tsd, csd = tm.state_dict(), cm.state_dict()
    assert list(csd) == list(tsd)
    for k in tsd:
        assert tuple(csd[k].shape) == tuple(tsd[k].shape), k
    assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    # and a torch state_dict loads strictly
    res = cm.load_state_dict({k: ctorch.from_numpy(v.numpy().copy()) for k, v in tsd.items()})
    assert not res.missing_keys and not res.unexpected_keys
    for k in tsd:
        np.testing.assert_array_equal(cm.state_dict()[k].numpy(), tsd[k].numpy())


def test_all_weights_layout():
    cm = nn.LSTM(4, 6, 2, bidirectional=True)
    tm = torch.nn.LSTM(4, 6, 2, bidirectional=True)
    assert cm._all_weights == tm._all_weights
    assert cm._flat_weights_names == tm._flat_weights_names
    assert [[tuple(p.shape) for p in ws] for ws in cm.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in tm.all_weights]
    assert cm.all_weights[1][0] is cm.weight_ih_l0_reverse


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_default_init_uniform_bound(kind):
    ctorch.manual_seed(0)
    hidden = 16
    m = getattr(nn, kind)(8, hidden)
    bound = 1 / np.sqrt(hidden)
    for name, p in m.named_parameters():
        a = p.detach().numpy()
        assert a.min() >= -bound and a.max() <= bound, name
        # spread over the interval, not a constant
        assert a.max() - a.min() > bound, name


def test_device_dtype_arguments():
    m = nn.GRU(4, 6, 2, dtype=ctorch.float64, device="cpu")
    assert all(p.dtype == ctorch.float64 for p in m.parameters())
    out, h = m(ctorch.randn(3, 2, 4, dtype=ctorch.float64))
    assert out.dtype == ctorch.float64 and tuple(out.shape) == (3, 2, 6) and tuple(h.shape) == (2, 2, 6)
    c = nn.LSTMCell(4, 6, dtype=ctorch.float64)
    assert c.weight_ih.dtype == ctorch.float64


# ------------------------------------------------------------------ dropout


def test_dropout_single_layer_warns_like_torch():
    for kind in ("RNN", "LSTM", "GRU"):
        with warnings.catch_warnings(record=True) as wt:
            warnings.simplefilter("always")
            getattr(torch.nn, kind)(4, 6, dropout=0.5)
        with warnings.catch_warnings(record=True) as wc:
            warnings.simplefilter("always")
            getattr(nn, kind)(4, 6, dropout=0.5)
        assert len(wc) == 1 and wc[0].category is wt[0].category is UserWarning
        assert str(wc[0].message) == str(wt[0].message)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            getattr(nn, kind)(4, 6, num_layers=2, dropout=0.5)


def test_dropout_eval_is_identity_and_train_is_random():
    ctorch.manual_seed(0)
    m = nn.LSTM(4, 8, num_layers=3, dropout=0.5)
    x = ctorch.randn(5, 2, 4)
    m.eval()
    ref, _ = m(x)
    m_nodrop = nn.LSTM(4, 8, num_layers=3)
    m_nodrop.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(_np(ref), _np(m_nodrop(x)[0]))
    m.train()
    a, (ha, _) = m(x)
    b, (hb, _) = m(x)
    assert not np.allclose(_np(a), _np(ref))
    assert not np.allclose(_np(a), _np(b))
    # dropout sits between layers only: layer 0's final state never sees it
    np.testing.assert_allclose(_np(ha[0]), _np(m_nodrop(x)[1][0][0]), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_dropout_one_matches_torch_in_training(kind):
    # p = 1 is deterministic (every inter-layer activation zeroed), so torch is an exact oracle
    cm, tm = _twin(kind, (FEAT, HID), {"num_layers": 2, "dropout": 1.0, "bidirectional": True}, "float64")
    cx, tx = _pair((T, B, FEAT), 8, "float64")
    co, cs = cm(cx)
    to, ts = tm(tx)
    _close(co, to, "float64")
    if kind == "LSTM":
        cs, ts = cs[0], ts[0]
    _close(cs, ts, "float64")
    co.sum().backward()
    to.sum().backward()
    _close(cx.grad, tx.grad, "float64")


# ------------------------------------------------------------------ errors


def _both_raise(exc, fn_c, fn_t, same_message=True):
    with pytest.raises(exc) as ec:
        fn_c()
    with pytest.raises(exc) as et:
        fn_t()
    if same_message:
        assert str(ec.value) == str(et.value)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_forward_errors_like_torch(kind):
    cm = getattr(nn, kind)(4, 3, 2)
    tm = getattr(torch.nn, kind)(4, 3, 2)
    is_lstm = kind == "LSTM"

    def both(exc, x_shape, *state_shapes, same_message=True):
        def call(lib, m):
            x = lib.zeros(*x_shape)
            if not state_shapes:
                return m(x)
            states = tuple(lib.zeros(*s) for s in state_shapes)
            return m(x, states if is_lstm else states[0])
        _both_raise(exc, lambda: call(ctorch, cm), lambda: call(torch, tm), same_message)

    both(RuntimeError, (5, 2, 6))  # wrong input size
    both(ValueError, (5, 2, 4, 1), same_message=False)  # 4-D input
    both(ValueError, (5,), same_message=False)  # 1-D input
    both(RuntimeError, (0, 2, 4))  # empty sequence
    if is_lstm:
        both(RuntimeError, (5, 2, 4), (2, 2, 3), (2, 3, 3))  # wrong cell batch
        both(RuntimeError, (5, 2, 4), (2, 2, 2), (2, 2, 3))  # wrong hidden size
        both(RuntimeError, (5, 2, 4), (1, 2, 3), (2, 2, 3))  # wrong number of layers
        both(RuntimeError, (5, 2, 4), (2, 2, 3), (2, 3))  # 2-D cell for batched input
        both(RuntimeError, (5, 4), (2, 3), (2, 3, 1))  # 3-D cell for unbatched input
    else:
        both(RuntimeError, (5, 2, 4), (2, 3, 3))  # wrong batch
        both(RuntimeError, (5, 2, 4), (2, 2, 2))  # wrong hidden size
        both(RuntimeError, (5, 2, 4), (2, 3))  # 2-D hx for batched input
        both(RuntimeError, (5, 4), (2, 1, 3))  # 3-D hx for unbatched input
        both(RuntimeError, (5, 4), (1, 3))  # unbatched, wrong number of layers
    # dtype mismatch: ValueError naming both dtypes
    with pytest.raises(ValueError, match="RNN input dtype .*float64.* does not match weight dtype"):
        cm(ctorch.zeros(5, 2, 4, dtype=ctorch.float64))


def test_constructor_errors_like_torch():
    cases = [
        (ValueError, "RNN", (4, 3), {"nonlinearity": "sigmoid"}),
        (ValueError, "RNN", (4, 3), {"proj_size": 2}),
        (ValueError, "GRU", (4, 3), {"proj_size": 2}),
        (ValueError, "LSTM", (4, 3), {"proj_size": 3}),
        (ValueError, "LSTM", (4, 3), {"proj_size": -1}),
        (ValueError, "LSTM", (4, 3), {"dropout": 1.5}),
        (ValueError, "LSTM", (4, 3), {"dropout": True}),
        (ValueError, "GRU", (0, 3), {}),
        (ValueError, "GRU", (4, 0), {}),
        (ValueError, "GRU", (4, 3, 0), {}),
        (TypeError, "GRU", (4.0, 3), {}),
        (TypeError, "GRU", (4, 3), {"bias": 1}),
        (TypeError, "LSTM", (4, 3), {"batch_first": 0}),
    ]
    for exc, kind, args, kw in cases:
        _both_raise(exc, lambda: getattr(nn, kind)(*args, **kw), lambda: getattr(torch.nn, kind)(*args, **kw))


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_errors_like_torch(kind):
    cm = getattr(nn, kind)(4, 3)
    tm = getattr(torch.nn, kind)(4, 3)

    def both(exc, x_shape, h_shape=None, same_message=True):
        def call(lib, m):
            x = lib.zeros(*x_shape)
            if h_shape is None:
                return m(x)
            h = lib.zeros(*h_shape)
            return m(x, (h, lib.zeros(*h_shape)) if kind == "LSTMCell" else h)
        _both_raise(exc, lambda: call(ctorch, cm), lambda: call(torch, tm), same_message)

    both(RuntimeError, (2, 5))  # wrong input size
    both(RuntimeError, (2, 4), (3, 3))  # batch mismatch
    both(RuntimeError, (2, 4), (2, 2))  # wrong hidden size
    both(RuntimeError, (4,), (2, 3))  # unbatched input, 2-D state
    both(ValueError, (3, 2, 4))  # 3-D input
    both(ValueError, (2, 4), (1, 2, 3))  # 3-D state


def test_rnn_cell_unknown_nonlinearity_reported_at_call():
    cm = nn.RNNCell(4, 3, nonlinearity="sigmoid")  # accepted, like PyTorch
    with pytest.raises(RuntimeError, match="Unknown nonlinearity: sigmoid"):
        cm(ctorch.zeros(2, 4))


# ------------------------------------------------------------------ training trajectory


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_training_trajectory_matches_torch(kind):
    # a 2-layer bidirectional recurrent encoder + linear head, 6 Adam steps on a regression target:
    # the losses and the final weights follow torch's step for step
    dtype = "float64"
    crnn, trnn = _twin(kind, (FEAT, HID), {"num_layers": 2, "bidirectional": True, "batch_first": True},
                       dtype)
    chead, thead = _twin("Linear", (2 * HID, 1), {}, dtype)
    cx, tx = _pair((B, T, FEAT), 11, dtype, grad=False)
    cy, ty = _pair((B, 1), 12, dtype, grad=False)
    cparams = list(crnn.parameters()) + list(chead.parameters())
    tparams = list(trnn.parameters()) + list(thead.parameters())
    copt = ctorch.optim.Adam(cparams, lr=0.05)
    topt = torch.optim.Adam(tparams, lr=0.05)
    closses, tlosses = [], []
    for _ in range(6):
        for opt, rnn, head, x, y, losses in ((copt, crnn, chead, cx, cy, closses),
                                             (topt, trnn, thead, tx, ty, tlosses)):
            opt.zero_grad()
            out, _ = rnn(x)
            loss = ((head(out[:, -1]) - y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    np.testing.assert_allclose(closses, tlosses, rtol=1e-9)
    assert closses[-1] < closses[0]
    for c, t in zip(cparams, tparams):
        _close(c, t, dtype)


# ------------------------------------------------------------------ the fused LSTM cell

def _lstm_cell_reference(gates, c):
    i, f, g, o = gates.chunk(4, 1)
    cn = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * cn.tanh(), cn


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64])
def test_fused_lstm_cell_matches_the_composite(dtype):
    ctorch.manual_seed(0)
    gates = (ctorch.randn(5, 12, dtype=dtype) * 3).requires_grad_()
    c = ctorch.randn(5, 3, dtype=dtype).requires_grad_()
    h, cn = ctorch._C._lstm_cell(gates, c)
    assert h.grad_fn.name() == "LstmCellBackward0"
    rh, rc = _lstm_cell_reference(gates, c)
    tol = 1e-6 if dtype == ctorch.float32 else 1e-12
    assert ctorch.allclose(h, rh, rtol=tol, atol=tol) and ctorch.allclose(cn, rc, rtol=tol, atol=tol)
    wh, wc = ctorch.randn(5, 3, dtype=dtype), ctorch.randn(5, 3, dtype=dtype)
    got = ctorch.autograd.grad((h * wh).sum() + (cn * wc).sum(), (gates, c), retain_graph=True)
    want = ctorch.autograd.grad((rh * wh).sum() + (rc * wc).sum(), (gates, c), retain_graph=True)
    for a, b in zip(got, want):
        assert ctorch.allclose(a, b, rtol=10 * tol, atol=10 * tol)
    # only h used: c' gets no gradient of its own
    gh = ctorch.autograd.grad(h.sum(), gates)[0]
    assert ctorch.allclose(gh, ctorch.autograd.grad(rh.sum(), gates)[0], rtol=10 * tol, atol=10 * tol)


def test_fused_lstm_cell_gradcheck_and_gradgradcheck():
    ctorch.manual_seed(1)
    gates = ctorch.randn(3, 8, dtype=ctorch.float64, requires_grad=True)
    c = ctorch.randn(3, 2, dtype=ctorch.float64, requires_grad=True)
    assert ctorch.autograd.gradcheck(lambda g, s: ctorch._C._lstm_cell(g, s), (gates, c))
    assert ctorch.autograd.gradgradcheck(lambda g, s: ctorch._C._lstm_cell(g, s), (gates, c))


def test_fused_lstm_cell_errors():
    with pytest.raises(RuntimeError, match="lstm_cell"):
        ctorch._C._lstm_cell(ctorch.zeros(2, 7), ctorch.zeros(2, 2))
    with pytest.raises(TypeError, match="lstm_cell"):
        ctorch._C._lstm_cell(ctorch.zeros(2, 8, dtype=ctorch.float16), ctorch.zeros(2, 2, dtype=ctorch.float16))


def _gru_cell_reference(xg, hg, h):
    xr, xz, xn = xg.chunk(3, 1)
    hr, hz, hn = hg.chunk(3, 1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (1 - z) * n + z * h


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64])
def test_fused_gru_cell_matches_the_composite(dtype):
    ctorch.manual_seed(2)
    xg = (ctorch.randn(4, 9, dtype=dtype) * 2).requires_grad_()
    hg = (ctorch.randn(4, 9, dtype=dtype) * 2).requires_grad_()
    h = ctorch.randn(4, 3, dtype=dtype).requires_grad_()
    out = ctorch._C._gru_cell(xg, hg, h)
    assert out.grad_fn.name() == "GruCellBackward0"
    ref = _gru_cell_reference(xg, hg, h)
    tol = 1e-6 if dtype == ctorch.float32 else 1e-12
    assert ctorch.allclose(out, ref, rtol=tol, atol=tol)
    w = ctorch.randn(4, 3, dtype=dtype)
    got = ctorch.autograd.grad((out * w).sum(), (xg, hg, h))
    want = ctorch.autograd.grad((ref * w).sum(), (xg, hg, h))
    for a, b in zip(got, want):
        assert ctorch.allclose(a, b, rtol=10 * tol, atol=10 * tol)


def test_fused_gru_cell_gradcheck_and_gradgradcheck_and_errors():
    ctorch.manual_seed(3)
    args = (ctorch.randn(3, 6, dtype=ctorch.float64, requires_grad=True),
            ctorch.randn(3, 6, dtype=ctorch.float64, requires_grad=True),
            ctorch.randn(3, 2, dtype=ctorch.float64, requires_grad=True))
    assert ctorch.autograd.gradcheck(ctorch._C._gru_cell, args)
    assert ctorch.autograd.gradgradcheck(ctorch._C._gru_cell, args)
    with pytest.raises(RuntimeError, match="gru_cell"):
        ctorch._C._gru_cell(ctorch.zeros(2, 6), ctorch.zeros(2, 5), ctorch.zeros(2, 2))
    with pytest.raises(TypeError, match="gru_cell"):
        ctorch._C._gru_cell(ctorch.zeros(2, 6), ctorch.zeros(2, 6), ctorch.zeros(2, 2, dtype=ctorch.float64))
