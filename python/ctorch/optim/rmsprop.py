"""RMSprop (alpha, eps, weight_decay, momentum, centered, maximize).

Same update as PyTorch's single-tensor RMSprop; state keys "step", "square_avg", and
"momentum_buffer" / "grad_avg" when momentum > 0 / centered.
"""
from ctorch.optim.optimizer import (Optimizer, _check_args, _closure_loss, _params_with_grad, _use_grad,
                                    _weight_decay)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    _group_defaults_on_load = {"momentum": 0, "centered": False, "maximize": False}

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_args(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    @_use_grad
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p, grad in _params_with_grad(group):
                state = self._lazy_state(p, "square_avg", momentum > 0 and "momentum_buffer", centered and "grad_avg")
                square_avg = state["square_avg"]
                state["step"] += 1
                grad = _weight_decay(p, grad, weight_decay)
                square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                if centered:
                    grad_avg = state["grad_avg"]
                    grad_avg.lerp_(grad, 1 - alpha)
                    avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                else:
                    avg = square_avg.sqrt()
                avg = avg.add_(eps)
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf.mul_(momentum).addcdiv_(grad, avg)
                    p.add_(buf, alpha=-lr)
                else:
                    p.addcdiv_(grad, avg, value=-lr)
        return loss
