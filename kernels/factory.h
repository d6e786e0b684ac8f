// CUDA kernels of the factories in src/ops/factory.cpp (fill, ranges), defined in kernels/factory.cu.
#pragma once
#include "core/cuda_kernel.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

// Every element of t (any layout) set to value.to<T>() for t's dtype, as fill_ does on the CPU.
CTORCH_CUDA_KERNEL(cuda_fill, void(const Tensor&, const Scalar&));
// out: a contiguous 1-D float64 tensor, out[i] = start + i * step (arange's float formula).
CTORCH_CUDA_KERNEL(cuda_arange_f64, void(const Tensor&, double start, double step));
// out: a contiguous 1-D int64 tensor, out[i] = start + i * step.
CTORCH_CUDA_KERNEL(cuda_arange_i64, void(const Tensor&, int64_t start, int64_t step));
// out: a contiguous 1-D float64 tensor of linspace(start, end, out.numel()) with the CPU's
// two-halves formula; with `log`, base ** each value (logspace).
CTORCH_CUDA_KERNEL(cuda_linspace, void(const Tensor&, double start, double end, bool log, double base));

}  // namespace ctorch
