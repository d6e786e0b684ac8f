// float16 and bfloat16 storage types; arithmetic happens in float (see opmath_t).
#pragma once
#include <cstdint>
#include <cstring>
#include "ctorch/core/macros.h"

namespace ctorch {

namespace detail {
CTORCH_HD inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
CTORCH_HD inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
}  // namespace detail

struct Half {
  uint16_t x = 0;
  Half() = default;
  CTORCH_HD Half(float f) : x(from_float(f)) {}
  CTORCH_HD operator float() const { return to_float(x); }

  CTORCH_HD static uint16_t from_float(float f) {
    uint32_t u = detail::f2u(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t absu = u & 0x7fffffffu;
    if (absu >= 0x7f800000u)  // inf or nan
      return static_cast<uint16_t>(sign | 0x7c00u | (absu > 0x7f800000u ? 0x200u : 0u));
    if (absu >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (absu < 0x38800000u) {  // subnormal half (or zero): round via float addition
      float v = detail::u2f(absu) + 0.5f;
      return static_cast<uint16_t>(sign | (detail::f2u(v) - 0x3f000000u));
    }
    uint32_t mant_odd = (absu >> 13) & 1u;  // round to nearest even
    absu += 0xc8000fffu + mant_odd;          // rebias exponent (-112 << 23) and round
    return static_cast<uint16_t>(sign | (absu >> 13));
  }
  CTORCH_HD static float to_float(uint16_t h) {
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f) return detail::u2f(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {  // zero or subnormal
      float v = static_cast<float>(mant) * 5.9604644775390625e-08f;  // 2^-24
      return sign ? -v : v;
    }
    return detail::u2f(sign | ((exp + 112) << 23) | (mant << 13));
  }
};

struct BFloat16 {
  uint16_t x = 0;
  BFloat16() = default;
  CTORCH_HD BFloat16(float f) : x(from_float(f)) {}
  CTORCH_HD operator float() const { return detail::u2f(static_cast<uint32_t>(x) << 16); }
  CTORCH_HD static uint16_t from_float(float f) {
    uint32_t u = detail::f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // quiet nan
    u += 0x7fffu + ((u >> 16) & 1u);                       // round to nearest even
    return static_cast<uint16_t>(u >> 16);
  }
};

// The type arithmetic is done in: float for the 16-bit floats, the type itself otherwise.
template <class T> struct OpMath { using type = T; };
template <> struct OpMath<Half> { using type = float; };
template <> struct OpMath<BFloat16> { using type = float; };
template <class T> using opmath_t = typename OpMath<T>::type;

}  // namespace ctorch
