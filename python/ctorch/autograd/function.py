"""Custom differentiable operations: subclass Function with forward/backward staticmethods."""
from ctorch import _C
from ctorch._C import Tensor

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The `ctx` of a custom Function: what forward leaves for backward."""

    def __init__(self):
        self._to_save = ()
        self._dirty = ()
        self._non_differentiable = ()
        self._materialize_grads = True
        self.needs_input_grad = ()
        self._saved = None

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{len(self._to_save)} is of type {type(t).__name__}")
        self._to_save = tensors

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        self._materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError("saved_tensors can only be read inside backward")
        return self._saved

    def _run_backward(self, saved, *grads):
        self._saved = saved
        try:
            result = self._cls.backward(self, *grads)
        finally:
            self._saved = None
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self._arg_is_tensor)
        if len(result) != n:
            # Trailing Nones for non-tensor arguments may be omitted only if all are None.
            if len(result) > n or any(r is not None for r in result[len(result):]):
                raise RuntimeError(f"function {self._cls.__name__}Backward returned an incorrect "
                                   f"number of gradients (expected {n}, got {len(result)})")
            result = result + (None,) * (n - len(result))
        grads_out = []
        for g, is_tensor in zip(result, self._arg_is_tensor):
            if is_tensor:
                grads_out.append(g)
            elif g is not None:
                raise RuntimeError(f"function {self._cls.__name__}Backward returned a gradient "
                                   "different than None for a non-Tensor argument")
        return grads_out


class _FunctionMeta(type):
    pass


class Function(metaclass=_FunctionMeta):
    """Base class of custom autograd operations.

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp(); ctx.save_for_backward(y); return y
        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors; return g * y
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        ctx._cls = cls
        ctx._arg_is_tensor = [isinstance(a, Tensor) for a in args]
        grad_on = _C.is_grad_enabled()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and grad_on and a.requires_grad for a in args)
        with _NoGrad():
            outputs = cls.forward(ctx, *args, **kwargs)
        if not any(ctx.needs_input_grad):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        positions = [i for i, o in enumerate(outs) if isinstance(o, Tensor)]
        inputs = [a for a in args if isinstance(a, Tensor)]
        recorded = _C._record_function(cls.__name__ + "Backward", ctx, inputs, [outs[i] for i in positions],
                                       list(ctx._to_save), list(ctx._dirty),
                                       list(ctx._non_differentiable))
        ctx._to_save = ctx._dirty = ctx._non_differentiable = ()  # no reference cycles via ctx
        outs = list(outs)
        for i, t in zip(positions, recorded):
            outs[i] = t
        return outs[0] if single else tuple(outs)


class _NoGrad:
    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(False)

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._prev)


def once_differentiable(fn):
    """Marks a backward that is not itself differentiable (runs it under no_grad)."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with _NoGrad():
            return fn(ctx, *args)
    return wrapper
