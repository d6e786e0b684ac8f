"""Autograd of the reductions, scans, softmax and sorting ops: gradcheck (float64), second
derivatives, gradients against torch, grad_fn names, and the ops that never get history."""
import functools
import math

import numpy as np
import pytest

import ctorch
from conftest import grad_leaf as leaf
from ctorch.autograd import gradgradcheck

INF = math.inf
# Tighter than gradcheck's defaults (atol 1e-5, rtol 1e-3): these formulas are exact in float64.
gradcheck = functools.partial(ctorch.autograd.gradcheck, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------- gradcheck, op by op

SHAPES_DIMS = [((3, 4), None, False), ((3, 4), 1, False), ((3, 4), 0, True), ((2, 3, 4), (0, 2), False),
               ((2, 3, 4), (-1, 1), True), ((), None, False), ((4,), 0, True)]


@pytest.mark.parametrize("shape,dim,keepdim", SHAPES_DIMS)
@pytest.mark.parametrize("noncontig", [False, True])
def test_sum_mean(shape, dim, keepdim, noncontig):
    x = leaf(shape, noncontig=noncontig)
    assert gradcheck(lambda t: ctorch.sum(t, dim, keepdim), x)
    assert gradcheck(lambda t: ctorch.mean(t, dim, keepdim), x)
    assert gradcheck(lambda t: t.sum(dim, keepdim, dtype=ctorch.float64), x)


def test_sum_zero_size():
    x = leaf((0, 3))
    assert gradcheck(lambda t: t.sum(0), x)
    assert gradcheck(lambda t: t.sum(1), x)
    y = x.sum()
    y.backward()
    assert tuple(x.grad.shape) == (0, 3)


@pytest.mark.parametrize("zeros", [0, 1, 2])
@pytest.mark.parametrize("noncontig", [False, True])
def test_prod(zeros, noncontig):
    x = leaf((3, 4), seed=zeros, noncontig=noncontig)
    with ctorch.no_grad():
        for k in range(zeros):  # zeros in the same row, then in the same column
            x[0, k] = 0.0
            x[2, 0] = 0.0 if k == 1 else x[2, 0]
    assert gradcheck(lambda t: t.prod(), x)
    for d in (0, 1, -1):
        for keepdim in (False, True):
            assert gradcheck(lambda t: t.prod(d, keepdim), x)
    assert gradcheck(lambda t: t.prod(1, dtype=ctorch.float64), x)


def test_prod_small_shapes():
    assert gradcheck(lambda t: t.prod(), leaf(()))
    assert gradcheck(lambda t: t.prod(0), leaf(()))
    assert gradcheck(lambda t: t.prod(1), leaf((3, 1)))
    z = ctorch.tensor([0.0]).double().requires_grad_()
    assert gradcheck(lambda t: t.prod(), z)


@pytest.mark.parametrize("op", ["amax", "amin"])
@pytest.mark.parametrize("shape,dim,keepdim", [((3, 4), (), False), ((3, 4), 1, False), ((3, 4), 0, True),
                                               ((2, 3, 4), (0, 2), False), ((), (), False)])
def test_amax_amin(op, shape, dim, keepdim):
    x = leaf(shape, distinct=True, noncontig=True)
    assert gradcheck(lambda t: getattr(ctorch, op)(t, dim, keepdim), x)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min(op):
    x = leaf((3, 4), distinct=True, noncontig=True)
    f = getattr(ctorch, op)
    assert gradcheck(lambda t: f(t), x)
    for d in (0, 1, -1):
        for keepdim in (False, True):
            assert gradcheck(lambda t: f(t, d, keepdim)[0], x)
            assert gradcheck(lambda t: getattr(t, op)(d, keepdim).values, x)
    s = leaf(())
    assert gradcheck(lambda t: f(t), s)
    assert gradcheck(lambda t: f(t, 0)[0], s)
    assert gradcheck(lambda t: f(t, 0, True)[0], s)


def test_max_ties_split_evenly():
    x = ctorch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]).double().requires_grad_()
    x.amax(1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    x.grad = None
    x.max().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]
    x.grad = None
    x.min().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    x.grad = None
    x.max(1).values.sum().backward()  # the chosen (first) index only
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True), ((0, 2), False), ((-1,), True)])
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std(op, dim, keepdim, correction):
    x = leaf((3, 4, 5), noncontig=True)
    assert gradcheck(lambda t: getattr(t, op)(dim, keepdim=keepdim, correction=correction), x)


