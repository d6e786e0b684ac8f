"""Reductions, scans, softmax and sorting against PyTorch (oracle) and NumPy."""
import math

import numpy as np
import pytest

import ctorch
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, assert_close, make_tensor, noncontiguous, to_np

torch = pytest.importorskip("torch")

NUM_DTYPES = [d for d in ALL_DTYPES if d != ctorch.bool]


def dname(d):
    return repr(d).split(".")[-1]


def tt(x):
    """The same values as a torch tensor of the same dtype."""
    t = torch.from_numpy(to_np(x))
    return t.to(getattr(torch, dname(x.dtype)))


def check(actual, expected, rtol=None, atol=None, exact_dtype=True):
    """ctorch result vs torch result: dtype, shape and values (NaN == NaN)."""
    if isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            check(a, e, rtol, atol, exact_dtype)
        return
    assert isinstance(actual, ctorch.Tensor), type(actual)
    if exact_dtype:
        assert dname(actual.dtype) == str(expected.dtype).split(".")[-1], (actual.dtype, expected.dtype)
    assert tuple(actual.shape) == tuple(expected.shape), (actual.shape, expected.shape)
    exp = expected.float() if expected.dtype == torch.bfloat16 else expected
    assert_close(actual, exp.numpy(), rtol=rtol, atol=atol)


# (shape, dim) samples: all dims, single dims (negative too), tuples, empty tuple.
DIM_CASES = [((3, 4, 5), None), ((3, 4, 5), 0), ((3, 4, 5), -1), ((3, 4, 5), 1), ((3, 4, 5), (0, 2)),
             ((3, 4, 5), (2, 0)), ((3, 4, 5), (0, 1)), ((3, 4, 5), (1, 2)), ((3, 4, 5), ()),
             ((7,), 0), ((), None), ((), 0), ((), -1), ((0, 3), None), ((0, 3), 0), ((0, 3), 1),
             ((2, 1, 3), (0, 2)), ((64, 300), 1), ((300, 64), 0)]


def variants(x):
    """x contiguous, with gaps, and as transposed/permuted views of the same values."""
    yield x
    if x.dim() >= 1 and x.numel() > 1:
        yield noncontiguous(x)
    if x.dim() >= 2:
        yield x.transpose(0, -1).contiguous().transpose(0, -1)
    if x.dim() == 3:  # dense, but memory order (1, 2, 0) / (2, 0, 1)
        yield x.permute(1, 2, 0).contiguous().permute(2, 0, 1)
        yield x.permute(2, 0, 1).contiguous().permute(1, 2, 0)


def sum_tol(dtype):
    """Float sums of a few hundred terms round differently from torch's order: absolute slack."""
    return dict(rtol=1e-5, atol=1e-4) if dtype == ctorch.float32 else {}


def call(fn_name, x, dim, keepdim, lib, **kw):
    mod = ctorch if lib == "c" else torch
    if dim is None:
        return getattr(mod, fn_name)(x, **kw)
    return getattr(mod, fn_name)(x, dim, keepdim, **kw)


