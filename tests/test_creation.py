"""Creating tensors: tensor() from Python data, factories, default dtype, devices, conversions."""
import numpy as np
import pytest

import ctorch
from conftest import ALL_DTYPES, make_tensor, to_np

try:
    import torch
except ImportError:
    torch = None


def _name(d):
    return str(d).split(".")[1]


def same_as_torch(t, x):
    """`t` (ctorch) and `x` (torch) hold the same dtype, shape and values."""
    assert _name(t.dtype) == str(x.dtype).split(".")[1]
    assert tuple(t.shape) == tuple(x.shape)
    xe = x.float() if x.dtype == torch.bfloat16 else x
    np.testing.assert_array_equal(to_np(t), xe.numpy())


# ---------------------------------------------------------------- tensor()

TENSOR_DATA = [
    ([1, 2, 3], ctorch.int64, (3,)),
    ([1.0, 2, 3], ctorch.float32, (3,)),
    ([True, False], ctorch.bool, (2,)),
    ([True, 2], ctorch.int64, (2,)),
    ([True, 2.5], ctorch.float32, (2,)),
    ([[1, 2], [3, 4]], ctorch.int64, (2, 2)),
    ([[[1.5]]], ctorch.float32, (1, 1, 1)),
    ((1, 2), ctorch.int64, (2,)),
    ([(1, 2), [3, 4]], ctorch.int64, (2, 2)),
    (5, ctorch.int64, ()),
    (2.5, ctorch.float32, ()),
    (True, ctorch.bool, ()),
    ([], ctorch.float32, (0,)),
    ([[], []], ctorch.float32, (2, 0)),
    ([2 ** 62, -(2 ** 62)], ctorch.int64, (2,)),
    ([float("inf"), float("nan")], ctorch.float32, (2,)),
]


@pytest.mark.parametrize("data,dtype,shape", TENSOR_DATA, ids=[repr(d[0])[:30] for d in TENSOR_DATA])
def test_tensor_from_python(data, dtype, shape):
    t = ctorch.tensor(data)
    assert t.dtype == dtype and tuple(t.shape) == shape
    expected = np.array(data, dtype=np.float64 if dtype.is_floating_point else None)
    np.testing.assert_array_equal(to_np(t), expected.astype(to_np(t).dtype))
    if torch is not None:
        same_as_torch(t, torch.tensor(data))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_name)
def test_tensor_with_dtype(dtype):
    t = ctorch.tensor([[0, 1], [2, 3]], dtype=dtype)
    assert t.dtype == dtype
    np.testing.assert_array_equal(to_np(t), np.array([[0, 1], [2, 3]]).astype(to_np(t).dtype))
    if torch is not None:
        vals = [0.5, 1.25, 3.0] if dtype == ctorch.uint8 else [0.5, -1.25, 3.0]
        same_as_torch(ctorch.tensor(vals, dtype=dtype),
                      torch.tensor(vals, dtype=getattr(torch, _name(dtype))))


def test_tensor_from_tensors_and_arrays():
    a = ctorch.tensor([1.0, 2.0])
    c = ctorch.tensor(a)
    assert c.data_ptr() != a.data_ptr()  # a copy
    assert ctorch.tensor([ctorch.tensor(1), ctorch.tensor(2)]).tolist() == [1, 2]
    assert ctorch.tensor([a, a]).shape == (2, 2)
    n = np.array([[1, 2], [3, 4]], dtype=np.int16)
    t = ctorch.tensor(n)
    assert t.dtype == ctorch.int16 and t.tolist() == [[1, 2], [3, 4]]
    assert ctorch.tensor([np.array([1.0, 2.0]), np.array([3.0, 4.0])]).shape == (2, 2)
    assert ctorch.tensor(np.bool_(True)).dtype == ctorch.bool


