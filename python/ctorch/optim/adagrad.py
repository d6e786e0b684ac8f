"""Adagrad (lr_decay, weight_decay, initial_accumulator_value, eps, maximize).

Same update as PyTorch's single-tensor Adagrad. As in PyTorch the state ("step", "sum") is created
in the constructor, so a fresh optimizer's state_dict already holds it.
"""
import ctorch
from ctorch.optim.optimizer import (Optimizer, _check_args, _closure_loss, _params_with_grad, _scalar_step,
                                    _use_grad, _weight_decay)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_args(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                    initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _scalar_step()
        state["sum"] = ctorch.full_like(p, group["initial_accumulator_value"])

    def share_memory(self):
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

    @_use_grad
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps, weight_decay = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
            for p, grad in _params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    # A group added after construction (PyTorch would fail with a KeyError here).
                    self._init_state(p, group)
                step_t, state_sum = state["step"], state["sum"]
                step_t += 1
                step = step_t.item()
                grad = _weight_decay(p, grad, weight_decay)
                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum.addcmul_(grad, grad, value=1)
                std = state_sum.sqrt().add_(eps)
                p.addcdiv_(grad, std, value=-clr)
        return loss
