"""Joining and rearranging ops (cat/stack family, flip, roll, repeat, tile, tril/triu, diag,
meshgrid) against NumPy and torch."""
import numpy as np
import pytest

import ctorch
from conftest import ALL_DTYPES, assert_close, make_tensor, noncontiguous, to_np

try:
    import torch
except ImportError:  # the torch oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


# ------------------------------------------------------------------ cat / stack

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dtype, dim):
    a = make_tensor((2, 3), dtype)
    shape = [2, 3]
    shape[dim] = 4
    b = make_tensor(tuple(shape), dtype, seed=1)
    e = np.concatenate([to_np(a), to_np(b), to_np(a)], axis=dim)
    for fn in (ctorch.cat, ctorch.concat, ctorch.concatenate):
        np.testing.assert_array_equal(to_np(fn([a, b, a], dim)), e)
    np.testing.assert_array_equal(to_np(ctorch.cat((noncontiguous(a), b, a.clone()), dim=dim)), e)
    np.testing.assert_array_equal(to_np(ctorch.concatenate([a, b, a], axis=dim)), e)


@pytest.mark.parametrize("da,db,dr", [(ctorch.int32, ctorch.float32, ctorch.float32),
                                      (ctorch.uint8, ctorch.int8, ctorch.int16),
                                      (ctorch.bool, ctorch.int64, ctorch.int64),
                                      (ctorch.float16, ctorch.bfloat16, ctorch.float32),
                                      (ctorch.float32, ctorch.float64, ctorch.float64)])
def test_cat_promotes(da, db, dr):
    a, b = make_tensor((2,), da), make_tensor((3,), db)
    r = ctorch.cat([a, b])
    assert r.dtype == dr
    e = np.concatenate([to_np(a), to_np(b)]).astype(np.float64)
    assert_close(r.double(), e)


@needs_torch
def test_cat_dtype_matches_torch():
    for da, db in [(ctorch.int32, ctorch.float32), (ctorch.uint8, ctorch.int8), (ctorch.bool, ctorch.int64),
                   (ctorch.float16, ctorch.bfloat16)]:
        r = ctorch.cat([ctorch.ones(2, dtype=da), ctorch.ones(2, dtype=db)])
        e = torch.cat([torch.ones(2, dtype=getattr(torch, str(da).split(".")[-1])),
                       torch.ones(2, dtype=getattr(torch, str(db).split(".")[-1]))])
        assert str(r.dtype).split(".")[-1] == str(e.dtype).split(".")[-1]


def test_cat_legacy_empty_and_zero_size():
    x = ctorch.ones(2, 3)
    assert ctorch.cat([x, ctorch.ones(0)]).shape == (2, 3)
    assert ctorch.cat([ctorch.ones(0), x, ctorch.ones(0)], dim=1).shape == (2, 3)
    assert ctorch.cat([ctorch.ones(0), ctorch.ones(0)]).shape == (0,)
    assert ctorch.cat([x, ctorch.ones(0, 3)]).shape == (2, 3)
    assert ctorch.cat([ctorch.ones(2, 0), ctorch.ones(2, 0)], 1).shape == (2, 0)


@pytest.mark.parametrize("args,exc", [
    (([ctorch.ones(2, 3), ctorch.ones(2, 2)], 0), RuntimeError),
    (([], 0), ValueError),
    (([ctorch.tensor(1.0)], 0), RuntimeError),
    (([ctorch.ones(2, 3)], 2), IndexError),
    (([ctorch.ones(2, 3), ctorch.ones(3)], 0), RuntimeError),
])
def test_cat_errors(args, exc):
    with pytest.raises(exc):
        ctorch.cat(*args)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dtype, dim):
    ts = [make_tensor((2, 3), dtype, seed=s) for s in range(3)]
    e = np.stack([to_np(t) for t in ts], axis=dim)
    np.testing.assert_array_equal(to_np(ctorch.stack(ts, dim)), e)
    np.testing.assert_array_equal(to_np(ctorch.stack([noncontiguous(t) for t in ts], dim=dim)), e)


