// Random: Philox4x32-10 known-answer vectors, seeding, state round trips, thread independence.
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include "cpu/parallel.h"
#include "ctorch/ctorch.h"

using namespace ctorch;

namespace {
bool same_values(const Tensor& a, const Tensor& b) {
  Tensor x = contiguous(a), y = contiguous(b);
  return x.numel() == y.numel() && x.dtype() == y.dtype() &&
         std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}
}  // namespace

// The test vectors published with Random123 (kat_vectors, philox4x32 with 10 rounds).
TEST(Random, PhiloxKnownAnswers) {
  using A4 = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (A4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (A4{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (A4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Random, SeedAndStateRoundTrip) {
  auto g = std::make_shared<Generator>();
  g->manual_seed(42);
  Tensor a = rand({100}, DType::Float32, g);
  EXPECT_EQ(g->offset(), 25u);  // four float32 values per Philox block
  Tensor state = g->get_state();
  Tensor b = randn({33}, DType::Float64, g);
  g->set_state(state);
  EXPECT_TRUE(same_values(randn({33}, DType::Float64, g), b));
  g->manual_seed(42);
  EXPECT_TRUE(same_values(rand({100}, DType::Float32, g), a));
  g->manual_seed(43);
  EXPECT_FALSE(same_values(rand({100}, DType::Float32, g), a));
}

TEST(Random, IndependentOfThreadCount) {
  int n = get_num_threads();
  auto g = std::make_shared<Generator>(7);
  set_num_threads(1);
  Tensor a = randn({200000}, DType::Float32, g);
  Tensor ia = randint(-5, 1000, {100000}, DType::Int64, g);
  set_num_threads(4);
  g->manual_seed(7);
  Tensor b = randn({200000}, DType::Float32, g);
  Tensor ib = randint(-5, 1000, {100000}, DType::Int64, g);
  set_num_threads(n);
  EXPECT_TRUE(same_values(a, b));
  EXPECT_TRUE(same_values(ia, ib));
}

// The stream layout a CUDA twin must reproduce: 32-bit draw j of a call is word j % 4 of block
// (offset + j / 4), with counter = (lo, hi of the block index, 0, 0) and key = (lo, hi of seed).
TEST(Random, StreamLayoutMatchesPhilox) {
  const uint64_t seed = 0x123456789abcdef0ULL;
  auto g = std::make_shared<Generator>(seed);
  rand({7}, DType::Float32, g);  // uses 2 blocks
  ASSERT_EQ(g->offset(), 2u);
  const int64_t n = 8 * 4 * 3 + 5;  // several vector lanes of blocks and a ragged tail
  Tensor t = randint(0, int64_t(1) << 32, {n}, DType::Int64, g);
  const int64_t* p = t.data<int64_t>();
  for (int64_t j = 0; j < n; ++j) {
    uint64_t block = 2 + j / 4;
    auto w = philox4x32_10({uint32_t(block), uint32_t(block >> 32), 0, 0},
                           {uint32_t(seed), uint32_t(seed >> 32)});
    ASSERT_EQ(p[j], int64_t(w[j % 4])) << "draw " << j;
  }
}

// float normals use vectorized polynomial log/sincos: they must agree with a double-precision
// Box-Muller over the same Philox words to float accuracy.
TEST(Random, FloatNormalsMatchReferenceBoxMuller) {
  const uint64_t seed = 99;
  auto g = std::make_shared<Generator>(seed);
  const int64_t n = 4 * 8 * 50 + 3;
  Tensor t = randn({n}, DType::Float32, g);
  const float* p = t.data<float>();
  for (int64_t j = 0; j < n; ++j) {
    uint64_t block = j / 4;
    auto w = philox4x32_10({uint32_t(block), uint32_t(block >> 32), 0, 0},
                           {uint32_t(seed), uint32_t(seed >> 32)});
    int pair = static_cast<int>(j % 4) / 2;
    double u1 = ((w[2 * pair] >> 8) + 1) / 16777216.0, u2 = (w[2 * pair + 1] >> 8) / 16777216.0;
    double r = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
    double want = (j % 2 == 0) ? r * std::cos(th) : r * std::sin(th);
    ASSERT_NEAR(p[j], want, 3e-6 * std::max(1.0, std::fabs(want))) << "element " << j;
  }
}
