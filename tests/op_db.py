"""The elementwise op database (in the spirit of PyTorch's OpInfo): every op with its NumPy
reference, supported dtypes, sample inputs, and the reference type-promotion rules."""
import math

import numpy as np
import scipy.special as _sp

import ctorch
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, make_tensor, noncontiguous, to_np

B, U8, I8, I16, I32, I64 = ctorch.bool, ctorch.uint8, ctorch.int8, ctorch.int16, ctorch.int32, ctorch.int64
F16, BF16, F32, F64 = ctorch.float16, ctorch.bfloat16, ctorch.float32, ctorch.float64
NUMERIC = INT_DTYPES + FLOAT_DTYPES  # everything but bool
INTEGRAL = [B] + INT_DTYPES

NP_OF = {B: np.bool_, U8: np.uint8, I8: np.int8, I16: np.int16, I32: np.int32, I64: np.int64,
         F16: np.float16, BF16: np.float32, F32: np.float32, F64: np.float64}


# ---------------------------------------------------------------- reference type promotion

def is_float(d):
    return d in FLOAT_DTYPES


def ref_promote(a, b):
    """PyTorch's promote_types written out: bool < integers < floats, uint8 with a signed int
    widens to a signed type, float16 with bfloat16 meets at float32."""
    if a == b:
        return a
    if a == B:
        return b
    if b == B:
        return a
    if is_float(a) != is_float(b):
        return a if is_float(a) else b
    if is_float(a):
        if {a, b} == {F16, BF16}:
            return F32
        return a if a.itemsize > b.itemsize else b
    if U8 in (a, b):
        other = b if a == U8 else a
        return I16 if other == I8 else other
    return a if a.itemsize > b.itemsize else b


def _category(d):
    return 0 if d == B else (1 if not is_float(d) else 2)


def ref_result_type(*operands):
    """The dtype of an elementwise op over tensors and Python numbers: dimensioned tensors lead,
    then 0-d tensors, then Python numbers (weak); a lower class only counts when it brings a
    higher category (bool < int < float)."""
    dims, zeros, wrapped = None, None, None
    for x in operands:
        if isinstance(x, ctorch.Tensor):
            if x.dim() > 0:
                dims = x.dtype if dims is None else ref_promote(dims, x.dtype)
            else:
                zeros = x.dtype if zeros is None else ref_promote(zeros, x.dtype)
        else:
            d = B if isinstance(x, bool) else (I64 if isinstance(x, int) else ctorch.get_default_dtype())
            wrapped = d if wrapped is None else ref_promote(wrapped, d)

    def combine(hi, lo):
        if hi is None:
            return lo
        if lo is None:
            return hi
        if _category(lo) > _category(hi):
            return ref_promote(hi, lo)
        return hi

    return combine(dims, combine(zeros, wrapped))


def as_np(x, dtype):
    """An operand (tensor or Python number) as a NumPy array holding its value in `dtype`
    (rounded exactly as a cast to `dtype` rounds it), widened for bfloat16."""
    if isinstance(x, ctorch.Tensor):
        return to_np(x.to(dtype))
    # Through float64, so a Python float is rounded once, straight to `dtype`.
    return to_np(ctorch.tensor(x, dtype=F64 if isinstance(x, float) else None).to(dtype))


def round_to(ref, dtype):
    """A float64 reference rounded to a floating result dtype (overflowing to inf as it must)."""
    if not is_float(dtype) or ref.dtype == np.bool_:
        return ref
    if dtype == BF16:
        return to_np(ctorch.tensor(ref.astype(np.float64)).to(BF16))
    return ref.astype(NP_OF[dtype])


# ---------------------------------------------------------------- the database