def test_stack_edge_cases_and_errors():
    assert ctorch.stack([ctorch.tensor(1.0), ctorch.tensor(2.0)]).shape == (2,)
    assert ctorch.stack([ctorch.ones(0, 2)] * 3, 1).shape == (0, 3, 2)
    with pytest.raises(RuntimeError):
        ctorch.stack([ctorch.ones(2, 3), ctorch.ones(3, 2)])
    with pytest.raises(RuntimeError):
        ctorch.stack([])
    with pytest.raises(IndexError):
        ctorch.stack([ctorch.ones(2)], 2)


@pytest.mark.parametrize("shapes", [[(3,), (2,)], [(2, 3), (2, 1)], [(), ()], [(2, 2, 1), (2, 1, 1)]])
def test_hstack_vstack_dstack(shapes):
    ts = [make_tensor(s, ctorch.float32, seed=i) for i, s in enumerate(shapes)]
    ns = [to_np(t) for t in ts]
    np.testing.assert_array_equal(to_np(ctorch.hstack(ts)), np.hstack(ns))
    if all(len(s) == len(shapes[0]) and s[1:] == shapes[0][1:] for s in shapes) or len(shapes[0]) <= 1:
        try:
            e = np.vstack(ns)
        except ValueError:
            e = None
        if e is not None:
            np.testing.assert_array_equal(to_np(ctorch.vstack(ts)), e)
            np.testing.assert_array_equal(to_np(ctorch.row_stack(ts)), e)
    try:
        e = np.dstack(ns)
    except ValueError:
        e = None
    if e is not None:
        np.testing.assert_array_equal(to_np(ctorch.dstack(ts)), e)


def test_column_stack_and_atleast():
    a, b = ctorch.tensor([1, 2, 3]), ctorch.tensor([[4], [5], [6]])
    np.testing.assert_array_equal(to_np(ctorch.column_stack([a, b])), np.column_stack([[1, 2, 3], [[4], [5], [6]]]))
    assert ctorch.atleast_1d(ctorch.tensor(1.0)).shape == (1,)
    assert ctorch.atleast_2d(ctorch.ones(3)).shape == (1, 3)
    assert ctorch.atleast_3d(ctorch.ones(3)).shape == (1, 3, 1)
    assert ctorch.atleast_3d(ctorch.ones(2, 3)).shape == (2, 3, 1)
    r = ctorch.atleast_2d(ctorch.tensor(1.0), ctorch.ones(2))
    assert isinstance(r, tuple) and [t.shape for t in r] == [(1, 1), (1, 2)]


# ------------------------------------------------------------------ flip / roll

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dims", [(0,), (1,), (-1,), (0, 2), (0, 1, 2), ()])
def test_flip(dtype, dims):
    x = make_tensor((2, 3, 4), dtype)
    e = np.flip(to_np(x), axis=dims) if dims else to_np(x)
    np.testing.assert_array_equal(to_np(ctorch.flip(x, dims)), e)
    np.testing.assert_array_equal(to_np(noncontiguous(x).flip(*dims) if dims else x.flip(dims)), e)
    r = ctorch.flip(x, dims)
    assert r._storage_id() != x._storage_id()   # a copy, like torch


def test_flip_variants_and_errors():
    a = np.arange(12).reshape(3, 4)
    x = ctorch.tensor(a)
    np.testing.assert_array_equal(to_np(ctorch.fliplr(x)), np.fliplr(a))
    np.testing.assert_array_equal(to_np(x.flipud()), np.flipud(a))
    np.testing.assert_array_equal(to_np(x.flip(0, 1)), a[::-1, ::-1])
    np.testing.assert_array_equal(to_np(x.flip([1])), a[:, ::-1])
    np.testing.assert_array_equal(to_np(x[1:, ::2].flip(0)), a[1:, ::2][::-1])
    assert ctorch.flip(ctorch.tensor(1.0), (0,)).item() == 1.0
    assert ctorch.flip(ctorch.zeros(0, 3), (0, 1)).shape == (0, 3)
    with pytest.raises(RuntimeError):
        ctorch.flip(x, (0, 0))
    with pytest.raises(IndexError):
        ctorch.flip(x, (2,))
    with pytest.raises(RuntimeError):
        ctorch.fliplr(ctorch.ones(3))


