// CUDA kernels of the fused nn ops: layer/batch/group norm forward and backward, class-index
// cross-entropy and NLL, embedding forward and backward. They mirror src/ops/nn_norm_kernels.h:
// same formulas, accumulation in the compute dtype (float or double), same eps placement.
#include <cub/device/device_radix_sort.cuh>
#include <climits>
#include "kernels/launch.cuh"
#include "kernels/nn_norm.h"
#include "ctorch/ops.h"
#include "ops/math.h"

namespace ctorch {
namespace {

using cuda::stream;

template <class T> const T* cp(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <class T> T* mp(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// Calls fn<T>(args...) for the compute dtype, float or double (16-bit inputs are widened by the
// caller). A template function, not a generic lambda: nvcc allows no __device__ lambda inside one.
#define NN_WORK(dtype, fn, ...) \
  ((dtype) == DType::Float64 ? fn<double>(__VA_ARGS__) : fn<float>(__VA_ARGS__))

// ------------------------------------------------------------------ block reductions
// One block (a multiple of 32 threads, at most 1024) cooperates on a row; `shm` holds 32 values.
// Every thread of the block must call these (they synchronise).

struct SumOp {
  template <class T> __device__ T operator()(T a, T b) const { return a + b; }
};
// NaNs are dropped like the CPU's lanes_max (the caller's sum of exp brings them back).
struct MaxOp {
  template <class T> __device__ T operator()(T a, T b) const { return b > a ? b : a; }
};

template <class T, class Op>
__device__ T block_reduce(T v, T* shm, Op op, T identity) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  __syncthreads();  // shm may still be read by a previous reduction
  if (lane == 0) shm[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nwarps ? shm[lane] : identity;
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, o));
    if (lane == 0) shm[0] = v;
  }
  __syncthreads();
  return shm[0];
}
template <class T> __device__ T block_sum(T v, T* shm) { return block_reduce(v, shm, SumOp{}, T(0)); }

// Threads per block for rows of n elements: a multiple of 32, up to 256.
int row_block(int64_t n) {
  int b = 32;
  while (b < 256 && b < n) b *= 2;
  return b;
}
// One block per row, a grid-stride loop doing the rest.
unsigned row_grid(int64_t rows) {
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(rows, 1), 1 << 20));
}
void check_launch() { CTORCH_CUDA_CHECK(cudaGetLastError()); }
// Not inf or NaN (x - x is NaN for both).
template <class T> __device__ __forceinline__ bool finite(T x) { return x - x == T(0); }

// ------------------------------------------------------------------ layer norm

template <class T>
__global__ void layer_norm_fwd_kernel(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd,
                                      int64_t M, int64_t N, T eps) {
  __shared__ T shm[32];
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const T* xr = x + r * N;
    T* yr = y + r * N;
    T s = T(0);
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) s += xr[i];
    const T mu = block_sum(s, shm) / T(N);
    T q = T(0);
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) { T d = xr[i] - mu; q += d * d; }
    const T var = block_sum(q, shm) / T(N);
    const T rs = T(1) / ::sqrt(var + eps);
    if (threadIdx.x == 0) { mean[r] = mu; rstd[r] = rs; }
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
      T v = (xr[i] - mu) * rs;
      if (w) v = v * w[i];
      if (b) v = v + b[i];
      yr[i] = v;
    }
  }
}

template <class T>
void layer_norm_fwd_t(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mean,
                      const Tensor& rstd, int64_t M, int64_t N, double eps) {
  if (M <= 0 || N <= 0) return;
  layer_norm_fwd_kernel<T><<<row_grid(M), row_block(N), 0, stream()>>>(
      x.data<T>(), cp<T>(w), cp<T>(b), y.data<T>(), mean.data<T>(), rstd.data<T>(), M, N, T(eps));
  check_launch();
}

// dx = rstd * (gw - mean(gw) - (x - mu) * rstd^2 * mean(gw * (x - mu))) per row.
template <class T>
__global__ void layer_norm_dx_kernel(const T* g, const T* x, const T* mean, const T* rstd, const T* w, T* dx,
                                     int64_t M, int64_t N) {
  __shared__ T shm[32];
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const T* gr = g + r * N;
    const T* xr = x + r * N;
    T* dr = dx + r * N;
    const T mu = mean[r], rs = rstd[r];
    T a = T(0), c = T(0);
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
      const T gw = w ? gr[i] * w[i] : gr[i];
      a += gw;
      c += gw * (xr[i] - mu);
    }
    a = block_sum(a, shm);
    c = block_sum(c, shm);
    const T c1 = a / T(N), c2 = c * rs * rs / T(N);
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
      const T gw = w ? gr[i] * w[i] : gr[i];
      dr[i] = rs * (gw - c1 - (xr[i] - mu) * c2);
    }
  }
}

