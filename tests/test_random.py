"""Random numbers: reproducibility, generator state, distributions (generous statistical bounds)."""
import math

import numpy as np
import pytest

import ctorch
from conftest import FLOAT_DTYPES, assert_raises_like_torch, noncontiguous, to_np

N = 100_000


def test_same_seed_same_numbers_different_seeds_differ():
    ctorch.manual_seed(123)
    a = to_np(ctorch.rand(1000))
    b = to_np(ctorch.randn(10, 10))
    ctorch.manual_seed(123)
    np.testing.assert_array_equal(to_np(ctorch.rand(1000)), a)
    np.testing.assert_array_equal(to_np(ctorch.randn(10, 10)), b)
    ctorch.manual_seed(124)
    assert not np.array_equal(to_np(ctorch.rand(1000)), a)
    # consecutive calls continue the stream instead of repeating it
    ctorch.manual_seed(123)
    x, y = to_np(ctorch.rand(1000)), to_np(ctorch.rand(1000))
    assert not np.array_equal(x, y)


def test_initial_seed_and_seed():
    g = ctorch.manual_seed(77)
    assert g is ctorch.default_generator
    assert ctorch.initial_seed() == 77
    s = ctorch.seed()
    assert isinstance(s, int) and ctorch.initial_seed() == s
    ctorch.manual_seed(-1)  # PyTorch's rule: negative seeds wrap to 0xffff_ffff_ffff_ffff + seed
    assert ctorch.initial_seed() == 0xFFFF_FFFF_FFFF_FFFF - 1
    ctorch.manual_seed(2**64 - 1)
    assert ctorch.initial_seed() == 2**64 - 1
    with pytest.raises(RuntimeError, match="Overflow"):
        ctorch.manual_seed(2**64)
    with pytest.raises(TypeError):
        ctorch.manual_seed(1.5)


def test_rng_state_round_trip():
    ctorch.manual_seed(5)
    ctorch.rand(17)
    state = ctorch.get_rng_state()
    assert state.dtype == ctorch.uint8 and state.dim() == 1
    a = to_np(ctorch.randn(100))
    ctorch.rand(3)
    ctorch.set_rng_state(state)
    np.testing.assert_array_equal(to_np(ctorch.randn(100)), a)
    with pytest.raises(RuntimeError):
        ctorch.set_rng_state(ctorch.zeros(3, dtype=ctorch.uint8))
    with pytest.raises(TypeError):
        ctorch.set_rng_state(ctorch.zeros(16))


def test_generator_objects_are_independent():
    g1 = ctorch.Generator().manual_seed(9)
    g2 = ctorch.Generator()
    g2.manual_seed(9)
    assert g1.initial_seed() == 9
    ctorch.manual_seed(0)
    before = ctorch.get_rng_state()
    a = to_np(ctorch.rand(50, generator=g1))
    np.testing.assert_array_equal(to_np(ctorch.rand(50, generator=g2)), a)
    np.testing.assert_array_equal(to_np(ctorch.get_rng_state()), to_np(before))  # default untouched
    st = g1.get_state()
    b = to_np(ctorch.randint(0, 100, (20,), generator=g1))
    g1.set_state(st)
    np.testing.assert_array_equal(to_np(ctorch.randint(0, 100, (20,), generator=g1)), b)
    assert ctorch.Generator(device="cpu").device == ctorch.device("cpu")
    assert ctorch.Generator().initial_seed() == 67280421310721


