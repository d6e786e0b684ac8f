"""Subscripts (getitem/setitem), the gather/scatter family and mask ops against NumPy and torch."""
import numpy as np
import pytest

import ctorch
from conftest import ALL_DTYPES, assert_close, make_tensor, noncontiguous, to_np

try:
    import torch
except ImportError:  # the torch oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def T(a, dtype=None):
    return ctorch.tensor(np.asarray(a), dtype=dtype)


def th(t):
    """A ctorch tensor as a torch tensor (same dtype)."""
    if t.dtype == ctorch.bfloat16:
        return torch.from_numpy(to_np(t)).to(torch.bfloat16)
    return torch.from_numpy(to_np(t))


def assert_torch(actual, expected):
    exp = expected.float() if expected.dtype == torch.bfloat16 else expected
    assert tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(to_np(actual), exp.numpy())


# ------------------------------------------------------------------ basic indexing

BASIC_KEYS = [
    1, -1, 0, (0, 1), (1, -2, 3), slice(None), slice(1, None), slice(None, None, 2), slice(-3, -1),
    slice(1, 100), slice(5, 2), (slice(None), 2), (Ellipsis, 1), (1, Ellipsis), (None,), (None, 1),
    (slice(None), None, slice(None, None, 3)), (Ellipsis, None), (0, slice(None), None, -1),
    (), Ellipsis, (slice(0, 2), slice(1, 3), slice(None, None, 2)), (Ellipsis, slice(1, 2), None),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_getitem_matches_numpy_and_is_view(key):
    a = np.arange(60).reshape(3, 4, 5)
    x = ctorch.tensor(a)
    r = x[key]
    np.testing.assert_array_equal(to_np(r), a[key])
    assert r._storage_id() == x._storage_id()  # basic indexing never copies


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_getitem_noncontiguous(key):
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    x = noncontiguous(ctorch.tensor(a))
    np.testing.assert_array_equal(to_np(x[key]), a[key])


def test_int_index_is_view_that_writes_through():
    x = ctorch.zeros(3, 4)
    row = x[1]
    row.fill_(7)
    assert to_np(x)[1].tolist() == [7] * 4
    assert x[1, 2].item() == 7


def test_numpy_integer_and_tensor_scalar_keys():
    a = np.arange(12).reshape(3, 4)
    x = ctorch.tensor(a)
    np.testing.assert_array_equal(to_np(x[np.int64(2)]), a[2])
    np.testing.assert_array_equal(to_np(x[np.int32(1), 1:3]), a[1, 1:3])
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(2)]), a[2])  # 0-d int tensor
    np.testing.assert_array_equal(to_np(x[1:ctorch.tensor(3)]), a[1:3])
    np.testing.assert_array_equal(to_np(x[range(0, 3, 2)]), a[[0, 2]])
    np.testing.assert_array_equal(to_np(x[np.array([2, 1])]), a[[2, 1]])
    np.testing.assert_array_equal(to_np(x[np.array([True, False, True])]), a[[0, 2]])
    np.testing.assert_array_equal(to_np(x[np.True_]), a[np.True_])


def test_bool_python_keys():
    a = np.arange(6).reshape(2, 3)
    x = ctorch.tensor(a)
    assert x[True].shape == (1, 2, 3)
    assert x[False].shape == (0, 2, 3)
    assert x[None, True].shape == (1, 1, 2, 3)
    assert ctorch.tensor(1.0)[True].shape == (1,)
    assert ctorch.tensor(1.0)[False].shape == (0,)
    np.testing.assert_array_equal(to_np(x[True, 1]), a[True, 1])


def test_zero_dim_tensor_indexing():
    s = ctorch.tensor(3.5)
    assert s[...].item() == 3.5 and s[...].shape == ()
    assert s[None].shape == (1,)
    assert s[()].shape == ()
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        s[0]
    with pytest.raises(IndexError):
        s[0:1]


def test_zero_size_indexing():
    x = ctorch.zeros(0, 3)
    assert x[:, 1].shape == (0,)
    assert x[ctorch.tensor([], dtype=ctorch.int64)].shape == (0, 3)
    assert x[x > 0].shape == (0,)
    y = ctorch.zeros(2, 0)
    assert y[1].shape == (0,)
    assert y[[0, 1, 0]].shape == (3, 0)


@pytest.mark.parametrize("key,exc", [
    (5, IndexError), (-4, IndexError), ((0, 7), IndexError), ((0, 0, 0, 0), IndexError),
    ((Ellipsis, Ellipsis), IndexError), (1.5, IndexError), (slice(None, None, -1), ValueError),
    (slice(None, None, 0), ValueError), ("a", IndexError),
])
def test_getitem_errors(key, exc):
    x = ctorch.zeros(3, 4, 5)
    with pytest.raises(exc):
        x[key]


# ------------------------------------------------------------------ advanced indexing

ADV_KEYS = [
    [0, 2],
    [[0, 1], [2, 2]],
    [-1, 0, -3],
    ([0, 1], [1, 2]),
    (slice(None), [0, 3, 1]),
    ([0, 2], slice(None), [1, 4]),          # separated by a slice: advanced dims go first
    (Ellipsis, [1, -1]),
    ([[0], [2]], [1, 3]),                    # broadcast together
    (slice(1, 3), [[0, 1], [2, 3]], 2),
    (None, [0, 1], slice(None), [1, 2]),     # separated by a slice after None
    ([1], slice(None), slice(None, None, 2)),
    (slice(None), slice(None), [[4, 0]]),
]


@pytest.mark.parametrize("key", ADV_KEYS, ids=repr)
def test_advanced_getitem_matches_numpy(key):
    a = np.arange(60).reshape(3, 4, 5)
    x = ctorch.tensor(a)
    k = tuple(ctorch.tensor(np.array(e)) if isinstance(e, list) else e for e in key) \
        if isinstance(key, tuple) else ctorch.tensor(np.array(key))
    np.testing.assert_array_equal(to_np(x[k]), a[key])
    # Lists directly as keys behave the same.
    np.testing.assert_array_equal(to_np(x[key]), a[key])
    # A copy, not a view.
    r = x[k]
    if r.numel():
        assert r._storage_id() != x._storage_id()


