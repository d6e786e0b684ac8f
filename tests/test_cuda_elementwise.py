"""Elementwise ops, casts, factories and cat/stack on CUDA, checked against the CPU (GPU only)."""
import time

import numpy as np
import pytest

import ctorch
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, TOL, make_tensor, noncontiguous, to_np
from op_db import BINARY_OPS, UNARY_FLOAT_OPS, UNARY_PRED_OPS, UNARY_SAME_OPS

pytestmark = pytest.mark.skipif(not ctorch.cuda.is_available(), reason="CUDA not available")

CUDA = ctorch.device("cuda:0")


def dev(x):
    return x.to("cuda") if isinstance(x, ctorch.Tensor) else x


def check_same(cpu, gpu, what=""):
    """gpu (a CUDA result) equals the CPU result: exactly for integers/bool, at the dtype's
    tolerance for floats (device libm differs from glibc by an ulp or so)."""
    assert isinstance(gpu, ctorch.Tensor) and gpu.device == CUDA, what
    assert gpu.dtype == cpu.dtype, f"{what}: dtype {gpu.dtype} != {cpu.dtype}"
    assert tuple(gpu.shape) == tuple(cpu.shape), what
    a, e = to_np(gpu.cpu()), to_np(cpu)
    if cpu.dtype in FLOAT_DTYPES:
        r, t = TOL[cpu.dtype]
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=r, atol=t,
                                   equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(a, e, err_msg=what)


def run_both(fn, args, what):
    try:
        expected = fn(*args)
    except Exception as exc:  # the CUDA side must reject it the same way
        with pytest.raises(type(exc)):
            fn(*[dev(a) for a in args])
        return
    check_same(expected, fn(*[dev(a) for a in args]), what)


@pytest.mark.parametrize("op", UNARY_FLOAT_OPS + UNARY_SAME_OPS + UNARY_PRED_OPS, ids=repr)
def test_unary_matches_cpu(op):
    for dtype in ALL_DTYPES:
        for args, kwargs, desc in op.samples(dtype):
            run_both(lambda *a: op.fn()(*a, **kwargs), args, f"{op.name} {dtype} {desc}")


@pytest.mark.parametrize("op", BINARY_OPS, ids=repr)
def test_binary_matches_cpu(op):
    for dtype in op.dtypes:
        for args, kwargs, desc in op.samples(dtype):
            run_both(lambda *a: op.fn()(*a, **kwargs), args, f"{op.name} {dtype} {desc}")


@pytest.mark.parametrize("op", ["add", "mul", "sub", "maximum", "eq", "floor_divide"])
def test_binary_dense_paths(op):
    # The vectorized path: lengths not divisible by 4, misaligned starts, a broadcast scalar.
    fn = getattr(ctorch, op)
    for dtype in [ctorch.float32, ctorch.float16, ctorch.int64, ctorch.uint8, ctorch.float64]:
        for n in [1, 3, 4, 5, 1027]:
            a = make_tensor((n + 1,), dtype, seed=n, low=1)
            b = make_tensor((n + 1,), dtype, seed=n + 1, low=1)
            if dtype == ctorch.uint8:  # make_tensor starts uint8 at 0: no zero divisors here
                b = b + 1
            run_both(fn, (a, b), f"{op} {dtype} {n}")
            run_both(fn, (a[1:], b[:-1]), f"{op} {dtype} {n} misaligned")
            run_both(fn, (a, b[-1:].reshape(())), f"{op} {dtype} {n} 0-d rhs")
            run_both(fn, (a[0:1].reshape(()), b), f"{op} {dtype} {n} 0-d lhs")
            run_both(fn, (a[1:], 3), f"{op} {dtype} {n} python scalar")


def test_unary_inplace_and_out_dtype():
    x = make_tensor((7, 5), ctorch.float32, seed=3)
    g = x.clone().cuda()
    g.exp_()
    check_same(ctorch.exp(x), g, "exp_")
    y = make_tensor((7, 5), ctorch.float32, seed=4)
    g, gy = x.clone().cuda(), y.cuda()
    g.mul_(gy)
    check_same(x * y, g, "mul_")
    g.add_(2.5)
    check_same(x * y + 2.5, g, "add_ scalar")
    # in-place on a non-contiguous view
    base, g = make_tensor((4, 6), ctorch.float32, seed=5), None
    g = base.clone().cuda()
    base[:, ::2].add_(ctorch.ones(4, 3))
    g[:, ::2].add_(ctorch.ones(4, 3).cuda())
    check_same(base, g, "strided add_")
    # a result of another dtype written through out=
    o = ctorch.empty(7, 5, dtype=ctorch.float64).cuda()
    ctorch.add(x.cuda(), y.cuda(), out=o)
    check_same((x + y).to(ctorch.float64), o, "out= float64")


