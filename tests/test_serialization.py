"""Tests for ctorch.save / ctorch.load (own safe format) and ctorch.utils.safetensors (standard format).

Round trips of every supported object kind and dtype, storage sharing of views, requires_grad, paths and
file objects, atomic writes, map_location, interop with the safetensors package (when installed), and
in-process fuzzing of both loaders with mutated/truncated files: only ValueError/RuntimeError may escape.
"""
import collections
import io
import json
import os
import random
import struct

import numpy as np
import pytest

import ctorch
from ctorch.serialization import _PREFIX
from ctorch.utils import safetensors as st

DTYPES = [ctorch.bool, ctorch.uint8, ctorch.int8, ctorch.int16, ctorch.int32, ctorch.int64,
          ctorch.float16, ctorch.bfloat16, ctorch.float32, ctorch.float64]


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    ctorch.save(obj, buf)
    buf.seek(0)
    return ctorch.load(buf, **kw)


def make(dtype, shape=(3, 4)):
    n = 1
    for s in shape:
        n *= s
    if dtype == ctorch.bool:
        return (ctorch.arange(n) % 3 == 0).reshape(list(shape))
    return ctorch.arange(n).to(dtype).reshape(list(shape))


def same(a, b):
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    fa = a.float() if a.dtype in (ctorch.bfloat16, ctorch.float16) else a
    fb = b.float() if b.dtype in (ctorch.bfloat16, ctorch.float16) else b
    np.testing.assert_array_equal(fa.detach().numpy(), fb.detach().numpy())


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (3, 4)])
def test_tensor_roundtrip_dtypes_shapes(dtype, shape):
    t = make(dtype, shape)
    r = roundtrip(t)
    same(r, t)
    assert r._storage_id() != t._storage_id()  # a fresh copy, not an alias of the saved tensor


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_non_contiguous_views(dtype):
    t = make(dtype, (4, 6))
    for v in (t.t(), t[1:, ::2], t[2], t[:, 3], t.expand(2, 4, 6) if hasattr(t, "expand") else t):
        r = roundtrip(v)
        same(r, v)
        assert tuple(r.stride()) == tuple(v.stride())
        assert r.storage_offset() == v.storage_offset()


def test_views_share_one_storage():
    base = ctorch.arange(24.0).reshape(4, 6)
    a, b = base[1:3, 2:], base.t()
    buf = io.BytesIO()
    ctorch.save({"a": a, "b": b}, buf)
    small = io.BytesIO()
    ctorch.save({"a": a}, small)
    assert len(buf.getvalue()) < 2 * len(small.getvalue())  # the storage is written once
    buf.seek(0)
    r = ctorch.load(buf)
    assert r["a"]._storage_id() == r["b"]._storage_id()
    r["a"][0, 0] = -1.0            # base[1, 2]
    assert r["b"][2, 1].item() == -1.0
    same(r["a"], ctorch.tensor([[-1.0, 9, 10, 11], [14, 15, 16, 17]]))


def test_same_tensor_object_twice_stays_one_object():
    t = ctorch.ones(3)
    r = roundtrip([t, t, (t,)])
    assert r[0] is r[1] is r[2][0]


def test_requires_grad_kept_as_leaf():
    w = ctorch.randn(3, 2).requires_grad_()
    nonleaf = w * 2
    r = roundtrip({"w": w, "n": nonleaf, "c": ctorch.ones(2)})
    assert r["w"].requires_grad and r["w"].is_leaf
    assert r["n"].requires_grad and r["n"].is_leaf
    assert not r["c"].requires_grad
    same(r["w"], w)
    (r["w"] * r["w"]).sum().backward()
    same(r["w"].grad, 2 * w.detach())


def test_python_values_and_containers():
    obj = {
        "i": 3, "neg": -7, "big": 10 ** 40, "f": 0.1, "inf": float("inf"), "ninf": -float("inf"),
        "b": True, "n": None, "s": "héllo\x00", "empty": [], "tup": (1, (2.5, "x"), []),
        7: "int key", -1: [None], "od": collections.OrderedDict([("z", 1), ("a", 2)]),
    }
    r = roundtrip(obj)
    assert r == obj
    assert type(r["tup"]) is tuple and type(r["tup"][1]) is tuple and type(r["tup"][2]) is list
    assert type(r["od"]) is collections.OrderedDict and list(r["od"]) == ["z", "a"]
    assert type(r["b"]) is bool and type(r["i"]) is int
    nan = roundtrip(float("nan"))
    assert nan != nan
    assert roundtrip(-0.0).hex() == (-0.0).hex()


