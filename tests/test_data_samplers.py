"""ctorch.utils.data samplers: orders, lengths, errors, reproducibility; PyTorch as the oracle where orders are
deterministic (Sequential, Batch, Distributed without shuffle)."""
import pytest

import ctorch
from ctorch.utils.data import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,
                               SubsetRandomSampler, WeightedRandomSampler)


def gen(seed):
    g = ctorch.Generator()
    g.manual_seed(seed)
    return g


def test_sampler_base():
    with pytest.raises(NotImplementedError):
        iter(Sampler())
    with pytest.raises(TypeError):
        Sampler(range(3))  # takes no arguments, as in PyTorch 2.x

    class Evens(Sampler[int]):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(0, self.n, 2))
    assert list(BatchSampler(Evens(9), 2, False)) == [[0, 2], [4, 6], [8]]


def test_sequential_sampler():
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5
    assert list(SequentialSampler([])) == []


@pytest.mark.parametrize("n", [0, 1, 7, 9, 10])
@pytest.mark.parametrize("bs", [1, 3, 5, 12])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_like_torch(n, bs, drop_last):
    torch = pytest.importorskip("torch")
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs) == len(list(ours))


def test_batch_sampler():
    assert list(BatchSampler(range(10), 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(range(10), 3, True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    # Wraps any iterable of indices, e.g. a random sampler: a partition of its order.
    rs = RandomSampler(range(10), generator=gen(0))
    batches = list(BatchSampler(rs, 4, False))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(sum(batches, [])) == list(range(10))


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3", None])
def test_batch_sampler_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(4), bad, False)


@pytest.mark.parametrize("bad", [0, 1, None, "yes"])
def test_batch_sampler_bad_drop_last(bad):
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(4), 2, bad)


def test_sampler_errors_like_torch():
    torch = pytest.importorskip("torch")
    from conftest import assert_raises_like_torch
    U = lambda m: m.utils.data  # noqa: E731
    assert_raises_like_torch(torch, [
        ("batch 0", lambda m: U(m).BatchSampler(range(3), 0, False)),
        ("batch bool", lambda m: U(m).BatchSampler(range(3), True, False)),
        ("drop_last int", lambda m: U(m).BatchSampler(range(3), 2, 1)),
        ("random replacement", lambda m: U(m).RandomSampler(range(3), replacement=1)),
        ("random num_samples 0", lambda m: U(m).RandomSampler(range(3), num_samples=0)),
        ("random num_samples float", lambda m: U(m).RandomSampler(range(3), num_samples=2.0)),
        ("random empty", lambda m: U(m).RandomSampler([])),
        ("weighted num_samples", lambda m: U(m).WeightedRandomSampler([1.0, 2.0], 0)),
        ("weighted num_samples bool", lambda m: U(m).WeightedRandomSampler([1.0, 2.0], True)),
        ("weighted replacement", lambda m: U(m).WeightedRandomSampler([1.0, 2.0], 2, replacement=0)),
        ("weighted 2d", lambda m: U(m).WeightedRandomSampler([[1.0, 2.0]], 2)),
        ("weighted zero sum", lambda m: list(U(m).WeightedRandomSampler([0.0, 0.0], 1))),
        ("weighted negative", lambda m: list(U(m).WeightedRandomSampler([-1.0, 2.0], 1))),
        ("weighted nan", lambda m: list(U(m).WeightedRandomSampler([1.0, float("nan")], 1))),
        ("distributed rank", lambda m: U(m).DistributedSampler(range(4), num_replicas=2, rank=2)),
        ("distributed rank<0", lambda m: U(m).DistributedSampler(range(4), num_replicas=2, rank=-1)),
    ])


def test_random_sampler_permutation():
    for n in (1, 2, 10, 33):
        s = RandomSampler(range(n), generator=gen(n))
        order = list(s)
        assert sorted(order) == list(range(n)) and len(s) == n


def test_random_sampler_generator_reproducible():
    a = list(RandomSampler(range(50), generator=gen(7)))
    b = list(RandomSampler(range(50), generator=gen(7)))
    c = list(RandomSampler(range(50), generator=gen(8)))
    assert a == b and a != c
    # Iterating again advances the same generator: a new order.
    s = RandomSampler(range(50), generator=gen(7))
    assert list(s) == a and list(s) != a
    # The order is ctorch.randperm under that generator.
    assert a == ctorch.randperm(50, generator=gen(7)).tolist()


def test_random_sampler_global_seed():
    ctorch.manual_seed(123)
    s = RandomSampler(range(40))
    first, second = list(s), list(s)
    assert sorted(first) == list(range(40)) and first != second  # each epoch draws a new seed
    ctorch.manual_seed(123)
    assert list(s) == first and list(s) == second


@pytest.mark.parametrize("num_samples", [1, 5, 10, 23, 40])
def test_random_sampler_num_samples_without_replacement(num_samples):
    n = 10
    s = RandomSampler(range(n), num_samples=num_samples, generator=gen(1))
    order = list(s)
    assert len(order) == len(s) == num_samples
    # Whole permutations first, then a prefix of one more.
    for k in range(0, num_samples - num_samples % n, n):
        assert sorted(order[k:k + n]) == list(range(n))
    tail = order[num_samples - num_samples % n:]
    assert len(set(tail)) == len(tail)


@pytest.mark.parametrize("num_samples", [1, 31, 32, 33, 100])
def test_random_sampler_with_replacement(num_samples):
    s = RandomSampler(range(5), replacement=True, num_samples=num_samples, generator=gen(2))
    order = list(s)
    assert len(order) == len(s) == num_samples
    assert all(0 <= i < 5 for i in order) and all(isinstance(i, int) for i in order)
    assert list(RandomSampler(range(5), replacement=True, num_samples=num_samples, generator=gen(2))) == order
    if num_samples >= 31:
        assert len(set(order)) == 5  # 31+ draws from 5 values: all appear (fails with prob < 1e-2)
    assert len(RandomSampler(range(5), replacement=True)) == 5


def test_subset_random_sampler():
    idx = [10, 20, 30, 40, 50]
    s = SubsetRandomSampler(idx, generator=gen(4))
    order = list(s)
    assert sorted(order) == idx and len(s) == 5
    assert list(SubsetRandomSampler(idx, generator=gen(4))) == order
    ctorch.manual_seed(5)
    a = list(SubsetRandomSampler(idx))
    ctorch.manual_seed(5)
    assert list(SubsetRandomSampler(idx)) == a


def test_weighted_random_sampler():
    w = [0.0, 1.0, 0.0, 3.0]
    s = WeightedRandomSampler(w, 200, generator=gen(0))
    order = list(s)
    assert len(order) == len(s) == 200
    assert set(order) == {1, 3}  # zero weight never drawn
    assert order.count(3) > order.count(1)  # ~150 vs ~50
    assert s.weights.dtype == ctorch.float64 and s.weights.tolist() == w
    assert list(WeightedRandomSampler(w, 200, generator=gen(0))) == order
    # Without replacement: distinct indices, positive weights only.
    s = WeightedRandomSampler([1, 2, 3, 4, 5], 5, replacement=False, generator=gen(1))
    assert sorted(s) == [0, 1, 2, 3, 4]
    s = WeightedRandomSampler(ctorch.tensor([1.0, 0.0, 2.0]), 2, replacement=False, generator=gen(1))
    assert sorted(s) == [0, 2]


def test_distributed_requires_explicit_world():
    with pytest.raises(RuntimeError, match="ctorch.distributed is not available"):
        DistributedSampler(range(4))
    with pytest.raises(RuntimeError, match="ctorch.distributed is not available"):
        DistributedSampler(range(4), num_replicas=2)
    with pytest.raises(RuntimeError, match="ctorch.distributed is not available"):
        DistributedSampler(range(4), rank=0)


@pytest.mark.parametrize("n", [1, 7, 8, 10, 13])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 16])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_no_shuffle_like_torch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs), rank
        assert len(ours) == len(theirs) == len(list(ours))
        assert ours.total_size == theirs.total_size