def test_results_do_not_depend_on_thread_count():
    n = ctorch.get_num_threads()
    try:
        ctorch.set_num_threads(1)
        g = ctorch.Generator().manual_seed(3)
        a = [to_np(ctorch.randn(300_000, generator=g)), to_np(ctorch.rand(70_001, dtype=ctorch.float64, generator=g))]
        ctorch.set_num_threads(2)
        g.manual_seed(3)
        b = [to_np(ctorch.randn(300_000, generator=g)), to_np(ctorch.rand(70_001, dtype=ctorch.float64, generator=g))]
    finally:
        ctorch.set_num_threads(n)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_prefix_property():
    # Element i depends only on (seed, offset, i): a shorter draw is a prefix of a longer one.
    g = ctorch.Generator().manual_seed(11)
    a = to_np(ctorch.rand(10, generator=g))
    g.manual_seed(11)
    b = to_np(ctorch.rand(1000, generator=g))
    np.testing.assert_array_equal(a, b[:10])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rand_uniform(dtype):
    ctorch.manual_seed(1)
    x = ctorch.rand(N, dtype=dtype)
    assert x.dtype == dtype and tuple(x.shape) == (N,)
    v = to_np(x).astype(np.float64)
    assert v.min() >= 0 and v.max() < 1
    assert abs(v.mean() - 0.5) < 0.01
    assert abs(v.std() - math.sqrt(1 / 12)) < 0.01
    y = ctorch.empty(N, dtype=dtype).uniform_(-3, 5)
    w = to_np(y).astype(np.float64)
    assert w.min() >= -3 and w.max() <= 5
    assert abs(w.mean() - 1) < 0.05


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_randn_normal(dtype):
    ctorch.manual_seed(2)
    v = to_np(ctorch.randn(N, dtype=dtype)).astype(np.float64)
    assert abs(v.mean()) < 0.02 and abs(v.std() - 1) < 0.02
    assert abs((np.abs(v) < 1).mean() - 0.6827) < 0.01
    w = to_np(ctorch.empty(N, dtype=dtype).normal_(3, 0.5)).astype(np.float64)
    assert abs(w.mean() - 3) < 0.02 and abs(w.std() - 0.5) < 0.02


