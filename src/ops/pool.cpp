// Pooling kernels (max, average, adaptive average/max, max_unpool) over the planes of [N, C, H, W]
// / [C, H, W] inputs, parallel over planes, and their differentiable backward ops. 1-d pooling runs
// the same kernels on planes of height 1.
#include "ctorch/ops/pool.h"
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>
#include "autograd/function.h"
#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "ctorch/ops.h"
#include "kernels/pool.h"
#include "ops/elementwise_run.h"

namespace ctorch {

namespace {

// PoolGeom, AvgOpts and AdaptGeom (kernels/pool.h) are shared with the CUDA kernels, which mirror the
// CPU kernels below one output (or input) element per thread.

// Planes of [..., H, W]: the product of all leading dims.
int64_t num_planes(const Tensor& t) {
  int64_t p = 1;
  for (int64_t d = 0; d + 2 < t.dim(); ++d) p *= t.size(d);
  return p;
}

DimVector with_plane_shape(IntArrayRef shape, int64_t h, int64_t w) {
  DimVector s(shape);
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return s;
}

// Threads split the planes; a plane is worth `work` element visits.
int64_t plane_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

// PyTorch's pooling_output_shape (with its checks), per dim.
int64_t pool_out_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil, bool ceil_mode,
                      const char* op) {
  CTORCH_CHECK(stride != 0, "[", op, "] stride should not be zero");
  CTORCH_CHECK(pad >= 0, "[", op, "] pad must be non-negative, but got pad: ", pad);
  CTORCH_CHECK(pad <= ((k - 1) * dil + 1) / 2, "[", op,
               "] pad should be at most half of effective kernel size, but got pad=", pad,
               ", kernel_size=", k, " and dilation=", dil);
  int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  // Floor division (num may be negative for a window larger than the padded input).
  int64_t q = num / stride;
  if ((num % stride != 0) && ((num < 0) != (stride < 0))) --q;
  int64_t out = q + 1;
  // The last window must start inside the input or its left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// One or two ints for a 2-d parameter: (h, w).
std::pair<int64_t, int64_t> pair_arg(IntArrayRef a, int64_t dflt_h, int64_t dflt_w) {
  if (a.empty()) return {dflt_h, dflt_w};
  return {a[0], a.size() == 1 ? a[0] : a[1]};
}

void check_dtype_floating(const Tensor& t, const char* op) {
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, is_floating(t.dtype()), "\"", op, "\" not implemented for '",
                    dtype_name(t.dtype()), "'");
}

// PyTorch's pool2d_shape_check plus the argument-count checks of max_pool2d / avg_pool2d.
PoolGeom pool2d_geom(const Tensor& input, IntArrayRef kernel, IntArrayRef stride, IntArrayRef padding,
                     IntArrayRef dilation, bool ceil_mode, const char* op) {
  CTORCH_CHECK(kernel.size() == 1 || kernel.size() == 2, "[", op,
               "] kernel_size must either be a single int, or a tuple of two ints");
  CTORCH_CHECK(stride.size() <= 2, "[", op,
               "] stride must either be omitted, a single int, or a tuple of two ints");
  CTORCH_CHECK(padding.size() == 1 || padding.size() == 2, "[", op,
               "] padding must either be a single int, or a tuple of two ints");
  CTORCH_CHECK(dilation.size() == 1 || dilation.size() == 2, "[", op,
               "] dilation must be either a single int, or a tuple of two ints");
  CTORCH_CHECK(input.dim() == 3 || input.dim() == 4, "[", op,
               "] non-empty 3D or 4D (batch mode) tensor expected for input");
  PoolGeom g;
  std::tie(g.kh, g.kw) = pair_arg(kernel, 1, 1);
  std::tie(g.sh, g.sw) = pair_arg(stride, g.kh, g.kw);
  std::tie(g.ph, g.pw) = pair_arg(padding, 0, 0);
  std::tie(g.dh, g.dw) = pair_arg(dilation, 1, 1);
  g.ih = input.size(-2);
  g.iw = input.size(-1);
  g.oh = pool_out_size(g.ih, g.kh, g.ph, g.sh, g.dh, ceil_mode, op);
  g.ow = pool_out_size(g.iw, g.kw, g.pw, g.sw, g.dw, ceil_mode, op);
  CTORCH_CHECK(g.kw > 0 && g.kh > 0, "[", op, "] kernel size should be greater than zero, but got kH: ", g.kh,
               " kW: ", g.kw);
  CTORCH_CHECK(g.sw > 0 && g.sh > 0, "[", op, "] stride should be greater than zero, but got dH: ", g.sh,
               " dW: ", g.sw);
  CTORCH_CHECK(g.dh > 0 && g.dw > 0, "[", op, "] dilation should be greater than zero, but got dilationH: ",
               g.dh, " dilationW: ", g.dw);
  bool nonempty = input.size(-1) != 0 && input.size(-2) != 0 && input.size(-3) != 0;
  CTORCH_CHECK(nonempty, "[", op,
               "] Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:",
               input.sizes());
  CTORCH_CHECK(g.kw / 2 >= g.pw && g.kh / 2 >= g.ph, "[", op,
               "] pad should be smaller than or equal to half of kernel size, but got padW = ", g.pw,
               ", padH = ", g.ph, ", kW = ", g.kw, ", kH = ", g.kh);
  int64_t c = input.size(-3);
  CTORCH_CHECK(g.ow >= 1 && g.oh >= 1, "[", op, "] Given input size: (", c, "x", g.ih, "x", g.iw,
               "). Calculated output size: (", c, "x", g.oh, "x", g.ow, "). Output size is too small");
  g.planes = num_planes(input);
  return g;
}

// Runs f on float for 16-bit inputs (converting in and out), natively otherwise.
template <class F>
Tensor via_float(const Tensor& t, const F& f) {
  if (t.dtype() == DType::Float16 || t.dtype() == DType::BFloat16) return f(t.to(DType::Float32)).to(t.dtype());
  return f(t);
}

// ---- max pooling

template <class T>
bool max_better(T v, T best) {
  if constexpr (std::is_floating_point_v<T>) return (v > best) | (v != v);  // NaN wins, like PyTorch
  else return v > best;
}
template <class T>
T lowest_value() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}

