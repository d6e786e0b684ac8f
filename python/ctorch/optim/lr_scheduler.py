"""ctorch.optim.lr_scheduler: learning-rate schedules for ctorch optimizers.

The public interface follows the documented ``torch.optim.lr_scheduler`` API (class names, constructor
arguments, ``step`` / ``get_last_lr`` / ``state_dict`` / ``load_state_dict``, the bookkeeping keys
written into the optimizer's param groups). Each scheduler is written here as a small rule:

* ``_next(lr, base_lr, group)`` -- the chainable update: the new lr of a group from its current lr, so
  schedulers can be stacked (``ChainedScheduler``) and the epoch-by-epoch sequence equals the documented
  recurrences exactly;
* ``_at(base_lr)`` -- an optional closed form, used when ``step(epoch)`` is given an explicit epoch
  (a deprecated calling convention that still works).

Schedulers that need the whole parameter group (cyclic momentum, per-phase bounds) override ``get_lr``.
"""
from __future__ import annotations

import math
import warnings
import weakref
from bisect import bisect_right
from collections import Counter

from ctorch.optim.optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau",
           "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR"]

_EPOCH_ARG_DEPRECATED = (
    "The epoch parameter in `scheduler.step()` is deprecated; call `scheduler.step()` without arguments. "
    "Where a closed form of the schedule exists it is used for the given epoch.")
_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. Call `optimizer.step()` first, "
    "then `lr_scheduler.step()`; otherwise the first value of the schedule is skipped.")
_STEP_REPLACED_WARNING = (
    "`optimizer.step` was replaced after the learning rate scheduler was created, so the scheduler cannot "
    "tell whether it ran; make sure to call `optimizer.step()` before `lr_scheduler.step()`.")


