"""Interop: DLPack both ways (NumPy, torch, ctorch itself) and NumPy conversions (zero-copy)."""
import ctypes
import gc
import sys

import numpy as np
import pytest

import ctorch
from ctorch.utils import dlpack as ct_dlpack
from conftest import ALL_DTYPES, make_tensor, to_np

NP_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
             np.float64]
NP_TO_CT = {np.bool_: ctorch.bool, np.uint8: ctorch.uint8, np.int8: ctorch.int8,
            np.int16: ctorch.int16, np.int32: ctorch.int32, np.int64: ctorch.int64,
            np.float16: ctorch.float16, np.float32: ctorch.float32, np.float64: ctorch.float64}
# (DLPack type code, bits) per dtype, from the DLPack spec.
DL_CODES = {ctorch.bool: (6, 8), ctorch.uint8: (1, 8), ctorch.int8: (0, 8), ctorch.int16: (0, 16),
            ctorch.int32: (0, 32), ctorch.int64: (0, 64), ctorch.float16: (2, 16),
            ctorch.bfloat16: (4, 16), ctorch.float32: (2, 32), ctorch.float64: (2, 64)}


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


class _DLVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class _DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("version", _DLVersion), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p), ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensor)]


_api = ctypes.pythonapi
_api.PyCapsule_GetName.restype = ctypes.c_char_p
_api.PyCapsule_GetName.argtypes = [ctypes.py_object]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def capsule_name(cap):
    return _api.PyCapsule_GetName(cap).decode()


def capsule_struct(cap):
    name = capsule_name(cap)
    ptr = _api.PyCapsule_GetPointer(cap, name.encode())
    cls = _DLManagedTensorVersioned if name.endswith("versioned") else _DLManagedTensor
    return ctypes.cast(ptr, ctypes.POINTER(cls)).contents


def live_bytes():
    gc.collect()
    return ctorch._C._allocator_stats()["allocated_bytes"]


# ---------------------------------------------------------------- DLPack: producer side

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_dlpack_capsule_layout(dtype):
    t = make_tensor((3, 4), dtype).transpose(0, 1)  # non-contiguous
    cap = t.__dlpack__()
    assert capsule_name(cap) == "dltensor"
    m = capsule_struct(cap).dl_tensor
    assert (m.dtype.code, m.dtype.bits, m.dtype.lanes) == DL_CODES[dtype] + (1,)
    assert m.ndim == 2
    assert [m.shape[i] for i in range(2)] == [4, 3]
    assert [m.strides[i] for i in range(2)] == list(t.stride())
    assert m.data + m.byte_offset == t.data_ptr()
    assert (m.device.device_type, m.device.device_id) == (1, 0)


def test_dlpack_versioned_capsule():
    t = ctorch.arange(6, dtype=ctorch.float32)
    cap = t.__dlpack__(max_version=(1, 0))
    assert capsule_name(cap) == "dltensor_versioned"
    m = capsule_struct(cap)
    assert (m.version.major, m.version.minor) == (1, 0)
    assert m.flags == 0
    assert m.dl_tensor.data == t.data_ptr()
    # An old consumer (max_version < 1) gets the legacy capsule.
    assert capsule_name(t.__dlpack__(max_version=(0, 8))) == "dltensor"


def test_dlpack_copy_flag():
    t = ctorch.arange(6, dtype=ctorch.float32)
    cap = t.__dlpack__(max_version=(1, 0), copy=True)
    m = capsule_struct(cap)
    assert m.flags & 2  # IS_COPIED
    assert m.dl_tensor.data != t.data_ptr()
    u = ctorch.from_dlpack(cap)
    u.add_(1)
    np.testing.assert_array_equal(to_np(t), np.arange(6))
    np.testing.assert_array_equal(to_np(u), np.arange(6) + 1)


def test_dlpack_device():
    assert ctorch.zeros(2).__dlpack_device__() == (1, 0)


