"""ctorch.utils.data datasets and random_split: lengths, indexing, errors, compared with PyTorch where installed."""
import warnings

import numpy as np
import pytest

import ctorch
from ctorch.utils.data import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                               TensorDataset, random_split)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self):
        return self.n


class Count(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


class NoLen(IterableDataset):
    def __iter__(self):
        yield 1


def test_base_classes_are_abstract():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(TypeError):
        IterableDataset()  # __iter__ is abstract
    assert isinstance(Count(0, 1), Dataset)

    class Typed(Dataset[int]):  # subscriptable like PyTorch's generic Dataset
        pass
    with pytest.raises(NotImplementedError):
        Typed()[0]


def test_tensor_dataset():
    x = ctorch.arange(12).reshape(4, 3)
    y = ctorch.tensor([1.0, 2.0, 3.0, 4.0])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    a, b = ds[2]
    assert a.tolist() == [6, 7, 8] and b.item() == 3.0
    a, b = ds[-1]
    assert a.tolist() == [9, 10, 11] and b.item() == 4.0
    a, b = ds[1:3]
    assert tuple(a.shape) == (2, 3) and b.tolist() == [2.0, 3.0]
    assert ds.tensors[0] is x
    with pytest.raises(IndexError):
        ds[4]
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, ctorch.zeros(3))
    single = TensorDataset(ctorch.zeros(0, 2))
    assert len(single) == 0


def test_tensor_dataset_error_class_like_torch():
    torch = pytest.importorskip("torch")
    from conftest import assert_raises_like_torch
    assert_raises_like_torch(torch, [
        ("size mismatch", lambda m: m.utils.data.TensorDataset(m.zeros(3), m.zeros(4))),
        ("index out of range", lambda m: m.utils.data.TensorDataset(m.zeros(3))[3]),
    ])


def test_subset():
    ds = Squares(10)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3
    assert [sub[i] for i in range(3)] == [49, 4, 25]
    assert sub[-1] == 25
    assert sub.__getitems__([2, 0]) == [25, 49]
    # Subset of a TensorDataset indexes the tensors with the mapped indices.
    td = TensorDataset(ctorch.arange(10) * 10)
    assert Subset(td, [3, 1])[1][0].item() == 10
    # A wrapped dataset's own __getitems__ is used for batch fetches.

    class Batched(Squares):
        def __getitems__(self, idx):
            return [("batched", i) for i in idx]
    assert Subset(Batched(10), [4, 6]).__getitems__([1, 0]) == [("batched", 6), ("batched", 4)]


def test_concat_dataset():
    a, b, c = Squares(3), Squares(0), Squares(4)
    ds = ConcatDataset([a, b, c])
    assert len(ds) == 7
    assert ds.cumulative_sizes == [3, 3, 7]
    assert [ds[i] for i in range(7)] == [0, 1, 4, 0, 1, 4, 9]
    assert [ds[-i] for i in range(1, 8)] == [9, 4, 1, 0, 4, 1, 0]
    with pytest.raises(ValueError, match="absolute value of index"):
        ds[-8]
    with pytest.raises(IndexError):
        ds[7]
    with pytest.raises(AssertionError, match="empty"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="IterableDataset"):
        ConcatDataset([a, Count(0, 2)])
    # Dataset + Dataset is a ConcatDataset; a generator of datasets works too.
    s = a + c
    assert isinstance(s, ConcatDataset) and len(s) == 7 and s[3] == 0
    assert len(ConcatDataset(d for d in [a, c])) == 7
    with pytest.warns(DeprecationWarning):
        assert ds.cummulative_sizes == [3, 3, 7]


def test_concat_dataset_like_torch():
    torch = pytest.importorskip("torch")
    sizes = [2, 5, 0, 3]
    ours = ConcatDataset([Squares(n) for n in sizes])
    theirs = torch.utils.data.ConcatDataset([Squares(n) for n in sizes])
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-len(ours), len(ours)):
        assert ours[i] == theirs[i]
    for i in (-11, 10, 11):
        with pytest.raises(Exception) as t:
            theirs[i]
        with pytest.raises(type(t.value)):
            ours[i]
    with pytest.raises(Exception) as t:
        torch.utils.data.ConcatDataset([])
    with pytest.raises(type(t.value)):
        ConcatDataset([])

    class TorchCount(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(2))
    with pytest.raises(Exception) as t:
        torch.utils.data.ConcatDataset([Squares(1), TorchCount()])
    with pytest.raises(type(t.value)):
        ConcatDataset([Squares(1), Count(0, 2)])


