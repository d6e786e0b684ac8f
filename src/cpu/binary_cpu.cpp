// CPU kernels for the binary ops of ops.def, and where().
#include <cmath>
#include "core/dispatch.h"
#include "cpu/kernels.h"
#include "cpu/loops.h"
#include "ops/math.h"

namespace ctorch {

namespace {
#define BINARY_ARITH(name, expr) \
  struct name##_fn { template <class T> T operator()(T a, T b) const { return expr; } };
#define BINARY_FLOAT(name, expr) BINARY_ARITH(name, expr)
#define BINARY_BITS(name, expr) BINARY_ARITH(name, expr)
#define BINARY_PRED(name, expr) \
  struct name##_fn { template <class T> bool operator()(T a, T b) const { return expr; } };
#include "ctorch/ops/ops.def"
}  // namespace

void cpu_binary(BinaryOp op, DType dtype, const TensorIter& it) {
  auto all = [&](const auto& f) { dispatch_all(dtype, f); };
  auto floating = [&](const auto& f) { dispatch_floating(dtype, op_name(op), f); };
  auto integral = [&](const auto& f) { dispatch_integral(dtype, op_name(op), f); };
  switch (op) {
#define CASE(name, dispatch, Out)                                                     \
  case BinaryOp::name:                                                                \
    return dispatch([&](auto tag) {                                                   \
      using S = typename decltype(tag)::type;                                         \
      binary_loop<Out, S>(it, name##_fn{});                                           \
    });
#define BINARY_ARITH(name, expr) CASE(name, all, S)
#define BINARY_FLOAT(name, expr) CASE(name, floating, S)
#define BINARY_BITS(name, expr) CASE(name, integral, S)
#define BINARY_PRED(name, expr) CASE(name, all, bool)
#include "ctorch/ops/ops.def"
#undef CASE
    default: CTORCH_FAIL("unknown binary op");
  }
}

void cpu_where(DType dtype, const TensorIter& it) {
  dispatch_all(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    it.for_each([&](char** d, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        bool c = *reinterpret_cast<const bool*>(d[1] + i * s[1]);
        *reinterpret_cast<S*>(d[0] + i * s[0]) =
            *reinterpret_cast<const S*>(d[c ? 2 : 3] + i * s[c ? 2 : 3]);
      }
    });
  });
}

}  // namespace ctorch