def test_dlpack_bad_arguments():
    t = ctorch.zeros(2)
    with pytest.raises(TypeError):
        t.__dlpack__(stream="not a stream")
    with pytest.raises(BufferError):
        t.__dlpack__(dl_device=(8, 0))  # Metal
    if not ctorch.cuda.is_available():
        # A CPU tensor asked for on CUDA needs a copy; copy=False forbids it.
        with pytest.raises(BufferError):
            t.__dlpack__(dl_device=(2, 0), copy=False)
    # Same device: no copy needed, so copy=False is fine and memory is shared.
    u = ctorch.from_dlpack(t.__dlpack__(dl_device=(1, 0), copy=False))
    assert u.data_ptr() == t.data_ptr()


def test_unconsumed_capsule_is_freed():
    before = live_bytes()
    t = ctorch.empty(1 << 20, dtype=ctorch.uint8)
    cap = t.__dlpack__()
    cap2 = t.__dlpack__(max_version=(1, 0))
    del t
    assert live_bytes() - before >= 1 << 20  # the capsules keep the memory
    del cap, cap2
    assert live_bytes() - before < 1 << 20


def test_consumed_capsule_renamed_and_single_use():
    t = ctorch.arange(4)
    cap = ct_dlpack.to_dlpack(t)
    u = ct_dlpack.from_dlpack(cap)
    assert capsule_name(cap) == "used_dltensor"
    with pytest.raises(RuntimeError, match="consumed"):
        ctorch.from_dlpack(cap)
    vcap = t.__dlpack__(max_version=(1, 0))
    ctorch.from_dlpack(vcap)
    assert capsule_name(vcap) == "used_dltensor_versioned"
    del cap, vcap  # renamed capsules must not free: u still reads valid memory
    gc.collect()
    np.testing.assert_array_equal(to_np(u), [0, 1, 2, 3])


def test_from_dlpack_copy_and_device_kwargs():
    a = np.arange(4.0)
    t = ctorch.from_dlpack(a, copy=True)
    assert t.data_ptr() != a.ctypes.data
    np.testing.assert_array_equal(to_np(t), a)
    u = ctorch.from_dlpack(a, device="cpu")
    assert u.data_ptr() == a.ctypes.data
    with pytest.raises(ValueError):
        ctorch.from_dlpack(a.__dlpack__(), copy=True)  # a bare capsule can't be asked to copy


def test_from_dlpack_old_producer_without_max_version():
    class OldProducer:  # a DLPack 0.x producer: __dlpack__(stream=None) only
        def __init__(self, t):
            self.t = t

        def __dlpack__(self, stream=None):
            return self.t.__dlpack__()

        def __dlpack_device__(self):
            return self.t.__dlpack_device__()

    t = ctorch.arange(5)
    u = ctorch.from_dlpack(OldProducer(t))
    assert u.data_ptr() == t.data_ptr() and u.tolist() == [0, 1, 2, 3, 4]


def test_from_dlpack_newer_major_version_refused_and_released():
    before = live_bytes()
    t = ctorch.empty(1 << 20, dtype=ctorch.uint8)
    cap = t.__dlpack__(max_version=(1, 0))
    capsule_struct(cap).version.major = 2
    del t
    with pytest.raises(BufferError):
        ctorch.from_dlpack(cap)
    assert capsule_name(cap) == "used_dltensor_versioned"
    assert live_bytes() - before < 1 << 20  # the consumer released it


def test_from_dlpack_bad_dtype_leaves_capsule_to_its_destructor():
    before = live_bytes()
    t = ctorch.empty(1 << 20, dtype=ctorch.uint8)
    cap = t.__dlpack__()
    capsule_struct(cap).dl_tensor.dtype.lanes = 4  # vector types are not supported
    del t
    with pytest.raises(TypeError):
        ctorch.from_dlpack(cap)
    assert capsule_name(cap) == "dltensor"  # not consumed
    assert live_bytes() - before >= 1 << 20
    del cap
    assert live_bytes() - before < 1 << 20


def test_from_dlpack_rejects_non_dlpack():
    with pytest.raises(TypeError):
        ctorch.from_dlpack([1, 2, 3])


