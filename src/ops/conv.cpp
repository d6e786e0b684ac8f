// Convolution: conv1d/conv2d and their transposes through im2col + GEMM (OpenBLAS on the CPU,
// kernels/conv.cu with cuBLAS on CUDA), with the two backward kernels. Three differentiable primitives (forward, input-gradient, weight-gradient)
// cover everything: each one's backward is written with the other two, so double backward works
// and an ordinary backward (grad mode off) runs the fast kernels directly.
#include <algorithm>
#include <memory>
#include "autograd/function.h"
#include "cpu/blas.h"
#include "cpu/parallel.h"
#include "ctorch/ops.h"
#include "ctorch/ops/conv.h"
#include "kernels/conv.h"
#include "ops/elementwise_run.h"

namespace ctorch {

namespace {

// Stride, padding at the start, and dilation along (H, W); 1-D convs use H = 1 with (1, 0, 1).
// The padding at the end never reaches the kernels: it only decides the output size, which the
// primitives receive explicitly.
struct ConvP {
  int64_t s[2], p[2], d[2];
  int64_t groups;
};

// Sizes of one convolution seen as conv (input x -> output y), whatever the op computing it.
struct Geo {
  int64_t N, C, H, W, O, KH, KW, HO, WO, G;
  int64_t Cg() const { return C / G; }
  int64_t Og() const { return O / G; }
  int64_t K() const { return Cg() * KH * KW; }
  int64_t L() const { return HO * WO; }
};

// x: [N, C, (H,) W] or unbatched [C, (H,) W]; w: [O, C / G, (KH,) KW]; y like x with O channels.
Geo make_geo(IntArrayRef xs, IntArrayRef ws, IntArrayRef ys, int64_t groups) {
  bool two = ws.size() == 4;
  bool batched = xs.size() == ws.size();
  Geo g;
  g.N = batched ? xs[0] : 1;
  g.C = xs[batched ? 1 : 0];
  g.H = two ? xs[xs.size() - 2] : 1;
  g.W = xs[xs.size() - 1];
  g.O = ws[0];
  g.KH = two ? ws[2] : 1;
  g.KW = ws[ws.size() - 1];
  g.HO = two ? ys[ys.size() - 2] : 1;
  g.WO = ys[ys.size() - 1];
  g.G = groups;
  return g;
}

// C = op(A) @ op(B) + beta * C through the shared GEMM (serial inside a batch split, else split itself).
template <class T>
void conv_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
               int64_t ldb, T beta, T* c, int64_t ldc) {
  gemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, static_cast<double>(beta), c, ldc);
}

// Runs body(n0, n1) over the batch: split across threads when there are several samples and
// enough work per thread, else on the calling thread (each GEMM then splits itself).
template <class F>
void over_batch(int64_t n, int64_t work_per_sample, const F& body) {
  if (n <= 0) return;
  constexpr int64_t kMinWork = 1 << 17;  // multiply-adds below which a thread costs more than it saves
  int64_t grain = std::max<int64_t>(1, kMinWork / std::max<int64_t>(work_per_sample, 1));
  parallel_for(0, n, grain, body);
}

// Output rows [lo, hi) whose input row oh * s - p + k * d lies inside [0, size).
inline void valid_range(int64_t size, int64_t out, int64_t s, int64_t off, int64_t& lo, int64_t& hi) {
  // off = k * d - p; need 0 <= oh * s + off < size
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = size - off <= 0 ? 0 : (size - off + s - 1) / s;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
}

// GCC would turn the tap copies below into memmove calls, which cost more than the 8-element
// copies they usually are.
#if defined(__GNUC__) && !defined(__clang__)
#define CTORCH_CONV_NO_MEMCPY __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define CTORCH_CONV_NO_MEMCPY
#endif

// rows x WO outputs of one kernel tap: dst[r, ow] = src[r * src_ld + ow * sw] for ow in [lo, hi),
// zero elsewhere. Kept apart from im2col's loop nest so its few variables stay in registers.
template <class T>
CTORCH_CONV_NO_MEMCPY void copy_taps(const T* __restrict src, int64_t src_ld, int64_t sw,
                                     T* __restrict dst, int64_t WO, int64_t rows, int64_t lo,
                                     int64_t hi) {
  if (sw == 1 && lo == 0 && hi == WO) {
    for (int64_t r = 0; r < rows; ++r, src += src_ld, dst += WO)
      for (int64_t ow = 0; ow < WO; ++ow) dst[ow] = src[ow];
    return;
  }
  for (int64_t r = 0; r < rows; ++r, src += src_ld, dst += WO) {
    for (int64_t ow = 0; ow < lo; ++ow) dst[ow] = T(0);
    if (sw == 1)
      for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow];
    else
      for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * sw];
    for (int64_t ow = hi; ow < WO; ++ow) dst[ow] = T(0);
  }
}

