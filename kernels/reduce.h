// CUDA twins of the CPU reduction, scan and softmax kernels (src/cpu/reduce_cpu.h), defined in
// kernels/reduce.cu. Same layouts ([outer, n, inner], contiguous, device pointers), same dtype
// sets and output dtypes; the ops in src/ops/reduce.cpp convert everything else first.
#pragma once
#include <cstdint>
#include "core/cuda_kernel.h"
#include "cpu/reduce_cpu.h"

namespace ctorch {

// As cpu_reduce: (kind, dtype, x, out, outer, n, inner, p).
CTORCH_CUDA_KERNEL(cuda_reduce, void(ReduceKind, DType, const void*, void*, int64_t, int64_t,
                                     int64_t, double));
// As cpu_arg_reduce: (is_max, dtype, x, values or null, indices, rows, n).
CTORCH_CUDA_KERNEL(cuda_arg_reduce, void(bool, DType, const void*, void*, int64_t*, int64_t,
                                         int64_t));
// As cpu_var_mean: (dtype, x, var, mean, rows, n, correction).
CTORCH_CUDA_KERNEL(cuda_var_mean, void(DType, const void*, void*, void*, int64_t, int64_t, double));
// As cpu_logsumexp: (dtype, x, out, rows, n).
CTORCH_CUDA_KERNEL(cuda_logsumexp, void(DType, const void*, void*, int64_t, int64_t));
// As cpu_softmax: (log, dtype, x, out, outer, n, inner).
CTORCH_CUDA_KERNEL(cuda_softmax, void(bool, DType, const void*, void*, int64_t, int64_t, int64_t));
// As cpu_scan: (prod, dtype, x, out, outer, n, inner).
CTORCH_CUDA_KERNEL(cuda_scan, void(bool, DType, const void*, void*, int64_t, int64_t, int64_t));

}  // namespace ctorch