def test_tensor_ragged_and_bad_data():
    for bad in ([[1, 2], [3]], [[1, 2], 3], [1, [2, 3]], [[[1]], [2]]):
        with pytest.raises(ValueError):
            ctorch.tensor(bad)
        if torch is not None:
            with pytest.raises((ValueError, TypeError)):
                torch.tensor(bad)
    with pytest.raises(TypeError):
        ctorch.tensor(["a", "b"])
    with pytest.raises(TypeError):
        ctorch.tensor([object()])
    with pytest.raises(RuntimeError):
        ctorch.tensor([2 ** 64])  # doesn't fit int64
    with pytest.raises(RuntimeError, match="floating point"):
        ctorch.tensor([1], requires_grad=True)  # integers cannot require grad


def test_tensor_float_data_into_int_dtype_truncates():
    t = ctorch.tensor([1.7, -1.7], dtype=ctorch.int32)
    assert t.tolist() == [1, -1]
    if torch is not None:
        assert torch.tensor([1.7, -1.7], dtype=torch.int32).tolist() == [1, -1]


# ---------------------------------------------------------------- factories

@pytest.mark.parametrize("dtype", [None] + ALL_DTYPES, ids=lambda d: "default" if d is None else _name(d))
def test_zeros_ones_full(dtype):
    for shape in [(2, 3), (0,), (), (1, 0, 2)]:
        z = ctorch.zeros(*shape, dtype=dtype) if shape else ctorch.zeros((), dtype=dtype)
        o = ctorch.ones(shape, dtype=dtype)
        assert tuple(z.shape) == shape and tuple(o.shape) == shape
        assert z.dtype == (dtype or ctorch.float32) == o.dtype
        assert (to_np(z) == 0).all() and (to_np(o) == 1).all()
    f = ctorch.full((2, 2), 3, dtype=dtype)
    np.testing.assert_array_equal(to_np(f), np.full((2, 2), 3).astype(to_np(f).dtype))
    if dtype is None:
        assert ctorch.full((2,), 3).dtype == ctorch.int64
        assert ctorch.full((2,), 3.5).dtype == ctorch.float32
        assert ctorch.full((2,), True).dtype == ctorch.bool
    if torch is not None:
        kw = {} if dtype is None else {"dtype": getattr(torch, _name(dtype))}
        same_as_torch(ctorch.ones(2, 3, dtype=dtype), torch.ones(2, 3, **kw))
        same_as_torch(ctorch.full((2,), 7, dtype=dtype), torch.full((2,), 7, **kw))


def test_like_factories():
    src = make_tensor((2, 3), ctorch.int16).t()
    for fn, val in ((ctorch.zeros_like, 0), (ctorch.ones_like, 1)):
        r = fn(src)
        assert r.dtype == ctorch.int16 and tuple(r.shape) == (3, 2) and (to_np(r) == val).all()
    r = ctorch.full_like(src, 4, dtype=ctorch.float64)
    assert r.dtype == ctorch.float64 and (to_np(r) == 4).all()
    e = ctorch.empty_like(src)
    assert e.dtype == ctorch.int16 and tuple(e.shape) == (3, 2)
    assert ctorch.empty(2, 3).dtype == ctorch.float32
    assert tuple(ctorch.empty((4, 5), dtype=ctorch.uint8).shape) == (4, 5)
    n = src.new_zeros(2)
    assert n.dtype == ctorch.int16 and n.tolist() == [0, 0]
    assert src.new_full((1,), 9).tolist() == [9]
    assert src.new_tensor([1.5]).dtype == ctorch.int16


ARANGE = [(5,), (2, 7), (0, 10, 3), (10, 0, -3), (0.0, 1.0, 0.1), (1, 2.5, 0.5), (-3, 3), (0, 0),
          (0.5, 3), (0, 1, 0.3), (1e5, 1e5 + 10, 1)]


