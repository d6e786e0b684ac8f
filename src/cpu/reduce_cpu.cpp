// CPU kernels for reductions, scans and softmax: blocked loops the compiler vectorises,
// pairwise combination of blocks for accuracy, parallel over rows or over chunks of long rows.
#include "cpu/reduce_cpu.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>
#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "ops/math.h"

namespace ctorch {

namespace {

template <class A> A lowest() {
  if constexpr (std::numeric_limits<A>::has_infinity) return -std::numeric_limits<A>::infinity();
  else return std::numeric_limits<A>::lowest();
}
template <class A> A highest() {
  if constexpr (std::numeric_limits<A>::has_infinity) return std::numeric_limits<A>::infinity();
  else return std::numeric_limits<A>::max();
}

// Each op: init (identity), map (input element to accumulator), combine (associative).
template <class A> struct SumOp {
  A init() const { return A(0); }
  template <class T> A map(T x) const { return static_cast<A>(x); }
  A combine(A a, A b) const { return a + b; }
};
template <class A> struct ProdOp {
  A init() const { return A(1); }
  template <class T> A map(T x) const { return static_cast<A>(x); }
  A combine(A a, A b) const { return a * b; }
};
// NaN wins: once a lane holds NaN, `b > a` and `b != b` stay false for ordinary b.
template <class A> struct MaxOp {
  A init() const { return lowest<A>(); }
  template <class T> A map(T x) const { return static_cast<A>(x); }
  A combine(A a, A b) const { return (b > a || b != b) ? b : a; }
};
template <class A> struct MinOp {
  A init() const { return highest<A>(); }
  template <class T> A map(T x) const { return static_cast<A>(x); }
  A combine(A a, A b) const { return (b < a || b != b) ? b : a; }
};
template <class A> struct SumAbsOp : SumOp<A> {
  template <class T> A map(T x) const { return std::fabs(static_cast<A>(x)); }
};
template <class A> struct SumSqOp : SumOp<A> {
  template <class T> A map(T x) const { A v = static_cast<A>(x); return v * v; }
};
template <class A> struct SumPowAbsOp : SumOp<A> {
  A p;
  template <class T> A map(T x) const { return std::pow(std::fabs(static_cast<A>(x)), p); }
};
template <class A> struct CountNonzeroOp : SumOp<A> {
  template <class T> A map(T x) const { return static_cast<A>(x) != A(0) ? A(1) : A(0); }
};
template <class A> struct MaxAbsOp : MaxOp<A> {
  A init() const { return A(0); }
  template <class T> A map(T x) const { return std::fabs(static_cast<A>(x)); }
};
template <class A> struct MinAbsOp : MinOp<A> {
  template <class T> A map(T x) const { return std::fabs(static_cast<A>(x)); }
};
// Squared deviations from a row's mean (variance).
template <class A> struct SqDevOp : SumOp<A> {
  A mean;
  template <class T> A map(T x) const { A d = static_cast<A>(x) - mean; return d * d; }
};

// Baseline loops for every dtype, and an AVX2+FMA build of the same loops for float/double.
namespace base {
constexpr size_t kLaneBytes = 128;
#include "cpu/reduce_loops.h"
}  // namespace base
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
constexpr size_t kLaneBytes = 256;
#include "cpu/reduce_loops.h"
}  // namespace avx2
#pragma GCC pop_options

bool use_avx2() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

template <class A, class O, class T, class Op>
void run_reduce(const void* x, void* out, int64_t outer, int64_t n, int64_t inner, const Op& op) {
  // The hot reductions (sum, max/min, 2-norm) of float/double get the AVX2 build.
  if constexpr ((std::is_same_v<T, float> || std::is_same_v<T, double>) &&
                (std::is_same_v<Op, SumOp<T>> || std::is_same_v<Op, MaxOp<T>> ||
                 std::is_same_v<Op, MinOp<T>> || std::is_same_v<Op, SumSqOp<T>>)) {
    if (use_avx2()) return avx2::run_reduce<A, O, T>(x, out, outer, n, inner, op);
  }
  base::run_reduce<A, O, T>(x, out, outer, n, inner, op);
}

template <class T>
void arg_rows(bool is_max, const T* x, T* values, int64_t* indices, int64_t rows, int64_t n) {
  using A = opmath_t<T>;
  int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1));
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* p = x + r * n;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        // The vectorised max (NaN wins), then the first position holding it.
        T m = is_max ? (use_avx2() ? avx2::row_reduce<T>(p, n, MaxOp<T>{})
                                   : base::row_reduce<T>(p, n, MaxOp<T>{}))
                     : (use_avx2() ? avx2::row_reduce<T>(p, n, MinOp<T>{})
                                   : base::row_reduce<T>(p, n, MinOp<T>{}));
        int64_t bi = 0;
        if (m != m) while (p[bi] == p[bi]) ++bi;
        else while (p[bi] != m) ++bi;
        if (values) values[r] = p[bi];
        indices[r] = bi;
        continue;
      }
      A best = static_cast<A>(p[0]);
      int64_t bi = 0;
      if (best == best) {
        for (int64_t i = 1; i < n; ++i) {
          A v = static_cast<A>(p[i]);
          if (v != v) { bi = i; break; }
          if (is_max ? v > best : v < best) { best = v; bi = i; }
        }
      }
      if (values) values[r] = p[bi];
      indices[r] = bi;
    }
  });
}