@pytest.mark.parametrize("op", ["var_mean", "std_mean"])
@pytest.mark.parametrize("dim,keepdim,correction", [(None, False, 1), (1, False, 0), (0, True, 2)])
def test_var_mean_std_mean(op, dim, keepdim, correction):
    x = leaf((3, 4), noncontig=True)
    f = getattr(ctorch, op)
    assert gradcheck(lambda t: f(t, dim, keepdim=keepdim, correction=correction), x)
    assert gradcheck(lambda t: f(t, dim, keepdim=keepdim, correction=correction)[0], x)  # mean unused
    assert gradcheck(lambda t: f(t, dim, keepdim=keepdim, correction=correction)[1], x)  # var unused


def test_var_std_0d():
    x = leaf(())
    assert gradcheck(lambda t: t.var(correction=0), x)
    assert gradcheck(lambda t: ctorch.var_mean(t, correction=0)[1], x)


@pytest.mark.parametrize("ord", [2, 1, INF, -INF, 0, 3, 1.5, 0.5, -1])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True), ((0, 1), True)])
def test_vector_norm(ord, dim, keepdim):
    x = leaf((3, 4), distinct=True, noncontig=True)
    assert gradcheck(lambda t: ctorch.linalg.vector_norm(t, ord, dim, keepdim), x)


def test_vector_norm_misc():
    assert gradcheck(lambda t: ctorch.linalg.vector_norm(t), leaf(()))
    assert gradcheck(lambda t: ctorch.norm(t, 3, 1), leaf((3, 4)))
    assert gradcheck(lambda t: ctorch.linalg.vector_norm(t, dtype=ctorch.float64), leaf((3, 4)))
    # PyTorch's convention at the origin: the 2-norm's gradient is 0, not NaN.
    z = ctorch.zeros(3, dtype=ctorch.float64).requires_grad_()
    ctorch.linalg.vector_norm(z).backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("shape,dim,keepdim", [((3, 4), 1, False), ((3, 4), (0, 1), True), ((2, 3, 4), (0, 2), False),
                                               ((), 0, False), ((3, 4), 0, True)])
def test_logsumexp(shape, dim, keepdim):
    assert gradcheck(lambda t: ctorch.logsumexp(t, dim, keepdim), leaf(shape, noncontig=True))


@pytest.mark.parametrize("shape,dim", [((3, 4), 0), ((3, 4), 1), ((2, 3, 4), -2), ((), 0), ((5,), 0), ((3, 1), 1)])
@pytest.mark.parametrize("noncontig", [False, True])
def test_scans(shape, dim, noncontig):
    x = leaf(shape, noncontig=noncontig)
    assert gradcheck(lambda t: t.cumsum(dim), x)
    assert gradcheck(lambda t: t.cumprod(dim), x)
    assert gradcheck(lambda t: t.cumsum(dim, dtype=ctorch.float64), x)


@pytest.mark.parametrize("zeros", [[1], [0], [3], [1, 3], [0, 1, 2, 3]])
def test_cumprod_with_zeros(zeros):
    x = leaf((2, 4, 3), seed=3)
    with ctorch.no_grad():
        for k in zeros:
            x[0, k, 1] = 0.0
            x[1, k, 0] = 0.0
    assert gradcheck(lambda t: t.cumprod(1), x)
    assert gradcheck(lambda t: t.cumprod(-1), x)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((3, 4), 0), ((3, 4), 1), ((2, 3, 4), -2), ((), 0), ((5,), 0)])
def test_softmax(op, shape, dim):
    x = leaf(shape, noncontig=True)
    assert gradcheck(lambda t: getattr(t, op)(dim), x)
    assert gradcheck(lambda t: getattr(ctorch, op)(t, dim, dtype=ctorch.float64), x)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("noncontig", [False, True])
