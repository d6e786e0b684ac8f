// CUDA kernels for reductions, arg-reductions, var/mean, logsumexp, softmax and scans: the twins
// of src/cpu/reduce_cpu.cpp, with the same [outer, n, inner] layouts, dtype sets and NaN rules.
// Rows (inner == 1) are reduced by a group of threads (a power of two up to a block) with a tree
// in shared memory; inner > 1 by one thread per output. Float sums are cascaded (short runs per
// thread, then trees), so their error grows slowly with n, as the CPU's pairwise sums.
#include "kernels/reduce.h"
#include <cmath>
#include <limits>
#include "kernels/launch.cuh"

namespace ctorch {

namespace {

using cuda::kBlockSize;

__device__ inline float abs_of(float v) { return fabsf(v); }
__device__ inline double abs_of(double v) { return fabs(v); }
__device__ inline float pow_of(float a, float b) { return powf(a, b); }
__device__ inline double pow_of(double a, double b) { return pow(a, b); }
__device__ inline float exp_of(float v) { return expf(v); }
__device__ inline double exp_of(double v) { return exp(v); }
__device__ inline float log_of(float v) { return logf(v); }
__device__ inline double log_of(double v) { return log(v); }
__device__ inline bool isinf_of(float v) { return isinf(v); }
__device__ inline bool isinf_of(double v) { return isinf(v); }

template <class A> __device__ A lowest_of() {
  if constexpr (std::numeric_limits<A>::has_infinity) return -std::numeric_limits<A>::infinity();
  else return std::numeric_limits<A>::lowest();
}
template <class A> __device__ A highest_of() {
  if constexpr (std::numeric_limits<A>::has_infinity) return std::numeric_limits<A>::infinity();
  else return std::numeric_limits<A>::max();
}

// The ops of reduce_cpu.cpp: init (identity), map (input element to accumulator), combine.
// Every reduction kernel there has accumulator type == input type == output type.
template <class A> struct SumOp {
  __device__ A init() const { return A(0); }
  __device__ A map(A x) const { return x; }
  __device__ A combine(A a, A b) const { return A(a + b); }
};
template <class A> struct ProdOp {
  __device__ A init() const { return A(1); }
  __device__ A map(A x) const { return x; }
  __device__ A combine(A a, A b) const { return A(a * b); }
};
// NaN wins: once a value is NaN, `b > a` and `b != b` stay false for ordinary b.
template <class A> struct MaxOp {
  __device__ A init() const { return lowest_of<A>(); }
  __device__ A map(A x) const { return x; }
  __device__ A combine(A a, A b) const { return (b > a || b != b) ? b : a; }
};
template <class A> struct MinOp {
  __device__ A init() const { return highest_of<A>(); }
  __device__ A map(A x) const { return x; }
  __device__ A combine(A a, A b) const { return (b < a || b != b) ? b : a; }
};
template <class A> struct SumAbsOp : SumOp<A> {
  __device__ A map(A x) const { return abs_of(x); }
};
template <class A> struct SumSqOp : SumOp<A> {
  __device__ A map(A x) const { return x * x; }
};
template <class A> struct SumPowAbsOp : SumOp<A> {
  A p;
  __device__ A map(A x) const { return pow_of(abs_of(x), p); }
};
template <class A> struct CountNonzeroOp : SumOp<A> {
  __device__ A map(A x) const { return x != A(0) ? A(1) : A(0); }
};
template <class A> struct MaxAbsOp : MaxOp<A> {
  __device__ A init() const { return A(0); }
  __device__ A map(A x) const { return abs_of(x); }
};
template <class A> struct MinAbsOp : MinOp<A> {
  __device__ A map(A x) const { return abs_of(x); }
};

// Tree over the g consecutive threads of a group (g a power of two dividing the block); every
// thread of the block must call it (it synchronises the block). sm holds kBlockSize values.
template <class A, class Op>
__device__ A group_reduce(A v, const Op& op, A* sm, int g) {
  int t = threadIdx.x, lane = t & (g - 1);
  sm[t] = v;
  __syncthreads();
  for (int s = g / 2; s > 0; s >>= 1) {
    if (lane < s) sm[t] = op.combine(sm[t], sm[t + s]);
    __syncthreads();
  }
  A r = sm[t - lane];
  __syncthreads();
  return r;
}

// A thread's share of a row (elements lane, lane + g, ...) folded with op after f, in runs of 32
// combined at the end, so that a long float sum is not one long chain.
template <class A, class Op, class T, class F>
__device__ A lane_fold(const T* p, int64_t n, int lane, int g, const Op& op, const F& f) {
  A acc = op.init(), run = op.init();
  int c = 0;
  for (int64_t i = lane; i < n; i += g) {
    run = op.combine(run, f(p[i]));
    if (++c == 32) {
      acc = op.combine(acc, run);
      run = op.init();
      c = 0;
    }
  }
  return op.combine(acc, run);
}

// The smallest power of two >= n, at most a block: the threads reducing one row.
int group_for(int64_t n) {
  int g = 1;
  while (g < n && g < kBlockSize) g <<= 1;
  return g;
}
unsigned blocks_for(int64_t rows, int g) { return cuda::grid_size(rows * g); }

Device current_cuda() { return Device(DeviceType::CUDA, cuda::current_device()); }

// ---- associative reductions

// Each row of x [rows, n] cut into `chunks` pieces of `chunk` elements; out[row * chunks + c]
// gets piece c reduced (after op.map when `map`: later passes combine partial results).
template <class A, class Op>
__global__ void chunk_reduce_kernel(const A* x, A* out, int64_t rows, int64_t n, int64_t chunks,
                                    int64_t chunk, int g, bool map, Op op) {
  __shared__ __align__(16) unsigned char raw[kBlockSize * sizeof(A)];
  A* sm = reinterpret_cast<A*>(raw);
  const int per_block = kBlockSize / g, lane = threadIdx.x & (g - 1);
  const int64_t tasks = rows * chunks;
  for (int64_t base = int64_t(blockIdx.x) * per_block; base < tasks;
       base += int64_t(gridDim.x) * per_block) {
    int64_t t = base + threadIdx.x / g;
    A acc = op.init();
    if (t < tasks) {
      int64_t r = t / chunks, b = (t - r * chunks) * chunk;
      int64_t e = b + chunk < n ? b + chunk : n;
      const A* p = x + r * n;
      if (map) for (int64_t i = b + lane; i < e; i += g) acc = op.combine(acc, op.map(p[i]));
      else for (int64_t i = b + lane; i < e; i += g) acc = op.combine(acc, p[i]);
    }
    acc = group_reduce(acc, op, sm, g);
    if (t < tasks && lane == 0) out[t] = acc;
  }
}

// A block reads kChunk elements of a long row (16 per thread), so every partial result is a
// short sum; the partials are reduced again the same way until one per row is left.
constexpr int64_t kChunk = int64_t(kBlockSize) * 16;

template <class A, class Op>
void launch_chunks(const A* x, A* out, int64_t rows, int64_t n, int64_t chunks, int64_t chunk,
                   int g, bool map, const Op& op) {
  chunk_reduce_kernel<A, Op><<<blocks_for(rows * chunks, g), kBlockSize, 0, cuda::stream()>>>(
      x, out, rows, n, chunks, chunk, g, map, op);
  CTORCH_CUDA_CHECK(cudaGetLastError());
}

template <class A, class Op>
void rows_reduce(const A* x, A* out, int64_t rows, int64_t n, const Op& op) {
  bool map = true;
  Tensor partial;  // keeps the previous pass's results alive (stream-ordered reuse)
  while (n > kChunk) {
    int64_t chunks = (n + kChunk - 1) / kChunk;
    Tensor next = empty({rows * chunks * int64_t(sizeof(A))}, DType::UInt8, current_cuda());
    A* np = static_cast<A*>(next.data_ptr());
    launch_chunks(x, np, rows, n, chunks, kChunk, kBlockSize, map, op);
    x = np;
    n = chunks;
    map = false;
    partial = next;
  }
  launch_chunks(x, out, rows, n, int64_t(1), n, group_for(n), map, op);
}

// [outer, n, inner], inner > 1: one thread per output walks its column (adjacent threads read
// adjacent memory), in runs of 64 for accuracy.
template <class A, class Op>
__global__ void strided_reduce_kernel(const A* x, A* out, int64_t outer, int64_t n, int64_t inner,
                                      Op op) {
  const int64_t total = outer * inner;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += int64_t(blockDim.x) * gridDim.x) {
    int64_t o = idx / inner, k = idx - o * inner;
    const A* p = x + o * n * inner + k;
    A acc = op.init(), run = op.init();
    for (int64_t i = 0; i < n; ++i) {
      run = op.combine(run, op.map(p[i * inner]));
      if ((i & 63) == 63) {
        acc = op.combine(acc, run);
        run = op.init();
      }
    }
    out[idx] = op.combine(acc, run);
  }
}

template <class A, class Op>
void run_reduce(const void* x, void* out, int64_t outer, int64_t n, int64_t inner, const Op& op) {
  const A* xp = static_cast<const A*>(x);
  A* o = static_cast<A*>(out);
  if (inner == 1) return rows_reduce(xp, o, outer, n, op);
  strided_reduce_kernel<A, Op><<<cuda::grid_size(outer * inner), kBlockSize, 0, cuda::stream()>>>(
      xp, o, outer, n, inner, op);
  CTORCH_CUDA_CHECK(cudaGetLastError());
}

// Calls f(TypeTag<T>) for the float and double kernels; other dtypes are converted by the op.
template <class F>
void dispatch_float_double(DType t, const char* what, const F& f) {
  if (t == DType::Float32) return f(TypeTag<float>{});
  if (t == DType::Float64) return f(TypeTag<double>{});
  CTORCH_FAIL("[", what, "] CUDA kernel not built for ", dtype_name(t));
}

void reduce_impl(ReduceKind kind, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                 int64_t inner, double p) {
  if (outer * inner == 0) return;
  switch (kind) {
    case ReduceKind::Sum:
    case ReduceKind::Prod: {
      auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (kind == ReduceKind::Sum) run_reduce<T>(x, out, outer, n, inner, SumOp<T>{});
        else run_reduce<T>(x, out, outer, n, inner, ProdOp<T>{});
      };
      if (dtype == DType::Int64) return run(TypeTag<int64_t>{});
      return dispatch_float_double(dtype, "sum", run);
    }
    case ReduceKind::Max:
    case ReduceKind::Min: {
      auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (kind == ReduceKind::Max) run_reduce<T>(x, out, outer, n, inner, MaxOp<T>{});
        else run_reduce<T>(x, out, outer, n, inner, MinOp<T>{});
      };
      return dispatch_ordered(dtype, "amax", run);
    }
    default: break;
  }
  // The norm kinds.
  dispatch_float_double(dtype, "vector_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (kind) {
      case ReduceKind::SumAbs: return run_reduce<T>(x, out, outer, n, inner, SumAbsOp<T>{});
      case ReduceKind::SumSq: return run_reduce<T>(x, out, outer, n, inner, SumSqOp<T>{});
      case ReduceKind::SumPowAbs: {
        SumPowAbsOp<T> op;
        op.p = static_cast<T>(p);
        return run_reduce<T>(x, out, outer, n, inner, op);
      }
      case ReduceKind::CountNonzero:
        return run_reduce<T>(x, out, outer, n, inner, CountNonzeroOp<T>{});
      case ReduceKind::MaxAbs: return run_reduce<T>(x, out, outer, n, inner, MaxAbsOp<T>{});
      case ReduceKind::MinAbs: return run_reduce<T>(x, out, outer, n, inner, MinAbsOp<T>{});
      default: CTORCH_FAIL("[cuda_reduce] unknown reduction");
    }
  });
}