def test_numpy_arrays():
    arrs = [np.arange(6, dtype=np.float32).reshape(2, 3).T, np.array([True, False]), np.zeros((0, 2)),
            np.array(5, dtype=np.int64), np.arange(4, dtype=np.uint16), np.array([1 + 2j]),
            np.arange(4, dtype=">i4")]
    r = roundtrip(arrs + [np.float32(1.5), np.int64(3)])
    for a, b in zip(arrs, r):
        assert type(b) is np.ndarray and b.shape == a.shape and b.dtype.kind == a.dtype.kind
        np.testing.assert_array_equal(a, b)
    assert type(r[-2]) is np.float32 and r[-2] == 1.5
    assert type(r[-1]) is np.int64 and r[-1] == 3
    with pytest.raises(TypeError, match="NumPy dtype"):
        roundtrip(np.array(["a"], dtype=object))


def test_checkpoint_like_nested():
    params = {"layer.weight": ctorch.randn(4, 3), "layer.bias": ctorch.zeros(4)}
    ckpt = {"model": collections.OrderedDict(params), "epoch": 5,
            "optimizer": {"state": {0: {"step": ctorch.tensor(3.0), "exp_avg": ctorch.randn(4, 3)}},
                          "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1]}]}}
    r = roundtrip(ckpt)
    assert r["epoch"] == 5 and r["optimizer"]["param_groups"] == ckpt["optimizer"]["param_groups"]
    for k in params:
        same(r["model"][k], params[k])
    same(r["optimizer"]["state"][0]["exp_avg"], ckpt["optimizer"]["state"][0]["exp_avg"])


def test_paths_and_file_objects(tmp_path):
    t = ctorch.randn(5)
    p = tmp_path / "x.pt"
    ctorch.save(t, p)              # PathLike
    same(ctorch.load(str(p)), t)   # str
    with open(p, "rb") as f:
        same(ctorch.load(f), t)
    with open(tmp_path / "y.pt", "wb") as f:
        ctorch.save({"t": t}, f)
    same(ctorch.load(tmp_path / "y.pt")["t"], t)
    assert sorted(os.listdir(tmp_path)) == ["x.pt", "y.pt"]  # no temporary files left behind
    with pytest.raises(TypeError):
        ctorch.save(t, 3)
    with open(p, "r", encoding="latin-1") as f, pytest.raises(TypeError, match="binary"):
        ctorch.load(f)


def test_atomic_write_keeps_original_on_error(tmp_path):
    p = tmp_path / "ckpt.pt"
    ctorch.save({"a": ctorch.ones(2)}, p)
    before = p.read_bytes()

    class Custom:
        pass

    cases = [(Custom(), "Custom"), (print, "builtin_function_or_method"), (lambda: 0, "function"),
             ({"ok": 1, "bad": {1, 2}}, "set"), ({(1, 2): 3}, "tuple"), (ctorch.ones(1).device, "device")]
    for bad, name in cases:
        with pytest.raises(TypeError, match=name):
            ctorch.save(bad, p)
    with pytest.raises(TypeError, match="Custom"):
        ctorch.save([Custom()], p)
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pt"]
    buf = io.BytesIO()
    with pytest.raises(TypeError):
        ctorch.save({"a": ctorch.ones(1), "b": Custom()}, buf)
    assert buf.getvalue() == b""   # nothing written to a file object either


def test_cycles_and_depth_refused():
    a = []
    a.append(a)
    with pytest.raises(ValueError, match="nesting"):
        roundtrip(a)
    for wrap in (lambda d: [d], lambda d: (d,), lambda d: {1: d}):
        deep = None
        for _ in range(200):   # the documented maximum nesting both saves and loads
            deep = wrap(deep)
        assert roundtrip(deep) == deep
        with pytest.raises(ValueError, match="nesting"):
            roundtrip(wrap(wrap(deep)))


def test_map_location():
    t = ctorch.arange(4.0)
    for ml in ("cpu", ctorch.device("cpu"), {"cpu": "cpu"}, lambda s, loc: s, lambda s, loc: None):
        same(roundtrip(t, map_location=ml), t)
    seen = []
    roundtrip(t, map_location=lambda s, loc: seen.append(loc))
    assert seen == ["cpu"]
    with pytest.raises(RuntimeError, match="CUDA"):
        roundtrip(t, map_location="cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        roundtrip(t, map_location={"cpu": "cuda:0"})
    with pytest.raises(TypeError):
        roundtrip(t, map_location=3)
    assert roundtrip(t, weights_only=False).tolist() == t.tolist()


def test_rejects_non_ctorch_files(tmp_path):
    with pytest.raises(ValueError, match="magic"):
        ctorch.load(io.BytesIO(b"hello world, this is not it"))
    with pytest.raises(ValueError, match="pickle"):
        ctorch.load(io.BytesIO(b"\x80\x04" + b"\x00" * 30))
    with pytest.raises(ValueError, match="too short"):
        ctorch.load(io.BytesIO(b"CTORCH"))


# ---- hostile files

def _split(data):
    magic, version, hlen = _PREFIX.unpack_from(data, 0)
    header = json.loads(data[_PREFIX.size:_PREFIX.size + hlen])
    head = _PREFIX.size + hlen
    return header, data[head + (-head) % 64:]


def _join(header, body, version=1):
    h = json.dumps(header).encode()
    head = _PREFIX.size + len(h)
    return _PREFIX.pack(b"CTORCH\x00\x01", version, len(h)) + h + b"\0" * ((-head) % 64) + body


def _sample_file():
    base = ctorch.arange(12.0).reshape(3, 4)
    obj = {"w": base.requires_grad_(), "v": base.detach()[1:, ::2], "b": ctorch.ones(3, dtype=ctorch.bool),
           "h": ctorch.zeros(2, dtype=ctorch.bfloat16), 1: (2, 3.5, None, "s"), "n": np.arange(3),
           "e": ctorch.zeros(0, dtype=ctorch.int64)}
    buf = io.BytesIO()
    ctorch.save(obj, buf)
    return buf.getvalue()


def test_hostile_headers_raise_clear_errors():
    data = _sample_file()
    header, body = _split(data)
    assert ctorch.load(io.BytesIO(_join(header, body)))["w"].shape == (3, 4)

    def expect(mutate, match):
        h = json.loads(json.dumps(header))
        mutate(h)
        if match is None:   # valid (a zero-stride view is legal): loads without allocating its numel
            return ctorch.load(io.BytesIO(_join(h, body)))
        with pytest.raises(ValueError, match=match):
            ctorch.load(io.BytesIO(_join(h, body)))

    t0 = next(i for i, t in enumerate(header["tensors"]) if t["shape"] == [3, 4])
    expect(lambda h: h["tensors"][t0].update(shape=[2 ** 20, 2 ** 20]), "reaches byte")
    expect(lambda h: h["tensors"][t0].update(shape=[2 ** 40, 2 ** 40]), "too many elements")
    expect(lambda h: h["tensors"][t0].update(shape=[2 ** 20, 4], stride=[0, 1]), None)
    expect(lambda h: h["tensors"][t0].update(shape=[-1, 4]), "shape")
    expect(lambda h: h["tensors"][t0].update(stride=[4]), "strides")
    expect(lambda h: h["tensors"][t0].update(offset=1), "reaches byte")
    expect(lambda h: h["tensors"][t0].update(dtype="complex128"), "dtype")
    expect(lambda h: h["tensors"][t0].update(dtype="__class__"), "dtype")
    expect(lambda h: h["tensors"][t0].update(shape=[2] * 65), "shape")
    expect(lambda h: h["storages"][0].update(nbytes=10 ** 12), "nbytes|past the end")
    expect(lambda h: h["storages"][0].update(offset=3), "aligned")
    expect(lambda h: h["storages"][0].update(offset=10 ** 9), "offset|past the end")
    expect(lambda h: h.update(byteorder="big"), "little")
    expect(lambda h: h.update(root={"t": "pickle", "v": "os.system"}), "unknown node")
    expect(lambda h: h.update(root={"t": "tensor", "v": 99}), "tensor index")
    expect(lambda h: h.update(root={"t": "int", "v": "1e5"}), "int")
    expect(lambda h: h.update(extra=1), "unknown keys")
    expect(lambda h: h.update(root={"t": "dict", "v": [[{"t": "list", "v": []}, {"t": "none"}]]}), "keys")
    deep = {"t": "none"}
    for _ in range(300):
        deep = {"t": "list", "v": [deep]}
    expect(lambda h: h.update(root=deep), "nesting|JSON")
    with pytest.raises(ValueError, match="version"):
        ctorch.load(io.BytesIO(_join(header, body, version=2)))
    with pytest.raises(ValueError, match="header length"):
        ctorch.load(io.BytesIO(_PREFIX.pack(b"CTORCH\x00\x01", 1, 2 ** 63) + b"{}"))
    with pytest.raises(ValueError, match="JSON"):
        ctorch.load(io.BytesIO(_PREFIX.pack(b"CTORCH\x00\x01", 1, 1000) + b"[" * 1000))


_JUNK = [-1, 0, 1, 3, 2 ** 31, 2 ** 40, 2 ** 63, 2 ** 64 + 1, 1.5, True, None, "x", "float32", "bfloat16",
         "cuda", "int64", [], {}, [2 ** 40] * 3, [0], [1, 1], {"t": "none"}]


def _random_edit(rng, tree):
    """Replace one value chosen uniformly among all slots of the JSON tree (or drop a dict key)."""
    slots = []
    stack = [tree]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
        for k in keys:
            slots.append((node, k))
            stack.append(node[k])
    if not slots:
        return tree
    node, k = rng.choice(slots)
    if isinstance(node, dict) and rng.random() < 0.1:
        del node[k]
    else:
        node[k] = json.loads(json.dumps(rng.choice(_JUNK)))  # a fresh copy: later edits never alias
    return tree


def _mutations(data, rng, split, join, n):
    for i in range(n):
        kind = i % 4
        if kind == 0:       # random byte flips, biased toward the prefix and header
            b = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(min(len(b), 400) if rng.random() < 0.8 else len(b))
                b[pos] ^= 1 << rng.randrange(8)
            yield bytes(b)
        elif kind == 1:     # truncation
            yield data[:rng.randrange(len(data))]
        else:               # structured header edits, re-encoded with consistent lengths
            header, body = split(data)
            for _ in range(rng.randint(1, 3)):
                header = _random_edit(rng, header)
            if kind == 3 and rng.random() < 0.5:
                body = body[:rng.randrange(len(body) + 1)]
            yield join(header, body)


def test_fuzz_load_only_raises_python_errors():
    rng = random.Random(1234)
    data = _sample_file()
    ok = failed = 0
    for bad in _mutations(data, rng, _split, _join, 600):
        try:
            r = ctorch.load(io.BytesIO(bad))
            ok += 1
        except (ValueError, RuntimeError, TypeError) as e:
            assert str(e)
            failed += 1
        else:
            del r
    assert failed > 300 and ok + failed == 600


# ---- safetensors

def _st_tensors():
    return {"f32": ctorch.randn(3, 4).t(), "f16": make(ctorch.float16, (2, 3)),
            "bf16": make(ctorch.bfloat16, (5,)), "f64": make(ctorch.float64, ()), "i64": make(ctorch.int64, (2, 2)),
            "i32": make(ctorch.int32, (0, 3)), "i16": make(ctorch.int16, (4,)), "i8": make(ctorch.int8, (3,)),
            "u8": make(ctorch.uint8, (3,)), "bool": make(ctorch.bool, (2, 3))}


def test_safetensors_roundtrip(tmp_path):
    ts = _st_tensors()
    data = st.save(ts, metadata={"format": "pt"})
    assert int.from_bytes(data[:8], "little") % 8 == 0
    r = st.load(data)
    assert sorted(r) == sorted(ts)
    for k in ts:
        same(r[k], ts[k])
        assert r[k].is_contiguous()
    assert st._metadata(data) == {"format": "pt"}
    p = tmp_path / "m.safetensors"
    st.save_file(ts, p)
    r = st.load_file(p)
    for k in ts:
        same(r[k], ts[k])
    assert os.listdir(tmp_path) == ["m.safetensors"]
    with pytest.raises(RuntimeError, match="CUDA"):
        st.load_file(p, device="cuda")
    with pytest.raises(TypeError):
        st.save({"a": np.zeros(2)})
    with pytest.raises(TypeError):
        st.save({"a": ctorch.ones(1)}, metadata={"k": 1})


def test_safetensors_interop_with_reference_package():
    sn = pytest.importorskip("safetensors.numpy")
    ts = {k: v for k, v in _st_tensors().items() if k != "bf16"}   # NumPy has no bfloat16
    theirs = sn.load(st.save(ts, metadata={"a": "b"}))
    for k, v in ts.items():
        np.testing.assert_array_equal(theirs[k], v.contiguous().numpy())
    arrays = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": np.array([True, False]),
              "z": np.zeros((0, 2), dtype=np.int64), "w": np.array(2.5, dtype=np.float16)}
    mine = st.load(sn.save(arrays, metadata={"k": "v"}))
    for k, a in arrays.items():
        np.testing.assert_array_equal(mine[k].numpy(), a)


def test_safetensors_bf16_interop_with_torch():
    torch = pytest.importorskip("torch")
    sto = pytest.importorskip("safetensors.torch")
    x = torch.randn(4, 3).to(torch.bfloat16)
    mine = st.load(sto.save({"x": x}))
    assert mine["x"].dtype == ctorch.bfloat16
    np.testing.assert_array_equal(mine["x"].float().numpy(), x.float().numpy())
    back = sto.load(st.save(mine))
    assert torch.equal(back["x"], x)


def _st_split(data):
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def _st_join(header, body):
    h = json.dumps(header).encode()
    return len(h).to_bytes(8, "little") + h + body


def test_safetensors_hostile_headers():
    data = st.save({"a": ctorch.ones(2, 3), "b": ctorch.zeros(4, dtype=ctorch.int8)})
    header, body = _st_split(data)

    def expect(mutate, match, cut=None):
        h = json.loads(json.dumps(header))
        mutate(h)
        with pytest.raises(ValueError, match=match):
            st.load(_st_join(h, body if cut is None else body[:cut]))

    expect(lambda h: h["a"].update(shape=[2 ** 40, 2 ** 40]), "bytes but dtype")
    expect(lambda h: h["a"].update(dtype="F8_E4M3X"), "dtype")
    expect(lambda h: h["a"].update(shape=[-2, -3]), "shape")
    expect(lambda h: h["a"].update(data_offsets=[0, 2 ** 60]), "bytes but dtype")
    expect(lambda h: h["b"].update(data_offsets=[0, 4]), "gap or overlap")
    expect(lambda h: h["a"].update(data_offsets=[24, 0]), "data_offsets")
    expect(lambda h: h.update(extra={"dtype": "U8", "shape": [1], "data_offsets": [28, 29]}), "data section")
    expect(lambda h: None, "data section", cut=27)
    expect(lambda h: h.update(__metadata__={"k": 1}), "metadata")
    expect(lambda h: h["a"].update(x=1), "exactly")
    with pytest.raises(ValueError, match="100 MB"):
        st.load((10 ** 9).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="exceeds the data size"):
        st.load((50).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="8-byte"):
        st.load(b"\x01")


def test_fuzz_safetensors_only_raises_python_errors():
    rng = random.Random(99)
    data = st.save({"a": ctorch.randn(2, 3), "b": ctorch.ones(4, dtype=ctorch.bfloat16),
                    "c": ctorch.zeros(0, dtype=ctorch.int64)}, metadata={"m": "x"})
    failed = 0
    for bad in _mutations(data, rng, _st_split, _st_join, 600):
        try:
            st.load(bad)
        except (ValueError, TypeError) as e:
            assert str(e)
            failed += 1
    assert failed > 300