# ---------------------------------------------------------------- sum / mean / prod / amax / amin

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", DIM_CASES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_matches_torch(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, seed=1)
    for v in variants(x):
        check(call("sum", v, dim, keepdim, "c"), call("sum", tt(v), dim, keepdim, "t"), **sum_tol(dtype))
        check(v.sum(dim=dim, keepdim=keepdim) if dim is not None else v.sum(),
              call("sum", tt(v), dim, keepdim, "t"), **sum_tol(dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,dim", DIM_CASES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_matches_torch(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, seed=2)
    for v in variants(x):
        check(call("mean", v, dim, keepdim, "c"), call("mean", tt(v), dim, keepdim, "t"), **sum_tol(dtype))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), None), ((3, 4, 5), 1), ((3, 4, 5), -1), ((), None),
                                       ((0, 3), 0), ((0, 3), 1), ((6,), 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod_matches_torch(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, low=-2, high=3, seed=3)
    for v in variants(x):
        check(call("prod", v, dim, keepdim, "c"), call("prod", tt(v), dim, keepdim, "t"), rtol=1e-2)


@pytest.mark.parametrize("op", ["amax", "amin"])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [c for c in DIM_CASES if 0 not in c[0] or c[1] == 1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin_match_torch(op, dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, seed=4)
    for v in variants(x):
        d = () if dim is None else dim
        check(getattr(ctorch, op)(v, d, keepdim), getattr(torch, op)(tt(v), d, keepdim))


def test_sum_dtype_argument():
    x = make_tensor((4, 5), ctorch.float32, seed=5)
    check(x.sum(dtype=ctorch.float64), tt(x).sum(dtype=torch.float64))
    check(ctorch.sum(x, 1, dtype=ctorch.int32), torch.sum(tt(x), 1, dtype=torch.int32))
    i = make_tensor((4, 5), ctorch.int8, seed=5)
    check(i.sum(0), tt(i).sum(0))  # int8 sums to int64
    check(i.mean(dtype=ctorch.float32), tt(i).mean(dtype=torch.float32))
    check(i.prod(dtype=ctorch.float64), tt(i).prod(dtype=torch.float64))


def test_empty_reductions():
    e = ctorch.zeros(0)
    assert e.sum().item() == 0 and e.prod().item() == 1
    assert math.isnan(e.mean().item())
    assert ctorch.zeros(0, 3, dtype=ctorch.int32).sum(0).numpy().tolist() == [0, 0, 0]
    assert ctorch.zeros(3, 0).prod(1).numpy().tolist() == [1, 1, 1]
    with pytest.raises(IndexError):
        ctorch.zeros(0, 3).amax(0)
    with pytest.raises(RuntimeError):
        ctorch.zeros(0, 3).amax()
    with pytest.raises(RuntimeError):
        ctorch.zeros(0).max()
    with pytest.raises(IndexError):
        ctorch.zeros(0, 3).max(0)
    with pytest.raises(IndexError):
        ctorch.zeros(0, 3).argmax()
    assert tuple(ctorch.zeros(0, 3).amax(1).shape) == (0,)
    v, i = ctorch.zeros(0, 3).min(1)
    assert tuple(v.shape) == (0,) and i.dtype == ctorch.int64


def test_mean_of_ints_raises():
    with pytest.raises(RuntimeError):
        ctorch.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError):
        ctorch.tensor([1.0, 2.0]).mean(dtype=ctorch.int64)


def test_bad_dims():
    x = ctorch.ones(2, 3)
    for fn in [lambda: x.sum(2), lambda: x.sum(-3), lambda: x.mean((0, 5)), lambda: x.amax(3),
               lambda: x.max(2), lambda: x.argmax(2), lambda: x.var(4), lambda: x.cumsum(2),
               lambda: x.softmax(2), lambda: x.sort(2), lambda: x.topk(1, 2),
               lambda: x.logsumexp(5), lambda: x.all(2), lambda: ctorch.tensor(1.0).sum(1),
               lambda: x.median(3), lambda: x.kthvalue(1, 2), lambda: x.norm(dim=7)]:
        with pytest.raises(IndexError):
            fn()
    with pytest.raises(RuntimeError):
        x.sum((0, 0))
    with pytest.raises(RuntimeError):
        x.sum((1, -1))
    with pytest.raises(TypeError):
        x.prod((0, 1))
    with pytest.raises(TypeError):
        ctorch.max(x, "a")


# ---------------------------------------------------------------- accuracy

def test_sum_of_2_pow_24_ones_is_exact():
    assert ctorch.ones(2 ** 24).sum().item() == 2 ** 24
    assert ctorch.ones(2 ** 12, 2 ** 12).sum().item() == 2 ** 24
    assert ctorch.ones(2 ** 12, 2 ** 12).sum(0).numpy().min() == 2 ** 12


def test_float_sum_accuracy_on_large_input():
    rng = np.random.default_rng(7)
    a = rng.random(2 ** 24, dtype=np.float32)
    exact = a.astype(np.float64).sum()
    got = ctorch.tensor(a).sum().item()
    assert abs(got - exact) / exact < 1e-6
    m = ctorch.tensor(a.reshape(2 ** 14, 2 ** 10))
    col = m.sum(0).numpy().astype(np.float64)
    ref = a.reshape(2 ** 14, 2 ** 10).astype(np.float64).sum(0)
    np.testing.assert_allclose(col, ref, rtol=1e-6)
    assert abs(m.mean().item() - exact / 2 ** 24) < 1e-6


def test_half_sum_accumulates_in_float():
    x = ctorch.full((4096,), 0.1, dtype=ctorch.float16)
    ref = torch.full((4096,), 0.1, dtype=torch.float16).sum()
    assert abs(x.sum().item() - ref.item()) <= 0.5
    assert abs(x.sum().item() - 409.6) < 1


# ---------------------------------------------------------------- max / min / arg

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), -1), ((3, 4, 5), 1), ((7,), 0),
                                       ((), 0), ((64, 300), 1), ((300, 64), 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, low=-3, high=3, seed=8)  # many ties: first index wins
    for v in variants(x):
        for op in ("max", "min"):
            r = getattr(ctorch, op)(v, dim, keepdim)
            e = getattr(torch, op)(tt(v), dim, keepdim)
            check((r.values, r.indices), (e.values, e.indices))
            assert r[0] is r.values and r[1] is r.indices
            check(getattr(v, op)(dim=dim, keepdim=keepdim).values, e.values)
        if dtype != ctorch.bool:
            for op in ("argmax", "argmin"):
                check(getattr(ctorch, op)(v, dim, keepdim), getattr(torch, op)(tt(v), dim, keepdim))
                check(getattr(v, op)(), getattr(tt(v), op)())
                check(getattr(v, op)(keepdim=True), getattr(tt(v), op)(keepdim=True))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_max_min_no_dim(dtype):
    x = make_tensor((5, 6), dtype, seed=9)
    for v in variants(x):
        check(v.max(), tt(v).max())
        check(ctorch.min(v), torch.min(tt(v)))
    check(ctorch.tensor(2.5).max(), torch.tensor(2.5).max())