template <class T>
void layer_norm_bwd_t(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                      const Tensor& dx, const Tensor& dw, const Tensor& db, int64_t M, int64_t N) {
  if (M <= 0 || N <= 0) return;
  const T *gp = g.data<T>(), *xp = x.data<T>(), *mu = mean.data<T>(), *rs = rstd.data<T>();
  if (dx.defined()) {
    layer_norm_dx_kernel<T><<<row_grid(M), row_block(N), 0, stream()>>>(gp, xp, mu, rs, cp<T>(w),
                                                                       dx.data<T>(), M, N);
    check_launch();
  }
  T *dwp = mp<T>(dw), *dbp = mp<T>(db);
  if (!dwp && !dbp) return;
  // dw, db: column sums over the rows, in two stages so that more than N threads work: partial
  // sums over chunks of kChunk rows (one thread per chunk and column), then the chunks in order.
  const int64_t kChunk = 64;
  const int64_t chunks = (M + kChunk - 1) / kChunk;
  Tensor part = empty({2, chunks, N}, x.dtype(), x.device());
  T* pw = part.data<T>();
  T* pb = pw + chunks * N;
  const bool want_w = dwp != nullptr;
  cuda::for_each_index(chunks * N, [=] __device__(auto e) {
    const int64_t ch = int64_t(e) / N, j = int64_t(e) - ch * N;
    const int64_t r1 = (ch + 1) * kChunk < M ? (ch + 1) * kChunk : M;
    T sw = T(0), sb = T(0);
    for (int64_t r = ch * kChunk; r < r1; ++r) {
      const T gv = gp[r * N + j];
      if (want_w) sw += gv * (xp[r * N + j] - mu[r]) * rs[r];
      sb += gv;
    }
    pw[e] = sw;
    pb[e] = sb;
  });
  cuda::for_each_index(N, [=] __device__(auto j) {
    T sw = T(0), sb = T(0);
    for (int64_t ch = 0; ch < chunks; ++ch) {
      sw += pw[ch * N + j];
      sb += pb[ch * N + j];
    }
    if (dwp) dwp[j] = sw;
    if (dbp) dbp[j] = sb;
  });
}

// ------------------------------------------------------------------ batch norm over [N, C, S]

// Element k of channel c's N * S values.
__device__ __forceinline__ int64_t ncs_offset(int64_t k, int64_t c, int64_t C, int64_t S) {
  const int64_t n = k / S;
  return (n * C + c) * S + (k - n * S);
}

template <class T>
__global__ void batch_norm_stats_kernel(const T* x, int64_t N, int64_t C, int64_t S, T* mean, T* var) {
  __shared__ T shm[32];
  const int64_t per = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    T s = T(0);
    for (int64_t k = threadIdx.x; k < per; k += blockDim.x) s += x[ncs_offset(k, c, C, S)];
    const T mu = block_sum(s, shm) / T(per);
    T v = T(0);
    for (int64_t k = threadIdx.x; k < per; k += blockDim.x) { T d = x[ncs_offset(k, c, C, S)] - mu; v += d * d; }
    v = block_sum(v, shm);
    if (threadIdx.x == 0) { mean[c] = mu; var[c] = v / T(per); }
  }
}

template <class T>
void batch_norm_stats_t(const Tensor& x, int64_t N, int64_t C, int64_t S, const Tensor& mean, const Tensor& var) {
  if (C <= 0) return;
  batch_norm_stats_kernel<T><<<row_grid(C), row_block(N * S), 0, stream()>>>(x.data<T>(), N, C, S,
                                                                            mean.data<T>(), var.data<T>());
  check_launch();
}

template <class T>
void scale_vector_t(const Tensor& src, const Tensor& out, double factor) {
  const T* s = src.data<T>();
  T* o = out.data<T>();
  cuda::for_each_index(src.numel(), [=] __device__(auto c) { o[c] = static_cast<T>(s[c] * factor); });
}

template <class T>
void running_update_t(const Tensor& running, const Tensor& stat, double momentum) {
  T* r = running.data<T>();
  const T* s = stat.data<T>();
  cuda::for_each_index(running.numel(), [=] __device__(auto c) {
    r[c] = static_cast<T>((1 - momentum) * r[c] + momentum * s[c]);
  });
}

