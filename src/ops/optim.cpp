// Fused optimizer updates (see ctorch/ops/optim.h): one parallel pass per parameter.
#include "ctorch/ops/optim.h"
#include <cmath>
#include "cpu/dispatch.h"
#include "cpu/parallel.h"

namespace ctorch {

bool fused_step_supported(const Tensor& param, const std::vector<Tensor>& others) {
  auto ok = [&](const Tensor& t) {
    return t.defined() && t.device().is_cpu() && t.is_contiguous() && t.dtype() == param.dtype() &&
           t.numel() == param.numel();
  };
  if (!ok(param) || (param.dtype() != DType::Float32 && param.dtype() != DType::Float64)) return false;
  for (const Tensor& t : others)
    if (!ok(t)) return false;
  return true;
}

namespace {
// Runs f(T* p, const T* g, ..., begin, end) over chunks of the parameter, for float and double.
template <class F>
void over_chunks(const Tensor& param, const F& f) {
  int64_t n = param.numel();
  if (param.dtype() == DType::Float32)
    parallel_for(0, n, kGrainSize, [&](int64_t b, int64_t e) { f(float(), b, e); });
  else
    parallel_for(0, n, kGrainSize, [&](int64_t b, int64_t e) { f(double(), b, e); });
}

// PyTorch's lerp: exact at both ends whichever side the weight is on.
template <class T>
T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}
}  // namespace

void sgd_step_(Tensor& param, const Tensor& grad, Tensor& buf, const SgdOptions& o, bool first_step) {
  CTORCH_CHECK(fused_step_supported(param, o.momentum != 0 ? std::vector<Tensor>{grad, buf}
                                                           : std::vector<Tensor>{grad}),
               "[sgd_step_] tensors must be contiguous CPU float tensors of one dtype and size");
  over_chunks(param, [&](auto tag, int64_t b, int64_t e) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = o.momentum != 0 ? buf.data<T>() : nullptr;
    const T lr = T(o.lr), mom = T(o.momentum), damp = T(1 - o.dampening), wd = T(o.weight_decay);
    for (int64_t i = b; i < e; ++i) {
      T d = o.maximize ? -g[i] : g[i];
      if (o.weight_decay != 0) d = d + wd * p[i];
      if (m) {
        m[i] = first_step ? d : m[i] * mom + damp * d;
        d = o.nesterov ? d + mom * m[i] : m[i];
      }
      p[i] = p[i] + (-lr) * d;
    }
  });
}

void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                Tensor& max_exp_avg_sq, const AdamOptions& o, double step) {
  std::vector<Tensor> others{grad, exp_avg, exp_avg_sq};
  if (o.amsgrad) others.push_back(max_exp_avg_sq);
  CTORCH_CHECK(fused_step_supported(param, others),
               "[adam_step_] tensors must be contiguous CPU float tensors of one dtype and size");
  const double bias_correction1 = 1 - std::pow(o.beta1, step);
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(o.beta2, step));
  over_chunks(param, [&](auto tag, int64_t b, int64_t e) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    T* vmax = o.amsgrad ? max_exp_avg_sq.data<T>() : nullptr;
    const T w1 = T(1 - o.beta1), beta2 = T(o.beta2), w2 = T(1 - o.beta2), wd = T(o.weight_decay);
    const T decay = T(1 - o.lr * o.weight_decay), step_size = T(o.lr / bias_correction1);
    const T bc2 = T(bias_correction2_sqrt), eps = T(o.eps);
    for (int64_t i = b; i < e; ++i) {
      T d = o.maximize ? -g[i] : g[i];
      if (o.weight_decay != 0) {
        if (o.decoupled_weight_decay) p[i] = p[i] * decay;
        else d = d + wd * p[i];
      }
      m[i] = lerp(m[i], d, w1);
      v[i] = v[i] * beta2 + w2 * d * d;
      T second = v[i];
      if (vmax) second = vmax[i] = std::max(vmax[i], v[i]);
      p[i] = p[i] + (-step_size) * (m[i] / (std::sqrt(second) / bc2 + eps));
    }
  });
}

}  // namespace ctorch
