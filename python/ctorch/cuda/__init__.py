"""ctorch.cuda: devices, streams, events and the caching allocator's statistics, as torch.cuda.

Lazy like PyTorch: importing this module touches no driver; the first call that needs a GPU checks
that one is there (AssertionError when ctorch was built without CUDA, RuntimeError when no driver or
device is present) and only then talks to the runtime.
"""
import collections
import warnings

from ctorch import _C
from ctorch._tensor import device as _torch_device

__all__ = [
    "is_available", "is_built", "device_count", "is_initialized", "init", "current_device",
    "set_device", "device", "device_of", "get_device_name", "get_device_capability",
    "get_device_properties", "synchronize", "Stream", "Event", "StreamContext", "current_stream",
    "default_stream", "stream", "set_stream", "memory_allocated", "max_memory_allocated",
    "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats", "reset_max_memory_allocated",
    "reset_max_memory_cached", "memory_stats", "memory_summary", "empty_cache", "OutOfMemoryError",
    "is_bf16_supported",
]

OutOfMemoryError = _C.OutOfMemoryError

_initialized = False


def is_built():
    """True when ctorch was compiled with CUDA support (a GPU may still be absent)."""
    return _C._cuda_built()


def device_count():
    """The number of usable GPUs; 0 without a CUDA build, a driver or a device."""
    return _C._cuda_device_count()


def is_available():
    """True when ctorch was built with CUDA and a driver reports at least one GPU."""
    return device_count() > 0


def is_initialized():
    """Whether ctorch.cuda has been initialized (by init() or the first call that needs a GPU)."""
    return _initialized


def _lazy_init():
    global _initialized
    if _initialized:
        return
    if not is_built():
        raise AssertionError("ctorch not compiled with CUDA enabled")
    if device_count() == 0:
        raise RuntimeError("Found no NVIDIA driver or CUDA device on your system "
                           "(ctorch.cuda.is_available() is False)")
    _initialized = True


def init():
    """Initialize CUDA now instead of on first use (a no-op when already initialized)."""
    _lazy_init()


# ---- devices

def _index_or_none(device):
    """The explicit CUDA index `device` names, or None when it means "the current device"."""
    if isinstance(device, str):
        device = _torch_device(device)
    if isinstance(device, _torch_device):
        if device.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {device}")
        return device.index
    if device is None:
        return None
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    raise ValueError(f"Expected a cuda device, a device index or None, but got: {device!r}")


def _device_index(device):
    """The index of `device`, the current device for None (or a device without an index);
    RuntimeError for an index past the last GPU."""
    idx = _index_or_none(device)
    if idx is None or idx < 0:
        return current_device()
    if idx >= device_count():
        n = device_count()
        raise RuntimeError(f"CUDA error: invalid device ordinal {idx} ({n} CUDA device{'' if n == 1 else 's'} "
                           "available)")
    return idx


def current_device():
    """The index of the currently selected device."""
    _lazy_init()
    return _C._cuda_current_device()


def set_device(device):
    """Select the current device; a negative index is a no-op, as in PyTorch."""
    idx = _index_or_none(device)
    if idx is not None and idx >= 0:
        _lazy_init()
        _C._cuda_set_device(idx)


class device:
    """Context manager that makes `device` (an index, "cuda:N" or a ctorch.device) current.

    None, "cuda" and negative indices leave the current device unchanged."""

    def __init__(self, device):
        idx = _index_or_none(device)
        self.idx = -1 if idx is None else idx
        self.prev_idx = -1

    def __enter__(self):
        if self.idx >= 0:
            self.prev_idx = current_device()
            if self.prev_idx != self.idx:
                _C._cuda_set_device(self.idx)
        return self

    def __exit__(self, *exc):
        if self.idx >= 0 and self.prev_idx != self.idx:
            _C._cuda_set_device(self.prev_idx)
        return False