template <class T>
void batch_norm_apply_t(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& w, const Tensor& b,
                        const Tensor& invstd, const Tensor& y, int64_t N, int64_t C, int64_t S, double eps) {
  Tensor scale = empty({C}, x.dtype(), x.device()), shift = empty({C}, x.dtype(), x.device());
  const T *m = mean.data<T>(), *v = var.data<T>(), *wp = cp<T>(w), *bp = cp<T>(b);
  T *ip = invstd.data<T>(), *sc = scale.data<T>(), *sh = shift.data<T>();
  const T e = T(eps);
  cuda::for_each_index(C, [=] __device__(auto c) {
    ip[c] = T(1) / ::sqrt(v[c] + e);
    sc[c] = wp ? wp[c] * ip[c] : ip[c];
    sh[c] = (bp ? bp[c] : T(0)) - m[c] * sc[c];
  });
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  cuda::for_each_index(N * C * S, [=] __device__(auto i) {
    const int64_t c = (int64_t(i) / S) % C;
    yp[i] = xp[i] * sc[c] + sh[c];
  });
}

template <class T>
__global__ void batch_norm_bwd_kernel(const T* g, const T* x, const T* mean, const T* invstd, const T* w, T* dx,
                                      T* dw, T* db, int64_t N, int64_t C, int64_t S, bool training) {
  __shared__ T shm[32];
  const int64_t per = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const T mu = mean[c], is = invstd[c], wc = w ? w[c] : T(1);
    T sg = T(0), sgx = T(0);
    for (int64_t k = threadIdx.x; k < per; k += blockDim.x) {
      const int64_t o = ncs_offset(k, c, C, S);
      sg += g[o];
      sgx += g[o] * (x[o] - mu);
    }
    sg = block_sum(sg, shm);
    sgx = block_sum(sgx, shm);
    if (threadIdx.x == 0) {
      if (dw) dw[c] = sgx * is;
      if (db) db[c] = sg;
    }
    if (!dx) continue;
    const T k = wc * is;
    const T c1 = training ? sg / T(per) : T(0);
    const T c2 = training ? sgx * is * is / T(per) : T(0);
    for (int64_t j = threadIdx.x; j < per; j += blockDim.x) {
      const int64_t o = ncs_offset(j, c, C, S);
      dx[o] = k * (g[o] - c1 - (x[o] - mu) * c2);
    }
  }
}

template <class T>
void batch_norm_bwd_t(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& w,
                      const Tensor& dx, const Tensor& dw, const Tensor& db, int64_t N, int64_t C, int64_t S,
                      bool training) {
  if (C <= 0) return;
  batch_norm_bwd_kernel<T><<<row_grid(C), row_block(N * S), 0, stream()>>>(
      g.data<T>(), x.data<T>(), mean.data<T>(), invstd.data<T>(), cp<T>(w), mp<T>(dx), mp<T>(dw), mp<T>(db),
      N, C, S, training);
  check_launch();
}

// ------------------------------------------------------------------ group norm: N * G groups of D * S

template <class T>
__global__ void group_norm_fwd_kernel(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t NG,
                                      int64_t G, int64_t D, int64_t S, T eps) {
  __shared__ T shm[32];
  const int64_t len = D * S;
  for (int64_t q = blockIdx.x; q < NG; q += gridDim.x) {
    const T* xq = x + q * len;
    T* yq = y + q * len;
    T s = T(0);
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) s += xq[i];
    const T mu = block_sum(s, shm) / T(len);
    T v = T(0);
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) { T d = xq[i] - mu; v += d * d; }
    const T var = block_sum(v, shm) / T(len);
    const T rs = T(1) / ::sqrt(var + eps);
    if (threadIdx.x == 0) { mean[q] = mu; rstd[q] = rs; }
    const int64_t g0 = (q % G) * D;
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
      const int64_t c = g0 + i / S;
      const T a = rs * (w ? w[c] : T(1));
      const T sh = (b ? b[c] : T(0)) - mu * a;
      yq[i] = xq[i] * a + sh;
    }
  }
}

template <class T>
void group_norm_fwd_t(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mean,
                      const Tensor& rstd, int64_t N, int64_t C, int64_t S, int64_t G, double eps) {
  if (N * C * S <= 0) return;
  const int64_t D = C / G;
  group_norm_fwd_kernel<T><<<row_grid(N * G), row_block(D * S), 0, stream()>>>(
      x.data<T>(), cp<T>(w), cp<T>(b), y.data<T>(), mean.data<T>(), rstd.data<T>(), N * G, G, D, S, T(eps));
  check_launch();
}

