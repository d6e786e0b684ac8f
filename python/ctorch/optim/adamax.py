"""Adamax: Adam with the infinity norm (betas, eps, weight_decay, maximize).

Same update as PyTorch's single-tensor Adamax; state keys "step", "exp_avg", "exp_inf".
"""
import ctorch
from ctorch.optim.optimizer import (Optimizer, _check_args, _closure_loss, _params_with_grad, _use_grad,
                                    _weight_decay)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_args(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    @_use_grad
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            for p, grad in _params_with_grad(group):
                state = self._lazy_state(p, "exp_avg", "exp_inf")
                exp_avg, exp_inf, step_t = state["exp_avg"], state["exp_inf"], state["step"]
                step_t += 1
                grad = _weight_decay(p, grad, weight_decay)
                exp_avg.lerp_(grad, 1 - beta1)
                ctorch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)
                bias_correction = 1 - beta1 ** step_t.item()
                clr = lr / bias_correction
                p.addcdiv_(exp_avg, exp_inf, value=-clr)
        return loss
