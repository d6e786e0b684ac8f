"""ctorch.save / ctorch.load: a safe checkpoint format (no pickle, never code).

File layout (all integers little-endian):
    8 bytes   magic b"CTORCH\\x00\\x01"
    4 bytes   format version (uint32, currently 1)
    8 bytes   header length H (uint64)
    H bytes   UTF-8 JSON header: {"byteorder", "storages", "tensors", "arrays", "root"}
    padding to a multiple of 64, then the data section: each storage's raw bytes at a 64-byte aligned
    offset (storage offsets in the header are relative to the data section's start).

The header's "root" is the object tree: tagged nodes for dict / OrderedDict / list / tuple / str / int /
float / bool / None, tensors (by index into "tensors") and NumPy arrays (by index into "arrays").
A tensor records its storage, dtype, shape, stride and storage offset, so views of one storage are saved
with that storage once and come back sharing it. Anything else raises TypeError: the format has no way to
describe code, which is the point (DESIGN: safe files only).

Loading treats the file as untrusted: every header field is type- and range-checked against the file's
real size before anything is allocated, and every failure is a ValueError (malformed file) or a
RuntimeError (valid file that cannot be placed, e.g. on CUDA without CUDA).
"""
import collections
import json
import os
import struct
import tempfile

from ctorch import _C

__all__ = ["save", "load"]

_MAGIC = b"CTORCH\x00\x01"
_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")  # magic, version, header length
_ALIGN = 64
_MAX_DEPTH = 200            # object-tree nesting; deeper trees are refused on save and on load
_MAX_DIMS = 64
_MAX_INT = 2 ** 62          # bound on every size/stride/offset so that C++ int64 arithmetic cannot overflow

