"""Gradients of the elementwise op database: gradcheck (float64) of every differentiable op on
its own samples (broadcasting, non-contiguous, 0-d, empty, Python numbers, mixed dtypes), second
derivatives, and gradients equal to PyTorch's."""
import math

import pytest

import ctorch
from conftest import make_tensor
from op_db import F32, F64, OP_DB

# Ops whose outputs carry no gradient at all (integer or bool results).
NON_DIFFERENTIABLE_KINDS = ("unary_pred", "pred", "bits")
GRAD_OPS = [op for op in OP_DB if op.kind not in NON_DIFFERENTIABLE_KINDS and F64 in op.dtypes]
SKIP_SAMPLES = ("special", "large", "extremes")  # NaN/inf, too big for finite differences


# Distance of a sample from the points where an op is not differentiable (kinks and jumps);
# finite differences across them are meaningless.
def _frac_dist(q):
    return (q - q.round()).abs()


KINKS = {
    "abs": lambda x: x.abs(),
    "relu": lambda x: x.abs(),
    "sign": lambda x: x.abs(),
    "frac": lambda x: _frac_dist(x),
    "floor": lambda x: _frac_dist(x), "ceil": lambda x: _frac_dist(x),
    "round": lambda x: _frac_dist(x - 0.5), "trunc": lambda x: _frac_dist(x),
    "round_decimals": lambda x, decimals=0: _frac_dist(x * 10.0 ** decimals - 0.5) / 10.0 ** decimals,
    "maximum": lambda a, b: (a - b).abs(), "minimum": lambda a, b: (a - b).abs(),
    "clamp_min": lambda x, lo: (x - lo).abs(), "clamp_max": lambda x, hi: (x - hi).abs(),
    "remainder": lambda a, b: _frac_dist(a / b) * abs(b), "fmod": lambda a, b: _frac_dist(a / b) * abs(b),
    "floor_divide": lambda a, b: _frac_dist(a / b) * abs(b),
    "div_mode": lambda a, b, rounding_mode: _frac_dist(a / b) * abs(b),
    "lerp": lambda a, b, w: (abs(w) - 0.5).abs() if isinstance(w, ctorch.Tensor) else ctorch.tensor(1.0),
}


def _clamp_kink(x, lo=None, hi=None):
    d = ctorch.full_like(x, 1.0)
    if lo is not None:
        d = ctorch.minimum(d, (x - lo).abs())
    if hi is not None:
        d = ctorch.minimum(d, (x - hi).abs())
    return d


KINKS["clamp"] = _clamp_kink


def _near_kink(op, args, kwargs):
    fn = KINKS.get(op.name)
    if fn is None:
        return False
    args = [float(a) if isinstance(a, bool) else a for a in args]
    with ctorch.no_grad():
        d = fn(*args, **kwargs)
        d = d if isinstance(d, ctorch.Tensor) else ctorch.tensor(d)
        return d.numel() > 0 and float(d.min()) < 1e-3


def _valid(op, args):
    """Samples inside the op's smooth domain (pow of a negative base to a fractional power is NaN)."""
    if op.name == "pow":
        a = args[0]
        if isinstance(a, ctorch.Tensor) and a.numel() and float(a.min()) <= 0.05:
            return False
    if op.name in ("log", "log2", "log10", "sqrt", "rsqrt") and args[0].numel() and float(args[0].min()) < 0.05:
        return False
    if op.name in ("asin", "acos") and args[0].numel() and float(args[0].abs().max()) > 0.95:
        return False
    if op.name in ("div", "atan2", "reciprocal", "div_mode", "remainder", "fmod", "addcdiv"):
        for a in args[1:]:
            if isinstance(a, ctorch.Tensor) and a.numel() and float(a.abs().min()) < 0.05:
                return False
    return True


def _leaf(a):
    """A float64 tensor argument as a leaf requiring grad, with its layout kept."""
    if isinstance(a, ctorch.Tensor) and a.dtype == F64:
        overlapping = any(st == 0 and sz > 1 for st, sz in zip(a.stride(), a.shape))
        return (a.contiguous() if overlapping else a).detach().requires_grad_()
    return a


def grad_samples(op):
    for args, kwargs, desc in op.samples(F64):
        if any(s in desc for s in SKIP_SAMPLES) or not _valid(op, args) or _near_kink(op, args, kwargs):
            continue
        if any(isinstance(a, ctorch.Tensor) and a.is_floating_point() and a.dtype != F64 for a in args):
            continue  # computed in lower precision: finite differences would be too coarse
        leaves = tuple(_leaf(a) for a in args)
        if any(isinstance(a, ctorch.Tensor) and a.requires_grad for a in leaves):
            yield leaves, kwargs, desc


def _call(op, args, kwargs):
    return op.fn()(*args, **kwargs)


@pytest.mark.parametrize("op", GRAD_OPS, ids=str)
def test_gradcheck(op):
    checked = 0
    for args, kwargs, desc in grad_samples(op):
        fn = lambda *xs: _call(op, xs, kwargs)  # noqa: E731
        assert ctorch.autograd.gradcheck(fn, args), f"{op.name} {desc}"
        checked += 1
    assert checked >= 2, f"{op.name}: only {checked} samples could be gradchecked"


