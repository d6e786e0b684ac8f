"""Tests for PackedSequence support (ctorch.nn.utils.rnn: pack_padded_sequence, pad_packed_sequence,
pack_sequence, unpad_sequence, unpack_sequence; nn.RNN / nn.LSTM / nn.GRU on packed input), compared with
PyTorch on the same inputs and weights (copied through state_dict as NumPy): packed data, batch_sizes,
sorted / unsorted indices, final states, and gradients w.r.t. the padded input, the initial states and
every parameter; plus error cases with PyTorch's exception classes."""
import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
from ctorch.nn.utils import rnn as crnn
from conftest import DEVICES, compare_module_on_device

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

TOL = {"float64": (1e-10, 1e-12), "float32": (2e-4, 2e-5)}
FEAT, HID = 3, 5


def _np(t):
    return t.detach().numpy()


def _close(a, b, dtype="float64"):
    rtol, atol = TOL[dtype]
    assert tuple(a.shape) == tuple(b.shape), f"{tuple(a.shape)} != {tuple(b.shape)}"
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)


def _same_index(a, b):
    if b is None:
        assert a is None
    else:
        assert a.dtype == ctorch.int64
        assert a.tolist() == b.tolist()


def _same_packed(pc, pt, dtype="float64"):
    _close(pc.data, pt.data, dtype)
    assert pc.batch_sizes.dtype == ctorch.int64 and str(pc.batch_sizes.device) == "cpu"
    assert pc.batch_sizes.tolist() == pt.batch_sizes.tolist()
    _same_index(pc.sorted_indices, pt.sorted_indices)
    _same_index(pc.unsorted_indices, pt.unsorted_indices)


def _pair(shape, seed, dtype="float64", grad=True):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return (ctorch.from_numpy(a.copy()).requires_grad_(grad), torch.from_numpy(a.copy()).requires_grad_(grad))


def _twin(kind, args, kw, dtype):
    tm = getattr(torch.nn, kind)(*args, **kw).to(getattr(torch, dtype))
    cm = getattr(nn, kind)(*args, **kw).to(getattr(ctorch, dtype))
    cm.load_state_dict({k: ctorch.from_numpy(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})
    return cm, tm


# ---- pack / pad round trips


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", [([4, 4, 2, 1], True), ([2, 4, 1, 3], False),
                                                    ([3, 1, 3, 2, 1], False), ([4, 2], False)])
