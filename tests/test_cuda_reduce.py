"""Reductions, scans, softmax and sorting on CUDA against the same ops on the CPU (values, dtypes,
shapes; exact indices where the CPU's are defined: first extreme, stable sort), plus gradients."""
import math

import numpy as np
import pytest

import ctorch
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, make_tensor

pytestmark = pytest.mark.skipif(not ctorch.cuda.is_available(), reason="CUDA not available")

NUM_DTYPES = [d for d in ALL_DTYPES if d != ctorch.bool]

# CPU and CUDA sum in different orders; 16-bit results may differ by an ulp of the result.
TOL = {ctorch.float16: (1e-2, 1e-2), ctorch.bfloat16: (2e-2, 2e-2), ctorch.float32: (1e-5, 1e-4),
       ctorch.float64: (1e-10, 1e-10)}


def host(t):
    """A CUDA result on the CPU as a NumPy array (bfloat16 widened)."""
    c = t.to("cpu")
    if c.dtype == ctorch.bfloat16:
        c = c.float()
    return c.numpy()


def same(gpu, cpu, rtol=None, atol=None):
    """A CUDA result against the CPU's: device, dtype, shape and values (NaN == NaN)."""
    if isinstance(cpu, (tuple, list)):
        assert len(gpu) == len(cpu)
        for g, c in zip(gpu, cpu):
            same(g, c, rtol, atol)
        return
    if cpu is None:
        assert gpu is None
        return
    assert gpu.is_cuda, "result is not on the GPU"
    assert gpu.dtype == cpu.dtype, (gpu.dtype, cpu.dtype)
    assert tuple(gpu.shape) == tuple(cpu.shape), (gpu.shape, cpu.shape)
    g = host(gpu)
    c = cpu.float().numpy() if cpu.dtype == ctorch.bfloat16 else cpu.numpy()
    r, a = TOL.get(cpu.dtype, (0, 0))
    if (r, a) == (0, 0) and rtol is None:
        np.testing.assert_array_equal(g, c)
    else:
        np.testing.assert_allclose(g.astype(np.float64), c.astype(np.float64), equal_nan=True,
                                   rtol=r if rtol is None else rtol, atol=a if atol is None else atol)


def gapped(t):
    """The same values laid out with gaps, on t's device."""
    if t.dim() == 0:
        return t
    wide = ctorch.zeros(*t.shape[:-1], t.shape[-1] * 2, dtype=t.dtype, device=t.device)
    view = wide.as_strided(tuple(t.shape), wide.stride()[:-1] + (2,))
    view.copy_(t)
    return view


VIEWS = [
    lambda t: t,
    gapped,
    lambda t: t.transpose(0, -1).contiguous().transpose(0, -1) if t.dim() >= 2 else t,
    lambda t: t.permute(1, 2, 0).contiguous().permute(2, 0, 1) if t.dim() == 3 else t,
]


def pairs(x):
    """(CPU, CUDA) pairs of the same values in the same layouts: contiguous, gapped, transposed."""
    g = x.to("cuda")
    for view in VIEWS:
        yield view(x), view(g)


def both(fn, x, rtol=None, atol=None):
    for c, g in pairs(x):
        same(fn(g), fn(c), rtol, atol)


def dims_call(name, dim, keepdim, **kw):
    if dim is None:
        return lambda t: getattr(ctorch, name)(t, **kw)
    return lambda t: getattr(ctorch, name)(t, dim, keepdim, **kw)


DIM_CASES = [((3, 4, 5), None), ((3, 4, 5), 0), ((3, 4, 5), -1), ((3, 4, 5), 1), ((3, 4, 5), (2, 0)),
             ((3, 4, 5), ()), ((7,), 0), ((), None), ((), 0), ((0, 3), 0), ((0, 3), 1), ((64, 300), 1),
             ((300, 64), 0)]


