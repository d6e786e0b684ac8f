"""Linear algebra: matmul and friends against NumPy (and torch when installed), einsum, errors."""
import numpy as np
import pytest

import ctorch
from conftest import (INT_DTYPES, assert_close, assert_raises_like_torch, make_tensor,
                      noncontiguous, to_np)

MATMUL_SHAPES = [
    ((3,), (3,)),            # dot
    ((4,), (4, 5)),          # vector @ matrix
    ((4, 5), (5,)),          # matrix @ vector
    ((4, 5), (5, 6)),
    ((2, 4, 5), (5, 6)),     # batch folded into rows
    ((2, 4, 5), (5,)),
    ((5,), (2, 5, 3)),
    ((2, 4, 5), (2, 5, 3)),
    ((3, 1, 4, 5), (2, 5, 6)),  # batch broadcast both ways
    ((1, 4, 5), (3, 5, 2)),
    ((4, 5), (3, 5, 2)),
    ((2, 1, 3, 4), (1, 5, 4, 2)),
    ((0, 5), (5, 3)),        # zero-size dims
    ((4, 0), (0, 3)),
    ((4, 5), (5, 0)),
    ((0,), (0,)),
    ((0, 2, 3), (3, 4)),
    ((2, 0, 3), (2, 3, 4)),
    ((1, 1), (1, 1)),
]

def _close(r, expected, dtype, k=1):
    # Rounding error of a length-k dot product grows with k; 16-bit results round once.
    tol = {ctorch.float16: 2e-3, ctorch.bfloat16: 1e-2, ctorch.float32: 2e-6, ctorch.float64: 1e-13}
    if dtype in tol:
        scale = max(1.0, float(np.abs(expected).max()) if expected.size else 1.0)
        assert_close(r, expected, rtol=tol[dtype] * 4, atol=tol[dtype] * scale * max(k, 1))
    else:
        assert_close(r, expected)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64])
def test_matmul_shapes(sa, sb, dtype):
    a, b = make_tensor(sa, dtype, seed=1), make_tensor(sb, dtype, seed=2)
    r = ctorch.matmul(a, b)
    exp = np.matmul(to_np(a).astype(np.float64), to_np(b).astype(np.float64))
    assert r.dtype == dtype
    assert tuple(r.shape) == exp.shape
    _close(r, exp, dtype, sa[-1])
    r2 = a @ b
    _close(r2, exp, dtype, sa[-1])


@pytest.mark.parametrize("sa,sb", [s for s in MATMUL_SHAPES if 0 not in s[0] + s[1]][:12])
@pytest.mark.parametrize("dtype", [ctorch.float16, ctorch.bfloat16] + INT_DTYPES)
def test_matmul_dtypes(sa, sb, dtype):
    a, b = make_tensor(sa, dtype, -3, 3, seed=3), make_tensor(sb, dtype, -3, 3, seed=4)
    r = ctorch.matmul(a, b)
    assert r.dtype == dtype
    if dtype in INT_DTYPES:
        exp = np.matmul(to_np(a).astype(np.int64), to_np(b).astype(np.int64)).astype(to_np(a).dtype)
        assert_close(r, exp)
    else:
        exp = np.matmul(to_np(a).astype(np.float64), to_np(b).astype(np.float64))
        _close(r, exp, dtype, sa[-1])


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.int64, ctorch.float16])
def test_matmul_transposed_and_noncontiguous(dtype):
    a = make_tensor((6, 5), dtype, -3, 3, seed=5)
    b = make_tensor((7, 6), dtype, -3, 3, seed=6)
    na, nb = to_np(a).astype(np.float64), to_np(b).astype(np.float64)
    cases = [
        (a.t(), b.t(), na.T @ nb.T),                     # both transposed: no copy needed
        (a.t(), noncontiguous(b.t().contiguous()), na.T @ nb.T),
        (noncontiguous(a), noncontiguous(make_tensor((5, 4), dtype, -3, 3, seed=7)), None),
        # row step 2 (lda 10) and a transposed column step 3 (lda 18): still no copy
        (a.as_strided((3, 5), (10, 1)), b.t().as_strided((5, 3), (1, 18)), na[::2] @ nb.T[:5, ::3]),
        (a.narrow(0, 1, 5).narrow(1, 1, 4), b.narrow(0, 1, 5).narrow(1, 2, 4).t(), None),
    ]
    for x, y, exp in cases:
        if exp is None:
            exp = to_np(x).astype(np.float64) @ to_np(y).astype(np.float64)
        r = ctorch.matmul(x, y)
        if dtype == ctorch.int64:
            assert_close(r, exp.astype(np.int64))
        else:
            _close(r, exp, dtype, x.shape[-1])


