"""Indexing, gather/scatter and mask ops on CUDA against the same ops on the CPU (GPU only)."""
import os

import numpy as np
import pytest

import ctorch
from conftest import make_tensor, to_np

# CTORCH_TEST_INDEX_DEVICE=cpu runs these tests CPU-against-CPU: a check of the tests themselves on
# machines without a GPU.
DEV = os.environ.get("CTORCH_TEST_INDEX_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(DEV == "cuda" and not ctorch.cuda.is_available(),
                                reason="CUDA not available")

DTYPES = [ctorch.bool, ctorch.uint8, ctorch.int8, ctorch.int32, ctorch.int64, ctorch.float16,
          ctorch.bfloat16, ctorch.float32, ctorch.float64]
# Dtypes whose sums are exact whatever the order (the atomics add in any order).
REDUCE_DTYPES = [ctorch.int32, ctorch.int64, ctorch.float16, ctorch.bfloat16, ctorch.float32,
                 ctorch.float64]
# Float32/64 results of order-dependent reductions (the atomics add in any order) against the
# CPU's serial order. 16-bit floats get values on a grid of 0.5 (see vals) and so are exact.
TOL = {ctorch.float32: 1e-4, ctorch.float64: 1e-12}


def T(a, dtype=None):
    return ctorch.tensor(np.asarray(a), dtype=dtype)


def dev(a):
    """A tensor's copy on the device under test (other values as they are)."""
    if isinstance(a, ctorch.Tensor):
        return a.to(DEV) if DEV != "cpu" else a.clone()
    if isinstance(a, (tuple, list)):
        return type(a)(dev(x) for x in a)
    return a


def vals(shape, dtype, seed=0, low=-3, high=4):
    """Random values; 16-bit floats get multiples of 0.5, whose small sums and products are exact
    in any order."""
    if dtype in (ctorch.float16, ctorch.bfloat16):
        return (make_tensor(shape, ctorch.int64, low=2 * low, high=2 * high, seed=seed).to(dtype) / 2).to(dtype)
    return make_tensor(shape, dtype, low=low, high=high, seed=seed)


def dev_strided(t):
    """t's values on the device, laid out with gaps (every other element of a wider buffer)."""
    if t.dim() == 0 or t.numel() == 0:
        return t.to(DEV)
    wide = ctorch.zeros(*t.shape[:-1], t.shape[-1] * 2, dtype=t.dtype, device=DEV)
    v = wide[..., ::2]
    v.copy_(t)
    assert not v.is_contiguous() or t.numel() <= 1
    return v


def same(got, exp, tol=None):
    assert str(got.device).startswith(DEV), got.device
    assert got.dtype == exp.dtype, (got.dtype, exp.dtype)
    assert tuple(got.shape) == tuple(exp.shape), (tuple(got.shape), tuple(exp.shape))
    g, e = to_np(got.cpu()), to_np(exp)
    if tol is None:
        np.testing.assert_array_equal(g, e)
    else:
        np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=tol, atol=tol,
                                   equal_nan=True)


def run(fn, *args, tol=None, strided=False):
    """fn on the CPU inputs and on their device copies (the first one laid out with gaps when
    `strided`): the same result."""
    exp = fn(*[a.clone() if isinstance(a, ctorch.Tensor) else a for a in args])  # in-place ops are fine
    dargs = [dev(a) for a in args]
    if strided:
        dargs[0] = dev_strided(args[0])
    got = fn(*dargs)
    if isinstance(exp, (tuple, list)):
        assert len(got) == len(exp)
        for g, e in zip(got, exp):
            same(g, e, tol)
    else:
        same(got, exp, tol)
    return got


def same_error(fn, *args):
    """fn raises on the device exactly what it raises on the CPU (class and message)."""
    with pytest.raises(Exception) as cpu:
        fn(*args)
    with pytest.raises(Exception) as gpu:
        fn(*[dev(a) for a in args])
    assert type(gpu.value) is type(cpu.value), (type(gpu.value), type(cpu.value), str(gpu.value))
    assert str(gpu.value) == str(cpu.value)
    return gpu.value


def tol_of(dtype):
    return TOL.get(dtype)


# ------------------------------------------------------------------ subscripts