@pytest.mark.parametrize("shifts,dims", [(1, None), (-7, None), (2, 0), ((1, -2), (0, 1)), (5, -1),
                                          ((1, 1), (1, 1)), (0, 0)])
def test_roll(shifts, dims):
    a = np.arange(24).reshape(2, 3, 4)
    x = ctorch.tensor(a)
    e = np.roll(a, shifts, axis=dims)
    np.testing.assert_array_equal(to_np(ctorch.roll(x, shifts, dims)), e)
    np.testing.assert_array_equal(to_np(noncontiguous(x).roll(shifts, dims)), e)


def test_roll_edge_cases_and_errors():
    assert ctorch.roll(ctorch.tensor(1.0), 1).item() == 1.0
    assert ctorch.roll(ctorch.zeros(0, 2), 3, 0).shape == (0, 2)
    x = ctorch.arange(6).reshape(2, 3)
    r = ctorch.roll(x, 0, 0)
    assert r._storage_id() != x._storage_id()
    with pytest.raises(RuntimeError):
        ctorch.roll(x, (1, 2), (0,))
    with pytest.raises(IndexError):
        ctorch.roll(x, 1, 2)


# ------------------------------------------------------------------ repeat / tile / repeat_interleave

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("reps", [(1, 1), (2, 3), (2, 1, 2), (0, 2), (3, 2, 1, 1)])
def test_repeat(dtype, reps):
    x = make_tensor((2, 3), dtype)
    e = np.tile(to_np(x), reps)
    np.testing.assert_array_equal(to_np(x.repeat(*reps)), e)
    np.testing.assert_array_equal(to_np(noncontiguous(x).repeat(reps)), e)


def test_repeat_edge_cases_and_errors():
    assert ctorch.tensor(2.0).repeat(3).shape == (3,)
    assert ctorch.tensor(2.0).repeat().shape == ()
    assert ctorch.ones(0, 2).repeat(2, 2).shape == (0, 4)
    with pytest.raises(RuntimeError):
        ctorch.ones(2, 3).repeat(2)
    with pytest.raises(RuntimeError):
        ctorch.ones(2, 3).repeat(-1, 1)


@pytest.mark.parametrize("reps", [(2,), (2, 2), (1, 2, 3), (0,)])
def test_tile(reps):
    a = np.arange(6).reshape(2, 3)
    x = ctorch.tensor(a)
    np.testing.assert_array_equal(to_np(ctorch.tile(x, reps)), np.tile(a, reps))
    np.testing.assert_array_equal(to_np(x.tile(*reps)), np.tile(a, reps))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_repeat_interleave(dtype):
    x = make_tensor((2, 3), dtype)
    a = to_np(x)
    np.testing.assert_array_equal(to_np(ctorch.repeat_interleave(x, 2)), np.repeat(a, 2))
    np.testing.assert_array_equal(to_np(x.repeat_interleave(2, dim=1)), np.repeat(a, 2, axis=1))
    np.testing.assert_array_equal(to_np(noncontiguous(x).repeat_interleave(ctorch.tensor([1, 0, 3]), dim=-1)),
                                  np.repeat(a, [1, 0, 3], axis=1))
    np.testing.assert_array_equal(to_np(x.repeat_interleave(ctorch.tensor([2]), dim=0)),
                                  np.repeat(a, 2, axis=0))
    np.testing.assert_array_equal(to_np(x.repeat_interleave(ctorch.tensor(2))), np.repeat(a, 2))


