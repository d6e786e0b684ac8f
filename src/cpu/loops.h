// The 1-D inner loops every elementwise kernel instantiates, with contiguous fast paths the
// compiler can vectorize. S is the storage type, M the math type (float for 16-bit floats).
#pragma once
#include <type_traits>
#include "core/tensor_iter.h"
#include "ctorch/core/half.h"

namespace ctorch {

// Float math (exp, sigmoid, ...) is compute-bound: build the contiguous loop twice, for AVX2 and
// for baseline x86-64, and let the loader pick (the wheel must run on CPUs without AVX2).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CTORCH_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CTORCH_SIMD_CLONES
#endif

template <class Out, class In, class F>
CTORCH_SIMD_CLONES void unary_contiguous_simd(Out* o, const In* x, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) o[i] = static_cast<Out>(f(static_cast<opmath_t<In>>(x[i])));
}

template <class Out, class In, class F>
void unary_loop(const TensorIter& it, const F& f) {
  using M = opmath_t<In>;
  it.for_each([&](char** d, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(Out) && s[1] == sizeof(In)) {
      Out* o = reinterpret_cast<Out*>(d[0]);
      const In* x = reinterpret_cast<const In*>(d[1]);
      // float math, and conversions to float (a bool mask becoming a float factor)
      if constexpr (std::is_floating_point_v<M> || std::is_floating_point_v<Out>) {
        unary_contiguous_simd(o, x, n, f);
      } else {
        for (int64_t i = 0; i < n; ++i) o[i] = static_cast<Out>(f(static_cast<M>(x[i])));
      }
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(d[0] + i * s[0]) =
            static_cast<Out>(f(static_cast<M>(*reinterpret_cast<const In*>(d[1] + i * s[1]))));
    }
  });
}

template <class Out, class In, class F>
void binary_loop(const TensorIter& it, const F& f) {
  using M = opmath_t<In>;
  it.for_each([&](char** d, const int64_t* s, int64_t n) {
    Out* o = reinterpret_cast<Out*>(d[0]);
    const In* a = reinterpret_cast<const In*>(d[1]);
    const In* b = reinterpret_cast<const In*>(d[2]);
    constexpr int64_t so = sizeof(Out), si = sizeof(In);
    if (s[0] == so && s[1] == si && s[2] == si) {
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<Out>(f(M(a[i]), M(b[i])));
    } else if (s[0] == so && s[1] == si && s[2] == 0) {
      const M bv = M(*b);
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<Out>(f(M(a[i]), bv));
    } else if (s[0] == so && s[1] == 0 && s[2] == si) {
      const M av = M(*a);
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<Out>(f(av, M(b[i])));
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(d[0] + i * s[0]) = static_cast<Out>(
            f(M(*reinterpret_cast<const In*>(d[1] + i * s[1])),
              M(*reinterpret_cast<const In*>(d[2] + i * s[2]))));
    }
  });
}

}  // namespace ctorch
