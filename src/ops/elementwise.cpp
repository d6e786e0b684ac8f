// Elementwise ops: dtype rules and checks for every ops.def entry, plus the composites.
#include "ctorch/ops/elementwise.h"
#include <cmath>
#include <limits>
#include "autograd/function.h"
#include "core/tensor_iter.h"
#include "cpu/kernels.h"
#include "ctorch/ops.h"
#include "kernels/elementwise.h"
#include "ops/elementwise_run.h"

namespace ctorch {

namespace {
enum class Kind { Float, Same, Pred, Arith, FloatResult, Bits };

const char* const kUnaryNames[] = {
#define UNARY_FLOAT(name, expr) #name,
#define UNARY_SAME(name, expr) #name,
#define UNARY_PRED(name, expr) #name,
#include "ctorch/ops/ops.def"
};
const Kind kUnaryKinds[] = {
#define UNARY_FLOAT(name, expr) Kind::Float,
#define UNARY_SAME(name, expr) Kind::Same,
#define UNARY_PRED(name, expr) Kind::Pred,
#include "ctorch/ops/ops.def"
};
const char* const kBinaryNames[] = {
#define BINARY_ARITH(name, expr) #name,
#define BINARY_FLOAT(name, expr) #name,
#define BINARY_BITS(name, expr) #name,
#define BINARY_PRED(name, expr) #name,
#include "ctorch/ops/ops.def"
};
const Kind kBinaryKinds[] = {
#define BINARY_ARITH(name, expr) Kind::Arith,
#define BINARY_FLOAT(name, expr) Kind::FloatResult,
#define BINARY_BITS(name, expr) Kind::Bits,
#define BINARY_PRED(name, expr) Kind::Pred,
#include "ctorch/ops/ops.def"
};

Tensor cast(const Tensor& t, DType dtype) { return t.dtype() == dtype ? t : to(t, dtype, t.device()); }

// PyTorch's three priority classes: tensors with dims, 0-d tensors, then wrapped numbers, where
// a lower class only matters when it brings a higher category (bool < integer < float).
DType combine_categories(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return *lower;
  if (!lower) return *higher;
  if (is_floating(*higher)) return *higher;
  if (*higher == DType::Bool || is_floating(*lower)) return promote_types(*higher, *lower);
  return *higher;
}
}  // namespace

const char* op_name(UnaryOp op) { return kUnaryNames[static_cast<int>(op)]; }
const char* op_name(BinaryOp op) { return kBinaryNames[static_cast<int>(op)]; }

namespace {
// Accumulates operands into PyTorch's three priority classes; no allocation (binary ops call it).
struct ResultTypeState {
  std::optional<DType> dim_result, zero_result, wrapped_result;

