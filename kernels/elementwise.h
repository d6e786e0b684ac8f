// CUDA twins of the CPU elementwise kernels (src/cpu/kernels.h), defined in kernels/elementwise.cu.
#pragma once
#include "core/cuda_kernel.h"
#include "core/tensor_iter.h"
#include "ctorch/ops/elementwise.h"

namespace ctorch {

// Operands and dtypes exactly as cpu_unary / cpu_binary / cpu_where / cpu_copy.
CTORCH_CUDA_KERNEL(cuda_unary, void(UnaryOp, DType, const TensorIter&));
CTORCH_CUDA_KERNEL(cuda_binary, void(BinaryOp, DType, const TensorIter&));
CTORCH_CUDA_KERNEL(cuda_where, void(DType, const TensorIter&));
CTORCH_CUDA_KERNEL(cuda_copy, void(DType, DType, const TensorIter&));

}  // namespace ctorch