def test_repeat_interleave_forms_and_errors():
    assert to_np(ctorch.repeat_interleave(ctorch.tensor([1, 2, 3]))).tolist() == [0, 1, 1, 2, 2, 2]
    assert ctorch.repeat_interleave(ctorch.tensor(5.0), 3).shape == (3,)
    assert ctorch.repeat_interleave(ctorch.zeros(0, 2), 3, dim=0).shape == (0, 2)
    x = ctorch.ones(2, 3)
    with pytest.raises(RuntimeError):
        ctorch.repeat_interleave(x, -1)
    with pytest.raises(RuntimeError):
        ctorch.repeat_interleave(x, ctorch.tensor([1, 2]), dim=1)
    with pytest.raises(RuntimeError):
        ctorch.repeat_interleave(x, ctorch.tensor([1, -1, 1]), dim=1)


# ------------------------------------------------------------------ tril / triu / diag

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("k", [0, 1, -1, 5, -5])
def test_tril_triu(dtype, k):
    x = make_tensor((2, 3, 4), dtype)
    a = to_np(x)
    np.testing.assert_array_equal(to_np(ctorch.tril(x, k)), np.tril(a, k))
    np.testing.assert_array_equal(to_np(x.triu(diagonal=k)), np.triu(a, k))
    y = noncontiguous(x)
    v0 = y._version
    y.tril_(k)
    np.testing.assert_array_equal(to_np(y), np.tril(a, k))
    assert y._version > v0
    y = x.clone()
    y.triu_(k)
    np.testing.assert_array_equal(to_np(y), np.triu(a, k))
    assert ctorch.tril(x, k).dtype == dtype


def test_tril_errors_and_empty():
    assert ctorch.tril(ctorch.zeros(0, 3)).shape == (0, 3)
    with pytest.raises(RuntimeError):
        ctorch.tril(ctorch.ones(3))
    with pytest.raises(RuntimeError):
        ctorch.triu(ctorch.tensor(1.0))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("k", [0, 1, -2, 7])
def test_diag(dtype, k):
    v = make_tensor((3,), dtype)
    np.testing.assert_array_equal(to_np(ctorch.diag(v, k)), np.diag(to_np(v), k))
    m = make_tensor((3, 4), dtype)
    np.testing.assert_array_equal(to_np(m.diag(k)), np.diag(to_np(m), k))
    np.testing.assert_array_equal(to_np(ctorch.diag(noncontiguous(m), diagonal=k)), np.diag(to_np(m), k))


def test_diag_errors():
    with pytest.raises(RuntimeError):
        ctorch.diag(ctorch.ones(2, 2, 2))
    with pytest.raises(RuntimeError):
        ctorch.diag(ctorch.tensor(1.0))
    assert ctorch.diag(ctorch.zeros(0)).shape == (0, 0)


@needs_torch
@pytest.mark.parametrize("offset,dim1,dim2", [(0, -2, -1), (1, -2, -1), (-1, 0, 2), (2, 1, 0), (0, 0, 1)])
def test_diag_embed_vs_torch(offset, dim1, dim2):
    x = make_tensor((2, 3), ctorch.float32)
    r = ctorch.diag_embed(x, offset, dim1, dim2)
    e = torch.diag_embed(torch.from_numpy(to_np(x)), offset, dim1, dim2)
    assert tuple(r.shape) == tuple(e.shape)
    np.testing.assert_array_equal(to_np(r), e.numpy())
    np.testing.assert_array_equal(to_np(x.diag_embed(offset=offset, dim1=dim1, dim2=dim2)), e.numpy())


def test_diag_embed_numpy():
    x = np.arange(6.0).reshape(2, 3)
    r = to_np(ctorch.diag_embed(ctorch.tensor(x)))
    e = np.stack([np.diag(row) for row in x])
    np.testing.assert_array_equal(r, e)
    with pytest.raises(RuntimeError):
        ctorch.diag_embed(ctorch.ones(2, 3), 0, 1, 1)


# ------------------------------------------------------------------ meshgrid

