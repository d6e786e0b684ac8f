// Scalar math for the elementwise kernels, defined for every dtype the op allows (CPU and CUDA).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include "ctorch/core/macros.h"

namespace ctorch::math {

template <class T> constexpr bool is_float_v = std::is_floating_point_v<T>;

// float exp written as plain arithmetic and selects so loops over it vectorize (glibc's expf does
// not): range reduction by ln 2, a degree-7 polynomial on [-ln2/2, ln2/2], scaling by 2^n in two
// steps so results down to the subnormal range stay exact. Max error ~1 ulp.
CTORCH_HD inline float exp_f32(float x) {
  const float xc = x < -104.0f ? -104.0f : (x > 88.8f ? 88.8f : x);
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t ni = static_cast<int32_t>(n), n1 = ni / 2, n2 = ni - n1;
  int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  memcpy(&s1, &b1, 4);
  memcpy(&s2, &b2, 4);
  y = y * s1 * s2;
  y = x > 88.72283935546875f ? __builtin_inff() : y;
  return x != x ? x : y;
}
template <class T> CTORCH_HD T exp(T x) {
  if constexpr (std::is_same_v<T, float>) return exp_f32(x); else return std::exp(x);
}

// float tanh on exp_f32 so loops vectorize too (glibc's tanhf does not): the odd Taylor series through
// x^15 where |x| < 0.55 (there 1 - 2 / (e^2|x| + 1) would cancel), that form elsewhere.
CTORCH_HD inline float tanh_f32(float x) {
  const float a = x < 0 ? -x : x, x2 = x * x;
  float p = -929569.0f / 638512875.0f;
  p = p * x2 + 21844.0f / 6081075.0f;
  p = p * x2 - 1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  const float small = x * (1.0f + x2 * p);  // keeps the sign of -0
  const float big = 1.0f - 2.0f / (exp_f32(2.0f * a) + 1.0f);
  return a < 0.55f ? small : (x < 0 ? -big : big);
}
template <class T> CTORCH_HD T tanh(T x) {
  if constexpr (std::is_same_v<T, float>) return tanh_f32(x); else return std::tanh(x);
}

template <class T> CTORCH_HD T floor(T x) { if constexpr (is_float_v<T>) return std::floor(x); else return x; }
template <class T> CTORCH_HD T ceil(T x) { if constexpr (is_float_v<T>) return std::ceil(x); else return x; }
// Round half to even, as PyTorch and NumPy do.
template <class T> CTORCH_HD T round(T x) { if constexpr (is_float_v<T>) return std::nearbyint(x); else return x; }
template <class T> CTORCH_HD T trunc(T x) { if constexpr (is_float_v<T>) return std::trunc(x); else return x; }
template <class T> CTORCH_HD T bit_not(T x) {
  if constexpr (std::is_same_v<T, bool>) return !x;
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(~x);
  else return x;  // not reached: the op rejects floating dtypes
}
template <class T> CTORCH_HD bool isinf(T x) { if constexpr (is_float_v<T>) return std::isinf(x); else return false; }
template <class T> CTORCH_HD bool isfinite(T x) { if constexpr (is_float_v<T>) return std::isfinite(x); else return true; }

// For bool, * is logical and (C++ would promote to int and warn).
template <class T> CTORCH_HD T mul(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) return a && b; else return a * b;
}

// NaN-propagating max/min.
template <class T> CTORCH_HD T maximum(T a, T b) {
  if constexpr (is_float_v<T>) { if (a != a) return a; if (b != b) return b; }
  return a > b ? a : b;
}
template <class T> CTORCH_HD T minimum(T a, T b) {
  if constexpr (is_float_v<T>) { if (a != a) return a; if (b != b) return b; }
  return a < b ? a : b;
}

// Integer division by zero is rejected before the kernel runs (ZeroDivisionError).
template <class T> CTORCH_HD T floor_divide(T a, T b) {
  if constexpr (is_float_v<T>) {
    if (b == 0) return a / b;
    T mod = std::fmod(a, b), div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div == 0) return std::copysign(T(0), a / b);
    T fl = std::floor(div);
    return div - fl > T(0.5) ? fl + 1 : fl;
  } else if constexpr (std::is_same_v<T, bool>) {
    return a;
  } else {
    if (b == 0) return 0;
    // INT_MIN / -1 traps (SIGFPE) on x86: negate with wraparound instead.
    if constexpr (std::is_signed_v<T>)
      if (b == T(-1)) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
    T q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  }
}
// Python's %: the result takes the divisor's sign.
template <class T> CTORCH_HD T remainder(T a, T b) {
  if constexpr (is_float_v<T>) {
    T m = std::fmod(a, b);
    if (m != 0 && ((b < 0) != (m < 0))) m += b;
    return m;
  } else if constexpr (std::is_same_v<T, bool>) {
    return false;
  } else {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) if (b == T(-1)) return 0;  // INT_MIN % -1 traps too
    T m = a % b;
    if (m != 0 && ((b < 0) != (m < 0))) m += b;
    return m;
  }
}
// C's fmod: the result takes the dividend's sign.
template <class T> CTORCH_HD T fmod(T a, T b) {
  if constexpr (is_float_v<T>) return std::fmod(a, b);
  else if constexpr (std::is_same_v<T, bool>) return false;
  else if constexpr (std::is_signed_v<T>) return b == 0 || b == T(-1) ? T(0) : T(a % b);
  else return b == 0 ? T(0) : T(a % b);
}
template <class T> CTORCH_HD T pow(T a, T b) {
  if constexpr (is_float_v<T>) {
    return std::pow(a, b);
  } else if constexpr (std::is_same_v<T, bool>) {
    return a || !b;
  } else {
    if (b < 0) return a == 1 ? T(1) : a == -1 ? T((b & 1) ? -1 : 1) : T(0);
    T result = 1;
    while (b) {
      if (b & 1) result = static_cast<T>(result * a);
      b = static_cast<T>(b >> 1);
      a = static_cast<T>(a * a);
    }
    return result;
  }
}
// Shifts by a negative or too-large amount give 0 (or -1 for negative values shifted right).
template <class T> CTORCH_HD T shift_left(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a && !b;
  } else {
    using U = std::make_unsigned_t<T>;
    if (b < 0 || b >= T(sizeof(T) * 8)) return 0;
    return static_cast<T>(static_cast<U>(a) << b);
  }
}
template <class T> CTORCH_HD T shift_right(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a && !b;
  } else {
    if (b < 0 || b >= T(sizeof(T) * 8)) return a < 0 ? T(-1) : T(0);
    return static_cast<T>(a >> b);
  }
}

}  // namespace ctorch::math