template <class T>
void max_pool_kernel(const T* in, T* out, int64_t* ind, const PoolGeom& g) {
  // Geometry in locals: the int64 index stores could otherwise alias the fields of g.
  const int64_t IH = g.ih, IW = g.iw, OH = g.oh, OW = g.ow, KH = g.kh, KW = g.kw;
  const int64_t SH = g.sh, SW = g.sw, PH = g.ph, PW = g.pw, DH = g.dh, DW = g.dw;
  const int64_t isz = IH * IW, osz = OH * OW;
  parallel_for(0, g.planes, plane_grain(osz * KH * KW), [=](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* ip = in + p * isz;
      T* op = out + p * osz;
      int64_t* xp = ind + p * osz;
      for (int64_t oy = 0; oy < OH; ++oy) {
        int64_t y0 = oy * SH - PH;
        const int64_t y1 = std::min(y0 + (KH - 1) * DH + 1, IH);
        while (y0 < 0) y0 += DH;
        for (int64_t ox = 0; ox < OW; ++ox) {
          int64_t x0 = ox * SW - PW;
          const int64_t x1 = std::min(x0 + (KW - 1) * DW + 1, IW);
          while (x0 < 0) x0 += DW;
          int64_t best_i = y0 * IW + x0;
          T best = lowest_value<T>();
          for (int64_t y = y0; y < y1; y += DH) {
            const T* row = ip + y * IW;
            for (int64_t x = x0; x < x1; x += DW) {
              // Branch-free select: on random data the comparison is unpredictable.
              T v = row[x];
              bool take = max_better(v, best);
              best = take ? v : best;
              best_i = take ? y * IW + x : best_i;
            }
          }
          op[oy * OW + ox] = best;
          xp[oy * OW + ox] = best_i;
        }
      }
    }
  });
}


// The gradient of max pooling: each output's gradient is added at its input index. Linear in
// grad; its own gradient gathers at the same indices.
Tensor max_pool_backward(const Tensor& grad, const Tensor& self, const Tensor& indices, const char* name);

// src's value at each index of its plane; 0 where the index is outside the plane (a max-pool window
// lying wholly in the padding).
Tensor gather_planes(const Tensor& src, const Tensor& indices) {
  int64_t planes = num_planes(indices), isz = src.size(-2) * src.size(-1);
  Tensor s = reshape(src, {planes, isz});
  Tensor i = reshape(indices, {planes, indices.size(-2) * indices.size(-1)});
  Tensor inside = logical_and(ge(i, Scalar(int64_t(0))), lt(i, Scalar(isz)));
  Tensor picked = gather(s, 1, where(inside, i, zeros_like(i)));
  return reshape(where(inside, picked, zeros_like(picked)), indices.sizes());
}