# ---------------------------------------------------------------- DLPack: ctorch <-> ctorch

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_dlpack_roundtrip_self(dtype):
    t = make_tensor((2, 3, 4), dtype).permute(2, 0, 1)
    u = ctorch.from_dlpack(t)
    assert u.dtype == dtype and u.shape == t.shape and u.stride() == t.stride()
    assert u.data_ptr() == t.data_ptr()
    np.testing.assert_array_equal(to_np(u), to_np(t))


def test_dlpack_self_keeps_owner_alive():
    before = live_bytes()
    t = ctorch.arange(1 << 18, dtype=ctorch.float32)
    u = ctorch.from_dlpack(t)
    del t
    assert live_bytes() - before >= 1 << 20
    assert u.select(0, (1 << 18) - 1).item() == (1 << 18) - 1
    del u
    assert live_bytes() - before < 1 << 20


def test_dlpack_zero_size_and_0d():
    e = ctorch.zeros(0, 3)
    u = ctorch.from_dlpack(e)
    assert u.shape == (0, 3)
    s = ctorch.tensor(2.5)
    v = ctorch.from_dlpack(s)
    assert v.dim() == 0 and v.item() == 2.5
    assert np.from_dlpack(e).shape == (0, 3)
    assert np.from_dlpack(s).shape == () and np.from_dlpack(s) == 2.5
    assert tuple(ctorch.from_dlpack(np.zeros((2, 0))).shape) == (2, 0)
    torch = pytest.importorskip("torch")
    assert tuple(torch.from_dlpack(e).shape) == (0, 3)
    assert torch.from_dlpack(s).item() == 2.5
    assert tuple(ctorch.from_dlpack(torch.zeros(0, 4)).shape) == (0, 4)
    assert ctorch.from_dlpack(torch.tensor(7)).item() == 7


# ---------------------------------------------------------------- DLPack: NumPy

@pytest.mark.parametrize("npdt", NP_DTYPES, ids=lambda d: np.dtype(d).name)
def test_dlpack_numpy_to_ctorch(npdt):
    a = (np.arange(12).reshape(3, 4) % 2).astype(npdt)
    t = ctorch.from_dlpack(a)
    assert t.dtype == NP_TO_CT[npdt]
    assert t.data_ptr() == a.ctypes.data
    np.testing.assert_array_equal(to_np(t), a)


@pytest.mark.parametrize("dtype", [d for d in ALL_DTYPES if d != ctorch.bfloat16], ids=str)
def test_dlpack_ctorch_to_numpy(dtype):
    t = make_tensor((3, 5), dtype).transpose(0, 1)
    a = np.from_dlpack(t)
    assert a.ctypes.data == t.data_ptr()
    assert a.strides == tuple(s * t.element_size() for s in t.stride())
    np.testing.assert_array_equal(a, to_np(t))


def test_dlpack_numpy_shares_memory_both_ways():
    a = np.zeros((2, 3), dtype=np.float32)
    t = ctorch.from_dlpack(a)
    a[1, 2] = 7
    assert t.select(0, 1).select(0, 2).item() == 7
    t.fill_(3)
    assert (a == 3).all()

    t = ctorch.zeros(4, dtype=ctorch.int32)
    b = np.from_dlpack(t)
    b[0] = 5
    assert t.select(0, 0).item() == 5
    t.add_(1)
    np.testing.assert_array_equal(b, [6, 1, 1, 1])


def test_dlpack_numpy_keeps_owner_alive():
    a = np.arange(100000, dtype=np.float64)
    ref = sys.getrefcount(a)
    t = ctorch.from_dlpack(a)
    assert sys.getrefcount(a) > ref  # the capsule's deleter holds the array
    del a
    gc.collect()
    assert t.select(0, 99999).item() == 99999.0
    t2 = ctorch.arange(100000, dtype=ctorch.float64)
    b = np.from_dlpack(t2)
    del t2
    gc.collect()
    assert b[-1] == 99999.0
    before = live_bytes()
    del b
    assert before - live_bytes() >= 800000  # the last user released ctorch's memory


