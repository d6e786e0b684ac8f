// The shared Philox header (src/ops/philox.h): known answers, and its per-block fills (what the
// CUDA kernels run) reproducing the CPU random ops value for value, checked here on the host.
#include <gtest/gtest.h>
#include <cmath>
#include <vector>
#include "ctorch/ctorch.h"
#include "ctorch/cuda.h"
#include "ops/philox.h"

using namespace ctorch;
using philox::RandomFill;
using philox::RandomFillKind;

namespace {

std::array<uint32_t, 4> kat(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  std::array<uint32_t, 4> r;
  philox::block(c[0], c[1], c[2], c[3], k[0], k[1], r.data());
  return r;
}

// Values 0..n-1 of fill f over the blocks of a call that starts at block `base` under `seed`,
// converted to T as the CPU op does (through opmath_t).
template <class T>
std::vector<T> fill_values(const RandomFill& f, uint64_t seed, uint64_t base, int64_t n) {
  std::vector<T> r(static_cast<size_t>(n));
  const int k = philox::random_fill_per_block(f);
  for (int64_t b = 0; b * k < n; ++b) {
    uint32_t w[4];
    philox::stream_block(static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), base,
                         static_cast<uint64_t>(b), w);
    philox::fill_block(f, w, [&](int j, auto v) {
      int64_t i = b * k + j;
      if (i < n) r[static_cast<size_t>(i)] = static_cast<T>(static_cast<opmath_t<T>>(v));
    });
  }
  return r;
}

template <class T>
std::vector<T> values(const Tensor& t) {
  Tensor c = contiguous(t);
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

RandomFill fill(RandomFillKind kind, bool dbl = false, double a = 0, double b = 0) {
  RandomFill f;
  f.kind = kind;
  f.dbl = dbl;
  f.a = a;
  f.b = b;
  return f;
}

constexpr uint64_t kSeed = 0x123456789abcdefULL;
constexpr int64_t kN = 1001;  // not a multiple of 4: the last block is partly used

GeneratorPtr fresh() { return std::make_shared<Generator>(kSeed); }

}  // namespace