def test_pack_pad_round_trip(lengths, enforce_sorted, batch_first):
    T, B = 4, len(lengths)
    shape = (B, T, 2) if batch_first else (T, B, 2)
    xc, xt = _pair(shape, 1)
    pc = crnn.pack_padded_sequence(xc, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    pt = trnn.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    assert isinstance(pc, crnn.PackedSequence) and isinstance(pc, tuple)
    _same_packed(pc, pt)
    for total in (None, 6):
        padc, lc = crnn.pad_packed_sequence(pc, batch_first=batch_first, padding_value=-2.5,
                                            total_length=total)
        padt, lt = trnn.pad_packed_sequence(pt, batch_first=batch_first, padding_value=-2.5,
                                            total_length=total)
        _close(padc, padt)
        assert lc.dtype == ctorch.int64 and lc.tolist() == lt.tolist()
    # gradients flow back through pack and pad to the padded input
    w = np.random.default_rng(7).standard_normal(tuple(padt.shape))
    (padc * ctorch.from_numpy(w.copy())).sum().backward()
    (padt * torch.from_numpy(w.copy())).sum().backward()
    _close(xc.grad, xt.grad)


def test_lengths_as_tensor_and_pack_sequence_and_unpack():
    seqs = [_pair((n, 2), 10 + n) for n in (2, 5, 3)]
    xc = crnn.pad_sequence([c for c, _ in seqs])
    xt = trnn.pad_sequence([t for _, t in seqs])
    pc = crnn.pack_padded_sequence(xc, ctorch.tensor([2, 5, 3]), enforce_sorted=False)
    pt = trnn.pack_padded_sequence(xt, torch.tensor([2, 5, 3]), enforce_sorted=False)
    _same_packed(pc, pt)
    for enforce in (False,):
        _same_packed(crnn.pack_sequence([c for c, _ in seqs], enforce_sorted=enforce),
                     trnn.pack_sequence([t for _, t in seqs], enforce_sorted=enforce))
    _same_packed(crnn.pack_sequence([seqs[1][0], seqs[2][0], seqs[0][0]]),
                 trnn.pack_sequence([seqs[1][1], seqs[2][1], seqs[0][1]]))
    outc = crnn.unpack_sequence(pc)
    outt = trnn.unpack_sequence(pt)
    assert len(outc) == len(outt) == 3
    for a, b in zip(outc, outt):
        _close(a, b)
    for a, b in zip(crnn.unpad_sequence(xc, [2, 5, 3]), trnn.unpad_sequence(xt, torch.tensor([2, 5, 3]))):
        _close(a, b)
    bfc = crnn.unpad_sequence(xc.transpose(0, 1), ctorch.tensor([2, 5, 3]), batch_first=True)
    for a, (c, _) in zip(bfc, seqs):
        _close(a, c)


def test_packed_sequence_to_and_fields():
    xc, _ = _pair((3, 2, 2), 3, "float32")
    pc = crnn.pack_padded_sequence(xc, [3, 1], enforce_sorted=False)
    assert pc.to(ctorch.float32) is pc
    pd = pc.to(ctorch.float64)
    assert pd.data.dtype == ctorch.float64 and pd.batch_sizes.tolist() == [2, 1, 1]
    assert pc.double().data.dtype == ctorch.float64 and pd.float().data.dtype == ctorch.float32
    data, batch_sizes, sorted_indices, unsorted_indices = pc
    assert sorted_indices.tolist() == [0, 1] and unsorted_indices.tolist() == [0, 1]
    assert crnn.invert_permutation(ctorch.tensor([2, 0, 1])).tolist() == [1, 2, 0]


# ---- errors


@pytest.mark.parametrize("lengths,enforce_sorted", [([1, 2], True), ([2, 0], True), ([0, 1], False),
                                                    ([3, 2, 1], True), ([-1, 2], False)])
def test_pack_errors_match_torch(lengths, enforce_sorted):
    xc, xt = _pair((3, 2, 1), 0, grad=False)
    with pytest.raises(RuntimeError) as et:
        trnn.pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted)
    with pytest.raises(RuntimeError) as ec:
        crnn.pack_padded_sequence(xc, lengths, enforce_sorted=enforce_sorted)
    assert str(ec.value) == str(et.value)


def test_pack_other_errors():
    with pytest.raises(RuntimeError, match="Cannot pack empty tensors"):
        crnn.pack_padded_sequence(ctorch.zeros(0, 2, 1), [1, 1])
    with pytest.raises(RuntimeError, match="Cannot pack empty tensors"):
        trnn.pack_padded_sequence(torch.zeros(0, 2, 1), [1, 1])
    # a length beyond the padded input: PyTorch's CPU kernel reads out of bounds; ctorch refuses
    with pytest.raises(RuntimeError, match="exceeds"):
        crnn.pack_padded_sequence(ctorch.zeros(3, 2, 1), [4, 1])
    pc = crnn.pack_padded_sequence(ctorch.zeros(3, 2, 1), [3, 1])
    pt = trnn.pack_padded_sequence(torch.zeros(3, 2, 1), [3, 1])
    with pytest.raises(ValueError):
        trnn.pad_packed_sequence(pt, total_length=2)
    with pytest.raises(ValueError, match="total_length=2"):
        crnn.pad_packed_sequence(pc, total_length=2)


def test_rnn_packed_errors():
    m = nn.LSTM(FEAT, HID)
    tm = torch.nn.LSTM(FEAT, HID)
    pc = crnn.pack_padded_sequence(ctorch.zeros(3, 2, FEAT), [3, 1])
    pt = trnn.pack_padded_sequence(torch.zeros(3, 2, FEAT), [3, 1])
    bad_c = (ctorch.zeros(1, 3, HID), ctorch.zeros(1, 3, HID))
    bad_t = (torch.zeros(1, 3, HID), torch.zeros(1, 3, HID))
    with pytest.raises(RuntimeError) as et:
        tm(pt, bad_t)
    # torch fails inside its kernel; ctorch checks first, with the class torch raises
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 5\), got \[1, 3, 5\]"):
        m(pc, bad_c)
    g = nn.GRU(FEAT + 1, HID)
    with pytest.raises(RuntimeError, match="input_size"):
        g(pc)
    with pytest.raises(RuntimeError, match="input_size"):
        torch.nn.GRU(FEAT + 1, HID)(pt)


# ---- recurrent layers on packed input