# ----------------------------------------------------------------------------------------------- helpers
def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _per_group(name, optimizer, value):
    """One value per param group: a list/tuple must match the groups, a scalar is repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(value)} values, param_groups has {n}.")
        return list(value)
    return [value] * n


def _group_values(optimizer, key):
    return [group[key] for group in optimizer.param_groups]


def _momentum_key(optimizer):
    """'betas' (Adam-style beta1) or 'momentum' -- the key a momentum-cycling scheduler drives."""
    if "betas" in optimizer.defaults:
        return "betas"
    if "momentum" in optimizer.defaults:
        return "momentum"
    raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")


def _set_momentum(group, key, value):
    if key == "betas":
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _start_momentum_cycle(optimizer, base_momentum, max_momentum, fresh):
    key = _momentum_key(optimizer)
    bases = _per_group("base_momentum", optimizer, base_momentum)
    maxes = _per_group("max_momentum", optimizer, max_momentum)
    if fresh:
        for group, lo, hi in zip(optimizer.param_groups, bases, maxes):
            _set_momentum(group, key, hi)
            group["max_momentum"], group["base_momentum"] = hi, lo
    return key


def _track_optimizer_steps(optimizer):
    """Replace ``optimizer.step`` (once) by a wrapper that records that it has run."""
    if getattr(optimizer.step, "_counts_for_lr_scheduler", False):
        return
    ref = weakref.ref(optimizer)
    unbound = type(optimizer).step

    def step(*args, **kwargs):
        opt = ref()
        opt._opt_called = True
        return unbound(opt, *args, **kwargs)

    step._counts_for_lr_scheduler = True
    step.__doc__ = unbound.__doc__
    optimizer.step = step


def _save_lambdas(fns):
    # Plain functions and lambdas are not saved; callable objects save their attributes.
    return [None if isinstance(fn, type(_save_lambdas)) or not hasattr(fn, "__dict__") else dict(fn.__dict__)
            for fn in fns]


def _load_lambdas(fns, saved):
    for fn, attrs in zip(fns, saved):
        if attrs is not None:
            fn.__dict__.update(attrs)


def _cosine_mix(lo, hi, t, period):
    """hi at t = 0 down to lo at t = period along half a cosine."""
    return lo + (hi - lo) * (1 + math.cos(math.pi * t / period)) / 2


# ------------------------------------------------------------------------------------------------ base
class LRScheduler:
    """Base class. Subclasses give ``_next`` (chainable rule) and optionally ``_at`` (closed form), or
    override ``get_lr``. The constructor stores ``initial_lr`` in each group and takes the first step,
    so ``get_last_lr()`` is the epoch-0 lr straight away."""

    _in_step = False
    _initial = False  # True during the constructor's step: chainable rules keep the current lr

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming a "
                               "scheduler with last_epoch >= 0 (load the optimizer's state first)")
        self.base_lrs = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _track_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._initial = True
        try:
            self.step()
        finally:
            self._initial = False

    # state ------------------------------------------------------------------------------------------
    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def get_last_lr(self):
        return self._last_lr

    # stepping ---------------------------------------------------------------------------------------
    def get_lr(self):
        if not self._in_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=2)
        return [self._next(group["lr"], base, group) for group, base in zip(self.optimizer.param_groups,
                                                                              self.base_lrs)]

    def _next(self, lr, base_lr, group):
        raise NotImplementedError

    def _warn_if_out_of_order(self):
        if self._step_count != 1:
            return
        if not getattr(self.optimizer.step, "_counts_for_lr_scheduler", False):
            warnings.warn(_STEP_REPLACED_WARNING, UserWarning, stacklevel=3)
        elif not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(_ORDER_WARNING, UserWarning, stacklevel=3)

    def _compute(self, epoch):
        """Advance ``last_epoch`` and return the new lrs."""
        if epoch is None:
            self.last_epoch += 1
            return self.get_lr()
        warnings.warn(_EPOCH_ARG_DEPRECATED, UserWarning, stacklevel=3)
        self.last_epoch = epoch
        if hasattr(self, "_at"):
            return [self._at(base) for base in self.base_lrs]
        return self.get_lr()

    def step(self, epoch=None):
        self._warn_if_out_of_order()
        self._step_count += 1
        self._in_step = True
        try:
            lrs = self._compute(epoch)
        finally:
            self._in_step = False
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = _group_values(self.optimizer, "lr")


class _LRScheduler(LRScheduler):
    """Old name of LRScheduler, kept for compatibility."""


# ------------------------------------------------------------------------------- multiplicative rules
class _LambdaScheduler(LRScheduler):
    """Shared by LambdaLR / MultiplicativeLR: one function of the epoch per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if not self._in_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=2)
        return [self._next(g["lr"], base, fn) for g, base, fn in
                zip(self.optimizer.param_groups, self.base_lrs, self.lr_lambdas)]

    def state_dict(self):
        state = super().state_dict()
        state["lr_lambdas"] = _save_lambdas(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        super().load_state_dict(state)
        _load_lambdas(self.lr_lambdas, saved)


class LambdaLR(_LambdaScheduler):
    """lr = initial lr * lr_lambda(epoch)."""

    def _next(self, lr, base_lr, fn):
        return base_lr * fn(self.last_epoch)


class MultiplicativeLR(_LambdaScheduler):
    """lr is multiplied by lr_lambda(epoch) at every step after the first."""

    def _next(self, lr, base_lr, fn):
        return lr if self._initial else lr * fn(self.last_epoch)


class StepLR(LRScheduler):
    """lr decays by gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def _next(self, lr, base_lr, group):
        e = self.last_epoch
        return lr * self.gamma if e > 0 and e % self.step_size == 0 else lr

    def _at(self, base_lr):
        return base_lr * self.gamma ** (self.last_epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr decays by gamma at each milestone (a milestone listed k times decays by gamma**k)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def _next(self, lr, base_lr, group):
        return lr * self.gamma ** self.milestones[self.last_epoch] if self.last_epoch in self.milestones else lr

    def _at(self, base_lr):
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return base_lr * self.gamma ** passed


class ConstantLR(LRScheduler):
    """lr is scaled by factor until epoch total_iters, then restored."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 <= factor <= 1:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def _next(self, lr, base_lr, group):
        if self.last_epoch == 0:
            return lr * self.factor
        return lr * (1.0 / self.factor) if self.last_epoch == self.total_iters else lr

    def _at(self, base_lr):
        return base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))