// One group of one sample: x [Cg, H, W] -> the columns [Cg * KH * KW, HO * WO] of col, whose rows
// are `ld` apart (several samples share one col matrix side by side); zeros in the padding.
// Rows are often a few elements long, so the bounds are worked out once per kernel tap and the
// inner loops are plain copies (memcpy/fill calls would cost more than the copy itself).
template <class T>
void im2col(const T* x, const Geo& g, const ConvP& p, T* col, int64_t ld) {
  const int64_t cg = g.Cg(), WO = g.WO, sw = p.s[1];
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t ki = 0; ki < g.KH; ++ki) {
      int64_t oh_lo, oh_hi;
      valid_range(g.H, g.HO, p.s[0], ki * p.d[0] - p.p[0], oh_lo, oh_hi);
      for (int64_t kj = 0; kj < g.KW; ++kj) {
        T* dst = col + ((c * g.KH + ki) * g.KW + kj) * ld;
        const int64_t iw0 = kj * p.d[1] - p.p[1];
        int64_t lo, hi;  // output columns whose input column is inside [0, W)
        valid_range(g.W, WO, sw, iw0, lo, hi);
        std::fill(dst, dst + oh_lo * WO, T(0));
        std::fill(dst + oh_hi * WO, dst + g.HO * WO, T(0));
        if (oh_hi <= oh_lo) continue;
        const T* src = x + (c * g.H + oh_lo * p.s[0] - p.p[0] + ki * p.d[0]) * g.W + iw0;
        copy_taps(src, p.s[0] * g.W, sw, dst + oh_lo * WO, WO, oh_hi - oh_lo, lo, hi);
      }
    }
}

// The adjoint of copy_taps: dst[r * dst_ld + ow * sw] += src[r, ow] for ow in [lo, hi).
template <class T>
void add_taps(const T* __restrict src, int64_t WO, T* __restrict dst, int64_t dst_ld, int64_t sw,
              int64_t rows, int64_t lo, int64_t hi) {
  for (int64_t r = 0; r < rows; ++r, src += WO, dst += dst_ld) {
    if (sw == 1)
      for (int64_t ow = lo; ow < hi; ++ow) dst[ow] += src[ow];
    else
      for (int64_t ow = lo; ow < hi; ++ow) dst[ow * sw] += src[ow];
  }
}

// The adjoint of im2col: accumulates col's columns [Cg * KH * KW, HO * WO] (rows `ld` apart)
// into x [Cg, H, W].
template <class T>
void col2im(const T* col, int64_t ld, const Geo& g, const ConvP& p, T* x) {
  const int64_t cg = g.Cg(), WO = g.WO, sw = p.s[1];
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t ki = 0; ki < g.KH; ++ki) {
      int64_t oh_lo, oh_hi;
      valid_range(g.H, g.HO, p.s[0], ki * p.d[0] - p.p[0], oh_lo, oh_hi);
      for (int64_t kj = 0; kj < g.KW; ++kj) {
        const T* srcrow = col + ((c * g.KH + ki) * g.KW + kj) * ld;
        const int64_t iw0 = kj * p.d[1] - p.p[1];
        int64_t lo, hi;
        valid_range(g.W, WO, sw, iw0, lo, hi);
        if (oh_hi <= oh_lo || hi <= lo) continue;
        T* dst = x + (c * g.H + oh_lo * p.s[0] - p.p[0] + ki * p.d[0]) * g.W + iw0;
        add_taps(srcrow + oh_lo * WO, WO, dst, p.s[0] * g.W, sw, oh_hi - oh_lo, lo, hi);
      }
    }
}

// A 1x1 kernel with stride 1 and no padding reads the input as its own im2col matrix.
bool is_pointwise(const Geo& g, const ConvP& p) {
  return g.KH == 1 && g.KW == 1 && p.s[0] == 1 && p.s[1] == 1 && p.p[0] == 0 && p.p[1] == 0 &&
         g.HO == g.H && g.WO == g.W;
}

// Samples per GEMM: small images are put side by side so that one GEMM has enough columns to
// run at full speed (a 16x150 @ 150x64 product per sample runs at a fraction of it, and BLAS
// repacks the weight for every call), as long as the block's im2col matrix stays a few MB.
int64_t block_samples(const Geo& g) {
  constexpr int64_t kCols = 2048, kMaxElems = int64_t(1) << 20;
  const int64_t L = std::max<int64_t>(g.L(), 1);
  int64_t nb = (kCols + L - 1) / L;
  nb = std::min(nb, kMaxElems / std::max<int64_t>(g.K() * L, 1));
  return std::max<int64_t>(nb, 1);
}

