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
#include "cpu/dispatch.h"
#include "cpu/parallel.h"

namespace ctorch {

namespace {

// Sums of integers (and bool) are int64, as in PyTorch; 16-bit floats accumulate in float.
template <class T>
using sum_acc_t = std::conditional_t<std::is_integral_v<T>, int64_t,
                                     std::conditional_t<std::is_same_v<T, double>, double, float>>;

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
struct AllOp {
  bool init() const { return true; }
  template <class T> bool map(T x) const { return static_cast<opmath_t<T>>(x) != 0; }
  bool combine(bool a, bool b) const { return a & b; }
};
struct AnyOp {
  bool init() const { return false; }
  template <class T> bool map(T x) const { return static_cast<opmath_t<T>>(x) != 0; }
  bool combine(bool a, bool b) const { return a | b; }
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
// Squared deviations from a row's mean (variance) and exp of shifted values (logsumexp).
template <class A> struct SqDevOp : SumOp<A> {
  A mean;
  template <class T> A map(T x) const { A d = static_cast<A>(x) - mean; return d * d; }
};
template <class A> struct ExpShiftOp : SumOp<A> {
  A shift;
  template <class T> A map(T x) const { return std::exp(static_cast<A>(x) - shift); }
};

constexpr int64_t kLeaf = 4096;         // elements summed with independent lanes
constexpr int64_t kChunk = kLeaf * 16;  // long rows are split into chunks of this many, in parallel

// One block: kLanes independent accumulators (so the loop vectorises without reassociating),
// then a tree over the lanes.
template <class A, class T, class Op>
A leaf_reduce(const T* x, int64_t n, const Op& op) {
  constexpr int kLanes = sizeof(A) >= 8 ? 16 : 32;
  A acc[kLanes];
  for (int j = 0; j < kLanes; ++j) acc[j] = op.init();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] = op.combine(acc[j], op.map(x[i + j]));
  for (int j = 0; i < n; ++i, ++j) acc[j] = op.combine(acc[j], op.map(x[i]));
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] = op.combine(acc[j], acc[j + w]);
  return acc[0];
}

// Pairwise over leaf blocks: rounding error grows with log(n / kLeaf).
template <class A, class T, class Op>
A row_reduce(const T* x, int64_t n, const Op& op) {
  if (n <= kLeaf) return leaf_reduce<A>(x, n, op);
  int64_t half = (n / 2 + kLeaf - 1) / kLeaf * kLeaf;
  return op.combine(row_reduce<A>(x, half, op), row_reduce<A>(x + half, n - half, op));
}

template <class A, class Op>
A combine_pairwise(const A* v, int64_t n, const Op& op) {
  if (n == 1) return v[0];
  int64_t half = n / 2;
  return op.combine(combine_pairwise(v, half, op), combine_pairwise(v + half, n - half, op));
}

// Contiguous rows. A long row is cut into fixed chunks (independent of the thread count, so
// results are reproducible) reduced in parallel.
template <class A, class T, class O, class Op>
void rows_reduce(const T* x, O* out, int64_t rows, int64_t n, const Op& op) {
  if (n >= 2 * kChunk && rows < 4 * get_num_threads()) {
    int64_t nc = (n + kChunk - 1) / kChunk;
    std::unique_ptr<A[]> part(new A[nc]);  // not vector: vector<bool> packs bits
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = x + r * n;
      parallel_for(0, nc, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
          part[c] = row_reduce<A>(row + c * kChunk, std::min(kChunk, n - c * kChunk), op);
      });
      out[r] = static_cast<O>(combine_pairwise(part.get(), nc, op));
    }
    return;
  }
  int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1));
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) out[r] = static_cast<O>(row_reduce<A>(x + r * n, n, op));
  });
}

