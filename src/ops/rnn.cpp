// Fused LSTM and GRU cells (see ctorch/ops/rnn.h): forward and backward kernels over rows of the
// batch; under create_graph the backward is the same math in differentiable ops.
#include "ctorch/ops/rnn.h"
#include "autograd/function.h"
#include "core/dispatch.h"
#include "cpu/loops.h"
#include "cpu/parallel.h"
#include "ctorch/ops.h"
#include "kernels/rnn.h"
#include "ops/elementwise_run.h"
#include "ops/math.h"

namespace ctorch {

namespace {
template <class T> T sigmoid_of(T x) { return T(1) / (T(1) + math::exp(-x)); }

// One batch row of the forward: gr holds the row's 4H gates. Built for AVX2 too (loops.h).
template <class T>
CTORCH_SIMD_CLONES void lstm_forward_row(const T* __restrict gr, const T* __restrict c, T* __restrict h,
                                         T* __restrict cn, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    T cv = sigmoid_of(gr[H + j]) * c[j] + sigmoid_of(gr[j]) * math::tanh(gr[2 * H + j]);
    cn[j] = cv;
    h[j] = sigmoid_of(gr[3 * H + j]) * math::tanh(cv);
  }
}

// One batch row of the backward.
template <class T>
CTORCH_SIMD_CLONES void lstm_backward_row(const T* __restrict gr, const T* __restrict c, const T* __restrict cn,
                                          const T* __restrict dh, const T* __restrict dcn, T* __restrict dgr,
                                          T* __restrict dc, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    T i = sigmoid_of(gr[j]), f = sigmoid_of(gr[H + j]), g = math::tanh(gr[2 * H + j]),
      o = sigmoid_of(gr[3 * H + j]), tc = math::tanh(cn[j]);
    T dct = dcn[j] + dh[j] * o * (T(1) - tc * tc);
    dgr[j] = dct * g * i * (T(1) - i);
    dgr[H + j] = dct * c[j] * f * (T(1) - f);
    dgr[2 * H + j] = dct * i * (T(1) - g * g);
    dgr[3 * H + j] = dh[j] * tc * o * (T(1) - o);
    dc[j] = dct * f;
  }
}

// One batch row of the GRU forward; xg and hg hold the row's 3H pre-activations.
template <class T>
CTORCH_SIMD_CLONES void gru_forward_row(const T* __restrict xg, const T* __restrict hg, const T* __restrict h,
                                        T* __restrict out, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    T r = sigmoid_of(xg[j] + hg[j]), z = sigmoid_of(xg[H + j] + hg[H + j]);
    T n = math::tanh(xg[2 * H + j] + r * hg[2 * H + j]);
    out[j] = n + z * (h[j] - n);
  }
}

// One batch row of the GRU backward: gradients of xg, hg and h (the direct path through z).
template <class T>
CTORCH_SIMD_CLONES void gru_backward_row(const T* __restrict xg, const T* __restrict hg, const T* __restrict h,
                                         const T* __restrict dout, T* __restrict dxg, T* __restrict dhg,
                                         T* __restrict dh, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    T r = sigmoid_of(xg[j] + hg[j]), z = sigmoid_of(xg[H + j] + hg[H + j]);
    T hn = hg[2 * H + j], n = math::tanh(xg[2 * H + j] + r * hn);
    T d = dout[j];
    T dpre_n = d * (T(1) - z) * (T(1) - n * n);
    T dpre_r = dpre_n * hn * r * (T(1) - r), dpre_z = d * (h[j] - n) * z * (T(1) - z);
    dxg[j] = dhg[j] = dpre_r;
    dxg[H + j] = dhg[H + j] = dpre_z;
    dxg[2 * H + j] = dpre_n;
    dhg[2 * H + j] = dpre_n * r;
    dh[j] = d * z;
  }
}

// Runs f(T-tag, row_begin, row_end) over the batch rows of a [B, H] problem.
template <class F>
void over_rows(DType dtype, int64_t B, int64_t H, const F& f) {
  int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(4 * H, 1));
  if (dtype == DType::Float32)
    parallel_for(0, B, grain, [&](int64_t b, int64_t e) { f(float(), b, e); });
  else
    parallel_for(0, B, grain, [&](int64_t b, int64_t e) { f(double(), b, e); });
}

