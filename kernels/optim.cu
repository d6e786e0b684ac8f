// CUDA fused SGD and Adam/AdamW steps (see kernels/optim.h): one thread per parameter element, the
// CPU chunk kernels' arithmetic in the parameter's dtype. The options are uniform across threads, so
// plain branches cost nothing and keep the instantiations to float and double.
#include "kernels/optim.h"
#include "kernels/launch.cuh"

namespace ctorch {

namespace optim_cuda {

// PyTorch's lerp: exact at both ends whichever side the weight is on.
template <class T>
__device__ __forceinline__ T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

template <class T>
void sgd_typed(const Tensor& param, const Tensor& grad, const Tensor& buf, const SgdOptions& o, bool first) {
  T* p = param.data<T>();
  const T* g = grad.data<T>();
  T* m = o.momentum != 0 ? buf.data<T>() : nullptr;
  const T sign = o.maximize ? T(-1) : T(1), lr = T(o.lr), wd = T(o.weight_decay), mom = T(o.momentum),
          damp = T(1 - o.dampening);
  const bool decay = o.weight_decay != 0, momentum = o.momentum != 0, nesterov = o.nesterov;
  cuda::for_each_index(param.numel(), [=] __device__(auto i) {
    T d = sign * g[i];
    if (decay) d = d + wd * p[i];
    if (momentum) {
      T b = first ? d : m[i] * mom + damp * d;
      m[i] = b;
      d = nesterov ? d + mom * b : b;
    }
    p[i] = p[i] + (-lr) * d;
  });
}

enum class Decay { None, L2, Decoupled };

template <class T>
void adam_typed(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamOptions& o, double bias_correction1,
                double bias_correction2_sqrt) {
  T* p = param.data<T>();
  const T* g = grad.data<T>();
  T *m = exp_avg.data<T>(), *v = exp_avg_sq.data<T>();
  T* vmax = o.amsgrad ? max_exp_avg_sq.data<T>() : nullptr;
  const Decay decay = o.weight_decay == 0 ? Decay::None : o.decoupled_weight_decay ? Decay::Decoupled : Decay::L2;
  const bool amsgrad = o.amsgrad;
  const T sign = T(o.maximize ? -1 : 1), w1 = T(1 - o.beta1), beta2 = T(o.beta2), w2 = T(1 - o.beta2),
          wd = T(o.weight_decay), decay_factor = T(1 - o.lr * o.weight_decay),
          step_size = T(o.lr / bias_correction1), bc2 = T(bias_correction2_sqrt), eps = T(o.eps);
  cuda::for_each_index(param.numel(), [=] __device__(auto i) {
    T d = sign * g[i];
    T pi = p[i];
    if (decay == Decay::Decoupled) pi = pi * decay_factor;
    if (decay == Decay::L2) d = d + wd * pi;
    T mi = lerp(m[i], d, w1), vi = v[i] * beta2 + w2 * d * d;
    m[i] = mi;
    v[i] = vi;
    if (amsgrad) {
      const T vm = vmax[i];
      vi = vm < vi ? vi : vm;  // std::max(vmax, vi), NaN handling included
      vmax[i] = vi;
    }
    p[i] = pi + (-step_size) * (mi / (sqrt(vi) / bc2 + eps));
  });
}

}  // namespace optim_cuda

namespace {
using namespace optim_cuda;

void sgd_impl(const Tensor& param, const Tensor& grad, const Tensor& buf, SgdOptions o, bool first_step) {
  if (param.dtype() == DType::Float32) sgd_typed<float>(param, grad, buf, o, first_step);
  else if (param.dtype() == DType::Float64) sgd_typed<double>(param, grad, buf, o, first_step);
  else CTORCH_FAIL("[sgd_step_] cuda kernel expects float32 or float64, got ", dtype_name(param.dtype()));
}

void adam_impl(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, AdamOptions o, double bc1, double bc2_sqrt) {
  if (param.dtype() == DType::Float32)
    adam_typed<float>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o, bc1, bc2_sqrt);
  else if (param.dtype() == DType::Float64)
    adam_typed<double>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o, bc1, bc2_sqrt);
  else CTORCH_FAIL("[adam_step_] cuda kernel expects float32 or float64, got ", dtype_name(param.dtype()));
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_sgd_step, sgd_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_adam_step, adam_impl);

}  // namespace ctorch
