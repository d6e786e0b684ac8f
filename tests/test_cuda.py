"""CUDA plumbing: availability tells the truth; host<->device copies round-trip (GPU only)."""
import numpy as np
import pytest

import ctorch

needs_gpu = pytest.mark.skipif(not ctorch.cuda.is_available(), reason="no CUDA device")


def test_availability_is_consistent():
    n = ctorch.cuda.device_count()
    assert n >= 0
    assert ctorch.cuda.is_available() == (n > 0)
    if not ctorch.cuda.is_built():
        assert n == 0


@pytest.mark.skipif(ctorch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_tensor_without_device_raises():
    with pytest.raises(RuntimeError):
        ctorch.zeros(2, device="cuda")


@needs_gpu
def test_round_trip_copies_every_dtype():
    for dt in [ctorch.bool, ctorch.uint8, ctorch.int32, ctorch.int64, ctorch.float16,
               ctorch.bfloat16, ctorch.float32, ctorch.float64]:
        x = ctorch.arange(24).reshape(4, 6).to(dt)
        g = x.cuda()
        assert g.is_cuda and g.device == ctorch.device("cuda:0") and g.dtype == dt
        back = g.cpu()
        assert back.device == ctorch.device("cpu")
        assert back.float().tolist() == x.float().tolist()


@needs_gpu
def test_non_contiguous_and_broadcast_copies():
    x = ctorch.arange(12, dtype=ctorch.float32).reshape(3, 4)
    g = x.t().to("cuda")
    np.testing.assert_array_equal(g.cpu().numpy(), x.numpy().T)
    dst = ctorch.zeros(3, 4, device="cuda")
    dst.copy_(ctorch.arange(4, dtype=ctorch.float32))
    np.testing.assert_array_equal(dst.cpu().numpy(), np.tile(np.arange(4, dtype=np.float32), (3, 1)))


@needs_gpu
def test_ops_on_cuda_tensors_raise_clearly_until_kernels_land():
    g = ctorch.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        g + g
