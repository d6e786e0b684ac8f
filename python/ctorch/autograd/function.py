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
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of "
                                f"type {type(t).__name__}")
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
        cls = self._cls
        # A subclass may define vjp instead of backward (they are aliases).
        backward = cls.vjp if cls.backward is Function.backward and cls.vjp is not Function.vjp else cls.backward
        try:
            result = backward(self, *grads)
        finally:
            self._saved = None
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self._arg_is_tensor)
        # As in PyTorch: one gradient per forward argument; extra ones are fine only if all None.
        if len(result) > n and all(r is None for r in result[n:]):
            result = result[:n]
        if len(result) != n:
            raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        grads_out = []
        for i, (g, is_tensor) in enumerate(zip(result, self._arg_is_tensor)):
            if is_tensor:
                if g is not None and not isinstance(g, Tensor):
                    raise TypeError(f"function {cls.__name__}Backward returned a gradient of type "
                                    f"{type(g).__name__} at index {i}: expected a Tensor or None")
                grads_out.append(g)
            elif g is not None:
                raise RuntimeError(f"function {cls.__name__}Backward returned a gradient different than "
                                   f"None at position {i + 1}, but the corresponding forward input was not "
                                   "a Variable")
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

    @staticmethod
    def vjp(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @classmethod
    def apply(cls, *args, **kwargs):
        if kwargs:
            raise TypeError(f"{cls.__name__}.apply() takes no keyword arguments")
        ctx = FunctionCtx()
        ctx._cls = cls
        ctx._arg_is_tensor = [isinstance(a, Tensor) for a in args]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        # forward(ctx, *args), or forward(*args) followed by setup_context(ctx, args, output).
        separate = cls.setup_context is not Function.setup_context
        with _NoGrad():
            if separate:
                outputs = cls.forward(*args)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args)
        if not (_C.is_grad_enabled() and any(ctx.needs_input_grad)):
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


class _DelayedError(Function):
    """Stands for a backward marked @once_differentiable inside a create_graph backward: using
    its result in a further backward raises."""

    @staticmethod
    def forward(ctx, *grads):
        return tuple(None if g is None else g.clone() for g in grads)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


def once_differentiable(fn):
    """Marks a backward that is not itself differentiable: it runs under no_grad, and a
    higher-order gradient through it raises."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with _NoGrad():
            outputs = fn(ctx, *args)
        if not _C.is_grad_enabled() or not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        fake = [o.detach().requires_grad_() if isinstance(o, Tensor) and o.is_floating_point() else o
                for o in outs]
        wrapped = _DelayedError.apply(*fake)
        return wrapped[0] if single else wrapped
    return wrapper