// Per (n, c) row of S: ds = sum g * x, dbs = sum g.
template <class T>
__global__ void row_sums_kernel(const T* g, const T* x, T* ds, T* dbs, int64_t rows, int64_t S) {
  __shared__ T shm[32];
  for (int64_t p = blockIdx.x; p < rows; p += gridDim.x) {
    const T* gp = g + p * S;
    const T* xp = x + p * S;
    T a = T(0), b = T(0);
    for (int64_t i = threadIdx.x; i < S; i += blockDim.x) { a += gp[i] * xp[i]; b += gp[i]; }
    a = block_sum(a, shm);
    b = block_sum(b, shm);
    if (threadIdx.x == 0) { ds[p] = a; dbs[p] = b; }
  }
}

template <class T>
void group_norm_bwd_t(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                      const Tensor& dx, const Tensor& dw, const Tensor& db, int64_t N, int64_t C, int64_t S,
                      int64_t G) {
  const int64_t D = C / G, len = D * S;
  Tensor dsb = empty({N * C}, x.dtype(), x.device()), dbsb = empty({N * C}, x.dtype(), x.device());
  T *ds = dsb.data<T>(), *dbs = dbsb.data<T>();
  const T *gp = g.data<T>(), *xp = x.data<T>(), *mu = mean.data<T>(), *rs = rstd.data<T>(), *wp = cp<T>(w);
  if (N * C > 0) {
    if (S > 0) {
      row_sums_kernel<T><<<row_grid(N * C), row_block(S), 0, stream()>>>(gp, xp, ds, dbs, N * C, S);
      check_launch();
    } else {
      cuda::for_each_index(N * C, [=] __device__(auto p) { ds[p] = T(0); dbs[p] = T(0); });
    }
  }
  if (dx.defined() && N * C * S > 0) {
    Tensor c1b = empty({N * G}, x.dtype(), x.device()), c2b = empty({N * G}, x.dtype(), x.device());
    T *c1 = c1b.data<T>(), *c2 = c2b.data<T>();
    // per group, the channels summed in order like the CPU
    cuda::for_each_index(N * G, [=] __device__(auto qi) {
      const int64_t q = qi, n = q / G, gi = q % G;
      const T m = mu[q], r = rs[q];
      T a = T(0), bq = T(0);
      for (int64_t d = 0; d < D; ++d) {
        const int64_t c = gi * D + d;
        const T wc = wp ? wp[c] : T(1);
        a += wc * dbs[n * C + c];
        bq += wc * (ds[n * C + c] - m * dbs[n * C + c]);
      }
      c1[q] = a / T(len);
      c2[q] = bq * r * r / T(len);
    });
    T* dp = dx.data<T>();
    cuda::for_each_index(N * C * S, [=] __device__(auto i) {
      const int64_t p = int64_t(i) / S, n = p / C, c = p % C, q = n * G + c / D;
      const T wc = wp ? wp[c] : T(1);
      dp[i] = rs[q] * (gp[i] * wc - c1[q] - (xp[i] - mu[q]) * c2[q]);
    });
  }
  T *dwp = mp<T>(dw), *dbp = mp<T>(db);
  if ((dwp || dbp) && C > 0) {
    cuda::for_each_index(C, [=] __device__(auto ci) {
      const int64_t c = ci;
      T sw = T(0), sb = T(0);
      for (int64_t n = 0; n < N; ++n) {
        const int64_t q = n * G + c / D;
        sw += rs[q] * (ds[n * C + c] - mu[q] * dbs[n * C + c]);
        sb += dbs[n * C + c];
      }
      if (dwp) dwp[c] = sw;
      if (dbp) dbp[c] = sb;
    });
  }
}

// ------------------------------------------------------------------ index validation

int64_t first_out_of_range_impl(const Tensor& idx, int64_t hi, bool use_ignore, int64_t ignore, int64_t* value) {
  const int64_t n = idx.numel();
  if (n == 0) return -1;
  // [0]: the smallest bad position (LLONG_MAX: none), [1]: the value there
  Tensor buf = empty({2}, DType::Int64, idx.device());
  auto* pos = reinterpret_cast<unsigned long long*>(buf.data<int64_t>());
  int64_t* val = buf.data<int64_t>() + 1;
  const int64_t* p = idx.data<int64_t>();
  cuda::for_each_index(1, [=] __device__(auto) { *pos = static_cast<unsigned long long>(LLONG_MAX); *val = 0; });
  cuda::for_each_index(n, [=] __device__(auto k) {
    const int64_t v = p[k];
    if (!((use_ignore && v == ignore) || (v >= 0 && v < hi)))
      atomicMin(pos, static_cast<unsigned long long>(k));
  });
  cuda::for_each_index(1, [=] __device__(auto) {
    if (*pos != static_cast<unsigned long long>(LLONG_MAX)) *val = p[*pos];
  });
  Tensor h = to(buf, DType::Int64, Device());  // the one host sync
  const int64_t first = h.data<int64_t>()[0];
  if (first == LLONG_MAX) return -1;
  *value = h.data<int64_t>()[1];
  return first;
}