def test_max_with_tensor_other_is_maximum():
    a, b = make_tensor((3, 4), ctorch.float32, seed=1), make_tensor((4,), ctorch.float32, seed=2)
    check(ctorch.max(a, b), torch.max(tt(a), tt(b)))
    check(ctorch.min(a, b), torch.min(tt(a), tt(b)))
    check(a.max(b), tt(a).max(tt(b)))


def test_nan_propagation():
    x = ctorch.tensor([[1.0, float("nan"), 3.0, float("nan")], [4.0, 5.0, -1.0, 2.0]])
    t = tt(x)
    for op in ("amax", "amin"):
        check(getattr(x, op)(), getattr(t, op)())
        check(getattr(x, op)(1), getattr(t, op)(1))
        check(getattr(x, op)(0), getattr(t, op)(0))
    check(x.max(), t.max())
    check(tuple(x.max(1)), tuple(t.max(1)))
    check(tuple(x.min(1)), tuple(t.min(1)))
    check(x.argmax(1), t.argmax(1))
    check(x.argmin(), t.argmin())
    b = np.zeros(10000, dtype=np.float32)
    b[7777] = np.nan
    big = ctorch.tensor(b)
    assert math.isnan(big.amax().item()) and math.isnan(big.min().item())
    assert big.argmax().item() == 7777


def test_argmax_bool_raises():
    with pytest.raises(RuntimeError):
        ctorch.tensor([True, False]).argmax()


def test_return_types():
    r = ctorch.max(ctorch.tensor([[1.0, 5.0], [7.0, 2.0]]), 1)
    assert isinstance(r, tuple) and type(r).__name__ == "max"
    assert r.values.numpy().tolist() == [5.0, 7.0] and r.indices.numpy().tolist() == [1, 0]
    v, i = r
    assert v is r.values
    assert ctorch.return_types.sort is type(ctorch.sort(ctorch.ones(3)))


# ---------------------------------------------------------------- var / std / norm / logsumexp