// ---- argmax / argmin: the first index of the extreme, NaN counting as the extreme.

template <class A> struct ArgBest {
  A v;
  int64_t i;  // < 0: nothing seen yet
};
// Order-independent: the NaN with the smallest index, else the strict extreme with the smallest
// index, so the tree gives the CPU's first-index answer.
template <class A> struct ArgOp {
  bool is_max;
  __device__ ArgBest<A> init() const { return ArgBest<A>{A(0), -1}; }
  __device__ ArgBest<A> combine(ArgBest<A> a, ArgBest<A> b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    bool an = a.v != a.v, bn = b.v != b.v;
    if (an || bn) return (an && bn) ? (a.i <= b.i ? a : b) : (an ? a : b);
    if (is_max ? b.v > a.v : b.v < a.v) return b;
    if (is_max ? a.v > b.v : a.v < b.v) return a;
    return a.i <= b.i ? a : b;
  }
};

template <class T>
__global__ void arg_rows_kernel(bool is_max, const T* x, T* values, int64_t* indices,
                                int64_t rows, int64_t n, int g) {
  using A = opmath_t<T>;
  using B = ArgBest<A>;
  __shared__ __align__(16) unsigned char raw[kBlockSize * sizeof(B)];
  B* sm = reinterpret_cast<B*>(raw);
  ArgOp<A> op{is_max};
  const int per_block = kBlockSize / g, lane = threadIdx.x & (g - 1);
  for (int64_t base = int64_t(blockIdx.x) * per_block; base < rows;
       base += int64_t(gridDim.x) * per_block) {
    int64_t r = base + threadIdx.x / g;
    B acc = op.init();
    if (r < rows) {
      const T* p = x + r * n;
      for (int64_t i = lane; i < n; i += g) acc = op.combine(acc, B{static_cast<A>(p[i]), i});
    }
    acc = group_reduce(acc, op, sm, g);
    if (r < rows && lane == 0) {
      indices[r] = acc.i;
      if (values) values[r] = x[r * n + acc.i];
    }
  }
}