// rows [rows, L] at src (rows `src_ld` apart) -> dst (rows `dst_ld` apart)
template <class T>
void copy_rows(const T* src, int64_t src_ld, T* dst, int64_t dst_ld, int64_t rows, int64_t L) {
  for (int64_t r = 0; r < rows; ++r) std::copy(src + r * src_ld, src + r * src_ld + L, dst + r * dst_ld);
}

// Per-thread scratch for a block of nb samples of one group.
template <class T>
struct Scratch {
  std::unique_ptr<T[]> col, mat;  // im2col block [K, nb * L]; a gathered [Og, nb * L] block
  Scratch(const Geo& g, int64_t nb) {
    col.reset(new T[static_cast<size_t>(std::max<int64_t>(1, g.K() * nb * g.L()))]);
    if (nb > 1) mat.reset(new T[static_cast<size_t>(std::max<int64_t>(1, g.Og() * nb * g.L()))]);
  }
};

// The columns of nb samples' group gi side by side: [K, nb * L], or x itself (1x1, one sample).
template <class T>
const T* gather_cols(const T* x, int64_t n0, int64_t nb, int64_t gi, const Geo& g, const ConvP& p,
                     bool pw, T* col) {
  const int64_t L = g.L(), ld = nb * L, HW = g.H * g.W;
  if (pw && nb == 1) return x + (n0 * g.C + gi * g.Cg()) * HW;
  for (int64_t j = 0; j < nb; ++j) {
    const T* xs = x + ((n0 + j) * g.C + gi * g.Cg()) * HW;
    if (pw) copy_rows(xs, L, col + j * L, ld, g.Cg(), L);
    else im2col(xs, g, p, col + j * L, ld);
  }
  return col;
}

// gy's group gi of nb samples as one [Og, nb * L] matrix (gy itself for one sample).
template <class T>
const T* gather_out(const T* gy, int64_t n0, int64_t nb, int64_t gi, const Geo& g, T* mat) {
  const int64_t L = g.L();
  if (nb == 1) return gy + (n0 * g.O + gi * g.Og()) * L;
  for (int64_t j = 0; j < nb; ++j)
    copy_rows(gy + ((n0 + j) * g.O + gi * g.Og()) * L, L, mat + j * L, nb * L, g.Og(), L);
  return mat;
}

// y [N, O, HO, WO] = conv(x [N, C, H, W], w [O, Cg, KH, KW]) + b
template <class T>
void conv_forward_kernel(const T* x, const T* w, const T* b, T* y, const Geo& g, const ConvP& p) {
  const int64_t K = g.K(), L = g.L(), Og = g.Og();
  const bool pw = is_pointwise(g, p);
  over_batch(g.N, g.O * K * L, [&](int64_t n0, int64_t n1) {
    const int64_t nbmax = std::min(block_samples(g), n1 - n0);
    Scratch<T> s(g, nbmax);
    for (int64_t nb0 = n0; nb0 < n1; nb0 += nbmax) {
      const int64_t nb = std::min(nbmax, n1 - nb0), ld = nb * L;
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const T* wg = w + gi * Og * K;
        if (nb == 1) {
          T* yo = y + (nb0 * g.O + gi * Og) * L;
          for (int64_t o = 0; o < Og; ++o)
            std::fill(yo + o * L, yo + (o + 1) * L, b ? b[gi * Og + o] : T(0));
          if (K == 0 || L == 0 || Og == 0) continue;
          const T* src = gather_cols(x, nb0, 1, gi, g, p, pw, s.col.get());
          conv_gemm(false, false, Og, L, K, wg, K, src, L, b ? T(1) : T(0), yo, L);
          continue;
        }
        T* mat = s.mat.get();
        if (K == 0) std::fill(mat, mat + Og * ld, T(0));
        else {
          const T* src = gather_cols(x, nb0, nb, gi, g, p, pw, s.col.get());
          conv_gemm(false, false, Og, ld, K, wg, K, src, ld, T(0), mat, ld);
        }
        for (int64_t j = 0; j < nb; ++j)
          for (int64_t o = 0; o < Og; ++o) {
            const T* r = mat + o * ld + j * L;
            T* yo = y + ((nb0 + j) * g.O + gi * Og + o) * L;
            const T bv = b ? b[gi * Og + o] : T(0);
            for (int64_t i = 0; i < L; ++i) yo[i] = r[i] + bv;
          }
      }
    }
  });
}

