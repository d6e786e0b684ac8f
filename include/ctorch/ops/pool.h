// Pooling over the last one or two dims of [N, C, *] / [C, *] inputs: max (with flat per-plane
// indices), average and adaptive average/max pooling, all differentiable (src/ops/pool.cpp).
#pragma once
#include <optional>
#include <tuple>
#include "ctorch/core/tensor.h"

namespace ctorch {

// 2-d pooling: kernel_size/padding/dilation hold one int (used for both dims) or two; an empty
// stride means stride = kernel_size. Indices are int64 positions in each flattened input plane.
CTORCH_API std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, IntArrayRef kernel_size,
                                                             IntArrayRef stride = {}, IntArrayRef padding = {0},
                                                             IntArrayRef dilation = {1}, bool ceil_mode = false);
CTORCH_API Tensor max_pool2d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {},
                             IntArrayRef padding = {0}, IntArrayRef dilation = {1}, bool ceil_mode = false);
CTORCH_API Tensor avg_pool2d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {},
                             IntArrayRef padding = {0}, bool ceil_mode = false, bool count_include_pad = true,
                             std::optional<int64_t> divisor_override = std::nullopt);
CTORCH_API Tensor adaptive_avg_pool2d(const Tensor& input, IntArrayRef output_size);
CTORCH_API std::tuple<Tensor, Tensor> adaptive_max_pool2d(const Tensor& input, IntArrayRef output_size);

// 1-d pooling (over the last dim); the same kernels with a plane height of 1. stride 0 or empty
// means stride = kernel_size.
CTORCH_API std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& input, IntArrayRef kernel_size,
                                                             IntArrayRef stride = {}, IntArrayRef padding = {0},
                                                             IntArrayRef dilation = {1}, bool ceil_mode = false);
CTORCH_API Tensor max_pool1d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {},
                             IntArrayRef padding = {0}, IntArrayRef dilation = {1}, bool ceil_mode = false);
CTORCH_API Tensor avg_pool1d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {},
                             IntArrayRef padding = {0}, bool ceil_mode = false, bool count_include_pad = true);
CTORCH_API Tensor adaptive_avg_pool1d(const Tensor& input, IntArrayRef output_size);
CTORCH_API std::tuple<Tensor, Tensor> adaptive_max_pool1d(const Tensor& input, IntArrayRef output_size);

// The inverse of max_pool2d for the kept values: input[..., i] goes to position indices[..., i] of
// an [..., output_size[0], output_size[1]] plane of zeros.
CTORCH_API Tensor max_unpool2d(const Tensor& input, const Tensor& indices, IntArrayRef output_size);

}  // namespace ctorch
