"""ctorch.backends.cuda: cuBLAS's matmul switches, as in torch.backends.cuda.

`matmul.allow_tf32` (default False, PyTorch's default) lets float32 products on CUDA round their
inputs to TF32 on tensor cores; `matmul.allow_fp16_reduced_precision_reduction` and
`matmul.allow_bf16_reduced_precision_reduction` (default True) let 16-bit products reduce in
reduced precision. Convolutions on CUDA run through the same cuBLAS products and follow them.
"""
import importlib.util
import os

from ctorch import _C

__all__ = ["is_built", "matmul", "cuBLASModule"]


def is_built():
    """True when ctorch was built with CUDA."""
    return _C._cuda_built()


class cuBLASModule:
    """The settable cuBLAS switches; unknown names raise AttributeError as in PyTorch."""

    __slots__ = ()

    @property
    def allow_tf32(self):
        return _C._cuda_matmul_allow_tf32()

    @allow_tf32.setter
    def allow_tf32(self, value):
        _C._cuda_set_matmul_allow_tf32(bool(value))

    @property
    def fp32_precision(self):
        """PyTorch 2.9's spelling of allow_tf32: "tf32" or "ieee"."""
        return "tf32" if self.allow_tf32 else "ieee"

    @fp32_precision.setter
    def fp32_precision(self, value):
        if value not in ("tf32", "ieee"):
            raise ValueError(f"fp32_precision must be 'tf32' or 'ieee', got {value!r}")
        self.allow_tf32 = value == "tf32"

    @property
    def allow_fp16_reduced_precision_reduction(self):
        return _C._cuda_matmul_allow_fp16_reduced_precision()

    @allow_fp16_reduced_precision_reduction.setter
    def allow_fp16_reduced_precision_reduction(self, value):
        _C._cuda_set_matmul_allow_fp16_reduced_precision(bool(value))

    @property
    def allow_bf16_reduced_precision_reduction(self):
        return _C._cuda_matmul_allow_bf16_reduced_precision()

    @allow_bf16_reduced_precision_reduction.setter
    def allow_bf16_reduced_precision_reduction(self, value):
        _C._cuda_set_matmul_allow_bf16_reduced_precision(bool(value))

    def __repr__(self):
        return (f"cuBLASModule(allow_tf32={self.allow_tf32}, allow_fp16_reduced_precision_reduction="
                f"{self.allow_fp16_reduced_precision_reduction}, allow_bf16_reduced_precision_reduction="
                f"{self.allow_bf16_reduced_precision_reduction})")


matmul = cuBLASModule()


def _pip_cublas_paths():
    """libcublas from pip's NVIDIA wheels (nvidia-cublas for CUDA 13, nvidia-cublas-cu12), if any.

    Only paths are collected here (cheap, no import of CUDA); ctorch loads cuBLAS at the first
    product on a CUDA tensor, trying $CTORCH_CUBLAS_PATH first, then these, then the sonames.
    """
    try:
        spec = importlib.util.find_spec("nvidia")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    found = []
    for root in spec.submodule_search_locations:
        for rel in ("cu13/lib/libcublas.so.13", "cublas/lib/libcublas.so.13", "cublas/lib/libcublas.so.12"):
            path = os.path.join(root, rel)
            if os.path.exists(path):
                found.append(path)
    return found


def _register_pip_cublas():
    for path in _pip_cublas_paths():
        _C._cublas_add_search_path(path)


_register_pip_cublas()
