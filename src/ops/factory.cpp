// Factories: full/zeros/ones, ranges, eye; values are made in float64/int64 and cast once.
#include <cmath>
#include <algorithm>
#include "autograd/function.h"
#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "ctorch/ops.h"
#include "kernels/factory.h"

namespace ctorch {

Tensor& fill_(Tensor& t, const Scalar& value) {
  if (autograd::recording({&t})) {  // the old value's gradient becomes zero
    return autograd::inplace(t, [&](const Tensor& s) {
      return full(s.sizes(), value, s.dtype(), s.device());
    }, "fill_");
  }
  if (t.device().is_cuda()) {  // any layout, the value passed by value to the kernel
    cuda_fill(t, value);
    t.bump_version();
    return t;
  }
  if (!t.is_contiguous()) {
    Tensor v = scalar_tensor(value, t.dtype(), Device());
    return copy_(t, v);
  }
  // Contiguous CPU tensors (every fresh zeros/ones/full) are filled directly: no 0-d temporary.
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v = value.to<T>();
    T* p = t.data<T>();
    parallel_for(0, t.numel(), kGrainSize, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
  });
  t.bump_version();
  return t;
}
Tensor& zero_(Tensor& t) { return fill_(t, Scalar(int64_t(0))); }

Tensor full(IntArrayRef shape, const Scalar& value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  return fill_(t, value);
}
Tensor zeros(IntArrayRef shape, DType dtype, Device device) { return full(shape, Scalar(int64_t(0)), dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.sizes(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t, IntArrayRef shape) { return zeros(shape, t.dtype(), t.device()); }
Tensor ones(IntArrayRef shape, DType dtype, Device device) { return full(shape, Scalar(int64_t(1)), dtype, device); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, std::optional<DType> dtype,
              Device device) {
  bool floating = start.is_floating() || end.is_floating() || step.is_floating();
  DType out = dtype.value_or(floating ? default_dtype() : DType::Int64);
  double s = start.to_double(), e = end.to_double(), st = step.to_double();
  CTORCH_CHECK(st != 0, "[arange] step must be nonzero");
  CTORCH_CHECK(std::isfinite(s) && std::isfinite(e), "[arange] unsupported range: ", s, " -> ", e);
  CTORCH_CHECK((st > 0 && e >= s) || (st < 0 && e <= s),
               "[arange] upper bound and larger bound inconsistent with step sign");
  int64_t n;
  if (floating || is_floating(out)) {
    double count = std::ceil((e - s) / st);
    CTORCH_CHECK(count < 1e15, "[arange] invalid size, possible overflow? (", count, " elements)");
    n = static_cast<int64_t>(count);
  } else {
    int64_t is = start.to_int(), ie = end.to_int(), ist = step.to_int();
    n = (ie - is + ist + (ist > 0 ? -1 : 1)) / ist;
  }
  CTORCH_CHECK(n >= 0 && n < (int64_t(1) << 40), "[arange] invalid number of elements ", n);
  Tensor r;
  if (device.is_cuda()) {  // the same values made on the device, then cast there
    if (floating || is_floating(out)) {
      r = empty({n}, DType::Float64, device);
      cuda_arange_f64(r, s, st);
    } else {
      r = empty({n}, DType::Int64, device);
      cuda_arange_i64(r, start.to_int(), step.to_int());
    }
  } else if (floating || is_floating(out)) {
    r = empty({n}, DType::Float64);
    double* p = r.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = s + static_cast<double>(i) * st;
  } else {
    r = empty({n}, DType::Int64);
    int64_t* p = r.data<int64_t>();
    int64_t is = start.to_int(), ist = step.to_int();
    for (int64_t i = 0; i < n; ++i) p[i] = is + i * ist;
  }
  return to(r, out, device);
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  CTORCH_CHECK(steps >= 0, "[linspace] number of steps must be non-negative");
  if (device.is_cuda()) {
    Tensor r = empty({steps}, DType::Float64, device);
    cuda_linspace(r, start, end, false, 0.0);
    return to(r, dtype, device);
  }
  Tensor r = empty({steps}, DType::Float64);
  double* p = r.data<double>();
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Each half is measured from its own end, so both endpoints are exact.
  for (int64_t i = 0; i < steps; ++i)
    p[i] = i < steps / 2 || steps == 1 ? start + step * static_cast<double>(i)
                         : end - step * static_cast<double>(steps - 1 - i);
  return to(r, dtype, device);
}

Tensor logspace(double start, double end, int64_t steps, double base, DType dtype, Device device) {
  if (device.is_cuda()) {
    CTORCH_CHECK(steps >= 0, "[linspace] number of steps must be non-negative");
    Tensor r = empty({steps}, DType::Float64, device);
    cuda_linspace(r, start, end, true, base);
    return to(r, dtype, device);
  }
  Tensor r = linspace(start, end, steps, DType::Float64);
  double* p = r.data<double>();
  for (int64_t i = 0; i < steps; ++i) p[i] = std::pow(base, p[i]);
  return to(r, dtype, device);
}

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  CTORCH_CHECK(n >= 0 && m >= 0, "[eye] n and m must be non-negative, got ", n, " and ", m);
  Tensor r = zeros({n, m}, dtype, device);
  Tensor d = diagonal(r);
  fill_(d, Scalar(int64_t(1)));
  return r;
}

}  // namespace ctorch