# ---------------------------------------------------------------- associative reductions

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", DIM_CASES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_prod_mean(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, low=-2, high=3, seed=1)
    both(dims_call("sum", dim, keepdim), x)
    if dim is None or isinstance(dim, int):
        both(lambda t: ctorch.prod(t) if dim is None else ctorch.prod(t, dim, keepdim), x, rtol=1e-2
             if dtype in FLOAT_DTYPES else None, atol=1e-2 if dtype in FLOAT_DTYPES else None)
    if dtype in FLOAT_DTYPES:
        both(dims_call("mean", dim, keepdim), x)
    for op in ("all", "any"):
        if dim != ():
            both(dims_call(op, dim, keepdim), x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [c for c in DIM_CASES if 0 not in c[0] or c[1] == 1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, seed=2)
    d = () if dim is None else dim
    for op in ("amax", "amin"):
        both(lambda t: getattr(ctorch, op)(t, d, keepdim), x)
    if dim is None and x.numel():
        both(lambda t: t.max(), x)
        both(lambda t: t.min(), x)


def test_sum_dtype_argument_and_empty():
    x = make_tensor((4, 5), ctorch.float32, seed=3)
    both(lambda t: t.sum(dtype=ctorch.float64), x)
    i = make_tensor((4, 5), ctorch.int8, seed=3)
    both(lambda t: t.sum(0), i)
    both(lambda t: t.mean(dtype=ctorch.float32), i)
    both(lambda t: t.prod(dtype=ctorch.float64), i)
    e = ctorch.zeros(0, device="cuda")
    assert e.sum().item() == 0 and e.prod().item() == 1 and math.isnan(e.mean().item())
    same(ctorch.zeros(3, 0, device="cuda").prod(1), ctorch.zeros(3, 0).prod(1))
    with pytest.raises(IndexError):
        ctorch.zeros(0, 3, device="cuda").amax(0)
    with pytest.raises(RuntimeError):
        ctorch.zeros(0, device="cuda").max()
    with pytest.raises(IndexError):
        ctorch.zeros(0, 3, device="cuda").argmax()


# ---------------------------------------------------------------- max / min / arg (ties, NaN)

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), -1), ((3, 4, 5), 1), ((7,), 0),
                                       ((), 0), ((64, 300), 1), ((300, 64), 0), ((0, 3), 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_arg_with_ties(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, low=-3, high=3, seed=4)  # many ties: the first index wins
    for op in ("max", "min"):
        both(lambda t: tuple(getattr(ctorch, op)(t, dim, keepdim)), x)
    if dtype != ctorch.bool:
        for op in ("argmax", "argmin"):
            both(lambda t: getattr(ctorch, op)(t, dim, keepdim), x)
            if x.numel():
                both(lambda t: getattr(t, op)(), x)


def test_nan_handling():
    x = ctorch.tensor([[1.0, float("nan"), 3.0, float("nan")], [4.0, 5.0, -1.0, 2.0],
                       [float("-inf"), float("-inf"), float("inf"), float("inf")]])
    for dtype in (ctorch.float32, ctorch.float64, ctorch.float16, ctorch.bfloat16):
        v = x.to(dtype)
        for fn in (lambda t: t.amax(), lambda t: t.amin(1), lambda t: t.amax(0), lambda t: tuple(t.max(1)),
                   lambda t: tuple(t.min(1)), lambda t: t.argmax(1), lambda t: t.argmin(),
                   lambda t: t.sum(1), lambda t: t.logsumexp(1), lambda t: t.softmax(1),
                   lambda t: ctorch.vector_norm(t, float("inf"), 1), lambda t: t.cumsum(1)):
            both(fn, v)
    b = np.zeros(1 << 20, dtype=np.float32)
    b[777777] = np.nan
    b[900000] = np.nan
    big = ctorch.tensor(b).to("cuda")
    assert math.isnan(big.amax().item()) and math.isnan(big.min().item())
    assert big.argmax().item() == 777777 and big.argmin().item() == 777777
    assert ctorch.tensor([float("nan"), 0.0], device="cuda").any().item()


# ---------------------------------------------------------------- var / norms / logsumexp

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,dim", [c for c in DIM_CASES if c[1] != ()])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.filterwarnings("ignore")
def test_var_std_mean(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, seed=5)
    for corr in (0, 1, 2.5):
        for op in ("var", "std", "var_mean", "std_mean"):
            both(lambda t: getattr(ctorch, op)(t, dim, keepdim=keepdim, correction=corr), x)


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.bfloat16])
@pytest.mark.parametrize("ord", [2, 1, 0, 3, 0.5, -1, float("inf"), float("-inf")])
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), None), ((3, 4, 5), 1), ((3, 4, 5), (0, 2)),
                                       ((7,), 0), ((), None), ((0, 3), 1), ((300, 64), 0)])
