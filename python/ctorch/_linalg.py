"""Python-side helpers for the linalg ops: tensordot and the ctorch.linalg namespace."""
from ctorch import _C

__all__ = ["tensordot", "chain_matmul"]


def _letters(n, start=0):
    return "".join(chr(ord("a") + start + i) if start + i < 26 else chr(ord("A") + start + i - 26)
                   for i in range(n))


def tensordot(a, b, dims=2, out=None):
    """Sums products over the last `dims` dims of a and the first of b, or over explicit dim lists."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"[tensordot] expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError(f"[tensordot] both dimension lists should have same length, got {da} and {db}")
    da = [d % a.dim() for d in da] if a.dim() else da
    db = [d % b.dim() for d in db] if b.dim() else db
    la = list(_letters(a.dim()))
    lb = list(_letters(b.dim(), a.dim()))
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"[tensordot] contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in dim {y}")
        lb[y] = la[x]
    rest = [c for i, c in enumerate(la) if i not in da] + [c for i, c in enumerate(lb) if i not in db]
    r = _C.einsum("".join(la) + "," + "".join(lb) + "->" + "".join(rest), a, b)
    if out is not None:
        out.copy_(r)
        return out
    return r


def chain_matmul(*matrices):
    r = matrices[0]
    for m in matrices[1:]:
        r = _C.mm(r, m)
    return r


from ctorch import linalg  # noqa: E402,F401  (makes ctorch.linalg available after `import ctorch`)
