"""ctorch.cuda and the CUDA side of the Python API: the runtime (devices, properties, streams,
events, context managers), the caching allocator's statistics, out-of-memory recovery, pinned
memory and non_blocking copies, Tensor/Module conversions, save/load with map_location and
DataLoader(pin_memory=True). GPU tests skip without a device; the CPU-only behaviour (PyTorch's
errors and no-ops when CUDA is unavailable) is checked where no GPU is present."""
import io
import subprocess
import sys
import warnings

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
from ctorch.utils.data import DataLoader, Dataset, TensorDataset

HAS_CUDA = ctorch.cuda.is_available()
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device")
needs_two_gpus = pytest.mark.skipif(ctorch.cuda.device_count() < 2, reason="fewer than 2 CUDA devices")
cpu_only = pytest.mark.skipif(HAS_CUDA, reason="a CUDA device is present")
MiB = 1 << 20


# ---------------------------------------------------------------- everywhere

def test_availability_is_consistent():
    n = ctorch.cuda.device_count()
    assert n >= 0
    assert ctorch.cuda.is_available() == (n > 0)
    if not ctorch.cuda.is_built():
        assert n == 0


def test_every_declared_cuda_kernel_is_registered():
    """A CUDA build fills in every kernel entry src/ops calls (checked at load time, no GPU needed);
    a build without CUDA fills in none."""
    kernels = ctorch._C._cuda_kernels()
    assert len(kernels) >= 60  # one per family function: elementwise, reduce, index, nn, ...
    if ctorch.cuda.is_built():
        assert [name for name, ok in kernels.items() if not ok] == []
    else:
        assert not any(kernels.values())


def test_import_touches_no_driver():
    # Lazy like torch.cuda: importing ctorch initializes nothing.
    code = "import ctorch; assert not ctorch.cuda.is_initialized(); print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_out_of_memory_error_is_a_runtime_error():
    assert ctorch.cuda.OutOfMemoryError is ctorch.OutOfMemoryError
    assert issubclass(ctorch.OutOfMemoryError, RuntimeError)


def test_cpu_tensor_device_queries():
    t = ctorch.ones(2)
    assert t.get_device() == -1 and not t.is_cuda and not t.is_pinned()
    assert t.cpu() is t and t.to("cpu") is t


def test_to_call_forms():
    t = ctorch.arange(6, dtype=ctorch.float32).reshape(2, 3)
    assert t.to(ctorch.float64).dtype == ctorch.float64
    assert t.to(ctorch.float64, True).dtype == ctorch.float64  # (dtype, non_blocking)
    assert t.to("cpu", ctorch.float16, False, True).dtype == ctorch.float16  # (device, dtype, non_blocking, copy)
    assert t.to(ctorch.device("cpu")) is t and t.to(None) is t and t.to(device=None, dtype=None) is t
    assert t.to(copy=True) is not t and t.to("cpu", copy=True).tolist() == t.tolist()
    other = ctorch.zeros(1, dtype=ctorch.int64)
    assert t.to(other).dtype == ctorch.int64 and t.to(other, True, True).dtype == ctorch.int64
    assert t.to(dtype=ctorch.float64, non_blocking=True, memory_format=None).dtype == ctorch.float64
    for bad in [("cpu", "cpu"), (ctorch.float64, ctorch.float32), (1.5,), (ctorch.float64, 1)]:
        with pytest.raises(TypeError):
            t.to(*bad)
    with pytest.raises(TypeError):
        t.to(ctorch.float64, dtype=ctorch.float32, bogus=1)
    with pytest.raises(RuntimeError, match="must be cuda device"):
        t.cuda("cpu")


def test_module_to_call_forms():
    m = nn.Linear(2, 3)
    assert m.to(ctorch.float64) is m and m.weight.dtype == ctorch.float64
    m.to("cpu", ctorch.float32, True)
    assert m.weight.dtype == ctorch.float32
    m.to(tensor=ctorch.zeros(1, dtype=ctorch.float64))
    assert m.weight.dtype == ctorch.float64
    with pytest.raises(TypeError, match="floating point"):
        m.to(ctorch.int64)
    assert m.cpu() is m


