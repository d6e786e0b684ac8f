"""Adamax: Adam with the infinity norm (betas, eps, weight_decay, maximize).

Same update as PyTorch's single-tensor Adamax; state keys "step", "exp_avg", "exp_inf".
"""
import ctorch
from ctorch.optim.adam import _check_adam_args
from ctorch.optim.optimizer import Optimizer, _closure_loss, _scalar_step, _use_grad

__all__ = ["Adamax"]


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    @_use_grad
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_step()
                    state["exp_avg"] = ctorch.zeros_like(p)
                    state["exp_inf"] = ctorch.zeros_like(p)
                exp_avg, exp_inf, step_t = state["exp_avg"], state["exp_inf"], state["step"]
                step_t += 1
                grad = p.grad if not group["maximize"] else -p.grad
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)
                exp_avg.lerp_(grad, 1 - beta1)
                ctorch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)
                bias_correction = 1 - beta1 ** step_t.item()
                clr = lr / bias_correction
                p.addcdiv_(exp_avg, exp_inf, value=-clr)
        return loss
