"""Every elementwise op of the op database against NumPy (and torch when installed), plus
operators, in-place variants, type promotion and error classes."""
import operator

import numpy as np
import pytest

import ctorch
from conftest import (ALL_DTYPES, DEVICES, FLOAT_DTYPES, INT_DTYPES, TOL, assert_close,
                      assert_close_devices, make_tensor, noncontiguous, to_device, to_np)
from op_db import (B, BF16, F16, F32, F64, I8, I16, I32, I64, OP_DB, OPS_BY_NAME, U8, ref_promote,
                   ref_result_type)

try:
    import torch
except ImportError:  # torch parity checks are skipped
    torch = None


def _name(d):
    return str(d).split(".")[1]


def _tdtype(d):
    return getattr(torch, _name(d))


def to_torch(x):
    return torch.from_dlpack(x) if isinstance(x, ctorch.Tensor) else x


def torch_call(op, args, kwargs):
    targs = [to_torch(a) for a in args]
    if op.torch_fn is not None:
        return op.torch_fn(torch, *targs, **kwargs)
    return getattr(torch, op.torch_name)(*targs, **kwargs)


def assert_matches_torch(res, expected, dtype):
    assert _name(res.dtype) == str(expected.dtype).split(".")[1], (res.dtype, expected.dtype)
    e = expected.float() if expected.dtype == torch.bfloat16 else expected
    e = e.numpy()
    r = to_np(res)
    assert r.shape == e.shape
    rtol, atol = TOL.get(res.dtype, (0, 0))
    if rtol == 0:
        np.testing.assert_array_equal(r, e)
    else:
        np.testing.assert_allclose(r.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True)


def _cases():
    for op in OP_DB:
        for dtype in op.dtypes:
            yield pytest.param(op, dtype, id=f"{op.name}-{_name(dtype)}")


# ---------------------------------------------------------------- the generic op test

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,dtype", _cases())
def test_op(op, dtype, device):
    if device != "cpu":
        return _check_op_on_device(op, dtype, device)
    fn = op.fn()
    for args, kwargs, desc in op.samples(dtype):
        ctx = f"{op.name} {_name(dtype)} [{desc}]"
        res = fn(*args, **kwargs)
        assert isinstance(res, ctorch.Tensor), ctx
        expected_dtype = op.result_dtype(*args)
        assert res.dtype == expected_dtype, f"{ctx}: dtype {res.dtype} != {expected_dtype}"
        ref = op.reference(*args, **kwargs)
        try:
            assert_close(res, ref, rtol=op.rtol, atol=op.atol)
        except AssertionError as e:
            raise AssertionError(f"{ctx}: {e}") from None

        first = args[0]
        # Method form gives the same values.
        if op.method and isinstance(first, ctorch.Tensor):
            m = getattr(first, op.torch_name)(*args[1:], **kwargs)
            np.testing.assert_array_equal(to_np(m), to_np(res), err_msg=ctx)

        # In-place: allowed when the result fits the first operand's shape and dtype; checked on
        # a contiguous and on a strided target.
        inplace_name = op.inplace_name
        if inplace_name and isinstance(first, ctorch.Tensor):
            fits = tuple(res.shape) == tuple(first.shape) and ctorch.can_cast(res.dtype, first.dtype)
            for target in (first.clone(), noncontiguous(first.clone())):
                method = getattr(target, inplace_name)
                if fits:
                    out = method(*args[1:], **kwargs)
                    assert out._storage_id() == target._storage_id(), ctx
                    np.testing.assert_allclose(to_np(target).astype(np.float64),
                                               to_np(res.to(first.dtype)).astype(np.float64),
                                               rtol=1e-6, equal_nan=True, err_msg=ctx)
                else:
                    with pytest.raises(RuntimeError):
                        method(*args[1:], **kwargs)

        if torch is not None and not (desc == "extremes" and op.nonzero_rhs):
            # (torch's own INT_MIN // -1 may trap with SIGFPE, which would kill the test run.)
            try:
                expected = torch_call(op, args, kwargs)
            except TypeError:
                continue  # torch's binding has no form for this argument mix (number first)
            try:
                assert_matches_torch(res, expected, dtype)
            except AssertionError as e:
                raise AssertionError(f"{ctx} vs torch: {e}") from None


