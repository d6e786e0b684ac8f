"""ctorch.utils.safetensors: read and write the standard safetensors format without the safetensors package.

Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, an N-byte UTF-8
JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the
raw little-endian, C-contiguous tensor bytes. Offsets are relative to the end of the header; the tensors'
byte ranges must cover the data section exactly, in order, without gaps or overlaps. Loading validates all
of this against the real size before allocating, and raises ValueError for any malformed input.
"""
import json

from ctorch import _C

__all__ = ["save", "load", "save_file", "load_file"]

_MAX_HEADER = 100_000_000
_DTYPES = {  # safetensors name -> (ctorch dtype name, itemsize)
    "BOOL": ("bool", 1), "U8": ("uint8", 1), "I8": ("int8", 1), "I16": ("int16", 2), "I32": ("int32", 4),
    "I64": ("int64", 8), "F16": ("float16", 2), "BF16": ("bfloat16", 2), "F32": ("float32", 4),
    "F64": ("float64", 8),
}
_NAMES = {v[0]: k for k, v in _DTYPES.items()}
_NP_INT = {1: "<u1", 2: "<i2", 4: "<i4", 8: "<i8"}
_SAME_SIZE_INT = {1: "uint8", 2: "int16", 4: "int32", 8: "int64"}


def _bad(msg):
    return ValueError("safetensors: invalid data: " + msg)


def _tensor_bytes(t):
    t = t.detach().to("cpu").contiguous()
    return t.view(getattr(_C, _SAME_SIZE_INT[t.itemsize])).numpy().tobytes()


def save(tensors, metadata=None):
    """The safetensors bytes for a dict {name: tensor} (tensors are written contiguous, in name order)."""
    if not isinstance(tensors, dict):
        raise TypeError(f"safetensors.save: tensors must be a dict, got {type(tensors).__name__}")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in metadata.items()):
            raise TypeError("safetensors.save: metadata must be a dict of str to str")
    header, chunks, pos = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    # Sorted by name like the reference writer (which orders by alignment, then name: a stable layout).
    for name in sorted(tensors):
        t = tensors[name]
        if not isinstance(name, str):
            raise TypeError(f"safetensors.save: tensor names must be str, got {type(name).__name__}")
        if name == "__metadata__":
            raise ValueError("safetensors.save: '__metadata__' is reserved")
        if not isinstance(t, _C.Tensor):
            raise TypeError(f"safetensors.save: value for {name!r} is a {type(t).__name__}, not a Tensor")
        dname = str(t.dtype).split(".")[-1]
        if dname not in _NAMES:
            raise TypeError(f"safetensors.save: unsupported dtype {t.dtype} for {name!r}")
        data = _tensor_bytes(t)
        header[name] = {"dtype": _NAMES[dname], "shape": list(t.shape), "data_offsets": [pos, pos + len(data)]}
        chunks.append(data)
        pos += len(data)
    hbytes = json.dumps(header, separators=(",", ":")).encode()
    hbytes += b" " * ((-len(hbytes)) % 8)  # the reference pads the header with spaces to 8 bytes
    return len(hbytes).to_bytes(8, "little") + hbytes + b"".join(chunks)


def save_file(tensors, filename, metadata=None):
    """Write save(tensors, metadata) to filename atomically (temp file, fsync, rename)."""
    from ctorch.serialization import atomic_write
    atomic_write(filename, [save(tensors, metadata)])

def _parse(data):
    """(header dict without metadata, metadata, data-section start) after validating everything."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"safetensors.load: data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 8:
        raise _bad("shorter than the 8-byte header length")
    n = int.from_bytes(data[:8], "little")
    if n > _MAX_HEADER:
        raise _bad(f"header length {n} exceeds the 100 MB limit")
    if 8 + n > len(data):
        raise _bad(f"header length {n} exceeds the data size")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _bad(f"header is not valid JSON: {e}"[:300]) from None
    if type(header) is not dict:
        raise _bad("header must be a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and (type(metadata) is not dict
                                 or not all(type(v) is str for v in metadata.values())):
        raise _bad("__metadata__ must map str to str")
    entries = []
    for name, info in header.items():
        if type(info) is not dict or set(info) != {"dtype", "shape", "data_offsets"}:
            raise _bad(f"entry {name!r} must have exactly dtype, shape and data_offsets"[:200])
        if type(info["dtype"]) is not str or info["dtype"] not in _DTYPES:
            raise _bad(f"entry {name!r} has unsupported dtype {info['dtype']!r}"[:200])
        shape, offs = info["shape"], info["data_offsets"]
        if type(shape) is not list or len(shape) > 64 or not all(type(s) is int and s >= 0 for s in shape):
            raise _bad(f"entry {name!r} shape must be a list of non-negative integers"[:200])
        if (type(offs) is not list or len(offs) != 2 or not all(type(o) is int and o >= 0 for o in offs)
                or offs[0] > offs[1]):
            raise _bad(f"entry {name!r} data_offsets must be [begin, end] with 0 <= begin <= end"[:200])
        numel = 1
        for s in shape:
            numel *= s
        itemsize = _DTYPES[info["dtype"]][1]
        if numel * itemsize != offs[1] - offs[0]:
            raise _bad(f"entry {name!r} has {offs[1] - offs[0]} bytes but dtype and shape need "
                       f"{numel * itemsize}"[:200])
        entries.append((offs[0], offs[1], name, info))
    # The byte ranges must tile the data section exactly: in order, no gaps, no overlaps, nothing left over.
    entries.sort(key=lambda e: (e[0], e[1]))
    pos = 0
    for begin, end, name, _ in entries:
        if begin != pos:
            raise _bad(f"entry {name!r} starts at {begin}, expected {pos} (gap or overlap)"[:200])
        pos = end
    if 8 + n + pos != len(data):
        raise _bad(f"tensor data covers {pos} bytes but the data section has {len(data) - 8 - n}")
    return data, entries, metadata, 8 + n


def load(data):
    """{name: tensor} from safetensors bytes (CPU tensors that own their memory)."""
    import numpy as np
    data, entries, _, start = _parse(data)
    out = {}
    for begin, end, name, info in sorted(entries, key=lambda e: e[2]):
        dname, itemsize = _DTYPES[info["dtype"]]
        raw = np.frombuffer(data, dtype=_NP_INT[itemsize], count=(end - begin) // itemsize,
                            offset=start + begin).copy()
        out[name] = _C.from_numpy(raw).view(getattr(_C, dname)).reshape(list(info["shape"]))
    return out


def load_file(filename, device="cpu"):
    """{name: tensor} from a safetensors file, placed on device."""
    from ctorch.serialization import _check_device
    target = _check_device(str(device) if not isinstance(device, int) else f"cuda:{device}")
    with open(filename, "rb") as f:
        tensors = load(f.read())
    return tensors if target == "cpu" else {k: v.to(target) for k, v in tensors.items()}


def _metadata(data):
    """The __metadata__ dict (or None) of safetensors bytes; validates like load()."""
    return _parse(data)[2]
