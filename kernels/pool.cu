// CUDA pooling kernels (see kernels/pool.h): one thread per output element for the forward passes,
// one thread per input element gathering its windows for the average-pooling adjoints (deterministic,
// the CPU's summation order), atomics only for the max-pooling gradient scatter.
#include "kernels/pool.h"
#include <limits>
#include "ctorch/ops.h"
#include "kernels/launch.cuh"

namespace ctorch {

namespace pool_cuda {

// NaN wins (and a later NaN replaces an earlier one), like the CPU's max_better.
template <class T>
__device__ __forceinline__ bool max_better(T v, T best) {
  return (v > best) | (v != v);
}
template <class T>
__device__ __forceinline__ T lowest_value() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}

template <class F>
void dispatch_float(DType t, const char* op, const F& f) {
  switch (t) {
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: return f(TypeTag<double>{});
    default: CTORCH_FAIL("[", op, "] cuda kernel expects float32 or float64, got ", dtype_name(t));
  }
}

inline void zero_fill(const Tensor& t) {
  if (t.numel() > 0)
    CTORCH_CUDA_CHECK(cudaMemsetAsync(t.data_ptr(), 0, size_t(t.numel()) * t.element_size(), cuda::stream()));
}

// The max (and its flat index in the plane) over rows y0, y0+dy, ... < y1 and columns x0, x0+dx, ...
// < x1; an empty window gives the lowest value at the window's first position, as on the CPU.
template <class T>
__device__ __forceinline__ void max_window(const T* plane, int64_t iw, int64_t y0, int64_t y1, int64_t dy,
                                           int64_t x0, int64_t x1, int64_t dx, T& out, int64_t& out_i) {
  int64_t best_i = y0 * iw + x0;
  T best = lowest_value<T>();
  for (int64_t y = y0; y < y1; y += dy)
    for (int64_t x = x0; x < x1; x += dx) {
      const T v = plane[y * iw + x];
      if (max_better(v, best)) { best = v; best_i = y * iw + x; }
    }
  out = best;
  out_i = best_i;
}

// (ctorch::min/max are tensor ops: these are the integer ones for device code.)
__device__ __forceinline__ int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// A flat index over [planes, h, w] as (plane, row, column), in the launch's index type.
template <class I>
struct PlanePos {
  I p, y, x;
};
template <class I>
__device__ __forceinline__ PlanePos<I> plane_pos(I i, int64_t h, int64_t w) {
  const I hw = I(h * w), p = i / hw, r = i - p * hw, y = r / I(w);
  return {p, y, r - y * I(w)};
}

}  // namespace pool_cuda

