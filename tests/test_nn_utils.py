"""Tests for ctorch.nn.utils (clip_grad, convert_parameters, rnn.pad_sequence), dropout, pad, normalize,
cosine_similarity, glu, softmin and Embedding, compared with PyTorch where results are deterministic."""
import math

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F
from conftest import DEVICES, assert_close_devices, compare_module_on_device, compare_on_device, to_device

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
@pytest.mark.parametrize("device", DEVICES)
def test_clip_grad_norm_matches_torch(norm_type, max_norm, device):
    nt = float(norm_type)
    cps, tps = _param_pairs([(3, 4), (5,), (2, 2, 2)])
    if device != "cpu":
        dps = [nn.Parameter(to_device(p.detach(), device)) for p in cps]
        for d, p in zip(dps, cps):
            d.grad = to_device(p.grad, device)
        dn = nn.utils.clip_grad_norm_(dps, max_norm, norm_type=nt)
        assert_close_devices(dn, nn.utils.clip_grad_norm_(cps, max_norm, norm_type=nt))
        for d, p in zip(dps, cps):
            assert_close_devices(d.grad, p.grad)
        return
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


# ---------------------------------------------------------------- dropout (semantics: the random streams
# differ from PyTorch's, so masks are checked for their properties, not compared)

def test_dropout_train_semantics_and_gradient():
    ctorch.manual_seed(0)
    p = 0.3
    x = ctorch.rand(200, 100) + 0.5  # strictly positive, so zeros in the output are dropped elements
    x.requires_grad_(True)
    y = F.dropout(x, p=p, training=True)
    dropped = (y == 0)
    frac = float(dropped.float().mean())
    assert abs(frac - p) < 0.02  # 20000 draws: std of the fraction ~0.003
    kept = ~dropped
    np.testing.assert_allclose(y[kept].detach().numpy(), (x[kept] / (1 - p)).detach().numpy(), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept.float().numpy() / (1 - p), rtol=1e-6)


def test_dropout_reproducible_with_seed_and_edge_probabilities():
    x = ctorch.ones(50)
    ctorch.manual_seed(3)
    a = F.dropout(x, 0.5)
    ctorch.manual_seed(3)
    b = F.dropout(x, 0.5)
    assert bool((a == b).all())
    assert F.dropout(x, 0.5, training=False) is x
    assert bool((F.dropout(x, 0.0) == x).all())
    xr = ctorch.ones(5, requires_grad=True)
    z = F.dropout(xr, 1.0)
    assert bool((z == 0).all())
    z.sum().backward()
    assert bool((xr.grad == 0).all())


def test_dropout_inplace():
    ctorch.manual_seed(1)
    x = ctorch.ones(1000)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x
    vals = set(np.unique(x.numpy()).tolist())
    assert vals == {0.0, 2.0}
    # in-place on a non-leaf keeps autograd right
    leaf = ctorch.ones(1000, requires_grad=True)
    h = leaf * 1.0
    F.dropout(h, 0.5, inplace=True)
    (h * 3).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 3 * h.detach().numpy())


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_p_validation(p):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout2d(p)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(ctorch.ones(3), p)


def test_dropout_module_train_eval_and_repr():
    m = nn.Dropout(0.4)
    assert repr(m) == repr(torch.nn.Dropout(0.4))
    assert repr(nn.Dropout2d(0.2, inplace=True)) == repr(torch.nn.Dropout2d(0.2, inplace=True))
    x = ctorch.rand(100, 100) + 1.0
    ctorch.manual_seed(0)
    y = m(x)
    assert 0.3 < float((y == 0).float().mean()) < 0.5
    m.eval()
    assert bool((m(x) == x).all())
    m.train()
    assert float((m(x) == 0).float().mean()) > 0.3