def test_normal_forms():
    ctorch.manual_seed(3)
    mean = ctorch.tensor([0.0, 10.0, -10.0]).reshape(3, 1).expand(3, 20000)
    std = ctorch.tensor([1.0, 2.0, 0.5]).reshape(3, 1)
    r = to_np(ctorch.normal(mean, std))
    assert r.shape == (3, 20000)
    np.testing.assert_allclose(r.mean(1), [0, 10, -10], atol=0.1)
    np.testing.assert_allclose(r.std(1), [1, 2, 0.5], rtol=0.05)
    r = to_np(ctorch.normal(ctorch.full((N,), 2.0), 3.0))
    assert abs(r.mean() - 2) < 0.05 and abs(r.std() - 3) < 0.05
    r = to_np(ctorch.normal(1.0, ctorch.full((N,), 0.1)))
    assert abs(r.mean() - 1) < 0.01 and abs(r.std() - 0.1) < 0.005
    r = ctorch.normal(5.0, 2.0, (4, 5), dtype=ctorch.float64)
    assert r.dtype == ctorch.float64 and tuple(r.shape) == (4, 5)
    r = ctorch.normal(5.0, 2.0, size=(N,))
    v = to_np(r)
    assert abs(v.mean() - 5) < 0.05 and abs(v.std() - 2) < 0.05
    with pytest.raises(RuntimeError, match="std"):
        ctorch.normal(ctorch.zeros(3), -1.0)
    with pytest.raises(RuntimeError, match="std"):
        ctorch.normal(ctorch.zeros(3), ctorch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(RuntimeError, match="std"):
        ctorch.empty(3).normal_(0, -2)


@pytest.mark.parametrize("dtype", [ctorch.int64, ctorch.int32, ctorch.uint8, ctorch.int8, ctorch.float32])
def test_randint(dtype):
    ctorch.manual_seed(4)
    lo, hi = (0, 10) if dtype != ctorch.int8 else (-5, 5)
    x = ctorch.randint(lo, hi, (N,), dtype=dtype)
    assert x.dtype == dtype
    v = to_np(x).astype(np.int64)
    assert v.min() == lo and v.max() == hi - 1
    counts = np.bincount(v - lo, minlength=hi - lo)
    assert np.all(np.abs(counts / N - 0.1) < 0.01)
    y = ctorch.randint(7, (3, 4))  # randint(high, size)
    assert y.dtype == ctorch.int64 and tuple(y.shape) == (3, 4)
    assert to_np(y).min() >= 0 and to_np(y).max() < 7


def test_randint_wide_ranges():
    ctorch.manual_seed(5)
    big = to_np(ctorch.randint(-2**62, 2**62, (N,)))
    assert big.min() < -2**60 and big.max() > 2**60
    full = to_np(ctorch.empty(N, dtype=ctorch.int64).random_())
    assert full.min() >= 0 and full.max() > 2**62
    with pytest.raises(RuntimeError, match="from"):
        ctorch.randint(5, 3, (2,))
    with pytest.raises(RuntimeError, match="range"):
        ctorch.randint(0, 300, (2,), dtype=ctorch.uint8)


def test_random_method_overloads():
    ctorch.manual_seed(6)
    t = ctorch.empty(N, dtype=ctorch.int16)
    assert t.random_(5) is t
    v = to_np(t)
    assert v.min() == 0 and v.max() == 4
    v = to_np(t.random_(-3, 3))
    assert v.min() == -3 and v.max() == 2
    v = to_np(t.random_())
    assert v.min() >= 0 and v.max() > 30000
    f = to_np(ctorch.empty(N, dtype=ctorch.float16).random_())
    assert f.min() >= 0 and f.max() <= 2048 and np.all(f == np.round(f))
    b = to_np(ctorch.empty(1000, dtype=ctorch.bool).random_())
    assert b.any() and not b.all()


def test_randperm():
    ctorch.manual_seed(7)
    for n in [0, 1, 2, 10, 1000]:
        p = ctorch.randperm(n)
        assert p.dtype == ctorch.int64
        np.testing.assert_array_equal(np.sort(to_np(p)), np.arange(n))
    a, b = to_np(ctorch.randperm(1000)), to_np(ctorch.randperm(1000))
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, np.arange(1000))
    np.testing.assert_array_equal(np.sort(to_np(ctorch.randperm(50, dtype=ctorch.float32))), np.arange(50))
    # every position is roughly uniform over values
    firsts = np.array([to_np(ctorch.randperm(4))[0] for _ in range(4000)])
    assert np.all(np.abs(np.bincount(firsts, minlength=4) / 4000 - 0.25) < 0.04)
    with pytest.raises(RuntimeError, match="non-negative"):
        ctorch.randperm(-1)


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.int64, ctorch.bool])
def test_bernoulli_scalar(dtype):
    ctorch.manual_seed(8)
    t = ctorch.empty(N, dtype=dtype)
    assert t.bernoulli_(0.3) is t
    v = to_np(t).astype(np.float64)
    assert set(np.unique(v)) <= {0.0, 1.0}
    assert abs(v.mean() - 0.3) < 0.01
    r = ctorch.bernoulli(ctorch.zeros(N, dtype=dtype), 0.8)
    assert r.dtype == dtype and abs(to_np(r).astype(np.float64).mean() - 0.8) < 0.01
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        t.bernoulli_(1.5)


def test_bernoulli_tensor():
    ctorch.manual_seed(9)
    p = ctorch.tensor([0.0, 0.25, 0.9, 1.0], dtype=ctorch.float64).reshape(4, 1).expand(4, 20000)
    r = ctorch.bernoulli(p)
    assert r.dtype == ctorch.float64 and tuple(r.shape) == (4, 20000)
    np.testing.assert_allclose(to_np(r).mean(1), [0, 0.25, 0.9, 1.0], atol=0.015)
    r2 = p.bernoulli()
    assert tuple(r2.shape) == (4, 20000)
    t = ctorch.empty(4, 20000, dtype=ctorch.int32)
    t.bernoulli_(ctorch.tensor([[0.0], [0.5], [0.5], [1.0]]))
    np.testing.assert_allclose(to_np(t).mean(1), [0, 0.5, 0.5, 1], atol=0.015)
    with pytest.raises(RuntimeError):
        ctorch.bernoulli(ctorch.tensor([0.5, 1.5]))