def test_device_argument_errors():
    with pytest.raises(ValueError, match="Expected a cuda device"):
        ctorch.cuda.device("cpu")
    with pytest.raises(ValueError, match="Expected a cuda device"):
        ctorch.cuda.set_device(ctorch.device("cpu"))
    # None, "cuda" and negative indices mean "stay on the current device": no-ops, no driver needed
    for d in (None, -1):
        with ctorch.cuda.device(d):
            pass
    with ctorch.cuda.device_of(ctorch.ones(1)):
        pass
    ctorch.cuda.set_device(-1)
    with ctorch.cuda.stream(None):
        pass
    ctorch.cuda.set_stream(None)


def test_unrecorded_event_is_complete():
    e = ctorch.cuda.Event()
    assert e.query() and e.cuda_event == 0
    e.synchronize()  # nothing to wait for


# ---------------------------------------------------------------- without a GPU (PyTorch's behaviour)

@cpu_only
def test_cpu_only_queries():
    c = ctorch.cuda
    assert not c.is_available() and c.device_count() == 0 and not c.is_initialized()
    assert c.memory_allocated() == 0 and c.max_memory_allocated() == 0
    assert c.memory_reserved() == 0 and c.max_memory_reserved() == 0
    assert dict(c.memory_stats()) == {}
    assert c.is_bf16_supported() is False
    c.empty_cache()  # a no-op, as in PyTorch


@cpu_only
@pytest.mark.parametrize("call", [
    lambda c: c.current_device(), lambda c: c.set_device(0), lambda c: c.synchronize(),
    lambda c: c.get_device_name(), lambda c: c.get_device_capability(0), lambda c: c.get_device_properties(0),
    lambda c: c.current_stream(), lambda c: c.default_stream(), lambda c: c.Stream(),
    lambda c: c.memory_summary(), lambda c: c.reset_peak_memory_stats(), lambda c: c.init(),
    lambda c: c.device(0).__enter__(), lambda c: c.Event().record(),
    lambda c: ctorch.ones(2).cuda(), lambda c: ctorch.ones(2).to("cuda"),
    lambda c: ctorch.zeros(2, device="cuda"), lambda c: nn.Linear(2, 2).cuda(),
])
def test_cpu_only_errors_are_runtime_errors(call):
    expected = RuntimeError if ctorch.cuda.is_built() else AssertionError
    with pytest.raises(expected):
        call(ctorch.cuda)
    assert not ctorch.cuda.is_initialized()


@cpu_only
def test_cpu_only_pin_memory_is_a_runtime_error():
    with pytest.raises(RuntimeError):  # also in a build without CUDA, as PyTorch
        ctorch.ones(2).pin_memory()