  void add(const Tensor& t) {
    auto update = [](std::optional<DType>& r, DType d) { r = r ? promote_types(*r, d) : d; };
    if (t.impl()->is_wrapped_number) {
      update(wrapped_result, is_floating(t.dtype()) ? default_dtype() : t.dtype());
    } else if (t.dim() == 0) {
      update(zero_result, t.dtype());
    } else {
      update(dim_result, t.dtype());
    }
  }
  DType result() const {
    CTORCH_CHECK(dim_result || zero_result || wrapped_result, "[result_type] no operands");
    if (!zero_result && !wrapped_result) return *dim_result;
    DType low = !zero_result ? *wrapped_result : combine_categories(zero_result, wrapped_result);
    return combine_categories(dim_result, low);
  }
};
}  // namespace

DType result_type(const std::vector<Tensor>& operands) {
  ResultTypeState state;
  for (const Tensor& t : operands) state.add(t);
  return state.result();
}

// ---- autograd: node names and backward formulas (g: the output's gradient, y: the output)

namespace {
// "gelu_tanh" -> "GeluTanhBackward0", PyTorch's node naming.
std::vector<std::string> backward_names(const char* const* names, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    std::string s;
    bool upper = true;
    for (const char* c = names[i]; *c; ++c) {
      if (*c == '_') { upper = true; continue; }
      s += upper ? static_cast<char>(std::toupper(*c)) : *c;
      upper = std::isdigit(*c);  // log1p -> Log1P
    }
    out.push_back(s + "Backward0");
  }
  return out;
}
const char* backward_name(UnaryOp op) {
  static const auto names = backward_names(kUnaryNames, std::size(kUnaryNames));
  if (op == UnaryOp::gelu_tanh) return "GeluBackward0";  // gelu(approximate='tanh') in PyTorch
  if (op == UnaryOp::square) return "PowBackward0";      // PyTorch's square is pow(x, 2)
  return names[static_cast<int>(op)].c_str();
}
const char* backward_name(BinaryOp op) {
  static const auto names = backward_names(kBinaryNames, std::size(kBinaryNames));
  return names[static_cast<int>(op)].c_str();
}

constexpr double kLn2 = 0.69314718055994530942, kLn10 = 2.30258509299404568402;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390, kInvSqrt2Pi = 0.39894228040143267794;

Tensor unary_grad(UnaryOp op, const Tensor& g, const Tensor& x, const Tensor& y) {
  switch (op) {
    case UnaryOp::exp: return g * y;
    case UnaryOp::exp2: return g * y * kLn2;
    case UnaryOp::expm1: return g * (y + 1);
    case UnaryOp::log: return g / x;
    case UnaryOp::log2: return g / (x * kLn2);
    case UnaryOp::log10: return g / (x * kLn10);
    case UnaryOp::log1p: return g / (x + 1);
    case UnaryOp::sqrt: return g / (y * 2);
    case UnaryOp::rsqrt: return g * y * y * y * -0.5;
    case UnaryOp::reciprocal: return -(g * y * y);
    case UnaryOp::sin: return g * cos(x);
    case UnaryOp::cos: return -(g * sin(x));
    case UnaryOp::tan: return g * (y * y + 1);
    case UnaryOp::asin: return g * rsqrt(-(x * x) + 1);
    case UnaryOp::acos: return -(g * rsqrt(-(x * x) + 1));
    case UnaryOp::atan: return g / (x * x + 1);
    case UnaryOp::sinh: return g * cosh(x);
    case UnaryOp::cosh: return g * sinh(x);
    case UnaryOp::tanh: return g * (-(y * y) + 1);
    case UnaryOp::sigmoid: return g * y * (-y + 1);
    case UnaryOp::erf: return g * exp(-(x * x)) * kTwoOverSqrtPi;
    case UnaryOp::erfc: return g * exp(-(x * x)) * -kTwoOverSqrtPi;
    case UnaryOp::gelu:  // Phi(x) + x phi(x)
      return g * ((erf(x * 0.70710678118654752440) + 1) * 0.5 + x * exp(x * x * -0.5) * kInvSqrt2Pi);
    case UnaryOp::gelu_tanh: {
      constexpr double k = 0.79788456080286535588, c = 0.044715;
      Tensor t = tanh((x + x * x * x * c) * k);
      return g * ((t + 1) * 0.5 + x * (-(t * t) + 1) * (x * x * (3 * c) + 1) * (0.5 * k));
    }
    case UnaryOp::silu: {
      Tensor s = sigmoid(x);
      return g * s * (x * (-s + 1) + 1);
    }
    case UnaryOp::frac: return g;
    case UnaryOp::neg: return -g;
    case UnaryOp::abs: return g * sign(x);
    case UnaryOp::square: return g * x * 2;
    case UnaryOp::relu: return g * gt(y, Scalar(0));
    default: return zeros_like(g);  // sign, floor, ceil, round, trunc: zero almost everywhere
  }
}
// Which of (x, y) a unary formula reads.
bool unary_needs_output(UnaryOp op) {
  switch (op) {
    case UnaryOp::exp: case UnaryOp::exp2: case UnaryOp::expm1: case UnaryOp::sqrt:
    case UnaryOp::rsqrt: case UnaryOp::reciprocal: case UnaryOp::tan: case UnaryOp::tanh:
    case UnaryOp::sigmoid: case UnaryOp::relu:
      return true;
    default:
      return false;
  }
}

std::vector<Tensor> binary_grad(BinaryOp op, const autograd::Context& c) {
  const Tensor& g = c.grad();
  switch (op) {
    case BinaryOp::add: return {g, g};
    case BinaryOp::sub: return {g, c.needs_grad(1) ? -g : Tensor()};
    case BinaryOp::floor_divide: return {zeros_like(g), zeros_like(g)};  // zero almost everywhere
    default: break;
  }
  // An integer operand (never the differentiated one) joins in the gradient's dtype: b * b of a
  // uint8 tensor would wrap.
  auto operand = [&](size_t i) {
    Tensor t = c.saved(i);
    return !t.defined() || is_floating(t.dtype()) ? t : to(t, g.dtype(), t.device());
  };
  Tensor a = operand(0), b = operand(1);
  Tensor ga, gb;
  switch (op) {
    case BinaryOp::mul:
      if (c.needs_grad(0)) ga = g * b;
      if (c.needs_grad(1)) gb = g * a;
      break;
    case BinaryOp::div:
      if (c.needs_grad(0)) ga = g / b;
      if (c.needs_grad(1)) gb = -(g * a) / (b * b);
      break;
    case BinaryOp::pow:
      // d/da = b a^(b-1), taken as 0 where b == 0; d/db = a^b log(a), taken as 0 where a == 0
      // and b >= 0 (PyTorch's conventions at the singular points).
      if (c.needs_grad(0))
        ga = where(eq(b, Scalar(0)), scalar_tensor(0, g.dtype(), g.device()), g * b * pow(a, b - 1));
      if (c.needs_grad(1))
        gb = where(logical_and(eq(a, Scalar(0)), ge(b, Scalar(0))), scalar_tensor(0, g.dtype(), g.device()),
                   g * c.saved(2) * log(a));
      break;
    case BinaryOp::maximum:
    case BinaryOp::minimum: {
      // The larger (smaller) operand takes the gradient; ties split it.
      Tensor a_wins = op == BinaryOp::maximum ? gt(a, b) : lt(a, b);
      Tensor half = where(eq(a, b), g * 0.5, scalar_tensor(0, g.dtype(), g.device()));
      if (c.needs_grad(0)) ga = g * a_wins + half;
      if (c.needs_grad(1)) gb = g * logical_not(logical_or(a_wins, eq(a, b))) + half;
      break;
    }
    case BinaryOp::atan2: {
      Tensor denom = a * a + b * b;
      if (c.needs_grad(0)) ga = g * b / denom;
      if (c.needs_grad(1)) gb = -(g * a) / denom;
      break;
    }
    case BinaryOp::remainder:
      ga = g;
      if (c.needs_grad(1)) gb = -(g * floor_divide(a, b));
      break;
    case BinaryOp::fmod:
      ga = g;
      if (c.needs_grad(1)) gb = -(g * trunc(a / b));
      break;
    default:
      break;
  }
  return {ga, gb};
}
// What binary_grad reads: {a, b, y}, each only when a needed gradient uses it (as PyTorch saves),
// so later in-place writes to an operand that no formula reads are no error.
std::vector<Tensor> binary_saved(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y) {
  bool ga = autograd::requires_grad(a), gb = autograd::requires_grad(b);
  switch (op) {
    case BinaryOp::add: case BinaryOp::sub: case BinaryOp::floor_divide: return {};
    case BinaryOp::mul: return {gb ? a : Tensor(), ga ? b : Tensor()};
    case BinaryOp::div: return {gb ? a : Tensor(), b};
    case BinaryOp::pow: return {a, b, gb ? y : Tensor()};
    case BinaryOp::remainder: case BinaryOp::fmod: return {gb ? a : Tensor(), gb ? b : Tensor()};
    default: return {a, b};  // maximum, minimum, atan2
  }
}
bool is_differentiable(BinaryOp op) {
  Kind k = kBinaryKinds[static_cast<int>(op)];
  return k == Kind::Arith || k == Kind::FloatResult;
}
}  // namespace