def test_vector_norm(dtype, ord, shape, dim):
    a = np.random.default_rng(6).uniform(-5, 5, size=shape)
    if a.size:
        a.flat[0] = 0.0
    x = ctorch.tensor(a).to(dtype)
    for keepdim in (False, True):
        both(lambda t: ctorch.vector_norm(t, ord, dim, keepdim), x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + [ctorch.int32])
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 1), ((3, 4, 5), (0, 2)), ((3, 4, 5), -1), ((7,), 0),
                                       ((), 0), ((0, 3), 0), ((0, 3), 1), ((33, 1030), 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp(dtype, shape, dim, keepdim):
    x = make_tensor(shape, dtype, seed=7)
    both(lambda t: ctorch.logsumexp(t, dim, keepdim), x)


def test_logsumexp_extremes():
    x = ctorch.tensor([[1000.0, 1000.0], [-1000.0, -1000.0], [float("-inf"), float("-inf")],
                       [float("inf"), 1.0], [float("nan"), 1.0]])
    both(lambda t: t.logsumexp(1), x)
    both(lambda t: t.logsumexp(1), x.double())


# ---------------------------------------------------------------- scans

@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((7,), 0),
                                       ((), 0), ((0, 3), 1), ((0, 3), 0), ((3, 1500), 1)])
def test_scans(op, dtype, shape, dim):
    low, high = (-2, 3) if op == "cumsum" else (0, 2)
    x = make_tensor(shape, dtype, low=low, high=high, seed=8)
    both(lambda t: getattr(ctorch, op)(t, dim), x, rtol=1e-2 if dtype in FLOAT_DTYPES else None,
         atol=1e-2 if dtype in FLOAT_DTYPES else None)
    both(lambda t: getattr(t, op)(dim, dtype=ctorch.float64), x)


def test_long_scans_are_exact_or_accurate():
    # Long rows take the block-per-row scan: integers exact, floats accumulated in double.
    i = make_tensor((2, 100000), ctorch.int64, low=-1000, high=1000, seed=9)
    same(i.to("cuda").cumsum(1), i.cumsum(1))
    f = make_tensor((2, 100000), ctorch.float32, low=0, high=1, seed=10)
    same(f.to("cuda").cumsum(1), f.cumsum(1), rtol=1e-6, atol=1e-3)
    p = ctorch.full((3000,), 1.001, dtype=ctorch.float64)
    same(p.to("cuda").cumprod(0), p.cumprod(0), rtol=1e-12, atol=0)


# ---------------------------------------------------------------- softmax

@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((7,), 0),
                                       ((), 0), ((0, 3), 1), ((0, 3), 0), ((4, 1), 0), ((33, 1030), 1),
                                       ((1030, 33), 0), ((5, 3000), 1)])
def test_softmax(op, dtype, shape, dim):
    x = make_tensor(shape, dtype, low=-20, high=20, seed=11)
    tol = {} if dtype in (ctorch.float16, ctorch.bfloat16) else dict(rtol=1e-5, atol=1e-6)
    both(lambda t: getattr(ctorch, op)(t, dim), x, **tol)


def test_softmax_dtype_and_extremes():
    x = make_tensor((4, 6), ctorch.float16, seed=12)
    both(lambda t: t.softmax(1, dtype=ctorch.float32), x)
    both(lambda t: ctorch.log_softmax(t, 0, dtype=ctorch.float64), x)
    i = ctorch.tensor([[1, 2], [3, 4]])
    both(lambda t: t.softmax(1, dtype=ctorch.float32), i)
    with pytest.raises(NotImplementedError):
        i.to("cuda").softmax(1)
    e = ctorch.tensor([[1e4, 0.0, -1e4], [float("-inf"), 0.0, 1.0], [-100.0, -90.0, -95.0],
                       [float("nan"), 1.0, 2.0], [float("-inf")] * 3])
    both(lambda t: t.softmax(1), e, rtol=1e-5, atol=1e-30)
    both(lambda t: t.log_softmax(1), e, rtol=1e-5, atol=1e-5)
    both(lambda t: t.softmax(0), e.t().contiguous(), rtol=1e-5, atol=1e-30)


# ---------------------------------------------------------------- accuracy on large rows

