"""ctorch.autograd: gradients of tensors with respect to others (the engine is in C++)."""
import threading

from ctorch import _C
from ctorch._C import Tensor
from ctorch.autograd.anomaly_mode import (detect_anomaly, is_anomaly_check_nan_enabled,  # noqa: F401
                                          is_anomaly_enabled, set_detect_anomaly)
from ctorch.autograd.function import Function, FunctionCtx, once_differentiable  # noqa: F401
from ctorch.autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                                       is_inference_mode_enabled, no_grad, set_grad_enabled)
from ctorch.autograd import functional  # noqa: F401,E402
from ctorch.autograd.gradcheck import gradcheck, gradgradcheck  # noqa: F401,E402

__all__ = ["backward", "grad", "Function", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck",
           "functional"]


def _tensors(x, what):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    out = list(x)
    for t in out:
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{what} must be Tensors, got {type(t).__name__}")
    return out


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None):
    """Accumulates the gradients of `tensors` into the .grad of the leaves (or of `inputs`)."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    tensors = _tensors(tensors, "tensors")
    grads = _tensors(grad_tensors, "grad_tensors") or []
    if grads and len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} gradients for {len(tensors)} tensors")
    if inputs is not None:
        inputs = _tensors(inputs, "inputs")
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph and inputs is None:
        import warnings
        warnings.warn("Using backward() with create_graph=True will create a reference cycle between the "
                      "parameter and its gradient which can cause a memory leak. We recommend using "
                      "autograd.grad when creating the graph to avoid this. If you have to use this "
                      "function, make sure to reset the .grad fields of your parameters to None after "
                      "use to break the cycle and avoid the leak.", stacklevel=2)
    _C._run_backward(tensors, grads, retain_graph, create_graph, inputs or [])


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """d(outputs)/d(inputs), returned as a tuple (nothing is written to .grad)."""
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) is not supported")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    outputs = _tensors(outputs, "outputs")
    inputs = _tensors(inputs, "inputs")
    grads = _tensors(grad_outputs, "grad_outputs") or []
    if grads and len(grads) != len(outputs):
        raise RuntimeError(f"grad requires one gradient per output: got {len(grads)} gradients for "
                           f"{len(outputs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    result = _C._run_grad(outputs, inputs, grads, retain_graph, create_graph, bool(allow_unused),
                          materialize_grads)
    return result


# ---- Tensor methods that belong to autograd

# checkpoint's recompute asks autograd.grad for gradients of leaves whose own backward will
# run their hooks: it sets skip_leaf_hooks meanwhile so they do not run twice.
_hook_state = threading.local()


class RemovableHandle:
    """Returned by register_hook: remove() disables the hook."""

    def __init__(self):
        self.removed = False

    def remove(self):
        self.removed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulates the gradient of this tensor into the leaves' .grad."""
    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


def _register_hook(self, hook):
    """hook(grad) -> Tensor or None runs when this tensor's gradient is computed; a returned
    tensor replaces the gradient."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    handle = RemovableHandle()
    name = getattr(hook, "__name__", type(hook).__name__)
    on_leaf = self.is_leaf

    def run(g):
        if handle.removed or (on_leaf and getattr(_hook_state, "skip_leaf_hooks", False)):
            return None
        r = hook(g)
        if r is None:
            return None
        if not isinstance(r, Tensor):
            raise TypeError(f"hook '{name}' returned {type(r).__name__}: expected a Tensor or None")
        if r.shape != g.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        if r.dtype != g.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was {g.dtype} got {r.dtype})")
        return r
    self._register_hook(run)
    return handle


def _register_post_accumulate_grad_hook(self, hook):
    """hook(tensor) runs after the gradient was accumulated into this leaf's .grad."""
    handle = RemovableHandle()

    def run(t):
        if not handle.removed:
            hook(t)
    self._register_post_accumulate_grad_hook(run)
    return handle


Tensor.backward = _tensor_backward
Tensor.register_hook = _register_hook
Tensor.register_post_accumulate_grad_hook = _register_post_accumulate_grad_hook