template <class T>
void scan_kernel(bool prod, const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  // PyTorch accumulates float scans in double on CPU; integer scans are int64.
  using A = std::conditional_t<std::is_integral_v<T>, int64_t, double>;
  int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n * inner, 1));
  if (inner == 1) {
    // A scan is one long dependency chain per row; four rows side by side overlap four chains.
    constexpr int kRows = 4;
    parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
      int64_t o = b;
      for (; o + kRows <= e; o += kRows) {
        const T* xo = x + o * n;
        T* oo = out + o * n;
        A acc[kRows];
        for (int j = 0; j < kRows; ++j) acc[j] = A(prod ? 1 : 0);
        for (int64_t i = 0; i < n; ++i)
          for (int j = 0; j < kRows; ++j) {
            A v = static_cast<A>(xo[j * n + i]);
            acc[j] = prod ? acc[j] * v : acc[j] + v;
            oo[j * n + i] = static_cast<T>(acc[j]);
          }
      }
      for (; o < e; ++o) {
        const T* xo = x + o * n;
        T* oo = out + o * n;
        A acc = A(prod ? 1 : 0);
        if (prod) for (int64_t i = 0; i < n; ++i) oo[i] = static_cast<T>(acc *= static_cast<A>(xo[i]));
        else for (int64_t i = 0; i < n; ++i) oo[i] = static_cast<T>(acc += static_cast<A>(xo[i]));
      }
    });
    return;
  }
  parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
    std::vector<A> acc(inner);
    for (int64_t o = b; o < e; ++o) {
      const T* xo = x + o * n * inner;
      T* oo = out + o * n * inner;
      std::fill(acc.begin(), acc.end(), A(prod ? 1 : 0));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < inner; ++k) {
          A v = static_cast<A>(xo[i * inner + k]);
          acc[k] = prod ? acc[k] * v : acc[k] + v;
          oo[i * inner + k] = static_cast<T>(acc[k]);
        }
    }
  });
}

}  // namespace

DType reduce_out_dtype(ReduceKind kind, DType dtype) {
  if (kind == ReduceKind::Max || kind == ReduceKind::Min) return dtype;
  if (is_integral(dtype, true)) return DType::Int64;
  return dtype == DType::Float64 ? DType::Float64 : DType::Float32;
}

namespace {
// Calls f(TypeTag<T>) for the float and double kernels; other dtypes are converted by the op.
template <class F>
void dispatch_float_double(DType t, const char* what, const F& f) {
  if (t == DType::Float32) return f(TypeTag<float>{});
  if (t == DType::Float64) return f(TypeTag<double>{});
  CTORCH_FAIL("[", what, "] kernel not built for ", dtype_name(t));
}
}  // namespace