// [outer, n, inner] with inner > 1: whole rows of `inner` are combined element by element (the
// vectorised direction); partial results over blocks of rows keep float sums accurate.
template <class A, class T, class O, class Op>
void strided_reduce(const T* x, O* out, int64_t outer, int64_t n, int64_t inner, const Op& op) {
  constexpr int64_t kBlock = 256, kRowBlock = 64;
  int64_t nblk = (inner + kBlock - 1) / kBlock;
  int64_t per_task = std::max<int64_t>(1, n * std::min(kBlock, inner));
  parallel_for(0, outer * nblk, std::max<int64_t>(1, kGrainSize / per_task), [&](int64_t b, int64_t e) {
    A total[kBlock], part[kBlock];
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / nblk, k0 = (t % nblk) * kBlock, m = std::min(kBlock, inner - k0);
      for (int64_t k = 0; k < m; ++k) total[k] = op.init();
      for (int64_t r0 = 0; r0 < n; r0 += kRowBlock) {
        for (int64_t k = 0; k < m; ++k) part[k] = op.init();
        for (int64_t r = r0, re = std::min(n, r0 + kRowBlock); r < re; ++r) {
          const T* row = x + (o * n + r) * inner + k0;
          for (int64_t k = 0; k < m; ++k) part[k] = op.combine(part[k], op.map(row[k]));
        }
        for (int64_t k = 0; k < m; ++k) total[k] = op.combine(total[k], part[k]);
      }
      for (int64_t k = 0; k < m; ++k) out[o * inner + k0 + k] = static_cast<O>(total[k]);
    }
  });
}

template <class A, class O, class T, class Op>
void run_reduce(const void* x, void* out, int64_t outer, int64_t n, int64_t inner, const Op& op) {
  const T* xp = static_cast<const T*>(x);
  O* op_out = static_cast<O*>(out);
  if (inner == 1) rows_reduce<A>(xp, op_out, outer, n, op);
  else strided_reduce<A>(xp, op_out, outer, n, inner, op);
}

// exp for float rows: 2^k * p(r) with |r| <= ln2/2 (Cephes' coefficients), written without
// branches or library calls so the softmax loops vectorise. Relative error ~2 ulp; inputs below
// -87 (results under FLT_MIN) give 0.
inline float fast_expf(float x) {
  float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float kf = xc * 1.44269504088896341f + 12582912.0f;  // adding 1.5 * 2^23 rounds to an integer
  int32_t ki;
  std::memcpy(&ki, &kf, 4);
  ki -= 0x4B400000;
  kf -= 12582912.0f;
  float r = xc - kf * 0.693359375f + kf * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  int32_t bits = (ki + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  float res = y * scale;
  res = x < -87.0f ? 0.0f : res;
  return x != x ? x : res;
}

template <class T> inline T exp_of(T v) {
  if constexpr (std::is_same_v<T, float>) return fast_expf(v);
  else return std::exp(v);
}

// Rows (inner == 1): max, exp and sum, normalise — three passes over a row that stays in cache.
template <class T>
void softmax_rows(bool log, const T* x, T* out, int64_t rows, int64_t n) {
  int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1));
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * n;
      T* o = out + r * n;
      T m = row_reduce<T>(xr, n, MaxOp<T>{});
      for (int64_t i = 0; i < n; ++i) o[i] = exp_of(xr[i] - m);
      T s = row_reduce<T>(o, n, SumOp<T>{});
      if (log) {
        T shift = m + std::log(s);
        for (int64_t i = 0; i < n; ++i) o[i] = xr[i] - shift;
      } else {
        T inv = T(1) / s;
        for (int64_t i = 0; i < n; ++i) o[i] *= inv;
      }
    }
  });
}

// [outer, n, inner]: the same passes with a block of `inner` columns side by side, so every
// loop runs along contiguous memory.
template <class T>
void softmax_strided(bool log, const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  constexpr int64_t kBlock = 256;
  int64_t nblk = (inner + kBlock - 1) / kBlock;
  int64_t per_task = std::max<int64_t>(1, n * std::min(kBlock, inner));
  parallel_for(0, outer * nblk, std::max<int64_t>(1, 4096 / per_task), [&](int64_t b, int64_t e) {
    T mx[kBlock], sum[kBlock];
    MaxOp<T> max_op;
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / nblk, k0 = (t % nblk) * kBlock, m = std::min(kBlock, inner - k0);
      const T* xo = x + o * n * inner + k0;
      T* oo = out + o * n * inner + k0;
      for (int64_t k = 0; k < m; ++k) { mx[k] = max_op.init(); sum[k] = T(0); }
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < m; ++k) mx[k] = max_op.combine(mx[k], xo[i * inner + k]);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < m; ++k) {
          T v = exp_of(xo[i * inner + k] - mx[k]);
          oo[i * inner + k] = v;
          sum[k] += v;
        }
      if (log) {
        for (int64_t k = 0; k < m; ++k) sum[k] = mx[k] + std::log(sum[k]);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t k = 0; k < m; ++k) oo[i * inner + k] = xo[i * inner + k] - sum[k];
      } else {
        for (int64_t k = 0; k < m; ++k) sum[k] = T(1) / sum[k];
        for (int64_t i = 0; i < n; ++i)
          for (int64_t k = 0; k < m; ++k) oo[i * inner + k] *= sum[k];
      }
    }
  });
}