void arg_reduce_impl(bool is_max, DType dtype, const void* x, void* values, int64_t* indices,
                     int64_t rows, int64_t n) {
  if (rows == 0) return;
  CTORCH_CHECK(n > 0, "[argmax] CUDA kernel called on empty rows");
  int g = group_for(n);
  dispatch_all(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    arg_rows_kernel<T><<<blocks_for(rows, g), kBlockSize, 0, cuda::stream()>>>(
        is_max, static_cast<const T*>(x), static_cast<T*>(values), indices, rows, n, g);
    CTORCH_CUDA_CHECK(cudaGetLastError());
  });
}

// ---- var_mean, logsumexp, softmax over rows: a group of threads per row, several passes.

template <class T>
__global__ void var_mean_kernel(const T* x, T* var, T* mean, int64_t rows, int64_t n, double dof,
                                int g) {
  __shared__ __align__(16) unsigned char raw[kBlockSize * sizeof(T)];
  T* sm = reinterpret_cast<T*>(raw);
  SumOp<T> sum;
  const int per_block = kBlockSize / g, lane = threadIdx.x & (g - 1);
  for (int64_t base = int64_t(blockIdx.x) * per_block; base < rows;
       base += int64_t(gridDim.x) * per_block) {
    int64_t r = base + threadIdx.x / g;
    bool valid = r < rows;
    const T* p = x + (valid ? r : 0) * n;
    int64_t len = valid ? n : 0;
    T s = lane_fold<T>(p, len, lane, g, sum, [](T v) { return v; });
    T m = group_reduce(s, sum, sm, g) / static_cast<T>(n);
    T s2 = lane_fold<T>(p, len, lane, g, sum, [m](T v) { T d = v - m; return d * d; });
    s2 = group_reduce(s2, sum, sm, g);
    if (valid && lane == 0) {
      var[r] = static_cast<T>(s2 / dof);
      mean[r] = m;
    }
  }
}