def test_dlpack_numpy_noncontiguous_and_offset():
    a = np.arange(60, dtype=np.int64).reshape(3, 4, 5)[1:, ::2, 1::2]
    t = ctorch.from_dlpack(a)
    assert t.data_ptr() == a.ctypes.data
    np.testing.assert_array_equal(to_np(t), a)


def test_dlpack_numpy_negative_strides_rejected():
    a = np.arange(5.0)[::-1]
    with pytest.raises(ValueError, match="negative"):
        ctorch.from_dlpack(a)
    np.testing.assert_array_equal(a, [4, 3, 2, 1, 0])  # the refused capsule released cleanly


def test_dlpack_unsupported_dtype_raises():
    with pytest.raises(TypeError):
        ctorch.from_dlpack(np.arange(3, dtype=np.uint16))
    with pytest.raises(TypeError):
        ctorch.from_dlpack(np.arange(3, dtype=np.complex64))


def test_dlpack_numpy_bool():
    a = np.array([True, False, True])
    t = ctorch.from_dlpack(a)
    assert t.dtype == ctorch.bool
    np.testing.assert_array_equal(np.from_dlpack(ctorch.tensor([True, False])), [True, False])


# ---------------------------------------------------------------- DLPack: torch

@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_dlpack_torch_both_ways(dtype):
    torch = pytest.importorskip("torch")
    tdt = getattr(torch, str(dtype).split(".")[1])
    t = make_tensor((4, 6), dtype).narrow(1, 1, 4)
    x = torch.from_dlpack(t)
    assert x.dtype == tdt and tuple(x.shape) == tuple(t.shape) and x.stride() == t.stride()
    assert x.data_ptr() == t.data_ptr()
    assert (x.float() == torch.tensor(to_np(t)).float()).all()

    y = torch.arange(24).reshape(4, 6).to(tdt).t()
    u = ctorch.from_dlpack(y)
    assert u.dtype == dtype and u.stride() == y.stride() and u.data_ptr() == y.data_ptr()
    np.testing.assert_array_equal(to_np(u), y.float().numpy().astype(to_np(u).dtype))
    # Legacy capsules from torch.utils.dlpack too.
    v = ctorch.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(y))
    assert v.data_ptr() == y.data_ptr()
    w = torch.utils.dlpack.from_dlpack(ct_dlpack.to_dlpack(t))
    assert w.data_ptr() == t.data_ptr()


def test_dlpack_torch_shares_memory_and_lifetime():
    torch = pytest.importorskip("torch")
    x = torch.zeros(5)
    t = ctorch.from_dlpack(x)
    x[2] = 4
    assert t.select(0, 2).item() == 4
    t.fill_(9)
    assert (x == 9).all()
    del x
    gc.collect()
    np.testing.assert_array_equal(to_np(t), [9.0] * 5)

    t = ctorch.arange(1 << 18, dtype=ctorch.float32)
    y = torch.from_dlpack(t)
    y[0] = -1
    assert t.select(0, 0).item() == -1
    before = live_bytes()
    del t
    gc.collect()
    assert live_bytes() == before  # torch still holds it
    assert y[-1].item() == (1 << 18) - 1
    del y
    assert before - live_bytes() >= 1 << 20


def test_dlpack_torch_bfloat16_values():
    torch = pytest.importorskip("torch")
    y = torch.tensor([1.5, -2.25, 3.0e3], dtype=torch.bfloat16)
    u = ctorch.from_dlpack(y)
    assert u.dtype == ctorch.bfloat16
    assert u.tolist() == y.tolist()
    assert torch.equal(torch.from_dlpack(u), y)


# ---------------------------------------------------------------- NumPy interop

@pytest.mark.parametrize("npdt", NP_DTYPES, ids=lambda d: np.dtype(d).name)
def test_from_numpy_zero_copy(npdt):
    a = (np.arange(6).reshape(2, 3) % 2).astype(npdt)
    t = ctorch.from_numpy(a)
    assert t.dtype == NP_TO_CT[npdt] and t.shape == (2, 3)
    assert t.data_ptr() == a.ctypes.data
    np.testing.assert_array_equal(to_np(t), a)