// gx [N, C, H, W] = conv's input gradient from gy [N, O, HO, WO] (+ b per input channel: the
// bias of a transposed convolution).
template <class T>
void conv_input_kernel(const T* gy, const T* w, const T* b, T* gx, const Geo& g, const ConvP& p) {
  const int64_t K = g.K(), L = g.L(), Og = g.Og(), Cg = g.Cg(), HW = g.H * g.W;
  const bool pw = is_pointwise(g, p);
  over_batch(g.N, g.O * K * L, [&](int64_t n0, int64_t n1) {
    const int64_t nbmax = std::min(block_samples(g), n1 - n0);
    Scratch<T> s(g, nbmax);
    for (int64_t nb0 = n0; nb0 < n1; nb0 += nbmax) {
      const int64_t nb = std::min(nbmax, n1 - nb0), ld = nb * L;
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const T* wg = w + gi * Og * K;
        T* gx0 = gx + (nb0 * g.C + gi * Cg) * HW;  // sample j's group at gx0 + j * C * HW
        if (Og == 0 || L == 0 || K == 0) {
          for (int64_t j = 0; j < nb; ++j) std::fill(gx0 + j * g.C * HW, gx0 + j * g.C * HW + Cg * HW, T(0));
          continue;
        }
        const T* gys = gather_out(gy, nb0, nb, gi, g, s.mat.get());
        if (pw && nb == 1) {
          conv_gemm(true, false, K, L, Og, wg, K, gys, L, T(0), gx0, L);
          continue;
        }
        T* col = s.col.get();
        conv_gemm(true, false, K, ld, Og, wg, K, gys, ld, T(0), col, ld);
        for (int64_t j = 0; j < nb; ++j) {
          T* gxs = gx0 + j * g.C * HW;
          if (pw) {
            copy_rows(col + j * L, ld, gxs, L, Cg, L);
          } else {
            std::fill(gxs, gxs + Cg * HW, T(0));
            col2im(col + j * L, ld, g, p, gxs);
          }
        }
      }
      if (b)
        for (int64_t n = nb0; n < nb0 + nb; ++n)
          for (int64_t c = 0; c < g.C; ++c) {
            T* d = gx + (n * g.C + c) * HW;
            for (int64_t i = 0; i < HW; ++i) d[i] += b[c];
          }
    }
  });
}

// gw [O, Cg, KH, KW] = sum over the batch of gy[n] (as [O, L]) @ im2col(x[n])^T, per group.
// Each thread accumulates its samples into its own buffer; the buffers are summed at the end.
template <class T>
void conv_weight_kernel(const T* x, const T* gy, T* gw, const Geo& g, const ConvP& p) {
  const int64_t K = g.K(), L = g.L(), Og = g.Og();
  const int64_t wn = g.O * K;
  std::fill(gw, gw + wn, T(0));
  if (L == 0 || K == 0 || Og == 0) return;
  const bool pw = is_pointwise(g, p);
  std::mutex mu;
  over_batch(g.N, g.O * K * L, [&](int64_t n0, int64_t n1) {
    const int64_t nbmax = std::min(block_samples(g), n1 - n0);
    Scratch<T> s(g, nbmax);
    std::unique_ptr<T[]> acc(new T[static_cast<size_t>(wn)]);
    for (int64_t nb0 = n0; nb0 < n1; nb0 += nbmax) {
      const int64_t nb = std::min(nbmax, n1 - nb0), ld = nb * L;
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const T* src = gather_cols(x, nb0, nb, gi, g, p, pw, s.col.get());
        const T* gys = gather_out(gy, nb0, nb, gi, g, s.mat.get());
        conv_gemm(false, true, Og, K, ld, gys, ld, src, ld, nb0 == n0 ? T(0) : T(1),
                  acc.get() + gi * Og * K, K);
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    for (int64_t i = 0; i < wn; ++i) gw[i] += acc[i];
  });
}

bool half_like(DType t) { return t == DType::Float16 || t == DType::BFloat16; }
Tensor as_float(const Tensor& t) { return t.defined() ? t.to(DType::Float32) : t; }
// Integer convolutions (forward only, as in PyTorch) run in float64: exact while every partial sum
// stays below 2^53; the result wraps to the integer type through int64.
Tensor as_double(const Tensor& t) { return t.defined() ? t.to(DType::Float64) : t; }
Tensor back_to_int(const Tensor& r, DType dt) { return r.to(DType::Int64).to(dt); }

// The CUDA kernels' view of a convolution.
CudaConvGeo cuda_geo(const Geo& g, const ConvP& p) {
  return CudaConvGeo{g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.HO, g.WO, g.G,
                     {p.s[0], p.s[1]}, {p.p[0], p.p[1]}, {p.d[0], p.d[1]}};
}

// The raw kernels over tensors (no autograd): contiguous operands, 16-bit floats through float32
// (on CUDA too, as on the CPU), integers through float64.
Tensor run_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvP& p,
                   IntArrayRef yshape) {
  DType dt = x.dtype();
  if (half_like(dt)) return run_forward(as_float(x), as_float(w), as_float(b), p, yshape).to(dt);
  if (!is_floating(dt))
    return back_to_int(run_forward(as_double(x), as_double(w), as_double(b), p, yshape), dt);
  Tensor xc = contiguous(x), wc = contiguous(w), bc = b.defined() ? contiguous(b) : b;
  Tensor y = empty(yshape, dt, x.device());
  Geo g = make_geo(x.sizes(), w.sizes(), yshape, p.groups);
  if (x.device().is_cuda()) {
    cuda_conv_forward(xc, wc, bc, y, cuda_geo(g, p));
    return y;
  }
  if (dt == DType::Float32)
    conv_forward_kernel(xc.data<float>(), wc.data<float>(), bc.defined() ? bc.data<float>() : nullptr,
                        y.data<float>(), g, p);
  else
    conv_forward_kernel(xc.data<double>(), wc.data<double>(),
                        bc.defined() ? bc.data<double>() : nullptr, y.data<double>(), g, p);
  return y;
}