def _check_op_on_device(op, dtype, device):
    """Every sample of `op` on `device` against the same sample on the CPU: the function, the
    method and the in-place forms (the CPU run checks the CPU results against NumPy and torch)."""
    fn = op.fn()
    for args, kwargs, desc in op.samples(dtype):
        ctx = f"{op.name} {_name(dtype)} [{desc}] on {device}"
        dargs, dkwargs = to_device(args, device), to_device(kwargs, device)
        expected = fn(*args, **kwargs)
        res = fn(*dargs, **dkwargs)
        assert res.device.type == ctorch.device(device).type, ctx
        assert_close_devices(res, expected, op.rtol, op.atol, ctx)
        first = dargs[0]
        if op.method and isinstance(first, ctorch.Tensor):
            m = getattr(first, op.torch_name)(*dargs[1:], **dkwargs)
            assert_close_devices(m, res, msg=ctx + " method")
        if op.inplace_name and isinstance(first, ctorch.Tensor):
            if tuple(res.shape) == tuple(first.shape) and ctorch.can_cast(res.dtype, first.dtype):
                for target in (first.clone(), noncontiguous(first.clone())):
                    out = getattr(target, op.inplace_name)(*dargs[1:], **dkwargs)
                    assert out._storage_id() == target._storage_id(), ctx
                    assert_close_devices(target, expected.to(first.dtype), op.rtol, op.atol, ctx + " in-place")


# ---------------------------------------------------------------- supported dtypes

def _unsupported_cases():
    for op in OP_DB:
        if op.kind == "custom":
            continue
        for dtype in ALL_DTYPES:
            if dtype not in op.dtypes and not (op.name == "square" and dtype == B):
                yield pytest.param(op, dtype, id=f"{op.name}-{_name(dtype)}")


@pytest.mark.parametrize("op,dtype", _unsupported_cases())
def test_unsupported_dtype_raises(op, dtype):
    t = make_tensor((3,), dtype, low=1, high=3)
    args = (t,) if op.arity == 1 else (t, t)
    with pytest.raises((RuntimeError, NotImplementedError)) as ours:
        op.fn()(*args)
    if torch is not None:
        with pytest.raises(Exception) as theirs:
            torch_call(op, args, {})
        assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)


def test_square_bool_promotes_like_torch():
    r = ctorch.square(ctorch.tensor([True, False]))
    assert r.dtype == I64 and r.tolist() == [1, 0]


def test_bitwise_on_floats_raises():
    x = ctorch.ones(3)
    for f in (lambda: x & x, lambda: x | 1, lambda: x ^ x, lambda: ~x, lambda: x << 1,
              lambda: ctorch.bitwise_and(x, 1)):
        with pytest.raises(NotImplementedError):
            f()


# ---------------------------------------------------------------- operators

BINARY_OPERATORS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
    "and": operator.and_, "or": operator.or_, "xor": operator.xor, "lshift": operator.lshift,
    "rshift": operator.rshift, "eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
    "le": operator.le, "gt": operator.gt, "ge": operator.ge,
}
INPLACE_OPERATORS = {
    "add": operator.iadd, "sub": operator.isub, "mul": operator.imul, "truediv": operator.itruediv,
    "floordiv": operator.ifloordiv, "mod": operator.imod, "pow": operator.ipow,
    "and": operator.iand, "or": operator.ior, "xor": operator.ixor, "lshift": operator.ilshift,
    "rshift": operator.irshift,
}


def _operator_cases():
    for op in OP_DB:
        for sym in op.operators:
            if sym in BINARY_OPERATORS:
                yield pytest.param(op, sym, id=sym)