@pytest.mark.filterwarnings("ignore:.*degrees of freedom")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,dim", [c for c in DIM_CASES if c[1] != ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_var_std(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, seed=10)
    tol = dict(rtol=2e-2, atol=2e-2) if dtype in (ctorch.float16, ctorch.bfloat16) else {}
    for v in variants(x):
        for corr in (0, 1, 2.5):
            for op in ("var", "std"):
                r = getattr(ctorch, op)(v, dim, keepdim=keepdim, correction=corr)
                e = getattr(torch, op)(tt(v), dim, keepdim=keepdim, correction=corr)
                check(r, e, **tol)
            for op in ("var_mean", "std_mean"):
                check(getattr(ctorch, op)(v, dim, keepdim=keepdim, correction=corr),
                      getattr(torch, op)(tt(v), dim, keepdim=keepdim, correction=corr), **tol)


@pytest.mark.filterwarnings("ignore")
def test_var_unbiased_forms():
    x = make_tensor((4, 6), ctorch.float64, seed=11)
    t = tt(x)
    check(x.var(), t.var())
    check(x.var(False), t.var(False))
    check(x.std(1, False), t.std(1, False))
    check(x.var(1, unbiased=False, keepdim=True), t.var(1, unbiased=False, keepdim=True))
    check(ctorch.var(x, 0, True, True), torch.var(t, 0, True, True))
    check(ctorch.tensor([1.0]).var(), torch.tensor([1.0], dtype=torch.float32).var())
    check(ctorch.tensor([1.0, 2.0]).var(correction=3), torch.tensor([1.0, 2.0]).var(correction=3))
    with pytest.raises(RuntimeError):
        ctorch.tensor([1, 2]).var()
    with pytest.raises(TypeError):
        x.var(0, unbiased=True, correction=1)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("ord", [2, 1, 0, 3, 0.5, -1, float("inf"), float("-inf")])
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), None), ((3, 4, 5), 1), ((3, 4, 5), (0, 2)),
                                       ((7,), 0), ((), None), ((0, 3), 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_vector_norm(dtype, ord, shape, dim, keepdim):
    a = np.random.default_rng(12).uniform(-5, 5, size=shape)
    if a.size:
        a.flat[0] = 0.0  # exercise ord=0 and negative ord
    x = ctorch.tensor(a).to(dtype)
    tol = dict(rtol=2e-2, atol=2e-2) if dtype in (ctorch.float16, ctorch.bfloat16) else dict(rtol=1e-5, atol=1e-6)
    for v in variants(x):
        check(ctorch.vector_norm(v, ord, dim, keepdim), torch.linalg.vector_norm(tt(v), ord, dim, keepdim), **tol)


def test_norm_forms():
    x = make_tensor((3, 4), ctorch.float32, seed=13)
    t = tt(x)
    check(x.norm(), t.norm())
    check(ctorch.norm(x, "fro"), torch.norm(t, "fro"))
    check(x.norm(p=1, dim=1), t.norm(p=1, dim=1))
    check(x.norm(float("inf"), 0, True), t.norm(float("inf"), 0, True))
    check(ctorch.norm(x, 2, (0, 1)), torch.norm(t, 2, (0, 1)))
    check(x.norm(dtype=ctorch.float64), t.norm(dtype=torch.float64))
    check(ctorch.vector_norm(x, dtype=ctorch.float64), torch.linalg.vector_norm(t, dtype=torch.float64))
    with pytest.raises(RuntimeError):
        ctorch.tensor([1, 2]).norm()
    with pytest.raises(RuntimeError):
        ctorch.zeros(0).norm(float("inf"))
    with pytest.raises(RuntimeError):
        x.norm("bogus")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + [ctorch.int32])
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 1), ((3, 4, 5), (0, 2)), ((3, 4, 5), -1), ((7,), 0),
                                       ((), 0), ((0, 3), 0), ((0, 3), 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, seed=14)
    tol = dict(rtol=2e-2, atol=2e-2) if dtype in (ctorch.float16, ctorch.bfloat16) else {}
    for v in variants(x):
        check(ctorch.logsumexp(v, dim, keepdim), torch.logsumexp(tt(v), dim, keepdim), **tol)


def test_logsumexp_is_stable():
    x = ctorch.tensor([[1000.0, 1000.0], [-1000.0, -1000.0], [float("-inf"), float("-inf")],
                       [float("inf"), 1.0], [float("nan"), 1.0]])
    check(x.logsumexp(1), tt(x).logsumexp(1))