Tensor unary(UnaryOp op, const Tensor& x, const Tensor* out) {
  const char* name = op_name(op);
  if (autograd::recording({&x})) {
    if (out && out->is_same(x))
      return autograd::inplace(const_cast<Tensor&>(*out), [op](const Tensor& s) { return unary(op, s); }, name);
    autograd::check_out_arg(name, out, {&x});
    Tensor y = autograd::untracked([&] { return unary(op, x); });
    if (kUnaryKinds[static_cast<int>(op)] != Kind::Pred && op != UnaryOp::bitwise_not) {
      autograd::record(backward_name(op), {x}, {y}, {x, unary_needs_output(op) ? y : Tensor()},
                       [op](const autograd::Context& c) {
                         return autograd::grads(unary_grad(op, c.grad(), c.saved(0), c.saved(1)));
                       });
    }
    return y;
  }
  DType in = x.dtype(), compute = in, result = in;
  switch (kUnaryKinds[static_cast<int>(op)]) {
    case Kind::Float:
      // Activations and frac have no integer meaning in PyTorch (no silent int -> float).
      CTORCH_CHECK_KIND(ErrorKind::NotImplemented, is_floating(in) || !(op == UnaryOp::gelu ||
                        op == UnaryOp::gelu_tanh || op == UnaryOp::silu || op == UnaryOp::frac),
                        "[", name, "] not implemented for '", dtype_name(in), "'");
      compute = result = is_floating(in) ? in : default_dtype();
      break;
    case Kind::Pred:
      result = DType::Bool;
      break;
    default:
      CTORCH_CHECK(!(op == UnaryOp::neg && in == DType::Bool),
                   "[neg] Negation, the `-` operator, on a bool tensor is not supported. If you "
                   "are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
      CTORCH_CHECK_KIND(ErrorKind::NotImplemented, op != UnaryOp::bitwise_not || is_integral(in, true),
                        "[bitwise_not] not implemented for '", dtype_name(in), "'");
      CTORCH_CHECK_KIND(ErrorKind::NotImplemented, in != DType::Bool || !(op == UnaryOp::abs ||
                        op == UnaryOp::floor || op == UnaryOp::ceil || op == UnaryOp::round ||
                        op == UnaryOp::trunc), "[", name, "] not implemented for 'bool'");
      CTORCH_CHECK(!(op == UnaryOp::relu && in == DType::Bool), "[relu] not implemented for 'bool'");
      // square is pow(x, 2): bool meets the integer 2 and becomes int64.
      if (op == UnaryOp::square && in == DType::Bool) compute = result = DType::Int64;
      break;
  }
  Tensor xin = cast(x, compute);
  const bool cuda = x.device().is_cuda();
  return run_elementwise(name, result, x.sizes(), {&xin}, out, [&](const TensorIter& it) {
    if (cuda) cuda_unary(op, compute, it);
    else cpu_unary(op, compute, it);
  });
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor* out) {
  const char* name = op_name(op);
  if (autograd::recording({&a, &b})) {
    if (out && out->is_same(a))
      return autograd::inplace(const_cast<Tensor&>(*out), [&](const Tensor& s) { return binary(op, s, b); }, name);
    autograd::check_out_arg(name, out, {&a, &b});
    Tensor y = autograd::untracked([&] { return binary(op, a, b); });
    if (is_differentiable(op))
      autograd::record(backward_name(op), {a, b}, {y}, binary_saved(op, a, b, y),
                       [op](const autograd::Context& c) { return binary_grad(op, c); });
    return y;
  }
  const Device device = common_device({&a, &b}, name);
  ResultTypeState promotion;
  promotion.add(a);
  promotion.add(b);
  DType common = promotion.result(), compute = common, result = common;
  switch (kBinaryKinds[static_cast<int>(op)]) {
    case Kind::FloatResult:
      compute = result = is_floating(common) ? common : default_dtype();
      break;
    case Kind::Bits:
      CTORCH_CHECK_KIND(ErrorKind::NotImplemented, is_integral(common, true) &&
                        !(common == DType::Bool && (op == BinaryOp::bitwise_left_shift ||
                                                    op == BinaryOp::bitwise_right_shift)),
                        "[", name, "] not implemented for '", dtype_name(common), "'");
      break;
    case Kind::Pred:
      result = DType::Bool;
      break;
    default:
      CTORCH_CHECK_KIND(ErrorKind::NotImplemented, common != DType::Bool || !(op == BinaryOp::pow ||
                        op == BinaryOp::floor_divide || op == BinaryOp::remainder || op == BinaryOp::fmod),
                        "[", name, "] not implemented for 'bool'");
      CTORCH_CHECK(!(op == BinaryOp::sub && a.dtype() == DType::Bool && b.dtype() == DType::Bool),
                   "[sub] Subtraction, the `-` operator, with two bool tensors is not supported. "
                   "Use the `^` or `logical_xor()` operator instead.");
      CTORCH_CHECK(!(op == BinaryOp::sub && (a.dtype() == DType::Bool || b.dtype() == DType::Bool)),
                   "[sub] Subtraction, the `-` operator, with a bool tensor is not supported. If "
                   "you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
      break;
  }
  // An integer tensor to a negative Python integer power has no integer answer.
  CTORCH_CHECK(!(op == BinaryOp::pow && b.impl()->is_wrapped_number && !is_floating(common) &&
                 !is_floating(b.dtype()) && item(b).to_int() < 0),
               "[pow] Integers to negative integer powers are not allowed.");
  DimVector shape = broadcast_shapes(a.sizes(), b.sizes(), name);
  // A CPU scalar operand is cast on the host first, then made on the device from its value.
  Tensor ain = on_device(cast(a, compute), device), bin = on_device(cast(b, compute), device);
  // Integer division by zero raises on the CPU only: PyTorch's CUDA kernels do not check (that
  // would cost a synchronisation); there ctorch's kernels give 0 (math.h), PyTorch's an
  // unspecified value.
  if (device.is_cpu() && !is_floating(compute) &&
      (op == BinaryOp::floor_divide || op == BinaryOp::remainder || op == BinaryOp::fmod)) {
    Tensor divisor = contiguous(cast(bin, DType::Int64));
    const int64_t* d = divisor.data<int64_t>();
    for (int64_t i = 0; i < divisor.numel(); ++i)
      CTORCH_CHECK(d[i] != 0, "[", name, "] ZeroDivisionError");
  }
  return run_elementwise(name, result, shape, {&ain, &bin}, out, [&](const TensorIter& it) {
    if (device.is_cuda()) cuda_binary(op, compute, it);
    else cpu_binary(op, compute, it);
  });
}

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  if (!alpha.is_floating() && alpha.to_int() == 1) return add(a, b);
  return add(a, mul(b, alpha));
}
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  if (!alpha.is_floating() && alpha.to_int() == 1) return sub(a, b);
  return sub(a, mul(b, alpha));
}

Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode) {
  if (rounding_mode == "floor") return floor_divide(a, b);
  CTORCH_CHECK_VALUE(rounding_mode == "trunc", "[div] expected rounding_mode to be one of None, "
                     "'trunc', or 'floor' but found '", rounding_mode, "'");
  if (is_floating(result_type({a, b}))) return trunc(div(a, b));
  return floor_divide(sub(a, fmod(a, b)), b);  // exact, so floor == trunc
}

