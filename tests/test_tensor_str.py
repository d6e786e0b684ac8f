"""Tensor repr/str against PyTorch's format (and fixed strings where torch is absent)."""
import re

import numpy as np
import pytest

import ctorch


@pytest.fixture(autouse=True)
def _reset_printoptions():
    ctorch.set_printoptions(profile="default")
    yield
    ctorch.set_printoptions(profile="default")


def both(torch, data, dtype=None):
    """The same values as a ctorch and a torch tensor."""
    a = np.asarray(data)
    t = ctorch.tensor(a)
    x = torch.tensor(a)
    if dtype is not None:
        t = t.to(getattr(ctorch, dtype))
        x = x.to(getattr(torch, dtype))
    return t, x


def torch_repr(x):
    return repr(x).replace("torch.", "ctorch.")


def _join_suffix_lines(s):
    # "ctorch." is one character longer than "torch.", so a suffix can move to its own line in
    # one and not the other; compare suffix placement-insensitively where that matters.
    return re.sub(r",\n\s*(dtype=|device=|size=)", r", \1", s)


FIXED = [
    (lambda: ctorch.tensor([1.0, 2.0, 3.0]), "tensor([1., 2., 3.])"),
    (lambda: ctorch.tensor([1, 2, 3]), "tensor([1, 2, 3])"),
    (lambda: ctorch.tensor(3.0), "tensor(3.)"),
    (lambda: ctorch.tensor(3), "tensor(3)"),
    (lambda: ctorch.tensor([True, False]), "tensor([ True, False])"),
    (lambda: ctorch.tensor([1.5, 2.25]), "tensor([1.5000, 2.2500])"),
    (lambda: ctorch.tensor([1.0, 2.0], dtype=ctorch.float64), "tensor([1., 2.], dtype=ctorch.float64)"),
    (lambda: ctorch.tensor([1, 2], dtype=ctorch.int32), "tensor([1, 2], dtype=ctorch.int32)"),
    (lambda: ctorch.zeros(0), "tensor([])"),
    (lambda: ctorch.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: ctorch.zeros(0, dtype=ctorch.int64), "tensor([], dtype=ctorch.int64)"),
    (lambda: ctorch.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: ctorch.tensor([1.0, 1e9]), "tensor([1.0000e+00, 1.0000e+09])"),
    (lambda: ctorch.tensor([float("nan"), 1.0, float("inf")]), "tensor([nan, 1., inf])"),
    (lambda: ctorch.tensor([[1, 2], [3, 4]]), "tensor([[1, 2],\n        [3, 4]])"),
    (lambda: ctorch.tensor([-1.5, 0.0]), "tensor([-1.5000,  0.0000])"),
]


@pytest.mark.parametrize("make,expected", FIXED, ids=[e for _, e in FIXED])
def test_repr_fixed(make, expected):
    t = make()
    assert repr(t) == expected
    assert str(t) == expected


TORCH_CASES = [
    ([1.0, 2.0, 3.0], None),
    ([1, 2, 3], None),
    ([1, -20, 300], "int32"),
    ([[1, 2], [3, 4]], "uint8"),
    ([True, False, True], None),
    ([0.1, 0.25, -3.75], None),
    ([0.1, 0.25, -3.75], "float64"),
    ([0.1, 0.25, -3.75], "float16"),
    ([0.1, 0.25, -3.75], "bfloat16"),
    ([1e-5, 1.0, 2.0], None),
    ([1.0, 1e9], None),
    ([1.0, 2000.0], None),
    ([1.0, 999.0], None),
    ([123456789.0, 1.0], "float64"),
    ([0.0, 0.0], None),
    ([0.0, -0.0, 1.0], None),
    ([float("nan"), float("inf"), -float("inf")], None),
    ([float("nan"), 1.5], None),
    ([-float("inf"), 2.0, 1e-7], None),
    ([[1.5, -2.0], [3.0, 4.25]], None),
    ([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], None),
    ([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]], "float64"),
    (3.5, None),
    (-7, None),
    (True, None),
    (1e-8, None),
    (2.0, "float16"),
    (list(range(30)), None),
    ([x * 0.37 for x in range(40)], None),
    ([x * 1e5 for x in range(30)], "float64"),
    ([[x * y * 0.1 for x in range(12)] for y in range(5)], None),
]


@pytest.mark.parametrize("data,dtype", TORCH_CASES, ids=[str(i) for i in range(len(TORCH_CASES))])
def test_repr_matches_torch(data, dtype):
    torch = pytest.importorskip("torch")
    t, x = both(torch, data, dtype)
    assert repr(t) == torch_repr(x)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0), (2, 0, 4), (0, 0)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "bool"])
def test_repr_empty_matches_torch(shape, dtype):
    torch = pytest.importorskip("torch")
    t = ctorch.zeros(*shape, dtype=getattr(ctorch, dtype))
    x = torch.zeros(*shape, dtype=getattr(torch, dtype))
    assert repr(t) == torch_repr(x)


