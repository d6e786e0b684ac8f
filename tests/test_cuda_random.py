"""Random numbers on CUDA: per-device generators (ctorch.cuda.random), reproducibility, CUDA draws
equal to the CPU's for the same generator state (bit for bit where the arithmetic is exact, to
rounding where CUDA's and libm's log/sin/cos/tan/exp differ), moments, ranges, state round trips.
The Philox reference and the API-without-a-GPU tests also run on machines without one."""
import math

import numpy as np
import pytest

import ctorch
from conftest import to_np

needs_gpu = pytest.mark.skipif(not ctorch.cuda.is_available(), reason="CUDA not available")

# ---------------------------------------------------------------- a NumPy Philox4x32-10

_MASK = np.uint64(0xFFFFFFFF)


def philox(c, k):
    """Philox4x32-10 over arrays of counters c = (c0, c1, c2, c3) with key k = (k0, k1)."""
    c0, c1, c2, c3 = (np.asarray(x, dtype=np.uint64) for x in c)
    k0, k1 = np.uint64(k[0]), np.uint64(k[1])
    for r in range(10):
        if r:
            k0 = (k0 + np.uint64(0x9E3779B9)) & _MASK
            k1 = (k1 + np.uint64(0xBB67AE85)) & _MASK
        p0 = c0 * np.uint64(0xD2511F53)
        p1 = c2 * np.uint64(0xCD9E8D57)
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & _MASK, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & _MASK
    return c0, c1, c2, c3


def stream_words(seed, base, nwords):
    """The 32-bit words of a call whose blocks start at `base` under `seed`, in value order."""
    nblocks = (nwords + 3) // 4
    ctr = np.arange(nblocks, dtype=np.uint64) + np.uint64(base)
    w = philox((ctr & _MASK, ctr >> np.uint64(32), np.zeros_like(ctr), np.zeros_like(ctr)),
               (seed & 0xFFFFFFFF, seed >> 32))
    return np.stack(w, axis=1).reshape(-1)[:nwords]


