"""Autograd of the view/shape and joining ops: gradcheck (float64), gradgradcheck, gradients and
node names against torch, views that stay views, in-place ops on views reaching their base."""
import numpy as np
import pytest

import ctorch
from conftest import L, as_list, spec_leaves
from ctorch.autograd import gradcheck, gradgradcheck


# (id, fn, input specs). Every fn runs unchanged on ctorch and torch tensors.
SHAPE_CASES = [
    ("view", lambda x: x.view(4, 3), [(3, 4)]),
    ("view_nc", lambda x: x.view(3, 2, 2), [("nc", (3, 4))]),
    ("view_0d", lambda x: x.view(1, 1), [()]),
    ("view_zero", lambda x: x.view(3, 0, 2), [(2, 0, 3)]),
    ("reshape", lambda x: x.reshape(2, -1), [(3, 4)]),
    ("reshape_copy", lambda x: x.reshape(-1), [("t", (4, 3))]),
    ("reshape_0d", lambda x: x.reshape(()), [(1,)]),
    ("flatten", lambda x: x.flatten(1), [(2, 3, 2)]),
    ("flatten_nc", lambda x: x.flatten(), [("nc", (3, 4))]),
    ("flatten_0d", lambda x: x.flatten(), [()]),
    ("unflatten", lambda x: x.unflatten(-1, (2, 2)), [(3, 4)]),
    ("transpose", lambda x: x.transpose(0, -1), [(2, 3, 4)]),
    ("transpose_0d", lambda x: x.transpose(0, -1), [()]),
    ("t", lambda x: x.t(), [("nc", (3, 4))]),
    ("t_1d", lambda x: x.t(), [(4,)]),
    ("T", lambda x: x.T, [(3, 4)]),
    ("mT", lambda x: x.mT, [(2, 3, 4)]),
    ("permute", lambda x: x.permute(2, 0, 1), [("nc", (2, 3, 4))]),
    ("permute_neg", lambda x: x.permute(-1, 0, -2), [(2, 3, 4)]),
    ("movedim", lambda x: x.movedim((0, 1), (-1, 0)), [(2, 3, 4)]),
    ("expand", lambda x: x.expand(2, 3, 4), [(3, 1)]),
    ("expand_keep", lambda x: x.expand(2, -1, 4), [("nc", (3, 1))]),
    ("expand_0d", lambda x: x.expand(2, 3), [()]),
    ("expand_zero", lambda x: x.expand(0, 3), [(1, 3)]),
    ("broadcast_to", lambda x: L(x).broadcast_to(x, (4, 3)), [(3,)]),
    ("broadcast_tensors", lambda x, y: L(x).broadcast_tensors(x, y), [(3, 1), (1, 4)]),
    ("squeeze", lambda x: x.squeeze(), [(3, 1, 4, 1)]),
    ("squeeze_dim", lambda x: x.squeeze(-1), [(3, 1, 4, 1)]),
    ("squeeze_dims", lambda x: x.squeeze((1, 3)), [(3, 1, 4, 1)]),
    ("squeeze_0d", lambda x: x.squeeze(), [()]),
    ("unsqueeze", lambda x: x.unsqueeze(-1), [("nc", (3, 4))]),
    ("unsqueeze_0d", lambda x: x.unsqueeze(0), [()]),
    ("narrow", lambda x: x.narrow(-1, 1, 2), [(3, 4)]),
    ("select", lambda x: x.select(1, -1), [("nc", (3, 4))]),
    ("select_to_0d", lambda x: x.select(0, 2), [(4,)]),
    ("index_int", lambda x: x[:, 1], [(3, 4)]),
    ("slice_step", lambda x: x[1:, ::2], [(3, 4)]),
    ("slice_step3", lambda x: x[::3], [("nc", (7, 2))]),
    ("slice_empty", lambda x: x[2:1], [(3, 4)]),
    ("index_none_ellipsis", lambda x: x[None, ..., 1:], [(3, 4)]),
    ("unbind", lambda x: x.unbind(1), [(3, 4)]),
    ("unbind_neg", lambda x: L(x).unbind(x, -1), [("nc", (2, 3))]),
    ("split", lambda x: x.split(3, 1), [(2, 7)]),
    ("split_sizes", lambda x: x.split([1, 0, 3], -1), [(2, 4)]),
    ("chunk", lambda x: x.chunk(3, 0), [(5, 2)]),
    ("as_strided", lambda x: x.as_strided((2, 2), (1, 2), 1), [(3, 4)]),
    ("as_strided_overlap", lambda x: x.as_strided((3, 3), (1, 1)), [(3, 4)]),
    ("as_strided_of_t", lambda x: x.t().as_strided((2, 3), (2, 4)), [(3, 4)]),
    ("as_strided_expanded_input", lambda x: x.expand(3, 4).as_strided((2, 2), (0, 1)), [(1, 4)]),
    ("diagonal", lambda x: x.diagonal(), [(3, 4)]),
    ("diagonal_dims", lambda x: x.diagonal(1, -1, 0), [("nc", (2, 3, 4))]),
    ("diagonal_neg", lambda x: x.diagonal(-1), [(3, 4)]),
    ("zero_transpose", lambda x: x.transpose(0, 1), [(0, 3)]),
    ("zero_select", lambda x: x.select(1, 1), [(0, 3)]),
    ("zero_split", lambda x: x.split(1, 1), [(0, 3)]),
]

