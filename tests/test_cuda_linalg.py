"""Matrix products and convolutions on CUDA (cuBLAS) against ctorch's CPU results; the
ctorch.backends.cuda switches (those also run without a GPU)."""
import numpy as np
import pytest

import ctorch
from conftest import noncontiguous, to_np

needs_gpu = pytest.mark.skipif(not ctorch.cuda.is_available(), reason="CUDA not available")

FLOATS = [ctorch.float32, ctorch.float64, ctorch.float16, ctorch.bfloat16]
# CUDA vs CPU: both accumulate in float32 (float64), in different orders. TF32 is off by default.
TOL = {ctorch.float32: (1e-5, 1e-5), ctorch.float64: (1e-12, 1e-12),
       ctorch.float16: (1e-2, 1e-2), ctorch.bfloat16: (3e-2, 3e-2)}


def rand(shape, dtype=ctorch.float32, seed=0):
    rng = np.random.default_rng(seed)
    return ctorch.tensor(rng.uniform(-1, 1, size=shape)).to(dtype)


def gpu(t):
    return t.to("cuda")


def check(actual_gpu, expected_cpu, dtype=None, scale=1.0):
    """A CUDA result against the CPU result at the dtype's tolerance (scaled for long sums)."""
    assert actual_gpu.is_cuda
    assert tuple(actual_gpu.shape) == tuple(expected_cpu.shape)
    assert actual_gpu.dtype == expected_cpu.dtype
    r, a = TOL[dtype or expected_cpu.dtype]
    np.testing.assert_allclose(to_np(actual_gpu.cpu()).astype(np.float64),
                               to_np(expected_cpu).astype(np.float64), rtol=r * scale, atol=a * scale)


# ---- ctorch.backends.cuda (no GPU needed)

def test_backends_import_and_defaults():
    import ctorch.backends  # noqa: F401
    assert ctorch.backends.cuda.matmul.allow_tf32 is False
    assert ctorch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction is True
    assert ctorch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction is True
    assert ctorch.backends.cuda.is_built() == ctorch.cuda.is_built()


def test_tf32_flag_round_trip():
    m = ctorch.backends.cuda.matmul
    try:
        m.allow_tf32 = True
        assert m.allow_tf32 is True and ctorch._C._cuda_matmul_allow_tf32() is True
        assert m.fp32_precision == "tf32"
        m.allow_tf32 = False
        assert m.allow_tf32 is False and ctorch._C._cuda_matmul_allow_tf32() is False
        assert m.fp32_precision == "ieee"
        m.fp32_precision = "tf32"
        assert m.allow_tf32 is True
        m.fp32_precision = "ieee"
        assert m.allow_tf32 is False
        with pytest.raises(ValueError):
            m.fp32_precision = "bf16"
        m.allow_fp16_reduced_precision_reduction = False
        assert m.allow_fp16_reduced_precision_reduction is False
        m.allow_bf16_reduced_precision_reduction = False
        assert m.allow_bf16_reduced_precision_reduction is False
    finally:
        m.allow_tf32 = False
        m.allow_fp16_reduced_precision_reduction = True
        m.allow_bf16_reduced_precision_reduction = True
    with pytest.raises(AttributeError):
        m.allow_tf33 = True


# ---- products

@needs_gpu
@pytest.mark.parametrize("dtype", FLOATS)
def test_mm_family(dtype):
    a, b = rand((5, 7), dtype, 1), rand((7, 3), dtype, 2)
    inp = rand((5, 3), dtype, 3)
    check(ctorch.mm(gpu(a), gpu(b)), ctorch.mm(a, b))
    check(ctorch.addmm(gpu(inp), gpu(a), gpu(b)), ctorch.addmm(inp, a, b))
    check(ctorch.addmm(gpu(inp), gpu(a), gpu(b), beta=0.5, alpha=-2),
          ctorch.addmm(inp, a, b, beta=0.5, alpha=-2), scale=2)
    row = rand((3,), dtype, 4)  # the input broadcasts
    check(ctorch.addmm(gpu(row), gpu(a), gpu(b)), ctorch.addmm(row, a, b))
    # transposed and non-contiguous operands
    at, bt = rand((7, 5), dtype, 5).t(), rand((3, 7), dtype, 6).t()
    check(ctorch.mm(gpu(at), gpu(bt)), ctorch.mm(at, bt))
    an, bn = noncontiguous(a), noncontiguous(b)
    check(ctorch.mm(gpu(an), gpu(bn)), ctorch.mm(an, bn))
    g = gpu(rand((7, 10), dtype, 7))[:, ::2]  # strided view on the device
    check(ctorch.mm(gpu(a), g), ctorch.mm(a, g.cpu()))


