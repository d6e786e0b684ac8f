// Scalar math used by kernels: the vectorizable float exp and tanh against the C library.
#include <gtest/gtest.h>
#include <cmath>
#include <limits>
#include "ops/math.h"

static int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, 4);
  memcpy(&ib, &b, 4);
  if ((ia < 0) != (ib < 0)) return std::abs(int64_t(ia & 0x7fffffff) + (ib & 0x7fffffff));
  return std::abs(int64_t(ia) - int64_t(ib));
}

TEST(Math, ExpF32WithinTwoUlpEverywhere) {
  int64_t worst = 0;
  for (float x = -103.0f; x < 88.7f; x += 0.0137f) {
    float want = static_cast<float>(std::exp(static_cast<double>(x)));
    if (want < std::numeric_limits<float>::min()) continue;  // subnormal: checked below
    worst = std::max(worst, ulp_distance(ctorch::math::exp_f32(x), want));
  }
  EXPECT_LE(worst, 2);
}

TEST(Math, ExpF32SpecialValues) {
  using ctorch::math::exp_f32;
  EXPECT_EQ(exp_f32(0.0f), 1.0f);
  EXPECT_TRUE(std::isinf(exp_f32(89.0f)));
  EXPECT_TRUE(std::isinf(exp_f32(INFINITY)));
  EXPECT_EQ(exp_f32(-INFINITY), 0.0f);
  EXPECT_EQ(exp_f32(-200.0f), 0.0f);
  EXPECT_TRUE(std::isnan(exp_f32(NAN)));
  float sub = exp_f32(-100.0f);  // subnormal result
  EXPECT_NEAR(sub / std::exp(-100.0f), 1.0f, 1e-3f);
}

TEST(Math, TanhF32WithinTwoUlpAndExactAtTheEdges) {
  using ctorch::math::tanh_f32;
  int64_t worst = 0;
  for (float x = -12.0f; x < 12.0f; x += 1.0f / 4096) {
    float want = static_cast<float>(std::tanh(static_cast<double>(x)));
    worst = std::max(worst, ulp_distance(tanh_f32(x), want));
  }
  for (float x = 1e-30f; x < 1.0f; x *= 1.01f)  // tiny arguments keep full relative precision
    worst = std::max(worst, ulp_distance(tanh_f32(x), static_cast<float>(std::tanh(double(x)))));
  EXPECT_LE(worst, 2);
  EXPECT_EQ(tanh_f32(INFINITY), 1.0f);
  EXPECT_EQ(tanh_f32(-INFINITY), -1.0f);
  EXPECT_EQ(tanh_f32(50.0f), 1.0f);
  EXPECT_TRUE(std::signbit(tanh_f32(-0.0f)));
  EXPECT_TRUE(std::isnan(tanh_f32(NAN)));
}