JOIN_CASES = [
    ("cat", lambda x, y: L(x).cat([x, y], 0), [(2, 3), ("nc", (1, 3))]),
    ("cat_neg_dim", lambda x, y: L(x).cat([x, y, x], -1), [(2, 3), (2, 1)]),
    ("cat_legacy_empty", lambda x, y: L(x).cat([x, y]), [(2, 3), (0,)]),
    ("cat_zero", lambda x, y: L(x).cat([x, y], 1), [(2, 0), (2, 3)]),
    ("stack", lambda x, y: L(x).stack([x, y], -1), [(2, 3), ("nc", (2, 3))]),
    ("stack_0d", lambda x, y: L(x).stack([x, y]), [(), ()]),
    ("hstack", lambda x, y: L(x).hstack([x, y]), [(2,), (3,)]),
    ("vstack", lambda x, y: L(x).vstack([x, y]), [(3,), (2, 3)]),
    ("dstack", lambda x, y: L(x).dstack([x, y]), [(2, 3), (2, 3)]),
    ("atleast_1d", lambda x: L(x).atleast_1d(x), [()]),
    ("atleast_2d", lambda x: L(x).atleast_2d(x), [(3,)]),
    ("atleast_3d", lambda x: L(x).atleast_3d(x), [(2, 3)]),
    ("flip", lambda x: x.flip((0, -1)), [("nc", (3, 4))]),
    ("flip_0d", lambda x: x.flip(()), [()]),
    ("fliplr", lambda x: x.fliplr(), [(3, 4)]),
    ("flipud", lambda x: x.flipud(), [(3, 4)]),
    ("roll", lambda x: x.roll(1, 0), [(3, 4)]),
    ("roll_flat", lambda x: x.roll(-5), [("nc", (3, 4))]),
    ("roll_dims", lambda x: x.roll((1, -2), (0, -1)), [(3, 4)]),
    ("repeat", lambda x: x.repeat(2, 1, 3), [(3, 2)]),
    ("repeat_nc", lambda x: x.repeat(2, 2), [("nc", (2, 3))]),
    ("repeat_zero", lambda x: x.repeat(0, 2), [(2, 3)]),
    ("repeat_0d", lambda x: x.repeat(2, 3), [()]),
    ("tile", lambda x: x.tile((2,)), [(2, 3)]),
    ("repeat_interleave", lambda x: x.repeat_interleave(2), [(2, 3)]),
    ("repeat_interleave_dim", lambda x: x.repeat_interleave(3, dim=-1), [("nc", (2, 3))]),
    ("repeat_interleave_zero", lambda x: x.repeat_interleave(0, dim=0), [(2, 3)]),
    ("tril", lambda x: x.tril(), [(3, 4)]),
    ("tril_k", lambda x: x.tril(-1), [("nc", (2, 3, 4))]),
    ("triu", lambda x: x.triu(1), [(4, 3)]),
    ("tril_", lambda x: x.clone().tril_(1), [(3, 4)]),
    ("triu_", lambda x: x.clone().triu_(), [(3, 4)]),
    ("diag_2d", lambda x: x.diag(1), [(3, 4)]),
    ("diag_1d", lambda x: x.diag(-1), [(3,)]),
    ("diag_embed", lambda x: L(x).diag_embed(x), [(2, 3)]),
    ("diag_embed_dims", lambda x: L(x).diag_embed(x, 1, 0, -1), [("nc", (2, 3))]),
    ("select_scatter", lambda x, s: L(x).select_scatter(x, s, 1, -1), [(3, 4), (3,)]),
    ("slice_scatter", lambda x, s: L(x).slice_scatter(x, s, 1, 0, 4, 2), [(3, 4), ("nc", (3, 2))]),
    ("diagonal_scatter", lambda x, s: L(x).diagonal_scatter(x, s, -1), [(3, 4), (2,)]),
    ("rot90", lambda x: x.rot90(), [(3, 4)]),
    ("rot90_2", lambda x: x.rot90(2), [("nc", (3, 4))]),
    ("rot90_3", lambda x: x.rot90(-1, (1, 0)), [(3, 4)]),
    ("rot90_0", lambda x: x.rot90(0), [(3, 4)]),
    ("rot90_3d", lambda x: x.rot90(1, (0, 2)), [(2, 3, 2)]),
    ("meshgrid_ij", lambda x, y: L(x).meshgrid(x, y, indexing="ij"), [(3,), (2,)]),
    ("meshgrid_xy", lambda x, y: L(x).meshgrid(x, y, indexing="xy"), [(3,), (2,)]),
]

