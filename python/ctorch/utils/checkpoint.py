"""Activation checkpointing: run a function without keeping its intermediate results, and run it
again during backward to get its gradients (memory for compute).

Two variants, chosen by use_reentrant as in PyTorch:

* use_reentrant=False: the forward runs with grad enabled, the graph it recorded is searched
  for the leaves the function used (parameters it closes over), then dropped, so only the
  inputs and outputs stay alive. One node, whose inputs are the tensor arguments and those
  leaves, stands for the function; its backward re-runs the function and returns the gradients
  of all of them with autograd.grad. So gradients reach parameters even when no argument
  requires grad, autograd.grad() works through it, and so does create_graph. (PyTorch drops the
  saved tensors during the forward instead; here the segment's activations live until it
  returns.) A function that uses non-leaf tensors from outside its arguments is run without
  checkpointing, with a warning.
* use_reentrant=True (PyTorch's default when not given): the forward runs under no_grad; the
  backward re-runs the function and calls backward() inside, which accumulates into the .grad
  of the parameters. At least one argument must require grad, and autograd.grad() only sees
  the arguments' gradients.

Both restore the RNG states of the forward during the recompute (preserve_rng_state): the CPU's
and those of the GPUs the tensor arguments live on (as PyTorch), so dropout draws the same mask.
"""
import warnings

import ctorch
from ctorch._C import Tensor
from ctorch.autograd.function import Function

__all__ = ["checkpoint", "checkpoint_sequential"]


def _get_rng_states(args):
    """The CPU generator's state and those of the GPUs holding tensor arguments."""
    gpus = sorted({a.device.index for a in args if isinstance(a, Tensor) and a.is_cuda})
    return ctorch.get_rng_state(), {d: ctorch.cuda.get_rng_state(d) for d in gpus}


def _set_rng_states(states):
    cpu, gpus = states
    ctorch.set_rng_state(cpu)
    for d, state in gpus.items():
        ctorch.cuda.set_rng_state(state, d)


def _recompute(run_function, args, kwargs, rng_state):
    """run_function(*args, **kwargs) with grad enabled under the forward's RNG states."""
    saved_rng = _get_rng_states(args) if rng_state is not None else None
    try:
        if rng_state is not None:
            _set_rng_states(rng_state)
        with ctorch.enable_grad():
            return run_function(*args, **kwargs)
    finally:
        if saved_rng is not None:
            _set_rng_states(saved_rng)


class _CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, kwargs, *args):
        ctx.run_function = run_function
        ctx.kwargs = kwargs
        ctx.preserve_rng_state = preserve_rng_state
        if preserve_rng_state:
            ctx.rng_state = _get_rng_states(args)
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
        outputs = _recompute(ctx.run_function, args, ctx.kwargs,
                             ctx.rng_state if ctx.preserve_rng_state else None)
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


class _State:
    """What the non-reentrant node keeps besides its saved tensors."""


class _NonReentrantCheckpoint(Function):
    """Stands for a checkpointed call: inputs = tensor arguments, then the leaves it used."""

    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        ctx.save_for_backward(*tensors[:state.n_args])
        return state.outputs  # computed by checkpoint(), detached

    @staticmethod
    def backward(ctx, *grads):
        st = ctx.state
        args = list(st.other_args)
        wrt = []
        create_graph = ctorch.is_grad_enabled()  # the engine enables grad mode for create_graph
        for i, t in zip(st.tensor_positions, ctx.saved_tensors):
            # With create_graph the gradients must stay functions of the real inputs: recompute
            # from a differentiable copy of them (autograd.grad below stops at the copy).
            args[i] = t.clone() if create_graph and t.requires_grad else t.detach().requires_grad_(t.requires_grad)
            wrt.append(args[i])
        outputs = _recompute(st.run_function, args, st.kwargs, st.rng_state)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        outs, gs = [], []
        for out, g in zip(outputs, grads):
            if isinstance(out, Tensor) and out.requires_grad and g is not None:
                outs.append(out)
                gs.append(g)
        wrt += st.leaves
        targets = [t for t in wrt if t.requires_grad]
        result = {}
        if outs and targets:
            from ctorch.autograd import _hook_state
            # The leaves' hooks run when this node's gradients reach them, not here too.
            prev = getattr(_hook_state, "skip_leaf_hooks", False)
            _hook_state.skip_leaf_hooks = True
            try:
                found = ctorch.autograd.grad(outs, targets, gs, allow_unused=True, create_graph=create_graph)
            finally:
                _hook_state.skip_leaf_hooks = prev
            result = {id(t): g for t, g in zip(targets, found)}
        return (None,) + tuple(result.get(id(t)) for t in wrt)