// ------------------------------------------------------------------ cross entropy / NLL

// Rows of C contiguous classes (inner == 1): one block per sample.
template <class T>
__global__ void cross_entropy_rows_kernel(const T* x, const int64_t* tg, const T* w, T wsum, int64_t rows,
                                          int64_t C, int64_t ignore, T ls, T* loss, T* lse, T* wt) {
  __shared__ T shm[32];
  const T smooth = ls / T(C), keep = T(1) - ls;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t t = tg[r];
    if (t == ignore) {  // the same for the whole block: no reduction is skipped by part of it
      if (threadIdx.x == 0) { loss[r] = T(0); lse[r] = T(0); wt[r] = T(0); }
      continue;
    }
    const T* xr = x + r * C;
    T mx = -INFINITY;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) mx = xr[i] > mx ? xr[i] : mx;
    mx = block_reduce(mx, shm, MaxOp{}, T(-INFINITY));
    const T m = finite(mx) ? mx : T(0);
    T se = T(0), sx = T(0);
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      se += math::exp(xr[i] - m);
      sx += w ? w[i] * xr[i] : xr[i];
    }
    se = block_sum(se, shm);
    if (ls > T(0)) sx = block_sum(sx, shm);  // ls is uniform over the grid
    if (threadIdx.x == 0) {
      const T l = m + ::log(se);
      const T wr = w ? w[t] : T(1);
      T v = keep * wr * (l - xr[t]);
      if (ls > T(0)) v += smooth * (wsum * l - sx);
      loss[r] = v;
      lse[r] = l;
      wt[r] = wr;
    }
  }
}

template <class T>
void cross_entropy_fwd_t(const Tensor& x, const Tensor& t, const Tensor& w, double wsum, int64_t outer,
                         int64_t C, int64_t inner, int64_t ignore, double ls, const Tensor& loss,
                         const Tensor& lse, const Tensor& wt) {
  const int64_t ns = outer * inner;
  if (ns <= 0 || C <= 0) return;
  const T *xp = x.data<T>(), *wp = cp<T>(w);
  const int64_t* tp = t.data<int64_t>();
  T *lp = loss.data<T>(), *lsp = lse.data<T>(), *wtp = wt.data<T>();
  const T ws = T(wsum), lsT = T(ls);
  if (inner == 1) {
    cross_entropy_rows_kernel<T><<<row_grid(outer), row_block(C), 0, stream()>>>(xp, tp, wp, ws, outer, C,
                                                                                ignore, lsT, lp, lsp, wtp);
    check_launch();
    return;
  }
  // class dim strided by inner: one thread per sample, neighbours reading neighbouring memory
  cuda::for_each_index(ns, [=] __device__(auto ki) {
    const int64_t k = ki, o = k / inner, i = k - o * inner;
    const int64_t t = tp[k];
    if (t == ignore) { lp[k] = T(0); lsp[k] = T(0); wtp[k] = T(0); return; }
    const T smooth = lsT / T(C), keep = T(1) - lsT;
    const T* xo = xp + o * C * inner + i;
    T mx = -INFINITY;
    for (int64_t c = 0; c < C; ++c) mx = xo[c * inner] > mx ? xo[c * inner] : mx;
    mx = finite(mx) ? mx : T(0);
    T se = T(0), sx = T(0);
    for (int64_t c = 0; c < C; ++c) {
      const T wc = wp ? wp[c] : T(1);
      se += math::exp(xo[c * inner] - mx);
      sx += wc * xo[c * inner];
    }
    const T l = mx + ::log(se);
    const T wr = wp ? wp[t] : T(1);
    T v = keep * wr * (l - xo[t * inner]);
    if (lsT > T(0)) v += smooth * (ws * l - sx);
    lp[k] = v;
    lsp[k] = l;
    wtp[k] = wr;
  });
}