void cpu_reduce(ReduceKind kind, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                int64_t inner, double p) {
  if (outer * inner == 0) return;
  switch (kind) {
    case ReduceKind::Sum:
    case ReduceKind::Prod: {
      auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (kind == ReduceKind::Sum) run_reduce<T, T, T>(x, out, outer, n, inner, SumOp<T>{});
        else run_reduce<T, T, T>(x, out, outer, n, inner, ProdOp<T>{});
      };
      if (dtype == DType::Int64) return run(TypeTag<int64_t>{});
      return dispatch_float_double(dtype, "sum", run);
    }
    case ReduceKind::Max:
    case ReduceKind::Min: {
      auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (kind == ReduceKind::Max) run_reduce<T, T, T>(x, out, outer, n, inner, MaxOp<T>{});
        else run_reduce<T, T, T>(x, out, outer, n, inner, MinOp<T>{});
      };
      return dispatch_ordered(dtype, "amax", run);
    }
    default: break;
  }
  // The norm kinds.
  dispatch_float_double(dtype, "vector_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (kind) {
      case ReduceKind::SumAbs: return run_reduce<T, T, T>(x, out, outer, n, inner, SumAbsOp<T>{});
      case ReduceKind::SumSq: return run_reduce<T, T, T>(x, out, outer, n, inner, SumSqOp<T>{});
      case ReduceKind::SumPowAbs: {
        SumPowAbsOp<T> op;
        op.p = static_cast<T>(p);
        return run_reduce<T, T, T>(x, out, outer, n, inner, op);
      }
      case ReduceKind::CountNonzero:
        return run_reduce<T, T, T>(x, out, outer, n, inner, CountNonzeroOp<T>{});
      case ReduceKind::MaxAbs: return run_reduce<T, T, T>(x, out, outer, n, inner, MaxAbsOp<T>{});
      case ReduceKind::MinAbs: return run_reduce<T, T, T>(x, out, outer, n, inner, MinAbsOp<T>{});
      default: CTORCH_FAIL("unknown reduction");
    }
  });
}

void cpu_arg_reduce(bool is_max, DType dtype, const void* x, void* values, int64_t* indices,
                    int64_t rows, int64_t n) {
  dispatch_all(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    arg_rows<T>(is_max, static_cast<const T*>(x), static_cast<T*>(values), indices, rows, n);
  });
}

void cpu_var_mean(DType dtype, const void* x, void* var, void* mean, int64_t rows, int64_t n,
                  double correction) {
  dispatch_float_double(dtype, "var", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = T;
    const T* xp = static_cast<const T*>(x);
    A* vp = static_cast<A*>(var);
    A* mp = static_cast<A*>(mean);
    double dof = std::max(0.0, static_cast<double>(n) - correction);
    int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1));
    parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const T* row = xp + r * n;
        A m = base::row_reduce<A>(row, n, SumOp<A>{}) / static_cast<A>(n);
        SqDevOp<A> dev;
        dev.mean = m;
        A m2 = base::row_reduce<A>(row, n, dev);
        vp[r] = static_cast<A>(m2 / dof);
        mp[r] = m;
      }
    });
  });
}

void cpu_logsumexp(DType dtype, const void* x, void* out, int64_t rows, int64_t n) {
  dispatch_float_double(dtype, "logsumexp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    T* op = static_cast<T*>(out);
    if (use_avx2()) avx2::logsumexp_rows(xp, op, rows, n);
    else base::logsumexp_rows(xp, op, rows, n);
  });
}

void cpu_softmax(bool log, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                 int64_t inner) {
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    T* op = static_cast<T*>(out);
    if (use_avx2()) {
      if (inner == 1) avx2::softmax_rows(log, xp, op, outer, n);
      else avx2::softmax_strided(log, xp, op, outer, n, inner);
    } else {
      if (inner == 1) base::softmax_rows(log, xp, op, outer, n);
      else base::softmax_strided(log, xp, op, outer, n, inner);
    }
  };
  if (dtype == DType::Float32) run(TypeTag<float>{});
  else if (dtype == DType::Float64) run(TypeTag<double>{});
  else CTORCH_FAIL("softmax kernel expects float32 or float64, got ", dtype_name(dtype));
}

void cpu_scan(bool prod, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
              int64_t inner) {
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    scan_kernel<T>(prod, static_cast<const T*>(x), static_cast<T*>(out), outer, n, inner);
  };
  switch (dtype) {
    case DType::Int64: return run(TypeTag<int64_t>{});
    case DType::Float16: return run(TypeTag<Half>{});
    case DType::BFloat16: return run(TypeTag<BFloat16>{});
    case DType::Float32: return run(TypeTag<float>{});
    case DType::Float64: return run(TypeTag<double>{});
    default: CTORCH_FAIL("scan kernel got unexpected dtype ", dtype_name(dtype));
  }
}

}  // namespace ctorch