// The backward in differentiable ops (for double backward): recomputes the gates' activations.
std::vector<Tensor> lstm_cell_backward_ops(const Tensor& gates, const Tensor& c, const Tensor& dh,
                                           const Tensor& dcn) {
  std::vector<Tensor> q = chunk(gates, 4, 1);
  Tensor i = sigmoid(q[0]), f = sigmoid(q[1]), g = tanh(q[2]), o = sigmoid(q[3]);
  Tensor tc = tanh(f * c + i * g);
  Tensor one = scalar_tensor(Scalar(1.0), gates.dtype(), gates.device());
  Tensor dct = dcn + dh * o * (one - tc * tc);
  Tensor dgates = cat({dct * g * i * (one - i), dct * c * f * (one - f), dct * i * (one - g * g),
                       dh * tc * o * (one - o)}, 1);
  return {dgates, dct * f};
}

std::vector<Tensor> gru_cell_backward_ops(const Tensor& xg, const Tensor& hg, const Tensor& h,
                                          const Tensor& dout) {
  std::vector<Tensor> x = chunk(xg, 3, 1), q = chunk(hg, 3, 1);
  Tensor one = scalar_tensor(Scalar(1.0), xg.dtype(), xg.device());
  Tensor r = sigmoid(x[0] + q[0]), z = sigmoid(x[1] + q[1]), n = tanh(x[2] + r * q[2]);
  Tensor dpre_n = dout * (one - z) * (one - n * n);
  Tensor dpre_r = dpre_n * q[2] * r * (one - r), dpre_z = dout * (h - n) * z * (one - z);
  return {cat({dpre_r, dpre_z, dpre_n}, 1), cat({dpre_r, dpre_z, dpre_n * r}, 1), dout * z};
}

std::vector<Tensor> lstm_cell_backward_kernel(const Tensor& gates, const Tensor& c, const Tensor& cn,
                                              const Tensor& dh_in, const Tensor& dcn_in) {
  int64_t B = c.size(0), H = c.size(1);
  Tensor dh = contiguous(dh_in), dcn = contiguous(dcn_in);
  Tensor dgates = empty(gates.sizes(), gates.dtype(), gates.device());
  Tensor dc = empty(c.sizes(), c.dtype(), c.device());
  if (c.device().is_cuda()) {
    cuda_lstm_cell_backward(gates, c, cn, dh, dcn, dgates, dc);
    return {dgates, dc};
  }
  over_rows(gates.dtype(), B, H, [&](auto tag, int64_t b0, int64_t b1) {
    using T = decltype(tag);
    const T *G = gates.data<T>(), *C = c.data<T>(), *CN = cn.data<T>(), *DH = dh.data<T>(),
            *DCN = dcn.data<T>();
    T *DG = dgates.data<T>(), *DC = dc.data<T>();
    for (int64_t b = b0; b < b1; ++b)
      lstm_backward_row(G + b * 4 * H, C + b * H, CN + b * H, DH + b * H, DCN + b * H, DG + b * 4 * H,
                        DC + b * H, H);
  });
  return {dgates, dc};
}
}  // namespace

std::pair<Tensor, Tensor> lstm_cell(const Tensor& gates, const Tensor& c) {
  const char* op = "lstm_cell";
  check_same_device(gates, c, op);
  CTORCH_CHECK(gates.dim() == 2 && c.dim() == 2 && gates.size(0) == c.size(0) &&
                   gates.size(1) == 4 * c.size(1),
               "[", op, "] expected gates [B, 4H] and c [B, H], got ", gates.sizes(), " and ", c.sizes());
  CTORCH_CHECK_TYPE((gates.dtype() == DType::Float32 || gates.dtype() == DType::Float64) &&
                        c.dtype() == gates.dtype(),
                    "[", op, "] expected float32 or float64 gates and c of one dtype, got ",
                    dtype_name(gates.dtype()), " and ", dtype_name(c.dtype()));
  if (autograd::recording({&gates, &c})) {
    auto [h, cn] = autograd::untracked([&] { return lstm_cell(gates, c); });
    autograd::record("LstmCellBackward0", {gates, c}, {h, cn}, {gates, c, cn}, [](const autograd::Context& ctx) {
      Tensor gates = ctx.saved(0), c = ctx.saved(1);
      Tensor dh = ctx.grad(0).defined() ? ctx.grad(0) : zeros_like(c);
      Tensor dcn = ctx.grad(1).defined() ? ctx.grad(1) : zeros_like(c);
      if (autograd::is_grad_enabled()) return lstm_cell_backward_ops(gates, c, dh, dcn);
      return lstm_cell_backward_kernel(contiguous(gates), contiguous(c), contiguous(ctx.saved(2)), dh, dcn);
    });
    return {h, cn};
  }
  Tensor g = contiguous(gates), cc = contiguous(c);
  int64_t B = cc.size(0), H = cc.size(1);
  Tensor h = empty(cc.sizes(), cc.dtype(), cc.device()), cn = empty(cc.sizes(), cc.dtype(), cc.device());
  if (cc.device().is_cuda()) {
    cuda_lstm_cell_forward(g, cc, h, cn);
    return {h, cn};
  }
  over_rows(g.dtype(), B, H, [&](auto tag, int64_t b0, int64_t b1) {
    using T = decltype(tag);
    const T *G = g.data<T>(), *C = cc.data<T>();
    T *HO = h.data<T>(), *CN = cn.data<T>();
    for (int64_t b = b0; b < b1; ++b) lstm_forward_row(G + b * 4 * H, C + b * H, HO + b * H, CN + b * H, H);
  });
  return {h, cn};
}

