// CUDA twins of the three CPU convolution kernels in src/ops/conv.cpp (im2col / col2im + cuBLAS),
// defined in kernels/conv.cu.
#pragma once
#include <cstdint>
#include "core/cuda_kernel.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

// One convolution seen as conv (input x [N, C, H, W] -> output y [N, O, HO, WO]) with weight
// [O, C / G, KH, KW]; 1-D convolutions have H = KH = HO = 1 and stride/padding/dilation (1, 0, 1)
// along H. Padding is the start padding (the end padding only decided HO and WO).
struct CudaConvGeo {
  int64_t N, C, H, W, O, KH, KW, HO, WO, G;
  int64_t s[2], p[2], d[2];
};

// Contiguous float32 / float64 operands on one CUDA device (the caller converts 16-bit floats and
// integers as the CPU path does); outputs preallocated and contiguous. b may be undefined.
// y = conv(x, w) + b (b per output channel)
CTORCH_CUDA_KERNEL(cuda_conv_forward, void(const Tensor& x, const Tensor& w, const Tensor& b,
                                           const Tensor& y, const CudaConvGeo& g));
// gx = the input gradient of conv from gy, + b per input channel (a transposed convolution's bias)
CTORCH_CUDA_KERNEL(cuda_conv_input_grad, void(const Tensor& gy, const Tensor& w, const Tensor& b,
                                              const Tensor& gx, const CudaConvGeo& g));
// gw = the weight gradient of conv from x and gy, summed over the batch
CTORCH_CUDA_KERNEL(cuda_conv_weight_grad, void(const Tensor& x, const Tensor& gy, const Tensor& gw,
                                               const CudaConvGeo& g));

}  // namespace ctorch