def test_cpu_scalar_tensors_join_cuda_tensors():
    x = make_tensor((3, 4), ctorch.float16, seed=1)
    for s in [ctorch.tensor(2), ctorch.tensor(2.5, dtype=ctorch.float64), ctorch.tensor(True),
              ctorch.tensor(3, dtype=ctorch.int8)]:
        for fn in [ctorch.add, ctorch.mul, ctorch.maximum, ctorch.div, ctorch.lt]:
            check_same(fn(x, s), fn(x.cuda(), s), f"{fn.__name__} cuda,cpu0d {s.dtype}")
            check_same(fn(s, x), fn(s, x.cuda()), f"{fn.__name__} cpu0d,cuda {s.dtype}")
    i = make_tensor((5,), ctorch.int32, seed=2)
    s = ctorch.tensor(2.5)
    check_same(i * s, i.cuda() * s, "int32 * cpu 0-d float")
    check_same(i + 7, i.cuda() + 7, "int32 + python int")
    check_same(i / 2, i.cuda() / 2, "int32 / python int")
    # CUDA 0-d with CUDA tensors, and a CUDA 0-d with a CPU 0-d
    check_same(i * ctorch.tensor(3.0), i.cuda() * ctorch.tensor(3.0).cuda(), "cuda 0-d")
    check_same(ctorch.tensor(3.0) * ctorch.tensor(2),
               ctorch.tensor(3.0).cuda() * ctorch.tensor(2), "cuda 0-d with cpu 0-d")


def test_mixed_devices_raise():
    g = ctorch.ones(3).cuda()
    c = ctorch.ones(3)
    for fn in [lambda: g + c, lambda: c * g, lambda: ctorch.where(c > 0, g, g),
               lambda: ctorch.where(g > 0, c, g), lambda: ctorch.cat([g, c]),
               lambda: ctorch.add(g, g, out=ctorch.empty(3)), lambda: ctorch.ones(1).cuda() + c]:
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            fn()


def test_integer_division_by_zero_does_not_raise_on_cuda():
    # PyTorch's CUDA kernels do not check (the CPU raises ZeroDivisionError); ctorch gives 0.
    a = ctorch.tensor([5, -7, 0]).cuda()
    b = ctorch.tensor([0, 0, 0]).cuda()
    for fn in [ctorch.floor_divide, ctorch.remainder, ctorch.fmod]:
        r = fn(a, b)
        assert r.cpu().tolist() == [0, 0, 0]


def test_where():
    for dtype in ALL_DTYPES:
        c = make_tensor((3, 4), ctorch.bool, seed=1)
        a = make_tensor((3, 4), dtype, seed=2)
        b = make_tensor((4,), dtype, seed=3)
        run_both(ctorch.where, (c, a, b), f"where {dtype}")
        run_both(ctorch.where, (noncontiguous(c), noncontiguous(a), b), f"where {dtype} noncontig")
        run_both(ctorch.where, (c[:1], a.t().contiguous().t(), b), f"where {dtype} bcast")
        run_both(ctorch.where, (c, a, ctorch.tensor(1)), f"where {dtype} cpu 0-d")
        run_both(ctorch.where, (c.to(ctorch.uint8), a, b), f"where {dtype} uint8 cond")
        run_both(ctorch.where, (c[:0], a[:0], b), f"where {dtype} empty")
    x = make_tensor((2, 3), ctorch.float32, seed=5)
    check_same(ctorch.where(x > 0, x, 0.0), ctorch.where(x.cuda() > 0, x.cuda(), 0.0), "scalar")
    check_same(ctorch.where(ctorch.tensor(True), x, 1.5),
               ctorch.where(ctorch.tensor(True), x.cuda(), 1.5), "cpu 0-d cond")


def _cast_sources(dtype):
    vals = [-3.7, -1.0, -0.5, 0.0, 0.5, 1.5, 2.5, 3.0, 100.25, 127.0]
    if dtype in FLOAT_DTYPES:
        return ctorch.tensor(vals, dtype=ctorch.float64).to(dtype)
    if dtype == ctorch.bool:
        return ctorch.tensor([True, False, True, True, False, False])
    return ctorch.tensor([0, 1, 2, 5, 100, 127, 3, 7] + ([-1, -128] if dtype != ctorch.uint8 else []),
                         dtype=ctorch.int64).to(dtype)