class OpInfo:
    """One elementwise op.

    kind: 'unary_float' (result is floating), 'unary_same' (keeps dtype), 'unary_pred' (bool),
    'arith' (promoted dtype), 'float_result' (promoted, integers -> default float), 'bits',
    'pred' (bool result), or 'custom' (composites with their own sample function).
    """

    def __init__(self, name, ref, kind, dtypes, *, torch_name=None, low=-5, high=5, rhs_low=None,
                 rhs_high=None, nonzero_rhs=False, rtol=None, atol=None, method=True,
                 inplace=True, operators=(), samples=None, result=None, torch_fn=None,
                 special=True):
        self.name, self.ref, self.kind, self.dtypes = name, ref, kind, list(dtypes)
        self.torch_name = torch_name or name
        self.torch_fn = torch_fn  # a callable(torch, *args) when not torch.<torch_name>
        self.low, self.high = low, high
        self.rhs_low = low if rhs_low is None else rhs_low
        self.rhs_high = high if rhs_high is None else rhs_high
        self.nonzero_rhs = nonzero_rhs
        self.rtol, self.atol = rtol, atol
        self.method, self.inplace, self.operators = method, inplace, operators
        self.sample_fn = samples
        self.special = special  # NaN/inf/signed-zero operands are part of the samples
        # The in-place method (x.exp_()), or None.
        self.inplace_name = (inplace if isinstance(inplace, str) else name + "_") if inplace else None
        self.result_fn = result

    def __repr__(self):
        return self.name

    @property
    def arity(self):
        return 1 if self.kind.startswith("unary") else 2

    def fn(self):
        return getattr(ctorch, self.name)

    def result_dtype(self, *args):
        if self.result_fn is not None:
            return self.result_fn(*args)
        common = ref_result_type(*args)
        if self.kind in ("unary_pred", "pred"):
            return B
        if self.kind in ("unary_float", "float_result") and not is_float(common):
            return ctorch.get_default_dtype()
        return common

    def compute_dtype(self, *args):
        common = ref_result_type(*args)
        if self.kind in ("unary_float", "float_result") and not is_float(common):
            return ctorch.get_default_dtype()
        return common

    def reference(self, *args):
        """The expected values: inputs rounded to the compute dtype, then the NumPy function in
        float64 (floating compute) or in the compute dtype itself (integers wrap like C)."""
        compute = self.compute_dtype(*args)
        arrays = [as_np(a, compute) for a in args]
        if is_float(compute):
            arrays = [a.astype(np.float64) for a in arrays]
        with np.errstate(all="ignore"):
            return round_to(np.asarray(self.ref(*arrays)), self.result_dtype(*args))

    # ---- samples: (args, kwargs, description)
    def samples(self, dtype):
        if self.sample_fn is not None:
            yield from self.sample_fn(self, dtype)
            return
        if self.arity == 1:
            yield from self._unary_samples(dtype)
        else:
            yield from self._binary_samples(dtype)

    def _t(self, shape, dtype, seed=0, rhs=False):
        lo, hi = (self.rhs_low, self.rhs_high) if rhs else (self.low, self.high)
        t = make_tensor(shape, dtype, low=lo, high=hi, seed=seed)
        if rhs and self.nonzero_rhs and dtype not in FLOAT_DTYPES and t.numel():
            t = ctorch.where(t == 0, ctorch.ones_like(t), t)
        return t

    def _unary_samples(self, dtype):
        yield (self._t((5,), dtype),), {}, "1d"
        yield (self._t((3, 4), dtype, 1),), {}, "2d"
        yield (noncontiguous(self._t((3, 4), dtype, 2)),), {}, "noncontig"
        yield (self._t((4, 3), dtype, 3).transpose(0, 1),), {}, "transposed"
        yield (self._t((), dtype, 4),), {}, "0d"
        yield (self._t((0, 3), dtype),), {}, "empty"
        yield (self._t((2, 1, 3), dtype, 5).expand(2, 4, 3),), {}, "expanded"
        if dtype in FLOAT_DTYPES:
            yield (ctorch.tensor([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 0.5, -2.5,
                                  1.5]).to(dtype),), {}, "special"
        elif dtype != B and self.low < 0:
            yield (_extremes(dtype),), {}, "extremes"
        # Big enough for the threaded path, in a layout that can't be flattened.
        yield (self._t((160, 130), dtype, 6).transpose(0, 1),), {}, "large"

    def _binary_samples(self, dtype):
        t = lambda shape, seed=0, rhs=False: self._t(shape, dtype, seed, rhs)  # noqa: E731
        yield (t((3, 4)), t((3, 4), 1, True)), {}, "same shape"
        yield (t((3, 4)), t((4,), 2, True)), {}, "broadcast row"
        yield (t((3, 1)), t((1, 4), 3, True)), {}, "broadcast both"
        yield (t((2, 3, 4), 4), t((3, 1), 5, True)), {}, "broadcast 3d"
        yield (noncontiguous(t((3, 4), 6)), noncontiguous(t((3, 4), 7, True))), {}, "noncontig"
        yield (t((4, 3), 8).transpose(0, 1), t((3, 4), 9, True)), {}, "transposed"
        yield (t((), 10), t((), 11, True)), {}, "0d"
        yield (t((3,), 12), t((), 13, True)), {}, "tensor op 0d"
        yield (t((0, 3)), t((3,), 14, True)), {}, "empty"
        yield (t((150, 140), 21).transpose(0, 1), t((150, 1), 22, True).transpose(0, 1)), {}, "large"
        if dtype in FLOAT_DTYPES and self.special:
            a = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1.5, -2.5, 3.0, 7.0, -0.0]
            b = [1.0, 2.0, float("nan"), -0.0, 0.0, float("inf"), -float("inf"), -2.0, 0.0, 3.0]
            ta, tb = ctorch.tensor(a).to(dtype), ctorch.tensor(b).to(dtype)
            yield (ta, tb), {}, "special"
            yield (tb, ta), {}, "special swapped"
        if dtype in INT_DTYPES and dtype != U8 and self.kind in ("arith", "pred") and self.low < 0:
            info = np.iinfo(NP_OF[dtype])
            lo, hi = int(info.min), int(info.max)
            lhs = ctorch.tensor([lo, hi, -1, 0, 1, lo, hi]).to(dtype)
            rhs = ctorch.tensor([-1, 1, lo, hi, -1, lo, hi]).to(dtype)  # INT_MIN // -1 included
            yield (lhs, rhs), {}, "extremes"
        # Python numbers on either side (weak in promotion).
        for s in self._scalars(dtype):
            yield (t((2, 3), 15), s), {}, f"scalar rhs {s!r}"
            yield (s, t((2, 3), 16, True)), {}, f"scalar lhs {s!r}"
        # Mixed dtypes: promotion.
        for other in self._partners(dtype):
            yield (t((2, 3), 17), self._t((2, 3), other, 18, True)), {}, f"mixed {other}"
            yield (self._t((3,), other, 19), t((), 20, True)), {}, f"0d {dtype} with {other}"

    def _scalars(self, dtype):
        if self.kind == "bits":
            return [3, True] if dtype != B else [True]
        vals = [2, 2.5, True] if self.kind != "arith" or self.name not in ("pow",) else [2, 0.5]
        if self.nonzero_rhs or self.name in ("pow", "sub"):
            vals = [v for v in vals if v is not True]
        return vals

    def _partners(self, dtype):
        if self.kind == "bits":
            return [d for d in (B, U8, I8, I32, I64) if d != dtype]
        picks = {B: [I32, F32], U8: [I8, F16], I8: [U8, I64], I16: [I32, BF16], I32: [F32, I64],
                 I64: [F16, I8], F16: [BF16, F64], BF16: [F16, I64], F32: [F64, I16],
                 F64: [F32, U8]}[dtype]
        return [d for d in picks if d in self.dtypes]