@pytest.mark.parametrize("shape", [(2000,), (1001,), (50, 50), (3, 400), (400, 3), (11, 12, 13),
                                   (2, 3, 200), (7, 7, 7, 7)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "float64"])
def test_repr_summarized_matches_torch(shape, dtype):
    torch = pytest.importorskip("torch")
    n = int(np.prod(shape))
    vals = (np.arange(n) * 7 % 1000 - 500).reshape(shape)
    if dtype != "int64":
        vals = vals * 0.13
    t, x = both(torch, vals, dtype)
    assert repr(t) == torch_repr(x)


def test_repr_wide_lines_wrap_like_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for shape in [(100,), (3, 40), (2, 2, 33)]:
        vals = rng.standard_normal(shape) * 100
        t, x = both(torch, vals)
        assert repr(t) == torch_repr(x)
        t, x = both(torch, vals, "float64")
        assert repr(t) == torch_repr(x)  # the dtype suffix goes to its own line when too long


def test_repr_noncontiguous_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(4, 6) * 1.25
    t = ctorch.tensor(a).transpose(0, 1).narrow(0, 1, 4)
    x = torch.tensor(a).t()[1:5]
    assert repr(t) == torch_repr(x)


@pytest.mark.parametrize("opts", [
    dict(precision=2), dict(precision=8), dict(threshold=5), dict(threshold=5, edgeitems=1),
    dict(linewidth=30), dict(sci_mode=True), dict(sci_mode=False), dict(profile="short"),
    dict(profile="full"), dict(threshold=5, edgeitems=0),
])
def test_set_printoptions_matches_torch(opts):
    torch = pytest.importorskip("torch")
    data = [[0.123456789, 12.5, -3.0, 1e-3, 7.0, 8.0, 9.0], [4.0, 5.0, 6.0, 7.5, 100.25, 0.5, 1.0]]
    cases = [both(torch, data), both(torch, list(range(2000))), both(torch, [1.0, 2.0, 3.0]),
             both(torch, [1e-6, 1.0]), both(torch, list(range(12)), "float64")]
    torch.set_printoptions(**opts)
    ctorch.set_printoptions(**opts)
    try:
        for t, x in cases:
            assert repr(t) == torch_repr(x), opts
    finally:
        torch.set_printoptions(profile="default")


def test_printoptions_getter_and_context():
    ctorch.set_printoptions(precision=2)
    assert ctorch.get_printoptions()["precision"] == 2
    with ctorch.printoptions(precision=6, sci_mode=True):
        assert repr(ctorch.tensor([1.5])) == "tensor([1.500000e+00])"
    assert repr(ctorch.tensor([1.5])) == "tensor([1.50])"
    with pytest.raises(ValueError):
        ctorch.set_printoptions(profile="nope")


def test_summarized_repr_has_ellipsis():
    r = repr(ctorch.arange(5000))
    assert r == "tensor([   0,    1,    2,  ..., 4997, 4998, 4999])"


def test_format_of_0d():
    assert f"{ctorch.tensor(2.5):.3f}" == "2.500"
    assert f"{ctorch.tensor(7):d}" == "7"
    with pytest.raises(TypeError):
        f"{ctorch.zeros(2):.3f}"


def test_repr_cuda_suffix():
    if not ctorch.cuda.is_available():
        pytest.skip("no CUDA device")
    t = ctorch.tensor([1.0, 2.0]).cuda()
    assert repr(t) == "tensor([1., 2.], device='cuda:0')"


def test_repr_random_tensors_match_torch():
    """Many tensors of random shape, dtype and value scale print exactly as torch prints them."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    dtypes = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool"]
    for i in range(300):
        ndim = int(rng.integers(0, 4))
        shape = tuple(int(s) for s in rng.integers(1, 9 if ndim < 3 else 5, size=ndim))
        dtype = dtypes[i % len(dtypes)]
        scale = 10.0 ** rng.integers(-6, 10)
        vals = rng.standard_normal(shape) * scale
        if rng.random() < 0.3:
            vals = np.round(vals)
        if rng.random() < 0.4 and vals.size > 1 and "float" in dtype:
            flat = vals.reshape(-1)
            flat[rng.integers(0, flat.size)] = [np.nan, np.inf, -np.inf, 0.0][i % 4]
        if dtype == "uint8":
            vals = np.abs(vals) % 256
        elif dtype == "int8":
            vals = np.clip(vals, -128, 127)
        elif dtype in ("int32", "int64"):
            vals = np.clip(vals, -2e9, 2e9)
        elif dtype == "bool":
            vals = vals > 0
        x = torch.tensor(vals).to(getattr(torch, dtype))
        t = ctorch.from_dlpack(x)
        assert _join_suffix_lines(repr(t)) == _join_suffix_lines(torch_repr(x)), (shape, dtype, scale)