@pytest.mark.parametrize("op,sym", _operator_cases())
def test_binary_operator(op, sym):
    pyop = BINARY_OPERATORS[sym]
    for dtype in op.dtypes:
        for args, _, desc in op.samples(dtype):
            a, b = args
            if not isinstance(a, ctorch.Tensor) and not isinstance(b, ctorch.Tensor):
                continue
            ctx = f"{sym} {_name(dtype)} [{desc}]"
            res = pyop(a, b)  # number on the left goes through the r-operator
            np.testing.assert_array_equal(to_np(res), to_np(op.fn()(a, b)), err_msg=ctx)
            assert res.dtype == op.result_dtype(a, b), ctx
            if torch is not None:
                assert_matches_torch(res, pyop(to_torch(a), to_torch(b)), dtype)
            if sym in INPLACE_OPERATORS and isinstance(a, ctorch.Tensor):
                target = a.clone()
                if tuple(res.shape) == tuple(a.shape) and ctorch.can_cast(res.dtype, a.dtype):
                    keep = target
                    target = INPLACE_OPERATORS[sym](target, b)
                    assert target is keep, ctx  # in place: the same object comes back
                    np.testing.assert_array_equal(to_np(target), to_np(res.to(a.dtype)), err_msg=ctx)
                else:
                    with pytest.raises(RuntimeError):
                        INPLACE_OPERATORS[sym](target, b)


@pytest.mark.parametrize("dtype", [I8, I32, I64, F16, BF16, F32, F64])
def test_unary_operators(dtype):
    x = make_tensor((3, 4), dtype)
    np.testing.assert_array_equal(to_np(-x), -to_np(x))
    np.testing.assert_array_equal(to_np(abs(x)), np.abs(to_np(x)))
    assert (+x) is x
    if dtype in INT_DTYPES:
        np.testing.assert_array_equal(to_np(~x), ~to_np(x))
    b = make_tensor((5,), B)
    np.testing.assert_array_equal(to_np(~b), ~to_np(b))
    with pytest.raises(RuntimeError):
        -b


def test_operator_with_unsupported_type_returns_notimplemented():
    x = ctorch.ones(2)
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        "a" + x
    assert (x == "a") is False or not isinstance(x == "a", ctorch.Tensor)