Tensor round(const Tensor& x, int64_t decimals) {
  if (decimals == 0) return round(x);
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, x.is_floating_point(), "[round] decimals is not "
                    "implemented for '", dtype_name(x.dtype()), "'");
  // 16-bit floats scale in float32 (x * 10^d overflows float16 quickly), as PyTorch's opmath does;
  // negative decimals divide by the exact power of ten rather than multiply by an inexact 10^-d.
  Tensor xf = x.element_size() == 2 ? to(x, DType::Float32, x.device()) : x;
  double scale = std::pow(10.0, static_cast<double>(decimals < 0 ? -decimals : decimals));
  Tensor r = decimals > 0 ? div(round(mul(xf, scale)), scale) : mul(round(div(xf, scale)), scale);
  return cast(r, x.dtype());
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate == "tanh") return gelu_tanh(x);
  CTORCH_CHECK_VALUE(approximate == "none", "[gelu] approximate must be 'none' or 'tanh', got '",
                     approximate, "'");
  return gelu(x);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const Device device = common_device({&cond, &a, &b}, "where");
  CTORCH_CHECK(cond.dtype() == DType::Bool || cond.dtype() == DType::UInt8,
               "[where] expected condition to be a boolean tensor, but got a tensor with dtype ",
               dtype_name(cond.dtype()));
  if (autograd::recording({&a, &b})) {
    Tensor y = autograd::untracked([&] { return where(cond, a, b); });
    autograd::record("WhereBackward0", {a, b}, {y}, {cond}, [](const autograd::Context& c) {
      Tensor cnd = c.saved(0), zero = scalar_tensor(0, c.grad().dtype(), c.grad().device());
      return std::vector<Tensor>{c.needs_grad(0) ? where(cnd, c.grad(), zero) : Tensor(),
                                 c.needs_grad(1) ? where(cnd, zero, c.grad()) : Tensor()};
    });
    return y;
  }
  DType common = result_type({a, b});
  DimVector shape = broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes(), "where"),
                                     b.sizes(), "where");
  Tensor c = on_device(cast(cond, DType::Bool), device), ain = on_device(cast(a, common), device),
         bin = on_device(cast(b, common), device);
  return run_elementwise("where", common, shape, {&c, &ain, &bin}, nullptr, [&](const TensorIter& it) {
    if (device.is_cuda()) cuda_where(common, it);
    else cpu_where(common, it);
  });
}