// `self` (the forward input) only gives the shape; it is an input of the node, with a zero
// gradient, so that the node exists (and is named) whenever PyTorch's does.
Tensor max_pool_backward(const Tensor& grad, const Tensor& self, const Tensor& indices, const char* name) {
  if (autograd::recording({&grad, &self})) {
    Tensor r = autograd::untracked([&] { return max_pool_backward(grad, self, indices, name); });
    autograd::record(name, {grad, self}, {r}, {indices}, [](const autograd::Context& c) {
      std::vector<Tensor> g(2);
      if (c.needs_grad(0)) g[0] = gather_planes(c.grad(), c.saved(0));
      return g;
    });
    return r;
  }
  IntArrayRef input_shape = self.sizes();
  check_same_device(grad, indices, name);
  return via_float(grad, [&](const Tensor& g0) {
    Tensor g = g0.contiguous();
    Tensor ix = indices.contiguous();
    if (g.device().is_cuda()) {
      Tensor r = empty(input_shape, g.dtype(), g.device());
      cuda_max_pool_backward(g, ix, r);  // zero-fills r first
      return r;
    }
    Tensor r = zeros(input_shape, g.dtype(), g.device());
    int64_t planes = num_planes(r);
    int64_t isz = r.size(-2) * r.size(-1), osz = g.size(-2) * g.size(-1);
    dispatch_floating(g.dtype(), name, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        const T* gp = g.data<T>();
        const int64_t* xp = ix.data<int64_t>();
        T* rp = r.data<T>();
        parallel_for(0, planes, plane_grain(osz), [&](int64_t b, int64_t e) {
          for (int64_t p = b; p < e; ++p) {
            const T* gq = gp + p * osz;
            const int64_t* xq = xp + p * osz;
            T* rq = rp + p * isz;
            // a window lying wholly in the padding has an index outside the plane: no input gets it
            for (int64_t j = 0; j < osz; ++j)
              if (xq[j] >= 0 && xq[j] < isz) rq[xq[j]] += gq[j];
          }
        });
      }
    });
    return r;
  });
}

// Runs kernel(type tag, x, out, indices) of a max pooling over input's planes into [.., oh, ow] values
// and flat per-plane indices; on a GPU cuda_kernel(x, out, indices) instead (same dtypes).
template <class K, class CK>
std::tuple<Tensor, Tensor> max_run(const Tensor& input, int64_t oh, int64_t ow, const char* op, const K& kernel,
                                   const CK& cuda_kernel) {
  Tensor x = input.contiguous();
  DimVector oshape = with_plane_shape(input.sizes(), oh, ow);
  Tensor ind = empty(oshape, DType::Int64, input.device());
  Tensor out = via_float(x, [&](const Tensor& xf) {
    Tensor o = empty(oshape, xf.dtype(), xf.device());
    dispatch_ordered(xf.dtype(), op, [&](auto tag) {
      if (xf.device().is_cuda()) cuda_kernel(xf, o, ind);
      else kernel(tag, xf, o, ind);
    });
    return o;
  });
  return {out, ind};
}

std::tuple<Tensor, Tensor> max_pool_run(const Tensor& input, const PoolGeom& g, const char* op) {
  return max_run(
      input, g.oh, g.ow, op,
      [&](auto tag, const Tensor& x, Tensor& o, Tensor& ind) {
        using T = typename decltype(tag)::type;
        max_pool_kernel<T>(x.data<T>(), o.data<T>(), ind.data<int64_t>(), g);
      },
      [&](const Tensor& x, const Tensor& o, const Tensor& ind) { cuda_max_pool2d(x, o, ind, g); });
}

// ---- average pooling

// Calls f(oy, ox, y0, y1, x0, x1, divisor) for each output of one plane, its window clipped to
// the input; windows wholly in the padding get y0 >= y1 or x0 >= x1.
template <class F>
void avg_windows(const PoolGeom& g, const AvgOpts& o, const F& f) {
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    int64_t y0 = oy * g.sh - g.ph, y1 = std::min(y0 + g.kh, g.ih + g.ph);
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      int64_t x0 = ox * g.sw - g.pw, x1 = std::min(x0 + g.kw, g.iw + g.pw);
      int64_t pool_size = (y1 - y0) * (x1 - x0);
      int64_t cy0 = std::max<int64_t>(y0, 0), cx0 = std::max<int64_t>(x0, 0);
      int64_t cy1 = std::min(y1, g.ih), cx1 = std::min(x1, g.iw);
      int64_t div = o.divisor ? o.divisor : (o.count_include_pad ? pool_size : (cy1 - cy0) * (cx1 - cx0));
      f(oy, ox, cy0, cy1, cx0, cx1, div);
    }
  }
}

