// Linalg: mm through OpenBLAS (plain, transposed, strided, batched) against a naive triple loop.
#include <gtest/gtest.h>
#include <cmath>
#include "ctorch/ctorch.h"

using namespace ctorch;

namespace {

Tensor filled(std::initializer_list<int64_t> shape, DType dt, double scale) {
  Tensor t = empty(shape, DType::Float64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::sin(scale * double(i + 1));
  return to(t, dt, Device());
}

// The reference: c[i][j] = sum_k a[i][k] * b[k][j], reading through the strides.
std::vector<double> naive_mm(const Tensor& a64, const Tensor& b64) {
  int64_t m = a64.size(0), k = a64.size(1), n = b64.size(1);
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  const double* pa = a64.data<double>();
  const double* pb = b64.data<double>();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += pa[i * a64.stride(0) + p * a64.stride(1)] * pb[p * b64.stride(0) + j * b64.stride(1)];
      c[i * n + j] = s;
    }
  return c;
}

void expect_mm_matches(const Tensor& a, const Tensor& b, double tol) {
  Tensor c = to(mm(a, b), DType::Float64, Device());
  std::vector<double> ref = naive_mm(to(a, DType::Float64, Device()), to(b, DType::Float64, Device()));
  ASSERT_EQ(c.size(0), a.size(0));
  ASSERT_EQ(c.size(1), b.size(1));
  const double* pc = c.data<double>();
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(pc[i], ref[i], tol) << "element " << i;
}

}  // namespace

TEST(Linalg, MmMatchesNaiveLoop) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    double tol = dt == DType::Float32 ? 1e-4 : 1e-11;
    Tensor a = filled({67, 45}, dt, 0.37), b = filled({45, 33}, dt, 0.11);
    expect_mm_matches(a, b, tol);
    // Transposed operands go to BLAS without a copy (lda = the other stride).
    Tensor at = ctorch::t(filled({45, 67}, dt, 0.21)), bt = ctorch::t(filled({33, 45}, dt, 0.5));
    expect_mm_matches(at, bt, tol);
    // A row-strided view (lda 90) and a view with no unit stride (copied first).
    Tensor wide = filled({67, 90}, dt, 0.3);
    expect_mm_matches(narrow(wide, 1, 10, 45), b, tol);
    expect_mm_matches(as_strided(wide, {30, 45}, {180, 2}), b, tol);
  }
}

TEST(Linalg, IntegerAndHalfPaths) {
  Tensor a = to(filled({9, 7}, DType::Float64, 1.3) * Scalar(10.0), DType::Int64, Device());
  Tensor b = to(filled({7, 5}, DType::Float64, 0.7) * Scalar(10.0), DType::Int64, Device());
  expect_mm_matches(a, b, 0.0);
  expect_mm_matches(filled({8, 6}, DType::BFloat16, 0.9), filled({6, 4}, DType::BFloat16, 0.4), 0.05);
}

TEST(Linalg, BatchedMatmulBroadcasts) {
  Tensor a = filled({3, 1, 4, 5}, DType::Float32, 0.3), b = filled({2, 5, 6}, DType::Float32, 0.8);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.sizes(), IntArrayRef({3, 2, 4, 6}));
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      Tensor got = contiguous(select(select(c, 0, i), 0, j));
      Tensor want = mm(select(select(a, 0, i), 0, 0), select(b, 0, j));
      const float* pg = got.data<float>();
      const float* pw = want.data<float>();
      for (int64_t e = 0; e < got.numel(); ++e) ASSERT_FLOAT_EQ(pg[e], pw[e]);
    }
}

TEST(Linalg, ShapeErrorsNameBothShapes) {
  try {
    mm(zeros({2, 3}), zeros({4, 5}));
    FAIL() << "mm accepted mismatched shapes";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_NE(std::string(e.what()).find("2x3 and 4x5"), std::string::npos) << e.what();
  }
}
