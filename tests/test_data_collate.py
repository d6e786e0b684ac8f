"""default_collate / default_convert: outputs (types, dtypes, shapes, values) equal to PyTorch's on nested
structures of tensors, ndarrays, numbers, strings, mappings, namedtuples and sequences."""
import collections

import numpy as np
import pytest

import ctorch
from ctorch.utils.data import default_collate, default_convert
from ctorch.utils.data._utils.collate import collate, default_collate_fn_map

Point = collections.namedtuple("Point", ["x", "y"])

NP_TO_CT = {np.dtype(k): v for k, v in [
    ("bool", ctorch.bool), ("uint8", ctorch.uint8), ("int8", ctorch.int8), ("int16", ctorch.int16),
    ("int32", ctorch.int32), ("int64", ctorch.int64), ("float16", ctorch.float16),
    ("float32", ctorch.float32), ("float64", ctorch.float64)]}


def to_torch_input(x, torch):
    """The same sample with ctorch tensors replaced by torch tensors (other leaves shared)."""
    if isinstance(x, ctorch.Tensor):
        return torch.from_numpy(x.numpy().copy())
    if isinstance(x, Point):
        return Point(*(to_torch_input(v, torch) for v in x))
    if isinstance(x, dict):
        return type(x)((k, to_torch_input(v, torch)) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return type(x)(to_torch_input(v, torch) for v in x)
    return x


def assert_same(ours, theirs, torch):
    """ours (ctorch) matches theirs (torch): container types, keys, tensor dtypes/shapes/values, other leaves."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ctorch.Tensor), (type(ours), theirs)
        exp = theirs.numpy()
        act = ours.numpy()
        assert act.dtype == exp.dtype and act.shape == exp.shape, (act, exp)
        np.testing.assert_array_equal(act, exp)
        return
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            assert_same(ours[k], theirs[k], torch)
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, torch)
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs


def samples(i):
    """A few batches (lists of samples) exercising every branch of default_collate."""
    rng = np.random.default_rng(i)
    return {
        "ints": [1, 2, 3],
        "floats": [1.5, -2.0, 3.25],
        "bools": [True, False, True],
        "strs": ["a", "bb", "c"],
        "bytes": [b"x", b"y"],
        "np_scalars_f32": [np.float32(1.5), np.float32(2.5)],
        "np_scalars_i16": [np.int16(3), np.int16(-4)],
        "np_scalars_bool": [np.bool_(True), np.bool_(False)],
        "np_scalars_f64": [np.float64(0.1), np.float64(0.2)],
        "np_scalars_mixed": [np.int64(1), np.float32(2.5)],
        "np_scalars_u8_i8": [np.uint8(200), np.int8(-3)],
        "np_scalars_f16": [np.float16(0.5), np.float16(1.5)],
        "np_0d": [np.array(1.0, dtype=np.float32), np.array(2.0, dtype=np.float32)],
        "ndarrays": [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(4)],
        "ndarrays_int": [rng.integers(0, 9, (3,)) for _ in range(2)],
        "ndarrays_u8": [rng.integers(0, 255, (2, 2), dtype=np.uint8) for _ in range(3)],
        "ndarrays_noncontig": [rng.standard_normal((4, 6))[::2, ::3] for _ in range(2)],
        "tensors": [ctorch.tensor(rng.standard_normal((3, 2))) for _ in range(3)],
        "tensors_0d": [ctorch.tensor(2, dtype=ctorch.int32), ctorch.tensor(5, dtype=ctorch.int32)],
        "tensors_empty": [ctorch.zeros(0, 3), ctorch.zeros(0, 3)],
        "tuples": [(ctorch.tensor([1.0, 2.0]), 3, "s"), (ctorch.tensor([3.0, 4.0]), 4, "t")],
        "lists": [[1, 2.0, np.int64(3)], [4, 5.0, np.int64(6)]],
        "dicts": [{"img": ctorch.ones(2, 2), "label": 1, "name": "a"},
                  {"img": ctorch.zeros(2, 2), "label": 0, "name": "b"}],
        "ordered": [collections.OrderedDict([("b", 1), ("a", 2.0)]),
                    collections.OrderedDict([("b", 3), ("a", 4.0)])],
        "namedtuples": [Point(1, np.float32(2)), Point(3, np.float32(4))],
        "nested": [{"p": Point(ctorch.tensor([i, i + 1]), [i, {"k": float(i)}]),
                    "arr": np.arange(3) * i, "t": (i, str(i))} for i in range(3)],
    }


@pytest.mark.parametrize("name", list(samples(0)))
def test_default_collate_like_torch(name):
    torch = pytest.importorskip("torch")
    batch = samples(0)[name]
    ours = default_collate(batch)
    theirs = torch.utils.data.default_collate(to_torch_input(batch, torch))
    assert_same(ours, theirs, torch)


@pytest.mark.parametrize("name", list(samples(0)))
def test_default_convert_like_torch(name):
    torch = pytest.importorskip("torch")
    batch = samples(0)[name]
    ours = default_convert(batch)
    theirs = torch.utils.data.default_convert(to_torch_input(batch, torch))
    assert_same(ours, theirs, torch)
    # Each sample on its own too (default_convert is applied per sample when batching is off).
    for s in batch:
        assert_same(default_convert(s), torch.utils.data.default_convert(to_torch_input(s, torch)), torch)


def test_default_collate_values():
    out = default_collate([1, 2, 3])
    assert out.dtype == ctorch.int64 and out.tolist() == [1, 2, 3]
    out = default_collate([1.0, 2.5])
    assert out.dtype == ctorch.float64 and out.tolist() == [1.0, 2.5]
    out = default_collate([True, False])
    assert out.dtype == ctorch.bool and out.tolist() == [True, False]
    assert default_collate(["a", "b"]) == ["a", "b"]
    out = default_collate([ctorch.tensor([1, 2]), ctorch.tensor([3, 4])])
    assert out.tolist() == [[1, 2], [3, 4]]
    out = default_collate([{"a": 0, "b": 1}, {"a": 100, "b": 100}])
    assert out["a"].tolist() == [0, 100] and out["b"].tolist() == [1, 100]
    out = default_collate([Point(0, 0), Point(1, 1)])
    assert isinstance(out, Point) and out.x.tolist() == [0, 1]
    out = default_collate([(0, 1), (2, 3)])
    assert isinstance(out, list) and [o.tolist() for o in out] == [[0, 2], [1, 3]]
    out = default_collate([np.arange(3, dtype=np.float32), np.ones(3, dtype=np.float32)])
    assert out.dtype == ctorch.float32 and out.tolist() == [[0, 1, 2], [1, 1, 1]]
    out = default_collate([np.float32(1), np.float32(2)])
    assert out.dtype == ctorch.float32 and out.tolist() == [1.0, 2.0]


def test_default_collate_noncontiguous_tensors():
    from conftest import noncontiguous, make_tensor
    ts = [make_tensor((3, 4), dt, seed=i) for i, dt in enumerate([ctorch.float32] * 3)]
    out = default_collate([noncontiguous(t) for t in ts])
    assert tuple(out.shape) == (3, 3, 4)
    for i, t in enumerate(ts):
        np.testing.assert_array_equal(out[i].numpy(), t.numpy())


@pytest.mark.parametrize("dtype", [ctorch.bool, ctorch.uint8, ctorch.int32, ctorch.float16, ctorch.bfloat16,
                                   ctorch.float64])
def test_default_collate_keeps_tensor_dtype(dtype):
    from conftest import make_tensor, to_np
    ts = [make_tensor((2,), dtype, seed=i) for i in range(3)]
    out = default_collate(ts)
    assert out.dtype == dtype and tuple(out.shape) == (3, 2)
    np.testing.assert_array_equal(to_np(out), np.stack([to_np(t) for t in ts]))


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([(1, 2), (3, 4, 5)])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays, numbers, "
                                        "dicts or lists; found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="found <class 'NoneType'>"):
        default_collate([None, None])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(TypeError, match="found object"):
        default_collate([np.array([{}], dtype=object)] * 2)
    with pytest.raises(RuntimeError):  # stacking tensors of different shapes
        default_collate([ctorch.zeros(2), ctorch.zeros(3)])
    with pytest.raises(IndexError):
        default_collate([])


def test_default_collate_errors_like_torch():
    torch = pytest.importorskip("torch")
    cases = [
        [[1, 2], [3]],
        [object(), object()],
        [None, None],
        [np.array(["a"]), np.array(["b"])],
        [np.array([{}], dtype=object)] * 2,
        [{"a": 1}, {"b": 2}],
        [],
    ]
    for batch in cases:
        with pytest.raises(Exception) as theirs:
            torch.utils.data.default_collate(batch)
        with pytest.raises(type(theirs.value)) as ours:
            default_collate(batch)
        assert str(ours.value).replace("ctorch", "torch") == str(theirs.value), batch


def test_default_convert_leaves():
    assert default_convert(0) == 0 and default_convert("s") == "s" and default_convert(None) is None
    t = ctorch.ones(2)
    assert default_convert(t) is t
    out = default_convert(np.array([0, 1]))
    assert isinstance(out, ctorch.Tensor) and out.dtype == ctorch.int64 and out.tolist() == [0, 1]
    strs = np.array(["a", "b"])
    assert default_convert(strs) is strs  # string arrays are left alone
    assert default_convert(np.str_("x")) == "x"
    out = default_convert(Point(np.array(0), np.array(1)))
    assert isinstance(out, Point) and out.x.item() == 0
    out = default_convert((np.array([1.0]), 2))
    assert isinstance(out, list) and out[1] == 2 and out[0].dtype == ctorch.float64
    out = default_convert({"a": np.float32(3)})
    assert out["a"].dtype == ctorch.float32


def test_mapping_type_preserved():
    dd = collections.defaultdict(list, {"x": 1})
    out = default_collate([dd, collections.defaultdict(list, {"x": 2})])
    assert isinstance(out, collections.defaultdict) and out.default_factory is list
    assert out["x"].tolist() == [1, 2]

    class Frozen(collections.abc.Mapping):  # immutable mapping that cannot be built from a dict
        def __init__(self, **kw):
            self._d = kw

        def __getitem__(self, k):
            return self._d[k]

        def __iter__(self):
            return iter(self._d)

        def __len__(self):
            return len(self._d)
    out = default_collate([Frozen(a=1), Frozen(a=2)])
    assert type(out) is dict and out["a"].tolist() == [1, 2]


def test_collate_fn_map_extension():
    class Box:
        def __init__(self, v):
            self.v = v

    def collate_box(batch, *, collate_fn_map=None):
        return sum(b.v for b in batch)
    custom = {**default_collate_fn_map, Box: collate_box}
    out = collate([{"b": Box(1), "n": 1}, {"b": Box(2), "n": 2}], collate_fn_map=custom)
    assert out["b"] == 3 and out["n"].tolist() == [1, 2]
    # Subclasses match a registered base class through isinstance.

    class SubBox(Box):
        pass
    assert collate([SubBox(4), SubBox(5)], collate_fn_map=custom) == 9
    with pytest.raises(TypeError):
        default_collate([Box(1)])


def test_import_does_not_load_numpy_and_numpy_entries_come_later():
    import subprocess
    import sys
    code = ("import sys, ctorch, ctorch.utils.data as d\n"
            "from ctorch.utils.data._utils.collate import default_collate_fn_map as m\n"
            "assert 'numpy' not in sys.modules\n"
            "print(d.default_collate([1, 2]).tolist())\n"
            "import numpy as np\n"
            "t = d.default_collate([np.float32(1), np.float32(2)])\n"
            "print(t.dtype, d.default_collate([np.zeros(2), np.ones(2)]).tolist())\n"
            "print([k.__name__ if isinstance(k, type) else 'scalars' for k in m])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[1, 2]", "ctorch.float32 [[0.0, 0.0], [1.0, 1.0]]",
                                "['Tensor', 'ndarray', 'scalars', 'float', 'int', 'str', 'bytes']"]
