"""Autograd of the index family: subscripts (views and advanced indexing), index_put / __setitem__,
the gather/scatter family, index_* ops and masks. gradcheck in float64 (non-contiguous inputs,
repeated and negative indices, broadcast masks), second derivatives, gradients and grad_fn names
against torch, leaf in-place errors and saved-tensor version checks."""
import numpy as np
import pytest

import ctorch
from conftest import grad_leaf as leaf
from ctorch.autograd import gradcheck, gradgradcheck

# Tighter than gradcheck's defaults (atol 1e-5, rtol 1e-3): these formulas are exact in float64.
TOL = dict(atol=1e-6, rtol=1e-4)


def I(values, lib=ctorch):
    return lib.tensor(np.array(values, dtype=np.int64))


def mask(shape, seed=1, lib=ctorch):
    return lib.tensor(np.random.default_rng(seed).random(shape) > 0.5)


# ---------------------------------------------------------------- gradcheck of every op
# (name, fn, input factories). Indices repeat and count from the end where the op allows it.

def _setitem(key, value_fn):
    def f(x, *w):
        y = x * 1
        y[key] = value_fn(*w)
        return y
    return f


REDUCES = ["sum", "prod", "mean", "amax", "amin"]

GRAD_CASES = [
    ("getitem_int", lambda x: x[1], [(4, 3)]),
    ("getitem_slices", lambda x: x[1:4:2, ::2], [(5, 3)]),
    ("getitem_none_ellipsis", lambda x: x[None, ..., 0, None], [(4, 3)]),
    ("getitem_adv_repeated_negative", lambda x: x[I([0, 2, 0, -1])], [(4, 3)]),
    ("getitem_two_adv", lambda x: x[I([[0, 3], [-1, 0]]), I([2, 2])], [(4, 3)]),
    ("getitem_separated_adv", lambda x: x[I([0, 0]), :, I([1, -1])], [(3, 2, 4)]),
    ("getitem_int_adv", lambda x: x[1, I([0, 0, 2])], [(4, 3)]),
    ("getitem_mask", lambda x: x[mask((4, 3))], [(4, 3)]),
    ("getitem_row_mask", lambda x: x[mask((4,), seed=3), 1:], [(4, 3)]),
    ("getitem_bool", lambda x: x[True], [(2, 3)]),
    ("getitem_0d_int_tensor", lambda x: x[I(2)], [(4, 3)]),
    ("getitem_empty", lambda x: x[I([], )], [(4, 3)]),
    ("setitem_int", _setitem(0, lambda w: w), [(4, 3), (3,)]),
    ("setitem_slice_broadcast", _setitem((slice(1, 3), slice(None, None, 2)), lambda w: w), [(4, 3), (1, 2)]),
    ("setitem_adv", _setitem(I([3, 0]), lambda w: w * 2), [(4, 3), (2, 3)]),
    ("setitem_int_adv", _setitem((1, I([0, 2])), lambda w: w), [(4, 3), (2,)]),
    ("setitem_mask", _setitem(mask((4, 3)), lambda w: w), [(4, 3), ()]),
    ("setitem_scalar", _setitem((slice(None), 1), lambda: 5.0), [(4, 3)]),
    ("index_put", lambda x, v: x.index_put((I([3, 0, -2]),), v), [(4, 3), (3,)]),
    ("index_put_acc_repeated", lambda x, v: x.index_put((I([0, 0, -4]), I([1, 1, 2])), v, accumulate=True),
     [(4, 3), (3,)]),
    ("index_put_mask", lambda x, v: x.index_put((mask((4, 3)),), v), [(4, 3), ()]),
    ("index_put_", lambda x, v: (x * 1).index_put_((I([1]), I([2])), v, accumulate=True), [(4, 3), (1,)]),
    ("index_put_values_broadcast", lambda x, v: x.index_put((I([3, 0]),), v), [(4, 3), (1, 1, 3)]),
    ("setitem_mask_values", _setitem(mask((4, 3)), lambda w: w), [(4, 3), (7,)]),
    ("getitem_int32", lambda x: x[I([1, 1, -1]).int(), I([0, 2, 2]).int()], [(4, 3)]),
    ("index_select", lambda x: ctorch.index_select(x, 1, I([2, 0, 2])), [(4, 3)]),
    ("index_select_int32", lambda x: x.index_select(-1, I([2, 2]).int()), [(4, 3)]),
    ("gather_int32", lambda x: x.gather(0, I([[3, 3, 0]]).int()), [(4, 3)]),
    ("gather_0d", lambda x: x.gather(0, I(0)), [()]),
    ("take_0d", lambda x: x.take(I([0, 0])), [()]),
    ("index_add_int32", lambda x, s: x.index_add(1, I([0, 0]).int(), s), [(4, 3), (4, 2)]),
    ("index_select_0d", lambda x: x.index_select(0, I([0])), [()]),
    ("gather", lambda x: x.gather(1, I([[0, 0], [1, 2], [2, 2], [0, 1]])), [(4, 3)]),
    ("gather_small_index", lambda x: x.gather(0, I([[3, 3], [0, 0]])), [(4, 3)]),
    ("take", lambda x: x.take(I([[0, -1], [5, 5]])), [(4, 3)]),
    ("take_along_dim", lambda x: ctorch.take_along_dim(x, I([[0], [2], [1], [1]]), 1), [(4, 3)]),
    ("take_along_dim_broadcast", lambda x: ctorch.take_along_dim(x, I([[0, 2, 1]]), 0), [(4, 3)]),
    ("take_along_dim_flat", lambda x: ctorch.take_along_dim(x, I([0, 11, 11])), [(4, 3)]),
    ("put", lambda x, s: x.put(I([0, 5, -1]), s), [(4, 3), (3,)]),
    ("put_acc_repeated", lambda x, s: x.put(I([[0, 5], [5, 5]]), s, accumulate=True), [(4, 3), (2, 2)]),
    ("put_", lambda x, s: (x * 1).put_(I([1, 2]), s), [(4, 3), (2,)]),
    ("scatter", lambda x, s: x.scatter(0, I([[0, 1, 2], [3, 0, 1]]), s), [(4, 3), (2, 3)]),
    ("scatter_src_larger", lambda x, s: x.scatter(1, I([[0, 2], [1, 0]]), s), [(4, 3), (3, 4)]),
    ("scatter_value", lambda x: x.scatter(0, I([[0, 1, 2]]), 2.0), [(4, 3)]),
    ("scatter_legacy_add", lambda x, s: x.scatter(0, I([[0, 1, 2], [0, 0, 1]]), s, reduce="add"),
     [(4, 3), (2, 3)]),
    ("scatter_legacy_multiply", lambda x, s: x.scatter(0, I([[0, 1, 2], [0, 0, 1]]), s, reduce="multiply"),
     [(4, 3), (2, 3)]),
    ("scatter_", lambda x, s: (x * 1).scatter_(1, I([[2], [0]]), s), [(2, 3), (2, 1)]),
    ("scatter_add", lambda x, s: x.scatter_add(0, I([[0, 1, 2], [0, 0, 1]]), s), [(4, 3), (2, 3)]),
    ("scatter_add_src_larger", lambda x, s: x.scatter_add(1, I([[0, 0], [1, 1]]), s), [(4, 3), (3, 4)]),
    ("scatter_add_", lambda x, s: (x * 1).scatter_add_(0, I([[1, 1, 1]]), s), [(4, 3), (1, 3)]),
    ("index_add", lambda x, s: x.index_add(0, I([0, 0, 3]), s, alpha=2.0), [(4, 3), (3, 3)]),
    ("index_add_", lambda x, s: (x * 1).index_add_(1, I([2, 2]), s), [(4, 3), (4, 2)]),
    ("index_copy", lambda x, s: x.index_copy(1, I([2, 0]), s), [(4, 3), (4, 2)]),
    ("index_copy_", lambda x, s: (x * 1).index_copy_(0, I([3]), s), [(4, 3), (1, 3)]),
    ("index_fill", lambda x: x.index_fill(1, I([2, 0, 2]), -1.0), [(4, 3)]),
    ("index_fill_tensor", lambda x, v: x.index_fill(1, I([2, 0, 2]), v), [(4, 3), ()]),
    ("index_fill_", lambda x, v: (x * 1).index_fill_(0, I([-1]), v), [(4, 3), ()]),
    ("masked_fill", lambda x: x.masked_fill(mask((4, 3)), 2.0), [(4, 3)]),
    ("masked_fill_tensor", lambda x, v: x.masked_fill(mask((4, 3)), v), [(4, 3), ()]),
    ("masked_fill_broadcast_mask", lambda x, v: x.masked_fill(mask((4, 1)), v), [(4, 3), ()]),
    ("masked_fill_broadcast_self", lambda x: x.masked_fill(mask((4, 3)), 3.0), [(1, 3)]),
    ("masked_fill_", lambda x, v: (x * 1).masked_fill_(mask((3,)), v), [(4, 3), ()]),
    ("masked_select", lambda x: x.masked_select(mask((4, 3))), [(4, 3)]),
    ("masked_select_broadcast", lambda x: x.masked_select(mask((4, 3))), [(3,)]),
    ("masked_scatter", lambda x, s: x.masked_scatter(mask((4, 3)), s), [(4, 3), (13,)]),
    ("masked_scatter_2d_source", lambda x, s: x.masked_scatter(mask((4, 1)), s), [(4, 3), (3, 4)]),
    ("masked_scatter_", lambda x, s: (x * 1).masked_scatter_(mask((4, 3)), s), [(4, 3), (12,)]),
]
for _red in REDUCES:
    for _inc in (True, False):
        GRAD_CASES.append((f"scatter_reduce_{_red}_{_inc}", lambda x, s, r=_red, inc=_inc: x.scatter_reduce(
            0, I([[0, 1, 2], [0, 0, 3]]), s, r, include_self=inc), [(4, 3), (2, 3)]))
        if _red != "sum":
            GRAD_CASES.append((f"index_reduce_{_red}_{_inc}", lambda x, s, r=_red, inc=_inc: x.index_reduce(
                0, I([0, 2, 0]), s, r, include_self=inc), [(4, 3), (3, 3)]))