@pytest.mark.parametrize("key", ADV_KEYS, ids=repr)
def test_advanced_getitem_noncontiguous(key):
    a = np.arange(60).reshape(3, 4, 5)
    x = noncontiguous(ctorch.tensor(a))
    np.testing.assert_array_equal(to_np(x[key]), a[key])
    xt = ctorch.tensor(a.transpose(2, 0, 1).copy()).permute(1, 2, 0)
    assert not xt.is_contiguous()
    np.testing.assert_array_equal(to_np(xt[key]), a[key])


@needs_torch
@pytest.mark.parametrize("key", [
    (0, slice(None), [1, 2]),        # torch applies the int first: the index stays adjacent
    ([0, 1], 1, [1, 2]),
    (1, [0, 2], slice(None)),
])
def test_int_mixed_with_advanced_follows_torch(key):
    a = np.arange(60).reshape(3, 4, 5)
    x = ctorch.tensor(a)
    tk = tuple(torch.tensor(e) if isinstance(e, list) else e for e in key)
    assert_torch(x[key], torch.from_numpy(a)[tk])


@pytest.mark.parametrize("dtype", [ctorch.int32, ctorch.int64])
def test_index_tensor_dtypes(dtype):
    a = np.arange(12).reshape(3, 4)
    x = ctorch.tensor(a)
    idx = ctorch.tensor([2, 0], dtype=dtype)
    np.testing.assert_array_equal(to_np(x[idx]), a[[2, 0]])
    np.testing.assert_array_equal(to_np(x[:, idx]), a[:, [2, 0]])


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_advanced_getitem_all_dtypes(dtype):
    x = make_tensor((4, 5), dtype)
    a = to_np(x)
    np.testing.assert_array_equal(to_np(x[[3, 0, 3]]), a[[3, 0, 3]])
    np.testing.assert_array_equal(to_np(x[:, [4, 1]]), a[:, [4, 1]])
    m = a > 0 if dtype != ctorch.bool else a
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(m)]), a[m])


def test_bool_masks():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4, 5))
    x = ctorch.tensor(a)
    m3 = a > 0
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(m3)]), a[m3])
    m2 = a[:, :, 0] > 0
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(m2)]), a[m2])
    m1 = np.array([True, False, True, True])
    np.testing.assert_array_equal(to_np(x[:, ctorch.tensor(m1)]), a[:, m1])
    np.testing.assert_array_equal(to_np(x[:, m1.tolist()]), a[:, m1])
    np.testing.assert_array_equal(to_np(x[1, ctorch.tensor(m1), 2:]), a[1, m1, 2:])
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(m2), 1:3]), a[m2, 1:3])
    np.testing.assert_array_equal(to_np(x[m1 if False else ctorch.tensor(m1[:3]), 0]), a[m1[:3], 0])
    # uint8 tensors are masks too (legacy)
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(m2.astype(np.uint8))]), a[m2])


def test_bool_mask_0d_tensor():
    x = ctorch.arange(3)
    assert x[ctorch.tensor(True)].shape == (1, 3)
    assert x[ctorch.tensor(False)].shape == (0, 3)


@pytest.mark.parametrize("key,exc", [
    (ctorch.tensor([3]), IndexError),
    (ctorch.tensor([-4]), IndexError),
    ((slice(None), ctorch.tensor([0, 4])), IndexError),
    (ctorch.tensor([1.0]), IndexError),
    (ctorch.tensor([1], dtype=ctorch.int8), IndexError),
    (ctorch.tensor([True, False]), IndexError),           # mask shape mismatch
    ((ctorch.tensor([0, 1]), ctorch.tensor([0, 1, 2])), IndexError),  # cannot broadcast
    ((ctorch.tensor([0]), 0, 0), IndexError),
])
def test_advanced_getitem_errors(key, exc):
    x = ctorch.zeros(3, 4)
    with pytest.raises(exc):
        x[key]


def test_huge_index_never_reads_out_of_bounds():
    x = ctorch.arange(10)
    for bad in [2 ** 40, -(2 ** 40), 2 ** 62, 10]:
        with pytest.raises(IndexError):
            x[ctorch.tensor([0, bad])]
    with pytest.raises(IndexError):
        x[2 ** 70]


# ------------------------------------------------------------------ setitem

@pytest.mark.parametrize("key", BASIC_KEYS + ADV_KEYS, ids=repr)
def test_setitem_number_matches_numpy(key):
    a = np.arange(60).reshape(3, 4, 5)
    x = ctorch.tensor(a)
    v0 = x._version
    x[key] = -7
    a[key] = -7
    np.testing.assert_array_equal(to_np(x), a)
    assert x._version > v0


@pytest.mark.parametrize("key", BASIC_KEYS + ADV_KEYS, ids=repr)
def test_setitem_tensor_broadcast_matches_numpy(key):
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    target_shape = a[key].shape
    rng = np.random.default_rng(0)
    # A value broadcasting along the leading dims: only the last dim (or a scalar).
    v = rng.standard_normal(target_shape[-1:]).astype(np.float32) if target_shape else np.float32(3)
    x = ctorch.tensor(a)
    x[key] = ctorch.tensor(v)
    a[key] = v
    np.testing.assert_array_equal(to_np(x), a)


def test_setitem_noncontiguous_target_and_view():
    a = np.zeros((4, 6))
    base = ctorch.zeros(4, 6)
    view = base[:, ::2]          # a strided view: writes land in base
    view[[0, 2], 1] = 5.0
    view[view.shape[0] - 1] = ctorch.tensor([1.0, 2.0, 3.0])
    a[:, ::2][[0, 2], 1] = 5.0
    a[:, ::2][3] = [1, 2, 3]
    np.testing.assert_array_equal(to_np(base), a)


def test_setitem_masks_and_values():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 5))
    x = ctorch.tensor(a)
    m = a > 0
    x[ctorch.tensor(m)] = 0.0
    a[m] = 0
    np.testing.assert_array_equal(to_np(x), a)
    m1 = np.array([True, False, True, False])
    x[ctorch.tensor(m1)] = ctorch.tensor(np.arange(5.0))
    a[m1] = np.arange(5.0)
    np.testing.assert_array_equal(to_np(x), a)
    x[ctorch.tensor(m1), 1:3] = ctorch.tensor([[9.0, 8.0], [7.0, 6.0]], dtype=ctorch.float64)
    a[m1, 1:3] = [[9, 8], [7, 6]]
    np.testing.assert_array_equal(to_np(x), a)


