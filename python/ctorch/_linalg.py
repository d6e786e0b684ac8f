"""Python-side helpers for the linalg ops: tensordot and the ctorch.linalg namespace."""
from ctorch import _C
from ctorch._C import Tensor

__all__ = ["tensordot", "chain_matmul", "einsum", "inner", "vdot"]


def _sublist(sub):
    # PyTorch's sublist labels: 0-25 are 'A'-'Z', 26-51 are 'a'-'z', Ellipsis is "...".
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        elif isinstance(s, int) and 0 <= s < 52:
            out.append(chr(ord("A") + s) if s < 26 else chr(ord("a") + s - 26))
        else:
            raise ValueError(f"einsum(): subscript in subscript list is not within the valid range [0, 52), got {s!r}")
    return "".join(out)


def einsum(*args):
    """einsum(equation, *operands) or the sublist form einsum(op1, [0, 1], op2, [1, 2], [0, 2])."""
    if args and isinstance(args[0], str):
        return _C.einsum(*args)
    rest, ops, terms = list(args), [], []
    while len(rest) >= 2 and isinstance(rest[0], Tensor):
        ops.append(rest.pop(0))
        terms.append(_sublist(rest.pop(0)))
    if len(rest) > 1 or (rest and isinstance(rest[0], Tensor)) or not ops:
        raise TypeError("einsum(): expected an equation string or alternating operands and sublists")
    eq = ",".join(terms) + ("->" + _sublist(rest[0]) if rest else "")
    return _C.einsum(eq, *ops)


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


def inner(input, other, *, out=None):
    """Sums products over the last dim of both (a scalar times a tensor for 0-d operands)."""
    if input.dim() == 0 or other.dim() == 0:
        r = input * other
    else:
        r = tensordot(input, other, dims=([input.dim() - 1], [other.dim() - 1]))
    if out is not None:
        out.copy_(r)
        return out
    return r


def vdot(input, other, *, out=None):
    """dot for 1-D tensors (no conjugation: ctorch has no complex dtypes)."""
    return _C.dot(input, other, out=out)


def chain_matmul(*matrices):
    r = matrices[0]
    for m in matrices[1:]:
        r = _C.mm(r, m)
    return r


from ctorch import linalg  # noqa: E402,F401  (makes ctorch.linalg available after `import ctorch`)