// One thread per element of dx, the CPU's two layouts' formulas (inner == 1 differs only in
// how ignored samples and the weight of the smoothing term are written).
template <class T>
void cross_entropy_bwd_t(const Tensor& x, const Tensor& t, const Tensor& w, double wsum, const Tensor& lse,
                         const Tensor& wt, const Tensor& gs, bool g_per_sample, double g_scale, int64_t outer,
                         int64_t C, int64_t inner, int64_t ignore, double ls, const Tensor& dx) {
  const int64_t total = outer * C * inner;
  if (total <= 0) return;
  const T *xp = x.data<T>(), *wp = cp<T>(w), *lsep = lse.data<T>(), *wtp = wt.data<T>(), *gp = gs.data<T>();
  const int64_t* tp = t.data<int64_t>();
  T* dp = dx.data<T>();
  const T ws = T(wsum), lsT = T(ls), sc = T(g_scale);
  const T smooth = lsT / T(C), keep = T(1) - lsT;
  cuda::for_each_index(total, [=] __device__(auto e) {
    const int64_t oc = int64_t(e) / inner, i = int64_t(e) - oc * inner, o = oc / C, c = oc - o * C;
    const int64_t k = o * inner + i, tk = tp[k];
    const bool ign = tk == ignore;
    if (inner == 1) {
      if (ign) { dp[e] = T(0); return; }
      const T s = (g_per_sample ? gp[k] : gp[0]) * sc;
      const T coef = s * (keep * wtp[k] + smooth * ws), ss = s * smooth;
      T v = coef * math::exp(xp[e] - lsep[k]) - ss * ((wp && lsT > T(0)) ? wp[c] : T(1));
      if (c == tk) v -= s * keep * wtp[k];
      dp[e] = v;
      return;
    }
    const T s = ign ? T(0) : (g_per_sample ? gp[k] : gp[0]) * sc;
    const T coef = s * (keep * wtp[k] + smooth * ws), ss = s * smooth;
    const T l = ign ? T(0) : lsep[k];
    // ignored samples: exactly 0 even where exp would overflow
    const T ex = coef == T(0) ? T(0) : coef * math::exp(xp[e] - l);
    T v = ex - ss * (wp ? wp[c] : T(1));
    if (!ign && c == tk) v -= s * keep * wtp[k];
    dp[e] = v;
  });
}

template <class T>
void nll_fwd_t(const Tensor& x, const Tensor& t, const Tensor& w, int64_t outer, int64_t C, int64_t inner,
               int64_t ignore, const Tensor& loss, const Tensor& wt) {
  const T *xp = x.data<T>(), *wp = cp<T>(w);
  const int64_t* tp = t.data<int64_t>();
  T *lp = loss.data<T>(), *wtp = wt.data<T>();
  cuda::for_each_index(outer * inner, [=] __device__(auto ki) {
    const int64_t k = ki, tk = tp[k];
    if (tk == ignore) { lp[k] = T(0); wtp[k] = T(0); return; }
    const int64_t o = k / inner, i = k - o * inner;
    wtp[k] = wp ? wp[tk] : T(1);
    lp[k] = -wtp[k] * xp[(o * C + tk) * inner + i];
  });
}

template <class T>
void nll_bwd_t(const Tensor& t, const Tensor& wt, const Tensor& gs, bool g_per_sample, double g_scale,
               int64_t outer, int64_t C, int64_t inner, int64_t ignore, const Tensor& dx) {
  const T *wtp = wt.data<T>(), *gp = gs.data<T>();
  const int64_t* tp = t.data<int64_t>();
  T* dp = dx.data<T>();
  const T sc = T(g_scale);
  cuda::for_each_index(outer * C * inner, [=] __device__(auto e) {
    const int64_t oc = int64_t(e) / inner, i = int64_t(e) - oc * inner, o = oc / C, c = oc - o * C;
    const int64_t k = o * inner + i, tk = tp[k];
    dp[e] = (tk != ignore && c == tk) ? -(g_per_sample ? gp[k] : gp[0]) * sc * wtp[k] : T(0);
  });
}

template <class T>
__global__ void loss_sums_kernel(const T* loss, const T* wt, int64_t n, double* out) {
  __shared__ double shm[32];
  double a = 0, b = 0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) {
    a += static_cast<double>(loss[k]);
    b += static_cast<double>(wt[k]);
  }
  a = block_sum(a, shm);
  b = block_sum(b, shm);
  if (threadIdx.x == 0) { out[0] = a; out[1] = b; }
}

template <class T>
void loss_sums_t(const Tensor& loss, const Tensor& wt, double* loss_sum, double* weight_sum) {
  *loss_sum = *weight_sum = 0;
  if (loss.numel() == 0) return;
  Tensor out = empty({2}, DType::Float64, loss.device());
  // one block: a loss has one value per sample, small next to the input it was computed from
  loss_sums_kernel<T><<<1, 1024, 0, stream()>>>(loss.data<T>(), wt.data<T>(), loss.numel(), out.data<double>());
  check_launch();
  Tensor h = to(out, DType::Float64, Device());
  *loss_sum = h.data<double>()[0];
  *weight_sum = h.data<double>()[1];
}

// ------------------------------------------------------------------ embedding

