"""Normalization layers over features within a sample: LayerNorm and GroupNorm (PyTorch's arguments,
defaults, initialisation, reprs and checks)."""
import ctorch
from ctorch.nn import functional as F
from ctorch.nn import init
from ctorch.nn.modules.module import Module
from ctorch.nn.parameter import Parameter

__all__ = ["LayerNorm", "GroupNorm"]


def affine_parameters(module, shape, affine, bias, device, dtype):
    """Registers the elementwise weight and bias of a normalization layer (None when absent)."""
    def make():
        return Parameter(ctorch.empty(*shape, device=device, dtype=dtype)) if affine else None
    module.register_parameter("weight", make())
    module.register_parameter("bias", make() if bias else None)


def reset_affine(module):
    """Weight ones, bias zeros: the identity transform, as PyTorch initialises them."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Normalizes over the trailing normalized_shape dims; elementwise weight (ones) and bias (zeros)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None,
                 dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        affine_parameters(self, self.normalized_shape, elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        # PyTorch >= 2.1 also shows bias (False when there is no affine part at all)
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalizes each group of num_channels // num_groups channels; per-channel weight and bias."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        affine_parameters(self, (num_channels,), affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
