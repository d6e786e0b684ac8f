// CUDA twins of the fused optimizer steps of src/ops/optim.cpp (kernels/optim.cu).
#pragma once
#include "core/cuda_kernel.h"
#include "ctorch/ops/optim.h"

namespace ctorch {

// Every tensor contiguous, of param's dtype (float32/float64) and size, on param's GPU (the caller
// checks eligibility); buf is used only when o.momentum != 0.
CTORCH_CUDA_KERNEL(cuda_sgd_step, void(const Tensor& param, const Tensor& grad, const Tensor& buf, SgdOptions o,
                                       bool first_step));
// bias_correction1 = 1 - beta1^step and bias_correction2_sqrt = sqrt(1 - beta2^step), computed on the host
// in double as the CPU does; max_exp_avg_sq is used only with o.amsgrad.
CTORCH_CUDA_KERNEL(cuda_adam_step, void(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                                        const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, AdamOptions o,
                                        double bias_correction1, double bias_correction2_sqrt));

}  // namespace ctorch