template <class T>
void avg_pool_kernel(const T* in, T* out, const PoolGeom& g, const AvgOpts& o) {
  const int64_t isz = g.ih * g.iw, osz = g.oh * g.ow;
  parallel_for(0, g.planes, plane_grain(osz * g.kh * g.kw), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* ip = in + p * isz;
      T* op = out + p * osz;
      avg_windows(g, o, [&](int64_t oy, int64_t ox, int64_t y0, int64_t y1, int64_t x0, int64_t x1, int64_t div) {
        if (y0 >= y1 || x0 >= x1) { op[oy * g.ow + ox] = T(0); return; }
        T s = 0;
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t x = x0; x < x1; ++x) s += ip[y * g.iw + x];
        op[oy * g.ow + ox] = s / static_cast<T>(div);
      });
    }
  });
}

template <class T>
void avg_pool_backward_kernel(const T* grad, T* gin, const PoolGeom& g, const AvgOpts& o) {
  const int64_t isz = g.ih * g.iw, osz = g.oh * g.ow;
  parallel_for(0, g.planes, plane_grain(osz * g.kh * g.kw), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* gp = grad + p * osz;
      T* ip = gin + p * isz;
      avg_windows(g, o, [&](int64_t oy, int64_t ox, int64_t y0, int64_t y1, int64_t x0, int64_t x1, int64_t div) {
        T v = gp[oy * g.ow + ox] / static_cast<T>(div);
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t x = x0; x < x1; ++x) ip[y * g.iw + x] += v;
      });
    }
  });
}

// Average pooling as a linear pool (see linear_pool below).
struct AvgPool {
  PoolGeom g;
  AvgOpts o;
  static constexpr const char* kName = "avg_pool2d";
  static constexpr const char* kNode = "AvgPool2DBackward0";
  static constexpr const char* kAdjointNode = "AvgPool2DBackwardBackward0";
  int64_t oh() const { return g.oh; }
  int64_t ow() const { return g.ow; }
  template <class T> void forward(const T* x, T* y, int64_t planes) const {
    PoolGeom gg = g;
    gg.planes = planes;
    avg_pool_kernel<T>(x, y, gg, o);
  }
  template <class T> void adjoint(const T* gy, T* gx, int64_t planes) const {
    PoolGeom gg = g;
    gg.planes = planes;
    avg_pool_backward_kernel<T>(gy, gx, gg, o);
  }
  void cuda_forward(const Tensor& x, const Tensor& y) const {
    PoolGeom gg = g;
    gg.planes = num_planes(x);
    cuda_avg_pool2d(x, y, gg, o);
  }
  void cuda_adjoint(const Tensor& gy, const Tensor& gx) const {
    PoolGeom gg = g;
    gg.planes = num_planes(gx);
    cuda_avg_pool2d_backward(gy, gx, gg, o);
  }
};

// ---- adaptive pooling: output i covers [ad_start(i), ad_end(i)) (kernels/pool.h).

// The largest adaptive window along a dim, for the work estimate.
int64_t ad_max_window(int64_t in, int64_t out) { return out ? (in + out - 1) / out + 1 : 0; }

template <class T>
void adaptive_avg_kernel(const T* in, T* out, const AdaptGeom& g) {
  const int64_t isz = g.ih * g.iw, osz = g.oh * g.ow;
  int64_t work = osz * ad_max_window(g.ih, g.oh) * ad_max_window(g.iw, g.ow);
  parallel_for(0, g.planes, plane_grain(work), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* ip = in + p * isz;
      T* op = out + p * osz;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        int64_t y0 = ad_start(oy, g.oh, g.ih), y1 = ad_end(oy, g.oh, g.ih);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t x0 = ad_start(ox, g.ow, g.iw), x1 = ad_end(ox, g.ow, g.iw);
          T s = 0;
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t x = x0; x < x1; ++x) s += ip[y * g.iw + x];
          op[oy * g.ow + ox] = s / static_cast<T>((y1 - y0) * (x1 - x0));
        }
      }
    }
  });
}

template <class T>
void adaptive_avg_backward_kernel(const T* grad, T* gin, const AdaptGeom& g) {
  const int64_t isz = g.ih * g.iw, osz = g.oh * g.ow;
  int64_t work = osz * ad_max_window(g.ih, g.oh) * ad_max_window(g.iw, g.ow);
  parallel_for(0, g.planes, plane_grain(work), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* gp = grad + p * osz;
      T* ip = gin + p * isz;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        int64_t y0 = ad_start(oy, g.oh, g.ih), y1 = ad_end(oy, g.oh, g.ih);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t x0 = ad_start(ox, g.ow, g.iw), x1 = ad_end(ox, g.ow, g.iw);
          T v = gp[oy * g.ow + ox] / static_cast<T>((y1 - y0) * (x1 - x0));
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t x = x0; x < x1; ++x) ip[y * g.iw + x] += v;
        }
      }
    }
  });
}