Tensor run_input_grad(const Tensor& gy, const Tensor& w, const Tensor& b, const ConvP& p,
                      IntArrayRef xshape) {
  DType dt = gy.dtype();
  if (half_like(dt)) return run_input_grad(as_float(gy), as_float(w), as_float(b), p, xshape).to(dt);
  if (!is_floating(dt))
    return back_to_int(run_input_grad(as_double(gy), as_double(w), as_double(b), p, xshape), dt);
  Tensor gyc = contiguous(gy), wc = contiguous(w), bc = b.defined() ? contiguous(b) : b;
  Tensor gx = empty(xshape, dt, gy.device());
  Geo g = make_geo(xshape, w.sizes(), gy.sizes(), p.groups);
  if (gy.device().is_cuda()) {
    cuda_conv_input_grad(gyc, wc, bc, gx, cuda_geo(g, p));
    return gx;
  }
  if (dt == DType::Float32)
    conv_input_kernel(gyc.data<float>(), wc.data<float>(), bc.defined() ? bc.data<float>() : nullptr,
                      gx.data<float>(), g, p);
  else
    conv_input_kernel(gyc.data<double>(), wc.data<double>(),
                      bc.defined() ? bc.data<double>() : nullptr, gx.data<double>(), g, p);
  return gx;
}

Tensor run_weight_grad(const Tensor& x, const Tensor& gy, IntArrayRef wshape, const ConvP& p) {
  DType dt = x.dtype();
  if (half_like(dt)) return run_weight_grad(as_float(x), as_float(gy), wshape, p).to(dt);
  Tensor xc = contiguous(x), gyc = contiguous(gy);
  Tensor gw = empty(wshape, dt, x.device());
  Geo g = make_geo(x.sizes(), wshape, gy.sizes(), p.groups);
  if (x.device().is_cuda()) {
    cuda_conv_weight_grad(xc, gyc, gw, cuda_geo(g, p));
    return gw;
  }
  if (dt == DType::Float32)
    conv_weight_kernel(xc.data<float>(), gyc.data<float>(), gw.data<float>(), g, p);
  else
    conv_weight_kernel(xc.data<double>(), gyc.data<double>(), gw.data<double>(), g, p);
  return gw;
}

// The gradient of a bias: a sum over every dim but the channel dim.
Tensor bias_grad(const Tensor& g, bool batched) {
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (d != (batched ? 1 : 0)) dims.push_back(d);
  return sum(g, dims);
}

// ---- the differentiable primitives. `name` is the node's name (PyTorch's for the public ops).
Tensor conv_weight_grad(const Tensor& x, const Tensor& gy, const DimVector& wshape, const ConvP& p);
Tensor conv_input_grad(const Tensor& gy, const Tensor& w, const Tensor& b, const ConvP& p,
                       const DimVector& xshape, const char* name);

// y = conv(x, w) + b with y of shape yshape.
Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvP& p,
                    const DimVector& yshape, const char* name) {
  if (autograd::recording({&x, &w, &b})) {
    Tensor r = autograd::untracked([&] { return conv_forward(x, w, b, p, yshape, name); });
    bool batched = x.dim() == w.dim();
    autograd::record(name, {x, w, b}, {r}, {x, w}, [p, batched](const autograd::Context& c) {
      const Tensor& gy = c.grad();
      Tensor x = c.saved(0), w = c.saved(1), gx, gw, gb;
      if (c.needs_grad(0))
        gx = conv_input_grad(gy, w, Tensor(), p, DimVector(x.sizes()), "ConvolutionBackwardBackward0");
      if (c.needs_grad(1)) gw = conv_weight_grad(x, gy, DimVector(w.sizes()), p);
      if (c.needs_grad(2)) gb = bias_grad(gy, batched);
      return std::vector<Tensor>{gx, gw, gb};
    });
    return r;
  }
  return run_forward(x, w, b, p, yshape);
}