@pytest.mark.parametrize("args", ARANGE, ids=str)
def test_arange(args):
    t = ctorch.arange(*args)
    ref = np.arange(*args)
    assert t.numel() == ref.size
    np.testing.assert_allclose(to_np(t), ref, rtol=1e-6)
    if any(isinstance(a, float) for a in args):
        assert t.dtype == ctorch.float32
    else:
        assert t.dtype == ctorch.int64
    if torch is not None:
        x = torch.arange(*args)
        assert _name(t.dtype) == str(x.dtype).split(".")[1]
        np.testing.assert_allclose(to_np(t), x.numpy(), rtol=1e-6)


def test_arange_dtype_and_errors():
    assert ctorch.arange(5, dtype=ctorch.float64).dtype == ctorch.float64
    assert ctorch.arange(0, 1, 0.25, dtype=ctorch.float16).tolist() == [0, 0.25, 0.5, 0.75]
    for bad in ((0, 5, 0), (5, 0, 1), (0, float("inf"))):
        with pytest.raises(RuntimeError):
            ctorch.arange(*bad)


@pytest.mark.parametrize("args", [(0, 1, 5), (-2, 2, 1), (1, 1, 3), (0, 1, 0), (3, -3, 7), (0, 10, 11)])
def test_linspace_logspace(args):
    t = ctorch.linspace(*args)
    np.testing.assert_allclose(to_np(t), np.linspace(*args), rtol=1e-6, atol=1e-7)
    assert t.dtype == ctorch.float32
    if args[2] > 1:
        assert to_np(t)[0] == np.float32(args[0]) and to_np(t)[-1] == np.float32(args[1])
    lg = ctorch.logspace(*args, dtype=ctorch.float64)
    np.testing.assert_allclose(to_np(lg), np.logspace(*args), rtol=1e-12)
    lg2 = ctorch.logspace(*args, base=2.0)
    np.testing.assert_allclose(to_np(lg2), np.logspace(*args, base=2.0), rtol=1e-6)
    if torch is not None:
        np.testing.assert_allclose(to_np(t), torch.linspace(*args).numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(RuntimeError):
        ctorch.linspace(0, 1, -1)


def test_linspace_int_dtype():
    t = ctorch.linspace(0, 10, 5, dtype=ctorch.int64)
    assert t.dtype == ctorch.int64
    if torch is not None:
        assert t.tolist() == torch.linspace(0, 10, 5, dtype=torch.int64).tolist()


@pytest.mark.parametrize("n,m", [(3, None), (2, 4), (4, 2), (0, None), (1, 1)])
def test_eye(n, m):
    t = ctorch.eye(n, m)
    np.testing.assert_array_equal(to_np(t), np.eye(n, m))
    assert t.dtype == ctorch.float32
    assert ctorch.eye(n, m, dtype=ctorch.bool).dtype == ctorch.bool
    with pytest.raises(RuntimeError):
        ctorch.eye(-1)


def test_oversized_and_negative_shapes():
    with pytest.raises(RuntimeError):
        ctorch.empty(-1)
    with pytest.raises(RuntimeError):
        ctorch.zeros(2, -3)
    with pytest.raises(RuntimeError):
        ctorch.empty(2 ** 62, 2 ** 62)  # numel overflows int64
    with pytest.raises(RuntimeError):
        ctorch.empty(2 ** 50)  # far beyond memory: a clean error, not a crash
    with pytest.raises(TypeError):
        ctorch.zeros(2.5)
    with pytest.raises(TypeError):
        ctorch.zeros("3")


# ---------------------------------------------------------------- default dtype

def test_default_dtype():
    assert ctorch.get_default_dtype() == ctorch.float32
    ctorch.set_default_dtype(ctorch.float64)
    try:
        assert ctorch.get_default_dtype() == ctorch.float64
        assert ctorch.tensor([1.5]).dtype == ctorch.float64
        assert ctorch.zeros(2).dtype == ctorch.float64
        assert ctorch.arange(0.0, 1.0, 0.5).dtype == ctorch.float64
        assert ctorch.tensor([1]).dtype == ctorch.int64
        assert ctorch.linspace(0, 1, 3).dtype == ctorch.float64
    finally:
        ctorch.set_default_dtype(ctorch.float32)
    assert ctorch.tensor([1.5]).dtype == ctorch.float32
    with pytest.raises((TypeError, RuntimeError)):
        ctorch.set_default_dtype(ctorch.int32)


# ---------------------------------------------------------------- devices

@pytest.mark.parametrize("spec,typ,index", [("cpu", "cpu", None), ("cuda", "cuda", None),
                                            ("cuda:1", "cuda", 1), ("cpu:0", "cpu", 0)])
def test_device_parsing(spec, typ, index):
    d = ctorch.device(spec)
    assert d.type == typ and d.index == index
    assert str(d) == spec
    assert d == spec and d == ctorch.device(spec)
    assert hash(d) == hash(ctorch.device(spec))
    if torch is not None:
        assert repr(d) == repr(torch.device(spec))


def test_device_forms_and_errors():
    assert ctorch.device("cuda", 2) == ctorch.device("cuda:2")
    assert ctorch.device(0) == ctorch.device("cuda:0")
    assert ctorch.device(ctorch.device("cpu")).type == "cpu"
    for bad in ("gpu", "cuda:x", "cuda:-1", "", "cuda:0:1"):
        with pytest.raises(RuntimeError):
            ctorch.device(bad)
    with pytest.raises(RuntimeError):
        ctorch.device("cuda:1", 2)
    with pytest.raises(AttributeError):
        ctorch.device("cpu").type = "cuda"
    assert ctorch.zeros(2).device == ctorch.device("cpu")
    assert ctorch.zeros(2, device="cpu").device.type == "cpu"


# ---------------------------------------------------------------- conversions

CONVERSIONS = {"bool": ctorch.bool, "byte": ctorch.uint8, "char": ctorch.int8, "short": ctorch.int16,
               "int": ctorch.int32, "long": ctorch.int64, "half": ctorch.float16,
               "bfloat16": ctorch.bfloat16, "float": ctorch.float32, "double": ctorch.float64}


@pytest.mark.parametrize("method", CONVERSIONS)
def test_dtype_methods(method):
    t = ctorch.tensor([0.0, 1.5, -2.5, 100.25])
    r = getattr(t, method)()
    assert r.dtype == CONVERSIONS[method]
    if torch is not None:
        same_as_torch(r, getattr(torch.tensor([0.0, 1.5, -2.5, 100.25]), method)())


def test_to():
    t = ctorch.tensor([1.5, -2.5])
    assert t.to(ctorch.float32) is t  # no-op conversions return self
    assert t.to("cpu") is t
    assert t.to(ctorch.float32, copy=True) is not t
    r = t.to(ctorch.int64)
    assert r.dtype == ctorch.int64 and r.tolist() == [1, -2]
    assert t.to(dtype=ctorch.float64).dtype == ctorch.float64
    assert t.to("cpu", ctorch.float16).dtype == ctorch.float16
    assert t.to(ctorch.zeros(1, dtype=ctorch.int8)).dtype == ctorch.int8
    assert t.to(device=ctorch.device("cpu")).device.type == "cpu"
    assert t.type_as(ctorch.zeros(1, dtype=ctorch.float64)).dtype == ctorch.float64
    nc = make_tensor((3, 4), ctorch.float32).t()
    np.testing.assert_array_equal(to_np(nc.to(ctorch.float64)), to_np(nc).astype(np.float64))
    if not ctorch.cuda.is_available():  # no GPU: RuntimeError; no CUDA build: AssertionError
        with pytest.raises((RuntimeError, AssertionError)):
            t.to("cuda")


@pytest.mark.parametrize("src", ALL_DTYPES, ids=_name)
def test_cast_matrix_matches_torch(src):
    if torch is None:
        pytest.skip("torch not installed")
    vals = [0.0, 1.0, -1.0, 2.75, -3.5, 100.0, 0.5]
    base = torch.tensor(vals).to(getattr(torch, _name(src)))
    t = ctorch.from_dlpack(base)
    for dst in ALL_DTYPES:
        tdst = getattr(torch, _name(dst))
        if dst == ctorch.uint8 and src.is_floating_point:
            continue  # negative float -> uint8 is undefined behaviour in C and in PyTorch
        same_as_torch(t.to(dst), base.to(tdst))


def test_item_and_tolist():
    assert ctorch.tensor(3).item() == 3 and isinstance(ctorch.tensor(3).item(), int)
    assert isinstance(ctorch.tensor(2.5).item(), float)
    assert ctorch.tensor(True).item() is True
    assert ctorch.tensor([[7]]).item() == 7
    assert ctorch.tensor(1.5, dtype=ctorch.bfloat16).item() == 1.5
    with pytest.raises(RuntimeError):
        ctorch.tensor([1, 2]).item()
    with pytest.raises(RuntimeError):
        ctorch.zeros(0).item()
    assert ctorch.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert ctorch.tensor([True, False]).tolist() == [True, False]
    assert ctorch.tensor(2.0).tolist() == 2.0
    assert ctorch.zeros(0, 2).tolist() == []
    assert ctorch.tensor([1.5, 2.5], dtype=ctorch.bfloat16).tolist() == [1.5, 2.5]
    nc = ctorch.arange(6).reshape(2, 3).t()
    assert nc.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert float(ctorch.tensor([2.5])) == 2.5 and int(ctorch.tensor(7)) == 7
    assert bool(ctorch.tensor([1])) is True
    with pytest.raises(RuntimeError):
        bool(ctorch.tensor([1, 2]))
    assert [1, 2, 3][ctorch.tensor(1)] == 2  # __index__
    with pytest.raises(TypeError):
        [1, 2][ctorch.tensor(1.0)]


def test_size_and_geometry():
    t = ctorch.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == ctorch.Size([2, 3, 4])
    assert repr(t.shape) == "ctorch.Size([2, 3, 4])"
    assert t.size(1) == 3 and t.size(-1) == 4
    assert t.stride() == (12, 4, 1) and t.stride(0) == 12
    assert t.numel() == 24 and t.dim() == 3 and t.ndim == 3 and len(t) == 2
    assert t.shape.numel() == 24 and isinstance(t.shape[1:], ctorch.Size)
    assert t.element_size() == 4 and t.nbytes == 96
    with pytest.raises(TypeError):
        len(ctorch.tensor(1.0))
    with pytest.raises(IndexError):
        t.size(3)


def test_untrusted_nesting_and_ranges_raise_instead_of_crashing():
    deep = 1
    for _ in range(100000):
        deep = [deep]
    with pytest.raises(ValueError, match="too many dimensions"):
        ctorch.tensor(deep)
    ok = 1
    for _ in range(20):
        ok = [ok]
    assert ctorch.tensor(ok).dim() == 20
    with pytest.raises(RuntimeError, match="arange"):
        ctorch.arange(0, 1e300, 1e-300)


def test_numpy_scalars_keep_their_dtype_like_pytorch():
    torch = pytest.importorskip("torch")
    cases = [np.float64(1.5), np.float32(3), [np.int16(1), np.int16(2)],
             [np.int64(1), np.float32(2)], [1.5, np.float64(2)], [np.bool_(True), np.bool_(False)],
             [[np.uint8(3)], [np.uint8(4)]], [1, 2.5], [True, 2]]
    for data in cases:
        ours, theirs = ctorch.tensor(data), torch.tensor(data)
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1], data
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ctorch.as_tensor(np.float64(2.0)).dtype == ctorch.float64


def test_legacy_tensor_constructor():
    assert ctorch.Tensor(2, 3).shape == (2, 3) and ctorch.Tensor(2, 3).dtype == ctorch.float32
    t = ctorch.Tensor([1, 2])
    assert t.dtype == ctorch.float32 and t.tolist() == [1.0, 2.0]
    assert ctorch.Tensor().shape == (0,)
    with pytest.raises(TypeError):
        ctorch.Tensor(2, "x")