# ---------------------------------------------------------------- all / any

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [c for c in DIM_CASES if c[1] != ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_all_any(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, low=0, high=3, seed=15)
    for v in variants(x):
        for op in ("all", "any"):
            check(call(op, v, dim, keepdim, "c"), call(op, tt(v), dim, keepdim, "t"))
    nan = ctorch.tensor([float("nan"), 0.0])
    assert nan.any().item() and not nan.all().item()


# ---------------------------------------------------------------- cumsum / cumprod

@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((7,), 0),
                                       ((), 0), ((0, 3), 1), ((0, 3), 0)])
def test_scans(op, dtype, shape, dim):
    x = make_tensor(shape, dtype, low=-2, high=3, seed=16)
    for v in variants(x):
        check(getattr(ctorch, op)(v, dim), getattr(torch, op)(tt(v), dim), rtol=1e-2, atol=1e-2)
        check(getattr(v, op)(dim=dim), getattr(tt(v), op)(dim=dim), rtol=1e-2, atol=1e-2)
    check(getattr(x, op)(dim, dtype=ctorch.float64), getattr(tt(x), op)(dim, dtype=torch.float64))


def test_cumsum_requires_dim():
    with pytest.raises(TypeError):
        ctorch.ones(3).cumsum()


# ---------------------------------------------------------------- softmax

@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((7,), 0),
                                       ((), 0), ((0, 3), 1), ((0, 3), 0), ((4, 1), 0), ((33, 1030), 1),
                                       ((1030, 33), 0)])
def test_softmax(op, dtype, shape, dim):
    x = make_tensor(shape, dtype, low=-20, high=20, seed=17)
    tol = dict(rtol=2e-2, atol=2e-2) if dtype in (ctorch.float16, ctorch.bfloat16) else dict(rtol=1e-5, atol=1e-6)
    for v in variants(x):
        check(getattr(ctorch, op)(v, dim), getattr(torch, op)(tt(v), dim), **tol)
        check(getattr(v, op)(dim), getattr(tt(v), op)(dim), **tol)


def test_softmax_dtype_and_extremes():
    x = make_tensor((4, 6), ctorch.float16, seed=18)
    check(x.softmax(1, dtype=ctorch.float32), tt(x).softmax(1, dtype=torch.float32))
    check(ctorch.log_softmax(x, 0, dtype=ctorch.float64), torch.log_softmax(tt(x), 0, dtype=torch.float64))
    i = ctorch.tensor([[1, 2], [3, 4]])
    check(i.softmax(1, dtype=ctorch.float32), tt(i).softmax(1, dtype=torch.float32))
    with pytest.raises(NotImplementedError):
        i.softmax(1)
    e = ctorch.tensor([[1e4, 0.0, -1e4], [float("-inf"), 0.0, 1.0], [-100.0, -90.0, -95.0],
                       [float("nan"), 1.0, 2.0]])
    check(e.softmax(1), tt(e).softmax(1), rtol=1e-5, atol=1e-30)
    check(e.log_softmax(1), tt(e).log_softmax(1), rtol=1e-5, atol=1e-5)
    rows = make_tensor((64, 1024), ctorch.float32, low=-30, high=30, seed=19)
    s = rows.softmax(1)
    np.testing.assert_allclose(s.sum(1).numpy(), np.ones(64), rtol=1e-5)
    check(s, tt(rows).softmax(1), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- sort family

SORT_DTYPES = ALL_DTYPES


@pytest.mark.parametrize("dtype", SORT_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((9,), 0),
                                       ((), 0), ((0, 3), 1), ((0, 3), 0)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable(dtype, shape, dim, descending):
    x = make_tensor(shape, dtype, low=-3, high=3, seed=20)  # many ties
    for v in variants(x):
        r = ctorch.sort(v, dim, descending, stable=True)
        e = torch.sort(tt(v), dim=dim, descending=descending, stable=True)
        check((r.values, r.indices), (e.values, e.indices))
        check(v.argsort(dim, descending, stable=True), tt(v).argsort(dim=dim, descending=descending, stable=True))
    check(x.sort().values, tt(x).sort().values)


def test_sort_nan_last():
    x = ctorch.tensor([3.0, float("nan"), 1.0, float("nan"), -2.0])
    check(tuple(x.sort(stable=True)), tuple(tt(x).sort(stable=True)))
    check(tuple(x.sort(descending=True, stable=True)), tuple(tt(x).sort(descending=True, stable=True)))


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.float16, ctorch.int64, ctorch.int8,
                                   ctorch.uint8])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("shape,dim,k", [((4, 9), 1, 3), ((4, 9), 0, 2), ((4, 9), -1, 0), ((4, 9), 1, 9),
                                         ((9,), 0, 4), ((), 0, 1), ((), 0, 0), ((2, 3, 4), 1, 2)])
