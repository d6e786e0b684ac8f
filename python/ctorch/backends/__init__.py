"""ctorch.backends: switches of the libraries behind ctorch's kernels (PyTorch's torch.backends).

Only what something real backs is here: ctorch.backends.cuda (cuBLAS). ctorch has no cuDNN, so
there is no ctorch.backends.cudnn.
"""
from ctorch.backends import cuda  # noqa: F401

__all__ = ["cuda"]