template <class T>
void adaptive_max_kernel(const T* in, T* out, int64_t* ind, const AdaptGeom& g) {
  const int64_t isz = g.ih * g.iw, osz = g.oh * g.ow;
  int64_t work = osz * ad_max_window(g.ih, g.oh) * ad_max_window(g.iw, g.ow);
  parallel_for(0, g.planes, plane_grain(work), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* ip = in + p * isz;
      T* op = out + p * osz;
      int64_t* xp = ind + p * osz;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        int64_t y0 = ad_start(oy, g.oh, g.ih), y1 = ad_end(oy, g.oh, g.ih);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t x0 = ad_start(ox, g.ow, g.iw), x1 = ad_end(ox, g.ow, g.iw);
          int64_t best_i = y0 * g.iw + x0;
          T best = lowest_value<T>();
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t x = x0; x < x1; ++x) {
              T v = ip[y * g.iw + x];
              if (max_better(v, best)) { best = v; best_i = y * g.iw + x; }
            }
          op[oy * g.ow + ox] = best;
          xp[oy * g.ow + ox] = best_i;
        }
      }
    }
  });
}

AdaptGeom adaptive_geom(const Tensor& input, IntArrayRef output_size, bool check_all_dims, const char* op) {
  CTORCH_CHECK(output_size.size() == 2, "[", op, "] output_size must be 2");
  CTORCH_CHECK(output_size[0] >= 0 && output_size[1] >= 0, "[", op,
               "] elements of output_size must be greater than or equal to 0 but received {", output_size[0],
               ", ", output_size[1], "}");
  CTORCH_CHECK(input.dim() == 3 || input.dim() == 4, "[", op, "] Expected 3D or 4D tensor, but got ",
               input.sizes());
  // Adaptive average pooling only needs non-empty planes; max pooling every dim after the first
  // (a batch's channels, or an unbatched input's plane), as PyTorch checks.
  for (int64_t d = check_all_dims ? 1 : input.dim() - 2; d < input.dim(); ++d)
    CTORCH_CHECK(input.size(d) > 0, "[", op,
                   "] Expected input to have non-zero size for non-batch dimensions, but input has sizes ",
                   input.sizes(), " with dimension ", d, " being empty");
  AdaptGeom g;
  g.planes = num_planes(input);
  g.ih = input.size(-2);
  g.iw = input.size(-1);
  g.oh = output_size[0];
  g.ow = output_size[1];
  return g;
}

// Adaptive average pooling as a linear pool.
struct AdaptiveAvgPool {
  AdaptGeom g;
  static constexpr const char* kName = "adaptive_avg_pool2d";
  static constexpr const char* kNode = "AdaptiveAvgPool2DBackward0";
  static constexpr const char* kAdjointNode = "AdaptiveAvgPool2DBackwardBackward0";
  int64_t oh() const { return g.oh; }
  int64_t ow() const { return g.ow; }
  template <class T> void forward(const T* x, T* y, int64_t planes) const {
    AdaptGeom gg = g;
    gg.planes = planes;
    adaptive_avg_kernel<T>(x, y, gg);
  }
  template <class T> void adjoint(const T* gy, T* gx, int64_t planes) const {
    AdaptGeom gg = g;
    gg.planes = planes;
    adaptive_avg_backward_kernel<T>(gy, gx, gg);
  }
  void cuda_forward(const Tensor& x, const Tensor& y) const {
    AdaptGeom gg = g;
    gg.planes = num_planes(x);
    cuda_adaptive_avg_pool2d(x, y, gg);
  }
  void cuda_adjoint(const Tensor& gy, const Tensor& gx) const {
    AdaptGeom gg = g;
    gg.planes = num_planes(gx);
    cuda_adaptive_avg_pool2d_backward(gy, gx, gg);
  }
};

// Average and adaptive-average pooling are linear maps over planes: each one's gradient is its adjoint
// kernel, and the adjoint's gradient is the forward again (so double backward works).
template <class P> Tensor linear_pool(const Tensor& input, const P& p);

