// Convolution on CUDA: im2col / col2im kernels (one thread per element) around cuBLAS GEMMs, the
// same decomposition as the CPU kernels in src/ops/conv.cpp. Blocks of samples share one GEMM call
// (strided-batched over the samples), one call per group.
#include <algorithm>
#include "ctorch/ops.h"
#include "kernels/conv.h"
#include "kernels/cublas.h"
#include "kernels/launch.cuh"

namespace ctorch {

namespace {

// Elements of im2col scratch per block of samples (256 MB in float64): bounds the memory while
// keeping GEMMs large.
constexpr int64_t kColElems = int64_t(1) << 25;

int device_of(const Tensor& t) { return cuda::resolve_device(t.device().index); }

// A 1x1 kernel with stride 1 and no padding reads the input as its own im2col matrix.
bool is_pointwise(const CudaConvGeo& g) {
  return g.KH == 1 && g.KW == 1 && g.s[0] == 1 && g.s[1] == 1 && g.p[0] == 0 && g.p[1] == 0 &&
         g.HO == g.H && g.WO == g.W;
}

// nb samples x [C, H, W] -> col: nb x [C * KH * KW, HO * WO] (rows ordered c, ki, kj, so a
// group's rows are contiguous); zeros where the kernel tap falls in the padding.
template <class T>
void im2col(const T* x, T* col, int64_t nb, const CudaConvGeo& g) {
  const int64_t H = g.H, W = g.W, KH = g.KH, KW = g.KW, HO = g.HO, WO = g.WO;
  const int64_t s0 = g.s[0], s1 = g.s[1], p0 = g.p[0], p1 = g.p[1], d0 = g.d[0], d1 = g.d[1];
  cuda::for_each_index(nb * g.C * KH * KW * HO * WO, [=] __device__(auto i) {
    using I = decltype(i);
    I t = i;
    const int64_t ow = t % I(WO); t /= I(WO);
    const int64_t oh = t % I(HO); t /= I(HO);
    const int64_t kj = t % I(KW); t /= I(KW);
    const int64_t ki = t % I(KH); t /= I(KH);  // t = sample * C + channel
    const int64_t ih = oh * s0 - p0 + ki * d0, iw = ow * s1 - p1 + kj * d1;
    T v = T(0);
    if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = x[(int64_t(t) * H + ih) * W + iw];
    col[i] = v;
  });
}

// The adjoint of im2col, gathered per input element (no atomics, deterministic): gx[n, c, h, w] =
// the sum of every col entry whose tap reads (h, w), taps in (ki, kj) order as on the CPU, plus
// bias[c] when given.
template <class T>
void col2im(const T* col, const T* bias, T* gx, int64_t nb, const CudaConvGeo& g) {
  const int64_t C = g.C, H = g.H, W = g.W, KH = g.KH, KW = g.KW, HO = g.HO, WO = g.WO;
  const int64_t s0 = g.s[0], s1 = g.s[1], p0 = g.p[0], p1 = g.p[1], d0 = g.d[0], d1 = g.d[1];
  const int64_t L = HO * WO;
  cuda::for_each_index(nb * C * H * W, [=] __device__(auto i) {
    using I = decltype(i);
    I t = i;
    const int64_t w = t % I(W); t /= I(W);
    const int64_t h = t % I(H); t /= I(H);  // t = sample * C + channel
    const int64_t nc = t;
    T sum = T(0);
    for (int64_t ki = 0; ki < KH; ++ki) {
      const int64_t ohs = h + p0 - ki * d0;  // oh * s0 when the tap reads row h
      if (ohs < 0 || ohs % s0 != 0 || ohs / s0 >= HO) continue;
      const int64_t oh = ohs / s0;
      for (int64_t kj = 0; kj < KW; ++kj) {
        const int64_t ows = w + p1 - kj * d1;
        if (ows < 0 || ows % s1 != 0 || ows / s1 >= WO) continue;
        sum += col[((nc * KH + ki) * KW + kj) * L + oh * WO + ows / s1];
      }
    }
    if (bias) sum += bias[nc % C];
    gx[i] = sum;
  });
}

// y[i] += b[channel of i] over a contiguous [*, channels, inner] tensor.
template <class T>
void add_channel_bias(T* y, const T* b, int64_t total, int64_t channels, int64_t inner) {
  cuda::for_each_index(total, [=] __device__(auto i) { y[i] += b[(int64_t(i) / inner) % channels]; });
}

void zero_fill(void* p, int64_t bytes) {
  if (bytes > 0) CTORCH_CUDA_CHECK(cudaMemsetAsync(p, 0, size_t(bytes), cuda::stream()));
}

// Samples per block when each sample needs `per_sample` elements of scratch.
int64_t block_samples(const CudaConvGeo& g, int64_t per_sample) {
  return std::max<int64_t>(1, std::min<int64_t>(g.N, kColElems / std::max<int64_t>(per_sample, 1)));
}

CudaGemm gemm_of(const Tensor& like) {
  CudaGemm m;
  m.dtype = like.dtype();
  m.device = device_of(like);
  return m;
}

template <class T>
void forward_t(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const CudaConvGeo& g) {
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, K = Cg * g.KH * g.KW, L = g.HO * g.WO;
  const int64_t CKK = g.C * g.KH * g.KW;
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pb = b.defined() ? b.data<T>() : nullptr;
  T* py = y.data<T>();
  if (y.numel() == 0) return;
  if (K == 0 || Og == 0) {
    zero_fill(py, y.numel() * int64_t(sizeof(T)));
  } else {
    const bool pw1 = is_pointwise(g);
    const int64_t nbmax = pw1 ? g.N : block_samples(g, CKK * L);
    Tensor col = pw1 ? Tensor() : empty({nbmax * CKK * L}, y.dtype(), y.device());
    for (int64_t n0 = 0; n0 < g.N; n0 += nbmax) {
      const int64_t nb = std::min(nbmax, g.N - n0);
      const T* src = px + n0 * g.C * L;  // 1x1: the input is its own im2col matrix
      int64_t sample_stride = g.C * L;
      if (!pw1) {
        im2col(px + n0 * g.C * g.H * g.W, col.data<T>(), nb, g);
        src = col.data<T>();
        sample_stride = CKK * L;
      }
      for (int64_t gi = 0; gi < g.G; ++gi) {  // y_g [Og, L] = w_g [Og, K] @ col_g [K, L]
        CudaGemm m = gemm_of(y);
        m.m = Og; m.n = L; m.k = K;
        m.a = pw + gi * Og * K; m.lda = K; m.stride_a = 0;
        m.b = src + gi * K * L; m.ldb = L; m.stride_b = sample_stride;
        m.c = py + (n0 * g.O + gi * Og) * L; m.ldc = L; m.stride_c = g.O * L;
        m.batch = nb;
        cuda_gemm(m);
      }
    }
  }
  if (pb) add_channel_bias(py, pb, y.numel(), g.O, L);
}

template <class T>
void input_grad_t(const Tensor& gy, const Tensor& w, const Tensor& b, const Tensor& gx,
                  const CudaConvGeo& g) {
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, K = Cg * g.KH * g.KW, L = g.HO * g.WO;
  const int64_t CKK = g.C * g.KH * g.KW, HW = g.H * g.W;
  const T* pgy = gy.data<T>();
  const T* pw = w.data<T>();
  const T* pb = b.defined() ? b.data<T>() : nullptr;
  T* pgx = gx.data<T>();
  if (gx.numel() == 0) return;
  bool bias_done = false;
  if (Og == 0 || L == 0 || K == 0) {
    zero_fill(pgx, gx.numel() * int64_t(sizeof(T)));
  } else {
    const bool pw1 = is_pointwise(g);
    const int64_t nbmax = pw1 ? g.N : block_samples(g, CKK * L);
    Tensor col = pw1 ? Tensor() : empty({nbmax * CKK * L}, gx.dtype(), gx.device());
    for (int64_t n0 = 0; n0 < g.N; n0 += nbmax) {
      const int64_t nb = std::min(nbmax, g.N - n0);
      for (int64_t gi = 0; gi < g.G; ++gi) {  // col_g [K, L] = w_g^T [K, Og] @ gy_g [Og, L]
        CudaGemm m = gemm_of(gx);
        m.ta = true;
        m.m = K; m.n = L; m.k = Og;
        m.a = pw + gi * Og * K; m.lda = K; m.stride_a = 0;
        m.b = pgy + (n0 * g.O + gi * Og) * L; m.ldb = L; m.stride_b = g.O * L;
        if (pw1) {  // 1x1: col is gx itself
          m.c = pgx + (n0 * g.C + gi * Cg) * HW; m.stride_c = g.C * HW;
        } else {
          m.c = col.data<T>() + gi * K * L; m.stride_c = CKK * L;
        }
        m.ldc = L;
        m.batch = nb;
        cuda_gemm(m);
      }
      if (!pw1) col2im(col.data<T>(), pb, pgx + n0 * g.C * HW, nb, g);
    }
    bias_done = !pw1;
  }
  if (pb && !bias_done) add_channel_bias(pgx, pb, gx.numel(), g.C, HW);
}

// gw[i] = (first ? 0 : gw[i]) + sum over j < nb of part[j * wn + i], samples in order (as the
// CPU accumulates them).
template <class T>
void sum_samples(const T* part, T* gw, int64_t nb, int64_t wn, bool first) {
  cuda::for_each_index(wn, [=] __device__(auto i) {
    T acc = first ? T(0) : gw[i];
    for (int64_t j = 0; j < nb; ++j) acc += part[j * wn + int64_t(i)];
    gw[i] = acc;
  });
}

template <class T>
void weight_grad_t(const Tensor& x, const Tensor& gy, const Tensor& gw, const CudaConvGeo& g) {
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, K = Cg * g.KH * g.KW, L = g.HO * g.WO;
  const int64_t CKK = g.C * g.KH * g.KW, wn = g.O * K;
  const T* px = x.data<T>();
  const T* pgy = gy.data<T>();
  T* pgw = gw.data<T>();
  if (gw.numel() == 0) return;
  if (L == 0 || K == 0 || Og == 0 || g.N == 0) {
    zero_fill(pgw, gw.numel() * int64_t(sizeof(T)));
    return;
  }
  const bool pw1 = is_pointwise(g);
  // Each sample's gradient goes to its own slice of `part` (one strided-batched GEMM per group
  // for the whole block), then one kernel sums the slices: nb GEMM calls would cost more.
  const int64_t nbmax = std::min(pw1 ? g.N : block_samples(g, CKK * L), block_samples(g, wn));
  Tensor col = pw1 ? Tensor() : empty({nbmax * CKK * L}, gw.dtype(), gw.device());
  Tensor part = empty({nbmax * wn}, gw.dtype(), gw.device());
  for (int64_t n0 = 0; n0 < g.N; n0 += nbmax) {
    const int64_t nb = std::min(nbmax, g.N - n0);
    const T* src = px + n0 * g.C * L;
    int64_t sample_stride = g.C * L;
    if (!pw1) {
      im2col(px + n0 * g.C * g.H * g.W, col.data<T>(), nb, g);
      src = col.data<T>();
      sample_stride = CKK * L;
    }
    for (int64_t gi = 0; gi < g.G; ++gi) {  // part_j,g [Og, K] = gy_j,g [Og, L] @ col_j,g^T [L, K]
      CudaGemm m = gemm_of(gw);
      m.tb = true;
      m.m = Og; m.n = K; m.k = L;
      m.a = pgy + (n0 * g.O + gi * Og) * L; m.lda = L; m.stride_a = g.O * L;
      m.b = src + gi * K * L; m.ldb = L; m.stride_b = sample_stride;
      m.c = part.data<T>() + gi * Og * K; m.ldc = K; m.stride_c = wn;
      m.batch = nb;
      cuda_gemm(m);
    }
    sum_samples(part.data<T>(), pgw, nb, wn, n0 == 0);
  }
}

void check_dtype(const Tensor& t) {
  CTORCH_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64,
               "[conv] internal error: the CUDA convolution kernels take float32 or float64, got ",
               dtype_name(t.dtype()));
}

void forward_impl(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                  const CudaConvGeo& g) {
  check_dtype(x);
  if (x.dtype() == DType::Float32) forward_t<float>(x, w, b, y, g);
  else forward_t<double>(x, w, b, y, g);
}
void input_grad_impl(const Tensor& gy, const Tensor& w, const Tensor& b, const Tensor& gx,
                     const CudaConvGeo& g) {
  check_dtype(gy);
  if (gy.dtype() == DType::Float32) input_grad_t<float>(gy, w, b, gx, g);
  else input_grad_t<double>(gy, w, b, gx, g);
}
void weight_grad_impl(const Tensor& x, const Tensor& gy, const Tensor& gw, const CudaConvGeo& g) {
  check_dtype(x);
  if (x.dtype() == DType::Float32) weight_grad_t<float>(x, gy, gw, g);
  else weight_grad_t<double>(x, gy, gw, g);
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_conv_forward, forward_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_conv_input_grad, input_grad_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_conv_weight_grad, weight_grad_impl);

}  // namespace ctorch
