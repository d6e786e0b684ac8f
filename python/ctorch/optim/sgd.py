"""SGD: stochastic gradient descent with momentum, dampening, Nesterov, weight decay, maximize.

Same update as PyTorch's single-tensor (foreach=False) SGD; state key "momentum_buffer". Contiguous
float parameters take one fused C++ pass (ctorch._C._sgd_step_); others the elementwise ops below.
"""
import ctorch
from ctorch.optim.optimizer import Optimizer, _closure_loss, _use_grad, _weight_decay

__all__ = ["SGD"]


class SGD(Optimizer):
    _group_defaults_on_load = {"nesterov": False, "maximize": False}

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        # PyTorch's SGD tests `x < 0.0` (a NaN passes), unlike the `not 0.0 <= x` of _check_args.
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach,
                    "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    @_use_grad
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if self._fused_step(p, lr, momentum, dampening, weight_decay, nesterov, maximize):
                    continue
                grad = -p.grad if maximize else p.grad
                grad = _weight_decay(p, grad, weight_decay)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        # The first step seeds the buffer with the gradient itself (no dampening).
                        buf = grad.detach().clone()
                        state["momentum_buffer"] = buf
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                    grad = grad.add(buf, alpha=momentum) if nesterov else buf
                p.add_(grad, alpha=-lr)
        return loss

    def _fused_step(self, p, lr, momentum, dampening, weight_decay, nesterov, maximize):
        """The whole update of p in one C++ pass; False (nothing done) when p does not qualify."""
        buf, first = None, False
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf, first = ctorch.empty_like(p), True
        if not ctorch._C._sgd_step_(p, p.grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                                    maximize, first):
            return False
        if first:
            state["momentum_buffer"] = buf
        return True