def test_multinomial_with_replacement():
    ctorch.manual_seed(10)
    probs = ctorch.tensor([0.1, 0.0, 0.6, 0.3])
    s = ctorch.multinomial(probs, N, replacement=True)
    assert s.dtype == ctorch.int64 and tuple(s.shape) == (N,)
    freq = np.bincount(to_np(s), minlength=4) / N
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.01)
    assert freq[1] == 0
    # unnormalised 2-D weights
    w = ctorch.tensor([[1.0, 3.0], [5.0, 0.0]])
    s2 = w.multinomial(20000, True)
    assert tuple(s2.shape) == (2, 20000)
    assert abs(to_np(s2)[0].mean() - 0.75) < 0.02
    assert np.all(to_np(s2)[1] == 0)


def test_multinomial_without_replacement():
    ctorch.manual_seed(11)
    for _ in range(20):
        s = to_np(ctorch.multinomial(ctorch.rand(30) + 0.01, 30))
        np.testing.assert_array_equal(np.sort(s), np.arange(30))
    s = to_np(ctorch.multinomial(ctorch.ones(5, 100), 40))
    assert s.shape == (5, 40)
    for row in s:
        assert len(set(row.tolist())) == 40
    # the first pick follows the weights
    firsts = to_np(ctorch.multinomial(ctorch.tensor([[1.0, 2.0, 7.0]]).expand(20000, 3), 2))[:, 0]
    np.testing.assert_allclose(np.bincount(firsts, minlength=3) / 20000, [0.1, 0.2, 0.7], atol=0.015)
    # zero-weight categories are never drawn
    s = to_np(ctorch.multinomial(ctorch.tensor([0.0, 1.0, 0.0, 1.0]), 2))
    assert sorted(s.tolist()) == [1, 3]
    # once the positive ones are used up, zero-weight categories follow in index order (PyTorch)
    assert to_np(ctorch.multinomial(ctorch.tensor([0.0, 1.0, 0.0]), 2)).tolist() == [1, 0]
    assert to_np(ctorch.multinomial(ctorch.tensor([1.0, 0.0, 2.0]), 3))[2] == 1
    with pytest.raises(RuntimeError, match="without replacement"):
        ctorch.multinomial(ctorch.ones(3), 4)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        ctorch.multinomial(ctorch.zeros(3), 1)
    with pytest.raises(RuntimeError, match="element < 0"):
        ctorch.multinomial(ctorch.tensor([1.0, -1.0]), 1)
    with pytest.raises(RuntimeError, match="1 or 2 dim"):
        ctorch.multinomial(ctorch.ones(2, 2, 2), 1)


def test_other_inplace_distributions():
    ctorch.manual_seed(12)
    e = to_np(ctorch.empty(N, dtype=ctorch.float64).exponential_(2.0))
    assert e.min() > 0 and abs(e.mean() - 0.5) < 0.01
    g = to_np(ctorch.empty(N).geometric_(0.25))
    assert g.min() >= 1 and abs(g.mean() - 4) < 0.1
    ln = to_np(ctorch.empty(N, dtype=ctorch.float64).log_normal_(0.0, 0.5))
    assert abs(np.log(ln).mean()) < 0.01 and abs(np.log(ln).std() - 0.5) < 0.01
    c = to_np(ctorch.empty(N).cauchy_(1.0, 2.0))
    assert abs(np.median(c) - 1) < 0.05
    assert abs(np.mean(np.abs(c - 1) < 2) - 0.5) < 0.01  # half the mass within one scale
    with pytest.raises(RuntimeError, match="lambda"):
        ctorch.empty(2).exponential_(0)
    with pytest.raises(RuntimeError, match="floating"):
        ctorch.empty(2, dtype=ctorch.int64).uniform_()
    with pytest.raises(RuntimeError, match="from"):
        ctorch.empty(2).uniform_(2, 1)