Tensor clamp(const Tensor& x, const std::optional<Tensor>& min, const std::optional<Tensor>& max) {
  CTORCH_CHECK(min || max, "[clamp] At least one of 'min' or 'max' must not be None");
  Tensor lo = min.value_or(Tensor()), hi = max.value_or(Tensor());
  if (autograd::recording({&x, &lo, &hi})) {
    // Its own node: x takes the gradient inside [min, max] inclusive, a bound where it binds.
    Tensor y = autograd::untracked([&] { return clamp(x, min, max); });
    bool numbers = (!lo.defined() || lo.impl()->is_wrapped_number) && (!hi.defined() || hi.impl()->is_wrapped_number);
    autograd::record(numbers ? "ClampBackward0" : "ClampBackward1", {x, lo, hi}, {y}, {x, lo, hi},
                     [](const autograd::Context& c) {
      Tensor x = c.saved(0), lo = c.saved(1), hi = c.saved(2), g = c.grad();
      // y = min(max(x, lo), hi): with lo > hi the result is hi everywhere.
      Tensor inside = lo.defined() ? ge(x, lo) : ones({}, DType::Bool, x.device());
      if (hi.defined()) inside = logical_and(inside, le(x, hi));
      Tensor lo_binds, hi_binds;
      if (c.needs_grad(1)) lo_binds = hi.defined() ? logical_and(lt(x, lo), le(lo, hi)) : lt(x, lo);
      if (c.needs_grad(2)) hi_binds = lo.defined() ? logical_or(gt(x, hi), lt(hi, lo)) : gt(x, hi);
      return std::vector<Tensor>{c.needs_grad(0) ? g * inside : Tensor(),
                                 lo_binds.defined() ? g * lo_binds : Tensor(),
                                 hi_binds.defined() ? g * hi_binds : Tensor()};
    });
    return y;
  }
  Tensor r = x;
  if (min) r = maximum(r, *min);
  if (max) r = minimum(r, *max);
  if (r.is_same(x)) r = clone(x);
  return r;
}