// x-shaped result of the conv's input gradient from gy, plus b per channel (conv_transpose).
Tensor conv_input_grad(const Tensor& gy, const Tensor& w, const Tensor& b, const ConvP& p,
                       const DimVector& xshape, const char* name) {
  if (autograd::recording({&gy, &w, &b})) {
    Tensor r = autograd::untracked([&] { return conv_input_grad(gy, w, b, p, xshape, name); });
    bool batched = gy.dim() == w.dim();
    autograd::record(name, {gy, w, b}, {r}, {gy, w}, [p, batched](const autograd::Context& c) {
      const Tensor& g = c.grad();  // x-shaped
      Tensor gy = c.saved(0), w = c.saved(1), ggy, gw, gb;
      if (c.needs_grad(0))
        ggy = conv_forward(g, w, Tensor(), p, DimVector(gy.sizes()), "ConvolutionBackwardBackward0");
      if (c.needs_grad(1)) gw = conv_weight_grad(g, gy, DimVector(w.sizes()), p);
      if (c.needs_grad(2)) gb = bias_grad(g, batched);
      return std::vector<Tensor>{ggy, gw, gb};
    });
    return r;
  }
  return run_input_grad(gy, w, b, p, xshape);
}

// w-shaped gradient of conv(x, w) given the output gradient gy; bilinear in (x, gy).
Tensor conv_weight_grad(const Tensor& x, const Tensor& gy, const DimVector& wshape, const ConvP& p) {
  if (autograd::recording({&x, &gy})) {
    Tensor r = autograd::untracked([&] { return conv_weight_grad(x, gy, wshape, p); });
    autograd::record("ConvolutionBackwardBackward0", {x, gy}, {r}, {x, gy},
                     [p](const autograd::Context& c) {
      const Tensor& g = c.grad();  // w-shaped
      Tensor x = c.saved(0), gy = c.saved(1), gx, ggy;
      if (c.needs_grad(0))
        gx = conv_input_grad(gy, g, Tensor(), p, DimVector(x.sizes()), "ConvolutionBackwardBackward0");
      if (c.needs_grad(1))
        ggy = conv_forward(x, g, Tensor(), p, DimVector(gy.sizes()), "ConvolutionBackwardBackward0");
      return std::vector<Tensor>{gx, ggy};
    });
    return r;
  }
  return run_weight_grad(x, gy, wshape, p);
}

// ---- argument checks shared by the public ops (PyTorch's messages, prefixed by the op name)

std::string dims_str(const std::vector<int64_t>& v) {
  std::string r = "(";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? " x " : "") + std::to_string(v[i]);
  return r + ")";
}

// One value per spatial dim from `v` (one value, or exactly `sd` of them).
std::vector<int64_t> expand_arg(const char* op, const char* what, IntArrayRef v, size_t sd) {
  CTORCH_CHECK(v.size() == 1 || v.size() == sd, "[", op, "] expected ", what, " to be a single "
               "integer value or a list of ", sd, " values to match the convolution dimensions, but "
               "got ", what, "=", v);
  std::vector<int64_t> r(sd);
  for (size_t i = 0; i < sd; ++i) r[i] = v[v.size() == 1 ? 0 : i];
  return r;
}

void check_common(const char* op, size_t sd, const Tensor& x, const Tensor& w, const Tensor& b,
                  const std::vector<int64_t>& stride, const std::vector<int64_t>& dilation,
                  int64_t groups) {
  check_same_device(x, w, op);
  const int64_t nd = static_cast<int64_t>(sd);
  CTORCH_CHECK(x.dim() == nd + 1 || x.dim() == nd + 2, "[", op, "] Expected ", nd + 1, "D (unbatched) or ",
               nd + 2, "D (batched) input to ", op, ", but got input of size: ", x.sizes());
  CTORCH_CHECK(w.dim() == nd + 2, "[", op, "] weight should have ", nd + 2, " dimensions, but got weight "
               "of size ", w.sizes());
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, x.dtype() != DType::Bool, "[", op, "] \"", op,
                    "\" not implemented for '", dtype_name(x.dtype()), "'");
  CTORCH_CHECK(x.dtype() == w.dtype(), "[", op, "] Input type (", dtype_name(x.dtype()),
               ") and weight type (", dtype_name(w.dtype()), ") should be the same");
  if (b.defined()) {
    check_same_device(x, b, op);
    CTORCH_CHECK(x.dtype() == b.dtype(), "[", op, "] Input type (", dtype_name(x.dtype()),
                 ") and bias type (", dtype_name(b.dtype()), ") should be the same");
  }
  for (int64_t s : stride) CTORCH_CHECK(s > 0, "[", op, "] non-positive stride is not supported");
  for (int64_t d : dilation) CTORCH_CHECK(d > 0, "[", op, "] non-positive dilation is not supported");
  CTORCH_CHECK(groups > 0, "[", op, "] non-positive groups is not supported");
}