def _extremes(dtype):
    """The smallest and largest values of an integer dtype with -1, 0 and 1 (wraparound cases)."""
    info = np.iinfo(NP_OF[dtype])
    return ctorch.tensor([int(info.min), int(info.max), -1, 0, 1]).to(dtype)


# ---- NumPy references for the less common functions
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _gelu(x):
    return 0.5 * x * (1.0 + _sp.erf(x / math.sqrt(2.0)))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _shift_right(a, b):
    return np.right_shift(a, b.astype(a.dtype))


def _shift_left(a, b):
    return np.left_shift(a, b.astype(a.dtype))


def _logical(fn):
    return lambda a, b: fn(a != 0, b != 0)


def _torch_gelu(torch, x, approximate="none"):
    return torch.nn.functional.gelu(x, approximate=approximate)


ALL = ALL_DTYPES
UNARY_FLOAT_OPS = [
    OpInfo("exp", np.exp, "unary_float", ALL),
    OpInfo("exp2", np.exp2, "unary_float", ALL),
    OpInfo("expm1", np.expm1, "unary_float", ALL),
    OpInfo("log", np.log, "unary_float", ALL, low=0.01, high=10),
    OpInfo("log2", np.log2, "unary_float", ALL, low=0.01, high=10),
    OpInfo("log10", np.log10, "unary_float", ALL, low=0.01, high=10),
    OpInfo("log1p", np.log1p, "unary_float", ALL, low=-0.9, high=10),
    OpInfo("sqrt", np.sqrt, "unary_float", ALL, low=0, high=10),
    OpInfo("rsqrt", lambda x: 1.0 / np.sqrt(x), "unary_float", ALL, low=0.1, high=10),
    OpInfo("reciprocal", lambda x: 1.0 / x, "unary_float", ALL, low=0.5, high=5),
    OpInfo("sin", np.sin, "unary_float", ALL),
    OpInfo("cos", np.cos, "unary_float", ALL),
    OpInfo("tan", np.tan, "unary_float", ALL, low=-1.2, high=1.2),
    OpInfo("asin", np.arcsin, "unary_float", ALL, low=-1, high=1),
    OpInfo("acos", np.arccos, "unary_float", ALL, low=-1, high=1),
    OpInfo("atan", np.arctan, "unary_float", ALL),
    OpInfo("sinh", np.sinh, "unary_float", ALL),
    OpInfo("cosh", np.cosh, "unary_float", ALL),
    OpInfo("tanh", np.tanh, "unary_float", ALL),
    OpInfo("sigmoid", _sigmoid, "unary_float", ALL),
    OpInfo("erf", _sp.erf, "unary_float", ALL, low=-3, high=3),
    OpInfo("erfc", _sp.erfc, "unary_float", ALL, low=-3, high=3),
    OpInfo("gelu", _gelu, "unary_float", FLOAT_DTYPES, torch_fn=_torch_gelu),
    OpInfo("gelu_tanh", _gelu_tanh, "unary_float", FLOAT_DTYPES, method=False,
           torch_fn=lambda torch, x: _torch_gelu(torch, x, "tanh")),
    OpInfo("silu", lambda x: x * _sigmoid(x), "unary_float", FLOAT_DTYPES,
           torch_fn=lambda torch, x: torch.nn.functional.silu(x)),
    OpInfo("frac", lambda x: x - np.trunc(x), "unary_float", FLOAT_DTYPES),
]

