"""Tensors pickle (by value) and copy like PyTorch's."""
import copy
import pickle

import numpy as np
import pytest

import ctorch
from conftest import ALL_DTYPES, make_tensor, to_np


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (0, 3), (3, 4)])
def test_pickle_round_trip(dtype, shape):
    x = make_tensor(shape, dtype)
    if x.dim() == 2:
        x = x.t()  # non-contiguous source
    y = pickle.loads(pickle.dumps(x))
    assert y.dtype == x.dtype and y.shape == x.shape and y.device == x.device
    np.testing.assert_array_equal(to_np(y), to_np(x))
    assert y._storage_id() != x._storage_id()


def test_deepcopy_clones_and_copy_shares():
    x = ctorch.arange(6.0).reshape(2, 3)
    d = copy.deepcopy({"a": x, "b": x})
    assert d["a"] is d["b"]  # the memo keeps aliasing inside one deepcopy
    assert d["a"]._storage_id() != x._storage_id()
    np.testing.assert_array_equal(d["a"].numpy(), x.numpy())
    assert copy.copy(x)._storage_id() == x._storage_id()
