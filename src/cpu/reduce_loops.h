// The loop templates of the reduction, softmax and logsumexp kernels. reduce_cpu.cpp includes
// this file twice, into namespaces `base` (the build's baseline ISA) and `avx2` (compiled for
// AVX2+FMA and chosen at run time), so it has no include guard and must only be included there.
// The includer defines kLaneBytes: the bytes of independent accumulators (8 vector registers).

// Elements per block summed with independent lanes. Larger blocks measured faster (4096 -> 16384:
// 1.4x on a 2^24 float sum); a float lane still sums at most 512 values.
constexpr int64_t kLeaf = 16384;

// One block: kLanes independent accumulators (so the loop vectorises without reassociating),
// then a tree over the lanes.
template <class A, class T, class Op>
A leaf_reduce(const T* x, int64_t n, const Op& op) {
  constexpr int kLanes = static_cast<int>(kLaneBytes / sizeof(A));
  if (n < kLanes) {  // short rows: the lanes would cost more than they save
    A a = op.init();
    for (int64_t i = 0; i < n; ++i) a = op.combine(a, op.map(x[i]));
    return a;
  }
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
  if (n >= 4 * kLeaf && rows < 4 * get_num_threads()) {
    // About 16 chunks of whole leaves; depends on n only, so results are reproducible.
    int64_t chunk = ((n + 15) / 16 + kLeaf - 1) / kLeaf * kLeaf;
    int64_t nc = (n + chunk - 1) / chunk;
    std::unique_ptr<A[]> part(new A[nc]);
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = x + r * n;
      parallel_for(0, nc, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
          part[c] = row_reduce<A>(row + c * chunk, std::min(chunk, n - c * chunk), op);
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
// vectorised direction); partial results over blocks of rows keep float sums accurate. Handles
// tasks [t_begin, t_end) (an outer index and a block of inner) over rows [r_begin, r_end).
constexpr int64_t kBlock = 1024;  // columns per task: wider strips stream better (measured)
template <class A, class T, class O, class Op>
void strided_range(const T* x, O* out, int64_t n, int64_t inner, int64_t r_begin, int64_t r_end,
                   int64_t t_begin, int64_t t_end, const Op& op) {
  constexpr int64_t kRowBlock = 64;
  int64_t nblk = (inner + kBlock - 1) / kBlock;
  A total[kBlock], part[kBlock];
  for (int64_t t = t_begin; t < t_end; ++t) {
    int64_t o = t / nblk, k0 = (t % nblk) * kBlock, m = std::min(kBlock, inner - k0);
    for (int64_t k = 0; k < m; ++k) total[k] = op.init();
    for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowBlock) {
      for (int64_t k = 0; k < m; ++k) part[k] = op.init();
      for (int64_t r = r0, re = std::min(r_end, r0 + kRowBlock); r < re; ++r) {
        const T* row = x + (o * n + r) * inner + k0;
        for (int64_t k = 0; k < m; ++k) part[k] = op.combine(part[k], op.map(row[k]));
      }
      for (int64_t k = 0; k < m; ++k) total[k] = op.combine(total[k], part[k]);
    }
    for (int64_t k = 0; k < m; ++k) out[o * inner + k0 + k] = static_cast<O>(total[k]);
  }
}

template <class A, class T, class O, class Op>
void strided_reduce(const T* x, O* out, int64_t outer, int64_t n, int64_t inner, const Op& op) {
  int64_t tasks = outer * ((inner + kBlock - 1) / kBlock);
  if (tasks < 4 && n >= 16384) {
    // Few, tall columns: split the rows into a fixed number of parts (reproducible results),
    // reduce the parts in parallel, then combine them in order.
    constexpr int64_t kParts = 8;
    int64_t per = (n + kParts - 1) / kParts, width = outer * inner;
    std::unique_ptr<A[]> part(new A[kParts * width]);
    parallel_for(0, kParts, 1, [&](int64_t b, int64_t e) {
      for (int64_t s = b; s < e; ++s)
        strided_range<A>(x, part.get() + s * width, n, inner, s * per, std::min(n, (s + 1) * per),
                         0, tasks, op);
    });
    for (int64_t j = 0; j < width; ++j) {
      A acc = part[j];
      for (int64_t s = 1; s < kParts; ++s) acc = op.combine(acc, part[s * width + j]);
      out[j] = static_cast<O>(acc);
    }
    return;
  }
  int64_t per_task = std::max<int64_t>(1, n * std::min(kBlock, inner));
  parallel_for(0, tasks, std::max<int64_t>(1, kGrainSize / per_task), [&](int64_t b, int64_t e) {
    strided_range<A>(x, out, n, inner, 0, n, b, e, op);
  });
}

template <class A, class O, class T, class Op>
void run_reduce(const void* x, void* out, int64_t outer, int64_t n, int64_t inner, const Op& op) {
  const T* xp = static_cast<const T*>(x);
  O* op_out = static_cast<O*>(out);
  if (inner == 1) rows_reduce<A>(xp, op_out, outer, n, op);
  else strided_reduce<A>(xp, op_out, outer, n, inner, op);
}

// The vectorizable float exp of ops/math.h (the softmax loops are built for AVX2 too).
template <class T> inline T exp_of(T v) { return ::ctorch::math::exp(v); }

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

// Sums exp(x - shift) over a row (logsumexp).
template <class T> struct ExpShiftSum {
  T shift;
  T init() const { return T(0); }
  T map(T v) const { return exp_of(v - shift); }
  T combine(T a, T b) const { return a + b; }
};

template <class T>
void logsumexp_rows(const T* x, T* out, int64_t rows, int64_t n) {
  int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1));
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* row = x + r * n;
      T m = row_reduce<T>(row, n, MaxOp<T>{});
      ExpShiftSum<T> ex;
      ex.shift = std::isinf(m) ? T(0) : m;  // all -inf -> -inf, any +inf -> +inf
      out[r] = std::log(row_reduce<T>(row, n, ex)) + ex.shift;
    }
  });
}