def test_matmul_batched_noncontiguous():
    a = make_tensor((4, 3, 5), ctorch.float32, seed=8)
    b = make_tensor((3, 2, 4), ctorch.float32, seed=9)
    x = a.permute(0, 2, 1)            # [4, 5, 3] with transposed matrices
    y = b.permute(1, 0, 2)            # [2, 3, 4]: batch stride not the leading one
    r = ctorch.matmul(x.unsqueeze(1), y)   # [4, 1, 5, 3] @ [2, 3, 4]
    exp = np.matmul(to_np(x)[:, None].astype(np.float64), to_np(y).astype(np.float64))
    _close(r, exp, ctorch.float32, 3)
    # expanded (stride-0) operand
    e = make_tensor((1, 3, 3), ctorch.float64, seed=10).expand(5, 3, 3)
    f = make_tensor((5, 3, 2), ctorch.float64, seed=11)
    _close(ctorch.bmm(e, f), np.matmul(to_np(e), to_np(f)), ctorch.float64, 3)
    # a stride-0 matrix dim is not readable by BLAS in place
    g = make_tensor((3, 1), ctorch.float32, seed=12).expand(3, 4)
    h = make_tensor((4, 2), ctorch.float32, seed=13)
    _close(ctorch.mm(g, h), to_np(g).astype(np.float64) @ to_np(h), ctorch.float32, 4)
    _close(ctorch.mm(h.t(), g.t()), to_np(h).T.astype(np.float64) @ to_np(g).T, ctorch.float32, 4)


def test_many_small_batches_match_loop():
    a = make_tensor((300, 4, 6), ctorch.float32, seed=13)
    b = make_tensor((300, 6, 5), ctorch.float32, seed=14)
    r = ctorch.bmm(a, b)
    exp = np.stack([to_np(a)[i].astype(np.float64) @ to_np(b)[i] for i in range(300)])
    _close(r, exp, ctorch.float32, 6)


def test_large_gemm_against_numpy():
    a = make_tensor((257, 130), ctorch.float32, seed=15)
    b = make_tensor((130, 129), ctorch.float32, seed=16)
    _close(a @ b, to_np(a).astype(np.float64) @ to_np(b), ctorch.float32, 130)