class LinearLR(LRScheduler):
    """The lr factor moves linearly from start_factor to end_factor over total_iters epochs."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if not 0 <= end_factor <= 1:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def _next(self, lr, base_lr, group):
        e, s, d = self.last_epoch, self.start_factor, self.end_factor - self.start_factor
        if e == 0:
            return lr * s
        if self._initial or e > self.total_iters:
            return lr
        # ratio of the factor at epoch e to the factor at epoch e - 1
        return lr * (1.0 + d / (self.total_iters * s + (e - 1) * d))

    def _at(self, base_lr):
        d = self.end_factor - self.start_factor
        return base_lr * (self.start_factor + d * min(self.total_iters, self.last_epoch) / self.total_iters)


class ExponentialLR(LRScheduler):
    """lr decays by gamma every epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _next(self, lr, base_lr, group):
        return lr if self._initial else lr * self.gamma

    def _at(self, base_lr):
        return base_lr * self.gamma ** self.last_epoch


class PolynomialLR(LRScheduler):
    """lr decays as (1 - epoch / total_iters) ** power, reaching 0 at total_iters."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def _next(self, lr, base_lr, group):
        e, n = self.last_epoch, self.total_iters
        if self._initial or e > n:
            return lr
        return lr * ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power

    def _at(self, base_lr):
        return base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial lr to eta_min over T_max epochs, in its chainable (recursive)
    form: eta_{t+1} = eta_min + (eta_t - eta_min) * (1 + cos(pi (t+1) / T_max)) / (1 + cos(pi t / T_max))."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _next(self, lr, base_lr, group):
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._initial:
            return lr
        if (e - 1 - T) % (2 * T) == 0:  # leaving the minimum, where the ratio form divides by zero
            return lr + (base_lr - lo) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - lo) + lo

    def _at(self, base_lr):
        return _cosine_mix(self.eta_min, base_lr, self.last_epoch, self.T_max)


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every T_i epochs, with T_0 the first period and T_{i+1} = T_i * T_mult.
    ``step`` accepts fractional epochs (e.g. ``epoch + batch / batches``)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if not self._in_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=2)
        return [_cosine_mix(self.eta_min, base, self.T_cur, self.T_i) for base in self.base_lrs]

    def _compute(self, epoch):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        elif epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        elif epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_i, self.T_cur = self.T_0, epoch % self.T_0
        else:  # periods T_0 * T_mult**k: find the restart n with sum_{k<n} T_0 T_mult**k <= epoch
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n
        self.last_epoch = math.floor(epoch)
        return self.get_lr()


# ---------------------------------------------------------------------------------- cyclic schedules
class CyclicLR(LRScheduler):
    """Cyclical learning rate (Smith, 2017): lr moves between base_lr and max_lr in cycles of
    step_size_up + step_size_down iterations, the amplitude scaled by ``mode`` / ``scale_fn``; with
    cycle_momentum the momentum (or beta1) moves the opposite way between max and base momentum."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else \
            ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._momentum_key = _start_momentum_cycle(optimizer, base_momentum, max_momentum, last_epoch == -1)
            self.base_momentums = _group_values(optimizer, "base_momentum")
            self.max_momentums = _group_values(optimizer, "max_momentum")
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        if not self._in_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=2)
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # position within the cycle, in [0, 1)
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [lo + (hi - lo) * rise * scale for lo, hi in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, self._momentum_key, hi - (hi - lo) * rise * scale)
        return lrs

    def state_dict(self):
        state = super().state_dict()
        if callable(self._scale_fn_custom) and isinstance(self._scale_fn_custom, type(_save_lambdas)):
            state["_scale_fn_custom"] = None  # functions are not saved; pass scale_fn again on load
        return state

    def load_state_dict(self, state_dict):
        fn = self._scale_fn_custom
        super().load_state_dict(state_dict)
        if self._scale_fn_custom is None:
            self._scale_fn_custom = fn