namespace {
using namespace pool_cuda;

// ---- max pooling: the CPU's max_pool_kernel per output element.
template <class T>
void max_pool2d_typed(const Tensor& x, const Tensor& out, const Tensor& ind, const PoolGeom& g) {
  const T* in = x.data<T>();
  T* op = out.data<T>();
  int64_t* xp = ind.data<int64_t>();
  const PoolGeom G = g;
  const int64_t osz = g.oh * g.ow;
  cuda::for_each_index(g.planes * osz, [=] __device__(auto i) {
    const auto [p, oy, ox] = plane_pos(i, G.oh, G.ow);
    const T* ip = in + int64_t(p) * G.ih * G.iw;
    int64_t y0 = int64_t(oy) * G.sh - G.ph;
    const int64_t y1 = imin(y0 + (G.kh - 1) * G.dh + 1, G.ih);
    while (y0 < 0) y0 += G.dh;
    int64_t x0 = int64_t(ox) * G.sw - G.pw;
    const int64_t x1 = imin(x0 + (G.kw - 1) * G.dw + 1, G.iw);
    while (x0 < 0) x0 += G.dw;
    max_window(ip, G.iw, y0, y1, G.dh, x0, x1, G.dw, op[i], xp[i]);
  });
}
void max_pool2d_impl(const Tensor& x, const Tensor& out, const Tensor& ind, const PoolGeom& g) {
  dispatch_ordered(x.dtype(), "max_pool2d", [&](auto tag) { max_pool2d_typed<typename decltype(tag)::type>(x, out, ind, g); });
}

template <class T>
void adaptive_max_pool2d_typed(const Tensor& x, const Tensor& out, const Tensor& ind, const AdaptGeom& g) {
  const T* in = x.data<T>();
  T* op = out.data<T>();
  int64_t* xp = ind.data<int64_t>();
  const AdaptGeom G = g;
  const int64_t osz = g.oh * g.ow;
  cuda::for_each_index(g.planes * osz, [=] __device__(auto i) {
    const auto [p, oy, ox] = plane_pos(i, G.oh, G.ow);
    const T* ip = in + int64_t(p) * G.ih * G.iw;
    const int64_t y0 = ad_start(oy, G.oh, G.ih), y1 = ad_end(oy, G.oh, G.ih);
    const int64_t x0 = ad_start(ox, G.ow, G.iw), x1 = ad_end(ox, G.ow, G.iw);
    max_window(ip, G.iw, y0, y1, int64_t(1), x0, x1, int64_t(1), op[i], xp[i]);
  });
}
void adaptive_max_pool2d_impl(const Tensor& x, const Tensor& out, const Tensor& ind, const AdaptGeom& g) {
  dispatch_ordered(x.dtype(), "adaptive_max_pool2d", [&](auto tag) { adaptive_max_pool2d_typed<typename decltype(tag)::type>(x, out, ind, g); });
}

// Overlapping windows can pick one input twice: atomics (float and double atomicAdd, sm_60+).
template <class T>
void max_pool_backward_typed(const Tensor& grad, const Tensor& ind, const Tensor& gin) {
  const T* gp = grad.data<T>();
  const int64_t* xp = ind.data<int64_t>();
  T* rp = gin.data<T>();
  const int64_t isz = gin.size(-2) * gin.size(-1), osz = grad.size(-2) * grad.size(-1);
  cuda::for_each_index(grad.numel(), [=] __device__(auto j) {
    using I = decltype(j);
    const I p = j / I(osz);
    const int64_t k = xp[j];
    if (k >= 0 && k < isz) atomicAdd(rp + int64_t(p) * isz + k, gp[j]);
  });
}
void max_pool_backward_impl(const Tensor& grad, const Tensor& ind, const Tensor& gin) {
  zero_fill(gin);
  if (grad.size(-2) * grad.size(-1) == 0) return;
  dispatch_float(grad.dtype(), "max_pool_backward",
                 [&](auto tag) {
    max_pool_backward_typed<typename decltype(tag)::type>(grad, ind, gin);
  });
}

// ---- average pooling: the CPU's avg_windows per output element.
struct AvgWindow {
  int64_t y0, y1, x0, x1, div;  // clipped to the input; empty when wholly in the padding
};
__device__ __forceinline__ AvgWindow avg_window(const PoolGeom& g, const AvgOpts& o, int64_t oy, int64_t ox) {
  int64_t y0 = oy * g.sh - g.ph, y1 = imin(y0 + g.kh, g.ih + g.ph);
  int64_t x0 = ox * g.sw - g.pw, x1 = imin(x0 + g.kw, g.iw + g.pw);
  int64_t pool_size = (y1 - y0) * (x1 - x0);
  AvgWindow w;
  w.y0 = imax(y0, int64_t(0));
  w.x0 = imax(x0, int64_t(0));
  w.y1 = imin(y1, g.ih);
  w.x1 = imin(x1, g.iw);
  w.div = o.divisor ? o.divisor : (o.count_include_pad ? pool_size : (w.y1 - w.y0) * (w.x1 - w.x0));
  return w;
}

template <class T>
void avg_pool2d_typed(const Tensor& x, const Tensor& out, const PoolGeom& g, const AvgOpts& o) {
  const T* in = x.data<T>();
  T* op = out.data<T>();
  const PoolGeom G = g;
  const AvgOpts O = o;
  const int64_t osz = g.oh * g.ow;
  cuda::for_each_index(g.planes * osz, [=] __device__(auto i) {
    const auto [p, oy, ox] = plane_pos(i, G.oh, G.ow);
    const AvgWindow w = avg_window(G, O, oy, ox);
    if (w.y0 >= w.y1 || w.x0 >= w.x1) { op[i] = T(0); return; }
    const T* ip = in + int64_t(p) * G.ih * G.iw;
    T s = 0;
    for (int64_t y = w.y0; y < w.y1; ++y)
      for (int64_t xx = w.x0; xx < w.x1; ++xx) s += ip[y * G.iw + xx];
    op[i] = s / static_cast<T>(w.div);
  });
}
void avg_pool2d_impl(const Tensor& x, const Tensor& out, const PoolGeom& g, const AvgOpts& o) {
  dispatch_float(x.dtype(), "avg_pool2d", [&](auto tag) {
    avg_pool2d_typed<typename decltype(tag)::type>(x, out, g, o);
  });
}

// Input (y, x) lies in the window of output (oy, ox) iff oy*sh - ph <= y < oy*sh - ph + kh (likewise
// for x): the outputs in [ceil((y+ph-kh+1)/sh), floor((y+ph)/sh)]. Their contributions are summed in
// the CPU's order (outputs row-major), so the result is the CPU's to the bit.
__device__ __forceinline__ void covering(int64_t y, int64_t pad, int64_t k, int64_t s, int64_t out, int64_t& lo,
                                         int64_t& hi) {
  int64_t a = y + pad - k + 1;
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = imin((y + pad) / s, out - 1);
}

template <class T>
void avg_pool2d_backward_typed(const Tensor& grad, const Tensor& gin, const PoolGeom& g, const AvgOpts& o) {
  const T* gp = grad.data<T>();
  T* rp = gin.data<T>();
  const PoolGeom G = g;
  const AvgOpts O = o;
  const int64_t isz = g.ih * g.iw;
  cuda::for_each_index(g.planes * isz, [=] __device__(auto i) {
    const auto [p, y, xx] = plane_pos(i, G.ih, G.iw);
    const T* gq = gp + int64_t(p) * G.oh * G.ow;
    int64_t oy0, oy1, ox0, ox1;
    covering(y, G.ph, G.kh, G.sh, G.oh, oy0, oy1);
    covering(xx, G.pw, G.kw, G.sw, G.ow, ox0, ox1);
    T s = 0;
    for (int64_t oy = oy0; oy <= oy1; ++oy)
      for (int64_t ox = ox0; ox <= ox1; ++ox) {
        const AvgWindow w = avg_window(G, O, oy, ox);
        if (y >= w.y0 && y < w.y1 && xx >= w.x0 && xx < w.x1) s += gq[oy * G.ow + ox] / static_cast<T>(w.div);
      }
    rp[i] = s;
  });
}
void avg_pool2d_backward_impl(const Tensor& grad, const Tensor& gin, const PoolGeom& g, const AvgOpts& o) {
  dispatch_float(grad.dtype(), "avg_pool2d_backward", [&](auto tag) {
    avg_pool2d_backward_typed<typename decltype(tag)::type>(grad, gin, g, o);
  });
}

// ---- adaptive average pooling

template <class T>
void adaptive_avg_pool2d_typed(const Tensor& x, const Tensor& out, const AdaptGeom& g) {
  const T* in = x.data<T>();
  T* op = out.data<T>();
  const AdaptGeom G = g;
  const int64_t osz = g.oh * g.ow;
  cuda::for_each_index(g.planes * osz, [=] __device__(auto i) {
    const auto [p, oy, ox] = plane_pos(i, G.oh, G.ow);
    const T* ip = in + int64_t(p) * G.ih * G.iw;
    const int64_t y0 = ad_start(oy, G.oh, G.ih), y1 = ad_end(oy, G.oh, G.ih);
    const int64_t x0 = ad_start(ox, G.ow, G.iw), x1 = ad_end(ox, G.ow, G.iw);
    T s = 0;
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t xx = x0; xx < x1; ++xx) s += ip[y * G.iw + xx];
    op[i] = s / static_cast<T>((y1 - y0) * (x1 - x0));
  });
}
void adaptive_avg_pool2d_impl(const Tensor& x, const Tensor& out, const AdaptGeom& g) {
  dispatch_float(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    adaptive_avg_pool2d_typed<typename decltype(tag)::type>(x, out, g);
  });
}

