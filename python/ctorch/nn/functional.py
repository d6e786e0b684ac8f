"""ctorch.nn.functional: functional forms of the layers and activations, composed from differentiable
ctorch ops (so autograd works through all of them)."""

import math as _math

import ctorch
from ctorch._index import one_hot

__all__ = [
    "one_hot", "linear", "bilinear", "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu",
    "elu", "elu_", "selu", "selu_", "gelu", "silu", "mish", "sigmoid", "tanh", "softmax", "log_softmax",
    "softplus", "softsign", "hardtanh", "hardtanh_", "hardswish", "hardsigmoid", "threshold",
]


def _inplace(input, fn, inplace):
    """fn(input), written into input when inplace (for activations with no in-place kernel). When
    autograd records, fn reads a clone: fn's backward saves its input, and copying the result into that
    same tensor would make the saved value stale (the in-place check would then fail backward)."""
    if not inplace:
        return fn(input)
    src = input.clone() if (input.requires_grad and ctorch.is_grad_enabled()) else input
    return input.copy_(fn(src))


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias (weight [out_features, in_features])."""
    if input.dim() == 2 and bias is not None:
        return ctorch.addmm(bias, input, weight.t())  # one pass: the GEMM adds the bias
    out = input.matmul(weight.t())
    return out + bias if bias is not None else out


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError("bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    out = ctorch.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out + bias if bias is not None else out


def relu(input, inplace=False):
    return input.relu_() if inplace else ctorch.relu(input)


def relu_(input):
    return input.relu_()


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace and not (input.requires_grad and ctorch.is_grad_enabled()):
        return input.clamp_(min_val, max_val)
    # recording: the core's clamp_ backward reads the overwritten input, so go through a clone
    return _inplace(input, lambda x: x.clamp(min_val, max_val), inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def threshold(input, threshold, value, inplace=False):
    return _inplace(input, lambda x: ctorch.where(x > threshold, x, value), inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _inplace(input, lambda x: ctorch.where(x > 0, x, x * negative_slope), inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), weight broadcast over the channel dim 1 (or a single value)."""
    if weight.dim() != 1:
        raise RuntimeError("prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = "
                           f"{weight.dim()}")
    w = weight
    if weight.numel() != 1:
        if input.dim() < 2 or input.shape[1] != weight.numel():
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter "
                               f"numbers = {weight.numel()} and channel size = "
                               f"{input.shape[1] if input.dim() >= 2 else 1}.")
        w = weight.reshape([-1] + [1] * (input.dim() - 2))
    return ctorch.where(input > 0, input, w * input)


def elu(input, alpha=1.0, inplace=False):
    # expm1 of min(x, 0): the unused branch never overflows, so its zero gradient stays finite
    return _inplace(input, lambda x: ctorch.where(x > 0, x, alpha * x.clamp(max=0).expm1()), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    return _inplace(input, lambda x: _SELU_SCALE * ctorch.where(x > 0, x, _SELU_ALPHA * x.clamp(max=0).expm1()),
                    inplace)


def selu_(input):
    return selu(input, True)


def gelu(input, approximate="none"):
    if approximate == "none":
        return ctorch.gelu(input)
    if approximate == "tanh":
        return ctorch.gelu_tanh(input)
    raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")


def silu(input, inplace=False):
    return input.silu_() if inplace else ctorch.silu(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's linear regime)."""
    bx = input * beta
    soft = bx.clamp(max=threshold).exp().log1p() / beta
    return ctorch.where(bx > threshold, input, soft)


def mish(input, inplace=False):
    return _inplace(input, lambda x: x * softplus(x).tanh(), inplace)


def sigmoid(input):
    return ctorch.sigmoid(input)


def tanh(input):
    return ctorch.tanh(input)


def softsign(input):
    return input / (input.abs() + 1)


def hardsigmoid(input, inplace=False):
    return _inplace(input, lambda x: (x + 3).clamp(0, 6) / 6, inplace)


def hardswish(input, inplace=False):
    return _inplace(input, lambda x: x * (x + 3).clamp(0, 6) / 6, inplace)


def _softmax_dim(ndim):
    # PyTorch's legacy implicit choice when dim is None
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.dim())
    if dtype is not None:
        input = input.to(dtype)
    return ctorch.softmax(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.dim())
    if dtype is not None:
        input = input.to(dtype)
    return ctorch.log_softmax(input, dim)


# ---------------------------------------------------------------------------------------------- losses
# Each loss is composed from differentiable ctorch ops, so input (and, where PyTorch has one, target)
# gradients come from autograd. Checks and exception classes follow PyTorch 2.x.

__all__ += [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss",
    "margin_ranking_loss", "triplet_margin_loss", "pairwise_distance",
]

_REDUCTIONS = ("none", "mean", "sum")

# PyTorch's C++ scalar-type names, used in its dtype error messages
_SCALAR_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
                 "int64": "Long", "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
                 "float64": "Double"}


def _scalar_name(dtype):
    name = str(dtype).rsplit(".", 1)[-1]
    return _SCALAR_NAMES.get(name, name)


def _legacy_reduction(size_average, reduce):
    """PyTorch's _Reduction.legacy_get_string: the deprecated size_average/reduce pair as a string."""
    import warnings
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if (size_average and reduce) else ("sum" if reduce else "none")
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' "
                  "instead.", stacklevel=3)
    return ret