class OneCycleLR(LRScheduler):
    """1cycle policy (Smith & Topin): lr rises from max_lr / div_factor to max_lr over pct_start of the
    steps, then anneals to max_lr / (div_factor * final_div_factor) (three_phase: first back down to the
    initial lr, then to the minimum); momentum moves inversely. Stepped once per batch."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        _check_optimizer(optimizer)
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            for name, v in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not isinstance(v, int) or v <= 0:
                    raise ValueError(f"Expected positive integer {name}, but got {v}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self.anneal_strategy = anneal_strategy
        # Each phase: (last step of the phase, lr from/to group keys, momentum from/to group keys).
        rise = pct_start * self.total_steps
        if three_phase:
            self._phases = [(float(rise) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (float(2 * rise) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(float(rise) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, hi in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = hi / div_factor
                group["max_lr"] = hi
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._momentum_key = _start_momentum_cycle(optimizer, base_momentum, max_momentum, last_epoch == -1)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        if not self._in_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=2)
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, m_from, m_to) in enumerate(self._phases):
                if t <= end or i == len(self._phases) - 1:
                    pct = (t - start) / (end - start)
                    break
                start = end
            lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
            if self.cycle_momentum:
                _set_momentum(group, self._momentum_key, self._anneal(group[m_from], group[m_to], pct))
        return lrs


# ------------------------------------------------------------------------------------------ combiners
def _check_subschedulers(owner, schedulers, optimizer):
    for i, sched in enumerate(schedulers):
        if isinstance(sched, ReduceLROnPlateau):
            raise ValueError(f"{owner} does not support `ReduceLROnPlateau` scheduler as it requires additional "
                             f"kwargs to be specified when calling `step`, but got one at index {i} in the given "
                             "schedulers sequence.")
        if sched.optimizer is not optimizer:
            raise ValueError(f"{owner} expects all schedulers to belong to the same optimizer, but got scheduler "
                             f"{type(sched).__name__} at index {i} with a different optimizer")


class _Combiner(LRScheduler):
    """State handling shared by SequentialLR and ChainedScheduler: sub-schedulers are saved as their
    own state dicts."""

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for sched, s in zip(self._schedulers, saved):
            sched.load_state_dict(s)


def _rewind(sched):
    """Undo the construction step of a (possibly composite) scheduler."""
    for sub in getattr(sched, "_schedulers", ()):
        _rewind(sub)
    if hasattr(sched, "last_epoch"):
        sched.last_epoch -= 1


class SequentialLR(_Combiner):
    """Runs schedulers[i] between milestones[i-1] and milestones[i]; each later scheduler starts at its
    own epoch 0 when its milestone is reached."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_optimizer(optimizer)
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler")
        _check_subschedulers("SequentialLR", schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be one more than the "
                             f"number of milestone points, but got number of schedulers {len(schedulers)} and the "
                             f"number of milestones to be equal to {len(milestones)}")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        # The sub-schedulers' constructors already stepped: put the lrs back and start the first one afresh.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for sched in self._schedulers:
            _rewind(sched)
        self._schedulers[0]._initial_step()
        self._last_lr = self._schedulers[0].get_last_lr()

    def step(self):
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sched.step(0)  # a scheduler taking over starts from its own epoch 0
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()


class ChainedScheduler(_Combiner):
    """Steps every scheduler in turn each epoch, so their (chainable) updates compose."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained")
        optimizer = optimizer if optimizer is not None else schedulers[0].optimizer
        _check_subschedulers("ChainedScheduler", schedulers, optimizer)
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._last_lr = _group_values(optimizer, "lr")

    def step(self):
        for sched in self._schedulers:
            sched.step()
        self._last_lr = _group_values(self.optimizer, "lr")


# ------------------------------------------------------------------------------------------- plateau
class ReduceLROnPlateau(LRScheduler):
    """Multiplies the lr by factor once a metric has not improved for more than patience epochs, then
    waits cooldown epochs; never below min_lr, and changes smaller than eps are skipped."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * len(optimizer.param_groups)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.factor, self.patience, self.cooldown, self.eps = factor, patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics, epoch=None):
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_ARG_DEPRECATED, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, floor)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = _group_values(self.optimizer, "lr")