@needs_gpu
def test_addmm_beta_zero_ignores_nan():
    a, b = rand((4, 3), seed=1), rand((3, 2), seed=2)
    inp = ctorch.full((4, 2), float("nan"))
    r = ctorch.addmm(gpu(inp), gpu(a), gpu(b), beta=0)
    check(r, ctorch.mm(a, b))


@needs_gpu
@pytest.mark.parametrize("dtype", FLOATS)
def test_vector_products(dtype):
    m, v, w = rand((6, 4), dtype, 1), rand((4,), dtype, 2), rand((4,), dtype, 3)
    inp = rand((6,), dtype, 4)
    check(ctorch.mv(gpu(m), gpu(v)), ctorch.mv(m, v))
    check(ctorch.mv(gpu(m.t().contiguous().t()), gpu(v)), ctorch.mv(m, v))
    check(ctorch.addmv(gpu(inp), gpu(m), gpu(v), beta=2, alpha=0.5), ctorch.addmv(inp, m, v, beta=2, alpha=0.5),
          scale=2)
    check(ctorch.dot(gpu(v), gpu(w)), ctorch.dot(v, w))
    vs = noncontiguous(v)
    check(ctorch.dot(gpu(vs), gpu(w)), ctorch.dot(vs, w))
    check(ctorch.outer(gpu(v), gpu(w)), ctorch.outer(v, w))


@needs_gpu
@pytest.mark.parametrize("dtype", FLOATS)
def test_batched_products(dtype):
    a, b = rand((3, 5, 4), dtype, 1), rand((3, 4, 6), dtype, 2)
    inp = rand((3, 5, 6), dtype, 3)
    check(ctorch.bmm(gpu(a), gpu(b)), ctorch.bmm(a, b))
    check(ctorch.baddbmm(gpu(inp), gpu(a), gpu(b), beta=0.5, alpha=2),
          ctorch.baddbmm(inp, a, b, beta=0.5, alpha=2), scale=2)
    inp2 = rand((5, 6), dtype, 4)
    check(ctorch.addbmm(gpu(inp2), gpu(a), gpu(b)), ctorch.addbmm(inp2, a, b), scale=2)
    at = a.transpose(1, 2).contiguous().transpose(1, 2)  # column-major matrices
    bp = rand((4, 3, 6), dtype, 5).permute(1, 0, 2)  # batch stride smaller than the matrix
    check(ctorch.bmm(gpu(at), gpu(bp)), ctorch.bmm(at, bp))


@needs_gpu
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa,sb", [
    ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)), ((2, 3, 4), (4,)), ((4,), (2, 4, 3)),
    ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (2, 4, 5)),
    ((2, 3, 3, 4), (2, 1, 4, 5)), ((0, 3, 4), (4, 2)), ((2, 3, 0), (2, 0, 4)), ((2, 0, 4), (4, 3)),
])
def test_matmul_shapes(dtype, sa, sb):
    a, b = rand(sa, dtype, 1), rand(sb, dtype, 2)
    check(ctorch.matmul(gpu(a), gpu(b)), ctorch.matmul(a, b))


@needs_gpu
def test_matmul_broadcast_noncontiguous_batches():
    a = rand((4, 3, 5), seed=1).permute(1, 0, 2)  # [3, 4, 5], batch not outermost in memory
    b = rand((2, 1, 5, 6), seed=2)[:, :, :, ::2]  # [2, 1, 5, 3] strided columns
    check(ctorch.matmul(gpu(a), gpu(b)), ctorch.matmul(a, b))
    x = rand((2, 3, 4, 5), ctorch.float64, 3).transpose(0, 1)  # [3, 2, 4, 5]
    y = rand((4, 5), ctorch.float64, 4).t()  # [5, 4], column-major
    check(ctorch.matmul(gpu(x), gpu(y)), ctorch.matmul(x, y))


@needs_gpu
def test_zero_size_products():
    for dtype in (ctorch.float32, ctorch.float16):
        a, b = rand((3, 0), dtype), rand((0, 4), dtype)
        check(ctorch.mm(gpu(a), gpu(b)), ctorch.mm(a, b))  # zeros
        inp = rand((3, 4), dtype, 2)
        check(ctorch.addmm(gpu(inp), gpu(a), gpu(b), beta=3), ctorch.addmm(inp, a, b, beta=3))
        check(ctorch.mm(gpu(rand((0, 2), dtype)), gpu(rand((2, 4), dtype))), ctorch.mm(rand((0, 2), dtype), rand((2, 4), dtype)))
        check(ctorch.bmm(gpu(rand((0, 2, 3), dtype)), gpu(rand((0, 3, 4), dtype))),
              ctorch.bmm(rand((0, 2, 3), dtype), rand((0, 3, 4), dtype)))
        e = rand((0,), dtype)
        check(ctorch.dot(gpu(e), gpu(e)), ctorch.dot(e, e))


