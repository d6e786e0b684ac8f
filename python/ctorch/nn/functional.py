"""ctorch.nn.functional: functional forms of the layers and activations, composed from differentiable
ctorch ops (so autograd works through all of them)."""

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
