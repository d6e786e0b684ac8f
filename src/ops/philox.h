// Philox4x32-10 and the draw formulas shared by the CPU random ops (src/ops/random.cpp) and their
// CUDA twins (kernels/random.cu): one definition, so a seed gives the same numbers on both.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include "ctorch/core/macros.h"

#if defined(__CUDACC__)
#define CTORCH_PHILOX_INLINE __forceinline__
#else
#define CTORCH_PHILOX_INLINE inline __attribute__((always_inline))
#endif

namespace ctorch::philox {

// One Philox4x32-10 block (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"):
// counter (c0..c3), key (k0, k1) -> four 32-bit words.
CTORCH_HD CTORCH_PHILOX_INLINE void block(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                          uint32_t k1, uint32_t out[4]) {
  for (int r = 0; r < 10; ++r) {
    if (r) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c0 = n0; c1 = static_cast<uint32_t>(p1); c2 = n2; c3 = static_cast<uint32_t>(p0);
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

// Block b of a call whose blocks start at `base` under the seed (k0, k1) = (lo, hi of seed):
// counter = (lo, hi of base + b, 0, 0). Every random op, CPU or CUDA, reads its numbers so.
CTORCH_HD CTORCH_PHILOX_INLINE void stream_block(uint32_t k0, uint32_t k1, uint64_t base, uint64_t b,
                                                 uint32_t w[4]) {
  uint64_t c = base + b;
  block(static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), 0, 0, k0, k1, w);
}

// The 64-bit value j (0 or 1) of a block: words 2j (high half) and 2j + 1.
CTORCH_HD inline uint64_t word64(const uint32_t* w, int j) {
  return (static_cast<uint64_t>(w[2 * j]) << 32) | w[2 * j + 1];
}
// 53-bit uniforms from a 64-bit value: in [0, 1), and in (0, 1] (safe under log).
CTORCH_HD inline double u53(uint64_t x) { return static_cast<double>(x >> 11) * 0x1p-53; }
CTORCH_HD inline double u53_open0(uint64_t x) { return static_cast<double>((x >> 11) + 1) * 0x1p-53; }
// 24-bit uniforms from one word, the same two ways.
CTORCH_HD inline float u24(uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }
CTORCH_HD inline float u24_open0(uint32_t w) { return static_cast<float>((w >> 8) + 1) * (1.0f / 16777216.0f); }

// ---- float Box-Muller helpers: branch-free, so the CPU compiler vectorizes whole chunks.

// log(x) for x in (0, 1] (normal floats): x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then
// log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its odd series to s^9.
CTORCH_HD CTORCH_PHILOX_INLINE float bm_log(float x) {
  uint32_t bits;
  memcpy(&bits, &x, 4);
  int32_t e = static_cast<int32_t>(bits >> 23) - 127;
  uint32_t mbits = (bits & 0x7fffffu) | 0x3f800000u;
  float m;
  memcpy(&m, &mbits, 4);
  bool big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e += big ? 1 : 0;
  float sx = (m - 1.0f) / (m + 1.0f), s2 = sx * sx;
  float poly = s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))));
  return static_cast<float>(e) * 0.693147180559945f + 2.0f * sx + 2.0f * sx * poly;
}

// sin and cos of 2*pi*u for u in [0, 1): u = q/4 + r with |r| <= 1/8, Taylor polynomials on
// [-pi/4, pi/4], then a rotation by q quarter turns.
CTORCH_HD CTORCH_PHILOX_INLINE void bm_sincos_2pi(float u, float& sn, float& cs) {
#if defined(__CUDA_ARCH__)
  float q = floorf(u * 4.0f + 0.5f);
#else
  float q = std::floor(u * 4.0f + 0.5f);
#endif
  int32_t qi = static_cast<int32_t>(q) & 3;
  float th = (u - q * 0.25f) * 6.28318530717959f, t2 = th * th;
  float s = th * (1.0f + t2 * (-1.0f / 6 + t2 * (1.0f / 120 + t2 * (-1.0f / 5040 + t2 * (1.0f / 362880)))));
  float c = 1.0f + t2 * (-0.5f + t2 * (1.0f / 24 + t2 * (-1.0f / 720 + t2 * (1.0f / 40320 + t2 * (-1.0f / 3628800)))));
  float s1 = (qi & 1) ? c : s, c1 = (qi & 1) ? s : c;
  sn = (qi & 2) ? -s1 : s1;
  cs = ((qi + 1) & 2) ? -c1 : c1;
}