def test_reflected_operators_values():
    x = ctorch.tensor([1.0, 2.0, 4.0])
    np.testing.assert_allclose(to_np(2 - x), [1, 0, -2])
    np.testing.assert_allclose(to_np(2 / x), [2, 1, 0.5])
    np.testing.assert_allclose(to_np(2 ** x), [2, 4, 16])
    np.testing.assert_allclose(to_np(7 // x), [7, 3, 1])
    np.testing.assert_allclose(to_np(7 % x), [0, 1, 3])
    i = ctorch.tensor([1, 2, 3])
    assert (1 << i).tolist() == [2, 4, 8]
    assert (16 >> i).tolist() == [8, 4, 2]
    assert (6 & i).tolist() == [0, 2, 2]
    assert (4 | i).tolist() == [5, 6, 7]
    assert (1 ^ i).tolist() == [0, 3, 2]
    assert (2 ** i).dtype == I64
    assert (2.0 ** i).dtype == F32


# ---------------------------------------------------------------- type promotion

PROMO_DTYPES = ALL_DTYPES


@pytest.mark.parametrize("a", PROMO_DTYPES, ids=_name)
def test_promote_types_table(a):
    for b in PROMO_DTYPES:
        got = ctorch.promote_types(a, b)
        assert got == ref_promote(a, b), (a, b, got)
        assert got == ctorch.promote_types(b, a)
        if torch is not None:
            assert _name(got) == str(torch.promote_types(_tdtype(a), _tdtype(b))).split(".")[1]


@pytest.mark.parametrize("a", PROMO_DTYPES, ids=_name)
def test_can_cast_table(a):
    for b in PROMO_DTYPES:
        got = ctorch.can_cast(a, b)
        # Same-kind rule: never to a lower category (float -> int, int -> bool).
        cat = lambda d: 0 if d == B else (2 if d in FLOAT_DTYPES else 1)  # noqa: E731
        assert got == (cat(a) <= cat(b)), (a, b)
        if torch is not None:
            assert got == torch.can_cast(_tdtype(a), _tdtype(b)), (a, b)


def _promo_operands():
    out = []
    for d in PROMO_DTYPES:
        out += [ctorch.ones(2, dtype=d), ctorch.ones((), dtype=d)]
    return out + [1, 2.5, True]


def test_result_type_all_pairs():
    ops = _promo_operands()
    for a in ops:
        for b in ops:
            if not isinstance(a, ctorch.Tensor) and not isinstance(b, ctorch.Tensor):
                continue
            got = ctorch.result_type(a, b)
            assert got == ref_result_type(a, b), (a, b)
            if torch is not None:
                exp = torch.result_type(to_torch(a) if isinstance(a, ctorch.Tensor) else a,
                                        to_torch(b) if isinstance(b, ctorch.Tensor) else b)
                assert _name(got) == str(exp).split(".")[1], (a, b)


def test_weak_scalar_promotion_examples():
    f32 = ctorch.ones(3)
    assert (f32 + 2.5).dtype == F32
    assert (f32 + 2).dtype == F32
    assert (ctorch.ones(3, dtype=F16) * 2.5).dtype == F16
    i32 = ctorch.ones(3, dtype=I32)
    assert (i32 + 2.5).dtype == F32
    assert (i32 + 2).dtype == I32
    assert (i32 + True).dtype == I32
    assert (ctorch.ones(3, dtype=U8) + ctorch.ones(3, dtype=I8)).dtype == I16
    assert (ctorch.ones(3, dtype=B) + 1).dtype == I64
    assert (ctorch.ones(3, dtype=B) + 1.5).dtype == F32
    # A 0-d tensor is weaker than a dimensioned one of the same category, not of a higher one.
    assert (i32 + ctorch.tensor(1, dtype=I64)).dtype == I32
    assert (i32 + ctorch.tensor(1.0, dtype=F64)).dtype == F64
    assert (ctorch.ones(3, dtype=F16) + ctorch.tensor(1.0, dtype=F64)).dtype == F16
    # The default dtype decides what a Python float becomes next to integers.
    ctorch.set_default_dtype(F64)
    try:
        assert (i32 + 2.5).dtype == F64
        assert (f32 + 2.5).dtype == F32
        assert ctorch.exp(i32).dtype == F64
    finally:
        ctorch.set_default_dtype(F32)


def test_div_of_integers_is_float():
    a, b = ctorch.tensor([7, -7]), ctorch.tensor([2, 2])
    assert (a / b).dtype == F32
    np.testing.assert_allclose(to_np(a / b), [3.5, -3.5])
    assert ctorch.div(a, b, rounding_mode="floor").tolist() == [3, -4]
    assert ctorch.div(a, b, rounding_mode="trunc").tolist() == [3, -3]
    with pytest.raises(ValueError):
        ctorch.div(a, b, rounding_mode="round")


# ---------------------------------------------------------------- out= and in-place rules

def test_out_argument():
    a, b = make_tensor((3, 4), F32), make_tensor((4,), F32, seed=1)
    out = ctorch.empty(3, 4)
    r = ctorch.add(a, b, out=out)
    assert r is out
    np.testing.assert_allclose(to_np(out), to_np(a) + to_np(b), rtol=1e-6)
    out64 = ctorch.empty(3, 4, dtype=F64)
    ctorch.exp(a, out=out64)  # float32 result into float64 is a safe cast
    np.testing.assert_allclose(to_np(out64), np.exp(to_np(a).astype(np.float64)), rtol=1e-6)
    with pytest.raises(RuntimeError):
        ctorch.add(a, b, out=ctorch.empty(3, 4, dtype=I32))  # float can't go into int
    with pytest.raises(RuntimeError):
        ctorch.add(a, b, out=ctorch.empty(2, 4))  # wrong shape
    with pytest.raises(RuntimeError):
        ctorch.exp(a, out=ctorch.empty(3, 4, dtype=I64))


def test_inplace_errors():
    i = ctorch.ones(3, dtype=I32)
    with pytest.raises(RuntimeError):
        i.add_(1.5)  # float result can't be stored in int
    with pytest.raises(RuntimeError):
        i.div_(2)
    with pytest.raises(RuntimeError):
        i.exp_()
    b = ctorch.ones(3, dtype=B)
    with pytest.raises(RuntimeError):
        b.add_(ctorch.ones(3, dtype=I64))
    x = ctorch.ones(3)
    with pytest.raises(RuntimeError):
        x.add_(ctorch.ones(2, 3))  # the broadcast shape is not self's
    # Writing into an expanded tensor (one memory location for many elements) is refused.
    e = ctorch.zeros(1).expand(3)
    with pytest.raises(RuntimeError):
        e.add_(1)


def test_inplace_bumps_version_and_keeps_identity():
    x = ctorch.ones(3)
    v = x._version
    y = x.mul_(2)
    assert y is x and x._version > v
    x += 1
    assert x.tolist() == [3.0, 3.0, 3.0]


def test_inplace_overlapping_views():
    # x[1:] += x[:-1] reads values that the same op overwrites: must behave like a copy first.
    x = ctorch.arange(6, dtype=F32)
    a, b = x.narrow(0, 1, 5), x.narrow(0, 0, 5)
    a.add_(b)
    np.testing.assert_array_equal(to_np(x), [0, 1, 3, 5, 7, 9])


# ---------------------------------------------------------------- shape and argument errors

def test_shape_mismatch_raises():
    with pytest.raises(RuntimeError):
        ctorch.ones(3) + ctorch.ones(4)
    with pytest.raises(RuntimeError):
        ctorch.mul(ctorch.ones(2, 3), ctorch.ones(3, 2))
    with pytest.raises(RuntimeError):
        ctorch.where(ctorch.ones(2, dtype=B), ctorch.ones(3), ctorch.ones(2))
    with pytest.raises(RuntimeError):
        ctorch.lerp(ctorch.ones(2), ctorch.ones(3), 0.5)


def test_bad_operand_types():
    with pytest.raises(TypeError):
        ctorch.add(ctorch.ones(2), "x")
    with pytest.raises(TypeError):
        ctorch.add(1, 2)  # at least one tensor
    with pytest.raises(TypeError):
        ctorch.exp([1.0, 2.0])


def test_integer_division_by_zero_raises():
    a = ctorch.tensor([1, 2])
    for f in (lambda: a // 0, lambda: a % 0, lambda: ctorch.fmod(a, ctorch.tensor([1, 0]))):
        with pytest.raises(RuntimeError):
            f()
    # Float division by zero follows IEEE.
    r = ctorch.tensor([1.0, -1.0, 0.0]) / 0
    assert to_np(r)[0] == np.inf and to_np(r)[1] == -np.inf and np.isnan(to_np(r)[2])


def test_bool_errors():
    b = ctorch.ones(2, dtype=B)
    with pytest.raises(RuntimeError):
        b - b
    with pytest.raises(RuntimeError):
        -b
    with pytest.raises(RuntimeError):
        ctorch.where(ctorch.ones(2), b, b)  # float condition


def test_clamp_requires_a_bound():
    with pytest.raises(RuntimeError):
        ctorch.clamp(ctorch.ones(2))


def test_addcdiv_integer_raises():
    i = ctorch.ones(2, dtype=I64)
    with pytest.raises(RuntimeError):
        ctorch.addcdiv(i, i, i)


def test_gelu_bad_approximate():
    with pytest.raises(ValueError):
        ctorch.gelu(ctorch.ones(2), approximate="fast")
    np.testing.assert_allclose(to_np(ctorch.gelu(ctorch.ones(2), approximate="tanh")),
                               to_np(ctorch.gelu_tanh(ctorch.ones(2))))


def test_op_db_covers_ops_def():
    """Every op of ops.def has an entry here (so a new op can't skip the generic test)."""
    import pathlib
    import re
    text = (pathlib.Path(__file__).resolve().parents[1] / "include/ctorch/ops/ops.def").read_text()
    names = set(re.findall(r"^(?:UNARY|BINARY)_[A-Z]+\((\w+),", text, re.M))
    assert names, "ops.def not parsed"
    assert names <= set(OPS_BY_NAME), sorted(names - set(OPS_BY_NAME))


def test_int_min_divided_by_minus_one_does_not_crash():
    for dt, lo in ((I32, -2 ** 31), (I64, -2 ** 63), (I16, -2 ** 15), (I8, -128)):
        a, b = ctorch.tensor([lo]).to(dt), ctorch.tensor([-1]).to(dt)
        assert (a // b).tolist() == [lo]  # wraps, as C++ unsigned negation does
        assert (a % b).tolist() == [0]
        assert ctorch.fmod(a, b).tolist() == [0]
        assert ctorch.div(a, b, rounding_mode="trunc").tolist() == [lo]


def test_integer_negative_power_raises():
    i = ctorch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="negative integer powers"):
        i ** -1
    with pytest.raises(RuntimeError):
        i.pow(-2)
    # Tensor exponents and float exponents are fine.
    assert (i ** ctorch.tensor([-1, 1])).tolist() == [1, 2]
    assert (i ** -1.0).tolist() == [1.0, 0.5]
    if torch is not None:
        with pytest.raises(RuntimeError):
            torch.tensor([1, 2]) ** -1


def test_round_decimals_on_integers_raises():
    with pytest.raises(NotImplementedError):
        ctorch.round(ctorch.tensor([15, 25]), decimals=-1)
    assert ctorch.round(ctorch.tensor([15, 25])).tolist() == [15, 25]
    # float16 scales in float32 instead of overflowing.
    r = ctorch.round(ctorch.tensor([1234.5678], dtype=F16), decimals=2)
    assert r.dtype == F16 and np.isfinite(to_np(r)).all()


def test_addcmul_value_takes_integer_dtype():
    r = ctorch.addcmul(ctorch.tensor([1]), ctorch.tensor([2]), ctorch.tensor([3]), value=0.5)
    assert r.dtype == I64 and r.tolist() == [1]
    if torch is not None:
        assert torch.addcmul(torch.tensor([1]), torch.tensor([2]), torch.tensor([3]), value=0.5).tolist() == [1]


def test_relu_and_sign_special_values():
    x = ctorch.tensor([float("nan"), -0.0, -1.0, 2.0])
    r = to_np(ctorch.relu(x))
    assert np.isnan(r[0]) and r.tolist()[1:] == [0.0, 0.0, 2.0]
    assert to_np(ctorch.sign(x)).tolist()[1:] == [0.0, -1.0, 1.0]
    assert to_np(ctorch.sign(x))[0] == 0  # PyTorch: sign(nan) == 0


def test_sub_with_bool_operand_raises():
    with pytest.raises(RuntimeError):
        ctorch.tensor([1, 2]) - True
    with pytest.raises(RuntimeError):
        ctorch.tensor([1, 2]) - ctorch.tensor([True, False])
    with pytest.raises(RuntimeError):
        True - ctorch.tensor([1.0])


def _float_result_cases():
    for op in OP_DB:
        if op.kind in ("unary_float", "float_result"):
            for dtype in (B, I32, F16):
                if dtype in op.dtypes:
                    yield pytest.param(op, dtype, id=f"{op.name}-{_name(dtype)}")


@pytest.mark.parametrize("op,dtype", _float_result_cases())
def test_float_ops_follow_default_dtype(op, dtype):
    """Integer inputs compute in the default dtype, and Python floats become it when weak."""
    ctorch.set_default_dtype(F64)
    try:
        for args, kwargs, desc in op.samples(dtype):
            res = op.fn()(*args, **kwargs)
            assert res.dtype == op.result_dtype(*args), desc
            assert_close(res, op.reference(*args, **kwargs))
            if torch is not None:
                torch.set_default_dtype(torch.float64)
                try:
                    assert_matches_torch(res, torch_call(op, args, kwargs), dtype)
                except TypeError:
                    pass
                finally:
                    torch.set_default_dtype(torch.float32)
    finally:
        ctorch.set_default_dtype(F32)


def test_aliases():
    x = make_tensor((3, 4), F32)
    y = make_tensor((4,), F32, seed=1, low=1, high=3)
    np.testing.assert_array_equal(to_np(ctorch.clip(x, -1, 1)), to_np(ctorch.clamp(x, -1, 1)))
    np.testing.assert_array_equal(to_np(x.clip(max=0)), to_np(x.clamp(max=0)))
    np.testing.assert_array_equal(to_np(ctorch.divide(x, y)), to_np(ctorch.div(x, y)))
    np.testing.assert_array_equal(to_np(ctorch.true_divide(x, y)), to_np(x / y))
    np.testing.assert_array_equal(to_np(ctorch.divide(x, y, rounding_mode="floor")), to_np(x // y))
    c = x.clone()
    c.clip_(-1, 1)
    np.testing.assert_array_equal(to_np(c), np.clip(to_np(x), -1, 1))