def _get_reduction(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _warn_size(input, target):
    if tuple(target.shape) != tuple(input.shape):
        import warnings
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _pointwise_loss(input, target, reduction, fn, weight=None, weighted_mean_by_weight=True):
    """fn(input - target) broadcast like PyTorch, optionally times an elementwise weight of input's size.
    With a weight, 'mean' is sum(w * loss) / sum(w) for mse/l1 and mean(w * loss) for huber (PyTorch)."""
    _warn_size(input, target)
    input, target = ctorch.broadcast_tensors(input, target)
    loss = fn(input - target)
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and weighted_mean_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (input - target)^2, target broadcast (with PyTorch's size warning)."""
    reduction = _get_reduction(size_average, reduce, reduction)
    return _pointwise_loss(input, target, reduction, lambda d: d * d, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error |input - target|."""
    reduction = _get_reduction(size_average, reduce, reduction)
    return _pointwise_loss(input, target, reduction, lambda d: d.abs(), weight)


def _smooth(d, beta):
    # 0.5 d^2 / beta below beta, |d| - beta / 2 above (continuous at |d| = beta)
    z = d.abs()
    return ctorch.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = _get_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:  # PyTorch's special case: plain L1
        return _pointwise_loss(input, target, reduction, lambda d: d.abs())
    return _pointwise_loss(input, target, reduction, lambda d: _smooth(d, beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 below delta, delta (|d| - delta / 2) above: smooth_l1 with beta = delta, times delta."""
    reduction = _get_reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")

    def fn(d):
        z = d.abs()
        return ctorch.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))
    return _pointwise_loss(input, target, reduction, fn, weight, weighted_mean_by_weight=False)


def _check_class_target(input, target, weight):
    """PyTorch's nll_loss_nd checks: batch sizes, target rank and spatial sizes, dtype, weight size.
    Returns the number of classes and the target (a 1-element target of an unbatched input made 0-d)."""
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() == 1 and target.dim() == 1:
        # PyTorch 2.x: an unbatched input takes a 1-element 1-D target as its 0-d class index
        if target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{target.shape[0]}")
        target = target.reshape(())
    if input.dim() != 1:
        tb = target.shape[0] if target.dim() > 0 else 0
        if input.shape[0] != tb:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                             f"({tb}).")
    if target.dtype not in (ctorch.int64, ctorch.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_scalar_name(target.dtype)}")
    if input.dim() <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if not (input.dim() == 1 and target.dim() == 0) and input.shape[0] != target.shape[0]:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: "
                               f"{list(target.shape)})")
    elif input.dim() == 4:
        if target.dim() != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got targets "
                               f"of dimension: {target.dim()}")
        if tuple(target.shape) != (input.shape[0],) + tuple(input.shape[2:]):
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: "
                               f"{list(target.shape)}")
    else:
        expected = [input.shape[0]] + list(input.shape[2:])
        if list(target.shape) != expected:
            raise RuntimeError(f"Expected target size {expected}, got {list(target.shape)}")
    n_classes = input.shape[0 if input.dim() == 1 else 1]
    if weight is not None and weight.numel() != n_classes:
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    if input.dim() >= 3 and target.dtype != ctorch.int64:  # PyTorch's nll_loss2d takes Long only
        raise RuntimeError(f"expected scalar type Long but found {_scalar_name(target.dtype)}")
    return n_classes, target


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood of class indices, input (C), (N, C) or (N, C, d1, ...) of log-probabilities."""
    reduction = _get_reduction(size_average, reduce, reduction)
    _, target = _check_class_target(input, target, weight)
    # fused kernel: -weight[t] * input[t] per sample, reduced; IndexError for targets out of range
    return ctorch._C._nll_loss(input, target, weight, reduction, ignore_index)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dim then NLL (class indices) or -sum(p log q) (class probabilities:
    a target of the input's shape), with PyTorch's label smoothing and weight normalisation."""
    reduction = _get_reduction(size_average, reduce, reduction)
    if label_smoothing > 1.0:  # PyTorch checks only the upper bound
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if tuple(input.shape) != tuple(target.shape):  # class indices: one fused log_softmax + NLL pass
        _, target = _check_class_target(input, target, weight)
        if (weight is not None and label_smoothing > 0 and reduction == "mean"
                and target.dtype != ctorch.int64):
            # PyTorch's mean of the smoothing term gathers the weights by the (uint8) target
            raise RuntimeError("gather(): Expected dtype int32/int64 for index")
        return ctorch._C._cross_entropy_loss(input, target, weight, reduction, ignore_index, label_smoothing)

    # class probabilities (a target of the input's shape)
    cdim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[cdim]
    if not target.dtype.is_floating_point:
        raise RuntimeError("Expected floating point type for target with class probabilities, got "
                           f"{_scalar_name(target.dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    if weight is not None and weight.numel() != n_classes:
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or "
                           f"no classes but got weight tensor of shape: {list(weight.shape)}")
    logp = ctorch.log_softmax(input, cdim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = logp * target
    if weight is not None:
        # weight viewed along the class dim
        prod = prod * weight.detach().to(input.dtype).reshape([-1] + [1] * (input.dim() - cdim - 1))
    loss = -prod.sum(cdim)
    if reduction == "mean":
        # PyTorch divides by the number of samples (not the weights); empty input gives NaN
        n = input.numel() // n_classes if n_classes else 0
        return loss.sum() / n if n else loss.sum() * float("nan")
    return _reduce(loss, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w (t log x + (1 - t) log(1 - x)), each log clamped at -100 like PyTorch."""
    reduction = _get_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {_scalar_name(target.dtype)} but expected "
                           f"{_scalar_name(input.dtype)}")
    with ctorch.no_grad():
        if input.numel() and bool(((input < 0) | (input > 1)).any()):
            raise RuntimeError("all elements of input should be between 0 and 1")
    loss = -(target * input.log().clamp(min=-100) + (1 - target) * (1 - input).log().clamp(min=-100))
    if weight is not None:
        loss = loss * weight.expand(ctorch.broadcast_shapes(tuple(target.shape), tuple(weight.shape)))
    return _reduce(loss, reduction)


def _log_sigmoid(x):
    """log(sigmoid(x)) without overflow: x - log1p(exp(x)) for x < 0, -log1p(exp(-x)) otherwise. Each
    branch reads x only where it is selected (0 elsewhere), so no exp overflows, and the gradient at
    0 is the true 1/2 (min(x, 0) - log1p(exp(-|x|)) would take one-sided kinks there)."""
    neg = x < 0
    xn = ctorch.where(neg, x, 0.0)
    xp = ctorch.where(neg, 0.0, x)
    return ctorch.where(neg, xn - xn.exp().log1p(), -(-xp).exp().log1p())


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE of sigmoid(input) in the stable form (1 - t) x - (1 + (pos_weight - 1) t) log sigmoid(x)."""
    reduction = _get_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    logsig = _log_sigmoid(input)
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input - log_weight * logsig
    else:
        loss = (1 - target) * input - logsig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence with input given as log-probabilities: t (log t - x), or
    exp(t) (t - x) when log_target; 'batchmean' divides the sum by the batch size."""
    import warnings
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support "
                      "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                      "major release.", stacklevel=2)
    elif reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # xlogy(t, t): 0 where t == 0 (log of 1 there keeps the gradient finite), NaN for t < 0
        safe = ctorch.where(target == 0, ctorch.ones_like(target), target)
        loss = safe * safe.log() - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.dim() != 0 else total
    return _reduce(loss, reduction)


_COS_EPS = 1e-12


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where target == 1, max(0, cos - margin) where target == -1 (0 elsewhere)."""
    reduction = _get_reduction(size_average, reduce, reduction)
    tdim = target.dim()
    if tdim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tdim == 1 and not (input1.dim() == 2 and input2.dim() == 2):
        raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    if tdim == 0 and not (input1.dim() == 1 and input2.dim() == 1):
        raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    prod = (input1 * input2).sum(tdim)
    mag1 = (input1 * input1).sum(tdim) + _COS_EPS
    mag2 = (input2 * input2).sum(tdim) + _COS_EPS
    cos = prod / (mag1 * mag2).sqrt()
    zeros = ctorch.zeros_like(cos)
    loss = ctorch.where(target == 1, 1 - cos, zeros) + \
        ctorch.where(target == -1, (cos - margin).clamp(min=0), zeros)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target (input1 - input2) + margin)."""
    reduction = _get_reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError("margin_ranking_loss : All input tensors should have same dimension but got "
                           f"sizes: input1: {input1.shape}, input2: {input2.shape}, target: "
                           f"{target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """p-norm of x1 - x2 + eps over the last dim (PyTorch adds eps to the difference)."""
    return ctorch.linalg.vector_norm(x1 - x2 + eps, p, dim=-1, keepdim=keepdim)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)), d the pairwise p-distance; swap uses min(d(a, n), d(p, n))."""
    reduction = _get_reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pd, nd = anchor.dim(), positive.dim(), negative.dim()
    if not (a == pd == nd):
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the same "
                           f"number of dimensions, but got: anchor {a}D, positive {pd}D, and negative "
                           f"{nd}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ctorch.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


# ---- normalization
# layer_norm, batch_norm, group_norm: argument checks here, then one fused C++ kernel each
# (NativeLayerNormBackward0 / NativeBatchNormBackward0 / NativeGroupNormBackward0 nodes, which run
# fused backward kernels and differentiable formulas under create_graph).

__all__ += ["layer_norm", "batch_norm", "group_norm"]


def _check_norm_param_dtypes(input, *params):
    """PyTorch's CPU mixed-dtype rule for layer_norm / group_norm: weight and bias share the input's
    dtype, except float32 parameters with a float16 / bfloat16 input (RuntimeError otherwise)."""
    for p in params:
        if p is None or p.dtype == input.dtype:
            continue
        if input.dtype in (ctorch.float16, ctorch.bfloat16) and p.dtype == ctorch.float32:
            continue
        if input.dtype in (ctorch.float16, ctorch.bfloat16, ctorch.float32):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalizes over the last len(normalized_shape) dims with biased variance, then weight * x + bias."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    n = len(normalized_shape)
    if n == 0 or input.dim() < n or tuple(input.shape[input.dim() - n:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in normalized_shape)}], but got input of size"
                           f"{list(input.shape)}")
    _check_norm_param_dtypes(input, weight, bias)
    # fused kernel (saves mean and rstd per row for its backward)
    return ctorch._C.native_layer_norm(input, list(normalized_shape), weight, bias, eps)[0]


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Per-channel normalization of input [N, C, *]: batch statistics when training (running stats, if
    given, updated with the unbiased variance), running statistics otherwise."""
    if training:
        # PyTorch's _verify_batch_size comes first: N * prod(spatial) values per channel (any C, even
        # 0; IndexError for a 0-d input like PyTorch's input.size()[0])
        if input.dim() == 0:
            raise IndexError("tuple index out of range")
        if input.shape[0] * _math.prod(input.shape[2:]) == 1:
            raise ValueError("Expected more than 1 value per channel when training, got input size "
                             f"{input.shape}")
    if input.dim() < 2:
        # PyTorch's kernel reads 0 channels here and fails its per-channel size checks
        raise RuntimeError(f"batch_norm: expected 2D or more input (got {input.dim()}D input)")
    # every per-channel tensor must hold exactly C values (PyTorch checks this before computing)
    for name, t in [("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)]:
        if t is not None and t.numel() != input.shape[1]:
            raise RuntimeError(f"{name} should contain {input.shape[1]} elements not {t.numel()}")
    # PyTorch's CPU kernel: parameters and running stats of the input's dtype (float32 ones allowed
    # with a half / bfloat16 input), RuntimeError otherwise
    _check_norm_param_dtypes(input, weight, bias, running_mean, running_var)
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    # fused kernel: batch statistics (running stats updated in place, outside autograd) or running
    # statistics, then the per-channel affine
    return ctorch._C.native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum,
                                       eps)[0]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Splits the C channels of input [N, C, *] into num_groups groups, normalizes each (sample, group)
    with biased variance, then applies per-channel weight and bias."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    n, c = input.shape[0], input.shape[1]
    # PyTorch's _verify_batch_size on the (N * C / G, G, *) view, before the divisibility check
    if n * c // num_groups * _math.prod(input.shape[2:]) == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size "
                         f"{[n * c // num_groups, num_groups] + list(input.shape[2:])}")
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {input.shape} and num_groups={num_groups}")
    _check_norm_param_dtypes(input, weight, bias)
    hxw = _math.prod(input.shape[2:])
    return ctorch._C.native_group_norm(input, weight, bias, n, c, hxw, num_groups, eps)[0]


# ---------------------------------------------------------------- dropout
# Masks come from ctorch's global generator (so ctorch.manual_seed makes them reproducible); the values
# differ from PyTorch's random streams, only the semantics match.

def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _apply_mask(input, mask, inplace):
    """input * mask (mask already scaled), written into input when inplace. The mask is a constant, so
    the in-place mul_ keeps autograd correct (gradient = mask * upstream)."""
    return input.mul_(mask) if inplace else input * mask


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes each element with probability p and scales the rest by 1 / (1 - p); identity when not
    training; all zeros when p = 1."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _apply_mask(input, ctorch.zeros_like(input), inplace)
    with ctorch.no_grad():
        mask = ctorch.empty_like(input).bernoulli_(1.0 - p).div_(1.0 - p)
    return _apply_mask(input, mask, inplace)


def _feature_dropout(input, p, training, inplace, batched):
    """Drops whole channels: one Bernoulli draw per (sample, channel), broadcast over the spatial dims.
    batched says whether dim 0 is the batch (channels at dim 1) or the input is unbatched (channels at 0)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    lead = 2 if batched else 1
    mask_shape = tuple(input.shape[:lead]) + (1,) * (input.dim() - lead)
    if p == 1.0:
        return _apply_mask(input, ctorch.zeros(mask_shape, dtype=input.dtype, device=input.device), inplace)
    with ctorch.no_grad():
        mask = ctorch.empty(mask_shape, dtype=input.dtype, device=input.device).bernoulli_(1.0 - p).div_(1.0 - p)
    return _apply_mask(input, mask, inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, L) or unbatched (C, L) input."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note "
                           "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
                           "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
                           "inputs).")
    return _feature_dropout(input, p, training, inplace, batched=input.dim() == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, H, W) input. As PyTorch, a 3D input is treated as (N, C, L) (with a
    warning), and other ranks are accepted with a deprecation warning, the channel being dim 1."""
    if input.dim() not in (3, 4):
        import warnings
        warnings.warn(f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is deprecated and "
                      "will result in an error in a future release. To retain the behavior and silence "
                      "this warning, please use dropout instead. Note that dropout2d exists to provide "
                      "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
                      "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if input.dim() == 3:
        import warnings
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
                      "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
                      "the channel dim. This behavior will change in a future release to interpret the "
                      "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
                      "channel-wise dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=input.dim() >= 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    if input.dim() not in (4, 5):
        import warnings
        warnings.warn(f"dropout3d: Received a {input.dim()}-D input to dropout3d, which is deprecated and "
                      "will result in an error in a future release. To retain the behavior and silence "
                      "this warning, please use dropout instead. Note that dropout3d exists to provide "
                      "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, and "
                      "an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=input.dim() != 4)


# SELU's negative saturation value -lambda * alpha; alpha_dropout sets dropped units to it
_ALPHA_PRIME = 1.7580993408473766


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units take the value -alpha', then an affine map a * x + b
    restores zero mean and unit variance (PyTorch's a = 1 / sqrt((alpha'^2 p + 1)(1 - p)))."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _apply_mask(input, ctorch.zeros_like(input), inplace)
    a = 1.0 / ((_ALPHA_PRIME ** 2 * p + 1.0) * (1.0 - p)) ** 0.5
    with ctorch.no_grad():
        keep = ctorch.empty_like(input).bernoulli_(1.0 - p)
        b = (keep - 1.0) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p
        scale = keep * a
    if inplace:
        return input.mul_(scale).add_(b)
    return input * scale + b


__all__ += ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"]


# ---------------------------------------------------------------- padding and vector ops
# pad is built from narrow / cat (constant) and index_select (reflect, replicate, circular), so autograd
# comes from those ops: index_select's backward accumulates repeated indices, as padding needs.

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(n, left, right, mode):
    """Source index along a dim of size n for every output position of the padded dim."""
    out = []
    for i in range(-left, n + right):
        if mode == "reflect":
            j = -i if i < 0 else (2 * (n - 1) - i if i >= n else i)
        elif mode == "replicate":
            j = min(max(i, 0), n - 1)
        else:  # circular
            j = i % n
        out.append(j)
    return ctorch.tensor(out, dtype=ctorch.int64)


def pad(input, pad, mode="constant", value=None):
    """Pads the last len(pad) // 2 dims; pad = (last_left, last_right, 2nd_last_left, ...). Negative
    amounts crop. 'constant' works on any number of dims; the other modes on the last 1-3 dims of a
    (batched or unbatched) input, as PyTorch."""
    pad = tuple(int(v) for v in pad)
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension "
                           f"but got padding length {len(pad)} and input of dimension {input.dim()}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    npad = len(pad) // 2
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
        if npad not in (1, 2, 3) or input.dim() not in (npad + 1, npad + 2):
            raise NotImplementedError(
                f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
                "Supported combinations for non-constant padding:\n"
                "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    fill = 0 if value is None else value
    out = input
    for k in range(npad):
        d = input.dim() - 1 - k
        left, right = pad[2 * k], pad[2 * k + 1]
        n = out.size(d)
        if mode == "constant":
            # crop first (negative amounts), then concatenate constant blocks
            start, stop = max(-left, 0), n - max(-right, 0)
            if stop - start < 0:
                raise RuntimeError(f"The input size {n}, plus negative padding {left} and {right} resulted "
                                   f"in a negative output size, which is invalid. Check dimension {d} of "
                                   "your input.")
            if start > 0 or stop < n:
                out = out.narrow(d, start, stop - start)
            parts = []
            for amount in (left, right):
                shape = list(out.shape)
                shape[d] = max(amount, 0)
                parts.append(ctorch.full(shape, fill, dtype=out.dtype))
            out = ctorch.cat([parts[0], out, parts[1]], d)
            continue
        if mode == "reflect" and (left >= n or right >= n):
            raise RuntimeError("Argument #4: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({left}, {right}) at dimension {d} of input "
                               f"{list(input.shape)}")
        if mode == "circular" and (left > n or right > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and n == 0:
            raise RuntimeError(f"padding: input dimension {d} must be non-empty for replicate padding")
        out = out.index_select(d, _pad_index(n, left, right, mode))
    return out


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps)."""
    denom = ctorch.linalg.vector_norm(input, p, dim=dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    if out is not None:
        return out.copy_(result)
    return result


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along dim, inputs broadcast. As PyTorch, the
    norms are clamped without recording the clamp, so gradients flow through the unclamped norms."""
    x1, x2 = ctorch.broadcast_tensors(x1, x2)

    def _norm(x):
        n = ctorch.linalg.vector_norm(x, 2, dim=dim, keepdim=True)
        return n + (n.clamp_min(eps) - n).detach()

    return ((x1 / _norm(x1)) * (x2 / _norm(x2))).sum(dim)


def glu(input, dim=-1):
    """a * sigmoid(b), a and b the two halves of input along dim."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % input.dim()
    if input.size(d) % 2 != 0:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {input.size(d)}")
    a, b = input.chunk(2, d)
    return a * ctorch.sigmoid(b)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-input)."""
    if dim is None:
        dim = _softmax_dim(input.dim())
    if dtype is not None:
        input = input.to(dtype)
    return ctorch.softmax(-input, dim)


__all__ += ["pad", "normalize", "cosine_similarity", "glu", "softmin"]


# ---------------------------------------------------------------- embedding

_TENSOR_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                      "bfloat16": "BFloat16Tensor", "bool": "BoolTensor", "uint8": "ByteTensor",
                      "int8": "CharTensor", "int16": "ShortTensor"}


def _embedding_renorm_(weight, flat, max_norm, norm_type):
    """PyTorch's max_norm: rows referenced by the batch whose norm exceeds max_norm are rescaled in place
    (outside autograd) to max_norm / (norm + 1e-7)."""
    with ctorch.no_grad():
        idx = ctorch.unique(flat)
        rows = weight.index_select(0, idx)
        norms = ctorch.linalg.vector_norm(rows, norm_type, dim=1, keepdim=True)
        scale = ctorch.where(norms > max_norm, max_norm / (norms + 1e-7), ctorch.ones_like(norms))
        weight.index_copy_(0, idx, rows * scale)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """weight[input]: rows of weight looked up by integer indices, output shape input.shape + (D,).
    Positions whose index is padding_idx get no gradient; scale_grad_by_freq divides each row's gradient
    by how often its index occurs in input."""
    num = weight.size(0)
    if padding_idx is not None:  # PyTorch checks padding_idx before the index dtype
        if padding_idx > 0:
            assert padding_idx < num, "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -num, "Padding_idx must be within num_embeddings"
            padding_idx = num + padding_idx
    if input.dtype not in (ctorch.int64, ctorch.int32):
        name = _TENSOR_TYPE_NAMES.get(str(input.dtype).replace("ctorch.", ""), str(input.dtype))
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar "
                           f"types: Long, Int; but got torch.{name} instead (while checking arguments for "
                           "embedding)")
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported by ctorch")
    if max_norm is not None:
        flat = input.reshape(-1).long()
        if flat.numel() > 0 and (bool((flat < 0).any()) or bool((flat >= num).any())):
            raise IndexError("index out of range in self")
        _embedding_renorm_(weight, flat, max_norm, norm_type)
    # fused op: index checks (IndexError), row gather, and an EmbeddingBackward0 node whose backward
    # sums gradient rows per index in parallel (skipping padding_idx, scaled by 1 / count if asked)
    return ctorch._C._embedding(weight, input, -1 if padding_idx is None else padding_idx, scale_grad_by_freq)


__all__ += ["embedding"]


# ---- attention
# Scaled dot-product attention written with differentiable ctorch ops (matmul, softmax, masked_fill), so
# gradients reach query, key, value and float masks; this is PyTorch's "math" reference path.


def _sdpa_bias(attn_mask, is_causal, L, S, dtype, device):
    """The additive bias (float, broadcastable to (..., L, S)) for a mask and/or causal flag, or None."""
    if is_causal:
        allowed = ctorch.ones(L, S, dtype=ctorch.bool, device=device).tril()
        return ctorch.zeros(L, S, dtype=dtype, device=device).masked_fill(allowed.logical_not(),
                                                                           float("-inf"))
    if attn_mask is None:
        return None
    if attn_mask.dtype == ctorch.bool:
        # bool masks: True = the position takes part, False = excluded (-inf before the softmax)
        return ctorch.zeros(tuple(attn_mask.shape), dtype=dtype, device=device).masked_fill(
            attn_mask.logical_not(), float("-inf"))
    return attn_mask


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + bias) @ value for (..., L, E), (..., S, E), (..., S, Ev) inputs,
    giving (..., L, Ev). scale defaults to 1 / sqrt(E); attn_mask is a bool mask (True = take part) or a
    float mask added to the scores, broadcast to (..., L, S); is_causal applies a lower-triangular mask.
    enable_gqa repeats the key/value heads (dim -3) to match query's head count."""
    if attn_mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                           "is_causal=True")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at least 2-D")
    if query.size(-1) != key.size(-1):
        raise RuntimeError(f"scaled_dot_product_attention: query's embedding size {query.size(-1)} does "
                           f"not match key's {key.size(-1)}")
    if key.size(-2) != value.size(-2):
        raise RuntimeError(f"scaled_dot_product_attention: key's sequence length {key.size(-2)} does not "
                           f"match value's {value.size(-2)}")
    if attn_mask is not None and not (attn_mask.dtype == ctorch.bool or attn_mask.dtype == query.dtype):
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {attn_mask.dtype} and  query.dtype: {query.dtype} instead.")
    if enable_gqa:
        hq, hk = query.size(-3), key.size(-3)
        if hq % hk != 0 or hq % value.size(-3) != 0:
            raise RuntimeError("scaled_dot_product_attention: with enable_gqa, query's head count must be a "
                               "multiple of key's and value's")
        key = key.repeat_interleave(hq // hk, -3)
        value = value.repeat_interleave(hq // value.size(-3), -3)
    L, S = query.size(-2), key.size(-2)
    scale_factor = 1.0 / _math.sqrt(query.size(-1)) if scale is None else scale
    scores = query.matmul(key.transpose(-2, -1)) * scale_factor
    bias = _sdpa_bias(attn_mask, is_causal, L, S, query.dtype, query.device)
    if bias is not None:
        scores = scores + bias
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights.matmul(value)


__all__ += ["scaled_dot_product_attention"]
# ---- interpolation and unfold
# interpolate works one spatial dim at a time: 'nearest' is an index_select of source indices, 'linear' /
# 'bilinear' blend two index_selects with per-position weights (bilinear is separable, so applying the
# 1-D rule along H then W equals PyTorch's 2-D formula). unfold / fold are an index_select / index_add of
# patch positions over the flattened padded image. All autograd comes from those ops.


_INTERP_DIMS = {"linear": 3, "bilinear": 4}
_INTERP_MODES = ("nearest", "linear", "bilinear")


def _interp_output_sizes(input, size, scale_factor, nsp):
    """Output spatial sizes and the per-dim scale factors handed to the kernel (None = use in/out)."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nsp:
                raise ValueError("Input and output must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {list(input.shape[2:])} and output size "
                                 f"of {size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                                 "and output size in (o1, o2, ...,oK) format.")
            sizes = [int(s) for s in size]
        else:
            sizes = [int(size)] * nsp
        return sizes, [None] * nsp
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != nsp:
            raise ValueError("Input and scale_factor must have the same number of spatial dimensions, but "
                             f"got input with spatial dimensions of {list(input.shape[2:])} and "
                             f"scale_factor of shape {scale_factor}. Please provide input tensor in (N, C, "
                             "d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * nsp
    sizes = [int(_math.floor(float(input.size(i + 2)) * scales[i])) for i in range(nsp)]
    return sizes, scales


def _nearest_index(n_in, n_out, scale, dtype, nsp):
    """PyTorch's nearest source index: min(floor(dst * s), n_in - 1), s = 1/scale_factor when given, else
    in/out. PyTorch's CPU kernels differ: 1-D and 3-D compute in the input's opmath type (double for
    float64); 2-D (nearest_idx) always uses float32 and special-cases out == in and out == 2 * in."""
    if nsp == 2 and n_out == n_in:
        return ctorch.arange(n_out, dtype=ctorch.int64)
    if nsp == 2 and n_out == 2 * n_in:
        return ctorch.arange(n_out, dtype=ctorch.int64) // 2
    if nsp != 2 and dtype == ctorch.float64:
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        return ctorch.tensor([min(int(_math.floor(dst * s)), n_in - 1) for dst in range(n_out)],
                             dtype=ctorch.int64)
    f32 = ctorch.float32
    if scale is not None and scale > 0:
        s = ctorch.tensor([1.0 / scale], dtype=f32)
    else:
        s = ctorch.tensor([float(n_in)], dtype=f32) / ctorch.tensor([float(n_out)], dtype=f32)
    # float32 tensor arithmetic (not numpy: importing ctorch must not load it) reproduces PyTorch's rounding
    idx = (ctorch.arange(n_out, dtype=f32) * s).floor().to(ctorch.int64)
    return idx.clamp(max=n_in - 1)


def _linear_weights(n_in, n_out, scale, align_corners):
    """Two source indices and the weight of the second, by PyTorch's area_pixel_compute_source_index."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    i0, i1, lam = [], [], []
    for dst in range(n_out):
        src = s * dst if align_corners else max(s * (dst + 0.5) - 0.5, 0.0)
        j = int(src)
        i0.append(j)
        i1.append(j + 1 if j < n_in - 1 else j)
        lam.append(src - j)
    return (ctorch.tensor(i0, dtype=ctorch.int64), ctorch.tensor(i1, dtype=ctorch.int64), lam)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resizes the spatial dims (all dims after N, C). Modes: 'nearest' (3-D/4-D/5-D input), 'linear'
    (3-D) and 'bilinear' (4-D), the latter two with align_corners."""
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif mode not in _INTERP_MODES:
        raise NotImplementedError(f"interpolate: mode '{mode}' is not supported by ctorch (supported: "
                                  "nearest, linear, bilinear)")
    if align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by ctorch")
    if input.dim() not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.dim()}D) for the modes: nearest | linear | bilinear | bicubic | "
                                  f"trilinear | area | nearest-exact (got {mode})")
    nsp = input.dim() - 2
    sizes, scales = _interp_output_sizes(input, size, scale_factor, nsp)
    if recompute_scale_factor:
        if size is not None:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        scales = [None] * nsp
    if mode != "nearest" and input.dim() != _INTERP_DIMS[mode]:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                  f"{_INTERP_DIMS[mode]}D input")
    for i, s in enumerate(sizes):
        if s <= 0:
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                               f"{tuple(input.shape[2:])} output {tuple(sizes)}")
    out = input
    for i in range(nsp):
        d = i + 2
        n_in, n_out = input.size(d), sizes[i]
        if mode == "nearest":
            out = out.index_select(d, _nearest_index(n_in, n_out, scales[i], input.dtype, nsp))
            continue
        if n_in == n_out:
            # PyTorch's linear kernels leave a dim whose size is unchanged as is, even when a scale_factor
            # other than 1 produced that size
            continue
        i0, i1, lam = _linear_weights(n_in, n_out, scales[i], align_corners)
        shape = [1] * input.dim()
        shape[d] = n_out
        w1 = ctorch.tensor(lam, dtype=input.dtype).reshape(shape)
        out = out.index_select(d, i0) * (1 - w1) + out.index_select(d, i1) * w1
    return out


def _pair(v, name):
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise RuntimeError(f"{name} must be an int or a pair of ints, got {v}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _patch_index(hp, wp, kh, kw, dh, dw, sh, sw):
    """Flat index into the padded (hp, wp) image for every (kernel position, block) pair, shape
    (kh*kw*L,), plus the block counts (bh, bw)."""
    bh = (hp - dh * (kh - 1) - 1) // sh + 1
    bw = (wp - dw * (kw - 1) - 1) // sw + 1
    if bh < 1 or bw < 1:
        raise RuntimeError(f"Given input with spatial size ({hp}, {wp}) after padding, kernel_size=({kh}, "
                           f"{kw}), dilation=({dh}, {dw}), stride=({sh}, {sw}), calculated shape of the "
                           f"array of sliding blocks as ({bh}, {bw}), but its components must be at least "
                           "one.")
    i64 = ctorch.int64
    ki = ctorch.arange(kh, dtype=i64).reshape(kh, 1, 1, 1) * dh
    kj = ctorch.arange(kw, dtype=i64).reshape(1, kw, 1, 1) * dw
    bi = ctorch.arange(bh, dtype=i64).reshape(1, 1, bh, 1) * sh
    bj = ctorch.arange(bw, dtype=i64).reshape(1, 1, 1, bw) * sw
    idx = (ki + bi) * wp + (kj + bj)
    return idx.reshape(-1), bh, bw


def _check_params(kh, kw, dh, dw, ph, pw, sh, sw):
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {kh} "
                           f"kernel_width: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {sh} "
                           f"stride_width: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {dh} "
                           f"dilation_width: {dw}")
    if ph < 0 or pw < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {ph} pad_width: {pw}")


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extracts sliding local blocks: (N, C, H, W) -> (N, C*kh*kw, L), L the number of blocks; channel
    index c*kh*kw + ki*kw + kj as PyTorch. A 3-D input is treated as unbatched."""
    if input.dim() not in (3, 4) or input.numel() == 0 and input.dim() == 3:
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor for input with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(input.shape)}")
    (kh, kw), (dh, dw) = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    (ph, pw), (sh, sw) = _pair(padding, "padding"), _pair(stride, "stride")
    _check_params(kh, kw, dh, dw, ph, pw, sh, sw)
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    n, c = x.size(0), x.size(1)
    if ph or pw:
        x = pad(x, (pw, pw, ph, ph))
    hp, wp = x.size(2), x.size(3)
    idx, bh, bw = _patch_index(hp, wp, kh, kw, dh, dw, sh, sw)
    out = x.reshape(n, c, hp * wp).index_select(2, idx).reshape(n, c * kh * kw, bh * bw)
    return out if batched else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of unfold: (N, C*kh*kw, L) blocks are summed into an (N, C, *output_size) image, with
    overlapping positions adding up. A 2-D input is treated as unbatched."""
    if input.dim() not in (2, 3):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(input.shape)}")
    (oh, ow), (kh, kw) = _pair(output_size, "output_size"), _pair(kernel_size, "kernel_size")
    (dh, dw), (ph, pw) = _pair(dilation, "dilation"), _pair(padding, "padding")
    sh, sw = _pair(stride, "stride")
    _check_params(kh, kw, dh, dw, ph, pw, sh, sw)
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    n, ck, nblocks = x.size(0), x.size(1), x.size(2)
    if ck % (kh * kw) != 0:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product of "
                           f"kernel_size, but got input.size(1)={ck} and kernel_size=({kh}, {kw})")
    hp, wp = oh + 2 * ph, ow + 2 * pw
    idx, bh, bw = _patch_index(hp, wp, kh, kw, dh, dw, sh, sw)
    if nblocks != bh * bw:
        raise RuntimeError(f"Given output_size=({oh}, {ow}), kernel_size=({kh}, {kw}), dilation=({dh}, "
                           f"{dw}), padding=({ph}, {pw}), stride=({sh}, {sw}), expected size of input's "
                           f"dimension 2 to match the calculated number of sliding blocks {bh} * {bw} = "
                           f"{bh * bw}, but got input.size(2)={nblocks}.")
    c = ck // (kh * kw)
    src = x.reshape(n, c, kh * kw * nblocks)
    out = ctorch.zeros((n, c, hp * wp), dtype=input.dtype).index_add(2, idx, src).reshape(n, c, hp, wp)
    out = out.narrow(2, ph, oh).narrow(3, pw, ow)
    return out if batched else out.squeeze(0)


__all__ += ["interpolate", "unfold", "fold"]


# ---- convolutions: the C++ ops (im2col + BLAS kernels with their own backward), PyTorch's signatures:
# conv*(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1), padding also 'valid' or
# 'same'; conv_transpose*(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
# dilation=1).
from ctorch._C import conv1d, conv2d, conv_transpose1d, conv_transpose2d  # noqa: E402

__all__ += ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]
# ---- pooling (C++ kernels in src/ops/pool.cpp; the functions below only choose among them)

def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """Max over sliding windows of the last dim; returns (output, indices into each input row)."""
    return ctorch._C.max_pool1d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of the last dim of (N, C, L) or (C, L); stride defaults to kernel_size.
    With return_indices, also the int64 position of each maximum in its input row."""
    if return_indices:
        return ctorch._C.max_pool1d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return ctorch._C.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """Max over 2-d windows; returns (output, indices into each flattened input plane)."""
    return ctorch._C._max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over 2-d windows of (N, C, H, W) or (C, H, W); stride defaults to kernel_size. With
    return_indices, also the int64 position of each maximum in its flattened H*W input plane."""
    if return_indices:
        return ctorch._C._max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return ctorch._C.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over sliding windows of the last dim of (N, C, L) or (C, L)."""
    return ctorch._C.avg_pool1d(input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over 2-d windows of (N, C, H, W) or (C, H, W); divisor_override replaces the window size."""
    return ctorch._C._avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                 divisor_override)


def _adaptive_size(input, output_size, n):
    """output_size as n ints; None entries keep the input's size (PyTorch's _list_with_default)."""
    if isinstance(output_size, int):
        return output_size
    output_size = list(output_size)
    if input.dim() <= len(output_size):
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    return [input.size(-len(output_size) + i) if v is None else v for i, v in enumerate(output_size)]


def adaptive_avg_pool1d(input, output_size):
    """Mean over output_size windows that evenly tile the last dim."""
    return ctorch._C.adaptive_avg_pool1d(input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Mean over an output_size grid of windows tiling (H, W); None in output_size keeps that size."""
    return ctorch._C._adaptive_avg_pool2d(input, _adaptive_size(input, output_size, 2))


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return ctorch._C.adaptive_max_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over output_size windows tiling the last dim (with their indices if return_indices)."""
    out = ctorch._C.adaptive_max_pool1d(input, output_size)
    return out if return_indices else out[0]


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return ctorch._C._adaptive_max_pool2d(input, _adaptive_size(input, output_size, 2))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over an output_size grid of windows tiling (H, W) (with flat plane indices if return_indices)."""
    out = ctorch._C._adaptive_max_pool2d(input, _adaptive_size(input, output_size, 2))
    return out if return_indices else out[0]


def _unpool_output_size(input, kernel_size, stride, padding, output_size):
    default = [(input.size(-2 + d) - 1) * stride[d] + kernel_size[d] - 2 * padding[d] for d in range(2)]
    if output_size is None:
        return default
    output_size = list(output_size)
    if len(output_size) == 4:
        output_size = output_size[2:]
    if len(output_size) != 2:
        raise ValueError("output_size should be a sequence containing 2 or 4 elements, but it has a length "
                         f"of '{len(output_size)}'")
    for d in range(2):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {lo} and {hi})')
    return output_size


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Puts each value of a max_pool2d output back at its index in a zero plane (the partial inverse
    of max_pool2d with return_indices)."""
    ks = _pair(kernel_size, "kernel_size")
    st = ks if stride is None else _pair(stride, "stride")
    size = _unpool_output_size(input, ks, st, _pair(padding, "padding"), output_size)
    return ctorch._C._max_unpool2d(input, indices, [int(v) for v in size])


__all__ += ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices", "avg_pool1d",
            "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
            "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
            "max_unpool2d"]
