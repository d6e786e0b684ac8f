"""The fused nn ops on CUDA (layer/batch/group norm, cross_entropy, nll_loss, embedding): forward
and ordinary backward compared with the same ops on the CPU (GPU only)."""
import os

import numpy as np
import pytest

import ctorch
import ctorch.nn.functional as F

# CTORCH_TEST_NN_DEVICE=cpu runs every comparison CPU against CPU: a check of the tests themselves
# on machines without a GPU.
DEV = os.environ.get("CTORCH_TEST_NN_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(DEV == "cuda" and not ctorch.cuda.is_available(), reason="CUDA not available")
needs_cuda = pytest.mark.skipif(DEV != "cuda", reason="mixed-device errors need a CUDA device")

F32, F64, F16, BF16 = ctorch.float32, ctorch.float64, ctorch.float16, ctorch.bfloat16
# (rtol, atol) between the two devices: sums run in another order on the GPU, 16-bit results may
# round to the neighbouring value.
TOL = {F32: (1e-4, 1e-5), F64: (1e-10, 1e-12), F16: (2e-3, 2e-3), BF16: (1.6e-2, 1e-2)}


def _close(dev_t, cpu_t, dtype, what=""):
    assert dev_t is not None and cpu_t is not None, what
    assert dev_t.device.type == DEV, what
    assert dev_t.dtype == cpu_t.dtype, what
    assert tuple(dev_t.shape) == tuple(cpu_t.shape), what
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(dev_t.detach().cpu().double().numpy(), cpu_t.detach().double().numpy(), rtol=rtol, atol=atol,
                               equal_nan=True, err_msg=what)


def _leaf(arr, dtype, grad=True, noncontig=False):
    """The same values as a CPU leaf and a device leaf (optionally laid out transposed)."""
    if arr is None:
        return None, None
    t = ctorch.tensor(np.ascontiguousarray(arr.T) if noncontig else arr).to(dtype)
    c = t.t() if noncontig else t
    d = t.to(DEV)
    d = d.t() if noncontig else d
    if grad:
        c = c.detach().requires_grad_()
        d = d.detach().requires_grad_()
    return c, d


def _compare(fn, arrays, dtype, grads=True, noncontig=False, seed=0):
    """fn on CPU leaves and on device leaves: outputs and (for a random output gradient) the
    gradients of every float leaf compared."""
    pairs = [_leaf(a, dtype, grad=grads, noncontig=noncontig and k == 0) for k, a in enumerate(arrays)]
    cpu = [p[0] for p in pairs]
    dev = [p[1] for p in pairs]
    oc, od = fn(*cpu), fn(*dev)
    _close(od, oc, dtype, "output")
    if not grads or oc.numel() == 0:
        return oc, od
    rng = np.random.default_rng(seed + 1)
    g = ctorch.tensor(rng.uniform(-1, 1, size=tuple(oc.shape))).to(oc.dtype)
    oc.backward(g)
    od.backward(g.to(DEV))
    for k, (c, d) in enumerate(zip(cpu, dev)):
        if c is None:
            continue
        if c.grad is None:
            assert d.grad is None, f"grad {k}"
            continue
        _close(d.grad, c.grad, dtype, f"grad {k}")
    return oc, od


def _rand(rng, shape, scale=2.0):
    return rng.uniform(-scale, scale, size=shape) + 0.25


# ------------------------------------------------------------------------------------ layer norm

@pytest.mark.parametrize("dtype", [F32, F64, F16, BF16])
@pytest.mark.parametrize("shape,nd", [((4, 7), 1), ((2, 3, 33), 1), ((2, 3, 33), 2), ((3, 300), 1),
                                      ((5, 1), 1), ((0, 6), 1), ((2, 1030), 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(dtype, shape, nd, affine):
    rng = np.random.default_rng(0)
    ns = shape[len(shape) - nd:]
    arrays = [_rand(rng, shape)]
    if affine:
        arrays += [_rand(rng, ns), _rand(rng, ns)]
    fn = (lambda x, w, b: F.layer_norm(x, ns, w, b, eps=1e-5)) if affine else (lambda x: F.layer_norm(x, ns))
    _compare(fn, arrays, dtype)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_layer_norm_noncontiguous_and_weight_only(dtype):
    rng = np.random.default_rng(1)
    x = _rand(rng, (9, 6))  # stored transposed: the op sees a non-contiguous [9, 6]
    w = _rand(rng, (6,))
    _compare(lambda a, b: F.layer_norm(a, (6,), b, None, eps=1e-3), [x, w], dtype, noncontig=True)
    # native_layer_norm's mean / rstd
    xc, xd = _leaf(_rand(rng, (3, 4, 5)), dtype, grad=False)
    rc = ctorch._C.native_layer_norm(xc, [5], None, None, 1e-5)
    rd = ctorch._C.native_layer_norm(xd, [5], None, None, 1e-5)
    for a, b in zip(rd, rc):
        _close(a, b, dtype)


# ------------------------------------------------------------------------------------ batch norm

@pytest.mark.parametrize("dtype", [F32, F64, F16, BF16])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 4, 3, 3), (1, 2, 300)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_train_updates_running_stats(dtype, shape, affine):
    rng = np.random.default_rng(2)
    C = shape[1]
    sdt = F32 if dtype in (F16, BF16) else dtype  # 16-bit inputs take float32 running stats and params
    rm, rv = ctorch.tensor(rng.uniform(-1, 1, C)).to(sdt), ctorch.tensor(rng.uniform(0.5, 2, C)).to(sdt)
    stats = {dev: (rm.clone().to(dev), rv.clone().to(dev)) for dev in ("cpu", DEV)}
    x = _rand(rng, shape)
    w, b = _rand(rng, (C,)), _rand(rng, (C,))
    xc, xd = _leaf(x, dtype)
    wc, wd = _leaf(w, sdt) if affine else (None, None)
    bc, bd = _leaf(b, sdt) if affine else (None, None)
    rmc, rvc = stats["cpu"]
    rmd, rvd = stats[DEV]
    oc = F.batch_norm(xc, rmc, rvc, wc, bc, training=True, momentum=0.3, eps=1e-4)
    od = F.batch_norm(xd, rmd, rvd, wd, bd, training=True, momentum=0.3, eps=1e-4)
    _close(od, oc, dtype, "output")
    _close(rmd, rmc, sdt, "running_mean")
    _close(rvd, rvc, sdt, "running_var")
    g = ctorch.tensor(rng.uniform(-1, 1, size=shape)).to(dtype)
    oc.backward(g)
    od.backward(g.to(DEV))
    _close(xd.grad, xc.grad, dtype, "dx")
    if affine:
        _close(wd.grad, wc.grad, dtype, "dw")
        _close(bd.grad, bc.grad, dtype, "db")


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 7), (0, 3, 2)])
def test_batch_norm_eval(dtype, shape):
    rng = np.random.default_rng(3)
    C = shape[1]
    rm, rv = rng.uniform(-1, 1, C), rng.uniform(0.5, 2, C)
    fn = lambda x, w, b, m, v: F.batch_norm(x, m.detach(), v.detach(), w, b, training=False, eps=1e-5)
    _compare(fn, [_rand(rng, shape), _rand(rng, (C,)), _rand(rng, (C,)), rm, rv], dtype)


