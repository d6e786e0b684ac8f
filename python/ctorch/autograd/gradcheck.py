"""gradcheck / gradgradcheck: analytical gradients against central finite differences."""
import ctorch
from ctorch._C import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients differ."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else tuple(x) if isinstance(x, list) else (x,)


def _outputs(fn, inputs):
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]


def _numerical_jacobians(fn, inputs, diff_idx, outputs, eps):
    """J[i][o] is a (numel(out o), numel(in i)) matrix of central differences.

    The inputs are perturbed in private copies: writing into the caller's tensors would bump
    their version counters and break graphs that saved them. `fn` runs in the caller's grad
    mode (gradgradcheck's function differentiates inside)."""
    work = list(inputs)
    for i in diff_idx:
        work[i] = inputs[i].detach().clone().contiguous().requires_grad_(True)

    def evaluate():
        return [o.detach().to(ctorch.float64).reshape(-1).clone() for o in _outputs(fn, work)]

    jac = []
    for i in diff_idx:
        x = work[i]
        cols = [ctorch.zeros(o.numel(), x.numel(), dtype=ctorch.float64) for o in outputs]
        flat = x.detach().view(-1)
        for k in range(x.numel()):
            orig = flat[k].item()
            with ctorch.no_grad():
                flat[k] = orig - eps
            lo = evaluate()
            with ctorch.no_grad():
                flat[k] = orig + eps
            hi = evaluate()
            with ctorch.no_grad():
                flat[k] = orig
            for c, a, b in zip(cols, lo, hi):
                c[:, k] = (b - a) / (2 * eps)
        jac.append(cols)
    return jac


def _analytical_jacobians(inputs, diff_idx, outputs):
    jac = [[ctorch.zeros(o.numel(), inputs[i].numel(), dtype=ctorch.float64) for o in outputs]
           for i in diff_idx]
    wrt = [inputs[i] for i in diff_idx]
    for oi, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for r in range(out.numel()):
            g = ctorch.zeros_like(out).reshape(-1)
            g[r] = 1
            grads = ctorch.autograd.grad([out], wrt, [g.reshape(out.shape)], retain_graph=True,
                                         allow_unused=True)
            for j, gr in enumerate(grads):
                if gr is not None:
                    if gr.shape != wrt[j].shape:
                        raise GradcheckError(f"Gradient of input {diff_idx[j]} has shape {tuple(gr.shape)}, "
                                             f"expected {tuple(wrt[j].shape)}")
                    jac[j][oi][r] = gr.detach().to(ctorch.float64).reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    """True when the gradients `func` computes by autograd match finite differences at `inputs`."""
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of "
                         "the them have requires_grad=True.")
    for i in diff_idx:
        x = inputs[i]
        if any(st == 0 and sz > 1 for st, sz in zip(x.stride(), x.shape)):
            raise RuntimeError(f"The {i}th input has a dimension with stride 0. gradcheck only supports "
                               "inputs that are non-overlapping to be able to compute the numerical "
                               "gradients correctly. You should call .contiguous on the input before "
                               "passing it to gradcheck.")
    outputs = _outputs(func, inputs)
    try:
        # Analytical first: the finite differences write into the inputs (bumping their versions).
        analytical = _analytical_jacobians(inputs, diff_idx, outputs)
        numerical = _numerical_jacobians(func, inputs, diff_idx, outputs, eps)
        for j, i in enumerate(diff_idx):
            for o in range(len(outputs)):
                a, n = analytical[j][o], numerical[j][o]
                if not bool(((a - n).abs() <= atol + rtol * n.abs()).all()):
                    raise GradcheckError(f"Jacobian mismatch for output {o} with respect to input {i},\n"
                                         f"numerical:{n}\nanalytical:{a}\n")
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """gradcheck of the gradients of `func` (second derivatives)."""
    inputs = _as_tuple(inputs)
    outputs = _outputs(func, inputs)
    if grad_outputs is None:
        gen = ctorch.Generator().manual_seed(0)
        grad_outputs = tuple(ctorch.randn(o.shape, dtype=o.dtype, generator=gen).requires_grad_()
                             for o in outputs if o.requires_grad)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_grads(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = [o for o in _outputs(func, ins) if o.requires_grad]
        grads = ctorch.autograd.grad(outs, [ins[i] for i in diff_idx], gos, create_graph=True,
                                     allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