@needs_gpu
def test_large_ish_float32_is_exact_without_tf32():
    # With TF32 off, float32 products agree with the CPU to float32 rounding; 256-long sums of
    # values in [-1, 1] would be off by ~1e-3 with TF32.
    a, b = rand((64, 256), seed=1), rand((256, 48), seed=2)
    assert ctorch.backends.cuda.matmul.allow_tf32 is False
    check(ctorch.mm(gpu(a), gpu(b)), ctorch.mm(a, b), scale=4)
    try:
        ctorch.backends.cuda.matmul.allow_tf32 = True
        r = ctorch.mm(gpu(a), gpu(b)).cpu()  # runs; TF32 may change the low bits
        np.testing.assert_allclose(to_np(r), to_np(ctorch.mm(a, b)), rtol=1e-2, atol=1e-2)
    finally:
        ctorch.backends.cuda.matmul.allow_tf32 = False


@needs_gpu
@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.float16])
@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->i", [(4, 4)]), ("ij->", [(3, 4)]), ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk", [(2, 3, 4), (4, 2)]), ("abc,cd,db->a", [(2, 3, 4), (4, 5), (5, 3)]),
])
def test_einsum(dtype, eq, shapes):
    ops = [rand(s, dtype, i) for i, s in enumerate(shapes)]
    check(ctorch.einsum(eq, *[gpu(o) for o in ops]), ctorch.einsum(eq, *ops), scale=2)


@needs_gpu
@pytest.mark.parametrize("dtype", [ctorch.int64, ctorch.int32, ctorch.uint8])
def test_integer_products_raise_like_torch(dtype):
    a = gpu(ctorch.ones(2, 2, dtype=dtype))
    names = {ctorch.int64: "Long", ctorch.int32: "Int", ctorch.uint8: "Byte"}
    v, b = a.select(0, 0), a.unsqueeze(0)
    for f in (lambda: ctorch.mm(a, a), lambda: ctorch.matmul(a, a), lambda: ctorch.bmm(b, b),
              lambda: ctorch.mv(a, v), lambda: ctorch.dot(v, v)):
        with pytest.raises(NotImplementedError, match=f"not implemented for '{names[dtype]}'"):
            f()


@needs_gpu
def test_mixed_devices_raise():
    a = rand((2, 3))
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        ctorch.mm(gpu(a), a.t())
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        ctorch.addmm(ctorch.zeros(3, 3), gpu(a).t(), gpu(a))
    with pytest.raises(RuntimeError, match="same device"):
        ctorch.einsum("ij,jk->ik", gpu(a), a.t())


@needs_gpu
@pytest.mark.parametrize("op", ["mm", "bmm", "matmul_bcast", "addmm", "mv", "dot"])
def test_product_gradients(op):
    dt = ctorch.float64
    shapes = {"mm": [(3, 4), (4, 5)], "bmm": [(2, 3, 4), (2, 4, 5)], "matmul_bcast": [(2, 3, 4), (4, 5)],
              "addmm": [(3, 5), (3, 4), (4, 5)], "mv": [(3, 4), (4,)], "dot": [(4,), (4,)]}[op]
    fn = {"mm": ctorch.mm, "bmm": ctorch.bmm, "matmul_bcast": ctorch.matmul,
          "addmm": lambda i, a, b: ctorch.addmm(i, a, b, beta=0.5, alpha=2), "mv": ctorch.mv,
          "dot": ctorch.dot}[op]
    vals = [rand(s, dt, i) for i, s in enumerate(shapes)]
    cpu = [v.clone().requires_grad_() for v in vals]
    dev = [gpu(v).requires_grad_() for v in vals]
    fn(*cpu).sum().backward()
    fn(*dev).sum().backward()
    for c, d in zip(cpu, dev):
        check(d.grad, c.grad)


# ---- convolutions

