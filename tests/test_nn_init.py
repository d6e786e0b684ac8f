"""Tests for nn.init: gains against PyTorch's table, sample statistics and bounds against the formulas,
generator= reproducibility, no_grad on leaf Parameters, and PyTorch's errors."""
import math

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
from ctorch.nn import init
from conftest import DEVICES, assert_close_devices


def vals(t):
    return t.detach().numpy().astype(np.float64).ravel()


def gen(seed):
    g = ctorch.Generator()
    g.manual_seed(seed)
    return g


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    cases = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
             ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
             ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu", None)]
    for name, param in cases:
        assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_uniform_normal_constant():
    t = ctorch.empty(200, 100)
    # Seeded, with bounds of about 5 standard errors of 20000 samples: the test cannot flake.
    assert init.uniform_(t, -2.0, 3.0, generator=gen(1)) is t
    v = vals(t)
    assert v.min() >= -2 and v.max() < 3
    assert abs(v.mean() - 0.5) < 0.05 and abs(v.std() - 5 / math.sqrt(12)) < 0.03
    init.normal_(t, 1.5, 0.5, generator=gen(2))
    v = vals(t)
    assert abs(v.mean() - 1.5) < 0.02 and abs(v.std() - 0.5) < 0.015
    assert (vals(init.constant_(t, 0.25)) == 0.25).all()
    assert (vals(init.ones_(t)) == 1).all() and (vals(init.zeros_(t)) == 0).all()


def test_generator_reproducible_and_leaf_parameters():
    for fn, kw in [(init.uniform_, {}), (init.normal_, {}), (init.xavier_uniform_, {}), (init.xavier_normal_, {}),
                   (init.kaiming_uniform_, {}), (init.kaiming_normal_, {}), (init.trunc_normal_, {}),
                   (init.orthogonal_, {})]:
        p = nn.Parameter(ctorch.empty(6, 5))  # a leaf requiring grad: init must run under no_grad
        q = nn.Parameter(ctorch.empty(6, 5))
        assert fn(p, generator=gen(7), **kw) is p
        fn(q, generator=gen(7), **kw)
        np.testing.assert_array_equal(vals(p), vals(q))
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
        fn(q, generator=gen(8), **kw)
        assert not np.array_equal(vals(p), vals(q))


def test_xavier_statistics():
    t = ctorch.empty(300, 200)
    gain = 2.0
    std = gain * math.sqrt(2.0 / 500)
    v = vals(init.xavier_uniform_(t, gain=gain))
    bound = math.sqrt(3) * std
    assert v.min() >= -bound and v.max() <= bound and v.max() > 0.99 * bound
    np.testing.assert_allclose(v.std(), std, rtol=0.02)
    v = vals(init.xavier_normal_(t, gain=gain))
    np.testing.assert_allclose(v.std(), std, rtol=0.02)
    assert abs(v.mean()) < 0.02 * std


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0.2), ("tanh", 0), ("linear", 0)])
def test_kaiming_statistics(mode, nonlinearity, a):
    t = ctorch.empty(120, 40, 3, 3)  # fan_in = 360, fan_out = 1080 (receptive field 9)
    fan = 360 if mode == "fan_in" else 1080
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    v = vals(init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity))
    bound = math.sqrt(3) * std
    assert v.min() >= -bound and v.max() <= bound and v.max() > 0.99 * bound
    np.testing.assert_allclose(v.std(), std, rtol=0.02)
    v = vals(init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity))
    np.testing.assert_allclose(v.std(), std, rtol=0.02)


def test_fan_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ctorch.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(ctorch.empty(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_normal_(ctorch.empty(0, 3))


def test_trunc_normal():
    t = ctorch.empty(100000)
    v = vals(init.trunc_normal_(t, mean=1.0, std=2.0, a=0.0, b=3.0))
    assert v.min() >= 0 and v.max() <= 3
    # moments of N(1, 2) truncated to [0, 3]: alpha = -0.5, beta = 1
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    al, be = -0.5, 1.0
    z = cdf(be) - cdf(al)
    mean = 1.0 + 2.0 * (phi(al) - phi(be)) / z
    var = 4.0 * (1 + (al * phi(al) - be * phi(be)) / z - ((phi(al) - phi(be)) / z) ** 2)
    np.testing.assert_allclose([v.mean(), v.std()], [mean, math.sqrt(var)], rtol=0.01)
    v = vals(init.trunc_normal_(ctorch.empty(20000)))  # defaults: N(0, 1) on [-2, 2]
    assert v.min() >= -2 and v.max() <= 2
    with pytest.raises(ValueError):
        init.trunc_normal_(ctorch.empty(3), a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (6, 6), (4, 2, 3)])
def test_orthogonal(shape):
    t = init.orthogonal_(ctorch.empty(*shape, dtype=ctorch.float64), gain=1.5)
    m = t.reshape(shape[0], -1).numpy()
    small = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(small, 2.25 * np.eye(small.shape[0]), atol=1e-10)
    f = init.orthogonal_(ctorch.empty(*shape))  # float32 target
    m = f.reshape(shape[0], -1).numpy().astype(np.float64)
    small = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(ctorch.empty(3))


def test_eye_dirac_match_torch():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(init.eye_(ctorch.empty(3, 5)).numpy(), torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(ctorch.empty(2, 2, 2))
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 4, 3, 3, 1), 1), ((2, 4, 5), 1)]:
        np.testing.assert_array_equal(init.dirac_(ctorch.empty(*shape), groups).numpy(),
                                      torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(ctorch.empty(3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(ctorch.empty(3, 3, 3), groups=2)


@pytest.mark.parametrize("device", DEVICES)
def test_deterministic_inits_on_device(device):
    # The initializers without randomness fill a tensor on its own device with the CPU's values.
    cases = [(init.eye_, (3, 5), {}), (init.dirac_, (6, 3, 3, 3), {"groups": 2}), (init.zeros_, (2, 3), {}),
             (init.ones_, (4,), {}), (init.constant_, (2, 2), {"val": 0.25})]
    for fn, shape, kw in cases:
        t = fn(ctorch.empty(*shape, device=device), **kw)
        assert t.device.type == ctorch.device(device).type
        assert_close_devices(t, fn(ctorch.empty(*shape), **kw))