def test_setitem_converts_numbers_and_lists():
    x = ctorch.zeros(3, dtype=ctorch.int64)
    x[0] = 2.7                       # truncated into the int tensor, like torch
    x[[1, 2]] = 5
    assert to_np(x).tolist() == [2, 5, 5]
    x[1:] = [7, 8]
    assert to_np(x).tolist() == [2, 7, 8]
    y = ctorch.zeros(2, 3)
    y[0] = ctorch.tensor([1, 2, 3], dtype=ctorch.int32)  # basic: converted
    y[1] = ctorch.ones(1, 3)                                # leading 1-dims dropped
    assert to_np(y).tolist() == [[1, 2, 3], [1, 1, 1]]


def test_setitem_self_overlap():
    a = np.arange(10.0)
    x = ctorch.tensor(a)
    x[1:] = x[:-1]
    a[1:] = a[:-1].copy()
    np.testing.assert_array_equal(to_np(x), a)
    x = ctorch.tensor(np.arange(10.0))
    x[[9, 8, 7]] = x[[0, 1, 2]]
    assert to_np(x)[7:].tolist() == [2, 1, 0]


@pytest.mark.parametrize("key,value,exc", [
    (5, 1.0, IndexError),
    (ctorch.tensor([4]), 1.0, IndexError),
    (0, ctorch.ones(5), RuntimeError),
    (ctorch.tensor([0, 1]), ctorch.ones(3, 4), RuntimeError),
    (ctorch.tensor([0]), ctorch.ones(4, dtype=ctorch.float64), RuntimeError),  # dtype mismatch
    (slice(None, None, -1), 0.0, ValueError),
    (1.5, 0.0, IndexError),
])
def test_setitem_errors(key, value, exc):
    x = ctorch.zeros(3, 4)
    with pytest.raises(exc):
        x[key] = value


def test_index_put_accumulate():
    x = ctorch.zeros(5)
    idx = ctorch.tensor([0, 1, 1, 4, 1])
    x.index_put_((idx,), ctorch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), accumulate=True)
    assert to_np(x).tolist() == [1, 10, 0, 0, 4]
    y = x.index_put((idx,), ctorch.tensor(1.0), accumulate=False)
    assert to_np(y).tolist() == [1, 1, 0, 0, 1]
    assert to_np(x).tolist() == [1, 10, 0, 0, 4]
    z = ctorch.index_put(ctorch.zeros(2, 3), (ctorch.tensor([1, 1]), ctorch.tensor([0, 0])),
                         ctorch.tensor(2.0), accumulate=True)
    assert to_np(z).tolist() == [[0, 0, 0], [4, 0, 0]]
    with pytest.raises(IndexError):
        ctorch.zeros(3).index_put_((ctorch.tensor([3]),), ctorch.tensor(1.0))
    with pytest.raises(RuntimeError):
        ctorch.zeros(3).index_put_((ctorch.tensor([0]),), ctorch.tensor(1.0, dtype=ctorch.float64))


@needs_torch
@pytest.mark.parametrize("dtype", [ctorch.int32, ctorch.float16, ctorch.bfloat16, ctorch.float64, ctorch.bool])
def test_index_put_accumulate_vs_torch(dtype):
    x = make_tensor((4, 3), dtype, seed=3)
    v = make_tensor((5, 3), dtype, seed=4)
    idx = ctorch.tensor([0, 3, 0, 2, 0])
    r = x.clone().index_put_((idx,), v, accumulate=True)
    e = th(x).index_put_((th(idx),), th(v), accumulate=True)
    assert_torch(r, e)


# ------------------------------------------------------------------ index_select / gather / take

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select(dtype, dim):
    x = make_tensor((3, 4, 5), dtype)
    a = to_np(x)
    idx = np.array([0, 2, 2, 1])[: {0: 3, 1: 4, -1: 4}[dim]]
    for t in (x, noncontiguous(x)):
        r = ctorch.index_select(t, dim, ctorch.tensor(idx))
        np.testing.assert_array_equal(to_np(r), np.take(a, idx, axis=dim))
    np.testing.assert_array_equal(to_np(x.index_select(dim, ctorch.tensor(idx, dtype=ctorch.int32))),
                                  np.take(a, idx, axis=dim))


def test_index_select_edge_cases():
    x = ctorch.tensor(np.arange(12.0).reshape(3, 4))
    assert x.index_select(0, ctorch.tensor(1)).shape == (1, 4)
    assert x.index_select(0, ctorch.tensor([], dtype=ctorch.int64)).shape == (0, 4)
    assert ctorch.tensor(5.0).index_select(0, ctorch.tensor(0)).shape == ()
    with pytest.raises(IndexError):
        x.index_select(0, ctorch.tensor([3]))
    with pytest.raises(IndexError):
        x.index_select(0, ctorch.tensor([-1]))
    with pytest.raises(IndexError):
        x.index_select(0, ctorch.tensor([[0]]))
    with pytest.raises(RuntimeError):
        x.index_select(0, ctorch.tensor([0.0]))
    with pytest.raises(IndexError):
        x.index_select(2, ctorch.tensor([0]))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_gather(dtype, dim):
    x = make_tensor((3, 4, 5), dtype)
    a = to_np(x)
    rng = np.random.default_rng(dim + 7)
    shape = [2, 3, 4]
    shape[dim] = 6
    idx = rng.integers(0, a.shape[dim], size=shape)
    expected = np.take_along_axis(a[: shape[0] if dim not in (0,) else None,
                                    : shape[1] if dim != 1 else None,
                                    : shape[2] if dim not in (2, -1) else None], idx, axis=dim)
    for t in (x, noncontiguous(x)):
        np.testing.assert_array_equal(to_np(ctorch.gather(t, dim, ctorch.tensor(idx))), expected)
    np.testing.assert_array_equal(to_np(x.gather(dim, noncontiguous(ctorch.tensor(idx)))), expected)