def test_batch_norm_train_noncontiguous_no_running_stats():
    rng = np.random.default_rng(4)
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)
    _compare(fn, [_rand(rng, (5, 6)), _rand(rng, (6,)), _rand(rng, (6,))], F32, noncontig=True)


# ------------------------------------------------------------------------------------ group norm

@pytest.mark.parametrize("dtype", [F32, F64, F16, BF16])
@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 1), ((2, 6, 5), 2), ((2, 6, 5), 3), ((2, 6, 5), 6),
                                          ((3, 4, 2, 2), 2), ((2, 4), 2), ((1, 8, 300), 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm(dtype, shape, groups, affine):
    rng = np.random.default_rng(5)
    C = shape[1]
    arrays = [_rand(rng, shape)]
    if affine:
        arrays += [_rand(rng, (C,)), _rand(rng, (C,))]
    fn = (lambda x, w, b: F.group_norm(x, groups, w, b, eps=1e-5)) if affine else (lambda x: F.group_norm(x, groups))
    _compare(fn, arrays, dtype)


def test_group_norm_stats_and_empty_batch():
    rng = np.random.default_rng(6)
    xc, xd = _leaf(_rand(rng, (2, 6, 4)), F64, grad=False)
    rc = ctorch._C.native_group_norm(xc, None, None, 2, 6, 4, 3, 1e-5)
    rd = ctorch._C.native_group_norm(xd, None, None, 2, 6, 4, 3, 1e-5)
    for a, b in zip(rd, rc):
        _close(a, b, F64)
    _compare(lambda x, w, b: F.group_norm(x, 2, w, b), [_rand(rng, (0, 4, 3)), _rand(rng, (4,)),
                                                        _rand(rng, (4,))], F32)


# ------------------------------------------------------------------------------------ losses

def _targets(rng, shape, C, ignore=None):
    t = rng.integers(0, C, size=shape)
    if ignore is not None and t.size:
        t.reshape(-1)[:: 3] = ignore
    return t


CLASS_SHAPES = [((5, 7), (5,)), ((7,), ()), ((3, 4, 5), (3, 5)), ((2, 3, 4, 2), (2, 4, 2)), ((0, 4), (0,))]


@pytest.mark.parametrize("dtype", [F32, F64, F16, BF16])
@pytest.mark.parametrize("shapes", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"ignore_index": 1}, {"ignore_index": -100, "ignored": True},
                                  {"label_smoothing": 0.2}, {"label_smoothing": 0.3, "weight": True, "ignore_index": 2}])
