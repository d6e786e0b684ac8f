// Float GEMM for every CPU op that multiplies matrices (matmul family, convolution, ...).
#pragma once
#include <cstdint>

namespace ctorch {

// Row-major C[m, n] = alpha * op(A) @ op(B) + beta * C, op = transpose when ta / tb. OpenBLAS runs
// single-threaded; a large product is split here into one block of C per pool thread.
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, double beta, float* c, int64_t ldc);
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// Below this many multiply-adds a product runs on one thread (splitting costs more than it saves).
constexpr int64_t kGemmSplitWork = int64_t(1) << 22;  // measured: a 2M-FMA split lost 30%

}  // namespace ctorch