I = T([0, -1, 2, 3, -4])      # valid for dims of size >= 4, negatives included
J = T([[1], [-2]])            # broadcasts against I
GET_KEYS = [
    lambda x, i, j, m: x[i],
    lambda x, i, j, m: x[:, i],
    lambda x, i, j, m: x[..., i],
    lambda x, i, j, m: x[i, j],                  # adjacent: broadcast dims in place
    lambda x, i, j, m: x[i, :, j],               # separated: broadcast dims first
    lambda x, i, j, m: x[1, i],                  # int with advanced
    lambda x, i, j, m: x[i.to(ctorch.int32), 1:3, None],
    lambda x, i, j, m: x[m],                     # 2-d mask
    lambda x, i, j, m: x[m, 2:],
    lambda x, i, j, m: x[:, m[0]],               # 1-d mask on dim 1
    lambda x, i, j, m: x[ctorch.tensor(True)],
    lambda x, i, j, m: x[ctorch.tensor(False)],
    lambda x, i, j, m: x[i[:0]],                 # zero-size index
]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_getitem(dtype):
    x = make_tensor((4, 5, 6), dtype)
    m = make_tensor((4, 5), ctorch.bool, seed=3)
    for k, key in enumerate(GET_KEYS):
        run(key, x, I, J, m)
        run(key, x, I, J, m, strided=True)
    # a transposed (non-contiguous) self and a non-contiguous index
    run(lambda x, i: x.transpose(0, 2)[i], x, I)
    run(lambda x, i: x[i], x, T([[0, 3], [2, -1]]).t())


def test_getitem_cpu_indices_on_device_tensor():
    x = make_tensor((4, 5), ctorch.float32)
    m = make_tensor((4, 5), ctorch.bool, seed=1)
    same(dev(x)[I], x[I])                       # PyTorch moves CPU indices to the tensor's device
    same(dev(x)[I, J], x[I, J])
    same(dev(x)[m], x[m])
    y = dev(x)
    y[I[:3]] = ctorch.tensor(7.0)              # a CPU 0-d value may be written too
    e = x.clone()
    e[I[:3]] = ctorch.tensor(7.0)
    same(y, e)
    if DEV == "cuda":
        with pytest.raises(RuntimeError):      # a device index for a CPU tensor is refused
            x[dev(I)]
        with pytest.raises(RuntimeError):      # a non-scalar value must live on self's device
            dev(x)[I[:2]] = make_tensor((2, 5), ctorch.float32)


def test_getitem_out_of_range():
    x = make_tensor((4, 5), ctorch.float32)
    for key in [T([0, 4]), T([-5]), (T([0]), T([5])), (slice(None), T([[1, -6]]))]:
        e = same_error(lambda x, k: x[k], x, key)
        assert isinstance(e, IndexError)
    e = same_error(lambda x: x[T([1, 9, -9])], x)  # names the first offender, as on the CPU
    assert "9" in str(e)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_setitem(dtype):
    x = make_tensor((4, 5, 6), dtype)
    v = make_tensor((3, 5, 6), dtype, seed=1)
    i = T([2, -1, 0])                           # distinct targets: the result is defined
    m = make_tensor((4, 5), ctorch.bool, seed=2)

    def put_rows(x, i, v):
        x[i] = v
        return x

    def put_multi(x, i, v):
        x = x.clone()
        x[i, :, T([1, -1, 3]).to(x.device)] = v[:, :, 0]
        return x

    def put_mask(x, m, v):
        x = x.clone()
        x[m] = v[0, 0]
        return x

    def put_scalar(x, i):
        x = x.clone()
        x[:, i] = 1
        return x

    run(put_rows, x, i, v)
    run(put_rows, x, i, v, strided=True)
    run(put_rows, x, i, v[:, :1])              # broadcast value
    run(put_multi, x, i, v)
    run(put_mask, x, m, v)
    run(put_scalar, x, i)
    run(put_rows, x, i[:0], v[:0])             # nothing to write


@pytest.mark.parametrize("dtype", REDUCE_DTYPES + [ctorch.bool, ctorch.uint8], ids=str)
def test_index_put_accumulate_duplicates(dtype):
    x = vals((4, 3), dtype, seed=3)
    v = vals((50, 3), dtype, seed=4, low=-2, high=3)
    idx = T(np.random.default_rng(0).integers(-4, 4, size=50))    # many repeats, negatives too
    run(lambda x, i, v: x.index_put((i,), v, accumulate=True), x, idx, v, tol=tol_of(dtype))
    run(lambda x, i, v: x.index_put_((i,), v, accumulate=True), x, idx, v, tol=tol_of(dtype),
        strided=True)
    j = T(np.random.default_rng(1).integers(0, 3, size=50))
    run(lambda x, i, j, v: x.index_put((i, j), v[:, 0], accumulate=True), x, idx, j, v, tol=tol_of(dtype))