@pytest.mark.parametrize("shape, fn, module, lead", [
    ((8, 16, 5, 5), F.dropout2d, nn.Dropout2d, 2),
    ((8, 16, 7), F.dropout1d, nn.Dropout1d, 2),
    ((16, 7), F.dropout1d, nn.Dropout1d, 1),
    ((4, 16, 2, 3, 3), F.dropout3d, nn.Dropout3d, 2),
    ((16, 2, 3, 3), F.dropout3d, nn.Dropout3d, 1),
])
def test_feature_dropout_drops_whole_channels(shape, fn, module, lead):
    ctorch.manual_seed(5)
    p = 0.5
    x = (ctorch.rand(*shape) + 0.5).requires_grad_(True)
    y = fn(x, p)
    flat = y.detach().numpy().reshape(int(np.prod(shape[:lead])), -1)
    xflat = x.detach().numpy().reshape(flat.shape)
    zero_rows = (flat == 0).all(axis=1)
    kept_rows = (flat != 0).all(axis=1)
    assert bool((zero_rows | kept_rows).all())  # every channel is dropped or kept as a whole
    assert 0 < zero_rows.sum() < len(zero_rows)
    np.testing.assert_allclose(flat[kept_rows], xflat[kept_rows] / (1 - p), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy().reshape(flat.shape), (flat != 0) / (1 - p), rtol=1e-6)
    m = module(p)
    m.eval()
    assert bool((m(x) == x).all())


def test_dropout2d_3d_input_warns_and_dropout1d_rank_error():
    with pytest.warns(UserWarning, match="dropout2d"):
        F.dropout2d(ctorch.ones(2, 3, 4), 0.5)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(ctorch.ones(2, 3, 4, 5), 0.5)


def test_alpha_dropout_values_and_statistics():
    ctorch.manual_seed(0)
    p = 0.2
    alpha = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha ** 2 * p + 1) * (1 - p))
    x = ctorch.randn(400, 250)
    y = F.alpha_dropout(x, p, training=True)
    xn, yn = x.numpy(), y.numpy()
    dropped_value = -alpha * a + alpha * a * p
    dropped = np.isclose(yn, dropped_value, atol=1e-6)
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(yn[~dropped], xn[~dropped] * a + alpha * a * p, rtol=1e-5, atol=1e-6)
    # preserves zero mean and unit variance of a standard normal input (the point of alpha dropout)
    assert abs(yn.mean()) < 0.02 and abs(yn.std() - 1.0) < 0.02
    assert F.alpha_dropout(x, p) is x  # training defaults to False
    m = nn.AlphaDropout(p)
    m.eval()
    assert m(x) is x


# ---------------------------------------------------------------- pad, normalize, cosine_similarity, glu,
# softmin: values and gradients against PyTorch

def _check_fn(cfn, tfn, *arrays, atol=1e-5, rtol=1e-5, device="cpu"):
    rng = np.random.default_rng(11)
    cs = [_ct(a, True) for a in arrays]
    if device != "cpu":  # cfn there against cfn on the CPU
        compare_on_device(cfn, cs, device, atol=atol)  # a looser atol than PyTorch's wins
        return
    ts = [_tt(a, True) for a in arrays]
    co, to = cfn(*cs), tfn(*ts)
    assert tuple(co.shape) == tuple(to.shape)
    _close(co, to, atol=atol, rtol=rtol)
    w = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    (co * _ct(w)).sum().backward()
    (to * _tt(w)).sum().backward()
    for c, t in zip(cs, ts):
        _close(c.grad, t.grad, atol=atol, rtol=rtol)


def _arr(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, padding", [
    ((2, 5), (2, 3)), ((2, 3, 5), (1, 4)), ((2, 3, 5), (0, -1)),
    ((3, 4, 5), (1, 2, 3, 0)), ((2, 3, 4, 5), (2, 1, 1, 3)),
    ((2, 3, 4, 5), (1, 1, 2, 2, 2, 1)), ((2, 2, 3, 4, 5), (1, 2, 0, 1, 2, 2)),
])
@pytest.mark.parametrize("device", DEVICES)
def test_pad_modes_match_torch(mode, shape, padding, device):
    _check_fn(lambda x: F.pad(x, padding, mode=mode),
              lambda x: torch.nn.functional.pad(x, padding, mode=mode),
              _arr(*shape), device=device)