// The test vectors published with Random123 (kat_vectors: philox4x32, 10 rounds).
TEST(Philox, KnownAnswers) {
  using A4 = std::array<uint32_t, 4>;
  EXPECT_EQ(kat({0, 0, 0, 0}, {0, 0}), (A4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(kat({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (A4{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(kat({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (A4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
  // The exported function is the header's.
  EXPECT_EQ(philox4x32_10({1, 2, 3, 4}, {5, 6}), kat({1, 2, 3, 4}, {5, 6}));
}

TEST(Philox, StreamBlockCounterLayout) {
  uint32_t a[4], b[4];
  uint64_t base = 0xfffffffeULL;  // crosses into the counter's high word
  philox::stream_block(7, 9, base, 3, a);
  philox::block(1, 1, 0, 0, 7, 9, b);  // base + 3 = 2^32 + 1
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a[i], b[i]);
}

TEST(Philox, UniformHelpers) {
  uint32_t w[4] = {0xffffffffu, 0xffffffffu, 0, 0};
  EXPECT_LT(philox::u53(philox::word64(w, 0)), 1.0);
  EXPECT_EQ(philox::u53_open0(philox::word64(w, 0)), 1.0);
  EXPECT_EQ(philox::u53(philox::word64(w, 1)), 0.0);
  EXPECT_GT(philox::u53_open0(philox::word64(w, 1)), 0.0);
  EXPECT_LT(philox::u24(0xffffffffu), 1.0f);
  EXPECT_EQ(philox::u24_open0(0xffffffffu), 1.0f);
  EXPECT_GT(philox::u24_open0(0), 0.0f);
}

TEST(Philox, BoxMullerHelpersAccuracy) {
  for (float x : {1e-7f, 1e-3f, 0.3f, 0.70710678f, 0.9f, 0.999999f, 1.0f})
    EXPECT_NEAR(philox::bm_log(x), std::log(x), 2e-6f * (1 + std::fabs(std::log(x)))) << x;
  for (int i = 0; i < 1000; ++i) {
    float u = i / 1000.0f, s, c;
    philox::bm_sincos_2pi(u, s, c);
    EXPECT_NEAR(s, std::sin(6.283185307179586 * u), 2e-6);
    EXPECT_NEAR(c, std::cos(6.283185307179586 * u), 2e-6);
  }
}

// Each fill (the CUDA kernels' formulas) gives what the CPU op gives from the same blocks.
TEST(Philox, FillsMatchCpuOps) {
  {  // uniform_, float32 (24 bits), float16 (11 bits), float64
    Tensor t = empty({kN}, DType::Float32);
    uniform_(t, -2.0, 3.0, fresh());
    RandomFill f = fill(RandomFillKind::UniformFloat);
    f.bits = 24;
    f.lo = -2.0f;
    f.scale = 5.0f / 16777216.0f;
    EXPECT_EQ(values<float>(t), fill_values<float>(f, kSeed, 0, kN));
    Tensor h = empty({kN}, DType::Float16);
    uniform_(h, 0.0, 1.0, fresh());
    f.bits = 11;
    f.lo = 0.0f;
    f.scale = 1.0f / 2048.0f;
    std::vector<Half> hv = values<Half>(h), he = fill_values<Half>(f, kSeed, 0, kN);
    for (int64_t i = 0; i < kN; ++i) ASSERT_EQ(hv[i].x, he[i].x) << i;
    Tensor d = empty({kN}, DType::Float64);
    uniform_(d, -1.0, 0.5, fresh());
    EXPECT_EQ(values<double>(d), fill_values<double>(fill(RandomFillKind::UniformDouble, true, -1.0, 0.5), kSeed, 0, kN));
  }
  {  // normal_: float64 bit for bit (same libm); float32 to rounding (the CPU may fuse multiply-adds)
    Tensor d = empty({kN}, DType::Float64);
    normal_(d, 1.5, 2.0, fresh());
    EXPECT_EQ(values<double>(d), fill_values<double>(fill(RandomFillKind::NormalDouble, true, 1.5, 2.0), kSeed, 0, kN));
    Tensor t = empty({kN}, DType::Float32);
    normal_(t, 1.5, 2.0, fresh());
    RandomFill f = fill(RandomFillKind::NormalFloat);
    f.lo = 1.5f;
    f.scale = 2.0f;
    std::vector<float> got = values<float>(t), want = fill_values<float>(f, kSeed, 0, kN);
    for (int64_t i = 0; i < kN; ++i) ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
  }
  for (DType dt : {DType::Float32, DType::Float64}) {
    bool dbl = dt == DType::Float64;
    Tensor t = empty({kN}, dt);
    log_normal_(t, 0.5, 0.25, fresh());
    Tensor e = to(t, DType::Float64, Device());
    std::vector<double> want = fill_values<double>(fill(RandomFillKind::LogNormal, dbl, 0.5, 0.25), kSeed, 0, kN);
    if (!dbl) for (double& x : want) x = static_cast<float>(x);
    EXPECT_EQ(values<double>(e), want) << "log_normal_ " << dtype_name(dt);
    exponential_(t, 3.0, fresh());
    want = fill_values<double>(fill(RandomFillKind::Exponential, dbl, 3.0), kSeed, 0, kN);
    if (!dbl) for (double& x : want) x = static_cast<float>(x);
    EXPECT_EQ(values<double>(to(t, DType::Float64, Device())), want) << "exponential_ " << dtype_name(dt);
    cauchy_(t, -1.0, 0.5, fresh());
    want = fill_values<double>(fill(RandomFillKind::Cauchy, dbl, -1.0, 0.5), kSeed, 0, kN);
    if (!dbl) for (double& x : want) x = static_cast<float>(x);
    EXPECT_EQ(values<double>(to(t, DType::Float64, Device())), want) << "cauchy_ " << dtype_name(dt);
  }
  {  // geometric_ and bernoulli_ (the float64 layout for every dtype)
    Tensor t = empty({kN}, DType::Int64);
    geometric_(t, 0.3, fresh());
    EXPECT_EQ(values<int64_t>(t), fill_values<int64_t>(fill(RandomFillKind::Geometric, true, std::log1p(-0.3)), kSeed, 0, kN));
    Tensor b = empty({kN}, DType::Float32);
    bernoulli_(b, 0.25, fresh());
    EXPECT_EQ(values<float>(b), fill_values<float>(fill(RandomFillKind::Bernoulli, true, 0.25), kSeed, 0, kN));
  }
  {  // integers: a narrow range (one word each), a wide one and the full int64 range
    Tensor t = empty({kN}, DType::Int32);
    random_(t, -7, 1000, fresh());
    RandomFill f = fill(RandomFillKind::IntNarrow);
    f.from = -7;
    f.range = 1007;
    EXPECT_EQ(values<int32_t>(t), fill_values<int32_t>(f, kSeed, 0, kN));
    Tensor w = empty({kN}, DType::Int64);
    random_(w, -(int64_t(1) << 40), int64_t(1) << 41, fresh());
    f = fill(RandomFillKind::IntWide);
    f.from = -(int64_t(1) << 40);
    f.range = (uint64_t(1) << 41) + (uint64_t(1) << 40);
    EXPECT_EQ(values<int64_t>(w), fill_values<int64_t>(f, kSeed, 0, kN));
    random_(w, std::numeric_limits<int64_t>::min(), std::nullopt, fresh());
    f.from = std::numeric_limits<int64_t>::min();
    f.range = 0;
    EXPECT_EQ(values<int64_t>(w), fill_values<int64_t>(f, kSeed, 0, kN));
  }
}

// A later call continues where the last one stopped: its blocks start at the generator's offset.
TEST(Philox, FillsFollowTheOffset) {
  GeneratorPtr g = fresh();
  Tensor a = empty({kN}, DType::Float64);
  uniform_(a, 0, 1, g);
  uint64_t base = g->offset();
  EXPECT_EQ(base, static_cast<uint64_t>((kN + 1) / 2));
  uniform_(a, 0, 1, g);
  EXPECT_EQ(values<double>(a), fill_values<double>(fill(RandomFillKind::UniformDouble, true, 0, 1), kSeed, base, kN));
}

TEST(Philox, GeneratorDevices) {
  auto cg = std::make_shared<Generator>(5, Device(DeviceType::CUDA, 0));
  EXPECT_TRUE(cg->device().is_cuda());
  EXPECT_TRUE(default_generator()->device().is_cpu());
  // A CPU tensor cannot draw from a CUDA generator (PyTorch's check).
  EXPECT_THROW(rand({3}, DType::Float32, cg), Error);
  if (cuda::device_count() == 0) {
    EXPECT_THROW(cuda_default_generator(-1), Error);
  } else {
    manual_seed(99);
    for (int i = 0; i < cuda::device_count(); ++i) EXPECT_EQ(cuda_default_generator(i)->initial_seed(), 99u);
  }
  manual_seed(99);
  EXPECT_EQ(default_generator()->initial_seed(), 99u);
}