template <class T>
void arg_rows(bool is_max, const T* x, T* values, int64_t* indices, int64_t rows, int64_t n) {
  using A = opmath_t<T>;
  int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1));
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* p = x + r * n;
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
    parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
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
  switch (kind) {
    case ReduceKind::Max:
    case ReduceKind::Min: return dtype;
    case ReduceKind::All:
    case ReduceKind::Any: return DType::Bool;
    default:
      if (is_integral(dtype, true)) return DType::Int64;
      return dtype == DType::Float64 ? DType::Float64 : DType::Float32;
  }
}

void cpu_reduce(ReduceKind kind, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                int64_t inner, double p) {
  if (outer * inner == 0) return;
  switch (kind) {
    case ReduceKind::Sum:
      return dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using A = sum_acc_t<T>;
        run_reduce<A, A, T>(x, out, outer, n, inner, SumOp<A>{});
      });
    case ReduceKind::Prod:
      return dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using A = sum_acc_t<T>;
        run_reduce<A, A, T>(x, out, outer, n, inner, ProdOp<A>{});
      });
    case ReduceKind::Max:
      return dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        run_reduce<opmath_t<T>, T, T>(x, out, outer, n, inner, MaxOp<opmath_t<T>>{});
      });
    case ReduceKind::Min:
      return dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        run_reduce<opmath_t<T>, T, T>(x, out, outer, n, inner, MinOp<opmath_t<T>>{});
      });
    case ReduceKind::All:
      return dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        run_reduce<bool, bool, T>(x, out, outer, n, inner, AllOp{});
      });
    case ReduceKind::Any:
      return dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        run_reduce<bool, bool, T>(x, out, outer, n, inner, AnyOp{});
      });
    default: break;
  }
  // The norm kinds: floating inputs only (the op checks), result in float or double.
  dispatch_floating(dtype, "vector_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = sum_acc_t<T>;
    switch (kind) {
      case ReduceKind::SumAbs: return run_reduce<A, A, T>(x, out, outer, n, inner, SumAbsOp<A>{});
      case ReduceKind::SumSq: return run_reduce<A, A, T>(x, out, outer, n, inner, SumSqOp<A>{});
      case ReduceKind::SumPowAbs: {
        SumPowAbsOp<A> op;
        op.p = static_cast<A>(p);
        return run_reduce<A, A, T>(x, out, outer, n, inner, op);
      }
      case ReduceKind::CountNonzero:
        return run_reduce<A, A, T>(x, out, outer, n, inner, CountNonzeroOp<A>{});
      case ReduceKind::MaxAbs: return run_reduce<A, A, T>(x, out, outer, n, inner, MaxAbsOp<A>{});
      case ReduceKind::MinAbs: return run_reduce<A, A, T>(x, out, outer, n, inner, MinAbsOp<A>{});
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
  dispatch_floating(dtype, "var", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = sum_acc_t<T>;
    const T* xp = static_cast<const T*>(x);
    A* vp = static_cast<A*>(var);
    A* mp = static_cast<A*>(mean);
    double dof = std::max(0.0, static_cast<double>(n) - correction);
    int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1));
    parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const T* row = xp + r * n;
        A m = row_reduce<A>(row, n, SumOp<A>{}) / static_cast<A>(n);
        SqDevOp<A> dev;
        dev.mean = m;
        A m2 = row_reduce<A>(row, n, dev);
        vp[r] = static_cast<A>(m2 / dof);
        mp[r] = m;
      }
    });
  });
}

void cpu_logsumexp(DType dtype, const void* x, void* out, int64_t rows, int64_t n) {
  dispatch_floating(dtype, "logsumexp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = sum_acc_t<T>;
    const T* xp = static_cast<const T*>(x);
    A* op = static_cast<A*>(out);
    int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1));
    parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const T* row = xp + r * n;
        A m = row_reduce<A>(row, n, MaxOp<A>{});
        ExpShiftOp<A> ex;
        ex.shift = std::isinf(m) ? A(0) : m;  // all -inf -> -inf, any +inf -> +inf
        op[r] = std::log(row_reduce<A>(row, n, ex)) + ex.shift;
      }
    });
  });
}

void cpu_softmax(bool log, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                 int64_t inner) {
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    T* op = static_cast<T*>(out);
    if (inner == 1) softmax_rows(log, xp, op, outer, n);
    else softmax_strided(log, xp, op, outer, n, inner);
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