def test_large_row_accuracy():
    rng = np.random.default_rng(13)
    a = rng.random(1 << 20, dtype=np.float32)
    exact = a.astype(np.float64).sum()
    x = ctorch.tensor(a).to("cuda")
    assert abs(x.sum().item() - exact) / exact < 1e-6
    assert abs(x.mean().item() - exact / a.size) < 1e-6
    assert ctorch.ones(1 << 24, device="cuda").sum().item() == 1 << 24
    ref_var = a.astype(np.float64).var(ddof=1)
    assert abs(x.var().item() - ref_var) / ref_var < 1e-5
    ref_norm = np.sqrt((a.astype(np.float64) ** 2).sum())
    assert abs(x.norm().item() - ref_norm) / ref_norm < 1e-6
    ref_lse = np.log(np.exp(a.astype(np.float64)).sum())
    assert abs(x.logsumexp(0).item() - ref_lse) < 1e-5
    s = x.reshape(1, -1).softmax(1)
    assert abs(s.sum().item() - 1) < 1e-5
    # Few long columns (copied into rows), many short rows, tall narrow columns.
    m = a.reshape(1 << 18, 4)
    np.testing.assert_allclose(host(ctorch.tensor(m).to("cuda").sum(0)),
                               m.astype(np.float64).sum(0), rtol=1e-6)
    w = a.reshape(1 << 10, 1 << 10)
    np.testing.assert_allclose(host(ctorch.tensor(w).to("cuda").sum(1)), w.astype(np.float64).sum(1),
                               rtol=1e-5)
    np.testing.assert_allclose(host(ctorch.tensor(w).to("cuda").sum(0)), w.astype(np.float64).sum(0),
                               rtol=1e-5)
    h = ctorch.full((4096,), 0.1, dtype=ctorch.float16)
    same(h.to("cuda").sum(), h.sum())
    i = make_tensor((3, 50000), ctorch.int64, low=-1000, high=1000, seed=14)
    same(i.to("cuda").sum(1), i.sum(1))
    same(i.to("cuda").argmax(1), i.argmax(1))
    same(tuple(i.to("cuda").min(1)), tuple(i.min(1)))


# ---------------------------------------------------------------- sort family

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((9,), 0),
                                       ((), 0), ((0, 3), 1), ((0, 3), 0), ((50, 70), 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable(dtype, shape, dim, descending):
    x = make_tensor(shape, dtype, low=-3, high=3, seed=15)  # many ties: indices must match exactly
    both(lambda t: tuple(ctorch.sort(t, dim, descending, stable=True)), x)
    both(lambda t: t.argsort(dim, descending, stable=True), x)


def test_sort_nan_and_signed_zero():
    vals = [3.0, float("nan"), -0.0, 1.0, float("nan"), 0.0, float("-inf"), -0.0, float("inf"), -2.0]
    for dtype in FLOAT_DTYPES:
        x = ctorch.tensor([vals, vals[::-1]]).to(dtype)
        for desc in (False, True):
            both(lambda t: tuple(t.sort(1, descending=desc, stable=True)), x)
            both(lambda t: tuple(t.topk(4, 1, largest=desc)), x)
        both(lambda t: tuple(t.kthvalue(3, 1)), x)
        both(lambda t: tuple(t.median(1)), x)
        both(lambda t: t.median(), x)
        both(lambda t: ctorch.unique(t, return_inverse=True, return_counts=True), x)


def test_sort_long_rows():
    # Long rows take the device-wide sort row by row; many short rows the segmented sort.
    for dtype in (ctorch.float32, ctorch.int64, ctorch.uint8, ctorch.float64):
        x = make_tensor((2, 70000), dtype, low=-50, high=50, seed=16)
        for desc in (False, True):
            same(tuple(x.to("cuda").sort(1, descending=desc, stable=True)), tuple(x.sort(1, descending=desc, stable=True)))
        y = make_tensor((3000, 40), dtype, low=-5, high=5, seed=17)
        same(tuple(y.to("cuda").sort(1, stable=True)), tuple(y.sort(1, stable=True)))
        same(tuple(y.to("cuda").sort(0, descending=True, stable=True)), tuple(y.sort(0, descending=True, stable=True)))


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.float16, ctorch.int64,
                                   ctorch.int8, ctorch.uint8])
@pytest.mark.parametrize("shape,dim,k", [((4, 9), 1, 3), ((4, 9), 0, 2), ((4, 9), -1, 0), ((4, 9), 1, 9),
                                         ((9,), 0, 4), ((), 0, 1), ((), 0, 0), ((2, 3, 4), 1, 2)])
def test_topk(dtype, shape, dim, k):
    x = make_tensor(shape, dtype, low=0, high=10, seed=18)
    for largest in (True, False):
        # Both devices order ties by index, so even the indices agree.
        both(lambda t: tuple(ctorch.topk(t, k, dim, largest)), x)
    with pytest.raises(RuntimeError):
        ctorch.ones(3, device="cuda").topk(4)


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.bfloat16, ctorch.int32,
                                   ctorch.int16, ctorch.uint8])
