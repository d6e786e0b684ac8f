// CUDA LSTM/GRU cell pointwise kernels (see kernels/rnn.h): one thread per (batch row, hidden unit),
// the CPU row kernels' math (ops/math.h's exp/tanh, so float runs the same approximations).
#include "kernels/rnn.h"
#include "kernels/launch.cuh"
#include "ops/math.h"

namespace ctorch {

namespace rnn_cuda {

template <class T>
__device__ __forceinline__ T sigmoid_of(T x) { return T(1) / (T(1) + math::exp(-x)); }

template <class F>
void dispatch_rnn(DType t, const char* op, const F& f) {
  if (t == DType::Float32) return f(TypeTag<float>{});
  if (t == DType::Float64) return f(TypeTag<double>{});
  CTORCH_FAIL("[", op, "] cuda kernel expects float32 or float64, got ", dtype_name(t));
}

template <class T>
void lstm_forward_typed(const Tensor& gates, const Tensor& c, const Tensor& h, const Tensor& cn) {
  const int64_t H = c.size(1);
  const T *G = gates.data<T>(), *C = c.data<T>();
  T *HO = h.data<T>(), *CN = cn.data<T>();
  cuda::for_each_index(c.numel(), [=] __device__(auto k) {
    using I = decltype(k);
    const I b = k / I(H), j = k - b * I(H);
    const T* gr = G + int64_t(b) * 4 * H;
    T cv = sigmoid_of(gr[H + j]) * C[k] + sigmoid_of(gr[j]) * math::tanh(gr[2 * H + j]);
    CN[k] = cv;
    HO[k] = sigmoid_of(gr[3 * H + j]) * math::tanh(cv);
  });
}

template <class T>
void lstm_backward_typed(const Tensor& gates, const Tensor& c, const Tensor& cn, const Tensor& dh,
                         const Tensor& dcn, const Tensor& dgates, const Tensor& dc) {
  const int64_t H = c.size(1);
  const T *G = gates.data<T>(), *C = c.data<T>(), *CN = cn.data<T>(), *DH = dh.data<T>(), *DCN = dcn.data<T>();
  T *DG = dgates.data<T>(), *DC = dc.data<T>();
  cuda::for_each_index(c.numel(), [=] __device__(auto k) {
    using I = decltype(k);
    const I b = k / I(H), j = k - b * I(H);
    const T* gr = G + int64_t(b) * 4 * H;
    T* dgr = DG + int64_t(b) * 4 * H;
    T i = sigmoid_of(gr[j]), f = sigmoid_of(gr[H + j]), g = math::tanh(gr[2 * H + j]),
      o = sigmoid_of(gr[3 * H + j]), tc = math::tanh(CN[k]);
    T dct = DCN[k] + DH[k] * o * (T(1) - tc * tc);
    dgr[j] = dct * g * i * (T(1) - i);
    dgr[H + j] = dct * C[k] * f * (T(1) - f);
    dgr[2 * H + j] = dct * i * (T(1) - g * g);
    dgr[3 * H + j] = DH[k] * tc * o * (T(1) - o);
    DC[k] = dct * f;
  });
}

template <class T>
void gru_forward_typed(const Tensor& xg, const Tensor& hg, const Tensor& h, const Tensor& out) {
  const int64_t H = h.size(1);
  const T *XG = xg.data<T>(), *HG = hg.data<T>(), *HP = h.data<T>();
  T* O = out.data<T>();
  cuda::for_each_index(h.numel(), [=] __device__(auto k) {
    using I = decltype(k);
    const I b = k / I(H), j = k - b * I(H);
    const T *x = XG + int64_t(b) * 3 * H, *q = HG + int64_t(b) * 3 * H;
    T r = sigmoid_of(x[j] + q[j]), z = sigmoid_of(x[H + j] + q[H + j]);
    T n = math::tanh(x[2 * H + j] + r * q[2 * H + j]);
    O[k] = n + z * (HP[k] - n);
  });
}

template <class T>
void gru_backward_typed(const Tensor& xg, const Tensor& hg, const Tensor& h, const Tensor& dout, const Tensor& dxg,
                        const Tensor& dhg, const Tensor& dh) {
  const int64_t H = h.size(1);
  const T *XG = xg.data<T>(), *HG = hg.data<T>(), *HP = h.data<T>(), *D = dout.data<T>();
  T *DX = dxg.data<T>(), *DQ = dhg.data<T>(), *DHP = dh.data<T>();
  cuda::for_each_index(h.numel(), [=] __device__(auto k) {
    using I = decltype(k);
    const I b = k / I(H), j = k - b * I(H);
    const int64_t row = int64_t(b) * 3 * H;
    const T *x = XG + row, *q = HG + row;
    T *dx = DX + row, *dq = DQ + row;
    T r = sigmoid_of(x[j] + q[j]), z = sigmoid_of(x[H + j] + q[H + j]);
    T hn = q[2 * H + j], n = math::tanh(x[2 * H + j] + r * hn);
    T d = D[k];
    T dpre_n = d * (T(1) - z) * (T(1) - n * n);
    T dpre_r = dpre_n * hn * r * (T(1) - r), dpre_z = d * (HP[k] - n) * z * (T(1) - z);
    dx[j] = dq[j] = dpre_r;
    dx[H + j] = dq[H + j] = dpre_z;
    dx[2 * H + j] = dpre_n;
    dq[2 * H + j] = dpre_n * r;
    DHP[k] = d * z;
  });
}

}  // namespace rnn_cuda

namespace {
using namespace rnn_cuda;

void lstm_forward_impl(const Tensor& gates, const Tensor& c, const Tensor& h, const Tensor& cn) {
  dispatch_rnn(c.dtype(), "lstm_cell", [&](auto tag) {
    lstm_forward_typed<typename decltype(tag)::type>(gates, c, h, cn);
  });
}
void lstm_backward_impl(const Tensor& gates, const Tensor& c, const Tensor& cn, const Tensor& dh, const Tensor& dcn,
                        const Tensor& dgates, const Tensor& dc) {
  dispatch_rnn(c.dtype(), "lstm_cell_backward", [&](auto tag) {
    lstm_backward_typed<typename decltype(tag)::type>(gates, c, cn, dh, dcn, dgates, dc);
  });
}
void gru_forward_impl(const Tensor& xg, const Tensor& hg, const Tensor& h, const Tensor& out) {
  dispatch_rnn(h.dtype(), "gru_cell", [&](auto tag) {
    gru_forward_typed<typename decltype(tag)::type>(xg, hg, h, out);
  });
}
void gru_backward_impl(const Tensor& xg, const Tensor& hg, const Tensor& h, const Tensor& dout, const Tensor& dxg,
                       const Tensor& dhg, const Tensor& dh) {
  dispatch_rnn(h.dtype(), "gru_cell_backward", [&](auto tag) {
    gru_backward_typed<typename decltype(tag)::type>(xg, hg, h, dout, dxg, dhg, dh);
  });
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_lstm_cell_forward, lstm_forward_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_lstm_cell_backward, lstm_backward_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_gru_cell_forward, gru_forward_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_gru_cell_backward, gru_backward_impl);

}  // namespace ctorch