// ---- the fills: one op's formula over a block's words, for the CUDA kernels (kernels/random.cu)
// and checked against the CPU ops on the host (cpp_tests/test_philox.cpp). random.cpp's CPU
// loops compute the same values in vectorizable form.

// The blocks a call claimed: block b is Philox(counter = base + b, key = (k0, k1) = the seed).
struct PhiloxKey {
  uint32_t k0 = 0, k1 = 0;
  uint64_t base = 0;
};

// Which CPU formula a fill reproduces (random.cpp's header describes the stream layout).
enum class RandomFillKind : int32_t {
  UniformFloat,     // 4 per block: lo + (w >> (32 - bits)) * scale in float (multiply, then add)
  UniformDouble,    // 2 per block: a + u53 * (b - a)
  NormalFloat,      // 4 per block: float Box-Muller (bm_log, bm_sincos_2pi); mean lo, std scale
  NormalDouble,     // 2 per block: double Box-Muller; mean a, std b
  LogNormal,        // exp(a + b * normal); float layout (4 per block, float math) unless dbl
  Exponential,      // -log(u in (0, 1]) / a; float layout unless dbl
  Cauchy,           // a + b * tan(pi (u - 1/2)); float layout unless dbl
  Geometric,        // 2 per block: max(1, ceil(log(u in (0, 1]) / a)), a = log1p(-p)
  Bernoulli,        // 2 per block: u53 < a
  BernoulliTensor,  // 2 per block: u53 < p[i] (the kernel reads p; fill_block does not)
  IntNarrow,        // 4 per block: from + w % range (range <= 2^32)
  IntWide,          // 2 per block: from + x % range (range = 0 meaning 2^64)
};

struct RandomFill {
  RandomFillKind kind = RandomFillKind::UniformFloat;
  bool dbl = false;  // LogNormal/Exponential/Cauchy: float64's layout (2 values per block)
  int bits = 24;     // UniformFloat
  float lo = 0, scale = 0;
  double a = 0, b = 0;
  int64_t from = 0;
  uint64_t range = 0;
};

// Values per Philox block of a fill (what the CPU op claims per block).
CTORCH_HD inline int random_fill_per_block(const RandomFill& f) {
  switch (f.kind) {
    case RandomFillKind::UniformFloat:
    case RandomFillKind::NormalFloat:
    case RandomFillKind::IntNarrow:
      return 4;
    case RandomFillKind::LogNormal:
    case RandomFillKind::Exponential:
    case RandomFillKind::Cauchy:
      return f.dbl ? 2 : 4;
    default:
      return 2;
  }
}

