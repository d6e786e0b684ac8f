"""Optimizer: the base class of ctorch.optim (param groups, per-parameter state, state_dict, zero_grad).

Follows torch.optim.Optimizer: same constructor forms, error messages, state_dict layout and
load_state_dict casting policy, so code and checkpoints written for PyTorch's API look alike.
"""
import functools
import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain

import ctorch
from ctorch import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Singleton marking a hyperparameter without a default (like torch.optim.optimizer.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _use_grad(step):
    """Run an optimizer step under no_grad: the update must not be recorded by autograd."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        with ctorch.no_grad():
            return step(self, *args, **kwargs)

    return wrapper


def _check_unsupported(defaults):
    # The GPU-graph / fused / differentiable variants of PyTorch's optimizers are not implemented;
    # their keys stay in the param groups (False/None) so state_dicts match PyTorch's layout.
    for key in ("fused", "capturable", "differentiable"):
        if defaults.get(key):
            raise NotImplementedError(f"ctorch.optim: `{key}=True` is not supported")
    # The updates read hyperparameters as Python numbers (PyTorch's Tensor-lr path is for CUDA graphs).
    for key in ("lr", "weight_decay"):
        if isinstance(defaults.get(key), Tensor):
            raise NotImplementedError(f"ctorch.optim: a Tensor `{key}` is not supported; pass a Python number")


def _closure_loss(closure):
    """Evaluate the closure with gradients enabled (the step itself runs under no_grad)."""
    if closure is None:
        return None
    with ctorch.enable_grad():
        return closure()


def _scalar_step(value=0.0):
    """A 0-d float32 state scalar (the step counter, NAdam's mu_product), as PyTorch stores it."""
    return ctorch.tensor(value, dtype=ctorch.float32)


def _check_args(**hyperparameters):
    """Validate hyperparameters in the order given, raising ValueError with PyTorch's messages.

    "betas" must lie in [0, 1) at index 0 and 1, "rho" in [0, 1], every other one must be >= 0
    (written `not 0.0 <= x`, so NaN is rejected as in PyTorch).
    """
    for name, value in hyperparameters.items():
        if name == "betas":
            for i in (0, 1):
                if not 0.0 <= value[i] < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {i}: {value[i]}")
        elif name == "rho":
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Invalid rho value: {value}")
        elif not 0.0 <= value:
            label = {"lr": "learning rate", "eps": "epsilon value"}.get(name, f"{name} value")
            raise ValueError(f"Invalid {label}: {value}")


def _params_with_grad(group):
    """Yield (p, grad) for each parameter of the group that has a gradient, grad negated under maximize."""
    for p in group["params"]:
        if p.grad is None:
            continue
        yield p, (p.grad if not group["maximize"] else -p.grad)


def _weight_decay(p, grad, weight_decay, lr=None, decoupled=False):
    """Apply weight decay: L2 (returns grad + weight_decay * p) or, decoupled (AdamW), p *= 1 - lr * weight_decay."""
    if weight_decay != 0:
        if decoupled:
            p.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(p, alpha=weight_decay)
    return grad


class Optimizer:
    """Base class: holds param_groups (list of dicts) and state (dict keyed by parameter tensor)."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        _check_unsupported(defaults)
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            "or dicts, but got " + type(params).__module__ + "." + type(params).__name__)
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    # Group options that pickles / state_dicts from older PyTorch versions may lack: __setstate__
    # (also run by load_state_dict) fills them in, as each torch.optim class's __setstate__ does.
    _group_defaults_on_load = {}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for group in self.param_groups:
            for key, default in self._group_defaults_on_load.items():
                group.setdefault(key, default)

    def __repr__(self):
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    def add_param_group(self, param_group):
        """Add a group (dict with "params" and optional per-group options overriding defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + type(param).__module__ + "." + type(param).__name__)
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        _check_unsupported(param_group)

        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; "
                          "see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)

        # Membership by identity: Tensor.__eq__ is elementwise, so sets of ids are used.
        param_set = {id(p) for group in self.param_groups for p in group["params"]}
        if not param_set.isdisjoint({id(p) for p in params}):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters (drop them, or zero them in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        if p.grad.grad_fn is not None:
                            p.grad.detach_()
                        else:
                            p.grad.requires_grad_(False)
                        p.grad.zero_()

    def step(self, closure=None):
        raise NotImplementedError

    def _lazy_state(self, p, *buffers, **scalars):
        """p's state, filled on p's first step (PyTorch creates optimizer state lazily too).

        Keys in PyTorch's order: "step" (0-d float32 zero), each of `scalars` as a 0-d float32
        tensor holding the given number, then each name in `buffers` as zeros_like(p); a falsy
        name (written `amsgrad and "max_exp_avg_sq"`) is skipped.
        """
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _scalar_step()
            for name, value in scalars.items():
                state[name] = _scalar_step(value)
            for name in buffers:
                if name:
                    state[name] = ctorch.zeros_like(p)
        return state

    def state_dict(self):
        """{"state": {index: per-param state}, "param_groups": [{options..., "params": [indices]}]}.

        Parameters are numbered in group order; the state tensors are referenced, not copied
        (as in PyTorch).
        """
        param_mappings = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            param_mappings.update({id(p): i for i, p in enumerate(group["params"], start_index)
                                   if id(p) not in param_mappings})
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        return {"state": packed_state, "param_groups": param_groups}

    @staticmethod
    def _process_value_according_to_param_policy(param, value, key):
        # PyTorch's policy: "step" is kept as saved (a CPU scalar); every other state tensor moves
        # to the parameter's device, and floating ones take its dtype (so a float32 checkpoint
        # loads into float64 params, and a CPU checkpoint into a model on the GPU).
        if key == "step":
            return value
        if param.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device)
        return value.to(device=param.device)

    def load_state_dict(self, state_dict):
        """Load a state_dict produced by state_dict() of an optimizer over matching param groups."""
        state_dict = dict(state_dict)
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        param_lens = (len(g["params"]) for g in groups)
        saved_lens = (len(g["params"]) for g in saved_groups)
        if any(p_len != s_len for p_len, s_len in zip(param_lens, saved_lens)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")

        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def _cast(param, value, key=None):
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(param, value, key)
            if isinstance(value, dict):
                return {k: _cast(param, v, key=k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(_cast(param, v, key=key) for v in value)
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast(param, v)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