def test_gather_edge_cases_and_errors():
    x = ctorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert to_np(ctorch.gather(x, 1, ctorch.tensor([[2], [0]]))).tolist() == [[3], [4]]
    assert ctorch.gather(x, 1, ctorch.zeros(2, 0, dtype=ctorch.int64)).shape == (2, 0)
    assert ctorch.gather(ctorch.tensor(5.0), 0, ctorch.tensor(0)).item() == 5.0
    with pytest.raises(RuntimeError, match="out of bounds"):
        ctorch.gather(x, 1, ctorch.tensor([[3]]))
    with pytest.raises(RuntimeError, match="out of bounds"):
        ctorch.gather(x, 1, ctorch.tensor([[-1]]))
    with pytest.raises(RuntimeError):
        ctorch.gather(x, 1, ctorch.tensor([1]))
    with pytest.raises(RuntimeError):
        ctorch.gather(x, 1, ctorch.zeros(3, 1, dtype=ctorch.int64))
    with pytest.raises(RuntimeError):
        ctorch.gather(x, 1, ctorch.tensor([[1.0]]))
    with pytest.raises(IndexError):
        ctorch.gather(x, 2, ctorch.tensor([[0]]))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_take(dtype):
    x = make_tensor((3, 4), dtype)
    a = to_np(x)
    idx = np.array([[0, 11], [-1, 5]])
    for t in (x, noncontiguous(x), x.t()):
        np.testing.assert_array_equal(to_np(ctorch.take(t, ctorch.tensor(idx))),
                                      to_np(t).ravel()[idx])
    assert x.take(ctorch.tensor(3)).shape == ()
    with pytest.raises(IndexError):
        x.take(ctorch.tensor([12]))
    with pytest.raises(IndexError):
        x.take(ctorch.tensor([-13]))
    with pytest.raises(RuntimeError):
        x.take(ctorch.tensor([1.0]))
    np.testing.assert_array_equal(to_np(x.take(ctorch.tensor([], dtype=ctorch.int64))), a.ravel()[[]])


# ------------------------------------------------------------------ scatter family

def np_scatter(a, dim, idx, src, op):
    out = a.copy()
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        tgt[dim] = idx[pos]
        tgt = tuple(tgt)
        out[tgt] = src[pos] if op is None else op(out[tgt], src[pos])
    return out


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_and_scatter_(dtype, dim):
    x = make_tensor((3, 4), dtype)
    src = make_tensor((3, 5), dtype, seed=5)
    rng = np.random.default_rng(11)
    ishape = (2, 3)
    # unique targets along dim so the result is deterministic
    idx = np.stack([rng.permutation(x.shape[dim])[:ishape[dim]] for _ in range(ishape[1 - dim % 2])],
                   axis=1 - dim % 2)
    expected = np_scatter(to_np(x), dim % 2, idx, to_np(src), None)
    r = ctorch.scatter(x, dim, ctorch.tensor(idx), src)
    np.testing.assert_array_equal(to_np(r), expected)
    y = noncontiguous(x)
    v0 = y._version
    y.scatter_(dim, ctorch.tensor(idx), noncontiguous(src))
    np.testing.assert_array_equal(to_np(y), expected)
    assert y._version > v0
    # value form
    expected_v = np_scatter(to_np(x), dim % 2, idx, np.ones(idx.shape, to_np(x).dtype), None)
    np.testing.assert_array_equal(to_np(x.scatter(dim, ctorch.tensor(idx), 1)), expected_v)
    np.testing.assert_array_equal(to_np(x.scatter(dim, ctorch.tensor(idx), value=1)), expected_v)


def test_scatter_legacy_reduce_and_errors():
    x = ctorch.zeros(3)
    assert to_np(x.scatter(0, ctorch.tensor([0, 0]), ctorch.ones(2), reduce="add")).tolist() == [2, 0, 0]
    y = ctorch.full((3,), 2.0)
    assert to_np(y.scatter(0, ctorch.tensor([1, 1]), ctorch.full((2,), 3.0), reduce="multiply")).tolist() == [2, 18, 2]
    x2 = ctorch.zeros(2, 3)
    with pytest.raises(RuntimeError):
        x2.scatter_(1, ctorch.tensor([[3]]), 1.0)
    with pytest.raises(RuntimeError):
        x2.scatter_(1, ctorch.tensor([[-1]]), 1.0)
    with pytest.raises(RuntimeError):
        x2.scatter_(1, ctorch.tensor([[1]]), ctorch.ones(1, 1, dtype=ctorch.float64))
    with pytest.raises(RuntimeError):
        x2.scatter_(1, ctorch.tensor([[0, 1]]), ctorch.ones(1, 1))  # src smaller than index
    with pytest.raises(RuntimeError):
        x2.scatter_(1, ctorch.tensor([0]), 1.0)
    with pytest.raises(RuntimeError):
        x2.scatter_(1, ctorch.tensor([[0]]), 1.0, reduce="max")


def test_scatter_self_alias():
    x = ctorch.tensor([1.0, 2.0, 3.0])
    x.scatter_(0, ctorch.tensor([2, 1, 0]), x)
    assert to_np(x).tolist() == [3, 2, 1]


@pytest.mark.parametrize("dtype", [ctorch.int32, ctorch.int64, ctorch.float16, ctorch.float32, ctorch.float64])
def test_scatter_add(dtype):
    x = make_tensor((4, 3), dtype)
    src = make_tensor((6, 3), dtype, seed=2)
    idx = np.random.default_rng(3).integers(0, 4, size=(6, 3))
    expected = np_scatter(to_np(x).astype(np.float64), 0, idx, to_np(src).astype(np.float64), np.add)
    assert_close(ctorch.scatter_add(x, 0, ctorch.tensor(idx), src), expected)
    y = x.clone()
    y.scatter_add_(0, ctorch.tensor(idx), src)
    assert_close(y, expected)


REDUCES = ["sum", "prod", "mean", "amax", "amin"]


@needs_torch
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", [ctorch.int32, ctorch.int64, ctorch.float32, ctorch.float64,
                                   ctorch.float16, ctorch.bfloat16, ctorch.uint8])
def test_scatter_reduce_vs_torch(reduce, include_self, dtype):
    x = make_tensor((5, 3), dtype, low=-3, high=4)
    src = make_tensor((7, 3), dtype, low=-3, high=4, seed=9)
    idx = ctorch.tensor(np.random.default_rng(4).integers(0, 5, size=(6, 3)))
    r = ctorch.scatter_reduce(x, 0, idx, src, reduce, include_self=include_self)
    e = torch.scatter_reduce(th(x), 0, th(idx), th(src), reduce, include_self=include_self)
    if dtype in (ctorch.float16, ctorch.bfloat16):
        assert_close(r, e.float().numpy())
    else:
        assert_torch(r, e)
    y = noncontiguous(x)
    y.scatter_reduce_(1, ctorch.tensor([[0, 0], [2, 1], [1, 1], [0, 2], [2, 2]]),
                      src, reduce, include_self=include_self)
    e2 = th(x).scatter_reduce_(1, torch.tensor([[0, 0], [2, 1], [1, 1], [0, 2], [2, 2]]), th(src),
                               reduce, include_self=include_self)
    if dtype in (ctorch.float16, ctorch.bfloat16):
        assert_close(y, e2.float().numpy())
    else:
        assert_torch(y, e2)