def test_casts_between_all_dtypes():
    for src in ALL_DTYPES:
        x = _cast_sources(src)
        for dst in ALL_DTYPES:
            what = f"{src} -> {dst}"
            check_same(x.to(dst), x.cuda().to(dst), what)
            nc = noncontiguous(x.reshape(2, -1))
            check_same(nc.to(dst), nc.cuda().to(dst), what + " noncontig")
            check_same(x[:0].to(dst), x[:0].cuda().to(dst), what + " empty")
            check_same(x[2].to(dst), x[2].cuda().to(dst), what + " 0-d")
    # float specials to bool and to other floats
    sp = ctorch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 1e-30, 70000.0])
    for dst in [ctorch.bool, ctorch.float16, ctorch.bfloat16, ctorch.float64]:
        check_same(sp.to(dst), sp.cuda().to(dst), f"specials -> {dst}")
    big = ctorch.tensor([2**40 + 1, -(2**35), 65519, 65520], dtype=ctorch.int64)
    for dst in [ctorch.float16, ctorch.bfloat16, ctorch.float32, ctorch.float64]:
        check_same(big.to(dst), big.cuda().to(dst), f"int64 -> {dst}")


def test_copy_layouts():
    x = make_tensor((5, 6), ctorch.float32, seed=1)
    dst = ctorch.zeros(6, 5).cuda()
    dst.copy_(x.cuda().t())
    check_same(x.t().contiguous(), dst, "transposed copy")
    dst = ctorch.zeros(4, 6, dtype=ctorch.float64).cuda()
    dst.copy_(x[1].cuda())
    check_same(x[1].to(ctorch.float64).expand(4, 6).contiguous(), dst, "broadcast cast copy")
    y = x.clone()
    y[:, 1:].copy_(x[:, :-1].clone())
    g = x.clone().cuda()
    g[:, 1:].copy_(g[:, :-1].clone())
    check_same(y, g, "shifted self copy")


def test_fill_and_full():
    for dtype in ALL_DTYPES:
        for value in [0, 1, True, 2.5, -3]:
            if dtype == ctorch.uint8 and value == -3:
                continue
            check_same(ctorch.full((3, 5), value, dtype=dtype),
                       ctorch.full((3, 5), value, dtype=dtype, device="cuda"), f"full {dtype} {value}")
        check_same(ctorch.zeros(7, dtype=dtype), ctorch.zeros(7, dtype=dtype, device="cuda"), "zeros")
        check_same(ctorch.ones(2, 3, dtype=dtype), ctorch.ones(2, 3, dtype=dtype, device="cuda"), "ones")
        check_same(ctorch.zeros(0, 3, dtype=dtype), ctorch.zeros(0, 3, dtype=dtype, device="cuda"), "empty")
    base, g = ctorch.zeros(4, 6), ctorch.zeros(4, 6).cuda()
    base[:, ::2].fill_(7.5)
    g[:, ::2].fill_(7.5)
    check_same(base, g, "strided fill_")
    check_same(ctorch.zeros(()), ctorch.zeros((), device="cuda"), "0-d zeros")


def test_ranges_and_eye():
    cases = [(0, 10, 1, None), (2, 11, 3, None), (10, 0, -2, None), (0.5, 3.2, 0.25, None),
             (0, 5, 1, ctorch.float16), (-3, 3, 0.5, ctorch.int32), (0, 0, 1, None)]
    for s, e, st, dt in cases:
        kw = {} if dt is None else {"dtype": dt}
        check_same(ctorch.arange(s, e, st, **kw), ctorch.arange(s, e, st, device="cuda", **kw),
                   f"arange {s} {e} {st} {dt}")
    for s, e, n in [(0, 1, 5), (-2, 7.5, 11), (3, 3, 1), (0, 1, 0), (1, -1, 1000)]:
        for dt in [ctorch.float32, ctorch.float64, ctorch.int64, ctorch.bfloat16]:
            check_same(ctorch.linspace(s, e, n, dtype=dt), ctorch.linspace(s, e, n, dtype=dt, device="cuda"),
                       f"linspace {s} {e} {n} {dt}")
        check_same(ctorch.logspace(s, e, n), ctorch.logspace(s, e, n, device="cuda"), "logspace")
        check_same(ctorch.logspace(s, e, n, base=2.0, dtype=ctorch.float64),
                   ctorch.logspace(s, e, n, base=2.0, dtype=ctorch.float64, device="cuda"), "logspace2")
    for n, m in [(3, 3), (2, 5), (5, 2), (0, 3)]:
        for dt in [ctorch.float32, ctorch.bool, ctorch.int64]:
            check_same(ctorch.eye(n, m, dtype=dt), ctorch.eye(n, m, dtype=dt, device="cuda"), f"eye {n} {m}")