def test_index_put_without_accumulate_duplicates_writes_one_of_them():
    x = ctorch.zeros(3)
    v = ctorch.tensor([1.0, 2.0, 3.0, 4.0])
    r = dev(x).index_put((dev(T([1, 1, 1, 2])),), dev(v)).cpu()
    assert to_np(r)[0] == 0 and to_np(r)[1] in (1.0, 2.0, 3.0) and to_np(r)[2] == 4.0


def test_setitem_out_of_range():
    x = make_tensor((4, 5), ctorch.float32)

    def f(x, i):
        x[i] = 1.0

    assert isinstance(same_error(f, x, T([0, -5])), IndexError)
    assert isinstance(same_error(lambda x, i, v: x.index_put_((i,), v, accumulate=True), x, T([4]),
                                 ctorch.ones(1, 5)), IndexError)


# ------------------------------------------------------------------ gather family

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_index_select_gather_take(dtype):
    x = make_tensor((4, 5, 6), dtype)
    for dim, n in [(0, 4), (1, 5), (-1, 6)]:
        idx = T(np.random.default_rng(dim + 9).integers(0, n, size=7))
        run(lambda x, i: ctorch.index_select(x, dim, i), x, idx)
        run(lambda x, i: x.index_select(dim, i.to(ctorch.int32)), x, idx, strided=True)
        shape = [3, 4, 5]
        shape[dim] = 7
        g = T(np.random.default_rng(dim + 1).integers(0, n, size=shape))
        run(lambda x, g: ctorch.gather(x, dim, g), x, g)
        run(lambda x, g: x.gather(dim, g), x, g, strided=True)
        run(lambda x, g: x.gather(dim, g.transpose(0, 1).contiguous().transpose(0, 1)), x, g)
        run(lambda x, g: x.gather(dim, g[:0]), x, g)                   # zero-size index
    t = T([[0, -1, 7], [119, -120, 3]])
    run(lambda x, t: x.take(t), x, t)
    run(lambda x, t: x.take(t.t()), x, t, strided=True)
    run(lambda x, t: ctorch.take_along_dim(x, t, 1), x, T(np.random.default_rng(3).integers(0, 5, (4, 2, 6))))
    run(lambda x, t: ctorch.take_along_dim(x, t, -1), x, T(np.random.default_rng(4).integers(0, 6, (1, 5, 3))))
    run(lambda x: ctorch.index_select(x[0, 0, 0], 0, T([0]).to(x.device)), x)   # 0-d self
    run(lambda x: x[0, 0, 0].gather(0, T(0).to(x.device)), x)


def test_gather_family_errors_and_devices():
    x = make_tensor((4, 5), ctorch.float32)
    e = same_error(lambda x, i: x.index_select(0, i), x, T([0, 4]))
    assert isinstance(e, IndexError) and "4" in str(e)
    e = same_error(lambda x, i: x.index_select(1, i), x, T([-1]))
    assert isinstance(e, IndexError)
    e = same_error(lambda x, i: x.gather(1, i), x, T([[0, 5]]))
    assert isinstance(e, RuntimeError) and "5" in str(e)
    e = same_error(lambda x, i: x.gather(0, i), x, T([[-1]]))
    same_error(lambda x, i: x.take(i), x, T([20]))
    same_error(lambda x, i: x.take(i), x, T([-21]))
    same_error(lambda x, i: x.gather(0, i), x, T([[0.0]]))              # dtype check kept
    if DEV == "cuda":
        for fn in [lambda x, i: x.gather(0, i), lambda x, i: x.index_select(0, i[0]),
                   lambda x, i: x.take(i), lambda x, i: x.scatter(0, i, 1.0),
                   lambda x, i: x.scatter_add(0, i, x[:1]), lambda x, i: x.index_add(0, i[0], x[:1]),
                   lambda x, i: x.index_fill(0, i[0], 1.0), lambda x, i: x.put(i, x[0, :1])]:
            with pytest.raises(RuntimeError, match="same device"):
                fn(dev(x), T([[1]]))                                    # CPU index, CUDA self
            with pytest.raises(RuntimeError, match="same device"):
                fn(x, dev(T([[1]])))                                    # CUDA index, CPU self
        with pytest.raises(RuntimeError, match="same device"):
            dev(x).scatter(0, dev(T([[1]])), x[:1])                     # CPU src
        with pytest.raises(RuntimeError, match="same device"):
            dev(x).masked_select(x > 0)                                 # CPU mask