SECOND_ORDER = ["exp", "log", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "asin", "atan",
                "sinh", "cosh", "tanh", "sigmoid", "erf", "gelu", "gelu_tanh", "silu", "square",
                "mul", "div", "pow", "atan2", "sub", "lerp", "addcmul", "addcdiv", "log1p", "expm1",
                "exp2", "log2", "erfc", "acos", "abs", "maximum"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_gradgradcheck(name):
    op = next(o for o in OP_DB if o.name == name)
    args, kwargs, desc = next(s for s in grad_samples(op) if "broadcast" in s[2] or "2d" in s[2])
    fn = lambda *xs: _call(op, xs, kwargs)  # noqa: E731
    assert ctorch.autograd.gradgradcheck(fn, args), f"{name} {desc}"


@pytest.mark.parametrize("op", GRAD_OPS, ids=str)
def test_grads_match_torch(op):
    torch = pytest.importorskip("torch")
    tfn = (lambda *a, **k: op.torch_fn(torch, *a, **k)) if op.torch_fn else getattr(torch, op.torch_name)
    for args, kwargs, desc in grad_samples(op):
        if op.name == "atan2" and any(isinstance(a, ctorch.Tensor) and not a.is_floating_point() for a in args):
            continue  # torch squares an integer operand in its own dtype (uint8 wraps)
        out = _call(op, args, kwargs)
        weight = make_tensor(tuple(out.shape), F64, seed=7)
        targs = [torch.from_numpy(a.detach().numpy().copy()).requires_grad_(a.requires_grad)
                 if isinstance(a, ctorch.Tensor) else a for a in args]
        try:
            tout = tfn(*targs, **kwargs)
        except TypeError:  # torch.maximum(t, 2) and friends take tensors only
            continue
        wrt = [a for a in args if isinstance(a, ctorch.Tensor) and a.requires_grad]
        twrt = [t for t in targs if isinstance(t, torch.Tensor) and t.requires_grad]
        got = ctorch.autograd.grad(out, wrt, weight, allow_unused=True)
        try:
            want = torch.autograd.grad(tout, twrt, torch.from_numpy(weight.numpy()), allow_unused=True)
        except RuntimeError as e:  # floor_divide, remainder(number, t): no derivative in torch
            assert "not implemented" in str(e)
            continue
        for g, w in zip(got, want):
            if w is None:
                assert g is None or float(g.abs().max()) == 0, desc
                continue
            assert g is not None and tuple(g.shape) == tuple(w.shape), desc
            assert g.dtype == F64
            diff = (g - ctorch.from_numpy(w.numpy())).abs().max() if g.numel() else 0
            assert float(diff) <= 1e-7 * max(1.0, float(w.abs().max()) if w.numel() else 1), f"{op.name} {desc}"
        if op.kind != "custom":  # composites are named after their last primitive
            # Overload numbers differ where PyTorch has a Scalar overload (PowBackward0/1).
            assert out.grad_fn.name()[:-1] == tout.grad_fn.name()[:-1], f"{op.name} {desc}"


@pytest.mark.parametrize("op", GRAD_OPS, ids=str)
def test_float32_grads_and_integer_inputs(op):
    """Gradients come back in the input's dtype; integer operands never get history."""
    args = next(iter(grad_samples(op)))[0]
    args32 = tuple(a.detach().to(F32).requires_grad_() if isinstance(a, ctorch.Tensor) and a.requires_grad
                   else a for a in args)
    kwargs = next(iter(grad_samples(op)))[1]
    out = _call(op, args32, kwargs)
    grads = ctorch.autograd.grad(out, [a for a in args32 if isinstance(a, ctorch.Tensor)
                                        and a.requires_grad], ctorch.ones_like(out), allow_unused=True)
    assert all(g is None or g.dtype == F32 for g in grads)
    if op.kind != "custom" and not op.nonzero_rhs:
        ints = tuple(a.detach().to(ctorch.int64) if isinstance(a, ctorch.Tensor) else a for a in args)
        if op.name not in ("gelu", "gelu_tanh", "silu", "frac"):
            with ctorch.enable_grad():
                assert not _call(op, ints, kwargs).requires_grad


def test_count_of_gradchecked_ops():
    """The op database's differentiable ops (reported in the issue note)."""
    assert len(GRAD_OPS) >= 50, [op.name for op in GRAD_OPS]


def test_inplace_ops_record_history():
    torch = pytest.importorskip("torch")
    x0 = make_tensor((3, 4), F64, seed=1)
    w0 = make_tensor((4,), F64, seed=2)

    def run(lib, x0, w0):
        w = w0.clone().requires_grad_()
        x = x0.clone().requires_grad_()
        y = x * 1.0
        y.mul_(w).add_(w, alpha=0.5).sin_()
        y[1].sin_()
        y[:, 1:3] *= w[:2]
        y.t()[0].tanh_()
        (y * y).sum().backward()
        return x.grad, w.grad

    tx0 = torch.from_numpy(x0.numpy())
    tw0 = torch.from_numpy(w0.numpy())
    for g, t in zip(run(ctorch, x0, w0), run(torch, tx0, tw0)):
        assert math.isclose(float((g - ctorch.from_numpy(t.numpy())).abs().max()), 0, abs_tol=1e-9)


def test_inplace_composites_on_non_leaves():
    """clamp_/lerp_/addcmul_/addcdiv_ save their input: the in-place write must not break that."""
    torch = pytest.importorskip("torch")

    def run(lib):
        x = lib.tensor([-1.0, 3.0, 8.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, 1.5, 2.5], dtype=lib.float64, requires_grad=True)
        y = x * 2
        y.clamp_(0, 6)
        y.lerp_(w, 0.3)
        y.addcmul_(w, w, value=2)
        y.addcdiv_(y * 1.0, w)
        (y * y).sum().backward()
        return x.grad.tolist() + w.grad.tolist()

    assert run(ctorch) == pytest.approx(run(torch), rel=1e-12)