def test_philox_known_answers():
    # Random123's kat_vectors for philox4x32 with 10 rounds.
    cases = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
             ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
             ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
              (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for c, k, want in cases:
        got = tuple(int(x[0]) for x in philox([[v] for v in c], k))
        assert got == want


def test_cpu_stream_is_philox():
    # randint over [0, 2^32) hands out the raw words: value i is word i % 4 of block i // 4.
    seed = 0x0123_4567_89AB_CDEF
    g = ctorch.Generator().manual_seed(seed)
    ctorch.rand(10, generator=g)  # moves the offset to 3 blocks
    assert g.get_offset() == 3
    x = to_np(ctorch.randint(0, 2**32, (1003,), generator=g))
    np.testing.assert_array_equal(x.astype(np.uint64), stream_words(seed, 3, 1003))


# ---------------------------------------------------------------- the API without a GPU

@pytest.mark.skipif(ctorch.cuda.is_available(), reason="a CUDA device is present")
def test_api_without_gpu():
    cr = ctorch.cuda
    # Setters are silently ignored, as in PyTorch (which queues them until CUDA initialises).
    cr.manual_seed(3)
    cr.manual_seed_all(4)
    cr.seed()
    cr.seed_all()
    cr.set_rng_state(ctorch.zeros(16, dtype=ctorch.uint8))
    cr.set_rng_state_all([])
    assert cr.get_rng_state_all() == []
    assert cr.default_generators == ()
    with pytest.raises(RuntimeError):
        cr.get_rng_state()
    with pytest.raises(RuntimeError):
        cr.initial_seed()
    with pytest.raises(RuntimeError):
        ctorch.Generator(device="cuda")
    g = ctorch.manual_seed(5)  # still seeds the CPU
    assert g is ctorch.default_generator and ctorch.initial_seed() == 5


def test_module_exports():
    import ctorch.cuda.random as cr
    for name in cr.__all__:
        assert getattr(ctorch.cuda, name) is getattr(cr, name)


# ---------------------------------------------------------------- with a GPU

def pair(seed=1234):
    """A CPU and a CUDA generator in the same state."""
    return ctorch.Generator().manual_seed(seed), ctorch.Generator(device="cuda").manual_seed(seed)


def same(a, b):
    assert a.device.type == "cpu" and b.device.type == "cuda"
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(to_np(b), to_np(a))


def close(a, b, rtol, atol):
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(to_np(b).astype(np.float64), to_np(a).astype(np.float64), rtol=rtol, atol=atol)


FLOAT_TOL = {ctorch.float16: (2e-3, 2e-3), ctorch.bfloat16: (1.6e-2, 1.6e-2), ctorch.float32: (2e-5, 1e-5),
             ctorch.float64: (1e-12, 1e-12)}


@needs_gpu
def test_generators_and_state():
    g = ctorch.Generator(device="cuda")
    assert g.device.type == "cuda" and g.initial_seed() == 67280421310721
    assert len(ctorch.cuda.default_generators) == ctorch.cuda.device_count()
    ctorch.cuda.manual_seed(11)
    assert ctorch.cuda.initial_seed() == 11
    ctorch.cuda.manual_seed_all(12)
    assert all(gg.initial_seed() == 12 for gg in ctorch.cuda.default_generators)
    ctorch.cuda.seed()
    s = ctorch.cuda.initial_seed()
    ctorch.cuda.seed_all()
    assert all(gg.initial_seed() == ctorch.cuda.default_generators[0].initial_seed()
               for gg in ctorch.cuda.default_generators)
    assert isinstance(s, int)
    # get/set round trip
    ctorch.cuda.manual_seed(7)
    ctorch.rand(5, device="cuda")
    state = ctorch.cuda.get_rng_state()
    assert state.dtype == ctorch.uint8 and state.device.type == "cpu" and tuple(state.shape) == (16,)
    a = to_np(ctorch.randn(100, device="cuda"))
    ctorch.rand(3, device="cuda")
    ctorch.cuda.set_rng_state(state)
    np.testing.assert_array_equal(to_np(ctorch.randn(100, device="cuda")), a)
    states = ctorch.cuda.get_rng_state_all()
    assert len(states) == ctorch.cuda.device_count()
    ctorch.randn(10, device="cuda")
    ctorch.cuda.set_rng_state_all(states)
    for i, st in enumerate(states):
        np.testing.assert_array_equal(to_np(ctorch.cuda.get_rng_state(i)), to_np(st))
    with pytest.raises(TypeError):
        ctorch.cuda.set_rng_state(ctorch.zeros(16))


@needs_gpu
def test_reproducible_under_seed_and_manual_seed_seeds_cuda():
    ctorch.manual_seed(123)  # seeds every CUDA device too, as in PyTorch
    assert ctorch.cuda.initial_seed() == 123
    a = to_np(ctorch.rand(1000, device="cuda"))
    b = to_np(ctorch.randn(10, 10, device="cuda"))
    ctorch.manual_seed(123)
    np.testing.assert_array_equal(to_np(ctorch.rand(1000, device="cuda")), a)
    np.testing.assert_array_equal(to_np(ctorch.randn(10, 10, device="cuda")), b)
    ctorch.manual_seed(124)
    assert not np.array_equal(to_np(ctorch.rand(1000, device="cuda")), a)
    ctorch.manual_seed(123)
    x, y = to_np(ctorch.rand(1000, device="cuda")), to_np(ctorch.rand(1000, device="cuda"))
    assert not np.array_equal(x, y)


@needs_gpu
def test_cpu_and_cuda_generators_are_independent():
    ctorch.manual_seed(5)
    cpu_state, cuda_state = ctorch.get_rng_state(), ctorch.cuda.get_rng_state()
    ctorch.rand(100, device="cuda")  # moves the CUDA generator only
    np.testing.assert_array_equal(to_np(ctorch.get_rng_state()), to_np(cpu_state))
    assert not np.array_equal(to_np(ctorch.cuda.get_rng_state()), to_np(cuda_state))
    after = ctorch.cuda.get_rng_state()
    ctorch.rand(100)  # moves the CPU generator only
    np.testing.assert_array_equal(to_np(ctorch.cuda.get_rng_state()), to_np(after))
    assert not np.array_equal(to_np(ctorch.get_rng_state()), to_np(cpu_state))
    g1, g2 = ctorch.Generator(device="cuda").manual_seed(9), ctorch.Generator(device="cuda").manual_seed(9)
    a = to_np(ctorch.rand(50, device="cuda", generator=g1))
    ctorch.rand(50, device="cuda")  # the default generator does not move g2
    np.testing.assert_array_equal(to_np(ctorch.rand(50, device="cuda", generator=g2)), a)
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator"):
        ctorch.rand(3, device="cuda", generator=ctorch.Generator())
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator"):
        ctorch.rand(3, generator=ctorch.Generator(device="cuda"))


@needs_gpu
def test_cuda_stream_is_philox():
    seed = 0xFEDC_BA98_7654_3210
    g = ctorch.Generator(device="cuda").manual_seed(seed)
    x = to_np(ctorch.randint(0, 2**32, (1001,), generator=g, device="cuda"))
    np.testing.assert_array_equal(x.astype(np.uint64), stream_words(seed, 0, 1001))


@needs_gpu
def test_uniform_equals_cpu_bit_for_bit():
    for dt in [ctorch.float16, ctorch.bfloat16, ctorch.float32, ctorch.float64]:
        for shape in [(), (0,), (7,), (33, 5)]:
            gc, gg = pair()
            same(ctorch.rand(*shape, dtype=dt, generator=gc), ctorch.rand(*shape, dtype=dt, generator=gg, device="cuda"))
        gc, gg = pair(9)
        a = ctorch.empty(6, 9, dtype=dt).t().uniform_(-3, 5, generator=gc)  # non-contiguous
        b = ctorch.empty(6, 9, dtype=dt, device="cuda").t().uniform_(-3, 5, generator=gg)
        same(a, b)
        assert gc.get_offset() == gg.get_offset()


@needs_gpu
def test_integers_equal_cpu_bit_for_bit():
    cases = [((0, 10), ctorch.int64), ((-5, 2**40), ctorch.int64), ((-100, 100), ctorch.int8),
             ((0, 256), ctorch.uint8), ((0, 2), ctorch.bool), ((-(2**31), 2**31 - 1), ctorch.int32),
             ((0, 1000), ctorch.float32), ((0, 2**53), ctorch.float64)]
    for (lo, hi), dt in cases:
        gc, gg = pair(lo + 77)
        same(ctorch.randint(lo, hi, (1001,), dtype=dt, generator=gc),
             ctorch.randint(lo, hi, (1001,), dtype=dt, generator=gg, device="cuda"))
    for dt in [ctorch.int64, ctorch.int32, ctorch.int16, ctorch.uint8, ctorch.bool, ctorch.float16, ctorch.float64]:
        gc, gg = pair(3)
        same(ctorch.empty(257, dtype=dt).random_(generator=gc),
             ctorch.empty(257, dtype=dt, device="cuda").random_(generator=gg))
    gc, gg = pair(4)  # the full int64 range
    a = ctorch.empty(1000, dtype=ctorch.int64).random_(**{"from": -2**63}, generator=gc)
    b = ctorch.empty(1000, dtype=ctorch.int64, device="cuda").random_(**{"from": -2**63}, generator=gg)
    same(a, b)
    v = to_np(b)
    assert v.min() < -2**62 and v.max() > 2**62


@needs_gpu
def test_bernoulli_and_randperm_equal_cpu():
    gc, gg = pair(5)
    same(ctorch.empty(1001, dtype=ctorch.float32).bernoulli_(0.3, generator=gc),
         ctorch.empty(1001, dtype=ctorch.float32, device="cuda").bernoulli_(0.3, generator=gg))
    p = ctorch.rand(40, 25, dtype=ctorch.float64)
    gc, gg = pair(6)
    same(ctorch.bernoulli(p, generator=gc), ctorch.bernoulli(p.cuda(), generator=gg))
    gc, gg = pair(7)  # p broadcast into the tensor's shape, on another device (moved, as in PyTorch)
    pb = ctorch.rand(25, dtype=ctorch.float32)
    same(ctorch.empty(40, 25, dtype=ctorch.int64).bernoulli_(pb, generator=gc),
         ctorch.empty(40, 25, dtype=ctorch.int64, device="cuda").bernoulli_(pb, generator=gg))
    for n, dt in [(0, ctorch.int64), (1, ctorch.int64), (1000, ctorch.int64), (300, ctorch.int16),
                  (100, ctorch.float32)]:
        gc, gg = pair(n)
        same(ctorch.randperm(n, dtype=dt, generator=gc), ctorch.randperm(n, dtype=dt, generator=gg, device="cuda"))
    with pytest.raises(RuntimeError, match="bernoulli_"):
        ctorch.empty(3, device="cuda").bernoulli_(ctorch.tensor([0.5, 1.5, 0.2], device="cuda"))
    with pytest.raises(RuntimeError, match="bernoulli_"):
        ctorch.empty(3, device="cuda").bernoulli_(ctorch.tensor([0.5, float("nan"), 0.2], device="cuda"))


@needs_gpu
def test_transcendental_draws_equal_cpu_to_rounding():
    for dt in [ctorch.float16, ctorch.bfloat16, ctorch.float32, ctorch.float64]:
        rtol, atol = FLOAT_TOL[dt]
        ops = [("normal_", (0.5, 2.0)), ("log_normal_", (0.1, 0.5)), ("exponential_", (2.0,)),
               ("cauchy_", (1.0, 0.5))]
        for name, args in ops:
            gc, gg = pair(len(name))
            a = getattr(ctorch.empty(37, 11, dtype=dt), name)(*args, generator=gc)
            b = getattr(ctorch.empty(37, 11, dtype=dt, device="cuda"), name)(*args, generator=gg)
            if name == "cauchy_":  # tan near pi/2 magnifies the input's rounding
                close(a, b, rtol * 10, atol * 10)
            else:
                close(a, b, rtol, atol)
            assert gc.get_offset() == gg.get_offset()
    gc, gg = pair(8)
    a = to_np(ctorch.empty(10000, dtype=ctorch.int64).geometric_(0.2, generator=gc))
    b = to_np(ctorch.empty(10000, dtype=ctorch.int64, device="cuda").geometric_(0.2, generator=gg))
    assert (a != b).mean() < 1e-3  # ceil(log(u) / log1p(-p)) may land across an integer
    gc, gg = pair(9)
    mean, std = ctorch.randn(20, 30, dtype=ctorch.float64), ctorch.rand(30, dtype=ctorch.float64)
    close(ctorch.normal(mean, std, generator=gc), ctorch.normal(mean.cuda(), std.cuda(), generator=gg), 1e-12, 1e-12)
    with pytest.raises(RuntimeError, match="same device"):
        ctorch.normal(mean.cuda(), std)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        ctorch.normal(ctorch.zeros(2, device="cuda"), ctorch.tensor([1.0, -1.0], device="cuda"))


@needs_gpu
def test_multinomial_equals_cpu():
    w = ctorch.rand(6, 50, dtype=ctorch.float64)
    w[2, :40] = 0
    w[4, 7] = 0
    for replacement, n in [(True, 1), (True, 333), (False, 1), (False, 10), (False, 50)]:
        gc, gg = pair(n)
        same(ctorch.multinomial(w, n, replacement, generator=gc),
             ctorch.multinomial(w.cuda(), n, replacement, generator=gg))
    gc, gg = pair(2)  # 1-D, float32, non-contiguous
    w1 = ctorch.rand(40, 2, dtype=ctorch.float32)[:, 0]
    same(ctorch.multinomial(w1, 100, True, generator=gc), ctorch.multinomial(w1.cuda(), 100, True, generator=gg))
    # zero-weight categories never come out while others remain, then follow in index order
    z = ctorch.tensor([0.0, 1.0, 0.0, 2.0], device="cuda")
    out = to_np(ctorch.multinomial(z, 4, False))
    assert sorted(out[:2]) == [1, 3] and list(out[2:]) == [0, 2]
    for bad in ([0.5, float("nan")], [0.5, -1.0], [0.0, 0.0]):
        with pytest.raises(RuntimeError, match="multinomial"):
            ctorch.multinomial(ctorch.tensor(bad, device="cuda"), 1)


@needs_gpu
def test_moments_and_ranges():
    ctorch.manual_seed(0)
    n = 1_000_000
    u = to_np(ctorch.rand(n, device="cuda"))
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 5e-3 and abs(u.var() - 1 / 12) < 5e-3
    z = to_np(ctorch.randn(n, device="cuda", dtype=ctorch.float64))
    assert abs(z.mean()) < 5e-3 and abs(z.std() - 1) < 5e-3
    e = to_np(ctorch.empty(n, device="cuda").exponential_(4.0))
    assert e.min() > 0 and abs(e.mean() - 0.25) < 5e-3
    b = to_np(ctorch.empty(n, device="cuda").bernoulli_(0.3))
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 5e-3
    gm = to_np(ctorch.empty(n, device="cuda", dtype=ctorch.float64).geometric_(0.25))
    assert gm.min() >= 1 and abs(gm.mean() - 4) < 0.05
    ln = to_np(ctorch.empty(n, device="cuda", dtype=ctorch.float64).log_normal_(0.0, 0.5))
    assert abs(np.log(ln).mean()) < 5e-3 and abs(np.log(ln).std() - 0.5) < 5e-3
    c = to_np(ctorch.empty(n, device="cuda", dtype=ctorch.float64).cauchy_(2.0, 1.0))
    assert abs(np.median(c) - 2.0) < 1e-2
    r = to_np(ctorch.randint(-3, 7, (n,), device="cuda"))
    assert r.min() == -3 and r.max() == 6 and abs(r.mean() - 1.5) < 2e-2
    u8 = to_np(ctorch.empty(n, dtype=ctorch.uint8, device="cuda").random_())
    assert u8.min() == 0 and u8.max() == 255
    p = to_np(ctorch.randperm(10000, device="cuda"))
    np.testing.assert_array_equal(np.sort(p), np.arange(10000))
    m = to_np(ctorch.multinomial(ctorch.tensor([1.0, 2.0, 7.0], device="cuda"), n, True))
    np.testing.assert_allclose(np.bincount(m, minlength=3) / n, [0.1, 0.2, 0.7], atol=5e-3)


@needs_gpu
def test_dropout_on_cuda():
    ctorch.manual_seed(1)
    x = ctorch.ones(1000, 100, device="cuda")
    y = ctorch.nn.functional.dropout(x, 0.25, training=True)
    assert y.device.type == "cuda"
    v = to_np(y)
    assert set(np.unique(v)) <= {0.0, 1 / 0.75} and abs((v == 0).mean() - 0.25) < 1e-2
    # channel dropout: one draw per (sample, channel), made on the input's device
    y2 = ctorch.nn.functional.dropout2d(ctorch.ones(8, 16, 5, 5, device="cuda"), 0.5, training=True)
    v2 = to_np(y2)
    assert y2.device.type == "cuda" and all(len(np.unique(v2[n, c])) == 1 for n in range(8) for c in range(16))
    xg = ctorch.ones(10, 10, device="cuda", requires_grad=True)
    ctorch.nn.functional.dropout(xg, 0.5).sum().backward()
    assert set(np.unique(to_np(xg.grad))) <= {0.0, 2.0}


@needs_gpu
def test_draws_do_not_depend_on_size_of_launch():
    # Value i depends on (seed, offset, i) alone: a prefix of a larger draw equals a smaller draw.
    g1, g2 = ctorch.Generator(device="cuda").manual_seed(3), ctorch.Generator(device="cuda").manual_seed(3)
    big = to_np(ctorch.randn(1 << 20, device="cuda", generator=g1))
    small = to_np(ctorch.randn(1000, device="cuda", generator=g2))
    np.testing.assert_array_equal(big[:1000], small)
    assert math.isfinite(float(big.sum()))