@cpu_only
def test_cpu_only_pin_memory_dataloader_warns_and_does_not_pin():
    dl = DataLoader(TensorDataset(ctorch.arange(8.0).reshape(4, 2)), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator"):
        batches = list(dl)
    assert len(batches) == 2 and not any(b[0].is_pinned() for b in batches)


@cpu_only
def test_cpu_only_load_of_cuda_locations_needs_map_location():
    from ctorch.serialization import _check_device
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        _check_device("cuda:0")
    assert _check_device("cpu") == "cpu"


# ---------------------------------------------------------------- devices and properties (GPU)

@needs_gpu
def test_device_queries_and_properties():
    c = ctorch.cuda
    c.init()
    assert c.is_initialized()
    assert c.current_device() == 0
    c.set_device(0)
    c.set_device("cuda:0")
    c.set_device(ctorch.device("cuda", 0))
    p = c.get_device_properties(0)
    assert p is c.get_device_properties()  # the current device by default, cached
    assert isinstance(p.name, str) and p.name and p.name == c.get_device_name() == c.get_device_name(0)
    assert p.total_memory > 0 and p.multi_processor_count > 0 and p.warp_size == 32 and p.L2_cache_size >= 0
    assert c.get_device_capability() == (p.major, p.minor) and p.major >= 1
    assert repr(p).startswith(f"_CudaDeviceProperties(name='{p.name}', major={p.major}, minor={p.minor}, ")
    assert "total_memory=" in repr(p) and "MB" in repr(p) and "multi_processor_count=" in repr(p)
    assert c.is_bf16_supported() == (p.major >= 8)
    with pytest.raises(AssertionError, match="Invalid device id"):
        c.get_device_properties(c.device_count())
    with pytest.raises(RuntimeError):
        c.set_device(c.device_count())
    for call in (c.current_stream, c.default_stream, c.Stream, c.memory_allocated, c.synchronize):
        with pytest.raises(RuntimeError, match="invalid device ordinal"):
            call(c.device_count())
    c.synchronize()
    c.synchronize(0)
    c.synchronize("cuda:0")


@needs_gpu
def test_device_context_managers():
    c = ctorch.cuda
    for spec in (0, "cuda:0", ctorch.device("cuda:0"), "cuda", None):
        with c.device(spec):
            assert c.current_device() == 0
        assert c.current_device() == 0
    g = ctorch.ones(2).cuda()
    with c.device_of(g):
        assert c.current_device() == 0


@needs_two_gpus
def test_device_context_switches_and_restores():
    c = ctorch.cuda
    assert c.current_device() == 0
    with c.device(1):
        assert c.current_device() == 1
        t = ctorch.ones(3).cuda()
        assert t.device == ctorch.device("cuda:1") and t.get_device() == 1
        with c.device_of(ctorch.ones(1).cuda(0)):
            assert c.current_device() == 0
        assert c.current_device() == 1
    assert c.current_device() == 0
    s1 = c.Stream(device=1)
    assert s1.device == ctorch.device("cuda:1")
    with c.stream(s1):  # a stream on another device switches the device too
        assert c.current_device() == 1 and c.current_stream() == s1
    assert c.current_device() == 0 and c.current_stream(1) == c.default_stream(1)
    x = ctorch.arange(5.0).cuda(1)
    assert x.to("cuda:0").device == ctorch.device("cuda:0") and x.cuda(0).cpu().tolist() == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- streams and events (GPU)

@needs_gpu
def test_streams():
    c = ctorch.cuda
    default = c.default_stream()
    assert default.cuda_stream == 0 and c.current_stream() == default
    assert c.current_stream(0) == c.current_stream("cuda:0") == default
    s = c.Stream()
    assert s != default and isinstance(s.cuda_stream, int) and s.cuda_stream != 0
    assert s.device == ctorch.device("cuda:0") and s.device_index == 0
    assert s == c.Stream._wrap(0, s.cuda_stream) and hash(s) == hash(c.Stream._wrap(0, s.cuda_stream))
    assert "ctorch.cuda.Stream" in repr(s)
    high = c.Stream(priority=-1)
    assert high.priority == -1
    with c.stream(s) as entered:
        assert entered is s and c.current_stream() == s
        x = ctorch.arange(1 << 16, dtype=ctorch.float32).cuda()  # copied on s
    assert c.current_stream() == default
    with s:
        assert c.current_stream() == s
        with high:
            assert c.current_stream() == high
        assert c.current_stream() == s
    assert c.current_stream() == default
    s.synchronize()
    assert s.query()
    default.wait_stream(s)  # later work on the default stream waits for s
    assert x.cpu()[-1].item() == (1 << 16) - 1
    c.set_stream(s)
    try:
        assert c.current_stream() == s
    finally:
        c.set_stream(default)
    assert c.current_stream() == default


@needs_gpu
def test_stream_handles_are_reused_not_leaked():
    c = ctorch.cuda
    s = c.Stream()
    handle = s.cuda_stream
    del s
    assert c.Stream().cuda_stream == handle  # back from the pool


@needs_gpu
def test_events_and_timing():
    c = ctorch.cuda
    start, end = c.Event(enable_timing=True), c.Event(enable_timing=True)
    assert start.cuda_event == 0  # created on first record
    start.record()
    x = ctorch.ones(1 << 22).cuda()  # 16 MiB each way
    for _ in range(3):
        x = x.cpu().cuda()
    end.record()
    end.synchronize()
    assert start.query() and end.query()
    ms = start.elapsed_time(end)
    assert isinstance(ms, float) and ms >= 0
    s = c.Stream()
    e = s.record_event()
    assert isinstance(e, c.Event)
    e.wait()  # the current stream waits for s's work so far
    c.current_stream().wait_event(e)
    e2 = c.Event(blocking=True)
    e2.record(s)
    e2.synchronize()
    assert e2.query() and "ctorch.cuda.Event" in repr(e2)
    plain = c.Event()
    plain.record()
    with pytest.raises(RuntimeError, match="enable_timing"):
        plain.elapsed_time(end)
    with pytest.raises(RuntimeError, match="recorded"):
        c.Event(enable_timing=True).elapsed_time(end)
    with pytest.raises(NotImplementedError):
        c.Event(interprocess=True)


# ---------------------------------------------------------------- the caching allocator (GPU)

@needs_gpu
def test_allocator_statistics():
    c = ctorch.cuda
    c.synchronize()
    c.empty_cache()
    base = c.memory_allocated()
    stats = c.memory_stats()
    for key in ("allocated_bytes.all.current", "allocated_bytes.all.peak", "reserved_bytes.all.current",
                "reserved_bytes.all.peak", "allocation.all.current", "allocation.all.allocated",
                "allocation.all.freed", "segment.all.current", "num_alloc_retries", "num_ooms"):
        assert key in stats and isinstance(stats[key], int), key
    assert list(stats) == sorted(stats)
    x = ctorch.empty(MiB, dtype=ctorch.float32, device="cuda")  # 4 MiB
    assert c.memory_allocated() == base + 4 * MiB
    assert c.memory_allocated(0) == c.memory_allocated("cuda:0") == c.memory_allocated(ctorch.device("cuda"))
    assert c.memory_reserved() >= c.memory_allocated()
    assert c.max_memory_allocated() >= base + 4 * MiB
    assert c.memory_stats()["allocation.all.current"] >= 1
    reserved, segments = c.memory_reserved(), c.memory_stats()["segment.all.current"]
    del x  # back to the cache, not to the driver
    assert c.memory_allocated() == base
    assert c.memory_reserved() == reserved
    y = ctorch.empty(MiB, dtype=ctorch.float32, device="cuda")  # served from the cache
    assert c.memory_reserved() == reserved and c.memory_stats()["segment.all.current"] == segments
    del y
    small = [ctorch.empty(100, device="cuda") for _ in range(10)]  # rounded up to 512-byte blocks
    assert c.memory_allocated() == base + 10 * 512
    del small
    peak = c.max_memory_allocated()
    assert peak >= base + 4 * MiB
    c.reset_peak_memory_stats()
    assert c.max_memory_allocated() == c.memory_allocated() == base
    assert c.max_memory_reserved() == c.memory_reserved()
    with pytest.warns(FutureWarning):
        c.reset_max_memory_allocated()
    c.empty_cache()
    assert c.memory_reserved() <= reserved
    text = c.memory_summary()
    assert isinstance(text, str) and "CUDA device 0" in text and "allocated now" in text
    assert "reserved now" in c.memory_summary(0, abbreviated=True)


@needs_gpu
def test_out_of_memory_then_still_usable():
    c = ctorch.cuda
    ooms = c.memory_stats()["num_ooms"]
    with pytest.raises(ctorch.cuda.OutOfMemoryError, match="out of memory") as info:
        ctorch.empty(1 << 50, dtype=ctorch.uint8, device="cuda")  # 1 PiB
    assert isinstance(info.value, RuntimeError)
    assert c.memory_stats()["num_ooms"] == ooms + 1
    # The process stays usable: allocations and copies work, statistics are consistent.
    x = ctorch.arange(1000, dtype=ctorch.float64).cuda()
    assert x.cpu().sum().item() == 999 * 1000 / 2
    assert c.memory_allocated() >= 8000
    c.synchronize()


# ---------------------------------------------------------------- pinned memory and non_blocking copies

@needs_gpu
def test_pinned_memory_and_non_blocking_copies():
    c = ctorch.cuda
    x = ctorch.arange(1 << 20, dtype=ctorch.float32)
    assert not x.is_pinned()
    p = x.pin_memory()
    assert p.is_pinned() and p is not x and p.tolist()[:3] == [0.0, 1.0, 2.0]
    assert p.pin_memory().is_pinned()
    s = c.Stream()
    with c.stream(s):
        g = p.to("cuda", non_blocking=True)
        done = c.Event()
        done.record()
    done.synchronize()
    assert g.is_cuda and g.cpu()[-1].item() == (1 << 20) - 1
    h = g.to("cpu", non_blocking=True)
    c.current_stream().synchronize()
    np.testing.assert_array_equal(h.numpy(), x.numpy())
    back = g.cuda(non_blocking=True).cpu()
    assert back.tolist()[:4] == [0.0, 1.0, 2.0, 3.0]


# ---------------------------------------------------------------- tensors, modules, optimizers

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
    dst.copy_(ctorch.ones(3, 4), non_blocking=True)
    assert dst.cpu().tolist() == [[1.0] * 4] * 3


@needs_gpu
def test_tensor_surface_on_cuda():
    t = ctorch.tensor([[1.5, -2.0], [3.0, 4.25]])
    g = t.cuda()
    assert g.is_cuda and g.device == ctorch.device("cuda:0") and str(g.device) == "cuda:0"
    assert g.get_device() == 0 and g.cuda() is g and g.to("cuda") is g and g.to(g) is g
    assert g.cuda(0) is g and g.cuda("cuda:0") is g and g.cuda(ctorch.device("cuda", 0)) is g
    assert "device='cuda:0'" in repr(g)
    assert g.tolist() == t.tolist() and g[1, 1].item() == 4.25 and float(g[0, 0]) == 1.5
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy\. Use Tensor\.cpu\(\)"):
        g.numpy()
    np.testing.assert_array_equal(g.numpy(force=True), t.numpy())
    with pytest.raises(TypeError, match="can't convert cuda:0"):
        np.asarray(g)  # as in PyTorch: __array__ is numpy()
    d = t.to("cuda", ctorch.float64)
    assert d.is_cuda and d.dtype == ctorch.float64
    assert t.to(d).device == d.device and t.to(d).dtype == ctorch.float64
    assert g.cpu().device == ctorch.device("cpu") and g.cpu().tolist() == t.tolist()
    assert g.to(ctorch.device("cpu"), ctorch.float64).dtype == ctorch.float64
    with pytest.raises(RuntimeError, match="same device|cuda"):
        ctorch.ones(2) + ctorch.ones(2).cuda()


@needs_gpu
def test_module_cuda_moves_parameters_buffers_and_grads():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    for p in m.parameters():
        p.grad = ctorch.ones_like(p)
    weight = m[0].weight
    assert m.cuda() is m
    assert m[0].weight is weight  # parameters keep their identity
    for p in m.parameters():
        assert p.is_cuda and p.grad.is_cuda and p.requires_grad
    for b in m.buffers():
        assert b.is_cuda
    assert m[0].weight.grad.cpu().tolist() == [[1.0] * 3] * 4
    m.cpu()
    assert all(not p.is_cuda and not p.grad.is_cuda for p in m.parameters())
    assert all(not b.is_cuda for b in m.buffers())
    m.to("cuda", ctorch.float64)
    assert m[0].weight.is_cuda and m[0].weight.dtype == ctorch.float64
    assert m[1].num_batches_tracked.dtype == ctorch.int64  # only floating tensors change dtype
    m.to(ctorch.device("cpu"))
    m.cuda(0)
    assert m[0].bias.device == ctorch.device("cuda:0")
    m.to(ctorch.zeros(1, dtype=ctorch.float32))  # to(tensor): its device and dtype
    assert not m[0].weight.is_cuda and m[0].weight.dtype == ctorch.float32


@needs_gpu
def test_optimizer_state_follows_the_params():
    params = [ctorch.tensor([1.0, 2.0], requires_grad=True)]
    opt = ctorch.optim.Adam(params, lr=0.1)
    params[0].grad = ctorch.tensor([0.5, -0.5])
    opt.step()
    cuda_params = [params[0].detach().cuda().requires_grad_()]
    opt2 = ctorch.optim.Adam(cuda_params, lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    st = opt2.state[cuda_params[0]]
    assert st["exp_avg"].is_cuda and st["exp_avg_sq"].is_cuda and not st["step"].is_cuda


# ---------------------------------------------------------------- save / load

def _roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    ctorch.save(obj, buf)
    buf.seek(0)
    return ctorch.load(buf, **load_kwargs)


@needs_gpu
def test_save_load_cuda_tensors_and_map_location():
    t = ctorch.arange(12, dtype=ctorch.float32).reshape(3, 4)
    obj = {"w": t.cuda(), "b": ctorch.tensor([1, 2]).cuda(), "cpu": t}
    out = _roundtrip(obj)
    assert out["w"].device == ctorch.device("cuda:0") and out["b"].is_cuda and not out["cpu"].is_cuda
    assert out["w"].cpu().tolist() == t.tolist() and out["b"].cpu().tolist() == [1, 2]
    for ml in ("cpu", ctorch.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage.cpu()):
        moved = _roundtrip(obj, map_location=ml)
        assert not moved["w"].is_cuda and moved["w"].tolist() == t.tolist(), ml
    seen = []
    kept = _roundtrip(obj, map_location=lambda storage, loc: seen.append(loc))  # None: the default
    assert "cuda:0" in seen and "cpu" in seen and kept["w"].is_cuda
    up = _roundtrip({"cpu": t}, map_location="cuda")
    assert up["cpu"].is_cuda and up["cpu"].cpu().tolist() == t.tolist()
    up = _roundtrip({"cpu": t}, map_location=lambda storage, loc: storage.cuda())
    assert up["cpu"].is_cuda
    # Views of one GPU storage stay views of one storage after loading (moved or not).
    base = t.cuda()
    for ml in (None, "cpu"):
        views = _roundtrip({"a": base, "row": base[1], "col": base[:, 2]}, map_location=ml)
        assert views["row"]._storage_id() == views["a"]._storage_id() == views["col"]._storage_id()
        assert views["col"].stride() == (4,) and views["row"].storage_offset() == 4
        assert views["col"].cpu().tolist() == [2.0, 6.0, 10.0]
    m = nn.Linear(4, 2).cuda()
    sd = _roundtrip(m.state_dict(), map_location="cpu")
    assert not sd["weight"].is_cuda
    m2 = nn.Linear(4, 2).cuda()
    m2.load_state_dict(sd)  # copies onto the GPU parameters
    assert m2.weight.is_cuda and m2.weight.cpu().tolist() == m.weight.cpu().tolist()


# ---------------------------------------------------------------- the example

@needs_gpu
def test_train_digits_on_the_gpu():
    import os
    script = os.path.join(os.path.dirname(__file__), "..", "examples", "train_digits.py")
    pytest.importorskip("sklearn")
    out = subprocess.run([sys.executable, script, "--device", "cuda", "--epochs", "3"], check=True,
                         capture_output=True, text=True, timeout=600).stdout
    assert "(cuda)" in out
    last_epoch = [line for line in out.splitlines() if line.startswith("epoch")][-1]
    assert float(last_epoch.split("test accuracy")[1].split("%")[0]) >= 95.0, out
    assert "fresh process reproduces the test accuracy: yes" in out, out


# ---------------------------------------------------------------- DataLoader(pin_memory=True)

class _Nested(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"x": ctorch.full((2,), float(i)), "pair": (ctorch.tensor(i), [ctorch.ones(1) * i]), "name": f"s{i}"}


@needs_gpu
def test_dataloader_pins_every_tensor_of_nested_batches():
    dl = DataLoader(_Nested(), batch_size=3, pin_memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no accelerator" warning with a GPU
        batches = list(dl)
    assert len(batches) == 2
    for b in batches:
        assert b["x"].is_pinned() and b["pair"][0].is_pinned() and b["pair"][1][0].is_pinned()
        assert b["name"] == ["s0", "s1", "s2"] or b["name"] == ["s3", "s4", "s5"]
    assert batches[1]["x"].tolist() == [[3.0, 3.0], [4.0, 4.0], [5.0, 5.0]]
    g = batches[0]["x"].to("cuda", non_blocking=True)
    ctorch.cuda.synchronize()
    assert g.cpu().tolist() == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]


def test_pin_memory_helper_keeps_structure():
    # The structure walk itself, with a stand-in for pinning (works without a GPU).
    import collections
    from ctorch.utils.data._utils import pin_memory as pm

    class Pinnable:
        def pin_memory(self):
            return "pinned"

    Point = collections.namedtuple("Point", "a b")
    data = {"p": Point(Pinnable(), "s"), "l": [Pinnable(), 3], "t": (Pinnable(),), "r": range(2), "b": b"x"}
    out = pm.pin_memory(data)
    assert out == {"p": Point("pinned", "s"), "l": ["pinned", 3], "t": ("pinned",), "r": [0, 1], "b": b"x"}
    assert type(out["p"]) is Point


@needs_gpu
def test_checkpoint_replays_the_gpu_dropout_mask():
    from ctorch.utils.checkpoint import checkpoint
    x = ctorch.randn(64, 64, device="cuda", requires_grad=True)

    def f(t):
        return ctorch.nn.functional.dropout(t, 0.5, training=True) * 2

    for reentrant in (True, False):
        x.grad = None
        y = checkpoint(f, x, use_reentrant=reentrant)
        y.sum().backward()
        # the recompute must draw the forward's mask: the gradient is 4 where y kept x, else 0
        expected = (y != 0).float() * 4
        assert ctorch.equal(x.grad, expected)