CASES = SHAPE_CASES + JOIN_CASES


@pytest.mark.parametrize("name,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, specs):
    assert gradcheck(fn, spec_leaves(ctorch, specs, 1, ctorch.float64))


@pytest.mark.parametrize("name,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, fn, specs):
    torch = pytest.importorskip("torch")
    ours = spec_leaves(ctorch, specs, 2, ctorch.float32)
    theirs = spec_leaves(torch, specs, 2, torch.float32)
    out, tout = as_list(fn(*ours)), as_list(fn(*theirs))
    assert len(out) == len(tout)
    rng = np.random.default_rng(3)
    gos = [rng.standard_normal(tuple(t.shape)).astype(np.float32) for t in tout]
    for o, t in zip(out, tout):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-6)
        assert o.grad_fn.name() == type(t.grad_fn).__name__
    g = ctorch.autograd.grad(out, ours, [ctorch.tensor(x) for x in gos], allow_unused=True)
    tg = torch.autograd.grad(tout, theirs, [torch.tensor(x) for x in gos], allow_unused=True)
    for a, b in zip(g, tg):
        assert (a is None) == (b is None)
        if a is not None:
            assert tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


GRADGRAD = ["view", "reshape_copy", "transpose", "t", "permute", "movedim", "squeeze_dims",
            "unsqueeze", "narrow", "select", "slice_step", "unbind", "split", "chunk", "diagonal_dims",
            "cat", "cat_neg_dim", "stack", "hstack", "flip", "roll_dims", "tril_k", "triu_", "diag_2d",
            "diag_1d", "diag_embed_dims", "select_scatter", "slice_scatter", "diagonal_scatter",
            "rot90", "expand", "expand_keep", "broadcast_tensors", "repeat", "tile", "meshgrid_ij",
            "repeat_interleave_dim", "as_strided_overlap"]
_BY_NAME = {c[0]: c for c in CASES}


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    _, fn, specs = _BY_NAME[name]
    assert gradgradcheck(fn, spec_leaves(ctorch, specs, 4, ctorch.float64))


def test_repeat_interleave_tensor_repeats():
    x = ctorch.randn(3, 2, dtype=ctorch.float64).requires_grad_()
    reps = ctorch.tensor([1, 0, 3])
    assert gradcheck(lambda t: t.repeat_interleave(reps, dim=0), x)


def test_views_stay_views():
    a = ctorch.randn(3, 4).requires_grad_()
    x = a * 1
    views = [x.view(4, 3), x.reshape(12), x.t(), x.transpose(0, 1), x.permute(1, 0), x[:, 1],
             x[1:, ::2], x.unsqueeze(0), x.unsqueeze(0).squeeze(0), x[:1].expand(2, 4),
             x.narrow(1, 1, 2), x.diagonal(), x.as_strided((2, 2), (1, 2)), x.unflatten(1, (2, 2)),
             x.movedim(0, 1), x[...]] + list(x.unbind(1)) + list(x.split(2, 1)) + list(x.chunk(3))
    for v in views:
        assert v._storage_id() == x._storage_id()
        assert v.requires_grad and not v.is_leaf
    v = x.t()
    with ctorch.no_grad():
        v[2, 1] = 100.0
    assert x[1, 2].item() == 100.0
    # A reshape that has to copy is no view.
    assert x.t().reshape(12)._storage_id() != x._storage_id()


def test_multi_output_one_node_missing_grads_are_zeros():
    x = ctorch.randn(4, 3, dtype=ctorch.float64).requires_grad_()
    for parts in (x.split(2), x.unbind(0), x.chunk(3, 1), x.split([1, 3])):
        assert len({id(p.grad_fn) for p in parts}) <= len(parts)
        assert all(p.grad_fn.name() == parts[0].grad_fn.name() for p in parts)
        g = ctorch.autograd.grad([parts[1]], [x], [ctorch.ones_like(parts[1])])[0]
        expected = ctorch.zeros_like(x)
        with ctorch.no_grad():
            if parts[0].grad_fn.name() == "UnbindBackward0":
                expected[1] = 1
            elif parts[1].shape[0] == 4:  # chunk along dim 1
                expected[:, 1:2] = 1
            else:
                expected[parts[0].shape[0]:parts[0].shape[0] + parts[1].shape[0]] = 1
        np.testing.assert_array_equal(g.numpy(), expected.numpy())


def test_integer_inputs_get_no_history():
    x = ctorch.randn(2, 3).requires_grad_()
    i = ctorch.arange(6).reshape(2, 3)
    for r in (i.t(), i[:, 1], i.expand(2, 2, 3), ctorch.cat([i, i]), i.flip(0), i.repeat(2, 1),
              i.tril(), i.unbind(0)[0], i.split(1)[0]):
        assert r.grad_fn is None and not r.requires_grad
    y = ctorch.cat([x, i])  # promoted to float: only x gets a gradient
    (gx,) = ctorch.autograd.grad([y], [x], [ctorch.ones_like(y)])
    np.testing.assert_array_equal(gx.numpy(), np.ones((2, 3), np.float32))
    assert y.grad_fn.name() == "CatBackward0"


def test_no_grad_records_nothing():
    x = ctorch.randn(3, 4).requires_grad_()
    with ctorch.no_grad():
        for r in (x.t(), x[1], x.reshape(12), ctorch.cat([x, x]), x.flip(0), x.split(2)[0]):
            assert r.grad_fn is None and not r.requires_grad


# ---- in-place ops on views: the base's gradient, compared with torch

def _inplace_mul_select(a, w):
    x = a.clone()
    x[:, 1].mul_(w[:3])
    return x * 1


def _inplace_t_add(a, w):
    x = a.clone()
    x.t().add_(1)
    return x


def _inplace_strided(a, w):
    x = a.clone()
    x.t()[1:, ::2].mul_(w[:2])
    return x


def _base_modified_after_view(a, w):
    x = a.clone()
    v = x[0]
    x.mul_(2)
    return v * w


def _tril_on_view(a, w):
    x = a.clone()
    x[1:].tril_()
    return x


def _diagonal_mul(a, w):
    x = a.clone()
    x.diagonal().mul_(w[:3])
    return x


def _view_of_view_copy(a, w):
    x = a.clone()
    x[1][1:].copy_(w[1:])
    return x


def _flat_view(a, w):
    x = a.clone()
    x.view(-1)[::3].mul_(w)
    return x.view(2, 6)


def _two_inplace(a, w):
    x = a.clone()
    x.tril_()
    x.t()[0].mul_(w[:3])
    return x


def _modified_view_itself(a, w):
    x = a.clone()
    v = x[:, 1]
    v.mul_(w[:3])
    return v


INPLACE = [_inplace_mul_select, _inplace_t_add, _inplace_strided, _base_modified_after_view,
           _tril_on_view, _diagonal_mul, _view_of_view_copy, _flat_view, _two_inplace,
           _modified_view_itself]


@pytest.mark.parametrize("fn", INPLACE, ids=[f.__name__ for f in INPLACE])
def test_inplace_on_views(fn):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    arrs = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    ins = [ctorch.tensor(a).requires_grad_() for a in arrs]
    tins = [torch.tensor(a).requires_grad_() for a in arrs]
    out, tout = fn(*ins), fn(*tins)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    go = rng.standard_normal(tuple(tout.shape))
    g = ctorch.autograd.grad([out], ins, [ctorch.tensor(go)], allow_unused=True)
    tg = torch.autograd.grad([tout], tins, [torch.tensor(go)], allow_unused=True)
    for a, b in zip(g, tg):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    assert gradcheck(fn, [ctorch.tensor(a).requires_grad_() for a in arrs])


def test_inplace_on_view_of_leaf_raises():
    a = ctorch.randn(3, 4).requires_grad_()
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        a[0].mul_(2)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        a.tril_()


def test_alias_records_but_detach_does_not():
    x = ctorch.randn(3, 4).requires_grad_() * 1
    a = x[...]
    assert a.grad_fn.name() == "AliasBackward0" and a._storage_id() == x._storage_id()
    d = x.detach()
    assert d.grad_fn is None and not d.requires_grad and d._storage_id() == x._storage_id()