ConvP make_params(const std::vector<int64_t>& stride, const std::vector<int64_t>& pad,
                  const std::vector<int64_t>& dilation, int64_t groups) {
  ConvP p{{1, 1}, {0, 0}, {1, 1}, groups};
  size_t off = 2 - stride.size();  // 1-D: the W slot
  for (size_t i = 0; i < stride.size(); ++i) {
    p.s[off + i] = stride[i];
    p.p[off + i] = pad[i];
    p.d[off + i] = dilation[i];
  }
  return p;
}

// conv with padding `pb` before and `pe` after each spatial dim.
Tensor conv_nd(const char* op, size_t sd, const Tensor& x, const Tensor& w, const Tensor& b,
               IntArrayRef stride_a, const std::vector<int64_t>& pb, const std::vector<int64_t>& pe,
               IntArrayRef dilation_a, int64_t groups) {
  auto stride = expand_arg(op, "stride", stride_a, sd);
  auto dilation = expand_arg(op, "dilation", dilation_a, sd);
  check_common(op, sd, x, w, b, stride, dilation, groups);
  for (size_t i = 0; i < sd; ++i)
    CTORCH_CHECK(pb[i] >= 0 && pe[i] >= 0, "[", op, "] negative padding is not supported");
  const bool batched = x.dim() == w.dim();
  const int64_t C = x.size(batched ? 1 : 0), O = w.size(0);
  CTORCH_CHECK(O % groups == 0, "[", op, "] Given groups=", groups, ", expected weight to be divisible "
               "by ", groups, " at dimension 0, but got weight of size ", w.sizes(), " instead");
  CTORCH_CHECK(C == w.size(1) * groups, "[", op, "] Given groups=", groups, ", weight of size ", w.sizes(),
               ", expected input", x.sizes(), " to have ", w.size(1) * groups, " channels, but got ", C,
               " channels instead");
  CTORCH_CHECK(!b.defined() || (b.dim() == 1 && b.numel() == O), "[", op, "] Given weight of size ",
               w.sizes(), ", expected bias to be 1-dimensional with ", O, " elements, but got bias of "
               "size ", b.sizes(), " instead");
  std::vector<int64_t> padded(sd), kern(sd);
  DimVector yshape;
  if (batched) yshape.push_back(x.size(0));
  yshape.push_back(O);
  bool fits = true;
  for (size_t i = 0; i < sd; ++i) {
    int64_t in = x.size(x.dim() - static_cast<int64_t>(sd) + static_cast<int64_t>(i));
    padded[i] = in + pb[i] + pe[i];
    kern[i] = dilation[i] * (w.size(2 + static_cast<int64_t>(i)) - 1) + 1;
    fits = fits && padded[i] >= kern[i];
    yshape.push_back(fits ? (padded[i] - kern[i]) / stride[i] + 1 : 0);
  }
  CTORCH_CHECK(fits, "[", op, "] Calculated padded input size per channel: ", dims_str(padded),
               ". Kernel size: ", dims_str(kern), ". Kernel size can't be greater than actual input size");
  return conv_forward(x, w, b, make_params(stride, pb, dilation, groups), yshape, "ConvolutionBackward0");
}