def test_cross_entropy(dtype, shapes, reduction, opts):
    if dtype in (F16, BF16) and opts:
        pytest.skip("16-bit: the plain case is enough")
    xs, ts = shapes
    C = xs[0] if len(xs) == 1 else xs[1]
    rng = np.random.default_rng(7)
    ignore = opts.get("ignore_index", -100)
    t = _targets(rng, ts, C, ignore if opts.get("ignored") or "ignore_index" in opts else None)
    tc = ctorch.tensor(np.asarray(t, dtype=np.int64))
    arrays = [_rand(rng, xs)]
    if opts.get("weight"):
        arrays.append(rng.uniform(0.2, 2, C))
    ls = opts.get("label_smoothing", 0.0)

    def fn(x, w=None):
        return F.cross_entropy(x, tc.to(x.device.type), weight=None if w is None else w.detach(), ignore_index=ignore,
                               reduction=reduction, label_smoothing=ls)
    _compare(fn, arrays, dtype)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("C", [1, 33, 1000, 5000])
def test_cross_entropy_wide_rows_and_extremes(dtype, C):
    rng = np.random.default_rng(8)
    x = _rand(rng, (6, C), scale=30.0)
    x[1, :] = -np.inf  # a row of -inf: NaN loss on both devices
    x[2, 0] = 1e4      # a dominating logit
    t = rng.integers(0, C, size=6)
    tc = ctorch.tensor(t)
    fn = lambda a: F.cross_entropy(a, tc.to(a.device.type), reduction="none", label_smoothing=0.1)
    _compare(fn, [x], dtype)


def test_cross_entropy_uint8_target_and_all_ignored():
    rng = np.random.default_rng(9)
    t = ctorch.tensor(rng.integers(0, 4, size=(6,))).to(ctorch.uint8)  # Byte targets: (N, C) inputs only
    fn = lambda a: F.cross_entropy(a, t.to(a.device.type), reduction="mean", label_smoothing=0.1)
    _compare(fn, [_rand(rng, (6, 4))], F32)
    ti = ctorch.full((4,), -100, dtype=ctorch.int64)
    fn = lambda a: F.cross_entropy(a, ti.to(a.device.type), reduction="mean")  # 0 / 0: NaN
    _compare(fn, [_rand(rng, (4, 3))], F64)