def test_scatter_reduce_nan_and_errors():
    x = ctorch.tensor([0.0, 0.0])
    r = x.scatter_reduce(0, ctorch.tensor([0, 0, 1]), ctorch.tensor([1.0, float("nan"), 2.0]), "amax")
    assert np.isnan(to_np(r)[0]) and to_np(r)[1] == 2
    r = ctorch.tensor([5, 7]).scatter_reduce(0, ctorch.tensor([0, 0]), ctorch.tensor([2, 2]), "mean")
    assert to_np(r).tolist() == [3, 7]
    r = ctorch.tensor([-5, 7]).scatter_reduce(0, ctorch.tensor([0, 0]), ctorch.tensor([2, 2]), "mean")
    assert to_np(r).tolist() == [-1, 7]   # floor, like torch
    with pytest.raises(RuntimeError):
        x.scatter_reduce(0, ctorch.tensor([0]), ctorch.tensor([1.0]), "foo")
    with pytest.raises(RuntimeError):
        x.scatter_reduce(0, ctorch.tensor([2]), ctorch.tensor([1.0]), "sum")


@pytest.mark.parametrize("dtype", [ctorch.int32, ctorch.int64, ctorch.float32, ctorch.float64, ctorch.bfloat16])
@pytest.mark.parametrize("dim", [0, 1])
def test_index_add(dtype, dim):
    x = make_tensor((4, 3), dtype)
    idx = np.array([0, 2, 0])
    sshape = [4, 3]
    sshape[dim] = 3
    src = make_tensor(tuple(sshape), dtype, seed=8)
    a, s = to_np(x).astype(np.float64), to_np(src).astype(np.float64)
    for alpha in (1, 2):
        expected = a.copy()
        np.add.at(expected, (idx,) if dim == 0 else (slice(None), idx), alpha * s)
        assert_close(ctorch.index_add(x, dim, ctorch.tensor(idx), src, alpha=alpha), expected)
        y = noncontiguous(x)
        v0 = y._version
        y.index_add_(dim, ctorch.tensor(idx), src, alpha=alpha)
        assert_close(y, expected)
        assert y._version > v0


def test_index_add_errors():
    x = ctorch.zeros(2, 3)
    with pytest.raises(RuntimeError):
        x.index_add_(0, ctorch.tensor([2]), ctorch.ones(1, 3))
    with pytest.raises(IndexError):
        x.index_add_(0, ctorch.tensor([-1]), ctorch.ones(1, 3))
    with pytest.raises(RuntimeError):
        x.index_add_(0, ctorch.tensor([1]), ctorch.ones(1, 3, dtype=ctorch.float64))
    with pytest.raises(RuntimeError):
        x.index_add_(0, ctorch.tensor([1]), ctorch.ones(2, 3))
    with pytest.raises(IndexError):
        x.index_add_(0, ctorch.tensor([[1]]), ctorch.ones(1, 3))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_index_copy_and_fill(dtype):
    x = make_tensor((4, 3), dtype)
    src = make_tensor((2, 3), dtype, seed=3)
    a = to_np(x)
    e = a.copy()
    e[[3, 1]] = to_np(src)
    np.testing.assert_array_equal(to_np(x.index_copy(0, ctorch.tensor([3, 1]), src)), e)
    y = noncontiguous(x)
    y.index_copy_(0, ctorch.tensor([3, 1]), src)
    np.testing.assert_array_equal(to_np(y), e)
    e = a.copy()
    e[:, [0, 2]] = 1
    np.testing.assert_array_equal(to_np(ctorch.index_fill(x, 1, ctorch.tensor([0, -1]), 1)), e)
    y = x.clone()
    y.index_fill_(1, ctorch.tensor([0, 2]), ctorch.tensor(1))
    np.testing.assert_array_equal(to_np(y), e)


def test_index_copy_fill_errors():
    x = ctorch.zeros(2, 3)
    with pytest.raises(IndexError):
        x.index_copy_(0, ctorch.tensor([2]), ctorch.ones(1, 3))
    with pytest.raises(RuntimeError):
        x.index_copy_(0, ctorch.tensor([1]), ctorch.ones(1, 3, dtype=ctorch.float64))
    with pytest.raises(IndexError):
        x.index_fill_(0, ctorch.tensor([2]), 1.0)
    with pytest.raises(RuntimeError):
        x.index_fill_(0, ctorch.tensor([1]), ctorch.ones(2))
    assert ctorch.tensor(1.0).index_fill(0, ctorch.tensor(0), 5.0).item() == 5.0


# ------------------------------------------------------------------ masks

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_masked_fill(dtype):
    x = make_tensor((3, 4), dtype)
    m = to_np(make_tensor((4,), ctorch.bool, seed=3))
    a = to_np(x)
    e = np.where(m, np.array(1, dtype=a.dtype), a)
    np.testing.assert_array_equal(to_np(x.masked_fill(ctorch.tensor(m), 1)), e)
    np.testing.assert_array_equal(to_np(ctorch.masked_fill(x, ctorch.tensor(m), ctorch.tensor(1))), e)
    y = noncontiguous(x)
    v0 = y._version
    y.masked_fill_(ctorch.tensor(m), 1)
    np.testing.assert_array_equal(to_np(y), e)
    assert y._version > v0
    assert x.masked_fill(ctorch.tensor(m), 1).dtype == dtype


