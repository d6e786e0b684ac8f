// GEMM over OpenBLAS (scipy-openblas32, symbols prefixed scipy_), parallelized by ctorch's pool.
//
// Why not OpenBLAS's own threads: they synchronize by spinning and waiting on each other, and when
// another process holds one of the two cores a 128x784x512 product took ~10x its quiet time. Pool
// threads claim blocks of C instead; a late worker delays nothing (src/cpu/parallel.cpp).
#include "cpu/blas.h"
#include <cblas.h>
#include <algorithm>
#include "cpu/parallel.h"

extern "C" void scipy_openblas_set_num_threads(int);

namespace ctorch {

namespace {
const bool g_blas_single_threaded = (scipy_openblas_set_num_threads(1), true);

// Leading dimensions of empty matrices may be 0, which OpenBLAS rejects.
blasint ld(int64_t v) { return static_cast<blasint>(std::max<int64_t>(v, 1)); }

void blas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, double beta, float* c, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k),
                    static_cast<float>(alpha), a, ld(lda), b, ld(ldb), static_cast<float>(beta), c, ld(ldc));
}
void blas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
                    ld(lda), b, ld(ldb), beta, c, ld(ldc));
}

// Splits C into `parts` blocks of rows (when m >= n) or columns; each block repacks only its slice of
// one operand and all of the other, so the split runs along the larger of m and n.
template <class T>
void split_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const T* a, int64_t lda,
                const T* b, int64_t ldb, double beta, T* c, int64_t ldc) {
  (void)g_blas_single_threaded;
  int64_t work = m * n * k;
  int64_t parts = std::min<int64_t>(get_num_threads(), work / kGemmSplitWork);
  bool by_rows = m >= n;
  int64_t len = by_rows ? m : n;
  parts = std::min<int64_t>(parts, len / 16);
  if (parts <= 1 || detail::parallel_threads(parts, 1) <= 1) {
    blas(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  auto edge = [&](int64_t p) { return p == parts ? len : (len * p / parts) & ~int64_t(15); };
  parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t s = edge(p), e = edge(p + 1);
      if (by_rows)  // rows s..e of C come from rows s..e of op(A)
        blas(ta, tb, e - s, n, k, alpha, a + (ta ? s : s * lda), lda, b, ldb, beta, c + s * ldc, ldc);
      else          // columns s..e of C come from columns s..e of op(B)
        blas(ta, tb, m, e - s, k, alpha, a, lda, b + (tb ? s * ldb : s), ldb, beta, c + s, ldc);
    }
  });
}
}  // namespace

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, double beta, float* c, int64_t ldc) {
  split_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  split_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace ctorch
