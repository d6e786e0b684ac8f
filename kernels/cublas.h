// The CUDA GEMM entry (cuBLAS, loaded at run time by kernels/cublas.cu) and the switches it reads.
#pragma once
#include <cstdint>
#include "core/cuda_kernel.h"
#include "ctorch/core/dtype.h"
#include "ctorch/cuda.h"  // the matmul switches it reads

namespace ctorch {

// Row-major, like cpu/blas.h: for i in [0, batch), C_i[m, n] = alpha * op(A_i) @ op(B_i) + beta * C_i
// with op = transpose when ta / tb, X_i = x + i * stride_x (strides and leading dims in elements).
// All pointers are on `device`; the product runs on its current stream. dtype: float32, float64,
// float16 or bfloat16 (16-bit floats accumulate in float32). Leading dims follow the row-major
// BLAS rules (ld >= the row length of the stored matrix) and every size must fit in an int.
struct CudaGemm {
  DType dtype = DType::Float32;
  int device = 0;
  bool ta = false, tb = false;
  int64_t m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  const void* a = nullptr;
  int64_t lda = 1, stride_a = 0;
  const void* b = nullptr;
  int64_t ldb = 1, stride_b = 0;
  void* c = nullptr;
  int64_t ldc = 1, stride_c = 0;
  int64_t batch = 1;
};
CTORCH_CUDA_KERNEL(cuda_gemm, void(const CudaGemm&));


}  // namespace ctorch