def test_inplace_noncontiguous_and_generators():
    base = ctorch.zeros(100, 40)
    view = noncontiguous(ctorch.zeros(100, 20)).t()
    g = ctorch.Generator().manual_seed(13)
    view.uniform_(1, 2, generator=g)
    v = to_np(view)
    assert v.min() >= 1 and v.max() < 2
    # the values are those of a contiguous draw, in the view's logical order
    g.manual_seed(13)
    np.testing.assert_array_equal(to_np(ctorch.empty(20, 100).uniform_(1, 2, generator=g)), v)
    assert not to_np(base).any()
    for method, args in [("normal_", ()), ("exponential_", ()), ("random_", (0, 5)), ("bernoulli_", (0.5,))]:
        g.manual_seed(1)
        a = to_np(getattr(ctorch.empty(1000), method)(*args, generator=g))
        g.manual_seed(1)
        b = to_np(getattr(ctorch.empty(1000), method)(*args, generator=g))
        np.testing.assert_array_equal(a, b)


def test_factory_kwargs_and_like():
    g = ctorch.Generator().manual_seed(14)
    x = ctorch.rand(2, 3, dtype=ctorch.float64, device="cpu", generator=g)
    assert x.dtype == ctorch.float64 and tuple(x.shape) == (2, 3)
    assert tuple(ctorch.rand((4, 5)).shape) == (4, 5)
    assert tuple(ctorch.randn([]).shape) == ()
    assert ctorch.rand(0, 3).numel() == 0
    assert ctorch.rand_like(x).dtype == ctorch.float64
    assert tuple(ctorch.randn_like(x, dtype=ctorch.float16).shape) == (2, 3)
    r = ctorch.randint_like(ctorch.zeros(1000, dtype=ctorch.int32), 3, 6)
    assert r.dtype == ctorch.int32 and to_np(r).min() == 3 and to_np(r).max() == 5
    r = ctorch.randint_like(ctorch.zeros(1000), 4)
    assert r.dtype == ctorch.float32 and to_np(r).max() == 3
    out = ctorch.empty(5)
    assert ctorch.rand(5, out=out) is out
    assert ctorch.rand(2, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        ctorch.randint(0, 3, (2,), requires_grad=True)
    with pytest.raises(RuntimeError, match="floating"):
        ctorch.rand(3, dtype=ctorch.int64)
    with pytest.raises(RuntimeError, match="floating"):
        ctorch.randn(3, dtype=ctorch.int32)
    with pytest.raises(TypeError):
        ctorch.randint(5)


def test_mean_matches_torch_distribution_when_installed():
    # Not the same stream as PyTorch (Philox here, mt19937 there): compare distributions only.
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ctorch.manual_seed(0)
    a = np.sort(to_np(ctorch.randn(20000)))
    b = np.sort(torch.randn(20000).numpy())
    assert np.max(np.abs(a - b)[1000:-1000]) < 0.1  # quantiles agree away from the tails


def test_size_keyword():
    assert tuple(ctorch.rand(size=(2, 3)).shape) == (2, 3)
    assert tuple(ctorch.randn(size=[4]).shape) == (4,)
    assert tuple(ctorch.randint(0, 5, size=(3, 2)).shape) == (3, 2)
    r = ctorch.randint(low=2, high=4, size=(1000,))
    assert to_np(r).min() == 2 and to_np(r).max() == 3
    assert to_np(ctorch.randint(high=3, size=(1000,))).max() == 2
    with pytest.raises(TypeError):
        ctorch.rand(2, size=(2,))


def test_error_classes_match_torch():
    torch = pytest.importorskip("torch")
    cases = [
        ("randperm", lambda m: m.randperm(-1)),
        ("randint bounds", lambda m: m.randint(5, 3, (2,))),
        ("normal std", lambda m: m.normal(m.zeros(3), -1.0)),
        ("multinomial", lambda m: m.multinomial(m.ones(3), 4)),
        ("bernoulli p", lambda m: m.empty(3).bernoulli_(1.5)),
        ("exponential", lambda m: m.empty(3).exponential_(-1.0)),
        ("rng state", lambda m: m.set_rng_state(m.zeros(3, dtype=m.uint8))),
    ]
    assert_raises_like_torch(torch, cases)