CONV_CASES = [
    ("conv2d", (2, 4, 7, 6), (6, 4, 3, 3), True, {}),
    ("conv2d", (2, 4, 7, 6), (6, 2, 3, 2), True, dict(stride=2, padding=1, groups=2)),
    ("conv2d", (3, 3, 8, 9), (4, 3, 3, 3), False, dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1))),
    ("conv2d", (2, 4, 5, 5), (8, 4, 1, 1), True, {}),  # 1x1: no im2col
    ("conv2d", (2, 4, 5, 5), (8, 1, 3, 3), True, dict(padding=1, groups=4)),  # depthwise
    ("conv2d", (6, 6, 6), (3, 6, 2, 2), True, dict(stride=2)),  # unbatched
    ("conv1d", (2, 4, 11), (6, 2, 3), True, dict(stride=2, padding=2, dilation=2, groups=2)),
    ("conv1d", (3, 3, 8), (5, 3, 1), False, {}),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 3), True, {}),
    ("conv_transpose2d", (2, 4, 5, 4), (4, 3, 3, 2), True, dict(stride=2, padding=1, output_padding=1,
                                                                 groups=2)),
    ("conv_transpose2d", (2, 4, 4, 5), (4, 2, 3, 3), False, dict(padding=1, output_padding=1, dilation=2)),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 1, 1), True, {}),  # 1x1
    ("conv_transpose1d", (2, 4, 7), (4, 3, 3), True, dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_transpose1d", (4, 7), (4, 3, 3), False, dict(dilation=2)),
]


def _conv_args(case, dtype):
    name, xs, ws, has_bias, kw = case
    transposed = name.startswith("conv_transpose")
    groups = kw.get("groups", 1)
    nb = ws[1] * groups if transposed else ws[0]
    vals = [rand(xs, dtype, 1), rand(ws, dtype, 2)] + ([rand((nb,), dtype, 3)] if has_bias else [])
    return getattr(ctorch, name), vals, kw


@needs_gpu
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("dtype", [ctorch.float64, ctorch.float32])
def test_conv_forward_and_gradients(case, dtype):
    fn, vals, kw = _conv_args(case, dtype)
    cpu = [v.clone().requires_grad_() for v in vals]
    dev = [gpu(v).requires_grad_() for v in vals]
    yc = fn(*cpu, **kw)
    yd = fn(*dev, **kw)
    check(yd, yc, scale=4)
    gy = rand(tuple(yc.shape), dtype, 9)
    (yc * gy).sum().backward()
    (yd * gpu(gy)).sum().backward()
    for c, d in zip(cpu, dev):
        check(d.grad, c.grad, scale=8)


@needs_gpu
@pytest.mark.parametrize("dtype", [ctorch.float16, ctorch.bfloat16])
def test_conv_half(dtype):
    fn, vals, kw = _conv_args(CONV_CASES[1], dtype)
    check(fn(*[gpu(v) for v in vals], **kw), fn(*vals, **kw), scale=2)
    fn, vals, kw = _conv_args(CONV_CASES[9], dtype)
    check(fn(*[gpu(v) for v in vals], **kw), fn(*vals, **kw), scale=2)


@needs_gpu
def test_conv_double_backward():
    x, w = rand((2, 3, 5, 5), ctorch.float64, 1), rand((4, 3, 3, 3), ctorch.float64, 2)
    out = []
    for dev in ("cpu", "cuda"):
        xd, wd = x.to(dev).requires_grad_(), w.to(dev).requires_grad_()
        y = ctorch.conv2d(xd, wd, padding=1, stride=2)
        (gx,) = ctorch.autograd.grad(y.pow(2).sum(), [xd], create_graph=True)
        gx.sum().backward()
        out.append((gx.detach(), wd.grad))
    check(out[1][0], out[0][0])
    check(out[1][1], out[0][1])


@needs_gpu
def test_conv_zero_batch_and_mixed_devices():
    x, w, b = rand((0, 3, 5, 5)), rand((4, 3, 3, 3)), rand((4,))
    check(ctorch.conv2d(gpu(x), gpu(w), gpu(b)), ctorch.conv2d(x, w, b))
    check(ctorch.conv_transpose2d(gpu(rand((0, 4, 3, 3))), gpu(rand((4, 2, 3, 3)))),
          ctorch.conv_transpose2d(rand((0, 4, 3, 3)), rand((4, 2, 3, 3))))
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        ctorch.conv2d(gpu(rand((1, 3, 5, 5))), w)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        ctorch.conv2d(gpu(rand((1, 3, 5, 5))), gpu(w), b)


@needs_gpu
def test_conv_module_on_cuda():
    conv = ctorch.nn.Conv2d(3, 8, 3, padding=1, stride=2)
    x = rand((2, 3, 9, 9), seed=5)
    ref = conv(x)
    conv_d = conv.to("cuda")
    check(conv_d(gpu(x)), ref, scale=4)