def test_topk(dtype, largest, shape, dim, k):
    x = make_tensor(shape, dtype, low=0, high=100, seed=21)
    for v in variants(x):
        r = ctorch.topk(v, k, dim, largest)
        e = torch.topk(tt(v), k, dim, largest)
        check(r.values, e.values)
        assert r.indices.dtype == ctorch.int64 and tuple(r.indices.shape) == tuple(e.indices.shape)
        # indices point at the values (ties may pick different positions)
        got = torch.gather(tt(v), dim, tt(r.indices)) if v.dim() else tt(v)
        np.testing.assert_array_equal(got.float().numpy(), to_np(r.values).astype(np.float32))
        check(v.topk(k, dim=dim, largest=largest).values, e.values)


def test_topk_errors_and_nan():
    with pytest.raises(RuntimeError):
        ctorch.ones(3).topk(4)
    with pytest.raises(RuntimeError):
        ctorch.ones(3).topk(-1)
    x = ctorch.tensor([1.0, float("nan"), 3.0])
    check(x.topk(2).values, tt(x).topk(2).values)


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.bfloat16, ctorch.int32, ctorch.int16])
@pytest.mark.parametrize("shape,dim,k", [((4, 9), 1, 3), ((4, 9), 0, 1), ((4, 9), 0, 4), ((9,), 0, 9),
                                         ((), 0, 1), ((2, 3, 4), 1, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue(dtype, shape, dim, k, keepdim):
    x = make_tensor(shape, dtype, low=-50, high=50, seed=22)
    for v in variants(x):
        r = ctorch.kthvalue(v, k, dim, keepdim)
        e = torch.kthvalue(tt(v), k, dim, keepdim)
        check(r.values, e.values)
        idx = tt(r.indices) if keepdim or v.dim() == 0 else tt(r.indices).unsqueeze(dim)
        got = torch.gather(tt(v), dim, idx) if v.dim() else tt(v)
        np.testing.assert_array_equal(got.reshape(e.values.shape).float().numpy(), e.values.float().numpy())


def test_kthvalue_errors():
    with pytest.raises(RuntimeError):
        ctorch.ones(3).kthvalue(0)
    with pytest.raises(RuntimeError):
        ctorch.ones(3).kthvalue(4)


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.float16, ctorch.int64, ctorch.uint8])
@pytest.mark.parametrize("shape", [(4, 9), (4, 8), (9,), (), (2, 3, 4)])
def test_median(dtype, shape):
    x = make_tensor(shape, dtype, low=0, high=20, seed=23)
    for v in variants(x):
        check(v.median(), tt(v).median())
        for dim in range(-v.dim(), v.dim()) if v.dim() else [0]:
            for keepdim in (False, True):
                r = ctorch.median(v, dim, keepdim)
                e = torch.median(tt(v), dim, keepdim)
                check(r.values, e.values)
                assert tuple(r.indices.shape) == tuple(e.indices.shape)


def test_median_nan_and_errors():
    x = ctorch.tensor([[1.0, float("nan"), 3.0], [2.0, 5.0, 1.0]])
    check(x.median(), tt(x).median())
    check(tuple(x.median(1)), tuple(tt(x).median(1)))
    assert math.isnan(ctorch.zeros(0).median().item())
    with pytest.raises(IndexError):
        ctorch.zeros(0, 3).median(0)
    with pytest.raises(NotImplementedError):
        ctorch.tensor([True]).median()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(20,), (4, 5), (), (0,), (3, 0)])