void var_mean_impl(DType dtype, const void* x, void* var, void* mean, int64_t rows, int64_t n,
                   double correction) {
  if (rows == 0) return;
  double dof = n - correction > 0 ? static_cast<double>(n) - correction : 0.0;
  int g = group_for(n);
  dispatch_float_double(dtype, "var", [&](auto tag) {
    using T = typename decltype(tag)::type;
    var_mean_kernel<T><<<blocks_for(rows, g), kBlockSize, 0, cuda::stream()>>>(
        static_cast<const T*>(x), static_cast<T*>(var), static_cast<T*>(mean), rows, n, dof, g);
    CTORCH_CUDA_CHECK(cudaGetLastError());
  });
}

template <class T>
__global__ void logsumexp_kernel(const T* x, T* out, int64_t rows, int64_t n, int g) {
  __shared__ __align__(16) unsigned char raw[kBlockSize * sizeof(T)];
  T* sm = reinterpret_cast<T*>(raw);
  SumOp<T> sum;
  MaxOp<T> mx;
  const int per_block = kBlockSize / g, lane = threadIdx.x & (g - 1);
  for (int64_t base = int64_t(blockIdx.x) * per_block; base < rows;
       base += int64_t(gridDim.x) * per_block) {
    int64_t r = base + threadIdx.x / g;
    bool valid = r < rows;
    const T* p = x + (valid ? r : 0) * n;
    int64_t len = valid ? n : 0;
    T m = group_reduce(lane_fold<T>(p, len, lane, g, mx, [](T v) { return v; }), mx, sm, g);
    T shift = isinf_of(m) ? T(0) : m;  // all -inf -> -inf, any +inf -> +inf
    T s = lane_fold<T>(p, len, lane, g, sum, [shift](T v) { return exp_of(v - shift); });
    s = group_reduce(s, sum, sm, g);
    if (valid && lane == 0) out[r] = log_of(s) + shift;
  }
}