UNARY_SAME_OPS = [
    OpInfo("neg", np.negative, "unary_same", NUMERIC, operators=("neg",)),
    OpInfo("abs", np.abs, "unary_same", NUMERIC, operators=("abs",)),
    # sign(nan) is 0 in PyTorch (NumPy says nan).
    OpInfo("sign", lambda x: x if x.dtype == np.bool_ else np.where(np.isnan(x), 0, np.sign(x)),
           "unary_same", ALL),
    OpInfo("square", np.square, "unary_same", NUMERIC),
    OpInfo("relu", lambda x: np.maximum(x, 0).astype(x.dtype), "unary_same", NUMERIC),
    OpInfo("floor", np.floor, "unary_same", NUMERIC),
    OpInfo("ceil", np.ceil, "unary_same", NUMERIC),
    OpInfo("round", np.round, "unary_same", NUMERIC),
    OpInfo("trunc", np.trunc, "unary_same", NUMERIC),
    OpInfo("bitwise_not", np.invert, "unary_same", INTEGRAL, operators=("invert",)),
]

UNARY_PRED_OPS = [
    OpInfo("isnan", np.isnan, "unary_pred", ALL, inplace=False),
    OpInfo("isinf", np.isinf, "unary_pred", ALL, inplace=False),
    OpInfo("isfinite", np.isfinite, "unary_pred", ALL, inplace=False),
    OpInfo("logical_not", np.logical_not, "unary_pred", ALL),
]

