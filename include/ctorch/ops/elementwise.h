// Elementwise ops (generated from ops.def) and the composites built on them.
#pragma once
#include <optional>
#include <string>
#include "ctorch/core/tensor.h"

namespace ctorch {

enum class UnaryOp : int {
#define UNARY_FLOAT(name, expr) name,
#define UNARY_SAME(name, expr) name,
#define UNARY_PRED(name, expr) name,
#include "ctorch/ops/ops.def"
  kCount
};
enum class BinaryOp : int {
#define BINARY_ARITH(name, expr) name,
#define BINARY_FLOAT(name, expr) name,
#define BINARY_BITS(name, expr) name,
#define BINARY_PRED(name, expr) name,
#include "ctorch/ops/ops.def"
  kCount
};
CTORCH_API const char* op_name(UnaryOp op);
CTORCH_API const char* op_name(BinaryOp op);

// The generic entries: `out` (optional) receives the result (in-place when it is an input).
CTORCH_API Tensor unary(UnaryOp op, const Tensor& x, const Tensor* out = nullptr);
CTORCH_API Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor* out = nullptr);

// exp(x), add(a, b), add(a, 2.0), ... and in-place exp_(x), add_(a, b).
#define UNARY_FLOAT(name, expr)                                                               \
  inline Tensor name(const Tensor& x) { return unary(UnaryOp::name, x); }                    \
  inline Tensor& name##_(Tensor& x) { unary(UnaryOp::name, x, &x); return x; }
#define UNARY_SAME(name, expr) UNARY_FLOAT(name, expr)
#define UNARY_PRED(name, expr) inline Tensor name(const Tensor& x) { return unary(UnaryOp::name, x); }
#define BINARY_ARITH(name, expr)                                                              \
  inline Tensor name(const Tensor& a, const Tensor& b) { return binary(BinaryOp::name, a, b); } \
  inline Tensor name(const Tensor& a, const Scalar& b) {                                      \
    return binary(BinaryOp::name, a, wrapped_scalar(b, a.device()));                          \
  }                                                                                           \
  inline Tensor& name##_(Tensor& a, const Tensor& b) { binary(BinaryOp::name, a, b, &a); return a; } \
  inline Tensor& name##_(Tensor& a, const Scalar& b) {                                        \
    binary(BinaryOp::name, a, wrapped_scalar(b, a.device()), &a);                             \
    return a;                                                                                 \
  }
#define BINARY_FLOAT(name, expr) BINARY_ARITH(name, expr)
#define BINARY_BITS(name, expr) BINARY_ARITH(name, expr)
#define BINARY_PRED(name, expr) BINARY_ARITH(name, expr)
#include "ctorch/ops/ops.def"

// add/sub with alpha: a + alpha * b.
CTORCH_API Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha);
CTORCH_API Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha);
// rounding_mode: none (true division), "trunc" or "floor".
CTORCH_API Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode);
CTORCH_API Tensor round(const Tensor& x, int64_t decimals);
CTORCH_API Tensor gelu(const Tensor& x, const std::string& approximate);  // "none" | "tanh"
CTORCH_API Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
CTORCH_API Tensor clamp(const Tensor& x, const std::optional<Tensor>& min, const std::optional<Tensor>& max);
CTORCH_API Tensor lerp(const Tensor& a, const Tensor& b, const Tensor& weight);
CTORCH_API Tensor addcmul(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value = 1);
CTORCH_API Tensor addcdiv(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value = 1);
CTORCH_API Tensor nan_to_num(const Tensor& x, std::optional<double> nan = std::nullopt,
                             std::optional<double> posinf = std::nullopt,
                             std::optional<double> neginf = std::nullopt);
// The dtype PyTorch gives an op over these operands (wrapped numbers are weak).
CTORCH_API DType result_type(const std::vector<Tensor>& operands);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace ctorch