def test_masked_fill_broadcast_and_errors():
    x = ctorch.zeros(3)
    assert x.masked_fill(ctorch.ones(2, 3, dtype=ctorch.bool), 1.0).shape == (2, 3)
    i = ctorch.zeros(3, dtype=ctorch.int64)
    assert to_np(i.masked_fill(ctorch.tensor([True, False, True]), 1.5)).tolist() == [1, 0, 1]
    with pytest.raises(RuntimeError):
        x.masked_fill_(ctorch.ones(2, 3, dtype=ctorch.bool), 1.0)
    with pytest.raises(RuntimeError):
        x.masked_fill(ctorch.ones(3), 1.0)
    with pytest.raises(RuntimeError):
        x.masked_fill(ctorch.ones(3, dtype=ctorch.bool), ctorch.ones(1))
    z = ctorch.zeros(0, 3)
    assert z.masked_fill(ctorch.ones(3, dtype=ctorch.bool), 1.0).shape == (0, 3)
    s = ctorch.tensor(2.0)
    assert s.masked_fill(ctorch.tensor(True), 5.0).item() == 5.0


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_masked_select(dtype):
    x = make_tensor((3, 4), dtype)
    m = to_np(make_tensor((3, 4), ctorch.bool, seed=3))
    a = to_np(x)
    np.testing.assert_array_equal(to_np(x.masked_select(ctorch.tensor(m))), a[m])
    np.testing.assert_array_equal(to_np(ctorch.masked_select(noncontiguous(x), ctorch.tensor(m))), a[m])
    row = m[0]
    np.testing.assert_array_equal(to_np(x.masked_select(ctorch.tensor(row))),
                                  a[np.broadcast_to(row, a.shape)])
    # mask broadcasting beyond self
    r = ctorch.arange(3).masked_select(ctorch.tensor([[True], [False]]))
    assert to_np(r).tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError):
        x.masked_select(ctorch.ones(3, 4))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_masked_scatter(dtype):
    x = make_tensor((3, 4), dtype)
    m = to_np(make_tensor((3, 4), ctorch.bool, seed=3))
    src = make_tensor((20,), dtype, seed=5)
    a = to_np(x).copy()
    a[m] = to_np(src)[: m.sum()]
    np.testing.assert_array_equal(to_np(x.masked_scatter(ctorch.tensor(m), src)), a)
    y = noncontiguous(x)
    y.masked_scatter_(ctorch.tensor(m), src.reshape(4, 5))
    np.testing.assert_array_equal(to_np(y), a)


def test_masked_scatter_errors():
    x = ctorch.zeros(2, 3)
    with pytest.raises(RuntimeError):
        x.masked_scatter(ctorch.ones(2, 3, dtype=ctorch.bool), ctorch.ones(2))
    with pytest.raises(RuntimeError):
        x.masked_scatter(ctorch.ones(2, 3, dtype=ctorch.bool), ctorch.ones(6, dtype=ctorch.float64))
    with pytest.raises(RuntimeError):
        x.masked_scatter(ctorch.ones(2, 3), ctorch.ones(6))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_nonzero(dtype):
    x = make_tensor((3, 4, 2), dtype, low=-1, high=2)
    a = to_np(x)
    np.testing.assert_array_equal(to_np(ctorch.nonzero(x)), np.argwhere(a))
    np.testing.assert_array_equal(to_np(noncontiguous(x).nonzero()), np.argwhere(a))
    tup = ctorch.nonzero(x, as_tuple=True)
    assert isinstance(tup, tuple) and len(tup) == 3
    for t, e in zip(tup, np.nonzero(a)):
        np.testing.assert_array_equal(to_np(t), e)
    assert ctorch.nonzero(x).dtype == ctorch.int64
    assert ctorch.argwhere(x).shape == ctorch.nonzero(x).shape


def test_nonzero_edge_cases():
    assert ctorch.nonzero(ctorch.tensor(1.0)).shape == (1, 0)
    assert ctorch.nonzero(ctorch.tensor(0.0)).shape == (0, 0)
    (t,) = ctorch.nonzero(ctorch.tensor(3.0), as_tuple=True)
    assert to_np(t).tolist() == [0]
    assert ctorch.nonzero(ctorch.zeros(0, 3)).shape == (0, 2)
    x = ctorch.tensor([0.0, -0.0, float("nan"), 1.0])
    assert to_np(x.nonzero()).ravel().tolist() == [2, 3]
    # where(cond) is nonzero(as_tuple=True)
    w = ctorch.where(ctorch.tensor([[0, 1], [1, 0]]))
    assert [to_np(e).tolist() for e in w] == [[0, 1], [1, 0]]


def test_one_hot():
    import ctorch.nn.functional as F
    x = ctorch.tensor([[0, 2], [1, 0]])
    e = np.eye(3, dtype=np.int64)[to_np(x)]
    np.testing.assert_array_equal(to_np(F.one_hot(x)), e)
    np.testing.assert_array_equal(to_np(ctorch.one_hot(x, 3)), e)
    np.testing.assert_array_equal(to_np(ctorch.nn.functional.one_hot(x, num_classes=5)),
                                  np.eye(5, dtype=np.int64)[to_np(x)])
    assert F.one_hot(ctorch.tensor(1), 3).shape == (3,)
    assert F.one_hot(ctorch.zeros(0, dtype=ctorch.int64), 4).shape == (0, 4)
    with pytest.raises(RuntimeError):
        F.one_hot(ctorch.tensor([-1]))
    with pytest.raises(RuntimeError):
        F.one_hot(ctorch.tensor([3]), 3)
    with pytest.raises(RuntimeError):
        F.one_hot(ctorch.tensor([1.0]))
    with pytest.raises(RuntimeError):
        F.one_hot(ctorch.zeros(0, dtype=ctorch.int64))


# ------------------------------------------------------------------ larger inputs (threaded paths)

def test_large_gather_paths_match_numpy():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((300, 257)).astype(np.float32)
    x = ctorch.tensor(a)
    rows = rng.integers(-300, 300, size=(40, 30))
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(rows)]), a[rows])
    cols = rng.integers(0, 257, size=(300, 200))
    np.testing.assert_array_equal(to_np(x.gather(1, ctorch.tensor(cols))), np.take_along_axis(a, cols, 1))
    np.testing.assert_array_equal(to_np(x.t()[:, ctorch.tensor(rows[0])]), a.T[:, rows[0]])
    flat = rng.integers(0, a.size, size=50000)
    np.testing.assert_array_equal(to_np(x.take(ctorch.tensor(flat))), a.ravel()[flat])
    m = a > 0.3
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(m)]), a[m])