// Rows copied as raw elements: one instantiation per element size, not per dtype.
template <class U>
void gather_rows(const Tensor& weight, const Tensor& idx, const Tensor& out, int64_t n, int64_t D) {
  const int64_t* ip = idx.data<int64_t>();
  const U* wp = static_cast<const U*>(weight.data_ptr());
  U* op = static_cast<U*>(out.data_ptr());
  cuda::for_each_index(n * D, [=] __device__(auto e) {
    const int64_t k = int64_t(e) / D, j = int64_t(e) - k * D;
    op[e] = wp[ip[k] * D + j];
  });
}

void embedding_fwd_impl(const Tensor& weight, const Tensor& idx, const Tensor& out) {
  const int64_t n = idx.numel(), D = weight.dim() == 2 ? weight.size(1) : 0;
  if (n * D == 0) return;
  switch (weight.element_size()) {
    case 1: gather_rows<uint8_t>(weight, idx, out, n, D); break;
    case 2: gather_rows<uint16_t>(weight, idx, out, n, D); break;
    case 4: gather_rows<uint32_t>(weight, idx, out, n, D); break;
    default: gather_rows<uint64_t>(weight, idx, out, n, D); break;
  }
}

template <class T>
void embedding_bwd_t(const Tensor& g, const Tensor& idx, int64_t V, int64_t D, int64_t padding_idx,
                     bool scale, const Tensor& dw) {
  CTORCH_CUDA_CHECK(cudaMemsetAsync(dw.data_ptr(), 0, static_cast<size_t>(dw.numel()) * dw.element_size(), stream()));
  const int64_t n = idx.numel();
  if (n == 0 || D == 0) return;
  CTORCH_CHECK(n <= INT32_MAX, "[embedding_backward] more than 2^31 indices are not supported on CUDA");
  // Stable radix sort of (index, position): equal indices become runs in position order, so each
  // run's first position sums its rows in the CPU's order (deterministic, no atomics).
  Tensor keys = empty({n}, DType::Int64, g.device()), pos = empty({n}, DType::Int64, g.device());
  Tensor pos_in = empty({n}, DType::Int64, g.device());
  int64_t* pin = pos_in.data<int64_t>();
  cuda::for_each_index(n, [=] __device__(auto k) { pin[k] = k; });
  int end_bit = 1;
  while (end_bit < 63 && (int64_t(1) << end_bit) < V) ++end_bit;
  auto* kin = reinterpret_cast<const unsigned long long*>(idx.data<int64_t>());  // in [0, V): checked
  auto* kout = reinterpret_cast<unsigned long long*>(keys.data<int64_t>());
  size_t temp_bytes = 0;
  CTORCH_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, kin, kout, pin, pos.data<int64_t>(),
                                                  static_cast<int>(n), 0, end_bit, stream()));
  Tensor temp = empty({static_cast<int64_t>(temp_bytes) + 1}, DType::UInt8, g.device());
  CTORCH_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.data_ptr(), temp_bytes, kin, kout, pin,
                                                  pos.data<int64_t>(), static_cast<int>(n), 0, end_bit,
                                                  stream()));
  const int64_t* sk = keys.data<int64_t>();
  const int64_t* sp = pos.data<int64_t>();
  const T* gp = g.data<T>();
  T* dp = dw.data<T>();
  cuda::for_each_index(n * D, [=] __device__(auto e) {
    const int64_t p = int64_t(e) / D, j = int64_t(e) - p * D;
    const int64_t v = sk[p];
    if ((p > 0 && sk[p - 1] == v) || v == padding_idx) return;  // not a run's start, or padding
    T f = T(1);
    if (scale) {
      int64_t count = 0;
      for (int64_t q = p; q < n && sk[q] == v; ++q) ++count;
      f = static_cast<T>(1.0 / static_cast<double>(count));
    }
    T acc = T(0);
    for (int64_t q = p; q < n && sk[q] == v; ++q) acc += f * gp[sp[q] * D + j];
    dp[v * D + j] = acc;
  });
}

// ------------------------------------------------------------------ dtype dispatch of the entries