Tensor conv_transpose_nd(const char* op, size_t sd, const Tensor& x, const Tensor& w, const Tensor& b,
                         IntArrayRef stride_a, IntArrayRef padding_a, IntArrayRef output_padding_a,
                         int64_t groups, IntArrayRef dilation_a) {
  auto stride = expand_arg(op, "stride", stride_a, sd);
  auto dilation = expand_arg(op, "dilation", dilation_a, sd);
  auto padding = expand_arg(op, "padding", padding_a, sd);
  auto out_pad = expand_arg(op, "output_padding", output_padding_a, sd);
  check_common(op, sd, x, w, b, stride, dilation, groups);
  for (size_t i = 0; i < sd; ++i) {
    CTORCH_CHECK(padding[i] >= 0, "[", op, "] negative padding is not supported");
    CTORCH_CHECK(out_pad[i] >= 0, "[", op, "] negative output_padding is not supported");
    CTORCH_CHECK(out_pad[i] < stride[i] || out_pad[i] < dilation[i], "[", op, "] output padding must "
                 "be smaller than either stride or dilation, but got output_padding=", dims_str(out_pad),
                 " stride=", dims_str(stride), " dilation=", dims_str(dilation));
  }
  const bool batched = x.dim() == w.dim();
  const int64_t C = x.size(batched ? 1 : 0);
  CTORCH_CHECK(w.size(0) % groups == 0, "[", op, "] Given groups=", groups, ", expected weight to be "
               "divisible by ", groups, " at dimension 0, but got weight of size ", w.sizes(), " instead");
  CTORCH_CHECK(C == w.size(0), "[", op, "] Given transposed=1, weight of size ", w.sizes(),
               ", expected input", x.sizes(), " to have ", w.size(0), " channels, but got ", C,
               " channels instead");
  const int64_t O = w.size(1) * groups;
  CTORCH_CHECK(!b.defined() || (b.dim() == 1 && b.numel() == O), "[", op, "] Given transposed=1, weight "
               "of size ", w.sizes(), ", expected bias to be 1-dimensional with ", O, " elements, but got "
               "bias of size ", b.sizes(), " instead");
  DimVector yshape;
  if (batched) yshape.push_back(x.size(0));
  yshape.push_back(O);
  std::vector<int64_t> ins(sd), outs(sd);
  bool ok = true;
  for (size_t i = 0; i < sd; ++i) {
    ins[i] = x.size(x.dim() - static_cast<int64_t>(sd) + static_cast<int64_t>(i));
    outs[i] = (ins[i] - 1) * stride[i] - 2 * padding[i] +
              dilation[i] * (w.size(2 + static_cast<int64_t>(i)) - 1) + out_pad[i] + 1;
    ok = ok && outs[i] > 0;
    yshape.push_back(outs[i]);
  }
  CTORCH_CHECK(ok, "[", op, "] Given input size per channel: ", dims_str(ins),
               ". Calculated output size per channel: ", dims_str(outs), ". Output size is too small");
  return conv_input_grad(x, w, b, make_params(stride, padding, dilation, groups), yshape,
                         "ConvolutionBackward0");
}

Tensor conv_padded(const char* op, size_t sd, const Tensor& x, const Tensor& w, const Tensor& b,
                   IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  auto pad = expand_arg(op, "padding", padding, sd);
  return conv_nd(op, sd, x, w, b, stride, pad, pad, dilation, groups);
}

// padding="valid" / "same" (PyTorch: 'same' needs stride 1; odd totals pad one more at the end).
Tensor conv_string(const char* op, size_t sd, const Tensor& x, const Tensor& w, const Tensor& b,
                   IntArrayRef stride_a, const std::string& padding, IntArrayRef dilation_a,
                   int64_t groups) {
  std::vector<int64_t> pb(sd, 0), pe(sd, 0);
  if (padding == "same") {
    auto stride = expand_arg(op, "stride", stride_a, sd);
    auto dilation = expand_arg(op, "dilation", dilation_a, sd);
    for (int64_t s : stride)
      CTORCH_CHECK(s == 1, "[", op, "] padding='same' is not supported for strided convolutions");
    CTORCH_CHECK(w.dim() == static_cast<int64_t>(sd) + 2, "[", op, "] weight should have ", sd + 2,
                 " dimensions, but got weight of size ", w.sizes());
    for (size_t i = 0; i < sd; ++i) {
      int64_t total = dilation[i] * (w.size(2 + static_cast<int64_t>(i)) - 1);
      pb[i] = total / 2;
      pe[i] = total - pb[i];
    }
  } else {
    CTORCH_CHECK(padding == "valid", "[", op, "] Invalid padding string: '", padding, "'");
  }
  return conv_nd(op, sd, x, w, b, stride_a, pb, pe, dilation_a, groups);
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride,
              IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  return conv_padded("conv1d", 1, input, weight, bias, stride, padding, dilation, groups);
}
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride,
              IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  return conv_padded("conv2d", 2, input, weight, bias, stride, padding, dilation, groups);
}
Tensor conv1d_padding(const Tensor& input, const Tensor& weight, const Tensor& bias,
                      IntArrayRef stride, const std::string& padding, IntArrayRef dilation,
                      int64_t groups) {
  return conv_string("conv1d", 1, input, weight, bias, stride, padding, dilation, groups);
}
Tensor conv2d_padding(const Tensor& input, const Tensor& weight, const Tensor& bias,
                      IntArrayRef stride, const std::string& padding, IntArrayRef dilation,
                      int64_t groups) {
  return conv_string("conv2d", 2, input, weight, bias, stride, padding, dilation, groups);
}
Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        IntArrayRef stride, IntArrayRef padding, IntArrayRef output_padding,
                        int64_t groups, IntArrayRef dilation) {
  return conv_transpose_nd("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation);
}
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        IntArrayRef stride, IntArrayRef padding, IntArrayRef output_padding,
                        int64_t groups, IntArrayRef dilation) {
  return conv_transpose_nd("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation);
}

}  // namespace ctorch