BINARY_OPS = [
    OpInfo("add", np.add, "arith", ALL, operators=("add",)),
    OpInfo("sub", np.subtract, "arith", NUMERIC, operators=("sub",)),
    OpInfo("mul", np.multiply, "arith", ALL, operators=("mul",)),
    OpInfo("floor_divide", np.floor_divide, "arith", NUMERIC, nonzero_rhs=True,
           operators=("floordiv",)),
    OpInfo("remainder", np.remainder, "arith", NUMERIC, nonzero_rhs=True, operators=("mod",)),
    OpInfo("fmod", np.fmod, "arith", NUMERIC, nonzero_rhs=True),
    OpInfo("pow", np.power, "arith", NUMERIC, low=0, high=4, rhs_low=0, rhs_high=3,
           operators=("pow",)),
    OpInfo("maximum", np.maximum, "arith", ALL),
    OpInfo("minimum", np.minimum, "arith", ALL),
    OpInfo("div", np.true_divide, "float_result", ALL, rhs_low=1, rhs_high=5,
           operators=("truediv",)),
    OpInfo("atan2", np.arctan2, "float_result", ALL),
    OpInfo("bitwise_and", np.bitwise_and, "bits", INTEGRAL, operators=("and",)),
    OpInfo("bitwise_or", np.bitwise_or, "bits", INTEGRAL, operators=("or",)),
    OpInfo("bitwise_xor", np.bitwise_xor, "bits", INTEGRAL, operators=("xor",)),
    OpInfo("bitwise_left_shift", _shift_left, "bits", INT_DTYPES, low=0, high=5, rhs_low=0,
           rhs_high=4, operators=("lshift",)),
    OpInfo("bitwise_right_shift", _shift_right, "bits", INT_DTYPES, rhs_low=0, rhs_high=4,
           operators=("rshift",)),
    OpInfo("eq", np.equal, "pred", ALL, low=-2, high=2, operators=("eq",)),
    OpInfo("ne", np.not_equal, "pred", ALL, low=-2, high=2, operators=("ne",)),
    OpInfo("lt", np.less, "pred", ALL, low=-2, high=2, operators=("lt",)),
    OpInfo("le", np.less_equal, "pred", ALL, low=-2, high=2, operators=("le",)),
    OpInfo("gt", np.greater, "pred", ALL, low=-2, high=2, operators=("gt",)),
    OpInfo("ge", np.greater_equal, "pred", ALL, low=-2, high=2, operators=("ge",)),
    OpInfo("logical_and", _logical(np.logical_and), "pred", ALL, low=-1, high=2),
    OpInfo("logical_or", _logical(np.logical_or), "pred", ALL, low=-1, high=2),
    OpInfo("logical_xor", _logical(np.logical_xor), "pred", ALL, low=-1, high=2),
]


# ---------------------------------------------------------------- composites

def _clamp_samples(op, dtype):
    x = make_tensor((3, 4), dtype, seed=1)
    lo = make_tensor((4,), dtype, seed=2, high=0 if dtype != U8 else 2)
    hi = make_tensor((3, 1), dtype, seed=3, low=0)
    yield (x, -2, 3), {}, "numbers"
    yield (x, None, 1), {}, "max only"
    yield (x, -1, None), {}, "min only"
    yield (x, lo, hi), {}, "tensor bounds broadcast"
    yield (noncontiguous(x), lo, None), {}, "noncontig"
    yield (make_tensor((), dtype), 0, 1), {}, "0d"
    yield (make_tensor((0, 4), dtype), lo, hi.reshape(1, 3).narrow(1, 0, 1)), {}, "empty"
    if dtype not in FLOAT_DTYPES:
        yield (x, -1.5, 2.5), {}, "float bounds promote"


def _clamp_ref(x, lo, hi):
    r = x
    if lo is not None:
        r = np.maximum(r, lo)
    if hi is not None:
        r = np.minimum(r, hi)
    return r


def _where_samples(op, dtype):
    c = make_tensor((3, 4), B, seed=1)
    yield (c, make_tensor((3, 4), dtype, seed=2), make_tensor((3, 4), dtype, seed=3)), {}, "same"
    yield (c, make_tensor((4,), dtype, seed=4), make_tensor((3, 1), dtype, seed=5)), {}, "broadcast"
    yield (noncontiguous(c), noncontiguous(make_tensor((3, 4), dtype, seed=6)), 1), {}, "noncontig scalar"
    yield (c, 2.5, make_tensor((3, 4), dtype, seed=7)), {}, "float scalar"
    yield (make_tensor((), B), make_tensor((), dtype), make_tensor((2,), dtype)), {}, "0d"
    yield (make_tensor((0, 4), B), make_tensor((4,), dtype), 0), {}, "empty"
    other = I64 if dtype != I64 else F32
    yield (c, make_tensor((3, 4), dtype, seed=8), make_tensor((3, 4), other, seed=9)), {}, "mixed"


def _lerp_samples(op, dtype):
    a, b = make_tensor((3, 4), dtype, seed=1), make_tensor((3, 4), dtype, seed=2)
    yield (a, b, 0.25), {}, "scalar weight low"
    yield (a, b, 0.75), {}, "scalar weight high"
    yield (a, make_tensor((4,), dtype, seed=3), make_tensor((3, 1), dtype, low=0, high=1, seed=4)), {}, "broadcast"
    yield (noncontiguous(a), noncontiguous(b), 0.5), {}, "noncontig"
    yield (make_tensor((), dtype), make_tensor((), dtype, seed=5), 0.3), {}, "0d"