// Output o covers input y iff floor(o*in/out) <= y < ceil((o+1)*in/out), i.e. o in
// [floor(y*out/in), ceil((y+1)*out/in)); membership is re-checked with the forward's own bounds.
template <class T>
void adaptive_avg_pool2d_backward_typed(const Tensor& grad, const Tensor& gin, const AdaptGeom& g) {
  const T* gp = grad.data<T>();
  T* rp = gin.data<T>();
  const AdaptGeom G = g;
  const int64_t isz = g.ih * g.iw;
  cuda::for_each_index(g.planes * isz, [=] __device__(auto i) {
    const auto pos = plane_pos(i, G.ih, G.iw);
    const auto p = pos.p;
    const int64_t y = pos.y, xx = pos.x;
    const T* gq = gp + int64_t(p) * G.oh * G.ow;
    const int64_t oy0 = (y * G.oh) / G.ih, oy1 = imin(((y + 1) * G.oh + G.ih - 1) / G.ih, G.oh);
    const int64_t ox0 = (xx * G.ow) / G.iw, ox1 = imin(((xx + 1) * G.ow + G.iw - 1) / G.iw, G.ow);
    T s = 0;
    for (int64_t oy = oy0; oy < oy1; ++oy) {
      const int64_t y0 = ad_start(oy, G.oh, G.ih), y1 = ad_end(oy, G.oh, G.ih);
      if (y < y0 || y >= y1) continue;
      for (int64_t ox = ox0; ox < ox1; ++ox) {
        const int64_t x0 = ad_start(ox, G.ow, G.iw), x1 = ad_end(ox, G.ow, G.iw);
        if (xx < x0 || xx >= x1) continue;
        s += gq[oy * G.ow + ox] / static_cast<T>((y1 - y0) * (x1 - x0));
      }
    }
    rp[i] = s;
  });
}
void adaptive_avg_pool2d_backward_impl(const Tensor& grad, const Tensor& gin, const AdaptGeom& g) {
  dispatch_float(grad.dtype(), "adaptive_avg_pool2d_backward", [&](auto tag) {
    adaptive_avg_pool2d_backward_typed<typename decltype(tag)::type>(grad, gin, g);
  });
}