def test_results_follow_num_threads():
    a = make_tensor((200, 300), ctorch.float64, seed=17)
    b = make_tensor((300, 100), ctorch.float64, seed=18)
    n = ctorch.get_num_threads()
    try:
        ctorch.set_num_threads(1)
        r1 = to_np(a @ b)
        ctorch.set_num_threads(2)
        r2 = to_np(a @ b)
    finally:
        ctorch.set_num_threads(n)
    np.testing.assert_allclose(r1, r2, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(r1, to_np(a) @ to_np(b), rtol=1e-12, atol=1e-11)


def test_mm_bmm_mv_dot_outer():
    a, b = make_tensor((3, 4), ctorch.float64, seed=1), make_tensor((4, 2), ctorch.float64, seed=2)
    _close(ctorch.mm(a, b), to_np(a) @ to_np(b), ctorch.float64)
    _close(a.mm(b), to_np(a) @ to_np(b), ctorch.float64)
    v = make_tensor((4,), ctorch.float64, seed=3)
    _close(ctorch.mv(a, v), to_np(a) @ to_np(v), ctorch.float64)
    _close(a.mv(v), to_np(a) @ to_np(v), ctorch.float64)
    d = ctorch.dot(v, v)
    assert d.shape == ()
    _close(d, np.dot(to_np(v), to_np(v)), ctorch.float64)
    _close(v.dot(v), np.dot(to_np(v), to_np(v)), ctorch.float64)
    w = make_tensor((3,), ctorch.int32, seed=4)
    o = ctorch.outer(v, w)
    assert o.dtype == ctorch.float64
    _close(o, np.outer(to_np(v), to_np(w)), ctorch.float64)
    assert_close(ctorch.outer(w, w), np.outer(to_np(w), to_np(w)).astype(np.int32))
    x, y = make_tensor((5, 3, 4), ctorch.float32, seed=5), make_tensor((5, 4, 2), ctorch.float32, seed=6)
    _close(ctorch.bmm(x, y), np.matmul(to_np(x).astype(np.float64), to_np(y)), ctorch.float32, 4)
    _close(x.bmm(y), np.matmul(to_np(x).astype(np.float64), to_np(y)), ctorch.float32, 4)
    # dot of integers and of empty vectors
    iv = make_tensor((7,), ctorch.int64, seed=7)
    assert ctorch.dot(iv, iv).item() == int(np.dot(to_np(iv), to_np(iv)))
    assert ctorch.dot(ctorch.zeros(0), ctorch.zeros(0)).item() == 0


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64, ctorch.int64, ctorch.bfloat16])
def test_addmm_family(dtype):
    is_f = dtype != ctorch.int64
    beta, alpha = (0.5, 2.0) if is_f else (3, -2)
    inp = make_tensor((4,), dtype, -3, 3, seed=1)         # broadcasts over rows
    m1, m2 = make_tensor((3, 5), dtype, -3, 3, seed=2), make_tensor((5, 4), dtype, -3, 3, seed=3)
    f = lambda t: to_np(t).astype(np.float64)
    exp = beta * f(inp) + alpha * (f(m1) @ f(m2))
    chk = (lambda r, e: _close(r, e, dtype, 5)) if is_f else (lambda r, e: assert_close(r, e.astype(np.int64)))
    chk(ctorch.addmm(inp, m1, m2, beta=beta, alpha=alpha), exp)
    chk(inp.expand(3, 4).addmm(m1, m2, beta=beta, alpha=alpha), exp)
    chk(ctorch.addmm(inp, m1, m2), f(inp) + f(m1) @ f(m2))
    vec = make_tensor((5,), dtype, -3, 3, seed=4)
    i3 = make_tensor((3,), dtype, -3, 3, seed=5)
    chk(ctorch.addmv(i3, m1, vec, beta=beta, alpha=alpha), beta * f(i3) + alpha * (f(m1) @ f(vec)))
    b1, b2 = make_tensor((2, 3, 5), dtype, -3, 3, seed=6), make_tensor((2, 5, 4), dtype, -3, 3, seed=7)
    bi = make_tensor((3, 4), dtype, -3, 3, seed=8)
    chk(ctorch.baddbmm(bi, b1, b2, beta=beta, alpha=alpha), beta * f(bi) + alpha * np.matmul(f(b1), f(b2)))
    chk(ctorch.addbmm(bi, b1, b2, beta=beta, alpha=alpha),
        beta * f(bi) + alpha * np.matmul(f(b1), f(b2)).sum(0))
    # in place
    t = bi.clone()
    r = t.addmm_(m1, m2, beta=beta, alpha=alpha)
    assert r is t
    chk(t, beta * f(bi) + alpha * (f(m1) @ f(m2)))


def test_addmm_beta_zero_ignores_nan():
    inp = ctorch.full((2, 2), float("nan"))
    m = ctorch.eye(2)
    r = ctorch.addmm(inp, m, m, beta=0)
    assert_close(r, np.eye(2))
    r = ctorch.addbmm(inp, ctorch.zeros(0, 2, 3), ctorch.zeros(0, 3, 2), beta=0)
    assert_close(r, np.zeros((2, 2)))
    r = ctorch.addmm(ctorch.ones(2, 2), ctorch.zeros(2, 0), ctorch.zeros(0, 2), beta=3)
    assert_close(r, np.full((2, 2), 3.0))