# ------------------------------------------------------------------ scatter family

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_scatter_index_copy_fill(dtype):
    x = make_tensor((5, 4), dtype)
    src = make_tensor((6, 4), dtype, seed=2)
    rng = np.random.default_rng(7)
    perm = T(np.stack([rng.permutation(5)[:3] for _ in range(4)], 1))   # distinct targets per column
    run(lambda x, i, s: x.scatter(0, i, s), x, perm, src)
    run(lambda x, i, s: x.scatter_(0, i, s), x, perm, src, strided=True)
    run(lambda x, i: x.scatter(0, i, 1), x, perm)
    rows = T(np.stack([rng.permutation(4)[:2] for _ in range(5)], 0))    # along dim 1
    run(lambda x, i, s: x.scatter(1, i, s), x, rows, src)
    run(lambda x, i, s: x.scatter(1, i, s[:0]), x, rows[:0], src)
    run(lambda x, i, s: x.index_copy(0, i, s[:3]), x, T([4, 0, 2]), src)
    run(lambda x, i, s: x.index_copy_(1, i, s[:5, :2]), x, T([3, 1]), src, strided=True)
    run(lambda x, i: x.index_fill(0, i, 1), x, T([1, -1, 1]))           # repeats write the same
    run(lambda x, i: x.index_fill(1, i, ctorch.tensor(0)), x, T([0, 3]))  # CPU 0-d value
    run(lambda x, i: x.index_fill_(1, i, 1), x, T([-4]), strided=True)


@pytest.mark.parametrize("dtype", REDUCE_DTYPES + [ctorch.uint8, ctorch.int8], ids=str)
def test_scatter_add_and_index_add_duplicates(dtype):
    x = vals((5, 4), dtype)
    src = vals((40, 4), dtype, seed=2)
    rng = np.random.default_rng(1)
    idx = T(rng.integers(0, 5, size=(30, 4)))
    tol = tol_of(dtype)
    run(lambda x, i, s: x.scatter_add(0, i, s), x, idx, src, tol=tol)
    run(lambda x, i, s: x.scatter_add_(0, i, s), x, idx, src, tol=tol, strided=True)
    run(lambda x, i, s: x.scatter(0, i, s, reduce="add"), x, idx, src, tol=tol)
    run(lambda x, i, s: x.index_add(0, i, s), x, T(rng.integers(0, 5, size=40)), src, tol=tol)
    run(lambda x, i, s: x.index_add_(1, i, s[:5]), x, T(rng.integers(0, 4, size=4)), src, tol=tol,
        strided=True)
    run(lambda x, i, s: x.put(i, s[:, 0], accumulate=True), x, T(rng.integers(-20, 20, size=40)), src,
        tol=tol)
    run(lambda x, i, s: x.put_(i, s[:, 0], accumulate=True), x, T(rng.integers(-20, 20, size=40)), src,
        tol=tol, strided=True)
    run(lambda x, i, s: x.put(i, s[:20, 0]), x, T(rng.permutation(40)[:20] - 20), src)  # distinct


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", REDUCE_DTYPES, ids=str)
def test_scatter_reduce_and_index_reduce(reduce, include_self, dtype):
    # Integer values (floats included): sums, products and means come out exact in any order.
    x = make_tensor((5, 3), ctorch.int64, low=-3, high=4).to(dtype)
    src = make_tensor((12, 3), ctorch.int64, low=-2, high=3, seed=9).to(dtype)
    rng = np.random.default_rng(4)
    idx = T(rng.integers(0, 5, size=(12, 3)))
    run(lambda x, i, s: x.scatter_reduce(0, i, s, reduce, include_self=include_self), x, idx, src)
    run(lambda x, i, s: x.scatter_reduce_(1, i, s, reduce, include_self=include_self),
        x, T(rng.integers(0, 3, size=(5, 3))), src, strided=True)
    if reduce != "sum":
        run(lambda x, i, s: x.index_reduce(0, i, s[:6], reduce, include_self=include_self),
            x, T([0, 4, 0, 1, 2, 0]), src)
        run(lambda x, i, s: x.index_reduce_(1, i, s[:5, :3], reduce, include_self=include_self),
            x, T([2, 0, 2]), src, strided=True)