@pytest.mark.parametrize("dtype", [F32, F64, F16])
@pytest.mark.parametrize("shapes", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(dtype, shapes, reduction, weighted):
    xs, ts = shapes
    C = xs[0] if len(xs) == 1 else xs[1]
    rng = np.random.default_rng(10)
    t = _targets(rng, ts, C, ignore=-100)
    tc = ctorch.tensor(np.asarray(t, dtype=np.int64))
    arrays = [_rand(rng, xs)]
    if weighted:
        arrays.append(rng.uniform(0.2, 2, C))

    def fn(x, w=None):
        return F.nll_loss(x, tc.to(x.device.type), weight=None if w is None else w.detach(),
                          reduction=reduction)
    _compare(fn, arrays, dtype)


@pytest.mark.parametrize("bad", [7, 5, -1, -3])
def test_bad_targets_raise_index_error(bad):
    x = ctorch.zeros(4, 5).to(DEV)
    t = ctorch.tensor([0, 1, bad, 2]).to(DEV)
    for fn in (F.cross_entropy, F.nll_loss):
        with pytest.raises(IndexError, match=f"Target {bad} is out of bounds"):
            fn(x, t)
    # the first bad target is the one named
    t2 = ctorch.tensor([0, 9, 1, 2, 8]).to(DEV)
    with pytest.raises(IndexError, match="Target 9 is out of bounds"):
        F.cross_entropy(ctorch.zeros(5, 5).to(DEV), t2)
    # spatial targets too
    ts = ctorch.tensor([[0, 1, bad]]).to(DEV)
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(ctorch.zeros(1, 5, 3).to(DEV), ts)


# ------------------------------------------------------------------------------------ embedding

@pytest.mark.parametrize("dtype", [F32, F64, F16, BF16])
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("ishape", [(3, 5), (7,), (0,), (2, 2, 3)])
def test_embedding(dtype, padding_idx, scale, ishape):
    rng = np.random.default_rng(11)
    V, D = 10, 6
    idx = rng.integers(0, 4, size=ishape)  # few distinct values: many duplicates
    if idx.size:
        idx.reshape(-1)[0] = V - 1
    ic = ctorch.tensor(np.asarray(idx, dtype=np.int64))
    fn = lambda w: F.embedding(ic.to(w.device.type), w, padding_idx=padding_idx, scale_grad_by_freq=scale)
    _compare(fn, [_rand(rng, (V, D))], dtype)


def test_embedding_int32_noncontiguous_large():
    rng = np.random.default_rng(12)
    V, D = 3000, 33
    idx = ctorch.tensor(rng.integers(0, V, size=(40, 50)).astype(np.int32)).t()  # non-contiguous int32
    fn = lambda w: F.embedding(idx.to(w.device.type), w, padding_idx=5, scale_grad_by_freq=True)
    _compare(fn, [_rand(rng, (V, D))], F32)
    # many repeats of one index
    rep = ctorch.tensor(np.full(5000, 7, dtype=np.int64))
    fn = lambda w: F.embedding(rep.to(w.device.type), w)
    _compare(fn, [_rand(rng, (V, 4))], F64)
    # non-float weights go through the forward too
    wi = ctorch.arange(40).reshape(10, 4)
    ii = ctorch.tensor([[3, 3, 9], [0, 1, 2]])
    assert F.embedding(ii.to(DEV), wi.to(DEV)).cpu().tolist() == F.embedding(ii, wi).tolist()


def test_embedding_bad_index_and_dense_backward():
    w = ctorch.zeros(5, 3).to(DEV)
    for bad in (5, -1):
        with pytest.raises(IndexError, match="index out of range in self"):
            F.embedding(ctorch.tensor([0, bad, 1]).to(DEV), w)
    rng = np.random.default_rng(13)
    g = ctorch.tensor(rng.uniform(-1, 1, (4, 3)))
    i = ctorch.tensor([1, 3, 1, 0])
    ref = ctorch._C.embedding_dense_backward(g, i, 5, 3, True)
    out = ctorch._C.embedding_dense_backward(g.to(DEV), i.to(DEV), 5, 3, True)
    _close(out, ref, F64)


# ------------------------------------------------------------------------------------ devices

@needs_cuda
def test_mixed_devices_raise_runtime_error():
    x = ctorch.zeros(4, 5).to(DEV)
    with pytest.raises(RuntimeError, match="same device"):
        F.cross_entropy(x, ctorch.tensor([0, 1, 2, 3]))
    with pytest.raises(RuntimeError, match="same device"):
        F.nll_loss(x, ctorch.tensor([0, 1, 2, 3]).to(DEV), weight=ctorch.ones(5))
    with pytest.raises(RuntimeError, match="same device"):
        F.layer_norm(x, (5,), ctorch.ones(5))
    with pytest.raises(RuntimeError, match="same device"):
        F.batch_norm(x, ctorch.zeros(5), ctorch.ones(5), training=True)
    with pytest.raises(RuntimeError, match="same device"):
        F.group_norm(x.reshape(4, 5, 1), 5, ctorch.ones(5).to(DEV), ctorch.ones(5))
    with pytest.raises(RuntimeError, match="same device"):
        F.embedding(ctorch.tensor([0, 1]), x)