@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing):
    a, b, c = np.arange(3), np.arange(4) * 10, np.arange(2) * 100
    ts = [ctorch.tensor(v) for v in (a, b, c)]
    for got, exp in zip(ctorch.meshgrid(*ts, indexing=indexing), np.meshgrid(a, b, c, indexing=indexing)):
        np.testing.assert_array_equal(to_np(got), exp)
    for got, exp in zip(ctorch.meshgrid(ts[:2], indexing=indexing), np.meshgrid(a, b, indexing=indexing)):
        np.testing.assert_array_equal(to_np(got), exp)
    g = ctorch.meshgrid(ts[0], ts[1], indexing=indexing)
    assert g[0]._storage_id() == ts[0]._storage_id()   # expanded views, like torch


def test_meshgrid_default_scalar_and_errors():
    g = ctorch.meshgrid(ctorch.arange(2), ctorch.tensor(5))
    assert [t.shape for t in g] == [(2, 1), (2, 1)]
    with pytest.raises(RuntimeError):
        ctorch.meshgrid(ctorch.ones(2), indexing="foo")
    with pytest.raises(RuntimeError):
        ctorch.meshgrid(ctorch.ones(2, 2))


def test_repeat_and_interleave_overflow_is_an_error():
    with pytest.raises(RuntimeError):
        ctorch.ones(4).repeat(2 ** 62)
    with pytest.raises(RuntimeError):
        ctorch.repeat_interleave(ctorch.tensor([2 ** 62] * 4))


# ------------------------------------------------------------------ view scatters, rot90, tri indices

def test_select_slice_diagonal_scatter():
    a = np.zeros((3, 4))
    x = ctorch.tensor(a)
    r = ctorch.select_scatter(x, ctorch.ones(4, dtype=ctorch.float64), 0, 1)
    e = a.copy(); e[1] = 1
    np.testing.assert_array_equal(to_np(r), e)
    assert to_np(x).sum() == 0
    r = x.slice_scatter(ctorch.ones(3, 2, dtype=ctorch.float64), dim=1, start=0, step=2)
    e = a.copy(); e[:, ::2] = 1
    np.testing.assert_array_equal(to_np(r), e)
    r = ctorch.diagonal_scatter(x, ctorch.ones(3, dtype=ctorch.float64), 1)
    e = a.copy(); e[[0, 1, 2], [1, 2, 3]] = 1
    np.testing.assert_array_equal(to_np(r), e)
    with pytest.raises(RuntimeError):
        ctorch.select_scatter(x, ctorch.ones(3), 0, 1)
    with pytest.raises(IndexError):
        ctorch.select_scatter(x, ctorch.ones(4), 0, 3)


@pytest.mark.parametrize("k", [0, 1, 2, 3, -1, 5])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (-1, 0), (0, 2)])
def test_rot90(k, dims):
    a = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(to_np(ctorch.rot90(ctorch.tensor(a), k, dims)), np.rot90(a, k, dims))
    np.testing.assert_array_equal(to_np(ctorch.tensor(a).rot90(k, dims)), np.rot90(a, k, dims))


def test_rot90_errors():
    with pytest.raises(RuntimeError):
        ctorch.rot90(ctorch.ones(3))
    with pytest.raises(RuntimeError):
        ctorch.rot90(ctorch.ones(3, 3), 1, (0, 0))
    with pytest.raises(RuntimeError):
        ctorch.rot90(ctorch.ones(3, 3), 1, (0,))


@pytest.mark.parametrize("row,col,offset", [(3, 3, 0), (4, 3, 1), (3, 5, -1), (0, 3, 0), (3, 4, 10), (3, 4, -10)])
def test_tril_triu_indices(row, col, offset):
    r = ctorch.tril_indices(row, col, offset)
    np.testing.assert_array_equal(to_np(r), np.stack(np.tril_indices(row, offset, col)))
    u = ctorch.triu_indices(row, col, offset)
    np.testing.assert_array_equal(to_np(u), np.stack(np.triu_indices(row, offset, col)))
    assert r.dtype == ctorch.int64
    assert ctorch.tril_indices(row, col, offset, dtype=ctorch.int32).dtype == ctorch.int32
    with pytest.raises(RuntimeError):
        ctorch.tril_indices(-1, 3)