void logsumexp_impl(DType dtype, const void* x, void* out, int64_t rows, int64_t n) {
  if (rows == 0) return;
  int g = group_for(n);
  dispatch_float_double(dtype, "logsumexp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    logsumexp_kernel<T><<<blocks_for(rows, g), kBlockSize, 0, cuda::stream()>>>(
        static_cast<const T*>(x), static_cast<T*>(out), rows, n, g);
    CTORCH_CUDA_CHECK(cudaGetLastError());
  });
}

// Rows (inner == 1): max, sum of exp(x - max), then the normalised row (as softmax_rows).
template <class T>
__global__ void softmax_rows_kernel(bool log, const T* x, T* out, int64_t rows, int64_t n, int g) {
  __shared__ __align__(16) unsigned char raw[kBlockSize * sizeof(T)];
  T* sm = reinterpret_cast<T*>(raw);
  SumOp<T> sum;
  MaxOp<T> mx;
  const int per_block = kBlockSize / g, lane = threadIdx.x & (g - 1);
  for (int64_t base = int64_t(blockIdx.x) * per_block; base < rows;
       base += int64_t(gridDim.x) * per_block) {
    int64_t r = base + threadIdx.x / g;
    bool valid = r < rows;
    const T* p = x + (valid ? r : 0) * n;
    T* o = out + (valid ? r : 0) * n;
    int64_t len = valid ? n : 0;
    T m = group_reduce(lane_fold<T>(p, len, lane, g, mx, [](T v) { return v; }), mx, sm, g);
    T s = lane_fold<T>(p, len, lane, g, sum, [m](T v) { return exp_of(v - m); });
    s = group_reduce(s, sum, sm, g);
    if (log) {
      T shift = m + log_of(s);
      for (int64_t i = lane; i < len; i += g) o[i] = p[i] - shift;
    } else {
      T inv = T(1) / s;
      for (int64_t i = lane; i < len; i += g) o[i] = exp_of(p[i] - m) * inv;
    }
  }
}

// [outer, n, inner], inner > 1: one thread per column (as softmax_strided).
template <class T>
__global__ void softmax_strided_kernel(bool log, const T* x, T* out, int64_t outer, int64_t n,
                                       int64_t inner) {
  const int64_t total = outer * inner;
  MaxOp<T> mx;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += int64_t(blockDim.x) * gridDim.x) {
    int64_t o = idx / inner, k = idx - o * inner;
    const T* p = x + o * n * inner + k;
    T* q = out + o * n * inner + k;
    T m = mx.init();
    for (int64_t i = 0; i < n; ++i) m = mx.combine(m, p[i * inner]);
    T s = 0, run = 0;
    for (int64_t i = 0; i < n; ++i) {
      run += exp_of(p[i * inner] - m);
      if ((i & 63) == 63) {
        s += run;
        run = 0;
      }
    }
    s += run;
    if (log) {
      T shift = m + log_of(s);
      for (int64_t i = 0; i < n; ++i) q[i * inner] = p[i * inner] - shift;
    } else {
      T inv = T(1) / s;
      for (int64_t i = 0; i < n; ++i) q[i * inner] = exp_of(p[i * inner] - m) * inv;
    }
  }
}

void softmax_impl(bool log, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                  int64_t inner) {
  if (outer * n * inner == 0) return;
  CTORCH_CHECK(dtype == DType::Float32 || dtype == DType::Float64,
               "[softmax] CUDA kernel expects float32 or float64, got ", dtype_name(dtype));
  dispatch_float_double(dtype, "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    T* op = static_cast<T*>(out);
    if (inner == 1) {
      int g = group_for(n);
      softmax_rows_kernel<T><<<blocks_for(outer, g), kBlockSize, 0, cuda::stream()>>>(
          log, xp, op, outer, n, g);
    } else {
      softmax_strided_kernel<T><<<cuda::grid_size(outer * inner), kBlockSize, 0, cuda::stream()>>>(
          log, xp, op, outer, n, inner);
    }
    CTORCH_CUDA_CHECK(cudaGetLastError());
  });
}