def test_out_argument():
    a, b = make_tensor((2, 3), ctorch.float32, seed=1), make_tensor((3, 4), ctorch.float32, seed=2)
    out = ctorch.empty(2, 4)
    r = ctorch.matmul(a, b, out=out)
    assert r is out
    _close(out, to_np(a).astype(np.float64) @ to_np(b), ctorch.float32, 3)
    with pytest.raises(RuntimeError, match=r"\[mm\] out has shape"):
        ctorch.mm(a, b, out=ctorch.empty(3, 3))


def test_errors():
    a, b = ctorch.ones(2, 3), ctorch.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"2x3 and 4x5"):
        ctorch.mm(a, b)
    with pytest.raises(RuntimeError, match=r"\[2, 3\] and \[4, 5\]"):
        ctorch.matmul(a, b)
    with pytest.raises(RuntimeError, match=r"\[2, 2, 3\] and \[3, 3, 1\]"):
        ctorch.matmul(ctorch.ones(2, 2, 3), ctorch.ones(3, 3, 1))
    with pytest.raises(RuntimeError, match=r"\[3\] and \[4\]"):
        ctorch.matmul(ctorch.ones(3), ctorch.ones(4))
    with pytest.raises(RuntimeError, match="at least 1D"):
        ctorch.matmul(ctorch.ones(()), a)
    with pytest.raises(RuntimeError, match="same dtype"):
        ctorch.matmul(a, ctorch.ones(3, 2, dtype=ctorch.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        ctorch.dot(ctorch.ones(3), ctorch.ones(3, dtype=ctorch.float64))
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        ctorch.dot(a, a)
    with pytest.raises(RuntimeError, match="2-D"):
        ctorch.mm(ctorch.ones(3), a)
    with pytest.raises(RuntimeError, match="3-D"):
        ctorch.bmm(a, a)
    with pytest.raises(RuntimeError, match="number of batches"):
        ctorch.bmm(ctorch.ones(2, 2, 2), ctorch.ones(3, 2, 2))
    with pytest.raises(RuntimeError, match="size mismatch"):
        ctorch.mv(a, ctorch.ones(4))
    with pytest.raises(RuntimeError, match="Bool"):
        ctorch.mm(ctorch.ones(2, 2, dtype=ctorch.bool), ctorch.ones(2, 2, dtype=ctorch.bool))
    with pytest.raises(RuntimeError, match="beta must not be a floating"):
        ctorch.addmm(ctorch.ones(2, 2, dtype=ctorch.int64), ctorch.ones(2, 2, dtype=ctorch.int64),
                     ctorch.ones(2, 2, dtype=ctorch.int64), beta=0.5)
    with pytest.raises(RuntimeError, match=r"\[addmm\].*\[3, 3\] and \[2, 2\]"):
        ctorch.addmm(ctorch.ones(3, 3), a, ctorch.ones(3, 2))
    with pytest.raises(TypeError):
        a @ 2


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("ijk,ikl,ilm->ijm", [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),
    ("iij->ij", [(3, 3, 2)]),
    ("iji->j", [(3, 2, 3)]),
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 2)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk", [(7, 2, 3, 4), (2, 4, 5)]),
    ("i...->...", [(3, 2, 4)]),
    ("ab,cd->abcd", [(2, 3), (4, 5)]),
    ("ab,ab->", [(2, 3), (2, 3)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]),
    ("ij,kj->ik", [(0, 3), (4, 3)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("i,i,i->i", [(4,), (4,), (4,)]),
    ("ij,j->i", [(3, 1), (4,)]),
])
@pytest.mark.parametrize("dtype", [ctorch.float64, ctorch.int64])
def test_einsum(eq, shapes, dtype):
    ops = [make_tensor(s, dtype, -3, 3, seed=i) for i, s in enumerate(shapes)]
    if eq == "ij,j->i":  # size-1 dims broadcast against the other operand (PyTorch allows this)
        exp = (to_np(ops[0]) * to_np(ops[1])[None]).sum(1)
    else:
        exp = np.einsum(eq, *[to_np(o) for o in ops])
    r = ctorch.einsum(eq, *ops)
    assert r.dtype == dtype
    assert tuple(r.shape) == np.shape(exp)
    assert_close(r, np.asarray(exp), rtol=1e-12, atol=1e-12) if dtype == ctorch.float64 else assert_close(r, np.asarray(exp))
    r2 = ctorch.einsum(eq, ops)  # operands as one list
    assert tuple(r2.shape) == np.shape(exp)


def test_einsum_returns_fresh_tensor_and_noncontiguous():
    a = make_tensor((3, 4), ctorch.float32)
    r = ctorch.einsum("ij->ji", a)
    r.fill_(0)
    assert to_np(a).any()
    x = noncontiguous(make_tensor((3, 4), ctorch.float32, seed=2))
    y = make_tensor((5, 4), ctorch.float32, seed=3).t()
    _close(ctorch.einsum("ij,jk->ik", x, y), to_np(x).astype(np.float64) @ to_np(y), ctorch.float32, 4)


def test_einsum_errors():
    a = ctorch.ones(2, 3)
    with pytest.raises(RuntimeError, match="number of subscripts"):
        ctorch.einsum("ijk->i", a)
    with pytest.raises(RuntimeError, match="operands"):
        ctorch.einsum("ij,jk->ik", a)
    with pytest.raises(RuntimeError, match="does not appear"):
        ctorch.einsum("ij->z", a)
    with pytest.raises(RuntimeError, match="more than once"):
        ctorch.einsum("ij->ii", a)
    with pytest.raises(RuntimeError, match="sizes don't match"):
        ctorch.einsum("ii->i", a)
    with pytest.raises(RuntimeError, match="broadcast"):
        ctorch.einsum("ij,ij->ij", a, ctorch.ones(2, 4))
    with pytest.raises(RuntimeError, match="subscripts must be in"):
        ctorch.einsum("i1->i", a)


def test_tensordot_and_linalg_namespace():
    a, b = make_tensor((2, 3, 4), ctorch.float64, seed=1), make_tensor((3, 4, 5), ctorch.float64, seed=2)
    _close(ctorch.tensordot(a, b), np.tensordot(to_np(a), to_np(b)), ctorch.float64)
    _close(ctorch.tensordot(a, b, dims=([1], [0])), np.tensordot(to_np(a), to_np(b), axes=([1], [0])), ctorch.float64)
    _close(ctorch.linalg.matmul(a, b.select(2, 0).t()), np.matmul(to_np(a), to_np(b)[:, :, 0].T), ctorch.float64)
    x, y = make_tensor((4, 3), ctorch.float64, seed=3), make_tensor((3,), ctorch.float64, seed=4)
    _close(ctorch.linalg.vecdot(x, y), (to_np(x) * to_np(y)).sum(-1), ctorch.float64)
    if not hasattr(ctorch._C, "vector_norm"):
        with pytest.raises(NotImplementedError):
            ctorch.linalg.vector_norm(x)
    else:
        _close(ctorch.linalg.vector_norm(x), np.linalg.norm(to_np(x).ravel()), ctorch.float64)


def test_against_torch():
    torch = pytest.importorskip("torch")
    a = make_tensor((2, 1, 3, 4), ctorch.float32, seed=1)
    b = make_tensor((5, 4, 2), ctorch.float32, seed=2)
    exp = torch.matmul(torch.from_numpy(to_np(a)), torch.from_numpy(to_np(b))).numpy()
    assert_close(a @ b, exp, rtol=1e-5, atol=1e-5)
    x = make_tensor((3, 3, 4), ctorch.float32, seed=3)
    exp = torch.einsum("iij->j", torch.from_numpy(to_np(x))).numpy()
    assert_close(ctorch.einsum("iij->j", x), exp, rtol=1e-5, atol=1e-5)


def test_einsum_sublist_form():
    a, b = make_tensor((2, 3), ctorch.float64, seed=1), make_tensor((3, 4), ctorch.float64, seed=2)
    _close(ctorch.einsum(a, [0, 1], b, [1, 2], [0, 2]), to_np(a) @ to_np(b), ctorch.float64)
    _close(ctorch.einsum(a, [0, 1], b, [1, 2]), to_np(a) @ to_np(b), ctorch.float64)
    c = make_tensor((5, 2, 3), ctorch.float64, seed=3)
    _close(ctorch.einsum(c, [..., 0, 1], [..., 1, 0]), np.swapaxes(to_np(c), 1, 2), ctorch.float64)
    with pytest.raises(ValueError):
        ctorch.einsum(a, [0, 60])


def _allocs(fn):
    before = ctorch._C._allocator_stats()["num_allocs"]
    r = fn()
    return ctorch._C._allocator_stats()["num_allocs"] - before, r


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.float64])
def test_blas_reads_transposed_and_row_strided_operands_in_place(dtype):
    a = make_tensor((40, 30), dtype, seed=1)
    b = make_tensor((20, 40), dtype, seed=2)
    wide = make_tensor((30, 50), dtype, seed=3)
    # only the output is allocated: transposes and a row stride become BLAS trans flags / lda
    for x, y in [(a.t(), b.t()), (wide.narrow(1, 5, 40), a), (a.t(), make_tensor((40, 50), dtype, seed=4).narrow(1, 7, 20)),
                 (a.t().unsqueeze(0).expand(3, 30, 40), b.t())]:
        n, r = _allocs(lambda: ctorch.matmul(x, y))
        assert n == 1, (tuple(x.stride()), tuple(y.stride()), n)
        _close(r, to_np(x).astype(np.float64) @ to_np(y).astype(np.float64), dtype, 40)
    # no unit stride in the matrix: one copy, then BLAS
    x, y = noncontiguous(a), make_tensor((30, 20), dtype, seed=5)
    n, r = _allocs(lambda: ctorch.mm(x, y))
    assert n == 2
    _close(r, to_np(x).astype(np.float64) @ to_np(y), dtype, 30)
    # a batch that folds into the rows as a view: still only the output
    z = make_tensor((4, 10, 30), dtype, seed=6)
    n, r = _allocs(lambda: ctorch.matmul(z, y))
    assert n == 1
    _close(r, np.matmul(to_np(z).astype(np.float64), to_np(y)), dtype, 30)