// The adjoint applied to grad; `self` as in max_pool_backward: the shape, and an input with a zero gradient.
template <class P>
Tensor linear_pool_adjoint(const Tensor& grad, const Tensor& self, const P& p) {
  if (autograd::recording({&grad, &self})) {
    Tensor r = autograd::untracked([&] { return linear_pool_adjoint(grad, self, p); });
    autograd::record(P::kAdjointNode, {grad, self}, {r}, {}, [p](const autograd::Context& c) {
      std::vector<Tensor> out(2);
      if (c.needs_grad(0)) out[0] = linear_pool(c.grad(), p);
      return out;
    });
    return r;
  }
  IntArrayRef input_shape = self.sizes();
  return via_float(grad, [&](const Tensor& g0) {
    Tensor gc = g0.contiguous();
    if (gc.device().is_cuda()) {
      Tensor r = empty(input_shape, gc.dtype(), gc.device());
      p.cuda_adjoint(gc, r);  // writes every element of r
      return r;
    }
    Tensor r = zeros(input_shape, gc.dtype(), gc.device());
    dispatch_floating(gc.dtype(), P::kName, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
        p.template adjoint<T>(gc.data<T>(), r.data<T>(), num_planes(r));
    });
    return r;
  });
}

template <class P>
Tensor linear_pool(const Tensor& input, const P& p) {
  if (autograd::recording({&input})) {
    Tensor r = autograd::untracked([&] { return linear_pool(input, p); });
    autograd::record(P::kNode, {input}, {r}, {input}, [p](const autograd::Context& c) {
      return autograd::grads(linear_pool_adjoint(c.grad(), c.saved(0), p));
    });
    return r;
  }
  return via_float(input.contiguous(), [&](const Tensor& x) {
    Tensor out = empty(with_plane_shape(x.sizes(), p.oh(), p.ow()), x.dtype(), x.device());
    if (x.device().is_cuda()) {
      p.cuda_forward(x, out);
      return out;
    }
    dispatch_floating(x.dtype(), P::kName, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
        p.template forward<T>(x.data<T>(), out.data<T>(), num_planes(x));
    });
    return out;
  });
}

// ---- 1-d argument checks (PyTorch's check_1d / max_pool1d messages)

void check_one(IntArrayRef a, const char* op, const char* arg, bool may_be_empty = false) {
  if (may_be_empty && a.empty()) return;
  CTORCH_CHECK(a.size() == 1, "[", op, "] ", op, "() argument '", arg, "' should contain one int (got ",
               a.size(), ")");
}
void check_rank_1d(const Tensor& input, const char* op) {
  CTORCH_CHECK(input.dim() == 2 || input.dim() == 3, "[", op, "] Expected 2 to 3 dimensions, but got ",
               input.dim(), "-dimensional tensor for argument #1 'self' (while checking arguments for ", op, ")");
}
std::tuple<Tensor, Tensor> squeeze_pair(const std::tuple<Tensor, Tensor>& r) {
  return {squeeze(std::get<0>(r), {-2}), squeeze(std::get<1>(r), {-2})};
}

}  // namespace

// ---- public ops

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, IntArrayRef kernel_size,
                                                   IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                                                   bool ceil_mode) {
  PoolGeom g = pool2d_geom(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d");
  if (autograd::recording({&input})) {
    auto r = autograd::untracked([&] { return max_pool_run(input, g, "max_pool2d"); });
    autograd::record("MaxPool2DWithIndicesBackward0", {input}, {std::get<0>(r), std::get<1>(r)},
                     {input, std::get<1>(r)}, [](const autograd::Context& c) {
                       return autograd::grads(max_pool_backward(c.grad(0), c.saved(0), c.saved(1),
                                                                "MaxPool2DWithIndicesBackwardBackward0"));
                     });
    return r;
  }
  return max_pool_run(input, g, "max_pool2d");
}

Tensor max_pool2d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  IntArrayRef dilation, bool ceil_mode) {
  return std::get<0>(max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode));
}

Tensor avg_pool2d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  const char* op = "avg_pool2d";
  // PyTorch reads size(-3) before checking the rank, so fewer dims give its IndexError.
  CTORCH_CHECK_INDEX(input.dim() >= 3, "[", op, "] Dimension out of range (expected to be in range of [",
                     -std::max<int64_t>(input.dim(), 1), ", ", std::max<int64_t>(input.dim(), 1) - 1,
                     "], but got -3)");
  check_dtype_floating(input, op);
  CTORCH_CHECK(!divisor_override || *divisor_override != 0, "[", op, "] divisor must be not zero");
  CTORCH_CHECK(kernel_size.size() == 1 || kernel_size.size() == 2, "[", op,
               "] kernel_size must either be a single int, or a tuple of two ints");
  CTORCH_CHECK(stride.size() <= 2, "[", op,
               "] stride must either be omitted, a single int, or a tuple of two ints");
  CTORCH_CHECK(padding.size() == 1 || padding.size() == 2, "[", op,
               "] padding must either be a single int, or a tuple of two ints");
  int64_t one = 1;
  PoolGeom g = pool2d_geom(input, kernel_size, stride, padding, one, ceil_mode, op);
  AvgOpts o;
  o.count_include_pad = count_include_pad;
  o.divisor = divisor_override ? *divisor_override : 0;
  return linear_pool(input, AvgPool{g, o});
}