def _leaves_of(outputs, start):
    """The leaves requiring grad that the graph of `outputs` reaches, or None when it reaches a
    node recorded before sequence number `start` (a non-leaf from outside the call)."""
    leaves, seen = [], {}  # id -> node: holding the node keeps its Python wrapper's id unique
    stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        if node.name() == "AccumulateGrad":
            leaves.append(node.variable)
            continue
        if node._sequence_nr < start:
            return None
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)
    return leaves


def _checkpoint_non_reentrant(function, preserve_rng_state, args, kwargs):
    if not ctorch.is_grad_enabled():
        return function(*args, **kwargs)
    st = _State()
    st.run_function, st.kwargs = function, kwargs
    rng_before = _get_rng_states(args)
    st.rng_state = rng_before if preserve_rng_state else None
    st.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    st.other_args = [None if isinstance(a, Tensor) else a for a in args]
    st.n_args = len(st.tensor_positions)
    # The arguments enter as fresh leaves, so the walk below stops at them.
    inner = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in args]
    start = ctorch._C._next_sequence_nr()
    outputs = function(*inner, **kwargs)
    single = isinstance(outputs, Tensor)
    outs = (outputs,) if single else tuple(outputs) if isinstance(outputs, (tuple, list)) else None
    if outs is None:
        raise TypeError(f"checkpoint: the function must return a Tensor or a tuple of Tensors, got "
                        f"{type(outputs).__name__}")
    arg_ids = {id(a) for a in inner}
    leaves = _leaves_of(outs, start)
    if leaves is None:
        warnings.warn("checkpoint: the function uses tensors with autograd history that are not among "
                      "its arguments; it runs without checkpointing", stacklevel=3)
        _set_rng_states(rng_before)  # the same draws as the run above
        return function(*args, **kwargs)
    st.leaves = [t for t in leaves if id(t) not in arg_ids]
    # Drop the recorded graph (and the activations it saved): keep detached outputs only.
    st.outputs = tuple(o.detach() if isinstance(o, Tensor) else o for o in outs)
    del outputs, outs, inner, leaves
    tensors = [args[i] for i in st.tensor_positions] + st.leaves
    result = _NonReentrantCheckpoint.apply(st, *tensors)
    st.outputs = None  # only the caller holds the outputs now
    return result[0] if single else result


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """function(*args, **kwargs), keeping only the inputs for backward (the rest is recomputed).
    See the module docstring for the two variants. determinism_check is accepted and ignored."""
    if use_reentrant is None:
        warnings.warn("ctorch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
                      "use_reentrant=False is recommended, but if you need to preserve the current "
                      "default behavior, you can pass use_reentrant=True.", stacklevel=2)
        use_reentrant = True
    if context_fn is not None or debug:
        raise ValueError("Passing `context_fn` or `debug` is not supported by ctorch's checkpoint.")
    if not use_reentrant:
        return _checkpoint_non_reentrant(function, preserve_rng_state, args, kwargs)
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args) and ctorch.is_grad_enabled():
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
    return _CheckpointFunction.apply(function, preserve_rng_state, kwargs, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Runs a sequence of modules or functions in `segments` chunks, checkpointing all but the
    last chunk (whose activations backward needs at once anyway)."""
    if use_reentrant is None:
        warnings.warn("ctorch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
                      "be passed explicitly. use_reentrant=False is recommended.", stacklevel=2)
        use_reentrant = True  # PyTorch's default
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
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