def test_error_classes_match_torch():
    torch = pytest.importorskip("torch")
    cases = [
        ("mm", lambda m: m.mm(m.ones(2, 3), m.ones(4, 5))),
        ("matmul 0-d", lambda m: m.matmul(m.ones(()), m.ones(2))),
        ("matmul batch", lambda m: m.matmul(m.ones(2, 2, 3), m.ones(3, 3, 1))),
        ("bmm dims", lambda m: m.bmm(m.ones(2, 2), m.ones(2, 2))),
        ("dot dtype", lambda m: m.dot(m.ones(3), m.ones(3, dtype=m.float64))),
        ("mv", lambda m: m.mv(m.ones(2, 3), m.ones(4))),
        ("einsum dims", lambda m: m.einsum("ijk->i", m.ones(2, 3))),
        ("einsum out", lambda m: m.einsum("ij->z", m.ones(2, 3))),
    ]
    assert_raises_like_torch(torch, cases)


def test_einsum_random_equations_match_numpy():
    # Seeded random equations: repeated labels, implicit/explicit outputs, "..." with broadcasting.
    import random
    rnd = random.Random(1)
    tested = 0
    for _ in range(400):
        sizes = {c: rnd.randint(1, 3) for c in "abcd"}
        ell = [rnd.randint(1, 3) for _ in range(2)]
        terms, ops = [], []
        for _ in range(rnd.randint(1, 3)):
            t = "".join(rnd.choice("abcd") for _ in range(rnd.randint(0, 3)))
            shape = [sizes[c] for c in t]
            if rnd.random() < 0.5:
                ne, pos = rnd.randint(0, 2), rnd.randint(0, len(t))
                es = [e if rnd.random() < 0.7 else 1 for e in ell[2 - ne:]]
                shape = shape[:pos] + es + shape[pos:]
                t = t[:pos] + "..." + t[pos:]
            terms.append(t)
            ops.append(np.random.default_rng(len(terms)).integers(-3, 4, size=shape).astype(np.float64))
        used = sorted(set("".join(terms).replace(".", "")))
        eq = ",".join(terms)
        if rnd.random() < 0.6:
            out = "".join(rnd.sample(used, rnd.randint(0, len(used))))
            if "..." in eq and rnd.random() < 0.8:
                p = rnd.randint(0, len(out))
                out = out[:p] + "..." + out[p:]
            eq += "->" + out
        try:
            exp = np.einsum(eq, *ops)
        except ValueError:
            continue  # NumPy rejects it (e.g. "..." dims dropped from an explicit output)
        tested += 1
        r = ctorch.einsum(eq, *[ctorch.tensor(o) for o in ops])
        assert tuple(r.shape) == np.shape(exp), eq
        np.testing.assert_allclose(to_np(r), exp, err_msg=eq)
    assert tested > 300