GRAD_CASES.append(("scatter_reduce_src_larger", lambda x, s: x.scatter_reduce(
    1, I([[0, 0], [2, 2]]), s, "prod"), [(2, 3), (3, 4)]))
GRAD_CASES.append(("scatter_reduce_", lambda x, s: (x * 1).scatter_reduce_(
    0, I([[1, 1, 1]]), s, "mean", include_self=False), [(4, 3), (1, 3)]))
GRAD_CASES.append(("index_reduce_", lambda x, s: (x * 1).index_reduce_(
    0, I([1, 1]), s, "amax"), [(4, 3), (2, 3)]))


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn, shapes):
    # prod: values away from 0; amax/amin: continuous random values have no ties.
    assert gradcheck(fn, [leaf(s, seed=k) for k, s in enumerate(shapes)], **TOL)


NONCONTIG = ["getitem_adv_repeated_negative", "getitem_mask", "setitem_int", "setitem_adv", "index_put",
             "index_select", "gather", "take", "take_along_dim_broadcast", "put_acc_repeated", "scatter",
             "scatter_add", "index_add", "index_copy", "index_fill_tensor", "masked_fill_tensor",
             "masked_select", "masked_scatter", "scatter_reduce_prod_True", "index_reduce_amax_False",
             "scatter_reduce_mean_False"]