Tensor gru_cell(const Tensor& xg, const Tensor& hg, const Tensor& h) {
  const char* op = "gru_cell";
  check_same_device(xg, hg, op);
  check_same_device(xg, h, op);
  CTORCH_CHECK(xg.dim() == 2 && hg.dim() == 2 && h.dim() == 2 && xg.sizes() == hg.sizes() &&
                   xg.size(0) == h.size(0) && xg.size(1) == 3 * h.size(1),
               "[", op, "] expected xg and hg [B, 3H] and h [B, H], got ", xg.sizes(), ", ", hg.sizes(),
               " and ", h.sizes());
  CTORCH_CHECK_TYPE((xg.dtype() == DType::Float32 || xg.dtype() == DType::Float64) &&
                        hg.dtype() == xg.dtype() && h.dtype() == xg.dtype(),
                    "[", op, "] expected float32 or float64 inputs of one dtype, got ", dtype_name(xg.dtype()),
                    ", ", dtype_name(hg.dtype()), " and ", dtype_name(h.dtype()));
  if (autograd::recording({&xg, &hg, &h})) {
    Tensor out = autograd::untracked([&] { return gru_cell(xg, hg, h); });
    autograd::record("GruCellBackward0", {xg, hg, h}, {out}, {xg, hg, h}, [](const autograd::Context& ctx) {
      Tensor xg = ctx.saved(0), hg = ctx.saved(1), h = ctx.saved(2);
      if (autograd::is_grad_enabled()) return gru_cell_backward_ops(xg, hg, h, ctx.grad());
      xg = contiguous(xg), hg = contiguous(hg), h = contiguous(h);
      Tensor d = contiguous(ctx.grad());
      Tensor dxg = empty(xg.sizes(), xg.dtype(), xg.device()), dhg = empty(xg.sizes(), xg.dtype(), xg.device());
      Tensor dh = empty(h.sizes(), h.dtype(), h.device());
      if (h.device().is_cuda()) {
        cuda_gru_cell_backward(xg, hg, h, d, dxg, dhg, dh);
        return std::vector<Tensor>{dxg, dhg, dh};
      }
      int64_t H = h.size(1);
      over_rows(xg.dtype(), h.size(0), H, [&](auto tag, int64_t b0, int64_t b1) {
        using T = decltype(tag);
        for (int64_t b = b0; b < b1; ++b)
          gru_backward_row(xg.data<T>() + b * 3 * H, hg.data<T>() + b * 3 * H, h.data<T>() + b * H,
                           d.data<T>() + b * H, dxg.data<T>() + b * 3 * H, dhg.data<T>() + b * 3 * H,
                           dh.data<T>() + b * H, H);
      });
      return std::vector<Tensor>{dxg, dhg, dh};
    });
    return out;
  }
  Tensor x = contiguous(xg), q = contiguous(hg), hc = contiguous(h);
  Tensor out = empty(hc.sizes(), hc.dtype(), hc.device());
  if (hc.device().is_cuda()) {
    cuda_gru_cell_forward(x, q, hc, out);
    return out;
  }
  int64_t H = hc.size(1);
  over_rows(x.dtype(), hc.size(0), H, [&](auto tag, int64_t b0, int64_t b1) {
    using T = decltype(tag);
    for (int64_t b = b0; b < b1; ++b)
      gru_forward_row(x.data<T>() + b * 3 * H, q.data<T>() + b * 3 * H, hc.data<T>() + b * H,
                      out.data<T>() + b * H, H);
  });
  return out;
}

}  // namespace ctorch
