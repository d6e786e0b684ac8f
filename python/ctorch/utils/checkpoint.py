"""Activation checkpointing: run a function without keeping its intermediate results, and run it
again during backward to get its gradients (memory for compute).

The forward runs under no_grad inside a custom autograd.Function, which keeps only the inputs;
its backward re-runs the function with grad enabled (with the CPU RNG state of the forward, so
dropout draws the same mask) and back-propagates through the recomputed graph. Like PyTorch's
reentrant variant, parameters the function closes over get their gradients from that inner
backward (so they are accumulated into .grad by backward(); autograd.grad() only returns the
gradients of the explicit inputs), and at least one input must require grad.
"""
import warnings

import ctorch
from ctorch._C import Tensor
from ctorch.autograd.function import Function

__all__ = ["checkpoint", "checkpoint_sequential"]


class _CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, kwargs, *args):
        ctx.run_function = run_function
        ctx.kwargs = kwargs
        ctx.preserve_rng_state = preserve_rng_state
        if preserve_rng_state:
            ctx.rng_state = ctorch.get_rng_state()
        # Tensors go through save_for_backward (version checks: modifying an input in place
        # before backward is an error); the rest is kept as is, with a slot for each tensor.
        ctx.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.other_args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_positions])
        return run_function(*args, **kwargs)  # Function.apply runs forward under no_grad

    @staticmethod
    def backward(ctx, *grads):
        args = list(ctx.other_args)
        for i, t in zip(ctx.tensor_positions, ctx.saved_tensors):
            args[i] = t.detach().requires_grad_(t.requires_grad)
        saved_rng = ctorch.get_rng_state() if ctx.preserve_rng_state else None
        try:
            if saved_rng is not None:
                ctorch.set_rng_state(ctx.rng_state)
            with ctorch.enable_grad():
                outputs = ctx.run_function(*args, **ctx.kwargs)
        finally:
            if saved_rng is not None:
                ctorch.set_rng_state(saved_rng)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        outs, gs = [], []
        for out, g in zip(outputs, grads):
            if isinstance(out, Tensor) and out.requires_grad and g is not None:
                outs.append(out)
                gs.append(g)
        if not outs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        ctorch.autograd.backward(outs, gs)
        grads_in = [None] * len(args)
        for i in ctx.tensor_positions:
            grads_in[i] = args[i].grad if args[i].requires_grad else None
        return (None, None, None) + tuple(grads_in)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """function(*args, **kwargs), keeping only the inputs for backward (the rest is recomputed).

    use_reentrant, context_fn, determinism_check and debug are accepted for PyTorch
    compatibility; both values of use_reentrant use the implementation described above."""
    if use_reentrant is None:
        warnings.warn("ctorch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
                      "use_reentrant=False is recommended.", stacklevel=2)
    if context_fn is not None or debug:
        raise ValueError("Passing `context_fn` or `debug` is not supported by ctorch's checkpoint.")
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args) and ctorch.is_grad_enabled():
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
    return _CheckpointFunction.apply(function, preserve_rng_state, kwargs, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Runs a sequence of modules or functions in `segments` chunks, checkpointing all but the
    last chunk (whose activations backward needs at once anyway)."""
    if use_reentrant is None:
        warnings.warn("ctorch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
                      "be passed explicitly. use_reentrant=False is recommended.", stacklevel=2)
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")

    def run_function(start, end, functions):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=bool(use_reentrant),
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