@pytest.mark.parametrize("name", NONCONTIG)
def test_gradcheck_noncontiguous(name):
    _, fn, shapes = next(c for c in GRAD_CASES if c[0] == name)
    assert gradcheck(fn, [leaf(s, seed=k, noncontig=True) for k, s in enumerate(shapes)], **TOL)


def test_prod_reduce_with_zeros():
    # A single zero among the factors gets the product of the others; two zeros give 0.
    x = ctorch.tensor([[0.0, 2.0, 3.0], [1.5, 0.5, 2.0]], dtype=ctorch.float64).requires_grad_()
    s = ctorch.tensor([[2.0, 0.0, 0.0], [0.0, 1.5, 0.0]], dtype=ctorch.float64).requires_grad_()
    assert gradcheck(lambda x, s: x.scatter_reduce(0, I([[0, 0, 1], [0, 1, 1]]), s, "prod"), (x, s), **TOL)
    assert gradcheck(lambda x, s: x.index_reduce(0, I([0, 1]), s, "prod"), (x, s), **TOL)


def test_amax_ties_share_the_gradient():
    x = ctorch.tensor([1.0, 5.0], dtype=ctorch.float64).requires_grad_()
    s = ctorch.tensor([5.0, 5.0, 2.0], dtype=ctorch.float64).requires_grad_()
    y = x.scatter_reduce(0, I([1, 1, 0]), s, "amax")
    y.backward(ctorch.tensor([1.0, 3.0], dtype=ctorch.float64))
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0])
    np.testing.assert_allclose(s.grad.numpy(), [1.0, 1.0, 1.0])