def _addc_samples(op, dtype):
    a = make_tensor((3, 4), dtype, seed=1)
    t1, t2 = make_tensor((3, 1), dtype, seed=2), make_tensor((4,), dtype, seed=3, low=1, high=4)
    yield (a, t1, t2), {}, "broadcast"
    yield (a, t1, t2), {"value": 2}, "value int"
    if dtype in FLOAT_DTYPES:
        yield (a, t1, t2), {"value": -0.5}, "value float"
    yield (noncontiguous(a), noncontiguous(make_tensor((3, 4), dtype, seed=4)), t2), {}, "noncontig"
    yield (make_tensor((0, 4), dtype), t1.reshape(1, 3).narrow(1, 0, 1), t2), {}, "empty"


def _nan_to_num_samples(op, dtype):
    special = ctorch.tensor([float("nan"), float("inf"), -float("inf"), 1.5, -0.0]).to(dtype)
    yield (special,), {}, "defaults"
    yield (special,), {"nan": 2.0, "posinf": 10.0, "neginf": -10.0}, "explicit"
    yield (special,), {"posinf": 1.0}, "posinf only"
    yield (make_tensor((3, 4), dtype),), {}, "finite"


def _nan_to_num_ref(x, nan=0.0, posinf=None, neginf=None, *, dtype):
    info = np.finfo(NP_OF[dtype]) if dtype != BF16 else None
    big = float(info.max) if info is not None else 3.3895313892515355e38
    return np.nan_to_num(x, nan=nan, posinf=big if posinf is None else posinf,
                         neginf=-big if neginf is None else neginf)


def _round_samples(op, dtype):
    x = ctorch.tensor([1.2345, -2.5678, 0.125, 1234.5678, -0.0049]).to(dtype)
    for d in (0, 1, 2, -1, -2):
        yield (x,), {"decimals": d}, f"decimals={d}"
    yield (noncontiguous(make_tensor((3, 4), dtype)),), {"decimals": 1}, "noncontig"


def _div_mode_samples(op, dtype):
    for mode in ("trunc", "floor"):
        a = make_tensor((3, 4), dtype, seed=1, low=-9, high=9)
        b = ctorch.tensor([1, 3, 2, 4]).to(dtype)  # no zero divisors (integer division raises)
        yield (a, b), {"rounding_mode": mode}, f"{mode}"
        if dtype != U8:
            yield (a, -b), {"rounding_mode": mode}, f"{mode} negative divisor"
        yield (noncontiguous(a), 3), {"rounding_mode": mode}, f"{mode} scalar"
        yield (make_tensor((), dtype, seed=3), b), {"rounding_mode": mode}, f"{mode} 0d"


def _div_mode_ref(a, b, rounding_mode):
    if np.issubdtype(a.dtype, np.integer):
        q = np.floor_divide(a, b)
        if rounding_mode == "trunc":
            q = np.where((np.remainder(a, b) != 0) & ((a < 0) != (b < 0)), q + 1, q)
        return q
    q = a / b
    return np.trunc(q) if rounding_mode == "trunc" else np.floor(q)


def _ternary_result(*args, **kw):
    return ref_result_type(*args)


def _where_result(c, a, b):
    return ref_result_type(a, b)


def _clamp_result(x, lo=None, hi=None):
    return ref_result_type(*[v for v in (x, lo, hi) if v is not None])


class CompositeInfo(OpInfo):
    """An op with its own samples and a reference taking NumPy arrays (or None) plus kwargs."""

    def __init__(self, name, ref, dtypes, samples, result, *, ref_kwargs=None, inplace=False, **kw):
        super().__init__(name, ref, "custom", dtypes, samples=samples, result=result,
                         inplace=inplace, **kw)
        self.ref_kwargs = ref_kwargs or (lambda args, kwargs: kwargs)

    @property
    def arity(self):
        return None

    def result_dtype(self, *args, **kwargs):
        return self.result_fn(*args)

    def reference(self, *args, **kwargs):
        res = self.result_fn(*args)
        compute = res if is_float(res) or self.name != "div_mode" else res
        arrays = [None if a is None else
                  (as_np(a, B) if (self.name == "where" and i == 0) else as_np(a, compute))
                  for i, a in enumerate(args)]
        if is_float(compute):
            arrays = [a if a is None or a.dtype == np.bool_ else a.astype(np.float64) for a in arrays]
        with np.errstate(all="ignore"):
            return round_to(np.asarray(self.ref(*arrays, **self.ref_kwargs(args, kwargs))), res)