def test_cat_stack_and_friends():
    for dtype in [ctorch.float32, ctorch.int8, ctorch.bool, ctorch.float16, ctorch.int64]:
        a = make_tensor((2, 3, 4), dtype, seed=1)
        b = make_tensor((2, 5, 4), dtype, seed=2)
        c = make_tensor((2, 1, 4), dtype, seed=3)
        for dim, parts in [(1, [a, b, c]), (0, [a, a]), (2, [a, a[:, :, :1]]), (-1, [a, a])]:
            run_both(lambda *t: ctorch.cat(list(t), dim), parts, f"cat {dtype} {dim}")
        run_both(lambda *t: ctorch.cat(list(t), 1), [noncontiguous(a), b, c.to(ctorch.float64)],
                 f"cat mixed {dtype}")
        run_both(lambda *t: ctorch.cat(list(t), 1), [a, ctorch.zeros(0, dtype=dtype), b[:, :0]],
                 f"cat empty {dtype}")
        run_both(lambda *t: ctorch.stack(list(t), 1), [a, a, a], f"stack {dtype}")
        run_both(lambda *t: ctorch.hstack(list(t)), [a, a], f"hstack {dtype}")
        run_both(lambda *t: ctorch.vstack(list(t)), [a, a], f"vstack {dtype}")
    # many parts of odd byte sizes: several batches, narrow copy units
    parts = [make_tensor((3, 1 + i % 3), ctorch.int8, seed=i) for i in range(150)]
    run_both(lambda *t: ctorch.cat(list(t), 1), parts, "cat 150 parts")
    parts = [make_tensor((5,), ctorch.float32, seed=i) for i in range(100)]
    run_both(lambda *t: ctorch.stack(list(t)), parts, "stack 100")
    x = make_tensor((4, 5), ctorch.float32, seed=9)
    run_both(lambda t: ctorch.flip(t, [0, 1]), [x], "flip")
    run_both(lambda t: ctorch.roll(t, [2, -1], [0, 1]), [x], "roll")
    run_both(lambda t: ctorch.tril(t, 1), [x], "tril")
    run_both(lambda t: ctorch.triu(t, -1), [x], "triu")
    run_both(lambda t: t.repeat(2, 1, 3), [x], "repeat")
    run_both(lambda t: ctorch.diag(t), [x[0]], "diag")
    run_both(lambda t: ctorch.repeat_interleave(t), [ctorch.tensor([1, 0, 3, 2])], "repeat_interleave")
    run_both(lambda t: t.repeat_interleave(2, dim=1), [x], "repeat_interleave int")
    check_same(ctorch.tril_indices(4, 5, 1), ctorch.tril_indices(4, 5, 1, device="cuda"), "tril_indices")
    check_same(ctorch.triu_indices(5, 3, -1), ctorch.triu_indices(5, 3, -1, device="cuda"), "triu_indices")


def test_gradients_on_cuda():
    x = make_tensor((3, 4), ctorch.float64, seed=1)
    y = make_tensor((3, 4), ctorch.float64, seed=2, low=1)
    go = make_tensor((3, 4), ctorch.float64, seed=3)
    results = []
    for device in ["cpu", "cuda"]:
        a = x.to(device).detach().requires_grad_(True)
        b = y.to(device).detach().requires_grad_(True)
        out = ctorch.exp(a) * b / (b + 1) - ctorch.tanh(a) + ctorch.where(a > 0, a, b)
        out.backward(go.to(device))
        results.append((out, a.grad, b.grad))
    for cpu, gpu in zip(*results):
        check_same(cpu.detach(), gpu.detach(), "grad")


def test_add_bandwidth_near_copy():
    n = 1 << 26
    a = ctorch.ones(n, device="cuda")
    b = ctorch.ones(n, device="cuda")
    out = ctorch.empty(n, device="cuda")

    def timed(fn, reps=20):
        fn()
        ctorch._C._cuda_synchronize(0)
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        ctorch._C._cuda_synchronize(0)
        return (time.perf_counter() - t0) / reps

    t_copy = timed(lambda: out.copy_(a))
    t_add = timed(lambda: ctorch.add(a, b, out=out))
    bw_copy, bw_add = 2 * 4 * n / t_copy, 3 * 4 * n / t_add
    assert bw_add >= 0.85 * bw_copy, f"add {bw_add / 1e9:.0f} GB/s vs copy {bw_copy / 1e9:.0f} GB/s"
    assert out[:3].cpu().tolist() == [2.0, 2.0, 2.0]