@pytest.mark.parametrize("shape,dim,k", [((4, 9), 1, 3), ((4, 9), 0, 1), ((4, 9), 0, 4), ((9,), 0, 9),
                                         ((), 0, 1), ((2, 3, 4), 1, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue(dtype, shape, dim, k, keepdim):
    x = make_tensor(shape, dtype, low=-5, high=5, seed=19)
    both(lambda t: tuple(ctorch.kthvalue(t, k, dim, keepdim)), x)


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.float16, ctorch.int64, ctorch.uint8])
@pytest.mark.parametrize("shape", [(4, 9), (4, 8), (9,), (), (2, 3, 4)])
def test_median(dtype, shape):
    x = make_tensor(shape, dtype, low=0, high=6, seed=20)
    both(lambda t: t.median(), x)
    for dim in range(-x.dim(), x.dim()) if x.dim() else [0]:
        for keepdim in (False, True):
            both(lambda t: tuple(ctorch.median(t, dim, keepdim)), x)


def test_median_nan_and_errors():
    x = ctorch.tensor([[1.0, float("nan"), 3.0, float("nan")], [2.0, 5.0, 1.0, 0.0]])
    both(lambda t: t.median(), x)
    both(lambda t: tuple(t.median(1)), x)
    assert math.isnan(ctorch.zeros(0, device="cuda").median().item())
    with pytest.raises(IndexError):
        ctorch.zeros(0, 3, device="cuda").median(0)
    with pytest.raises(NotImplementedError):
        ctorch.tensor([True], device="cuda").median()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(20,), (4, 5), (), (0,), (3, 0), (30000,)])
def test_unique(dtype, shape):
    x = make_tensor(shape, dtype, low=-4, high=4, seed=21)
    both(lambda t: ctorch.unique(t), x)
    both(lambda t: ctorch.unique(t, return_inverse=True, return_counts=True), x)
    both(lambda t: ctorch.unique(t, return_inverse=True), x)
    both(lambda t: ctorch.unique(t, return_counts=True), x)


# ---------------------------------------------------------------- gradients

def grad_pair(fn, shape, seed=0, distinct=False):
    """x.grad of sum(fn(x) * w) on the CPU and on CUDA (float64)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    vals = rng.permutation(n) * 0.25 - n * 0.125 if distinct else rng.uniform(-2, 2, size=n)
    a = ctorch.tensor(np.asarray(vals, dtype=np.float64).reshape(shape))
    out = []
    for dev in ("cpu", "cuda"):
        x = a.to(dev).detach().requires_grad_()
        y = fn(x)
        y = y[0] if isinstance(y, tuple) else y
        w = ctorch.tensor(np.random.default_rng(seed + 1).uniform(-1, 1, size=tuple(y.shape))).to(dev)
        (y * w).sum().backward()
        out.append(x.grad)
    return out


@pytest.mark.parametrize("name,fn,distinct", [
    ("sum", lambda t: t.sum(), False),
    ("sum_dim", lambda t: t.sum((0, 2), keepdim=True), False),
    ("mean", lambda t: t.mean(1), False),
    ("softmax", lambda t: t.softmax(1), False),
    ("softmax_dim0", lambda t: t.softmax(0), False),
    ("log_softmax", lambda t: t.log_softmax(-1), False),
    ("logsumexp", lambda t: t.logsumexp((1, 2)), False),
    ("cumsum", lambda t: t.cumsum(1), False),
    ("cumprod", lambda t: t.cumprod(2), False),
    ("max_dim", lambda t: t.max(1), True),
    ("amax", lambda t: t.amax((0, 1)), True),
    ("max_all", lambda t: t.max(), True),
    ("var", lambda t: t.var(2), False),
    ("norm", lambda t: t.norm(dim=1), False),
    ("sort", lambda t: t.sort(2, descending=True), True),
    ("topk", lambda t: t.topk(2, 1), True),
    ("median", lambda t: t.median(2), True),
])
def test_gradients_match_cpu(name, fn, distinct):
    gc, gg = grad_pair(fn, (3, 4, 5), seed=22, distinct=distinct)
    same(gg, gc, rtol=1e-10, atol=1e-10)


def test_prod_gradient_with_zeros():
    a = ctorch.tensor([[1.0, 0.0, 3.0], [2.0, 4.0, 0.5], [0.0, 0.0, 1.0]], dtype=ctorch.float64)
    for fn in (lambda t: t.prod(1), lambda t: t.prod(), lambda t: t.cumprod(1)):
        grads = []
        for dev in ("cpu", "cuda"):
            x = a.to(dev).detach().requires_grad_()
            fn(x).sum().backward()
            grads.append(x.grad)
        same(grads[1], grads[0], rtol=1e-12, atol=1e-12)