# Tensor dtypes by name; storage bytes travel through a same-size integer dtype that NumPy understands.
_DTYPES = {name: getattr(_C, name) for name in (
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64")}
_SAME_SIZE_INT = {1: "uint8", 2: "int16", 4: "int32", 8: "int64"}
_NP_INT = {1: "<u1", 2: "<i2", 4: "<i4", 8: "<i8"}
# NumPy dtypes allowed in files: plain numeric and bool, never object or structured dtypes.
_NP_DTYPES = ("|b1", "|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8",
              "<c8", "<c16")


def _np():
    import numpy as np
    return np


def _device():
    from ctorch._tensor import device
    return device


def _is_tensor(obj):
    return isinstance(obj, _C.Tensor)


# ---------------------------------------------------------------------------------------- saving

class _Writer:
    def __init__(self):
        self.storages = []      # {"nbytes", "device", "itemsize"} plus the bytes kept aside
        self.buffers = []
        self.tensors = []
        self.arrays = []
        self._storage_index = {}  # storage id -> index
        self._tensor_index = {}   # id(tensor) -> index (the same tensor object twice stays one object)
        self._keep = []           # keeps memoised objects alive so their ids stay unique

    def _storage_of(self, t):
        # Tensors sharing a storage (views) share it in the file too, on every device, as in PyTorch.
        sid = t._storage_id()
        if sid in self._storage_index:
            idx = self._storage_index[sid]
            if self.storages[idx]["itemsize"] != t.itemsize:
                raise ValueError("ctorch.save: tensors of different element sizes share one storage")
            return idx
        # The whole storage as 1-d in the tensor's own dtype (ctorch has only same-size dtype views);
        # a GPU storage comes to the host in one contiguous copy.
        flat = t.detach().as_strided([t._storage_nbytes() // t.itemsize], [1], 0)
        if t.device.type != "cpu":
            flat = flat.cpu()
        data = flat.view(_DTYPES[_SAME_SIZE_INT[t.itemsize]]).contiguous().numpy().tobytes()
        idx = len(self.storages)
        self.storages.append({"nbytes": len(data), "device": str(t.device), "itemsize": t.itemsize})
        self.buffers.append(data)
        self._storage_index[sid] = idx
        return idx

    def tensor(self, t):
        if id(t) in self._tensor_index:
            return self._tensor_index[id(t)]
        dtype = str(t.dtype).split(".")[-1]
        if dtype not in _DTYPES:
            raise TypeError(f"ctorch.save: unsupported tensor dtype {t.dtype}")
        entry = {"shape": list(t.shape), "stride": list(t.stride()), "offset": t.storage_offset()}
        entry.update(storage=self._storage_of(t), dtype=dtype, requires_grad=bool(t.requires_grad))
        idx = len(self.tensors)
        self.tensors.append(entry)
        self._tensor_index[id(t)] = idx
        self._keep.append(t)
        return idx

    def array(self, a, scalar):
        np = _np()
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if a.dtype.str.replace(">", "<") not in _NP_DTYPES:
            raise TypeError(f"ctorch.save: unsupported NumPy dtype {a.dtype}")
        data = np.ascontiguousarray(a, dtype=dt).tobytes()
        idx = len(self.storages)
        self.storages.append({"nbytes": len(data), "device": "cpu", "itemsize": 1})
        self.buffers.append(data)
        self.arrays.append({"storage": idx, "dtype": dt.str, "shape": list(a.shape), "scalar": scalar})
        return len(self.arrays) - 1

    def node(self, obj, depth=0):
        if depth > _MAX_DEPTH:
            raise ValueError(f"ctorch.save: object nesting deeper than {_MAX_DEPTH} levels "
                             "(or a reference cycle)")
        tp = type(obj)
        if obj is None:
            return {"t": "none"}
        if tp is bool:
            return {"t": "bool", "v": obj}
        if tp is int:
            return {"t": "int", "v": str(obj)}
        if tp is float:
            return {"t": "float", "v": obj.hex()}
        if tp is str:
            return {"t": "str", "v": obj}
        if tp is list or tp is tuple:
            return {"t": "list" if tp is list else "tuple", "v": [self.node(x, depth + 1) for x in obj]}
        if tp is dict or tp is collections.OrderedDict:
            items = []
            for k, v in obj.items():
                if type(k) not in (str, int):
                    raise TypeError(f"ctorch.save: dict keys must be str or int, got {type(k).__name__}")
                items.append([self.node(k, depth + 1), self.node(v, depth + 1)])
            return {"t": "dict" if tp is dict else "odict", "v": items}
        if tp is _C.Tensor:
            return {"t": "tensor", "v": self.tensor(obj)}
        np = _np()
        if tp is np.ndarray:
            return {"t": "ndarray", "v": self.array(obj, False)}
        if isinstance(obj, np.generic) and tp.__module__ == "numpy":
            return {"t": "ndarray", "v": self.array(np.asarray(obj), True)}
        raise TypeError(f"ctorch.save: cannot save an object of type {tp.__module__}.{tp.__qualname__} "
                        "(only tensors, NumPy arrays and dict/list/tuple/str/int/float/bool/None; "
                        "ctorch never pickles arbitrary objects)")


def _pad(n):
    return (-n) % _ALIGN


def _serialize(obj):
    """The file as a list of byte chunks; raises before anything is written if obj is unsupported."""
    w = _Writer()
    root = w.node(obj)
    # Storage offsets are relative to the data section (which starts at the first 64-byte boundary after
    # the header), so they do not depend on the header's own length.
    storages, pos = [], 0
    for s in w.storages:
        storages.append({"offset": pos, "nbytes": s["nbytes"], "device": s["device"]})
        pos += s["nbytes"] + _pad(s["nbytes"])
    header = {"byteorder": "little", "storages": storages, "tensors": w.tensors, "arrays": w.arrays,
              "root": root}
    hbytes = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    head = _PREFIX.size + len(hbytes)
    chunks = [_PREFIX.pack(_MAGIC, _VERSION, len(hbytes)), hbytes, b"\0" * _pad(head)]
    for data in w.buffers:
        chunks.append(data)
        chunks.append(b"\0" * _pad(len(data)))
    return chunks


def atomic_write(path, chunks):
    """Writes byte chunks to `path` atomically: a temporary file in the same directory, flushed and
    fsync'ed, then renamed over the target (removed again on any error)."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                               prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for c in chunks:
                out.write(c)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Save tensors, NumPy arrays and plain containers of them to a path or a binary file object.

    Writes to a path are atomic: a temporary file in the same directory, flushed and fsync'ed,
    then renamed over the target. Unsupported objects raise TypeError before anything is written.
    """
    if pickle_module is not None:
        raise TypeError("ctorch.save does not use pickle; pickle_module is not supported")
    chunks = _serialize(obj)
    if isinstance(f, (str, bytes, os.PathLike)):
        atomic_write(f, chunks)
        return
    if not hasattr(f, "write"):
        raise TypeError(f"ctorch.save: f must be a path or a writable binary file object, got {type(f).__name__}")
    for c in chunks:
        f.write(c)
    if hasattr(f, "flush"):
        f.flush()


# ---------------------------------------------------------------------------------------- loading

def _bad(msg):
    return ValueError("ctorch.load: invalid file: " + msg)


def _int(v, what, lo=0, hi=_MAX_INT):
    if type(v) is not int or not lo <= v <= hi:
        raise _bad(f"{what} must be an integer in [{lo}, {hi}], got {v!r}"[:200])
    return v


def _fields(d, what, required, optional=()):
    if type(d) is not dict:
        raise _bad(f"{what} must be a JSON object")
    missing = [k for k in required if k not in d]
    extra = [k for k in d if k not in required and k not in optional]
    if missing or extra:
        raise _bad(f"{what} has missing keys {missing} or unknown keys {extra}"[:200])
    return d


def _shape(v, what):
    if type(v) is not list or len(v) > _MAX_DIMS:
        raise _bad(f"{what} must be a list of at most {_MAX_DIMS} integers")
    numel = 1
    for s in v:
        numel *= _int(s, what)
        if numel > _MAX_INT:
            raise _bad(f"{what} has too many elements")
    return v, numel


def _resolve_location(map_location, location):
    """Target device string for a storage saved on `location` (or a callable's result)."""
    if map_location is None:
        return location
    if isinstance(map_location, (str, _device())):
        return str(map_location)
    if isinstance(map_location, dict):
        target = map_location.get(location, location)
        return str(target)
    raise TypeError(f"ctorch.load: map_location must be None, a str, a ctorch.device, a dict or a callable, "
                    f"got {type(map_location).__name__}")


def _check_device(target):
    dev = _device()(target)  # raises on a malformed device string
    if dev.type == "cuda":
        from ctorch import cuda
        if not cuda.is_available():
            raise RuntimeError("Attempting to deserialize object on a CUDA device but ctorch.cuda.is_available() "
                               "is False. If you are running on a CPU-only machine, please use "
                               "ctorch.load with map_location='cpu' to map your storages to the CPU.")
    elif dev.type != "cpu":
        raise RuntimeError(f"ctorch.load: unsupported device {target!r}")
    return str(dev)


class _Reader:
    def __init__(self, data, data_start, header, map_location):
        self.data = data
        self.map_location = map_location
        _fields(header, "header", ("byteorder", "storages", "tensors", "arrays", "root"))
        if header["byteorder"] != "little":
            raise _bad("only little-endian files are supported")
        for key in ("storages", "tensors", "arrays"):
            if type(header[key]) is not list:
                raise _bad(f"'{key}' must be a list")
        self.storage_meta = []
        for i, s in enumerate(header["storages"]):
            _fields(s, f"storage {i}", ("offset", "nbytes", "device"))
            off = data_start + _int(s["offset"], f"storage {i} offset", 0, len(data))
            if off % _ALIGN:
                raise _bad(f"storage {i} is not {_ALIGN}-byte aligned")
            n = _int(s["nbytes"], f"storage {i} nbytes", 0, len(data))
            if off + n > len(data):
                raise _bad(f"storage {i} ends at byte {off + n}, past the end of the file ({len(data)} bytes)")
            if type(s["device"]) is not str or len(s["device"]) > 32:
                raise _bad(f"storage {i} device must be a short string")
            try:
                _device()(s["device"])
            except (RuntimeError, ValueError, TypeError):
                raise _bad(f"storage {i} has an invalid device {s['device']!r}") from None
            self.storage_meta.append((off, n, s["device"]))
        self.storage_cache = {}   # index -> (itemsize, tensor of a same-size int dtype over the bytes)
        self.tensor_meta = header["tensors"]
        self.array_meta = header["arrays"]
        self.tensor_cache = {}
        self.used_by_array = set()
        self.used_by_tensor = set()

    def _storage_index(self, v, what):
        return _int(v, what, 0, len(self.storage_meta) - 1) if self.storage_meta else _int(v, what, 0, -1)

    def _storage_tensor(self, idx, itemsize):
        if idx in self.storage_cache:
            have, st = self.storage_cache[idx]
            if have != itemsize:
                raise _bad(f"storage {idx} is used with different element sizes")
            return st
        off, n, location = self.storage_meta[idx]
        if n % itemsize:
            raise _bad(f"storage {idx} has {n} bytes, not a multiple of the element size {itemsize}")
        np = _np()
        arr = np.frombuffer(self.data, dtype=_NP_INT[itemsize], count=n // itemsize, offset=off).copy()
        st = _C.from_numpy(arr)
        ml = self.map_location
        result = None
        if callable(ml) and not isinstance(ml, (str, dict, _device())):
            # PyTorch's protocol: fn(storage, location) returns the (moved) storage, or None for the default.
            result = ml(st, location)
            if result is not None and (not _is_tensor(result) or result.dtype != st.dtype
                                       or result.shape != st.shape):
                raise RuntimeError("ctorch.load: a map_location callable must return the storage it was "
                                   "given (possibly moved to another device) or None")
            ml = None
        if result is None:
            target = _check_device(_resolve_location(ml, location))
            result = st if target == "cpu" else st.to(target)
        st = result
        self.storage_cache[idx] = (itemsize, st)
        return st

    def tensor(self, i):
        if i in self.tensor_cache:
            return self.tensor_cache[i]
        m = _fields(self.tensor_meta[i], f"tensor {i}",
                    ("storage", "dtype", "shape", "stride", "offset", "requires_grad"))
        if type(m["dtype"]) is not str or m["dtype"] not in _DTYPES:
            raise _bad(f"tensor {i} has unknown dtype {m['dtype']!r}"[:200])
        dtype = _DTYPES[m["dtype"]]
        sidx = self._storage_index(m["storage"], f"tensor {i} storage")
        if sidx in self.used_by_array:
            raise _bad(f"storage {sidx} is used by both a tensor and an array")
        shape, numel = _shape(m["shape"], f"tensor {i} shape")
        stride, _ = _shape(m["stride"], f"tensor {i} stride")
        if len(stride) != len(shape):
            raise _bad(f"tensor {i} has {len(shape)} sizes but {len(stride)} strides")
        offset = _int(m["offset"], f"tensor {i} offset")
        if type(m["requires_grad"]) is not bool:
            raise _bad(f"tensor {i} requires_grad must be a bool")
        if m["requires_grad"] and not dtype.is_floating_point:
            raise _bad(f"tensor {i}: only floating point tensors can require gradients")
        itemsize = dtype.itemsize
        nbytes = self.storage_meta[sidx][1]
        # Every element the view can reach must lie inside the storage (checked before any allocation).
        last = offset + sum((s - 1) * st for s, st in zip(shape, stride)) if numel else offset
        need = (last + 1) * itemsize if numel else offset * itemsize
        if need > nbytes:
            raise _bad(f"tensor {i} reaches byte {need} of storage {sidx}, which has only {nbytes} bytes")
        st = self._storage_tensor(sidx, itemsize)
        self.used_by_tensor.add(sidx)
        base = st.view(dtype) if st.dtype != dtype else st
        t = base.as_strided(shape, stride, offset)
        if m["requires_grad"]:
            t.requires_grad_()
        self.tensor_cache[i] = t
        return t

    def array(self, i):
        m = _fields(self.array_meta[i], f"array {i}", ("storage", "dtype", "shape", "scalar"))
        if type(m["dtype"]) is not str or m["dtype"] not in _NP_DTYPES:
            raise _bad(f"array {i} has unsupported dtype {m['dtype']!r}"[:200])
        np = _np()
        dt = np.dtype(m["dtype"])
        sidx = self._storage_index(m["storage"], f"array {i} storage")
        if sidx in self.used_by_tensor or sidx in self.used_by_array:
            raise _bad(f"storage {sidx} of array {i} is shared")
        shape, numel = _shape(m["shape"], f"array {i} shape")
        off, n, _ = self.storage_meta[sidx]
        if numel * dt.itemsize != n:
            raise _bad(f"array {i} needs {numel * dt.itemsize} bytes but storage {sidx} has {n}")
        if type(m["scalar"]) is not bool or (m["scalar"] and shape):
            raise _bad(f"array {i} scalar flag is invalid")
        self.used_by_array.add(sidx)
        a = np.frombuffer(self.data, dtype=dt, count=numel, offset=off).reshape(shape).copy()
        return a[()] if m["scalar"] else a

    def node(self, nd, depth=0):
        if depth > _MAX_DEPTH:
            raise _bad(f"object nesting deeper than {_MAX_DEPTH} levels")
        if type(nd) is not dict or type(nd.get("t")) is not str:
            raise _bad("object node must be a JSON object with a string 't'")
        t = nd["t"]
        if t == "none":
            _fields(nd, "none node", ("t",))
            return None
        _fields(nd, f"{t} node"[:40], ("t", "v"))
        v = nd["v"]
        if t == "bool":
            if type(v) is not bool:
                raise _bad("bool node value must be a bool")
            return v
        if t == "int":
            if type(v) is not str or not v or len(v) > 4000 or not v.lstrip("-").isdigit() or not v.isascii():
                raise _bad("int node value must be a decimal string")
            return int(v)
        if t == "float":
            if type(v) is not str or len(v) > 64:
                raise _bad("float node value must be a hex string")
            try:
                return float.fromhex(v)
            except (ValueError, OverflowError) as e:
                raise _bad(f"float node value {v!r}: {e}") from None
        if t == "str":
            if type(v) is not str:
                raise _bad("str node value must be a string")
            return v
        if t in ("list", "tuple"):
            if type(v) is not list:
                raise _bad(f"{t} node value must be a list")
            items = [self.node(x, depth + 1) for x in v]
            return items if t == "list" else tuple(items)
        if t in ("dict", "odict"):
            if type(v) is not list:
                raise _bad(f"{t} node value must be a list of pairs")
            out = {} if t == "dict" else collections.OrderedDict()
            for pair in v:
                if type(pair) is not list or len(pair) != 2:
                    raise _bad(f"{t} node items must be [key, value] pairs")
                key = self.node(pair[0], depth + 1)
                if type(key) not in (str, int):
                    raise _bad("dict keys must be str or int")
                out[key] = self.node(pair[1], depth + 1)
            return out
        if t == "tensor":
            return self.tensor(_int(v, "tensor index", 0, len(self.tensor_meta) - 1))
        if t == "ndarray":
            return self.array(_int(v, "array index", 0, len(self.array_meta) - 1))
        raise _bad(f"unknown node type {t!r}"[:200])


def _read_all(f):
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as fh:
            return fh.read()
    if not hasattr(f, "read"):
        raise TypeError(f"ctorch.load: f must be a path or a readable binary file object, got {type(f).__name__}")
    data = f.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("ctorch.load: the file object must be opened in binary mode")
    return bytes(data)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load an object saved by ctorch.save from a path or a binary file object.

    A file object is read to its end. The format only holds data, so loading is always as safe as
    PyTorch's weights_only=True;
    weights_only=False is accepted and changes nothing. map_location is "cpu", a ctorch.device,
    a dict {saved location: target} or a callable(storage, location) returning a storage or None.
    """
    if pickle_module is not None:
        raise TypeError("ctorch.load does not use pickle; pickle_module is not supported")
    if mmap:
        raise ValueError("ctorch.load: mmap=True is not supported")
    if pickle_load_args:
        raise TypeError(f"ctorch.load got unexpected keyword arguments {sorted(pickle_load_args)}")
    data = _read_all(f)
    if len(data) < _PREFIX.size:
        raise _bad(f"{len(data)} bytes is too short for a ctorch file")
    magic, version, hlen = _PREFIX.unpack_from(data, 0)
    if magic != _MAGIC:
        if data[:2] == b"PK" or data[:1] == b"\x80":
            raise _bad("this is not a ctorch file (it looks like a PyTorch/pickle file, which ctorch never "
                       "unpickles)")
        raise _bad("bad magic number: not a ctorch file")
    if version != _VERSION:
        raise _bad(f"unsupported format version {version} (this ctorch reads version {_VERSION})")
    if hlen > len(data) - _PREFIX.size:
        raise _bad(f"header length {hlen} exceeds the file size")
    try:
        header = json.loads(data[_PREFIX.size:_PREFIX.size + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _bad(f"header is not valid JSON: {e}"[:300]) from None
    head = _PREFIX.size + hlen
    reader = _Reader(data, head + _pad(head), header, map_location)
    return reader.node(header["root"])