def test_chain_dataset():
    ds = ChainDataset([Count(0, 3), Count(10, 12)])
    assert list(ds) == [0, 1, 2, 10, 11]
    assert list(ds) == [0, 1, 2, 10, 11]  # iterable again
    assert len(ds) == 5
    added = Count(0, 2) + Count(5, 6)
    assert isinstance(added, ChainDataset) and list(added) == [0, 1, 5]
    bad = ChainDataset([Count(0, 1), Squares(2)])
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(bad)
    with pytest.raises(AssertionError):
        len(bad)
    with pytest.raises(TypeError):
        len(ChainDataset([NoLen()]))


def test_stack_dataset():
    a = TensorDataset(ctorch.arange(4))
    b = Squares(4)
    t = StackDataset(a, b)
    assert len(t) == 4
    item = t[2]
    assert isinstance(item, tuple) and item[0][0].item() == 2 and item[1] == 4
    d = StackDataset(x=a, y=b)
    item = d[3]
    assert set(item) == {"x", "y"} and item["x"][0].item() == 3 and item["y"] == 9
    batch = t.__getitems__([1, 3])
    assert [s[1] for s in batch] == [1, 9] and all(isinstance(s, tuple) for s in batch)
    batch = d.__getitems__([1, 3])
    assert [s["y"] for s in batch] == [1, 9] and [s["x"][0].item() for s in batch] == [1, 3]
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(a, Squares(3))
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(x=a, y=Squares(5))
    with pytest.raises(ValueError):
        StackDataset(a, y=b)
    with pytest.raises(ValueError):
        StackDataset()


def test_stack_dataset_getitems_size_check():
    class Short(Squares):
        def __getitems__(self, idx):
            return [0]
    with pytest.raises(ValueError, match="output size mismatch"):
        StackDataset(Short(3), Squares(3)).__getitems__([0, 1])


def _check_partition(splits, n):
    seen = []
    for s in splits:
        assert isinstance(s, Subset)
        seen.extend(s.indices)
    assert sorted(seen) == list(range(n))


def test_random_split_lengths():
    splits = random_split(range(10), [3, 7], generator=ctorch.Generator().manual_seed(1))
    assert [len(s) for s in splits] == [3, 7]
    _check_partition(splits, 10)
    # Subsets index the original dataset.
    assert [splits[0][i] for i in range(3)] == splits[0].indices
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 6])
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 8])


def test_random_split_generator_reproducible():
    def run(seed):
        g = ctorch.Generator()
        g.manual_seed(seed)
        return [s.indices for s in random_split(range(20), [5, 5, 10], generator=g)]
    assert run(3) == run(3)
    assert run(3) != run(4)
    # The indices are ctorch.randperm under the same generator.
    g = ctorch.Generator()
    g.manual_seed(3)
    perm = ctorch.randperm(20, generator=g).tolist()
    assert sum(run(3), []) == perm
    # Without a generator the global RNG decides: manual_seed makes it reproducible.
    ctorch.manual_seed(11)
    first = [s.indices for s in random_split(range(20), [10, 10])]
    ctorch.manual_seed(11)
    assert [s.indices for s in random_split(range(20), [10, 10])] == first


@pytest.mark.parametrize("n,fracs", [(10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.3, 0.4]),
                                     (5, [1.0]), (3, [0.25, 0.25, 0.25, 0.25]), (100, [0.33, 0.33, 0.34])])
def test_random_split_fractions_like_torch(n, fracs):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = random_split(range(n), fracs, generator=ctorch.Generator().manual_seed(0))
        theirs = torch.utils.data.random_split(range(n), fracs, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    _check_partition(ours, n)


def test_random_split_fractions():
    # floor(len * frac) each, then the remainder round-robin from the first split.
    splits = random_split(range(10), [0.25, 0.25, 0.5])
    assert [len(s) for s in splits] == [3, 2, 5]
    with pytest.warns(UserWarning, match="Length of split at index") as record:
        splits = random_split(range(2), [0.6, 0.1, 0.3])  # floors [1, 0, 0], remainder to split 0
    assert [len(s) for s in splits] == [2, 0, 0]
    assert [str(w.message)[:26] for w in record] == ["Length of split at index 1", "Length of split at index 2"]
    _check_partition(splits, 2)
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(range(10), [0.5, -0.1, 0.6])
    with pytest.raises(ValueError):
        random_split(range(10), [0.5, 0.4])


def test_random_split_errors_like_torch():
    torch = pytest.importorskip("torch")
    from conftest import assert_raises_like_torch
    assert_raises_like_torch(torch, [
        ("sum", lambda m: m.utils.data.random_split(range(5), [2, 2])),
        ("fraction", lambda m: m.utils.data.random_split(range(5), [1.5, -0.5])),
        ("fractions not summing to 1", lambda m: m.utils.data.random_split(range(5), [0.5, 0.2])),
    ])


def test_works_with_numpy_and_tensor_indices():
    ds = TensorDataset(ctorch.arange(5))
    assert ds[np.int64(3)][0].item() == 3
    cd = ConcatDataset([Squares(2), Squares(3)])
    assert cd[np.int64(3)] == 1
