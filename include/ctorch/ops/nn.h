// Fused nn kernels (src/ops/nn_norm.cpp): layer/batch/group norm forward and backward, and the
// class-index cross-entropy / NLL losses. All differentiable through ctorch autograd; 16-bit
// floats compute in float.
#pragma once
#include <array>
#include <string>
#include <tuple>
#include "ctorch/core/tensor.h"

namespace ctorch {

// Reduction of a loss over its samples (PyTorch's Reduction enum).
enum class LossReduction : int { None = 0, Mean = 1, Sum = 2 };
CTORCH_API LossReduction loss_reduction(const std::string& name);  // "none" | "mean" | "sum"

// ---- layer norm: normalizes over the trailing dims given by normalized_shape. Returns
// (output, mean, rstd); mean/rstd have the input's leading dims followed by ones, in the compute
// dtype (float for 16-bit inputs). weight/bias may be undefined.
CTORCH_API std::tuple<Tensor, Tensor, Tensor> native_layer_norm(const Tensor& input,
                                                                 IntArrayRef normalized_shape,
                                                                 const Tensor& weight,
                                                                 const Tensor& bias, double eps);
// Gradients (input, weight, bias) from the saved mean/rstd; output_mask says which to compute.
CTORCH_API std::tuple<Tensor, Tensor, Tensor> native_layer_norm_backward(
    const Tensor& grad_out, const Tensor& input, IntArrayRef normalized_shape, const Tensor& mean,
    const Tensor& rstd, const Tensor& weight, const Tensor& bias, std::array<bool, 3> output_mask);

// ---- batch norm over [N, C, *] per channel. training: batch statistics (running stats, when
// defined, are updated in place with momentum and the unbiased variance, outside autograd);
// otherwise the running statistics. Returns (output, save_mean, save_invstd), each [C].
CTORCH_API std::tuple<Tensor, Tensor, Tensor> native_batch_norm(const Tensor& input,
                                                                 const Tensor& weight,
                                                                 const Tensor& bias,
                                                                 const Tensor& running_mean,
                                                                 const Tensor& running_var,
                                                                 bool training, double momentum,
                                                                 double eps);
CTORCH_API std::tuple<Tensor, Tensor, Tensor> native_batch_norm_backward(
    const Tensor& grad_out, const Tensor& input, const Tensor& weight, const Tensor& save_mean,
    const Tensor& save_invstd, bool training, std::array<bool, 3> output_mask);

// ---- group norm over [N, C, *] with C split into `groups`. Returns (output, mean, rstd), the
// statistics of shape [N, groups].
CTORCH_API std::tuple<Tensor, Tensor, Tensor> native_group_norm(const Tensor& input,
                                                                 const Tensor& weight,
                                                                 const Tensor& bias,
                                                                 int64_t groups, double eps);
CTORCH_API std::tuple<Tensor, Tensor, Tensor> native_group_norm_backward(
    const Tensor& grad_out, const Tensor& input, const Tensor& mean, const Tensor& rstd,
    const Tensor& weight, int64_t groups, std::array<bool, 3> output_mask);

// ---- losses over class indices: input (C), (N, C) or (N, C, d1, ...), target of the input's
// shape without the class dim (int64 or uint8). log_softmax + NLL in one pass per sample, with
// PyTorch's weight, ignore_index and label smoothing. `weight` (may be undefined) gets no gradient.
// Targets outside [0, C) that are not ignore_index raise IndexError("Target t is out of bounds.").
CTORCH_API Tensor cross_entropy_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                                     LossReduction reduction, int64_t ignore_index,
                                     double label_smoothing);
// -weight[t] * input[t] (input holds log-probabilities), same layouts and checks.
CTORCH_API Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                           LossReduction reduction, int64_t ignore_index);

// ---- embedding: rows of weight [V, D] picked by integer indices (int64/int32), output
// indices.shape + [D]. Positions whose index is padding_idx (-1: none) pass no gradient;
// scale_grad_by_freq divides each row's gradient by how often its index occurs. IndexError for
// indices outside [0, V).
CTORCH_API Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx = -1,
                            bool scale_grad_by_freq = false);
// The weight gradient [num_weights, D] of embedding: grad rows summed into their index's row
// (parallel over ranges of rows, no atomics).
CTORCH_API Tensor embedding_dense_backward(const Tensor& grad, const Tensor& indices, int64_t num_weights,
                                           int64_t padding_idx, bool scale_grad_by_freq);

}  // namespace ctorch