def test_inner_vdot_multi_dot():
    a, b = make_tensor((2, 3, 4), ctorch.float64, seed=1), make_tensor((5, 4), ctorch.float64, seed=2)
    _close(ctorch.inner(a, b), np.inner(to_np(a), to_np(b)), ctorch.float64)
    s = ctorch.tensor(2.0, dtype=ctorch.float64)
    _close(ctorch.inner(s, b), 2 * to_np(b), ctorch.float64)
    v = make_tensor((4,), ctorch.float64, seed=3)
    _close(ctorch.vdot(v, v), np.vdot(to_np(v), to_np(v)), ctorch.float64)
    m = [make_tensor(s, ctorch.float64, seed=i) for i, s in enumerate([(3,), (3, 4), (4, 5), (5,)])]
    _close(ctorch.linalg.multi_dot(m), np.linalg.multi_dot([to_np(x) for x in m]), ctorch.float64)
    with pytest.raises(RuntimeError, match="2D"):
        ctorch.linalg.multi_dot([m[1], m[0], m[2]])


def test_openblas_stays_single_threaded_and_products_split_over_ctorch_threads():
    import ctypes
    try:  # the copy of OpenBLAS this process loaded (the wheel ships its own)
        with open("/proc/self/maps") as f:
            # ctorch's copy is exactly libscipy_openblas.so (SciPy's own carries a hash suffix).
            path = next(line.split()[-1] for line in f if line.rstrip().endswith("/libscipy_openblas.so"))
    except (OSError, StopIteration):
        pytest.skip("cannot locate the loaded OpenBLAS")
    lib = ctypes.CDLL(path)
    n = ctorch.get_num_threads()
    a, b = make_tensor((300, 200), ctorch.float32, seed=1), make_tensor((200, 500), ctorch.float32, seed=2)
    results = []
    try:
        for k in (1, 2, 3):
            ctorch.set_num_threads(k)
            assert lib.scipy_openblas_get_num_threads() == 1  # ctorch's pool does the splitting
            results += [a @ b, b.t() @ a.t(), (a.t() @ a[:, :7]).t()]
    finally:
        ctorch.set_num_threads(n)
    _close(results[0], to_np(a) @ to_np(b), ctorch.float32)
    for r, ref in zip(results[3:], results * 2):  # the same product whichever way the work was split
        _close(r, to_np(ref), ctorch.float32)


def test_inplace_add_variants_check_shape():
    with pytest.raises(RuntimeError, match=r"\[addmv_\]"):
        ctorch.ones(1).addmv_(ctorch.ones(3, 2), ctorch.ones(2))
    t = ctorch.zeros(3)
    assert t.addmv_(ctorch.ones(3, 2), ctorch.ones(2), alpha=2) is t
    assert_close(t, np.full(3, 4.0))
    b = ctorch.zeros(2, 3, 4)
    b.baddbmm_(ctorch.ones(2, 3, 5), ctorch.ones(2, 5, 4))
    assert_close(b, np.full((2, 3, 4), 5.0))
    a = ctorch.ones(3, 4)
    a.addbmm_(ctorch.ones(2, 3, 5), ctorch.ones(2, 5, 4), beta=2)
    assert_close(a, np.full((3, 4), 12.0))  # 2 * 1 + 2 batches * 5