def _alpha_samples(op, dtype):
    a, b = make_tensor((3, 4), dtype, seed=1), make_tensor((4,), dtype, seed=2)
    for alpha in ([2, -1, 0.5] if dtype in FLOAT_DTYPES else [2, -1]):
        yield (a, b), {"alpha": alpha}, f"alpha={alpha}"
    yield (noncontiguous(a), 3), {"alpha": 2}, "scalar other"
    yield (make_tensor((), dtype), b), {"alpha": 3}, "0d"


def _clamp_side_samples(op, dtype):
    x = make_tensor((3, 4), dtype, seed=1)
    yield (x, 1), {}, "number"
    yield (noncontiguous(x), make_tensor((4,), dtype, seed=2)), {}, "tensor broadcast"
    yield (make_tensor((), dtype), 0), {}, "0d"
    if dtype not in FLOAT_DTYPES:
        yield (x, 0.5), {}, "float bound promotes"


COMPOSITE_OPS = [
    CompositeInfo("add_alpha", lambda a, b, alpha: a + alpha * b, [d for d in NUMERIC if d != U8],
                  _alpha_samples, lambda a, b: ref_result_type(a, b), torch_name="add",
                  inplace="add_"),
    CompositeInfo("sub_alpha", lambda a, b, alpha: a - alpha * b, [d for d in NUMERIC if d != U8],
                  _alpha_samples, lambda a, b: ref_result_type(a, b), torch_name="sub",
                  inplace="sub_"),
    CompositeInfo("clamp_min", lambda x, lo: np.maximum(x, lo), NUMERIC, _clamp_side_samples,
                  lambda x, lo: ref_result_type(x, lo)),
    CompositeInfo("clamp_max", lambda x, hi: np.minimum(x, hi), NUMERIC, _clamp_side_samples,
                  lambda x, hi: ref_result_type(x, hi)),
    CompositeInfo("clamp", _clamp_ref, NUMERIC, _clamp_samples, _clamp_result, inplace=True),
    CompositeInfo("where", lambda c, a, b: np.where(c, a, b), ALL, _where_samples, _where_result,
                  method=False),
    CompositeInfo("lerp", lambda a, b, w: np.where(np.abs(w) < 0.5, a + w * (b - a),
                                                   b - (b - a) * (1 - w)),
                  FLOAT_DTYPES, _lerp_samples, lambda a, b, w: ref_result_type(a, b), inplace=True),
    CompositeInfo("addcmul", lambda a, t1, t2, value=1: a + value * t1 * t2, NUMERIC,
                  _addc_samples, _ternary_result, inplace=True),
    CompositeInfo("addcdiv", lambda a, t1, t2, value=1: a + value * (t1 / t2), FLOAT_DTYPES,
                  _addc_samples, _ternary_result, inplace=True),
    CompositeInfo("nan_to_num", None, FLOAT_DTYPES, _nan_to_num_samples, lambda x: x.dtype),
    CompositeInfo("round_decimals", lambda x, decimals: np.round(x, decimals), FLOAT_DTYPES,
                  _round_samples, lambda x: x.dtype, torch_name="round"),
    CompositeInfo("div_mode", _div_mode_ref, NUMERIC, _div_mode_samples,
                  lambda a, b: ref_result_type(a, b), torch_name="div", inplace="div_"),
]
for _op in COMPOSITE_OPS:
    if _op.name == "nan_to_num":
        _op.ref = _nan_to_num_ref
        _op.ref_kwargs = lambda args, kwargs: dict(kwargs, dtype=args[0].dtype)
    if _op.name in ("round_decimals", "div_mode", "add_alpha", "sub_alpha"):
        _op.fn = (lambda n: lambda: getattr(ctorch, n))(_op.torch_name)

OP_DB = UNARY_FLOAT_OPS + UNARY_SAME_OPS + UNARY_PRED_OPS + BINARY_OPS + COMPOSITE_OPS
OPS_BY_NAME = {op.name: op for op in OP_DB}