def test_unique(dtype, shape):
    x = make_tensor(shape, dtype, low=-4, high=4, seed=24)
    for v in variants(x):
        check(ctorch.unique(v), torch.unique(tt(v)))
        check(v.unique(return_inverse=True, return_counts=True),
              tt(v).unique(return_inverse=True, return_counts=True))
        vals, inv = ctorch.unique(v, return_inverse=True)
        assert tuple(inv.shape) == tuple(v.shape)
        np.testing.assert_array_equal(to_np(vals)[to_np(inv)], to_np(v))
        vals, counts = ctorch.unique(v, sorted=True, return_counts=True)
        ref_vals, ref_counts = np.unique(to_np(v), return_counts=True)
        np.testing.assert_array_equal(to_np(vals), ref_vals)
        np.testing.assert_array_equal(to_np(counts), ref_counts)
    with pytest.raises(NotImplementedError):
        ctorch.unique(ctorch.ones(2, 2), dim=0)


# ---------------------------------------------------------------- NumPy parity (no torch semantics)

@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.int32, ctorch.int64])
def test_numpy_parity(dtype):
    x = make_tensor((5, 6, 7), dtype, seed=25)
    a = to_np(x)
    assert_close(x.sum((0, 2)), a.sum((0, 2)).astype(np.int64 if dtype in INT_DTYPES else a.dtype))
    assert_close(x.amax(1), a.max(1))
    assert_close(x.argmin(2), a.argmin(2))
    assert_close(x.cumsum(1), np.cumsum(a, 1).astype(np.int64 if dtype in INT_DTYPES else a.dtype))
    assert_close(x.sort(0).values, np.sort(a, 0))
    if x.is_floating_point():
        assert_close(x.var(1, correction=0), a.var(1))
        assert_close(x.std((0, 1)), a.std((0, 1), ddof=1))
        assert_close(x.norm(), np.linalg.norm(a.ravel()))
        assert_close(x.mean(-1, keepdim=True), a.mean(-1, keepdims=True))


# ---------------------------------------------------------------- composites in _reduce.py

@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_nan_composites(dim, keepdim):
    a = np.random.default_rng(26).uniform(-3, 3, (4, 5)).astype(np.float32)
    a[a > 1.5] = np.nan
    a[3] = np.nan  # a row of NaN only: nanmean is NaN there
    x, t = ctorch.tensor(a), torch.tensor(a)
    kw = {} if dim is None else dict(dim=dim, keepdim=keepdim)
    check(ctorch.nansum(x, **kw), torch.nansum(t, **kw), rtol=1e-5, atol=1e-5)
    check(x.nanmean(**kw), t.nanmean(**kw), rtol=1e-5, atol=1e-5)
    check(ctorch.count_nonzero(x, dim), torch.count_nonzero(t, dim))
    i = make_tensor((4, 5), ctorch.int32, low=0, high=3, seed=27)
    check(ctorch.nansum(i, **kw), torch.nansum(tt(i), **kw))
    check(i.count_nonzero(dim), tt(i).count_nonzero(dim))


def test_aminmax():
    x = make_tensor((4, 5), ctorch.float32, seed=28)
    r, e = ctorch.aminmax(x), torch.aminmax(tt(x))
    check((r.min, r.max), (e.min, e.max))
    r, e = x.aminmax(dim=1, keepdim=True), tt(x).aminmax(dim=1, keepdim=True)
    check(tuple(r), tuple(e))


def test_softmax_exp_accuracy_over_range():
    # Two-column rows [v, 0]: exp(v - max) spans the float range, including results under FLT_MIN.
    v = np.linspace(-110, 110, 2001, dtype=np.float32)
    a = np.stack([v, np.zeros_like(v)], 1)
    x, t = ctorch.tensor(a), torch.tensor(a)
    check(x.softmax(1), t.softmax(1), rtol=2e-6, atol=1e-37)
    check(x.log_softmax(1), t.log_softmax(1), rtol=2e-6, atol=1e-6)
    check(x.logsumexp(1), t.logsumexp(1), rtol=2e-6, atol=1e-6)
    big = ctorch.tensor([[88.5, 0.0], [89.0, 89.0], [-88.0, -87.5]])
    check(big.logsumexp(1), tt(big).logsumexp(1), rtol=1e-6)