def test_scatter_reduce_nan_and_legacy_multiply():
    x = ctorch.tensor([0.0, 0.0, 5.0])
    s = ctorch.tensor([1.0, float("nan"), 2.0, -1.0])
    i = T([0, 0, 1, 1])
    for r in ["amax", "amin"]:
        run(lambda x, i, s: x.scatter_reduce(0, i, s, r), x, i, s)
    run(lambda x, i, s: x.scatter(0, i, s, reduce="multiply"), x, i, s)


def test_scatter_family_errors():
    x = make_tensor((5, 4), ctorch.float32)
    src = make_tensor((6, 4), ctorch.float32)
    assert isinstance(same_error(lambda x, i, s: x.scatter(0, i, s), x, T([[5, 0]]), src), RuntimeError)
    assert isinstance(same_error(lambda x, i, s: x.scatter_add(0, i, s), x, T([[-1, 0]]), src),
                      RuntimeError)
    same_error(lambda x, i, s: x.scatter_reduce(1, i, s, "amax"), x, T([[4]]), src)
    same_error(lambda x, i, s: x.index_add(0, i, s[:1]), x, T([-1]), src)
    same_error(lambda x, i, s: x.index_add(0, i, s[:1]), x, T([5]), src)
    same_error(lambda x, i, s: x.index_copy(0, i, s[:1]), x, T([5]), src)
    same_error(lambda x, i: x.index_fill(1, i, 0.0), x, T([-5]))
    same_error(lambda x, i, s: x.index_reduce(0, i, s[:1], "prod"), x, T([7]), src)
    same_error(lambda x, i, s: x.put(i, s[0, :1]), x, T([20]), src)


def test_writes_into_transposed_views_and_self_aliasing_index():
    x = vals((4, 5, 6), ctorch.float32)

    def put_acc(x, i, v):
        x.transpose(0, 2).index_put_((i,), v, accumulate=True)
        return x

    def scatter_add_t(x, i, s):
        x.transpose(0, 1).scatter_add_(0, i, s)
        return x

    def index_copy_t(x, i, s):
        x.transpose(1, 2).index_copy_(1, i, s)
        return x

    def masked_scatter_t(x, m, s):
        x.transpose(0, 2).masked_scatter_(m, s)
        return x

    run(put_acc, x, T([0, 5, 5, -1]), vals((4, 5, 4), ctorch.float32, seed=2), tol=TOL[ctorch.float32])
    run(scatter_add_t, x, T(np.random.default_rng(2).integers(0, 5, size=(7, 4, 6))),
        vals((7, 4, 6), ctorch.float32, seed=3), tol=TOL[ctorch.float32])
    run(index_copy_t, x, T([5, 0]), vals((4, 2, 5), ctorch.float32, seed=4))
    run(masked_scatter_t, x, make_tensor((6, 5, 4), ctorch.bool, seed=5), vals((120,), ctorch.float32, seed=6))
    y = T([[0, 1, 2], [2, 1, 0]])
    run(lambda y: y.scatter_(1, y, y), y)                # index and src alias self
    run(lambda y: y.index_put_((y[0, :2], y[1, :2]), y[0, 1:], accumulate=True), y)
    run(lambda y: y.put_(y[1], y[0]), y)


# ------------------------------------------------------------------ masks

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_mask_ops(dtype):
    x = make_tensor((4, 5), dtype)
    m = make_tensor((4, 5), ctorch.bool, seed=1)
    row = make_tensor((5,), ctorch.bool, seed=2)
    src = make_tensor((30,), dtype, seed=3)
    run(lambda x, m: x.masked_select(m), x, m)
    run(lambda x, m: x.masked_select(m), x, m, strided=True)
    run(lambda x, m: x.masked_select(m), x, row)                       # broadcast mask
    run(lambda x, m: x[0].masked_select(m), x, m)                      # broadcast self
    run(lambda x, m: x.masked_select(m), x, m.t().contiguous().t())    # non-contiguous mask
    run(lambda x, m: x[0, 0].masked_select(m[0, 0]), x, m)             # 0-d
    run(lambda x, m: x[:0].masked_select(m[:0]), x, m)                 # zero-size
    run(lambda x, m, s: x.masked_scatter(m, s), x, m, src)
    run(lambda x, m, s: x.masked_scatter_(m, s), x, m, src, strided=True)
    run(lambda x, m, s: x.masked_scatter(m, s.reshape(5, 6).t()), x, row, src)   # strided source
    run(lambda x, m: x.masked_fill(m, 1), x, m)
    run(lambda x, m: x.masked_fill(m, ctorch.tensor(0)), x, row)       # CPU 0-d value
    run(lambda x: x.nonzero(), x)
    run(lambda x: x.t().nonzero(), x)
    run(lambda x: ctorch.nonzero(x, as_tuple=True), x)
    run(lambda x: x[0, 0].nonzero(), x)
    run(lambda x: x[:, :0].nonzero(), x)


