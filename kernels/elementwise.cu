// CUDA kernels for the unary and binary ops of ops.def, where() and dtype conversion: the twins of
// src/cpu/unary_cpu.cpp and binary_cpu.cpp (same functors, dtype sets and conversions).
// ops.def and math.h are written for every dtype: `x < 0` on unsigned types is intended.
#pragma nv_diag_suppress 186
#pragma nv_diag_suppress 514
#include <cstdint>
#include <type_traits>
#include <utility>
#include "kernels/elementwise.h"
#include "kernels/elementwise_loops.cuh"
#include "ops/math.h"

namespace ctorch {

namespace {
using cuda_loops::launch;

// The ops.def functors, as on the CPU but callable on the device. T is the math type.
#define UNARY_FLOAT(name, expr) \
  struct name##_fn { template <class T> CTORCH_HD T operator()(T x) const { return expr; } };
#define UNARY_SAME(name, expr) UNARY_FLOAT(name, expr)
#define UNARY_PRED(name, expr) \
  struct name##_fn { template <class T> CTORCH_HD bool operator()(T x) const { return expr; } };
#define BINARY_ARITH(name, expr) \
  struct name##_fn { template <class T> CTORCH_HD T operator()(T a, T b) const { return expr; } };
#define BINARY_FLOAT(name, expr) BINARY_ARITH(name, expr)
#define BINARY_BITS(name, expr) BINARY_ARITH(name, expr)
#define BINARY_PRED(name, expr) \
  struct name##_fn { template <class T> CTORCH_HD bool operator()(T a, T b) const { return expr; } };
#include "ctorch/ops/ops.def"

// Storage in, storage out: loads convert to the math type (float for 16-bit floats), as
// unary_loop/binary_loop do.
template <class Out, class Op>
struct Elem {
  Op op;
  template <class... X>
  __device__ Out operator()(X... x) const {
    return static_cast<Out>(op(static_cast<opmath_t<X>>(x)...));
  }
};

template <class S>
struct WhereElem {
  __device__ S operator()(bool c, S a, S b) const { return c ? a : b; }
};

// cpu_copy's conversion: to bool is != 0; otherwise through the destination's math type.
// Floats to the narrow integer types go through int64 (PyTorch's c10::convert does so for uint8):
// a float-to-uint8 cast of a negative value is undefined in C++, x86 wraps it (-1.0 -> 255, what
// the CPU kernel gives) while the GPU saturates; the int64 step makes both wrap.
template <class D, class S>
struct CastElem {
  __device__ D operator()(S s) const {
    using M = opmath_t<S>;
    M x = static_cast<M>(s);
    if constexpr (std::is_same_v<D, S>) {
      return s;
    } else if constexpr (std::is_same_v<D, bool>) {
      return x != M(0);
    } else if constexpr (std::is_floating_point_v<M> && std::is_integral_v<D> && sizeof(D) < 4) {
      return static_cast<D>(static_cast<int64_t>(x));
    } else {
      return static_cast<D>(static_cast<opmath_t<D>>(x));
    }
  }
};

void unary_impl(UnaryOp op, DType dtype, const TensorIter& it) {
  switch (op) {
#define UNARY_FLOAT(name, expr)                                                       \
  case UnaryOp::name:                                                                 \
    return dispatch_floating(dtype, #name, [&](auto tag) {                            \
      using S = typename decltype(tag)::type;                                         \
      launch<S, S>(it, Elem<S, name##_fn>{});                                         \
    });
#define UNARY_SAME(name, expr)                                                        \
  case UnaryOp::name:                                                                 \
    return dispatch_all(dtype, [&](auto tag) {                                        \
      using S = typename decltype(tag)::type;                                         \
      launch<S, S>(it, Elem<S, name##_fn>{});                                         \
    });
#define UNARY_PRED(name, expr)                                                        \
  case UnaryOp::name:                                                                 \
    return dispatch_all(dtype, [&](auto tag) {                                        \
      using S = typename decltype(tag)::type;                                         \
      launch<bool, S>(it, Elem<bool, name##_fn>{});                                   \
    });
#include "ctorch/ops/ops.def"
    default: CTORCH_FAIL("unknown unary op");
  }
}

void binary_impl(BinaryOp op, DType dtype, const TensorIter& it) {
  auto all = [&](const auto& f) { dispatch_all(dtype, f); };
  auto floating = [&](const auto& f) { dispatch_floating(dtype, op_name(op), f); };
  auto integral = [&](const auto& f) { dispatch_integral(dtype, op_name(op), f); };
  switch (op) {
#define CASE(name, dispatch, Out)                                                     \
  case BinaryOp::name:                                                                \
    return dispatch([&](auto tag) {                                                   \
      using S = typename decltype(tag)::type;                                         \
      launch<Out, S, S>(it, Elem<Out, name##_fn>{});                                  \
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

void where_impl(DType dtype, const TensorIter& it) {
  dispatch_all(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    launch<S, bool, S, S>(it, WhereElem<S>{});
  });
}

void copy_impl(DType dst, DType src, const TensorIter& it) {
  const int64_t n = it.numel();
  if (n == 0) return;
  // Same dtype, both dense: one byte copy.
  if (dst == src && cuda_loops::all_dense(it, element_size(dst))) {
    CTORCH_CUDA_CHECK(cudaMemcpyAsync(it.data(0), it.data(1), size_t(n) * element_size(dst),
                                      cudaMemcpyDeviceToDevice, cuda::stream()));
    return;
  }
  dispatch_all(dst, [&](auto dtag) {
    using D = typename decltype(dtag)::type;
    dispatch_all(src, [&](auto stag) {
      using S = typename decltype(stag)::type;
      launch<D, S>(it, CastElem<D, S>{});
    });
  });
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_unary, unary_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_binary, binary_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_where, where_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_copy, copy_impl);

}  // namespace ctorch
