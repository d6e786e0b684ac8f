// Convolution: conv1d/conv2d and their transposes (PyTorch's layouts and argument order).
#pragma once
#include <string>
#include "ctorch/core/tensor.h"

namespace ctorch {

// input [N, C, L] / [N, C, H, W] or unbatched [C, *]; weight [O, C / groups, *kernel]; bias [O] or
// undefined. stride / padding / dilation hold one value per spatial dim or one for all.
CTORCH_API Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                         IntArrayRef stride = {1}, IntArrayRef padding = {0},
                         IntArrayRef dilation = {1}, int64_t groups = 1);
CTORCH_API Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                         IntArrayRef stride = {1}, IntArrayRef padding = {0},
                         IntArrayRef dilation = {1}, int64_t groups = 1);
// padding "valid" (none) or "same" (output size = input size; stride must be 1). An odd total
// padding puts the extra element at the end, as PyTorch does. (PyTorch's conv2d.padding overload;
// a separate name because braced int lists would also convert to a string.)
CTORCH_API Tensor conv1d_padding(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                 IntArrayRef stride, const std::string& padding, IntArrayRef dilation,
                                 int64_t groups);
CTORCH_API Tensor conv2d_padding(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                 IntArrayRef stride, const std::string& padding, IntArrayRef dilation,
                                 int64_t groups);

// The gradient of conv w.r.t. its input, as an op: weight [C_in, C_out / groups, *kernel].
CTORCH_API Tensor conv_transpose1d(const Tensor& input, const Tensor& weight,
                                   const Tensor& bias = Tensor(), IntArrayRef stride = {1},
                                   IntArrayRef padding = {0}, IntArrayRef output_padding = {0},
                                   int64_t groups = 1, IntArrayRef dilation = {1});
CTORCH_API Tensor conv_transpose2d(const Tensor& input, const Tensor& weight,
                                   const Tensor& bias = Tensor(), IntArrayRef stride = {1},
                                   IntArrayRef padding = {0}, IntArrayRef output_padding = {0},
                                   int64_t groups = 1, IntArrayRef dilation = {1});

}  // namespace ctorch