def test_multi_index_negative_broadcast_noncontiguous_indices():
    a = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    x = ctorch.tensor(a)
    i = np.array([[-1], [0], [2]])
    j = np.array([1, -5, 4, 0])
    ti = noncontiguous(ctorch.tensor(i))
    tj = noncontiguous(ctorch.tensor(j))
    np.testing.assert_array_equal(to_np(x[ti, tj]), a[i, j])
    np.testing.assert_array_equal(to_np(x[ti, :, ctorch.tensor(j).to(ctorch.int32)]), a[i, :, j])
    y = x.clone()
    y[ti, tj] = -1
    b = a.copy()
    b[i, j] = -1
    np.testing.assert_array_equal(to_np(y), b)


def test_index_ops_on_int64_self_aliasing_index():
    # the index tensor is a view of the written tensor: indices are read before any write
    x = ctorch.tensor([2, 0, 1, 5])
    x.scatter_(0, x[:3], ctorch.tensor([7, 8, 9]))
    assert to_np(x).tolist() == [8, 9, 7, 5]
    y = ctorch.tensor([1, 0, 3, 3])
    y[y[:2]] = ctorch.tensor([10, 20])
    assert to_np(y).tolist() == [20, 10, 3, 3]


# ------------------------------------------------------------------ take_along_dim, put, index_reduce

def test_take_along_dim():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4, 5))
    x = ctorch.tensor(a)
    idx = np.argsort(a, axis=1)
    np.testing.assert_array_equal(to_np(ctorch.take_along_dim(x, ctorch.tensor(idx), 1)),
                                  np.take_along_axis(a, idx, 1))
    flat = np.array([[0, 59], [7, 3]])
    np.testing.assert_array_equal(to_np(x.take_along_dim(ctorch.tensor(flat))), a.ravel()[flat.ravel()])
    # broadcasting of the other dims
    bidx = rng.integers(0, 5, size=(1, 4, 2))
    np.testing.assert_array_equal(to_np(ctorch.take_along_dim(x, ctorch.tensor(bidx), dim=-1)),
                                  np.take_along_axis(a, np.broadcast_to(bidx, (3, 4, 2)), -1))
    with pytest.raises(RuntimeError):
        ctorch.take_along_dim(x, ctorch.tensor([[0]]), 1)
    with pytest.raises(RuntimeError):
        ctorch.take_along_dim(x, ctorch.tensor(idx) + 10, 1)


@pytest.mark.parametrize("dtype", [ctorch.int64, ctorch.float32, ctorch.float16, ctorch.bool])
def test_put(dtype):
    x = make_tensor((3, 4), dtype)
    src = make_tensor((2, 2), dtype, seed=6)
    idx = np.array([[0, -1], [5, 2]])
    e = to_np(x).copy().ravel()
    e[idx.ravel()] = to_np(src).ravel()
    np.testing.assert_array_equal(to_np(x.put(ctorch.tensor(idx), src)), e.reshape(3, 4))
    y = noncontiguous(x)
    v0 = y._version
    y.put_(ctorch.tensor(idx), src)
    np.testing.assert_array_equal(to_np(y), e.reshape(3, 4))
    assert y._version > v0
    with pytest.raises(IndexError):
        x.put_(ctorch.tensor([12]), src.reshape(-1)[:1])
    with pytest.raises(RuntimeError):
        x.put_(ctorch.tensor([1, 2]), src.reshape(-1)[:1])


def test_put_accumulate():
    x = ctorch.zeros(2, 2)
    x.put_(ctorch.tensor([0, 0, 3]), ctorch.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert to_np(x).tolist() == [[3, 0], [0, 3]]


@needs_torch
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.int64])
def test_index_reduce_vs_torch(reduce, include_self, dtype):
    x = make_tensor((5, 3), dtype, low=-3, high=4)
    src = make_tensor((4, 3), dtype, low=-3, high=4, seed=2)
    idx = ctorch.tensor([0, 4, 0, 2])
    r = x.index_reduce(0, idx, src, reduce, include_self=include_self)
    e = th(x).index_reduce(0, th(idx), th(src), reduce, include_self=include_self)
    np.testing.assert_allclose(to_np(r), e.numpy(), rtol=1e-6)
    y = noncontiguous(x)
    y.index_reduce_(0, idx, src, reduce, include_self=include_self)
    np.testing.assert_allclose(to_np(y), e.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError):
        x.index_reduce(0, idx, src, "sum")


@pytest.mark.parametrize("dim", [0, 1])
def test_large_scatter_paths_match_numpy(dim):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((400, 300))
    src = rng.standard_normal((400, 300))
    idx = rng.integers(0, a.shape[dim], size=(400, 300))
    x = ctorch.tensor(a)
    expected = a.copy()
    rows, cols = np.indices(idx.shape)
    tgt = (idx, cols) if dim == 0 else (rows, idx)
    np.add.at(expected, tgt, src)
    assert_close(x.scatter_add(dim, ctorch.tensor(idx), ctorch.tensor(src)), expected)
    cnt = np.ones_like(a)
    np.add.at(cnt, tgt, 1)
    assert_close(x.scatter_reduce(dim, ctorch.tensor(idx), ctorch.tensor(src), "mean"), expected / cnt)
    mx = a.copy()
    np.maximum.at(mx, tgt, src)
    assert_close(x.scatter_reduce(dim, ctorch.tensor(idx), ctorch.tensor(src), "amax"), mx)
    sel = rng.integers(0, 300 if dim == 1 else 400, size=250)
    e = a.copy()
    np.add.at(e, (sel,) if dim == 0 else (slice(None), sel),
              src[:250] if dim == 0 else src[:, :250])
    assert_close(x.index_add(dim, ctorch.tensor(sel), ctorch.tensor(src[:250] if dim == 0 else src[:, :250])), e)


def test_extreme_slice_bounds_and_steps():
    import sys
    a = np.arange(10)
    x = ctorch.tensor(a)
    for key in [slice(None, None, sys.maxsize), slice(3, None, sys.maxsize), slice(-2 ** 70, 2 ** 70),
                slice(2 ** 70, None), slice(None, -2 ** 70), slice(-3, None, 2 ** 65)]:
        np.testing.assert_array_equal(to_np(x[key]), a[key])