def test_amax_excluded_self_takes_no_share():
    # include_self=False: a self value equal to the result is not one of the reduced values.
    # (PyTorch counts it and gives src 0.5 here; the finite difference says 1.)
    x = ctorch.tensor([3.0, 5.0], dtype=ctorch.float64).requires_grad_()
    s = ctorch.tensor([3.0, 1.0], dtype=ctorch.float64).requires_grad_()
    x.scatter_reduce(0, I([0, 0]), s, "amax", include_self=False).backward(ctorch.ones(2, dtype=ctorch.float64))
    np.testing.assert_allclose(s.grad.numpy(), [1.0, 0.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0])


def test_zero_size():
    x = leaf((0, 3))
    y = x.index_select(1, I([0, 2]))
    y.backward(ctorch.ones(0, 2, dtype=ctorch.float64))
    assert x.grad.shape == (0, 3)
    x = leaf((4, 3))
    y = x[I([], )]
    assert y.shape == (0, 3) and y.grad_fn.name() == "IndexBackward0"
    y.backward(ctorch.ones(0, 3, dtype=ctorch.float64))
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((4, 3)))
    x = leaf((4, 3))
    y = x.masked_select(ctorch.zeros(4, 3, dtype=ctorch.bool))
    y.backward(ctorch.ones(0, dtype=ctorch.float64))
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((4, 3)))


# ---------------------------------------------------------------- second derivatives

