// Fused optimizer updates: each parameter is updated in one pass over its memory instead of the
// several elementwise ops (and temporaries) of the textbook formula; the arithmetic follows PyTorch's
// single-tensor updates. Each step applies when every tensor is a contiguous CPU float32/float64 tensor
// of param's dtype and size; otherwise it returns false and touches nothing (ctorch.optim then takes
// its elementwise path).
#pragma once
#include "ctorch/core/tensor.h"

namespace ctorch {

struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};
// param -= lr * update; momentum_buf (when momentum != 0) is updated in place, or seeded with the
// gradient when first_step.
CTORCH_API bool sgd_step_(Tensor& param, const Tensor& grad, Tensor& momentum_buf, const SgdOptions& o,
                          bool first_step);

struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay, maximize, amsgrad;
};
// One Adam/AdamW step number `step` (1-based); max_exp_avg_sq is used only with amsgrad.
CTORCH_API bool adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                           Tensor& max_exp_avg_sq, const AdamOptions& o, double step);

}  // namespace ctorch
