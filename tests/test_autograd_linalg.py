"""Autograd of the products (matmul, mm, bmm, mv, dot, outer, addmm, addmv, baddbmm, addbmm) and
einsum: gradcheck (float64), second derivatives, gradients and node names against torch."""
import numpy as np
import pytest

import ctorch
from conftest import L, as_list, spec_leaves
from ctorch.autograd import gradcheck, gradgradcheck

MATMUL_SHAPES = [((4,), (4,)), ((4,), (4, 5)), ((4,), (2, 4, 5)), ((4,), (2, 1, 4, 5)),
                 ((3, 4), (4,)), ((3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((3, 4), (1, 2, 4, 5)),
                 ((2, 3, 4), (4,)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (1, 4, 5)),
                 ((2, 1, 3, 4), (3, 4, 2)), ((1, 2, 3, 4), (2, 2, 4, 5))]

CASES = [(f"matmul_{len(a)}d_{len(b)}d_{i}", lambda x, y: x @ y, [a, b])
         for i, (a, b) in enumerate(MATMUL_SHAPES)] + [
    ("matmul_nc", lambda x, y: L(x).matmul(x, y), [("nc", (2, 3, 4)), ("t", (4, 5))]),
    ("matmul_batch_view", lambda x, y: x.transpose(0, 1) @ y, [(3, 2, 4), (4, 5)]),
    ("matmul_zero_batch", lambda x, y: x @ y, [(0, 3, 4), (4, 2)]),
    ("matmul_zero_k", lambda x, y: x @ y, [(2, 3, 0), (0, 2)]),
    ("mm", lambda x, y: x.mm(y), [(3, 4), (4, 2)]),
    ("mm_layouts", lambda x, y: L(x).mm(x, y), [("t", (3, 4)), ("nc", (4, 2))]),
    ("mm_zero_k", lambda x, y: x.mm(y), [(3, 0), (0, 2)]),
    ("mm_zero_m", lambda x, y: x.mm(y), [(0, 4), (4, 2)]),
    ("bmm", lambda x, y: x.bmm(y), [(2, 3, 4), ("nc", (2, 4, 2))]),
    ("mv", lambda m, v: m.mv(v), [("t", (3, 4)), (4,)]),
    ("dot", lambda x, y: x.dot(y), [(5,), ("nc", (5,))]),
    ("dot_empty", lambda x, y: L(x).dot(x, y), [(0,), (0,)]),
    ("outer", lambda x, y: L(x).outer(x, y), [(3,), (4,)]),
    ("addmm", lambda i, x, y: L(x).addmm(i, x, y), [(3, 2), (3, 4), (4, 2)]),
    ("addmm_scaled", lambda i, x, y: L(x).addmm(i, x, y, beta=0.5, alpha=-2), [(2,), ("t", (3, 4)), (4, 2)]),
    ("addmm_beta0", lambda i, x, y: L(x).addmm(i, x, y, beta=0), [(3, 2), (3, 4), (4, 2)]),
    ("addmv", lambda i, m, v: L(m).addmv(i, m, v, beta=2, alpha=0.5), [(3,), (3, 4), (4,)]),
    ("addmv_0d", lambda i, m, v: L(m).addmv(i, m, v), [(), (3, 4), (4,)]),
    ("baddbmm", lambda i, x, y: L(x).baddbmm(i, x, y, beta=-1, alpha=3), [(2, 3, 2), (2, 3, 4), (2, 4, 2)]),
    ("baddbmm_bcast", lambda i, x, y: L(x).baddbmm(i, x, y), [(3, 1), (2, 3, 4), (2, 4, 2)]),
    ("addbmm", lambda i, x, y: L(x).addbmm(i, x, y, beta=0.5, alpha=2), [(3, 2), (2, 3, 4), (2, 4, 2)]),
    ("addbmm_bcast", lambda i, x, y: L(x).addbmm(i, x, y), [(2,), (2, 3, 4), ("nc", (2, 4, 2))]),
]

EINSUM = [("ij,jk->ik", [(3, 4), (4, 2)]), ("ij->ji", [(3, 4)]), ("ii->i", [(3, 3)]),
          ("ij->", [(3, 4)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]), ("i,j->ij", [(3,), (4,)]),
          ("ij,ij->i", [(3, 4), (3, 4)]), ("...ij,...jk", [(2, 3, 4), (4, 2)]),
          ("iij,jk->ik", [(3, 3, 4), (4, 2)]), ("ijk,kl,lm->im", [(2, 3, 4), (4, 3), (3, 2)]),
          ("i,i->", [(4,), (4,)]), ("bi,bi->b", [(2, 3), ("nc", (2, 3))])]
EINSUM_CASES = [(f"einsum[{eq}]", (lambda eq: lambda *xs: L(xs[0]).einsum(eq, *xs))(eq), specs)
                for eq, specs in EINSUM]


@pytest.mark.parametrize("name,fn,specs", CASES + EINSUM_CASES, ids=[c[0] for c in CASES + EINSUM_CASES])
def test_gradcheck(name, fn, specs):
    assert gradcheck(fn, spec_leaves(ctorch, specs, 1, ctorch.float64))


@pytest.mark.parametrize("name,fn,specs", CASES + EINSUM_CASES, ids=[c[0] for c in CASES + EINSUM_CASES])
def test_matches_torch(name, fn, specs):
    torch = pytest.importorskip("torch")
    ours = spec_leaves(ctorch, specs, 2, ctorch.float32)
    theirs = spec_leaves(torch, specs, 2, torch.float32)
    out, tout = as_list(fn(*ours))[0], as_list(fn(*theirs))[0]
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    if not name.startswith("einsum"):  # einsum's last op depends on how it is decomposed
        assert out.grad_fn.name() == type(tout.grad_fn).__name__
    go = np.random.default_rng(3).standard_normal(tuple(tout.shape)).astype(np.float32)
    g = ctorch.autograd.grad([out], ours, [ctorch.tensor(go)])
    tg = torch.autograd.grad([tout], theirs, [torch.tensor(go)])
    for a, b in zip(g, tg):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_matmul_names_depend_on_which_input_requires_grad():
    torch = pytest.importorskip("torch")
    for ra, rb in ((True, False), (False, True)):
        a, b = ctorch.randn(3, 4), ctorch.randn(2, 4, 5)
        ta, tb = torch.randn(3, 4), torch.randn(2, 4, 5)
        a.requires_grad_(ra), ta.requires_grad_(ra), b.requires_grad_(rb), tb.requires_grad_(rb)
        assert (a @ b).grad_fn.name() == type((ta @ tb).grad_fn).__name__


_BY_NAME = {c[0]: c for c in CASES + EINSUM_CASES}
GRADGRAD = ["matmul_1d_1d_0", "matmul_1d_2d_1", "matmul_1d_3d_2", "matmul_2d_1d_4", "matmul_3d_2d_9",
            "matmul_3d_3d_10", "matmul_4d_3d_12", "matmul_nc", "mm", "mm_layouts", "bmm", "mv", "dot",
            "outer", "addmm", "addmm_scaled", "addmv", "baddbmm", "baddbmm_bcast", "addbmm",
            "addbmm_bcast", "einsum[ij,jk->ik]", "einsum[bij,bjk->bik]", "einsum[ii->i]", "einsum[ij->]",
            "einsum[ijk,kl,lm->im]"]


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    _, fn, specs = _BY_NAME[name]
    assert gradgradcheck(fn, spec_leaves(ctorch, specs, 4, ctorch.float64))


def test_saved_inputs_are_version_checked():
    torch = pytest.importorskip("torch")
    for lib in (ctorch, torch):
        a = lib.randn(3, 4, dtype=lib.float64).requires_grad_()
        b = lib.randn(4, 2, dtype=lib.float64).requires_grad_()
        x = a.clone()
        y = x.mm(b)
        x.mul_(2)  # x is saved for b's gradient
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            lib.autograd.grad([y], [b], [lib.ones_like(y)])
        # Only what a gradient needs is saved: with b constant, x may change.
        c = lib.randn(4, 2, dtype=lib.float64)
        x = a.clone()
        y = x.mm(c)
        x.mul_(2)
        (g,) = lib.autograd.grad([y], [a], [lib.ones_like(y)])
        np.testing.assert_allclose(g.numpy(), np.ones((3, 2)) @ c.numpy().T)


def test_integer_products_get_no_history():
    a, b = ctorch.arange(6).reshape(2, 3), ctorch.arange(6).reshape(3, 2)
    for r in (a @ b, a.mm(b), ctorch.einsum("ij,jk->ik", a, b), a[0].dot(b[:, 0])):
        assert r.grad_fn is None and not r.requires_grad


def test_half_precision_gradients():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    for dtype in (ctorch.float16, ctorch.bfloat16):
        a = ctorch.tensor(x).to(dtype).requires_grad_()
        b = ctorch.tensor(y).to(dtype).requires_grad_()
        out = a @ b
        ga, gb = ctorch.autograd.grad([out], [a, b], [ctorch.ones(3, 2, dtype=dtype)])
        assert ga.dtype == dtype and gb.dtype == dtype
        af, bf = a.detach().float().numpy(), b.detach().float().numpy()
        np.testing.assert_allclose(ga.float().numpy(), np.ones((3, 2)) @ bf.T, rtol=2e-2, atol=2e-2)
        np.testing.assert_allclose(gb.float().numpy(), af.T @ np.ones((3, 2)), rtol=2e-2, atol=2e-2)


def test_backward_into_leaves_and_no_grad():
    a = ctorch.randn(3, 4, dtype=ctorch.float64).requires_grad_()
    b = ctorch.randn(4, 5, dtype=ctorch.float64).requires_grad_()
    out = ctorch.addmm(ctorch.zeros(5, dtype=ctorch.float64), a, b)
    out.backward(ctorch.ones_like(out))
    np.testing.assert_allclose(a.grad.numpy(), np.ones((3, 5)) @ b.detach().numpy().T)
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy().T @ np.ones((3, 5)))
    with ctorch.no_grad():
        assert (a @ b).grad_fn is None


def test_out_argument_refused_when_recording():
    a = ctorch.randn(2, 3).requires_grad_()
    out = ctorch.empty(2, 2)
    for call in (lambda: ctorch.mm(a, a.t(), out=out), lambda: ctorch.matmul(a, a.t(), out=out),
                 lambda: ctorch.addmm(out, a, a.t(), out=out)):
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            call()
    with ctorch.no_grad():
        assert ctorch.mm(a, a.t(), out=out) is out
    np.testing.assert_allclose(out.numpy(), a.detach().numpy() @ a.detach().numpy().T, rtol=1e-5)
