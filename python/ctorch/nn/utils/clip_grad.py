"""Gradient clipping: clip_grad_norm_ (by total norm) and clip_grad_value_ (elementwise), in place."""
import ctorch

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters):
    # PyTorch accepts a single tensor or any iterable of tensors; parameters without .grad are skipped
    if isinstance(parameters, ctorch.Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales all gradients by min(1, max_norm / (total_norm + 1e-6)); returns the total norm, which is the
    norm_type-norm of the per-gradient norms (equal to the norm of all gradients concatenated). foreach is
    accepted for compatibility and ignored (there is one CPU implementation)."""
    grads = _grads(parameters)
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if len(grads) == 0:
        return ctorch.tensor(0.0)
    with ctorch.no_grad():
        norms = [ctorch.linalg.vector_norm(g, norm_type) for g in grads]
        total_norm = ctorch.linalg.vector_norm(ctorch.stack(norms), norm_type)
        if error_if_nonfinite and bool(total_norm.isnan() | total_norm.isinf()):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                "anyway, set `error_if_nonfinite=False`")
        # clamped coefficient instead of a Python branch: no host sync needed and NaN propagates as in PyTorch
        clip_coef = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(clip_coef.to(g.dtype))
    return total_norm


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps every gradient elementwise into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    with ctorch.no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-clip_value, max=clip_value)