def test_mask_ops_errors_and_large():
    x = make_tensor((4, 5), ctorch.float32)
    m = ctorch.ones(4, 5, dtype=ctorch.bool)
    assert isinstance(same_error(lambda x, m, s: x.masked_scatter(m, s), x, m, ctorch.ones(19)), RuntimeError)
    same_error(lambda x, m: x.masked_select(m), x, m.to(ctorch.uint8))
    big = make_tensor((3, 70001), ctorch.float32, seed=5)
    bm = big > 1.0
    run(lambda x, m: x.masked_select(m), big, bm)
    run(lambda x: x.nonzero(), bm)
    run(lambda x, m: x[m], big, bm)


def test_one_hot():
    import ctorch.nn.functional as F
    x = T([[0, 2], [1, 0], [4, 3]])
    run(lambda x: F.one_hot(x), x)
    run(lambda x: F.one_hot(x, 7), x)
    run(lambda x: F.one_hot(x.t(), 5), x)
    run(lambda x: F.one_hot(x[0, 0], 3), x)
    run(lambda x: F.one_hot(x[:0], 4), x)
    same_error(lambda x: F.one_hot(x), T([2, -1]))
    same_error(lambda x: F.one_hot(x, 3), T([5, -1]))     # the first bad value decides the message
    same_error(lambda x: F.one_hot(x, 3), T([0, 3]))
    same_error(lambda x: F.one_hot(x), ctorch.zeros(0, dtype=ctorch.int64))


# ------------------------------------------------------------------ gradients

def grad_of(fn, x, *rest, device):
    leaf = x.detach().clone().to(device).detach()
    leaf.requires_grad_()
    out = fn(leaf, *[a.to(device) if isinstance(a, ctorch.Tensor) else a for a in rest])
    g = make_tensor(tuple(out.shape), ctorch.float64, seed=11)
    out.backward(g.to(device))
    return out, leaf.grad


@pytest.mark.parametrize("name,fn,extra", [
    ("index", lambda x, i: x[i], [T([0, 2, 0, -1])]),
    ("index_multi", lambda x, i: x[i, T([1, 1, 0, 2]).to(i.device)], [T([0, 2, 0, -1])]),
    ("index_mask", lambda x, m: x[m], [make_tensor((4, 3), ctorch.bool, seed=4)]),
    ("gather", lambda x, i: x.gather(1, i), [T([[0, 0, 2], [1, 2, 2], [0, 1, 0], [2, 2, 2]])]),
    ("index_select", lambda x, i: x.index_select(0, i), [T([3, 0, 3, 1, 3])]),
    ("masked_select", lambda x, m: x.masked_select(m), [make_tensor((3,), ctorch.bool, seed=5)]),
    ("take", lambda x, i: x.take(i), [T([[0, 11], [-1, 4]])]),
    ("scatter_add", lambda x, i: x.scatter_add(0, i, x * 2), [T([[0, 1, 0], [3, 3, 3], [0, 1, 2], [1, 1, 1]])]),
    ("scatter_reduce_amax", lambda x, i: x.scatter_reduce(0, i, x * 2, "amax"),
     [T([[0, 1, 0], [3, 3, 3], [0, 1, 2], [1, 1, 1]])]),
])
def test_gradients(name, fn, extra):
    x = make_tensor((4, 3), ctorch.float64, seed=8)
    out_c, g_c = grad_of(fn, x, *extra, device="cpu")
    out_d, g_d = grad_of(fn, x, *extra, device=DEV)
    same(out_d, out_c.detach())
    same(g_d, g_c, tol=1e-12)