def test_distributed_sampler_no_shuffle():
    parts = [list(DistributedSampler(range(10), 3, r, shuffle=False)) for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]  # padded with the start
    parts = [list(DistributedSampler(range(10), 3, r, shuffle=False, drop_last=True)) for r in range(3)]
    assert parts == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    # More replicas than samples: the order is repeated to pad.
    parts = [list(DistributedSampler(range(2), 5, r, shuffle=False)) for r in range(5)]
    assert parts == [[0], [1], [0], [1], [0]]


@pytest.mark.parametrize("n,replicas", [(12, 3), (10, 4), (5, 2), (100, 7)])
def test_distributed_sampler_shuffle(n, replicas):
    def parts(epoch, seed=0, drop_last=False):
        out = []
        for r in range(replicas):
            s = DistributedSampler(range(n), replicas, r, shuffle=True, seed=seed, drop_last=drop_last)
            s.set_epoch(epoch)
            out.append(list(s))
        return out
    p0 = parts(0)
    assert all(len(p) == -(-n // replicas) for p in p0)
    flat = sum(p0, [])
    assert set(flat) == set(range(n))  # union covers the dataset
    if n % replicas == 0:
        assert len(flat) == n  # disjoint
    pd = parts(0, drop_last=True)
    flat = sum(pd, [])
    assert len(flat) == len(set(flat)) == n - n % replicas  # disjoint after dropping the tail
    assert parts(0) == p0  # same seed and epoch: same order
    assert parts(1) != p0  # set_epoch changes the order
    assert parts(0, seed=5) != p0
    assert parts(3, seed=0) == parts(0, seed=3)  # the generator is seeded with seed + epoch
    # The order is randperm under a generator seeded with seed + epoch, split round-robin.
    perm = ctorch.randperm(n, generator=gen(0)).tolist()
    assert p0[0][:len(perm[::replicas])] == perm[::replicas][:len(p0[0])]


def test_distributed_sampler_attributes():
    s = DistributedSampler(range(10), num_replicas=4, rank=1, seed=3, drop_last=True)
    assert (s.num_replicas, s.rank, s.epoch, s.seed, s.shuffle, s.drop_last) == (4, 1, 0, 3, True, True)
    assert s.num_samples == 2 and s.total_size == 8
    s.set_epoch(4)
    assert s.epoch == 4