@pytest.mark.parametrize("shape, padding, value", [
    ((5,), (2, 3), 0.0), ((2, 3, 4), (1, 2, 0, 1, 3, 0), 1.5), ((2, 3, 4, 5), (-1, 2, 1, -2), -2.0),
    ((2, 3), (0, 0), 0.0), ((2, 3, 4, 5), (1, 1, 1, 1, 1, 1, 1, 1), 0.5),
])
@pytest.mark.parametrize("device", DEVICES)
def test_pad_constant_matches_torch(shape, padding, value, device):
    _check_fn(lambda x: F.pad(x, padding, value=value),
              lambda x: torch.nn.functional.pad(x, padding, value=value), _arr(*shape), device=device)


def test_pad_errors_match_torch():
    x = ctorch.ones(1, 2, 3)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(x, (1,))
    with pytest.raises(RuntimeError, match="less than or equal to two times"):
        F.pad(x, (1,) * 8)
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        F.pad(x, (1, 1), mode="foo")
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(x, (4, 0), mode="circular")
    with pytest.raises(RuntimeError, match="doesn't take in value argument"):
        F.pad(x, (1, 0), mode="reflect", value=1.0)
    with pytest.raises(NotImplementedError, match="not supported for 1D input"):
        F.pad(ctorch.ones(3), (1, 1), mode="replicate")


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1), (math.inf, 1)])
@pytest.mark.parametrize("device", DEVICES)
def test_normalize_matches_torch(p, dim, device):
    _check_fn(lambda x: F.normalize(x, p=p, dim=dim),
              lambda x: torch.nn.functional.normalize(x, p=p, dim=dim), _arr(4, 5, 3), device=device)


def test_normalize_zero_vector_is_clamped():
    x = np.zeros((2, 3), dtype=np.float32)
    x[1] = [3.0, 4.0, 0.0]
    c = F.normalize(_ct(x), dim=1)
    _close(c, torch.nn.functional.normalize(_tt(x), dim=1))
    assert bool(ctorch.isfinite(c).all())


@pytest.mark.parametrize("s1, s2, dim", [((4, 5), (4, 5), 1), ((3, 4, 5), (3, 4, 5), -1),
                                         ((3, 4, 5), (1, 4, 5), 0), ((6, 3), (6, 3), 0)])
@pytest.mark.parametrize("device", DEVICES)
def test_cosine_similarity_matches_torch(s1, s2, dim, device):
    _check_fn(lambda a, b: F.cosine_similarity(a, b, dim=dim),
              lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=dim),
              _arr(*s1, seed=1), _arr(*s2, seed=2), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_cosine_similarity_small_norm_matches_torch(device):
    a = _arr(3, 4, seed=3)
    b = _arr(3, 4, seed=4)
    a[0] *= 1e-10  # norm below eps: clamped value, unclamped gradient path
    _check_fn(lambda x, y: F.cosine_similarity(x, y, eps=1e-8),
              lambda x, y: torch.nn.functional.cosine_similarity(x, y, eps=1e-8), a, b, atol=1e-4, device=device)


@pytest.mark.parametrize("shape, dim", [((4, 6), -1), ((4, 6, 3), 1), ((2, 3), 0)])
@pytest.mark.parametrize("device", DEVICES)
def test_glu_matches_torch(shape, dim, device):
    if shape[dim] % 2:
        with pytest.raises(RuntimeError, match="Halving dimension must be even"):
            F.glu(ctorch.ones(*shape), dim)
        return
    _check_fn(lambda x: F.glu(x, dim), lambda x: torch.nn.functional.glu(x, dim), _arr(*shape), device=device)


def test_glu_scalar_error():
    with pytest.raises(RuntimeError, match="does not support scalars"):
        F.glu(ctorch.tensor(1.0))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("device", DEVICES)
def test_softmin_matches_torch(dim, device):
    _check_fn(lambda x: F.softmin(x, dim), lambda x: torch.nn.functional.softmin(x, dim), _arr(3, 4, 5), device=device)
    c = F.softmin(_ct(_arr(3, 4)), dim, dtype=ctorch.float64)
    assert c.dtype == ctorch.float64


# ---------------------------------------------------------------- embedding