Tensor adaptive_avg_pool2d(const Tensor& input, IntArrayRef output_size) {
  check_dtype_floating(input, "adaptive_avg_pool2d");
  AdaptGeom g = adaptive_geom(input, output_size, false, "adaptive_avg_pool2d");
  return linear_pool(input, AdaptiveAvgPool{g});
}

std::tuple<Tensor, Tensor> adaptive_max_pool2d(const Tensor& input, IntArrayRef output_size) {
  const char* op = "adaptive_max_pool2d";
  AdaptGeom g = adaptive_geom(input, output_size, true, op);
  auto run = [&] {
    return max_run(
        input, g.oh, g.ow, op,
        [&](auto tag, const Tensor& x, Tensor& o, Tensor& ind) {
          using T = typename decltype(tag)::type;
          adaptive_max_kernel<T>(x.data<T>(), o.data<T>(), ind.data<int64_t>(), g);
        },
        [&](const Tensor& x, const Tensor& o, const Tensor& ind) {
          AdaptGeom gg = g;
          gg.planes = num_planes(x);
          cuda_adaptive_max_pool2d(x, o, ind, gg);
        });
  };
  if (autograd::recording({&input})) {
    auto r = autograd::untracked(run);
    autograd::record("AdaptiveMaxPool2DBackward0", {input}, {std::get<0>(r), std::get<1>(r)},
                     {input, std::get<1>(r)}, [](const autograd::Context& c) {
                       return autograd::grads(max_pool_backward(c.grad(0), c.saved(0), c.saved(1),
                                                                "AdaptiveMaxPool2DBackwardBackward0"));
                     });
    return r;
  }
  return run();
}

std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& input, IntArrayRef kernel_size,
                                                   IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                                                   bool ceil_mode) {
  const char* op = "max_pool1d";
  bool ok = (input.dim() == 2 || input.dim() == 3) && input.size(-1) != 0 && input.size(-2) != 0;
  CTORCH_CHECK(ok, "[", op, "] max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch "
               "size for input, but got:", input.sizes());
  CTORCH_CHECK(kernel_size.size() == 1, "[", op, "] max_pool1d() kernel_size must be an int, list of ints or "
               "tuple of ints of size 1 but got size ", kernel_size.size());
  CTORCH_CHECK(stride.size() <= 1, "[", op, "] max_pool1d() stride must be None, an int, list of ints, or "
               "tuple of ints of size 1 but got size ", stride.size());
  CTORCH_CHECK(padding.size() == 1, "[", op, "] max_pool1d() padding must be an int, list of ints, or tuple "
               "of ints of size 1 but got size ", padding.size());
  CTORCH_CHECK(dilation.size() == 1, "[", op, "] max_pool1d() dilation must be an int, list of ints or tuple "
               "of ints of size 1 but got size ", dilation.size());
  int64_t k = kernel_size[0], s = stride.empty() ? k : stride[0], p = padding[0], d = dilation[0];
  CTORCH_CHECK(k > 0, "[", op, "] max_pool1d() kernel_size must be greater than zero, but got ", k);
  CTORCH_CHECK(s > 0, "[", op, "] max_pool1d() stride must be greater than zero, but got ", s);
  CTORCH_CHECK(p >= 0, "[", op, "] max_pool1d() padding must be non-negative, but got ", p);
  CTORCH_CHECK(p <= k / 2, "[", op, "] max_pool1d() padding should be at most half of kernel size, but got "
               "padding=", p, " and kernel_size=", k);
  CTORCH_CHECK(d > 0, "[", op, "] max_pool1d() dilation must be greater than zero, but got ", d);
  int64_t ow = pool_out_size(input.size(-1), k, p, s, d, ceil_mode, op);
  CTORCH_CHECK(ow > 0, "[", op, "] max_pool1d() Invalid computed output size: ", ow);
  std::vector<int64_t> ks{1, k}, ss{1, s}, ps{0, p}, ds{1, d};
  return squeeze_pair(max_pool2d_with_indices(unsqueeze(input, -2), ks, ss, ps, ds, ceil_mode));
}

Tensor max_pool1d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  IntArrayRef dilation, bool ceil_mode) {
  return std::get<0>(max_pool1d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode));
}

Tensor avg_pool1d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  bool ceil_mode, bool count_include_pad) {
  const char* op = "avg_pool1d";
  check_rank_1d(input, op);
  check_one(kernel_size, op, "kernel_size");
  check_one(stride, op, "stride", true);
  check_one(padding, op, "padding");
  int64_t k = kernel_size[0], s = stride.empty() ? k : stride[0];
  std::vector<int64_t> ks{1, k}, ss{1, s}, ps{0, padding[0]};
  return squeeze(avg_pool2d(unsqueeze(input, -2), ks, ss, ps, ceil_mode, count_include_pad), {-2});
}

