"""Tensor.__repr__/__str__ in PyTorch's format, and ctorch.set_printoptions/get_printoptions."""
import contextlib as _contextlib
import math as _math

from ctorch import _C
from ctorch._C import Tensor

__all__ = ["set_printoptions", "get_printoptions", "printoptions"]


class _PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=_math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """Print options as in PyTorch: digits after the point, summarization threshold (elements),
    items kept at each edge when summarizing, characters per line, and scientific notation
    (None: chosen per tensor). `profile` is 'default', 'short' or 'full'."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}; expected one of "
                             f"{sorted(_PROFILES)}")
        for k, v in _PROFILES[profile].items():
            setattr(PRINT_OPTS, k, v)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    # As in PyTorch, sci_mode is always assigned: passing nothing restores automatic choice.
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    return dict(precision=PRINT_OPTS.precision, threshold=PRINT_OPTS.threshold,
                edgeitems=PRINT_OPTS.edgeitems, linewidth=PRINT_OPTS.linewidth,
                sci_mode=PRINT_OPTS.sci_mode)


@_contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change print options: ``with ctorch.printoptions(precision=2): ...``."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses one format (integer, fixed or scientific) and width for all printed elements."""

    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        prec = PRINT_OPTS.precision
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        import numpy as _np  # imported on first print, keeping `import ctorch` fast

        finite = flat[_np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return
        magnitudes = _np.abs(finite.astype(_np.float64))
        lo, hi = float(magnitudes.min()), float(magnitudes.max())
        vals = finite.tolist()
        self.int_mode = bool(_np.all(finite == _np.ceil(finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        if self.sci_mode:
            widths = (len(f"{v:.{prec}e}") for v in vals)
        elif self.int_mode:
            # A "." is appended to integral floats, hence + 1.
            widths = (len(f"{v:.0f}") + 1 for v in vals)
        else:
            widths = (len(f"{v:.{prec}f}") for v in vals)
        self.max_width = max(self.max_width, max(widths))

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating:
            prec = PRINT_OPTS.precision
            if self.sci_mode:
                s = f"{value:{self.max_width}.{prec}e}"
            elif self.int_mode:
                s = f"{value:.0f}"
                if not (_math.isinf(value) or _math.isnan(value)):
                    s += "."
            else:
                s = f"{value:.{prec}f}"
        else:
            s = f"{value}"
        return (self.max_width - len(s)) * " " + s


def _summarized(a):
    """The elements that will be printed when summarizing (edge items of every dim)."""
    import numpy as _np
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return _np.concatenate((a[:e], a[-e:])) if a.shape[0] > 2 * e else a
    if not e:
        return _np.empty((0,) * a.ndim, dtype=a.dtype)
    rows = list(range(e)) + list(range(a.shape[0] - e, a.shape[0])) if a.shape[0] > 2 * e \
        else range(a.shape[0])
    return _np.stack([_summarized(a[i]) for i in rows])


def _vector_str(a, indent, summarize, fmt):
    e = PRINT_OPTS.edgeitems
    per_line = max(1, int(_math.floor((PRINT_OPTS.linewidth - indent) / (fmt.width() + 2))))
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + \
               [fmt.format(v) for v in a[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _array_str(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    n = a.shape[0]
    if summarize and n > 2 * e:
        parts = [_array_str(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."] + \
                [_array_str(a[i], indent + 1, summarize, fmt) for i in range(n - e, n)]
    else:
        parts = [_array_str(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _host_array(t):
    # 16-bit floats print through float32, as PyTorch does.
    if t.dtype in (_C.float16, _C.bfloat16):
        t = t.to(_C.float32)
    return t.numpy(force=True)


def _tensor_str(t, indent):
    if t.numel() == 0:
        return "[]"
    summarize = t.numel() > PRINT_OPTS.threshold
    a = _host_array(t)
    fmt = _Formatter(_summarized(a) if summarize else a, t.dtype.is_floating_point)
    return _array_str(a, indent, summarize, fmt)


def _add_suffixes(text, suffixes, indent):
    out = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last_line_len += len(suffix) + 2
    out.append(")")
    return "".join(out)


def _str(self):
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if self.device.type != "cpu":
        suffixes.append(f"device='{self.device}'")
    default = _C.get_default_dtype()
    if self.numel() == 0:
        # Show the shape when it is not (0,), as NumPy does; the dtype can't be inferred from no
        # elements, so any non-default one is shown.
        if self.dim() != 1:
            suffixes.append("size=" + str(tuple(self.shape)))
        if self.dtype != default:
            suffixes.append(f"dtype={self.dtype}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(self.shape)))
        if self.dtype not in (default, _C.int64, _C.bool):
            suffixes.append(f"dtype={self.dtype}")
        body = _tensor_str(self, indent)
    grad_fn = getattr(self, "grad_fn", None)
    if grad_fn is not None:
        name = grad_fn.name() if hasattr(grad_fn, "name") else type(grad_fn).__name__
        suffixes.append(f"grad_fn=<{name}>")
    elif getattr(self, "requires_grad", False):
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)


def _format(self, spec):
    # 0-d tensors format like their value: f"{loss:.3f}".
    if self.dim() == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


Tensor.__repr__ = _str
Tensor.__str__ = _str
Tensor.__format__ = _format

# ctorch/__init__.py imports this module for its side effects only; publish the print-option
# functions on the package from here.
import sys as _sys  # noqa: E402

for _name in __all__:
    setattr(_sys.modules["ctorch"], _name, globals()[_name])