def test_sorting(dim, noncontig):
    x = leaf((3, 5), distinct=True, noncontig=noncontig)
    for desc in (False, True):
        assert gradcheck(lambda t: t.sort(dim, desc).values, x)
    n = x.shape[dim]
    for k in (1, n - 1):
        for largest in (True, False):
            assert gradcheck(lambda t: t.topk(k, dim, largest).values, x)
        assert gradcheck(lambda t: t.kthvalue(k, dim).values, x)
        assert gradcheck(lambda t: t.kthvalue(k, dim, True).values, x)
    assert gradcheck(lambda t: t.median(dim).values, x)
    assert gradcheck(lambda t: t.median(dim, True).values, x)
    assert gradcheck(lambda t: t.median(), x)


def test_sorting_0d_and_empty():
    s = leaf(())
    assert gradcheck(lambda t: t.sort().values, s)
    assert gradcheck(lambda t: t.topk(1).values, s)
    assert gradcheck(lambda t: t.kthvalue(1).values, s)
    assert gradcheck(lambda t: t.median(), s)
    assert gradcheck(lambda t: t.median(0).values, s)
    e = leaf((2, 0))
    assert gradcheck(lambda t: t.sort(1).values, e)
    x = leaf((3, 4), distinct=True)
    assert gradcheck(lambda t: t.topk(0, 1).values, x)


def test_median_ties_split_evenly():
    x = ctorch.tensor([3.0, 1.0, 1.0, 5.0]).requires_grad_()
    x.median().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5, 0.0]
    x.grad = None
    x.median(0).values.backward()  # with dim: the returned index only
    assert sum(x.grad.tolist()) == 1.0 and x.grad.tolist()[0] == 0.0


def test_cumprod_zeros_create_graph():
    # With create_graph the zeros take the quadratic path: same first-order gradient.
    x = leaf((3, 5), seed=4)
    with ctorch.no_grad():
        x[0, 1] = 0.0
        x[1, 0] = 0.0
        x[1, 3] = 0.0
        x[2, 4] = 0.0
    g = ctorch.tensor(np.random.default_rng(2).standard_normal((3, 5)))
    (a,) = ctorch.autograd.grad([x.cumprod(1)], [x], [g])
    (b,) = ctorch.autograd.grad([x.cumprod(1)], [x], [g], create_graph=True)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x.detach().numpy()).requires_grad_()
    (c,) = torch.autograd.grad([tx.cumprod(1)], [tx], [torch.tensor(g.numpy())])
    np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-12, atol=1e-12)


def test_broadcast_inputs():
    # Operands broadcast by an elementwise op before the reduction: the engine sums back.
    a, b = leaf((3, 1), seed=1), leaf((1, 4), seed=2)
    assert gradcheck(lambda p, q: (p + q).softmax(1), (a, b))
    assert gradcheck(lambda p, q: (p * q).sum(0), (a, b))
    assert gradcheck(lambda p, q: (p - q).std(1), (a, b))
    assert gradcheck(lambda p, q: (p * q).cumprod(1), (a, b))
    assert gradcheck(lambda p, q: ctorch.linalg.vector_norm(p + q, 3, 0), (a, b))


def test_zero_size_inputs():
    e = leaf((0, 3))
    for fn in (lambda t: t.softmax(1), lambda t: t.log_softmax(0), lambda t: t.cumsum(0), lambda t: t.cumprod(1),
               lambda t: t.logsumexp(1), lambda t: t.amax(1), lambda t: t.prod(0), lambda t: t.mean(1),
               lambda t: t.var(1), lambda t: ctorch.linalg.vector_norm(t, 2, 1), lambda t: t.max(1)[0],
               lambda t: t.sort(0)[0], lambda t: t.topk(2)[0]):
        y = fn(e)
        assert y.requires_grad
        (g,) = ctorch.autograd.grad([y], [e], [ctorch.ones(tuple(y.shape), dtype=ctorch.float64)],
                                    allow_unused=True)
        assert tuple(g.shape) == (0, 3)
    y = e.sum(0)  # a non-empty result from an empty input
    (g,) = ctorch.autograd.grad([y], [e], [ctorch.ones(3, dtype=ctorch.float64)])
    assert tuple(g.shape) == (0, 3)