Tensor adaptive_avg_pool1d(const Tensor& input, IntArrayRef output_size) {
  const char* op = "adaptive_avg_pool1d";
  check_rank_1d(input, op);
  check_one(output_size, op, "output_size");
  std::vector<int64_t> os{1, output_size[0]};
  return squeeze(adaptive_avg_pool2d(unsqueeze(input, -2), os), {-2});
}

std::tuple<Tensor, Tensor> adaptive_max_pool1d(const Tensor& input, IntArrayRef output_size) {
  const char* op = "adaptive_max_pool1d";
  check_rank_1d(input, op);
  check_one(output_size, op, "output_size");
  std::vector<int64_t> os{1, output_size[0]};
  return squeeze_pair(adaptive_max_pool2d(unsqueeze(input, -2), os));
}

// ---- max_unpool2d

namespace {
Tensor max_unpool_run(const Tensor& input, const Tensor& indices, int64_t oh, int64_t ow) {
  Tensor x = input.contiguous(), ix = indices.contiguous();
  if (x.device().is_cuda()) {
    Tensor r = empty(with_plane_shape(input.sizes(), oh, ow), input.dtype(), input.device());
    int64_t bad_index = 0;
    // zero-fills r, scatters, and reports an invalid index (read back to the host once)
    CTORCH_CHECK(cuda_max_unpool2d(x, ix, r, oh, ow, &bad_index), "[max_unpool2d] Found an invalid max index: ",
                 bad_index, " (output volumes are of size ", oh, "x", ow, ")");
    return r;
  }
  Tensor r = zeros(with_plane_shape(input.sizes(), oh, ow), input.dtype(), input.device());
  int64_t planes = num_planes(x), isz = x.size(-2) * x.size(-1), osz = oh * ow;
  const int64_t* xp = ix.data<int64_t>();
  // An invalid index is reported after the parallel loop (no throwing inside OpenMP).
  std::atomic<bool> bad{false};
  std::atomic<int64_t> bad_index{0};
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* ip = x.data<T>();
    T* rp = r.data<T>();
    parallel_for(0, planes, plane_grain(isz), [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
        for (int64_t j = 0; j < isz; ++j) {
          int64_t i = xp[p * isz + j];
          if (i < 0 || i >= osz) { bad_index.store(i); bad.store(true); continue; }
          rp[p * osz + i] = ip[p * isz + j];
        }
    });
  });
  CTORCH_CHECK(!bad.load(), "[max_unpool2d] Found an invalid max index: ", bad_index.load(),
               " (output volumes are of size ", oh, "x", ow, ")");
  return r;
}
}  // namespace

Tensor max_unpool2d(const Tensor& input, const Tensor& indices, IntArrayRef output_size) {
  const char* op = "max_unpool2d";
  check_same_device(input, indices, op);
  CTORCH_CHECK(indices.dtype() == DType::Int64, "[", op, "] elements in indices should be type int64 but got: ",
               dtype_name(indices.dtype()));
  CTORCH_CHECK(output_size.size() == 2, "[", op,
               "] There should be exactly two elements (height, width) in output_size, but got ",
               output_size.size(), " elements.");
  CTORCH_CHECK(input.dim() == 3 || input.dim() == 4, "[", op,
               "] Input to max_unpooling2d should be a 3d or 4d Tensor, but got a tensor with ", input.dim(),
               " dimensions.");
  CTORCH_CHECK(input.sizes() == indices.sizes(), "[", op,
               "] Expected shape of indices to be same as that of the input tensor (", input.sizes(),
               ") but got indices tensor with shape: ", indices.sizes());
  for (int64_t d = 1; d < input.dim(); ++d)
    CTORCH_CHECK(input.size(d) > 0, "[", op, "] Expected input to have non-zero size for non-batch dimensions, "
                 "but got ", input.sizes(), " with dimension ", d, " being empty.");
  int64_t oh = output_size[0], ow = output_size[1];
  if (autograd::recording({&input})) {
    Tensor r = autograd::untracked([&] { return max_unpool_run(input, indices, oh, ow); });
    autograd::record("MaxUnpool2DBackward0", {input}, {r}, {indices}, [](const autograd::Context& c) {
      return autograd::grads(gather_planes(c.grad(), c.saved(0)));
    });
    return r;
  }
  return max_unpool_run(input, indices, oh, ow);
}

}  // namespace ctorch