void layer_norm_fwd_impl(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mean,
                         const Tensor& rstd, int64_t M, int64_t N, double eps) {
  NN_WORK(x.dtype(), layer_norm_fwd_t, x, w, b, y, mean, rstd, M, N, eps);
}
void layer_norm_bwd_impl(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                         const Tensor& dx, const Tensor& dw, const Tensor& db, int64_t M, int64_t N) {
  NN_WORK(x.dtype(), layer_norm_bwd_t, g, x, mean, rstd, w, dx, dw, db, M, N);
}
void batch_norm_stats_impl(const Tensor& x, int64_t N, int64_t C, int64_t S, const Tensor& mean, const Tensor& var) {
  NN_WORK(x.dtype(), batch_norm_stats_t, x, N, C, S, mean, var);
}
void scale_vector_impl(const Tensor& src, const Tensor& out, double factor) {
  NN_WORK(src.dtype(), scale_vector_t, src, out, factor);
}
void running_update_impl(const Tensor& running, const Tensor& stat, double momentum) {
  NN_WORK(stat.dtype(), running_update_t, running, stat, momentum);
}
void batch_norm_apply_impl(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& w, const Tensor& b,
                           const Tensor& invstd, const Tensor& y, int64_t N, int64_t C, int64_t S, double eps) {
  NN_WORK(x.dtype(), batch_norm_apply_t, x, mean, var, w, b, invstd, y, N, C, S, eps);
}
void batch_norm_bwd_impl(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& w,
                         const Tensor& dx, const Tensor& dw, const Tensor& db, int64_t N, int64_t C, int64_t S,
                         bool training) {
  NN_WORK(x.dtype(), batch_norm_bwd_t, g, x, mean, invstd, w, dx, dw, db, N, C, S, training);
}
void group_norm_fwd_impl(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mean,
                         const Tensor& rstd, int64_t N, int64_t C, int64_t S, int64_t G, double eps) {
  NN_WORK(x.dtype(), group_norm_fwd_t, x, w, b, y, mean, rstd, N, C, S, G, eps);
}
void group_norm_bwd_impl(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                         const Tensor& dx, const Tensor& dw, const Tensor& db, int64_t N, int64_t C, int64_t S,
                         int64_t G) {
  NN_WORK(x.dtype(), group_norm_bwd_t, g, x, mean, rstd, w, dx, dw, db, N, C, S, G);
}
void cross_entropy_fwd_impl(const Tensor& x, const Tensor& t, const Tensor& w, double wsum, int64_t outer,
                            int64_t C, int64_t inner, int64_t ignore, double ls, const Tensor& loss,
                            const Tensor& lse, const Tensor& wt) {
  NN_WORK(x.dtype(), cross_entropy_fwd_t, x, t, w, wsum, outer, C, inner, ignore, ls, loss, lse, wt);
}
void cross_entropy_bwd_impl(const Tensor& x, const Tensor& t, const Tensor& w, double wsum, const Tensor& lse,
                            const Tensor& wt, const Tensor& gs, bool g_per_sample, double g_scale, int64_t outer,
                            int64_t C, int64_t inner, int64_t ignore, double ls, const Tensor& dx) {
  NN_WORK(x.dtype(), cross_entropy_bwd_t, x, t, w, wsum, lse, wt, gs, g_per_sample, g_scale, outer, C, inner,
          ignore, ls, dx);
}
void nll_fwd_impl(const Tensor& x, const Tensor& t, const Tensor& w, int64_t outer, int64_t C, int64_t inner,
                  int64_t ignore, const Tensor& loss, const Tensor& wt) {
  NN_WORK(x.dtype(), nll_fwd_t, x, t, w, outer, C, inner, ignore, loss, wt);
}
void nll_bwd_impl(const Tensor& t, const Tensor& wt, const Tensor& gs, bool g_per_sample, double g_scale,
                  int64_t outer, int64_t C, int64_t inner, int64_t ignore, const Tensor& dx) {
  NN_WORK(dx.dtype(), nll_bwd_t, t, wt, gs, g_per_sample, g_scale, outer, C, inner, ignore, dx);
}
void loss_sums_impl(const Tensor& loss, const Tensor& wt, double* loss_sum, double* weight_sum) {
  NN_WORK(loss.dtype(), loss_sums_t, loss, wt, loss_sum, weight_sum);
}
void embedding_bwd_impl(const Tensor& g, const Tensor& idx, int64_t V, int64_t D, int64_t padding_idx,
                        bool scale, const Tensor& dw) {
  NN_WORK(g.dtype(), embedding_bwd_t, g, idx, V, D, padding_idx, scale, dw);
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_layer_norm_fwd, layer_norm_fwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_layer_norm_bwd, layer_norm_bwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_batch_norm_stats, batch_norm_stats_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_nn_scale_vector, scale_vector_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_running_update, running_update_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_batch_norm_apply, batch_norm_apply_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_batch_norm_bwd, batch_norm_bwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_group_norm_fwd, group_norm_fwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_group_norm_bwd, group_norm_bwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_first_out_of_range, first_out_of_range_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_cross_entropy_fwd, cross_entropy_fwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_cross_entropy_bwd, cross_entropy_bwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_nll_fwd, nll_fwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_nll_bwd, nll_bwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_loss_sums, loss_sums_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_embedding_fwd, embedding_fwd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_embedding_bwd, embedding_bwd_impl);

}  // namespace ctorch