def test_std_of_constant_has_zero_gradient():
    torch = pytest.importorskip("torch")
    data = np.ones((2, 3))
    x = ctorch.tensor(data).requires_grad_()
    tx = torch.tensor(data).requires_grad_()
    x.std(1).sum().backward()
    tx.std(1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert not np.isnan(x.grad.numpy()).any()


def test_python_composites():
    x = leaf((3, 4))
    assert gradcheck(lambda t: ctorch.nansum(t, 1), x)
    assert gradcheck(lambda t: ctorch.nanmean(t, 0), x)
    assert gradcheck(lambda t: ctorch.aminmax(t, dim=1), leaf((3, 4), distinct=True))
    assert ctorch.nansum(x).grad_fn is not None
    assert np.asarray(x.sum(axis=1, keepdims=True).shape).tolist() == [3, 1]
    assert gradcheck(lambda t: t.sum(axis=1, keepdims=True), x)


# ---------------------------------------------------------------- second derivatives

GRADGRAD = {
    "sum": lambda t: t.sum(1),
    "sum_keepdim": lambda t: t.sum((0, 1), True),
    "mean": lambda t: t.mean(0),
    "mean_keepdim": lambda t: t.mean(0, True),
    "prod": lambda t: t.prod(1),
    "prod_keepdim": lambda t: t.prod(1, True),
    "prod_all": lambda t: t.prod(),
    "prod_one_zero": lambda t: (t * ctorch.tensor([[1.0, 0, 1, 1]] * 3).double()).prod(1, True),
    "var": lambda t: t.var(1),
    "var_keepdim": lambda t: t.var(1, keepdim=True),
    "std": lambda t: t.std(0, keepdim=True),
    "var_mean": lambda t: ctorch.var_mean(t, 1, keepdim=True),
    "std_mean": lambda t: ctorch.std_mean(t, 0),
    "logsumexp": lambda t: t.logsumexp(1),
    "logsumexp_keepdim": lambda t: t.logsumexp(1, True),
    "softmax": lambda t: t.softmax(1),
    "log_softmax": lambda t: t.log_softmax(0),
    "cumsum": lambda t: t.cumsum(1),
    "cumprod": lambda t: t.cumprod(1),
    "cumprod_zeros": lambda t: (t * ctorch.tensor([[1.0, 0, 1, 0]] * 3).double()).cumprod(1),
    "norm2": lambda t: ctorch.linalg.vector_norm(t, 2, 1),
    "norm2_keepdim": lambda t: ctorch.linalg.vector_norm(t, 2, 1, True),
    "norm3": lambda t: ctorch.linalg.vector_norm(t, 3),
    "norm3_keepdim": lambda t: ctorch.linalg.vector_norm(t, 3, (0, 1), True),
    "norm1.5": lambda t: ctorch.linalg.vector_norm(t, 1.5, 0, True),
    "amax": lambda t: t.amax(1, True),
    "max_dim": lambda t: t.max(1)[0],
    "sort": lambda t: t.sort(1)[0],
}


@pytest.mark.parametrize("name", list(GRADGRAD))
def test_gradgradcheck(name):
    distinct = name in ("amax", "max_dim", "sort")
    assert gradgradcheck(GRADGRAD[name], leaf((3, 4), distinct=distinct, seed=5))


# ---------------------------------------------------------------- against torch

def _torch_cases():
    return [
        ("sum", lambda m, t: t.sum()), ("sum_dim", lambda m, t: t.sum((0, 2), keepdim=True)),
        ("sum_dtype", lambda m, t: t.sum(1, dtype=m.float64)),
        ("mean", lambda m, t: t.mean()), ("mean_dim", lambda m, t: t.mean(1)),
        ("mean_dtype", lambda m, t: t.mean(dtype=m.float64)),
        ("prod", lambda m, t: t.prod()), ("prod_dim", lambda m, t: t.prod(1)),
        ("prod_dtype", lambda m, t: t.prod(2, True, dtype=m.float64)),
        ("amax", lambda m, t: t.amax((0, 2))), ("amin", lambda m, t: t.amin(1, True)),
        ("max", lambda m, t: t.max()), ("min", lambda m, t: t.min()),
        ("max_dim", lambda m, t: t.max(1)[0]), ("min_dim", lambda m, t: t.min(2, True)[0]),
        ("var", lambda m, t: t.var(1)), ("var_c0", lambda m, t: t.var((0, 2), keepdim=True, correction=0)),
        ("std", lambda m, t: t.std()), ("std_dim", lambda m, t: t.std(2, correction=2)),
        ("var_mean", lambda m, t: m.var_mean(t, 1)), ("std_mean", lambda m, t: m.std_mean(t, (0, 1))),
        ("norm2", lambda m, t: m.linalg.vector_norm(t)), ("norm1", lambda m, t: m.linalg.vector_norm(t, 1, 1)),
        ("norminf", lambda m, t: m.linalg.vector_norm(t, INF, 2)),
        ("normninf", lambda m, t: m.linalg.vector_norm(t, -INF, 0)),
        ("norm0", lambda m, t: m.linalg.vector_norm(t, 0, 1)),
        ("norm3", lambda m, t: m.linalg.vector_norm(t, 3, (0, 1), True)),
        ("norm1.5", lambda m, t: m.linalg.vector_norm(t, 1.5, 1)),
        ("norm0.5", lambda m, t: m.linalg.vector_norm(t, 0.5, 2)),
        ("norm_dtype", lambda m, t: m.linalg.vector_norm(t, dtype=m.float64)),
        ("torch_norm", lambda m, t: m.norm(t)),
        ("logsumexp", lambda m, t: t.logsumexp(1)),
        ("cumsum", lambda m, t: t.cumsum(1)), ("cumsum_dtype", lambda m, t: t.cumsum(0, dtype=m.float64)),
        ("cumprod", lambda m, t: t.cumprod(2)),
        ("softmax", lambda m, t: t.softmax(1)), ("softmax_dtype", lambda m, t: t.softmax(2, dtype=m.float64)),
        ("log_softmax", lambda m, t: t.log_softmax(0)),
        ("log_softmax_dtype", lambda m, t: t.log_softmax(1, dtype=m.float64)),
        ("sort", lambda m, t: t.sort(1)[0]), ("sort_desc", lambda m, t: t.sort(0, True)[0]),
        ("topk", lambda m, t: t.topk(2)[0]), ("topk_small", lambda m, t: t.topk(2, 1, False)[0]),
        ("kthvalue", lambda m, t: t.kthvalue(2, 1)[0]), ("kthvalue_keep", lambda m, t: t.kthvalue(3, 2, True)[0]),
        ("median", lambda m, t: t.median()), ("median_dim", lambda m, t: t.median(1)[0]),
        ("median_keep", lambda m, t: t.median(0, True)[0]),
    ]


TORCH_CASES = _torch_cases()


@pytest.mark.parametrize("name,fn", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
@pytest.mark.parametrize("inputs", ["random", "ties"])
def test_grad_matches_torch(name, fn, inputs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    if inputs == "random":
        data = rng.uniform(0.5, 2.0, size=(3, 4, 5)).astype(np.float32) * rng.choice([-1, 1], size=(3, 4, 5))
    else:  # few distinct values: ties for max/median, zeros for prod/cumprod/norms
        data = rng.integers(-2, 3, size=(3, 4, 5)).astype(np.float32)
    x = ctorch.tensor(data).requires_grad_()
    tx = torch.tensor(data).requires_grad_()
    out, tout = fn(ctorch, x), fn(torch, tx)
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    grng = np.random.default_rng(11)
    gs = [grng.standard_normal(tuple(o.shape)) for o in touts]
    torch.autograd.backward(list(touts), [torch.tensor(g).to(o.dtype) for g, o in zip(gs, touts)])
    ctorch.autograd.backward(list(outs), [ctorch.tensor(g).to(o.dtype) for g, o in zip(gs, outs)])
    assert outs[0].grad_fn.name() == touts[0].grad_fn.name()
    if tx.grad is None:  # the 0-norm: no gradient at all
        assert x.grad is None
        return
    if inputs == "ties" and name.startswith(("topk", "kthvalue")):
        # Which of equal values these pick is unspecified (ctorch and torch differ): per slice
        # along the selected dim, the gradients must be the same multiset, on equal values.
        dim = {"topk": 2, "topk_small": 1, "kthvalue": 1, "kthvalue_keep": 2}[name]
        got, want = x.grad.numpy().astype(np.float64), tx.grad.numpy().astype(np.float64)
        for f in (lambda a: a, lambda a: a * data, lambda a: a * a):
            np.testing.assert_allclose(f(got).sum(dim), f(want).sum(dim), rtol=1e-5, atol=1e-6)
        return
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_grad_fn_names_extra():
    torch = pytest.importorskip("torch")
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    for fn in (lambda m, t: t.sum(), lambda m, t: t.sum(0), lambda m, t: t.mean(), lambda m, t: t.mean((0, 1)),
               lambda m, t: t.prod(), lambda m, t: t.prod(0), lambda m, t: t.amax(), lambda m, t: t.max(),
               lambda m, t: t.max(0)[0], lambda m, t: t.min(0, True)[0], lambda m, t: m.var_mean(t)[1],
               lambda m, t: m.std_mean(t)[0], lambda m, t: t.std(), lambda m, t: t.var(0),
               lambda m, t: m.linalg.vector_norm(t, 1), lambda m, t: t.cumprod(0), lambda m, t: t.median(),
               lambda m, t: t.median(0)[0], lambda m, t: t.sort()[0], lambda m, t: t.topk(1)[0],
               lambda m, t: t.kthvalue(1)[0], lambda m, t: t.logsumexp(0), lambda m, t: t.softmax(0),
               lambda m, t: m.sum(t, 1, keepdim=True)):
        y = fn(ctorch, ctorch.tensor(data).requires_grad_())
        ty = fn(torch, torch.tensor(data).requires_grad_())
        assert y.grad_fn.name() == ty.grad_fn.name()
    # dtype= on softmax is a conversion node first, as in torch
    y = ctorch.tensor(data).requires_grad_().softmax(1, dtype=ctorch.float64)
    ty = torch.tensor(data).requires_grad_().softmax(1, dtype=torch.float64)
    assert y.grad_fn.name() == ty.grad_fn.name()
    assert y.grad_fn.next_functions[0][0].name() == ty.grad_fn.next_functions[0][0].name()


# ---------------------------------------------------------------- no history

def test_integer_inputs_have_no_history():
    i = ctorch.tensor([[1, 2, 3], [4, 5, 6]])
    for y in (i.sum(), i.sum(1), i.prod(), i.amax(), i.max(), i.max(1)[0], i.cumsum(0), i.cumprod(1),
              i.sort()[0], i.topk(2)[0], i.kthvalue(1)[0], i.median(), i.median(1)[0], i.logsumexp(1),
              i.mean(dtype=ctorch.float32), i.softmax(0, dtype=ctorch.float32)):
        assert not y.requires_grad and y.grad_fn is None


def test_non_differentiable_ops_get_no_history():
    x = leaf((3, 4), distinct=True)
    outs = [x.argmax(), x.argmax(1), x.argmin(0, True), x.all(), x.any(1), x.argsort(1),
            ctorch.unique(x), x.max(1)[1], x.sort(0)[1], x.topk(2)[1], x.kthvalue(2)[1], x.median(1)[1],
            ctorch.count_nonzero(x)]
    outs += list(ctorch.unique(x, return_inverse=True, return_counts=True))
    for y in outs:
        assert not y.requires_grad and y.grad_fn is None


def test_no_grad_mode_records_nothing():
    x = leaf((3, 4))
    with ctorch.no_grad():
        for y in (x.sum(), x.softmax(1), x.sort()[0], x.var(), ctorch.var_mean(x)[0]):
            assert not y.requires_grad


def test_multi_output_nodes():
    x = leaf((3, 4), distinct=True)
    v, i = x.max(1)
    assert v.grad_fn is not None and i.grad_fn is None and not i.requires_grad
    var, m = ctorch.var_mean(x, 1)
    assert var.grad_fn is m.grad_fn or var.grad_fn.name() == m.grad_fn.name() == "VarMeanBackward0"
    # both outputs contribute
    (var.sum() + m.sum()).backward()
    expected = (2 * (x - x.mean(1, keepdim=True)) / 3 + 0.25).detach()
    np.testing.assert_allclose(x.grad.numpy(), expected.numpy(), rtol=1e-12)


def test_nan_extremes_like_torch():
    # max()/min()/median() over everything give the gradient to the NaNs when the result is NaN.
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, np.nan, 3.0], [np.nan, 0.0, 2.0]])
    for fn in (lambda t: t.max(), lambda t: t.min(), lambda t: t.median(), lambda t: t.amax(1).sum(),
               lambda t: t.max(1)[0].sum(), lambda t: t.sort(1)[0].sum(), lambda t: t.logsumexp(1).sum()):
        x = ctorch.tensor(data).requires_grad_()
        tx = torch.tensor(data).requires_grad_()
        fn(x).backward()
        fn(tx).backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