def test_var_is_accurate_with_a_large_offset():
    a = (1e4 + np.random.default_rng(29).standard_normal(200000)).astype(np.float32)
    ref = a.astype(np.float64).var(ddof=1)
    assert abs(ctorch.tensor(a).var().item() - ref) / ref < 1e-5
    b = a.reshape(400, 500)
    np.testing.assert_allclose(ctorch.tensor(b).std(0).numpy(), b.astype(np.float64).std(0, ddof=1), rtol=1e-4)


@pytest.mark.parametrize("dtype", [ctorch.int64, ctorch.float64, ctorch.int16])
def test_tall_narrow_column_reductions(dtype):
    # Few tall columns are reduced in parallel parts of rows; short rows take a plain loop.
    x = make_tensor((20000, 3), dtype, low=-100, high=100, seed=30)
    a = to_np(x)
    acc = np.int64 if dtype != ctorch.float64 else np.float64
    assert_close(x.sum(0), a.sum(0, dtype=acc), rtol=1e-12, atol=1e-9)
    assert_close(x.amax(0), a.max(0))
    assert_close(x.amin(0), a.min(0))
    assert_close(x.sum(1), a.sum(1, dtype=acc), rtol=1e-12, atol=1e-9)
    assert_close(x.amax(1), a.max(1))
    y = make_tensor((3, 20000, 5), dtype, low=-100, high=100, seed=31)
    assert_close(y.sum(1), to_np(y).sum(1, dtype=acc), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("a,b,want", [
    ([1, 2], [1, 2], True), ([1, 2], [1, 3], False), ([1, 2], [1, 2, 3], False),
    ([[1.0]], [1.0], False), ([float("nan")], [float("nan")], False), ([], [], True)])
def test_equal(a, b, want):
    x, y = ctorch.tensor(a), ctorch.tensor(b)
    assert ctorch.equal(x, y) is want
    assert x.equal(y) is want
    assert ctorch.equal(ctorch.tensor([1, 2]), ctorch.tensor([1.0, 2.0]))  # values compare across dtypes
    assert ctorch.equal(x.t(), x.t().contiguous()) if x.dim() == 2 else True  # views compare by value
    with pytest.raises(TypeError):
        ctorch.equal(x, [1, 2])


def test_isclose_allclose_match_torch():
    torch = pytest.importorskip("torch")
    inf, nan = float("inf"), float("nan")
    a = [1.0, 1.0 + 1e-6, 1.1, inf, -inf, inf, nan, 0.0, 1e-9]
    b = [1.0, 1.0, 1.0, inf, inf, 1.0, nan, 1e-9, 0.0]
    for kw in [{}, {"equal_nan": True}, {"rtol": 0.2}, {"atol": 1e-10, "rtol": 0}]:
        for dtype in ("float32", "float64"):
            got = ctorch.isclose(ctorch.tensor(a, dtype=getattr(ctorch, dtype)),
                                 ctorch.tensor(b, dtype=getattr(ctorch, dtype)), **kw)
            want = torch.isclose(torch.tensor(a, dtype=getattr(torch, dtype)),
                                 torch.tensor(b, dtype=getattr(torch, dtype)), **kw)
            assert got.tolist() == want.tolist(), (kw, dtype)
    assert ctorch.isclose(ctorch.tensor([1, 2]), ctorch.tensor([1, 3])).tolist() == [True, False]
    x = ctorch.ones(3, 1)
    assert ctorch.isclose(x, ctorch.ones(4)).shape == (3, 4)  # broadcasts
    assert ctorch.allclose(x, x + 1e-9) and not ctorch.allclose(x, x + 1e-3)
    assert x.allclose(x) and ctorch.allclose(ctorch.tensor([nan]), ctorch.tensor([nan]), equal_nan=True)
    with pytest.raises(RuntimeError):
        ctorch.isclose(ctorch.ones(2), ctorch.ones(2, dtype=ctorch.float64))