def test_zero_dim_int_tensor_key_acts_as_int():
    a = np.arange(24).reshape(2, 3, 4)
    x = ctorch.tensor(a)
    r = x[ctorch.tensor(1)]
    assert r._storage_id() == x._storage_id()   # a view, like x[1] (PyTorch does the same)
    np.testing.assert_array_equal(to_np(r), a[1])
    np.testing.assert_array_equal(to_np(x[ctorch.tensor(1, dtype=ctorch.int8), :, ctorch.tensor(-1)]), a[1, :, -1])
    # applied before advanced indexing, so the remaining index tensors stay adjacent
    assert x[ctorch.tensor(0), :, [1, 2]].shape == (3, 2)
    assert x[[0, 1], ctorch.tensor(1), [1, 2]].shape == (2,)
    with pytest.raises(IndexError):
        x[ctorch.tensor(5)]
    with pytest.raises(IndexError):
        x[ctorch.tensor(1.0)]
    with pytest.raises(IndexError):
        ctorch.tensor(1.0)[ctorch.tensor(0)]
    y = x.clone()
    y[ctorch.tensor(1), 0] = -1
    b = a.copy()
    b[1, 0] = -1
    np.testing.assert_array_equal(to_np(y), b)


@needs_torch
@pytest.mark.parametrize("seed", range(4))
def test_random_subscripts_match_torch(seed):
    import random
    rnd = random.Random(seed)
    a = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    x, t = ctorch.tensor(a), torch.from_numpy(a)

    def entry(size):
        r = rnd.random()
        if r < 0.2:
            return rnd.randint(-size, size - 1)
        if r < 0.4:
            return slice(rnd.choice([None, -3, 0, 1, 2]), rnd.choice([None, -1, 3, 10]), rnd.choice([None, 1, 2, 3]))
        if r < 0.5:
            return None
        if r < 0.6:
            return Ellipsis
        if r < 0.8:
            return [rnd.randint(-size, size - 1) for _ in range(rnd.randint(1, 3))]
        if r < 0.9:
            return [rnd.random() < 0.5 for _ in range(size)]
        return rnd.random() < 0.5

    for _ in range(300):
        key = tuple(entry([4, 5, 6][min(d, 2)]) for d in range(rnd.randint(1, 4)))
        if sum(e is Ellipsis for e in key) > 1:
            continue  # NumPy and ctorch raise; torch's handling is ill-defined

        def conv(mod):
            return tuple(mod.tensor(e) if isinstance(e, list) else e for e in key)
        try:
            expected = t[conv(torch)]
        except (IndexError, RuntimeError, ValueError) as e:
            with pytest.raises(type(e)):
                x[conv(ctorch)]
            continue
        try:
            got = x[conv(ctorch)]
        except IndexError:
            # torch skips the bounds check when the result is empty (a False key); ctorch does not
            assert expected.numel() == 0, key
            continue
        assert tuple(got.shape) == tuple(expected.shape), key
        np.testing.assert_array_equal(to_np(got), expected.numpy())
        # the same key as an assignment target
        y, u = x.clone(), t.clone()
        y[conv(ctorch)] = -1
        u[conv(torch)] = -1
        np.testing.assert_array_equal(to_np(y), u.numpy())


def test_in_place_writes_into_expanded_views_are_refused():
    e = ctorch.zeros(1, 3).expand(4, 3)
    idx = ctorch.tensor([[0, 1, 2]])
    with pytest.raises(RuntimeError, match="single memory location"):
        e.scatter_(0, idx, 1.0)
    with pytest.raises(RuntimeError, match="single memory location"):
        e.scatter_add_(0, idx, ctorch.ones(1, 3))
    with pytest.raises(RuntimeError, match="single memory location"):
        e.index_add_(0, ctorch.tensor([0]), ctorch.ones(1, 3))
    with pytest.raises(RuntimeError, match="single memory location"):
        e.index_put_((ctorch.tensor([0]),), ctorch.tensor(1.0))
    with pytest.raises(RuntimeError, match="single memory location"):
        e.masked_scatter_(ctorch.ones(4, 3, dtype=ctorch.bool), ctorch.ones(12))
    with pytest.raises(RuntimeError, match="single memory location"):
        e.put_(ctorch.tensor([0]), ctorch.tensor([1.0]))


def test_zero_size_inputs_across_ops():
    e = ctorch.zeros(0, 3)
    i0 = ctorch.zeros(0, 3, dtype=ctorch.int64)
    assert e.gather(0, i0).shape == (0, 3)
    assert e.clone().scatter_(0, i0, 1.0).shape == (0, 3)
    assert ctorch.zeros(2, 3).scatter_add(0, i0, e).shape == (2, 3)
    assert ctorch.zeros(2, 3).scatter_reduce(0, i0, e, "amax", include_self=False).shape == (2, 3)
    empty_idx = ctorch.tensor([], dtype=ctorch.int64)
    x = ctorch.ones(2, 3)
    assert to_np(x.index_add(0, empty_idx, ctorch.zeros(0, 3))).tolist() == [[1] * 3] * 2
    assert to_np(x.index_copy(1, empty_idx, ctorch.zeros(2, 0))).tolist() == [[1] * 3] * 2
    assert to_np(x.index_fill(0, empty_idx, 5.0)).tolist() == [[1] * 3] * 2
    assert x.index_select(1, empty_idx).shape == (2, 0)
    assert e.take(empty_idx).shape == (0,)
    assert e.masked_select(ctorch.zeros(0, 3, dtype=ctorch.bool)).shape == (0,)
    assert e.masked_fill(ctorch.zeros(3, dtype=ctorch.bool), 1.0).shape == (0, 3)
    assert e.masked_scatter(ctorch.zeros(0, 3, dtype=ctorch.bool), ctorch.zeros(0)).shape == (0, 3)
    assert e[empty_idx].shape == (0, 3)
    y = e.clone()
    y[empty_idx] = 1.0
    assert ctorch.nonzero(e, as_tuple=True)[0].shape == (0,)
    # 0-d inputs
    s = ctorch.tensor(4.0)
    assert s.gather(0, ctorch.tensor(0)).item() == 4.0
    assert s.clone().scatter_(0, ctorch.tensor(0), 7.0).item() == 7.0
    assert s.index_select(0, ctorch.tensor([0])).shape == ()
    with pytest.raises(RuntimeError):
        s.index_select(0, ctorch.tensor([0, 0]))
    assert s.take(ctorch.tensor([0, -1])).tolist() == [4.0, 4.0]
    with pytest.raises(RuntimeError):
        s.gather(0, ctorch.tensor(1))