def test_from_numpy_shares_memory_both_ways():
    a = np.zeros((2, 2), dtype=np.float64)
    t = ctorch.from_numpy(a)
    t.fill_(2)
    assert (a == 2).all()
    a[0, 0] = -1
    assert t.select(0, 0).select(0, 0).item() == -1


def test_from_numpy_keeps_array_alive():
    a = np.arange(1000, dtype=np.int32)
    t = ctorch.from_numpy(a)
    del a
    gc.collect()
    assert t.select(0, 999).item() == 999


def test_from_numpy_noncontiguous():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[::2, 1::3]
    t = ctorch.from_numpy(a)
    assert t.stride() == (12, 3) and not t.is_contiguous()
    np.testing.assert_array_equal(to_np(t), a)
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    tf = ctorch.from_numpy(f)
    assert tf.stride() == (1, 2)
    np.testing.assert_array_equal(to_np(tf), f)


def test_from_numpy_negative_strides():
    with pytest.raises(ValueError, match="negative"):
        ctorch.from_numpy(np.arange(4)[::-1])
    # tensor() copies, so a reversed array is fine there.
    np.testing.assert_array_equal(to_np(ctorch.tensor(np.arange(4)[::-1])), [3, 2, 1, 0])


def test_from_numpy_unsupported_dtypes():
    for arr in (np.arange(3, dtype=np.uint16), np.arange(3, dtype=np.uint32),
                np.arange(3, dtype=np.complex128), np.array(["a", "b"]),
                np.array([object(), 1], dtype=object)):
        with pytest.raises(TypeError):
            ctorch.from_numpy(arr)
    with pytest.raises(TypeError):
        ctorch.from_numpy([1, 2])


def test_numpy_method_shares_memory():
    t = ctorch.zeros(3, 4)
    a = t.numpy()
    assert a.ctypes.data == t.data_ptr() and a.dtype == np.float32
    a[1, 1] = 5
    assert t.select(0, 1).select(0, 1).item() == 5
    t.add_(1)
    assert a[0, 0] == 1
    v = t.transpose(0, 1).numpy()
    assert v.strides == (4, 16)
    del t
    gc.collect()
    assert a[1, 1] == 6  # the array keeps the storage


def test_numpy_method_bfloat16_raises():
    with pytest.raises(TypeError):
        ctorch.zeros(2, dtype=ctorch.bfloat16).numpy()


def test_array_protocol():
    t = ctorch.arange(6).reshape(2, 3)
    a = np.asarray(t)
    np.testing.assert_array_equal(a, np.arange(6).reshape(2, 3))
    assert a.dtype == np.int64
    np.testing.assert_array_equal(np.asarray(t, dtype=np.float32), np.arange(6).reshape(2, 3))
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    b = np.array(ctorch.tensor([1.5, 2.5], dtype=ctorch.bfloat16))
    np.testing.assert_array_equal(b, [1.5, 2.5])
    # NumPy ufuncs see the values.
    assert np.sum(ctorch.ones(4)) == 4.0


def test_tensor_from_numpy_copies():
    a = np.arange(4, dtype=np.int32)
    t = ctorch.tensor(a)
    assert t.dtype == ctorch.int32 and t.data_ptr() != a.ctypes.data
    a[0] = 100
    assert t.select(0, 0).item() == 0
    assert ctorch.tensor(a, dtype=ctorch.float64).dtype == ctorch.float64
    assert ctorch.tensor(np.float32(2.5)).dtype == ctorch.float32
    nc = np.arange(20.0).reshape(4, 5)[:, ::2]
    np.testing.assert_array_equal(to_np(ctorch.tensor(nc)), nc)


def test_as_tensor_shares_numpy_memory():
    a = np.arange(3, dtype=np.float32)
    t = ctorch.as_tensor(a)
    assert t.data_ptr() == a.ctypes.data
    u = ctorch.as_tensor(a, dtype=ctorch.float64)
    assert u.data_ptr() != a.ctypes.data
