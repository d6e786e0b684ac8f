// CPU kernels for the unary ops of ops.def, and dtype conversion.
#include <cmath>
#include "core/dispatch.h"
#include "cpu/kernels.h"
#include "cpu/loops.h"
#include "ops/math.h"

namespace ctorch {

namespace {
#define UNARY_FLOAT(name, expr) \
  struct name##_fn { template <class T> T operator()(T x) const { return expr; } };
#define UNARY_SAME(name, expr) UNARY_FLOAT(name, expr)
#define UNARY_PRED(name, expr) \
  struct name##_fn { template <class T> bool operator()(T x) const { return expr; } };
#include "ctorch/ops/ops.def"
}  // namespace

void cpu_unary(UnaryOp op, DType dtype, const TensorIter& it) {
  switch (op) {
#define UNARY_FLOAT(name, expr)                                                       \
  case UnaryOp::name:                                                                 \
    return dispatch_floating(dtype, #name, [&](auto tag) {                            \
      using S = typename decltype(tag)::type;                                         \
      unary_loop<S, S>(it, name##_fn{});                                              \
    });
#define UNARY_SAME(name, expr)                                                        \
  case UnaryOp::name:                                                                 \
    return dispatch_all(dtype, [&](auto tag) {                                        \
      using S = typename decltype(tag)::type;                                         \
      unary_loop<S, S>(it, name##_fn{});                                              \
    });
#define UNARY_PRED(name, expr)                                                        \
  case UnaryOp::name:                                                                 \
    return dispatch_all(dtype, [&](auto tag) {                                        \
      using S = typename decltype(tag)::type;                                         \
      unary_loop<bool, S>(it, name##_fn{});                                           \
    });
#include "ctorch/ops/ops.def"
    default: CTORCH_FAIL("unknown unary op");
  }
}

void cpu_copy(DType dst, DType src, const TensorIter& it) {
  dispatch_all(dst, [&](auto dtag) {
    using D = typename decltype(dtag)::type;
    dispatch_all(src, [&](auto stag) {
      using S = typename decltype(stag)::type;
      if constexpr (std::is_same_v<D, S>) {
        unary_loop<D, S>(it, [](auto x) { return x; });
      } else if constexpr (std::is_same_v<D, bool>) {
        unary_loop<D, S>(it, [](auto x) { return x != decltype(x)(0); });
      } else {
        // Through the wider of the two math types, so e.g. int64 -> float16 rounds once.
        unary_loop<D, S>(it, [](auto x) { return static_cast<opmath_t<D>>(x); });
      }
    });
  });
}

}  // namespace ctorch