def _embedding_pair(num, dim, seed=0, **kwargs):
    w = _arr(num, dim, seed=seed)
    ce = nn.Embedding.from_pretrained(_ct(w), freeze=False, **kwargs)
    te = torch.nn.Embedding.from_pretrained(_tt(w), freeze=False, **kwargs)
    return ce, te


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
@pytest.mark.parametrize("device", DEVICES)
def test_embedding_output_and_weight_grad_match_torch(padding_idx, scale_grad_by_freq, device):
    ce, te = _embedding_pair(7, 4, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
    idx = np.array([[1, 2, 2, 6], [0, 1, 1, 1], [6, 2, 3, 3]], dtype=np.int64)  # repeats and padding
    if device != "cpu":
        compare_module_on_device(ce, [_ct(idx)], device)
        return
    co, to = ce(_ct(idx)), te(_tt(idx))
    assert tuple(co.shape) == (3, 4, 4)
    _close(co, to)
    g = _arr(3, 4, 4, seed=9)
    (co * _ct(g)).sum().backward()
    (to * _tt(g)).sum().backward()
    _close(ce.weight.grad, te.weight.grad)
    if padding_idx is not None:
        assert bool((ce.weight.grad[padding_idx % 7] == 0).all())


def test_embedding_functional_int32_and_1d():
    w = _arr(5, 3)
    idx = np.array([4, 0, 4], dtype=np.int32)
    cw, tw = _ct(w, True), _tt(w, True)
    co = F.embedding(_ct(idx), cw, padding_idx=0)
    to = torch.nn.functional.embedding(_tt(idx), tw, padding_idx=0)
    _close(co, to)
    co.sum().backward()
    to.sum().backward()
    _close(cw.grad, tw.grad)


def test_embedding_max_norm_matches_torch():
    ce, te = _embedding_pair(6, 4, seed=4, max_norm=1.0)
    ce.weight.data.mul_(3.0)
    te.weight.data.mul_(3.0)
    idx = np.array([0, 2, 2, 5], dtype=np.int64)
    _close(ce(_ct(idx)), te(_tt(idx)))
    _close(ce.weight, te.weight)  # referenced rows renormalised in place, the others untouched


def test_embedding_module_init_repr_and_padding_row():
    ctorch.manual_seed(0)
    e = nn.Embedding(1000, 16, padding_idx=3)
    w = e.weight.detach().numpy()
    assert w.shape == (1000, 16) and e.weight.requires_grad
    assert (w[3] == 0).all()
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.03 and abs(rest.std() - 1.0) < 0.03  # N(0, 1)
    assert repr(e) == repr(torch.nn.Embedding(1000, 16, padding_idx=3))
    assert repr(nn.Embedding(5, 2, padding_idx=-1, max_norm=2.0, scale_grad_by_freq=True)) == \
        repr(torch.nn.Embedding(5, 2, padding_idx=-1, max_norm=2.0, scale_grad_by_freq=True))
    # a training step leaves the padding row at zero
    out = e(ctorch.tensor([[3, 1], [3, 3]]))
    out.pow(2).sum().backward()
    assert bool((e.weight.grad[3] == 0).all()) and bool((e.weight.grad[1] != 0).all())


def test_embedding_from_pretrained_freeze():
    w = ctorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    assert (e.num_embeddings, e.embedding_dim) == (3, 2)
    np.testing.assert_allclose(e(ctorch.tensor([2, 0])).numpy(), [[5.0, 6.0], [1.0, 2.0]])
    e2 = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert e2.weight.requires_grad and e2.padding_idx == 1
    np.testing.assert_allclose(e2.weight.detach().numpy()[1], [3.0, 4.0])  # pretrained row kept
    with pytest.raises(AssertionError, match="2-dimensional"):
        nn.Embedding.from_pretrained(ctorch.ones(3))


def test_embedding_errors():
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=-11)
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
        F.embedding(ctorch.ones(2), ctorch.ones(3, 3))
    with pytest.raises(IndexError, match="index out of range"):
        F.embedding(ctorch.tensor([5]), ctorch.ones(3, 3))
    with pytest.raises(IndexError, match="index out of range"):
        F.embedding(ctorch.tensor([-1]), ctorch.ones(3, 3))