class device_of(device):
    """Context manager that makes the device of tensor `obj` current (a no-op for CPU tensors)."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.is_cuda else -1)


_device_ctx = device  # the parameters below are called `device`, as in PyTorch


class _CudaDeviceProperties:
    """What get_device_properties returns: name, compute capability, memory and SM counts."""

    def __init__(self, props):
        self.name = props["name"]
        self.major = props["major"]
        self.minor = props["minor"]
        self.total_memory = props["total_memory"]
        self.multi_processor_count = props["multi_processor_count"]
        self.warp_size = props["warp_size"]
        self.L2_cache_size = props["L2_cache_size"]
        self.is_integrated = False
        self.is_multi_gpu_board = False

    def __repr__(self):
        mb = 1024 * 1024
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // mb}MB, "
                f"multi_processor_count={self.multi_processor_count}, "
                f"L2_cache_size={self.L2_cache_size // mb}MB)")


_properties_cache = {}


def get_device_properties(device=None):
    """The properties of `device` (default: the current device)."""
    _lazy_init()
    idx = _index_or_none(device)
    idx = current_device() if idx is None else idx
    if idx < 0 or idx >= device_count():
        raise AssertionError("Invalid device id")
    if idx not in _properties_cache:
        _properties_cache[idx] = _CudaDeviceProperties(_C._cuda_device_properties(idx))
    return _properties_cache[idx]


def get_device_name(device=None):
    return get_device_properties(device).name


def get_device_capability(device=None):
    """(major, minor) compute capability of `device`."""
    p = get_device_properties(device)
    return p.major, p.minor


def is_bf16_supported(including_emulation=True):
    """True on a GPU of compute capability 8.0 (Ampere) or newer; False without a GPU."""
    if not is_available():
        return False
    return get_device_capability()[0] >= 8


def synchronize(device=None):
    """Wait for all work queued on every stream of `device` (default: the current device)."""
    _lazy_init()
    _C._cuda_synchronize(_device_index(device))


# ---- streams and events

# Streams are never destroyed while the process runs (the caching allocator remembers the stream
# each block was used on, as in PyTorch's stream pool): a collected Stream's handle is reused.
_free_streams = collections.defaultdict(list)


class Stream:
    """A CUDA stream on `device` (default: the current device); lower priority numbers run first."""

    def __init__(self, device=None, priority=0, **kwargs):
        _lazy_init()
        self.device_index = _device_index(device)
        self.priority = priority
        pool = _free_streams[(self.device_index, priority)]
        self.cuda_stream = pool.pop() if pool else _C._cuda_stream_create(self.device_index, priority)
        self._pooled = True

    @classmethod
    def _wrap(cls, device_index, handle):
        s = cls.__new__(cls)
        s.device_index, s.priority, s.cuda_stream, s._pooled = device_index, 0, handle, False
        return s

    def __del__(self):
        if getattr(self, "_pooled", False):
            _free_streams[(self.device_index, self.priority)].append(self.cuda_stream)

    @property
    def device(self):
        return _torch_device("cuda", self.device_index)

    def query(self):
        """True when all work queued on this stream has finished."""
        return _C._cuda_stream_query(self.cuda_stream)

    def synchronize(self):
        _C._cuda_stream_synchronize(self.cuda_stream)

    def wait_event(self, event):
        """Make later work on this stream wait for `event` (the host does not wait)."""
        event.wait(self)

    def wait_stream(self, stream):
        """Make later work on this stream wait for the work queued so far on `stream`."""
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        if event is None:
            event = Event()
        event.record(self)
        return event

    def __enter__(self):
        """`with stream:` is `with ctorch.cuda.stream(stream):` (as torch.Stream allows)."""
        ctx = StreamContext(self)
        self.__dict__.setdefault("_contexts", []).append(ctx)
        ctx.__enter__()
        return self

    def __exit__(self, *exc):
        return self._contexts.pop().__exit__(*exc)

    def __eq__(self, other):
        return (isinstance(other, Stream) and self.cuda_stream == other.cuda_stream
                and self.device_index == other.device_index)

    def __hash__(self):
        return hash((self.cuda_stream, self.device_index))

    def __repr__(self):
        return f"<ctorch.cuda.Stream device={self.device} cuda_stream={self.cuda_stream:#x}>"


class Event:
    """A CUDA event: a marker in a stream to wait for, query, or time (enable_timing=True).

    The driver event is created on first record(), on the recording stream's device."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        if interprocess:
            raise NotImplementedError("[Event] interprocess events are not supported")
        self.enable_timing = enable_timing
        self.blocking = blocking
        self.cuda_event = 0
        self.device_index = -1

    def __del__(self):
        if getattr(self, "cuda_event", 0):
            _C._cuda_event_destroy(self.cuda_event)

    def record(self, stream=None):
        """Record the event on `stream` (default: the current stream)."""
        if stream is None:
            stream = current_stream()
        if not self.cuda_event:
            with _device_ctx(stream.device_index):
                self.cuda_event = _C._cuda_event_create(self.enable_timing, self.blocking)
            self.device_index = stream.device_index
        elif stream.device_index != self.device_index:
            raise RuntimeError(f"[Event.record] the event was created on cuda:{self.device_index} "
                               f"and cannot be recorded on a stream of cuda:{stream.device_index}")
        _C._cuda_event_record(self.cuda_event, stream.cuda_stream)

    def wait(self, stream=None):
        """Make later work on `stream` (default: the current stream) wait for this event."""
        if stream is None:
            stream = current_stream()
        if self.cuda_event:
            _C._cuda_stream_wait_event(stream.cuda_stream, self.cuda_event)

    def query(self):
        """True when the work captured by the event has completed (or it was never recorded)."""
        return _C._cuda_event_query(self.cuda_event) if self.cuda_event else True

    def synchronize(self):
        """Wait on the host until the work captured by the event has completed."""
        if self.cuda_event:
            _C._cuda_event_synchronize(self.cuda_event)

    def elapsed_time(self, end_event):
        """Milliseconds between this event and `end_event` (both recorded and completed)."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if not (self.cuda_event and end_event.cuda_event):
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return _C._cuda_event_elapsed_time(self.cuda_event, end_event.cuda_event)

    def __repr__(self):
        return f"<ctorch.cuda.Event {self.cuda_event:#x}>" if self.cuda_event else "<ctorch.cuda.Event uninitialized>"


def current_stream(device=None):
    """The current stream of `device` (default: the current device) for this thread."""
    _lazy_init()
    idx = _device_index(device)
    return Stream._wrap(idx, _C._cuda_current_stream(idx))


def default_stream(device=None):
    """The default (null) stream of `device`."""
    _lazy_init()
    return Stream._wrap(_device_index(device), 0)


def set_stream(stream):
    """Make `stream` current for its device and make that device current (None: a no-op)."""
    if stream is None:
        return
    _lazy_init()
    if current_device() != stream.device_index:
        _C._cuda_set_device(stream.device_index)
    _C._cuda_set_current_stream(stream.device_index, stream.cuda_stream)


class StreamContext:
    """Context manager that makes `stream` (and its device) current; None makes it a no-op."""

    def __init__(self, stream):
        self.stream = stream
        self.src_prev_stream = self.dst_prev_stream = None

    def __enter__(self):
        s = self.stream
        if s is None:
            return s
        self.src_prev_stream = current_stream()
        if self.src_prev_stream.device_index != s.device_index:
            self.dst_prev_stream = current_stream(s.device_index)
        set_stream(s)
        return s

    def __exit__(self, *exc):
        if self.stream is None:
            return False
        if self.dst_prev_stream is not None:
            set_stream(self.dst_prev_stream)
        set_stream(self.src_prev_stream)  # also restores the device current before entering
        return False


def stream(stream):
    """`with ctorch.cuda.stream(s):` queues the work of the block on s (and on s's device)."""
    return StreamContext(stream)


# ---- the caching allocator

def memory_stats(device=None):
    """The caching allocator's statistics for `device` as a flat dict (empty without a GPU).

    Keys follow PyTorch: "allocated_bytes.all.current"/".peak", "reserved_bytes.all.current"/
    ".peak", "allocation.all.current"/".allocated"/".freed", "segment.all.current",
    "num_alloc_retries", "num_ooms"."""
    if not is_available():
        return collections.OrderedDict()
    _lazy_init()
    stats = dict(_C._cuda_memory_stats(_device_index(device)))
    stats["allocation.all.current"] = stats["allocation.all.allocated"] - stats["allocation.all.freed"]
    return collections.OrderedDict(sorted(stats.items()))


def memory_allocated(device=None):
    """Bytes currently held by tensors on `device` (rounded to the allocator's block sizes)."""
    return memory_stats(device).get("allocated_bytes.all.current", 0)


def max_memory_allocated(device=None):
    """Peak of memory_allocated since the start or the last reset_peak_memory_stats."""
    return memory_stats(device).get("allocated_bytes.all.peak", 0)


def memory_reserved(device=None):
    """Bytes the caching allocator holds from the driver on `device` (used or cached)."""
    return memory_stats(device).get("reserved_bytes.all.current", 0)


def max_memory_reserved(device=None):
    return memory_stats(device).get("reserved_bytes.all.peak", 0)


def memory_cached(device=None):
    """Deprecated alias of memory_reserved."""
    warnings.warn("ctorch.cuda.memory_cached has been renamed to ctorch.cuda.memory_reserved", FutureWarning)
    return memory_reserved(device)


def max_memory_cached(device=None):
    """Deprecated alias of max_memory_reserved."""
    warnings.warn("ctorch.cuda.max_memory_cached has been renamed to ctorch.cuda.max_memory_reserved",
                  FutureWarning)
    return max_memory_reserved(device)


def reset_peak_memory_stats(device=None):
    """Restart the peaks (allocated and reserved) from the current values."""
    _lazy_init()
    _C._cuda_reset_peak_memory_stats(_device_index(device))


def reset_max_memory_allocated(device=None):
    """Deprecated: reset_peak_memory_stats, which resets every peak."""
    warnings.warn("ctorch.cuda.reset_max_memory_allocated now calls ctorch.cuda.reset_peak_memory_stats, "
                  "which resets /all/ peak memory stats.", FutureWarning)
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device=None):
    """Deprecated: reset_peak_memory_stats, which resets every peak."""
    warnings.warn("ctorch.cuda.reset_max_memory_cached now calls ctorch.cuda.reset_peak_memory_stats, "
                  "which resets /all/ peak memory stats.", FutureWarning)
    reset_peak_memory_stats(device)


def memory_summary(device=None, abbreviated=False):
    """A human-readable table of the allocator's statistics for `device`."""
    _lazy_init()
    return _C._cuda_memory_summary(_device_index(device))


def empty_cache():
    """Return the cached, unused device memory of every GPU to the driver (other processes can
    then use it; tensors keep theirs). A no-op without a GPU."""
    if is_available():
        _C._cuda_empty_cache()


from ctorch.cuda.random import *  # noqa: E402,F401,F403
from ctorch.cuda import random as _random  # noqa: E402
__all__ += _random.__all__