CASES = [
    ("RNN", 1, False, [4, 3, 3, 1], True, {}),
    ("RNN", 2, True, [2, 4, 1, 3], False, {"nonlinearity": "relu"}),
    ("LSTM", 1, True, [3, 4, 1], False, {}),
    ("LSTM", 2, True, [2, 4, 4, 1], False, {}),
    ("LSTM", 2, False, [4, 2, 2], True, {"proj_size": 3}),
    ("GRU", 1, False, [1, 4, 2], False, {}),
    ("GRU", 2, True, [3, 1, 4, 2], False, {"batch_first": True}),
    ("LSTM", 1, True, [2, 3, 3], False, {"bias": False, "batch_first": True}),
    ("GRU", 1, True, [2, 2, 1], True, {"bias": False}),
]


@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("kind,layers,bidir,lengths,enforce,kw", CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_packed_rnn_matches_torch(kind, layers, bidir, lengths, enforce, kw, with_hx, device):
    dtype = "float64"
    cm, tm = _twin(kind, (FEAT, HID), dict(num_layers=layers, bidirectional=bidir, **kw), dtype)
    batch_first = kw.get("batch_first", False)
    T, B = max(lengths), len(lengths)
    xc, xt = _pair((B, T, FEAT) if batch_first else (T, B, FEAT), 1, dtype)
    pc = crnn.pack_padded_sequence(xc, lengths, batch_first=batch_first, enforce_sorted=enforce)
    pt = trnn.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=enforce)
    D = 2 if bidir else 1
    leaves = [(xc, xt)]
    hxc = hxt = None
    if with_hx:
        h_size = kw.get("proj_size", 0) or HID
        hc, ht = _pair((layers * D, B, h_size), 2, dtype)
        leaves.append((hc, ht))
        if kind == "LSTM":
            cc, ct = _pair((layers * D, B, HID), 3, dtype)
            leaves.append((cc, ct))
            hxc, hxt = (hc, cc), (ht, ct)
        else:
            hxc, hxt = hc, ht
    if device != "cpu":  # pack on the device, run, pad back: outputs, states and gradients vs the CPU
        def call(m, x, *hx):
            p = crnn.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=enforce)
            out, state = m(p, (tuple(hx) if kind == "LSTM" else hx[0]) if hx else None)
            return crnn.pad_packed_sequence(out, batch_first=batch_first)[0], state
        compare_module_on_device(cm, [a for a, _ in leaves], device, call=call)
        return
    outc, statec = cm(pc, hxc)
    outt, statet = tm(pt, hxt)
    assert isinstance(outc, crnn.PackedSequence)
    _same_packed(outc, outt, dtype)
    statec = statec if kind == "LSTM" else (statec,)
    statet = statet if kind == "LSTM" else (statet,)
    for a, b in zip(statec, statet):
        _close(a, b, dtype)
    # loss on the padded output and every final state
    padc, _ = crnn.pad_packed_sequence(outc, batch_first=batch_first)
    padt, _ = trnn.pad_packed_sequence(outt, batch_first=batch_first)
    lc, lt = 0, 0
    for k, (a, b) in enumerate(zip((padc,) + tuple(statec), (padt,) + tuple(statet))):
        wc, wt = _pair(tuple(b.shape), 50 + k, dtype, grad=False)
        lc = lc + (a * wc).sum()
        lt = lt + (b * wt).sum()
    lc.backward()
    lt.backward()
    for a, b in leaves:
        _close(a.grad, b.grad, dtype)
    tparams = dict(tm.named_parameters())
    for name, p in cm.named_parameters():
        assert p.grad is not None, name
        _close(p.grad, tparams[name].grad, dtype)


def test_packed_lstm_float32_and_full_lengths_match_unpacked():
    cm, tm = _twin("LSTM", (FEAT, HID), {"bidirectional": True}, "float32")
    xc, xt = _pair((4, 3, FEAT), 5, "float32")
    outc, (hc, cc) = cm(crnn.pack_padded_sequence(xc, [4, 2, 3], enforce_sorted=False))
    outt, (ht, ct) = tm(trnn.pack_padded_sequence(xt, [4, 2, 3], enforce_sorted=False))
    _same_packed(outc, outt, "float32")
    _close(hc, ht, "float32")
    _close(cc, ct, "float32")
    # all lengths equal: the packed run equals the padded run
    po, (ph, pcell) = cm(crnn.pack_padded_sequence(xc, [4, 4, 4]))
    o, (h, c) = cm(xc)
    _close(crnn.pad_packed_sequence(po)[0], o, "float32")
    _close(ph, h, "float32")
    _close(pcell, c, "float32")