Tensor lerp(const Tensor& a, const Tensor& b, const Tensor& weight) {
  // Two formulas, each exact at its end of the interval (as PyTorch does).
  Tensor diff = sub(b, a);
  Tensor low = add(a, mul(weight, diff));
  // 1 - weight of a Python number stays a double (two wrapped numbers would meet in float32).
  Tensor one_minus = weight.impl()->is_wrapped_number
                         ? wrapped_scalar(Scalar(1.0 - item(weight).to_double()), weight.device())
                         : sub(wrapped_scalar(Scalar(1.0)), weight);
  Tensor high = sub(b, mul(diff, one_minus));
  return where(lt(abs(weight), Scalar(0.5)), low, high);
}

Tensor addcmul(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  // `value` takes the operands' dtype, as in PyTorch (0.5 with integer tensors is 0).
  DType common = result_type({self, t1, t2});
  Scalar v = value.is_floating() && !is_floating(common)
                 ? Scalar(static_cast<int64_t>(value.to_double())) : value;
  return add(self, mul(mul(t1, t2), v));
}
Tensor addcdiv(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  CTORCH_CHECK(is_floating(t1.dtype()) || is_floating(t2.dtype()),
               "[addcdiv] Integer division with addcdiv is no longer supported; use "
               "torch.addcmul(input, tensor1, torch.div(tensor2, value)) instead");
  return add(self, mul(div(t1, t2), value));
}

Tensor nan_to_num(const Tensor& x, std::optional<double> nan, std::optional<double> posinf,
                  std::optional<double> neginf) {
  if (!x.is_floating_point()) return clone(x);
  double hi = x.dtype() == DType::Float64   ? std::numeric_limits<double>::max()
              : x.dtype() == DType::Float32 ? std::numeric_limits<float>::max()
              : x.dtype() == DType::Float16 ? 65504.0
                                            : 3.3895313892515355e38;
  Tensor r = where(isnan(x), scalar_tensor(nan.value_or(0.0), x.dtype()), x);
  r = where(eq(r, Scalar(INFINITY)), scalar_tensor(posinf.value_or(hi), x.dtype()), r);
  return where(eq(r, Scalar(-INFINITY)), scalar_tensor(neginf.value_or(-hi), x.dtype()), r);
}

}  // namespace ctorch