// ---- max_unpool2d: two passes so that, as in the CPU's serial loop over a plane, the last input
// with a given index wins: first each output slot records its largest claimant (flat input index + 1),
// then only that claimant writes. The values are moved as raw bytes of the element size.
template <class U>
void unpool_scatter(const Tensor& x, const int64_t* xp, int64_t* owner, int64_t* bad, const Tensor& out,
                    int64_t isz, int64_t osz) {
  const U* ip = static_cast<const U*>(x.data_ptr());
  U* rp = static_cast<U*>(out.data_ptr());
  const int64_t n = x.numel();
  cuda::for_each_index(n, [=] __device__(auto k) {
    using I = decltype(k);
    const I p = k / I(isz);
    const int64_t i = xp[k];
    if (i < 0 || i >= osz) {
      bad[1] = i;  // any offending index will do (the CPU's parallel loop reports an arbitrary one too)
      bad[0] = 1;
      return;
    }
    atomicMax(reinterpret_cast<unsigned long long*>(owner + int64_t(p) * osz + i),
              static_cast<unsigned long long>(int64_t(k) + 1));
  });
  cuda::for_each_index(n, [=] __device__(auto k) {
    using I = decltype(k);
    const I p = k / I(isz);
    const int64_t i = xp[k];
    if (i < 0 || i >= osz) return;
    const int64_t slot = int64_t(p) * osz + i;
    if (owner[slot] == int64_t(k) + 1) rp[slot] = ip[k];
  });
}

bool max_unpool2d_impl(const Tensor& x, const Tensor& ind, const Tensor& out, int64_t oh, int64_t ow,
                       int64_t* bad_index) {
  zero_fill(out);
  const int64_t isz = x.size(-2) * x.size(-1), osz = oh * ow;
  if (x.numel() == 0) return true;
  Tensor owner = empty({out.numel() > 0 ? out.numel() : 1}, DType::Int64, x.device());
  Tensor bad = empty({2}, DType::Int64, x.device());
  zero_fill(owner);
  zero_fill(bad);
  const int64_t* xp = ind.data<int64_t>();
  switch (x.element_size()) {
    case 1: unpool_scatter<uint8_t>(x, xp, owner.data<int64_t>(), bad.data<int64_t>(), out, isz, osz); break;
    case 2: unpool_scatter<uint16_t>(x, xp, owner.data<int64_t>(), bad.data<int64_t>(), out, isz, osz); break;
    case 4: unpool_scatter<uint32_t>(x, xp, owner.data<int64_t>(), bad.data<int64_t>(), out, isz, osz); break;
    case 8: unpool_scatter<uint64_t>(x, xp, owner.data<int64_t>(), bad.data<int64_t>(), out, isz, osz); break;
    default: CTORCH_FAIL("[max_unpool2d] unsupported element size ", x.element_size());
  }
  // The validity flag decides whether the op raises: read it back once.
  int64_t host_bad[2] = {0, 0};
  CTORCH_CUDA_CHECK(cudaMemcpyAsync(host_bad, bad.data_ptr(), sizeof(host_bad), cudaMemcpyDeviceToHost,
                                    cuda::stream()));
  CTORCH_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
  if (host_bad[0]) {
    *bad_index = host_bad[1];
    return false;
  }
  return true;
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_max_pool2d, max_pool2d_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_adaptive_max_pool2d, adaptive_max_pool2d_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_max_pool_backward, max_pool_backward_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_avg_pool2d, avg_pool2d_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_avg_pool2d_backward, avg_pool2d_backward_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_adaptive_avg_pool2d, adaptive_avg_pool2d_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_adaptive_avg_pool2d_backward, adaptive_avg_pool2d_backward_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_max_unpool2d, max_unpool2d_impl);

}  // namespace ctorch