GRADGRAD_CASES = [
    ("gather", lambda x: x.gather(1, I([[0, 0], [1, 2], [2, 2], [0, 1]])) ** 2, [(4, 3)]),
    ("index_select", lambda x: x.index_select(0, I([0, 0, 3])) ** 2, [(4, 3)]),
    ("masked_fill", lambda x: x.masked_fill(mask((4, 3)), 2.0) * x, [(4, 3)]),
    ("masked_fill_tensor", lambda x, v: x.masked_fill(mask((4, 3)), v) ** 2, [(4, 3), ()]),
    ("index_fill_tensor", lambda x, v: x.index_fill(1, I([0, 0]), v) ** 2, [(4, 3), ()]),
    ("scatter_add", lambda x, s: x.scatter_add(0, I([[0, 1, 2], [0, 0, 1]]), s) * x, [(4, 3), (2, 3)]),
    ("index_put_acc", lambda x, v: x.index_put((I([0, 0]), I([1, 2])), v, accumulate=True) * x,
     [(4, 3), (2,)]),
    ("index_put", lambda x, v: x.index_put((I([0, 3]),), v * v) * x, [(4, 3), (2, 3)]),
    ("setitem_adv", _setitem(I([2, 0]), lambda w: w * w), [(4, 3), (2, 3)]),
    ("getitem_adv", lambda x: x[I([0, 0, 2])] * x[I([1, 1, -1])], [(4, 3)]),
    ("getitem_basic", lambda x: x[1:3, 0] * x[0, :2], [(4, 3)]),
    ("getitem_mask", lambda x: x[mask((4, 3))] ** 2, [(4, 3)]),
    ("take", lambda x: x.take(I([0, 0, 11])) ** 2, [(4, 3)]),
    ("masked_select", lambda x: x.masked_select(mask((4, 3))) ** 2, [(4, 3)]),
    ("masked_scatter", lambda x, s: x.masked_scatter(mask((4, 3)), s) * x, [(4, 3), (12,)]),
    ("index_add", lambda x, s: x.index_add(0, I([0, 0]), s) * x, [(4, 3), (2, 3)]),
    ("index_copy", lambda x, s: x.index_copy(0, I([0, 2]), s) ** 2, [(4, 3), (2, 3)]),
    ("scatter", lambda x, s: x.scatter(0, I([[0, 1, 2]]), s) * x, [(4, 3), (1, 3)]),
    ("scatter_reduce_prod", lambda x, s: x.scatter_reduce(0, I([[0, 1, 2], [0, 0, 1]]), s, "prod"),
     [(4, 3), (2, 3)]),
    ("scatter_reduce_amax", lambda x, s: x.scatter_reduce(0, I([[0, 1, 2], [0, 0, 1]]), s, "amax") * x,
     [(4, 3), (2, 3)]),
    ("index_reduce_mean", lambda x, s: x.index_reduce(0, I([0, 0]), s, "mean") ** 2, [(4, 3), (2, 3)]),
    ("take_along_dim", lambda x: ctorch.take_along_dim(x, I([[0, 2, 1]]), 0) ** 2, [(4, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADGRAD_CASES, ids=[c[0] for c in GRADGRAD_CASES])
def test_gradgradcheck(name, fn, shapes):
    assert gradgradcheck(fn, [leaf(s, seed=k) for k, s in enumerate(shapes)], **TOL)


# ---------------------------------------------------------------- against torch

def _tI(lib):
    return lambda values: I(values, lib)


def _torch_setitem(key_fn, value_fn):
    def f(lib, x, *w):
        y = x * 1
        y[key_fn(lib)] = value_fn(*w)
        return y
    return f


TORCH_CASES = [
    ("x[0]", lambda lib, x: x[0], [(4, 3)]),
    ("x[1:3]", lambda lib, x: x[1:3], [(4, 3)]),
    ("x[...]", lambda lib, x: x[...], [(4, 3)]),
    ("x[None]", lambda lib, x: x[None], [(4, 3)]),
    ("x[0,1:]", lambda lib, x: x[0, 1:], [(4, 3)]),
    ("x[1:,0]", lambda lib, x: x[1:, 0], [(4, 3)]),
    ("x[...,None]", lambda lib, x: x[..., None], [(4, 3)]),
    ("x[idx]", lambda lib, x: x[I([0, 0, -1, 2], lib)], [(4, 3)]),
    ("x[mask]", lambda lib, x: x[mask((4, 3), lib=lib)], [(4, 3)]),
    ("x[0,idx]", lambda lib, x: x[0, I([2, 2], lib)], [(4, 3)]),
    ("x[idx,:,idx]", lambda lib, x: x[I([0, 1], lib), :, I([[3], [0]], lib)], [(2, 3, 4)]),
    ("x[True]", lambda lib, x: x[True], [(4, 3)]),
    ("index_select", lambda lib, x: x.index_select(1, I([2, 2, 0], lib)), [(4, 3)]),
    ("gather", lambda lib, x: x.gather(0, I([[0, 3, 3]], lib)), [(4, 3)]),
    ("take", lambda lib, x: x.take(I([0, 11, 11, -2], lib)), [(4, 3)]),
    ("take_along_dim", lambda lib, x: lib.take_along_dim(x, I([[0], [2]], lib), 1), [(2, 3)]),
    ("take_along_dim_flat", lambda lib, x: lib.take_along_dim(x, I([5, 5], lib)), [(2, 3)]),
    ("put", lambda lib, x, s: x.put(I([0, 4], lib), s), [(4, 3), (2,)]),
    ("put_acc", lambda lib, x, s: x.put(I([0, 0], lib), s, accumulate=True), [(4, 3), (2,)]),
    ("scatter", lambda lib, x, s: x.scatter(0, I([[0, 1, 2]], lib), s), [(4, 3), (1, 3)]),
    ("scatter_value", lambda lib, x: x.scatter(1, I([[0], [2]], lib), 1.5), [(2, 3)]),
    ("scatter_add", lambda lib, x, s: x.scatter_add(0, I([[0, 0, 2], [1, 0, 2]], lib), s), [(4, 3), (2, 3)]),
    ("index_add", lambda lib, x, s: x.index_add(0, I([0, 0], lib), s, alpha=-0.5), [(4, 3), (2, 3)]),
    ("index_copy", lambda lib, x, s: x.index_copy(0, I([3, 1], lib), s), [(4, 3), (2, 3)]),
    ("index_fill", lambda lib, x: x.index_fill(1, I([0, 0], lib), 2.0), [(4, 3)]),
    ("masked_fill", lambda lib, x: x.masked_fill(mask((4, 3), lib=lib), 2.0), [(4, 3)]),
    ("masked_fill_bcast", lambda lib, x: x.masked_fill(mask((3,), lib=lib), 2.0), [(4, 3)]),
    ("masked_select", lambda lib, x: x.masked_select(mask((4, 3), lib=lib)), [(4, 3)]),
    ("masked_scatter", lambda lib, x, s: x.masked_scatter(mask((4, 3), lib=lib), s), [(4, 3), (14,)]),
    ("index_put", lambda lib, x, v: x.index_put((I([1, 3], lib),), v), [(4, 3), (3,)]),
    ("index_put_acc", lambda lib, x, v: x.index_put((I([1, 1], lib), I([0, 0], lib)), v, accumulate=True),
     [(4, 3), (2,)]),
    ("setitem_int", _torch_setitem(lambda lib: 0, lambda w: w), [(4, 3), (3,)]),
    ("setitem_adv", _torch_setitem(lambda lib: I([0, 2], lib), lambda w: w), [(4, 3), (2, 3)]),
    ("setitem_int_adv", _torch_setitem(lambda lib: (1, I([0, 2], lib)), lambda w: w), [(4, 3), (2,)]),
    ("setitem_mask", _torch_setitem(lambda lib: mask((4, 3), lib=lib), lambda w: w), [(4, 3), ()]),
    ("setitem_slice_bcast", _torch_setitem(lambda lib: (slice(1, 3), slice(None, None, 2)), lambda w: w),
     [(4, 3), (1, 2)]),
    ("setitem_scalar", _torch_setitem(lambda lib: 0, lambda: 5.0), [(4, 3)]),
    ("setitem_lead_ones", _torch_setitem(lambda lib: (slice(None), 1), lambda w: w[None]), [(4, 3), (4,)]),
    ("setitem_ellipsis", _torch_setitem(lambda lib: Ellipsis, lambda w: w), [(4, 3), (3,)]),
    ("idx_iadd", lambda lib, x: _iadd(lib, x), [(4, 3)]),
    ("view_of_view", lambda lib, x, w: _view_of_view(x, w), [(4, 3), (3,)]),
    ("view_inplace", lambda lib, x: _view_inplace(x), [(4, 3)]),
    ("scatter_", lambda lib, x, s: (x * 1).scatter_(0, I([[0, 1, 2]], lib), s), [(4, 3), (1, 3)]),
    ("scatter_value_", lambda lib, x: (x * 1).scatter_(0, I([[0, 1, 2]], lib), 1.0), [(4, 3)]),
    ("scatter_add_", lambda lib, x, s: (x * 1).scatter_add_(0, I([[0, 0, 2]], lib), s), [(4, 3), (1, 3)]),
    ("index_add_", lambda lib, x, s: (x * 1).index_add_(0, I([0, 0], lib), s), [(4, 3), (2, 3)]),
    ("index_copy_", lambda lib, x, s: (x * 1).index_copy_(0, I([3], lib), s), [(4, 3), (1, 3)]),
    ("index_fill_", lambda lib, x: (x * 1).index_fill_(1, I([0, 2], lib), -1.0), [(4, 3)]),
    ("masked_fill_", lambda lib, x: (x * 1).masked_fill_(x > 0, 1.0), [(4, 3)]),
    ("masked_scatter_", lambda lib, x, s: (x * 1).masked_scatter_(x > 0, s), [(4, 3), (4, 3)]),
    ("put_", lambda lib, x, s: (x * 1).put_(I([0, 4, 8], lib), s), [(4, 3), (3,)]),
    ("index_put_", lambda lib, x, v: (x * 1).index_put_((I([0, 0], lib),), v, accumulate=True),
     [(4, 3), (2, 3)]),
]
for _red in REDUCES:
    for _inc in (True, False):
        TORCH_CASES.append((f"scatter_reduce_{_red}_{_inc}", lambda lib, x, s, r=_red, inc=_inc: x.scatter_reduce(
            1, I([[0, 0, 2, 2], [1, 1, 1, 0]], lib), s, r, include_self=inc), [(2, 3), (2, 4)]))
        if _red != "sum":
            TORCH_CASES.append((f"index_reduce_{_red}_{_inc}", lambda lib, x, s, r=_red, inc=_inc: x.index_reduce(
                1, I([0, 0, 2, 2], lib), s, r, include_self=inc), [(2, 3), (2, 4)]))


def _iadd(lib, x):
    y = x * 1
    y[I([0, 0, 1], lib)] += 1
    return y


def _view_of_view(x, w):
    y = x * 1
    v = y[1:]
    v[0] = w
    return y


def _view_inplace(x):
    y = x * 1
    v = y[1:3]
    v.mul_(2)
    return y


@pytest.mark.parametrize("name,fn,shapes", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch(name, fn, shapes):
    torch = pytest.importorskip("torch")
    import warnings
    rng = np.random.default_rng(3)
    data = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    results = []
    for lib in (ctorch, torch):
        ins = [lib.tensor(d).requires_grad_() for d in data]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # index_reduce is beta in torch
            out = fn(lib, *ins)
        g = np.random.default_rng(5).standard_normal(tuple(out.shape)).astype(np.float32)
        name_ = out.grad_fn.name().replace("torch::autograd::", "")
        out.backward(lib.tensor(g))
        grads = [None if t.grad is None else t.grad.detach().numpy().copy() for t in ins]
        results.append((name_, out.detach().numpy().copy(), grads))
    (n_c, o_c, g_c), (n_t, o_t, g_t) = results
    assert n_c == n_t
    np.testing.assert_allclose(o_c, o_t, rtol=1e-6, atol=1e-6)
    for a, b in zip(g_c, g_t):
        # torch leaves .grad None where no gradient flows; ours may hold zeros (or None).
        if b is None:
            assert a is None or not np.any(a)
            continue
        if a is None:
            assert not np.any(b)
            continue
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- views, names, in-place rules

def test_basic_indexing_gives_views_with_history():
    x = leaf((4, 3))
    y = x * 1
    v = y[1:3]
    assert v.grad_fn.name() == "SliceBackward0"
    v[0, 0] = 10.0  # writes through to y: y's history becomes CopySlices
    assert y[1, 0].item() == 10.0
    assert y.grad_fn.name() == "CopySlices"
    y.backward(ctorch.ones(4, 3, dtype=ctorch.float64))
    expected = np.ones((4, 3))
    expected[1, 0] = 0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_view_of_modified_base_is_refreshed():
    x = leaf((4, 3))
    y = x * 1
    v = y[0]
    y.mul_(2)
    assert v.grad_fn.name() == "AsStridedBackward0"
    v.backward(ctorch.ones(3, dtype=ctorch.float64))
    expected = np.zeros((4, 3))
    expected[0] = 2
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_zeros_setitem_gives_gradient():
    w = leaf((3,))
    out = ctorch.zeros(5, dtype=ctorch.float64)
    out[I([4, 0, 2])] = w * 2
    assert out.grad_fn.name() == "IndexPutBackward0"
    out.backward(ctorch.arange(5, dtype=ctorch.float64))
    np.testing.assert_array_equal(w.grad.numpy(), [8.0, 0.0, 4.0])
    w = leaf((2,))
    out = ctorch.zeros(2, 3, dtype=ctorch.float64)
    out[1, 1:] = w
    assert out.grad_fn.name() == "CopySlices"
    out.backward(ctorch.arange(6, dtype=ctorch.float64).reshape(2, 3))
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 5.0])


def test_getitem_setitem_on_non_leaf():
    x = leaf((4, 3))
    y = x * 2
    y[I([0, 0, 1])] += 1
    y[0] = x[3]
    z = y[y > 0]
    assert z.grad_fn.name() == "IndexBackward0"
    z.backward(ctorch.ones(z.shape, dtype=ctorch.float64))
    xv = x.detach().numpy()
    y_np = xv * 2
    y_np[[0, 1]] += 1
    y_np[0] = xv[3]
    m = y_np > 0
    expected = np.zeros((4, 3))
    expected[1:3] = 2 * m[1:3]
    expected[3] = 2 * m[3] + m[0]
    np.testing.assert_allclose(x.grad.numpy(), expected)


@pytest.mark.parametrize("fn", [
    lambda w: w.__setitem__(0, 1.0),
    lambda w: w.__setitem__(slice(0, 2), ctorch.ones(2, dtype=ctorch.float64)),
    lambda w: w.__setitem__(I([0]), 1.0),
    lambda w: w.__setitem__(w > 0, 0.0),
    lambda w: w.index_put_((I([0]),), ctorch.ones(1, dtype=ctorch.float64)),
    lambda w: w.scatter_(0, I([0]), 1.0),
    lambda w: w.scatter_add_(0, I([0]), ctorch.ones(1, dtype=ctorch.float64)),
    lambda w: w.index_fill_(0, I([0]), 1.0),
    lambda w: w.index_add_(0, I([0]), ctorch.ones(1, dtype=ctorch.float64)),
    lambda w: w.masked_fill_(w > 0, 0.0),
    lambda w: w.put_(I([0]), ctorch.ones(1, dtype=ctorch.float64)),
], ids=["int", "slice", "adv", "mask", "index_put_", "scatter_", "scatter_add_", "index_fill_",
        "index_add_", "masked_fill_", "put_"])
def test_leaf_inplace_raises(fn):
    w = leaf((3,))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        fn(w)
    with ctorch.no_grad():  # allowed without grad mode (optimizer updates)
        fn(w)
    assert w.grad_fn is None and w.requires_grad


def test_saved_index_modified_in_place_raises():
    x = leaf((4, 3))
    idx = I([0, 2])
    y = x.index_select(0, idx)
    idx[0] = 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(ctorch.ones(2, 3, dtype=ctorch.float64))

    x = leaf((4, 3))
    m = mask((4, 3))
    y = x[m]
    m[0, 0] = ~m[0, 0]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(ctorch.ones(y.shape, dtype=ctorch.float64))


def test_saved_input_and_output_modified_in_place_raise():
    x = leaf((4, 3))
    s = leaf((1, 3), seed=1)
    src = s * 1
    y = x.scatter_reduce(0, I([[0, 1, 2]]), src, "prod")
    src.add_(1)  # the saved src
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(ctorch.ones(4, 3, dtype=ctorch.float64))

    y = x.scatter_reduce(0, I([[0, 1, 2]]), s, "amax")
    y.add_(1)  # the saved result
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(ctorch.ones(4, 3, dtype=ctorch.float64))


def test_integer_inputs_get_no_history():
    x = ctorch.arange(12).reshape(4, 3)
    for r in (x[I([0, 1])], x.gather(0, I([[0, 1, 2]])), x.masked_select(x > 3), x.index_select(0, I([1]))):
        assert r.grad_fn is None and not r.requires_grad
    w = leaf((3,))
    for r in (ctorch.nonzero(w > 0), ctorch.one_hot(I([0, 2])), ctorch.tril_indices(3, 3)):
        assert r.grad_fn is None and not r.requires_grad


def test_no_grad_records_nothing():
    x = leaf((4, 3))
    with ctorch.no_grad():
        outs = [x[0], x[1:, None], x[...], x[I([0, 1])], x[x > 0], x.gather(0, I([[0, 1, 2]])), x.masked_fill(x > 0, 1.0),
                x.scatter_add(0, I([[0, 1, 2]]), x.detach()[:1]), x.index_put((I([0]),), x.detach()[0])]
    for r in outs:
        assert r.grad_fn is None and not r.requires_grad


def test_scatter_src_beyond_index_gets_zero_gradient():
    x = leaf((2, 3))
    s = leaf((3, 4), seed=1)
    x.scatter_add(1, I([[0, 2], [1, 1]]), s).backward(ctorch.ones(2, 3, dtype=ctorch.float64))
    expected = np.zeros((3, 4))
    expected[:2, :2] = 1
    np.testing.assert_array_equal(s.grad.numpy(), expected)


def test_accumulate_sums_repeated_indices():
    x = leaf((5,))
    y = x[I([1, 1, 1, -1])]
    y.backward(ctorch.ones(4, dtype=ctorch.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [0, 3, 0, 0, 1])
    x.grad = None
    x.gather(0, I([0, 0, 2])).backward(ctorch.ones(3, dtype=ctorch.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [2, 0, 1, 0, 0])