// ---- scans. As on the CPU, floating scans accumulate in double and integer ones in int64.

// One thread per column of [outer, n, inner], in order: the CPU's exact sequence of operations.
template <class T, class Acc>
__global__ void scan_columns_kernel(bool prod, const T* x, T* out, int64_t outer, int64_t n,
                                    int64_t inner) {
  const int64_t total = outer * inner;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += int64_t(blockDim.x) * gridDim.x) {
    int64_t o = idx / inner, k = idx - o * inner;
    const T* p = x + o * n * inner + k;
    T* q = out + o * n * inner + k;
    Acc acc = Acc(prod ? 1 : 0);
    for (int64_t i = 0; i < n; ++i) {
      Acc v = static_cast<Acc>(p[i * inner]);
      acc = prod ? acc * v : acc + v;
      q[i * inner] = static_cast<T>(acc);
    }
  }
}

// Long rows (inner == 1): a block per row scans tiles of kBlockSize elements (Hillis-Steele in
// shared memory) and carries each tile's total into the next.
template <class T, class Acc>
__global__ void scan_rows_kernel(bool prod, const T* x, T* out, int64_t rows, int64_t n) {
  __shared__ Acc sm[kBlockSize];
  const int t = threadIdx.x;
  const Acc one = Acc(prod ? 1 : 0);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* p = x + r * n;
    T* q = out + r * n;
    Acc carry = one;
    for (int64_t b = 0; b < n; b += kBlockSize) {
      int64_t i = b + t;
      Acc v = i < n ? static_cast<Acc>(p[i]) : one;
      sm[t] = v;
      __syncthreads();
      for (int s = 1; s < kBlockSize; s <<= 1) {
        Acc left = t >= s ? sm[t - s] : one;
        __syncthreads();
        v = prod ? left * v : left + v;
        sm[t] = v;
        __syncthreads();
      }
      if (i < n) q[i] = static_cast<T>(prod ? carry * v : carry + v);
      Acc total = sm[kBlockSize - 1];
      carry = prod ? carry * total : carry + total;
      __syncthreads();
    }
  }
}

void scan_impl(bool prod, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
               int64_t inner) {
  if (outer * n * inner == 0) return;
  auto run = [&](auto tag, auto acc_tag) {
    using T = typename decltype(tag)::type;
    using Acc = typename decltype(acc_tag)::type;
    const T* xp = static_cast<const T*>(x);
    T* op = static_cast<T*>(out);
    // Short rows or columns: a thread each; long rows: a block each (cuts the dependency chain).
    if (inner == 1 && n > 2 * kBlockSize) {
      unsigned blocks = static_cast<unsigned>(outer < (1 << 20) ? outer : (1 << 20));
      scan_rows_kernel<T, Acc><<<blocks, kBlockSize, 0, cuda::stream()>>>(prod, xp, op, outer, n);
    } else {
      scan_columns_kernel<T, Acc><<<cuda::grid_size(outer * inner), kBlockSize, 0, cuda::stream()>>>(
          prod, xp, op, outer, n, inner);
    }
    CTORCH_CUDA_CHECK(cudaGetLastError());
  };
  switch (dtype) {
    case DType::Int64: return run(TypeTag<int64_t>{}, TypeTag<int64_t>{});
    case DType::Float16: return run(TypeTag<Half>{}, TypeTag<double>{});
    case DType::BFloat16: return run(TypeTag<BFloat16>{}, TypeTag<double>{});
    case DType::Float32: return run(TypeTag<float>{}, TypeTag<double>{});
    case DType::Float64: return run(TypeTag<double>{}, TypeTag<double>{});
    default: CTORCH_FAIL("[cumsum] CUDA scan kernel got unexpected dtype ", dtype_name(dtype));
  }
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_reduce, reduce_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_arg_reduce, arg_reduce_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_var_mean, var_mean_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_logsumexp, logsumexp_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_softmax, softmax_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_scan, scan_impl);

}  // namespace ctorch