// Exactly rounded float/double operations that the CUDA compiler may not fuse into an FMA (the
// CPU build never fuses these either), so uniform_ matches bit for bit.
CTORCH_HD inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
CTORCH_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
CTORCH_HD inline double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
CTORCH_HD inline double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// Calls put(j, value) for the values j of one block (words w) of fill F, value being float,
// double or int64_t as the CPU op computes it (the caller converts it as to_elem does). Math
// functions are the platform's (CUDA's on the device, libm's on the host): equal to rounding.
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class Put>
CTORCH_HD CTORCH_PHILOX_INLINE void fill_block(const RandomFill& F, const uint32_t w[4], Put&& put) {
  constexpr double kPi = 3.141592653589793238463;
  constexpr double kTwoPi = 6.283185307179586476925;
  constexpr float kTwoPiF = 6.2831853f;
  switch (F.kind) {
    case RandomFillKind::UniformFloat:
      for (int j = 0; j < 4; ++j) {
        float x = static_cast<float>(static_cast<int32_t>(w[j] >> (32 - F.bits)));
        put(j, add_rn(F.lo, mul_rn(x, F.scale)));
      }
      break;
    case RandomFillKind::UniformDouble:
      for (int j = 0; j < 2; ++j) put(j, add_rn(F.a, mul_rn(u53(word64(w, j)), F.b - F.a)));
      break;
    case RandomFillKind::NormalFloat:
      for (int q = 0; q < 2; ++q) {
        float r = ::sqrtf(-2.0f * bm_log(u24_open0(w[2 * q])));
        float sn, cs;
        bm_sincos_2pi(u24(w[2 * q + 1]), sn, cs);
        put(2 * q, F.lo + F.scale * (r * cs));
        put(2 * q + 1, F.lo + F.scale * (r * sn));
      }
      break;
    case RandomFillKind::NormalDouble:
    case RandomFillKind::LogNormal:
      if (F.kind == RandomFillKind::NormalDouble || F.dbl) {
        double r = ::sqrt(-2.0 * ::log(u53_open0(word64(w, 0))));
        double th = kTwoPi * u53(word64(w, 1));
        double v0 = F.a + F.b * (r * ::cos(th)), v1 = F.a + F.b * (r * ::sin(th));
        bool ln = F.kind == RandomFillKind::LogNormal;
        put(0, ln ? ::exp(v0) : v0);
        put(1, ln ? ::exp(v1) : v1);
      } else {
        for (int j = 0; j < 4; j += 2) {
          float r = ::sqrtf(-2.0f * ::logf(u24_open0(w[j])));
          float th = kTwoPiF * u24(w[j + 1]);
          float c = r * ::cosf(th), s = r * ::sinf(th);
          put(j, ::exp(F.a + F.b * static_cast<double>(c)));
          put(j + 1, ::exp(F.a + F.b * static_cast<double>(s)));
        }
      }
      break;
    case RandomFillKind::Exponential:
      if (F.dbl) {
        for (int j = 0; j < 2; ++j) put(j, -::log(u53_open0(word64(w, j))) / F.a);
      } else {
        for (int j = 0; j < 4; ++j) put(j, -::log(static_cast<double>(u24_open0(w[j]))) / F.a);
      }
      break;
    case RandomFillKind::Cauchy:
      if (F.dbl) {
        for (int j = 0; j < 2; ++j) put(j, F.a + F.b * ::tan(kPi * (u53(word64(w, j)) - 0.5)));
      } else {
        for (int j = 0; j < 4; ++j) put(j, F.a + F.b * ::tan(kPi * (static_cast<double>(u24(w[j])) - 0.5)));
      }
      break;
    case RandomFillKind::Geometric:
      for (int j = 0; j < 2; ++j) put(j, ::fmax(1.0, ::ceil(::log(u53_open0(word64(w, j))) / F.a)));
      break;
    case RandomFillKind::Bernoulli:
      for (int j = 0; j < 2; ++j) put(j, u53(word64(w, j)) < F.a ? 1.0 : 0.0);
      break;
    case RandomFillKind::BernoulliTensor:
      break;
    case RandomFillKind::IntNarrow:
      for (int j = 0; j < 4; ++j) put(j, static_cast<int64_t>(static_cast<uint64_t>(F.from) + w[j] % F.range));
      break;
    case RandomFillKind::IntWide:
      for (int j = 0; j < 2; ++j) {
        uint64_t x = word64(w, j);
        put(j, static_cast<int64_t>(static_cast<uint64_t>(F.from) + (F.range ? x % F.range : x)));
      }
      break;
  }
}

}  // namespace ctorch::philox
