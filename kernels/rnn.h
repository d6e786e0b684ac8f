// CUDA twins of the fused LSTM/GRU cell pointwise kernels of src/ops/rnn.cpp (kernels/rnn.cu).
#pragma once
#include "core/cuda_kernel.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

// Every tensor contiguous, float32 or float64 (one dtype), on one GPU; outputs preallocated.
// gates [B, 4H] (i, f, g, o), c [B, H] -> h, cn [B, H].
CTORCH_CUDA_KERNEL(cuda_lstm_cell_forward,
                   void(const Tensor& gates, const Tensor& c, const Tensor& h, const Tensor& cn));
// -> dgates [B, 4H], dc [B, H].
CTORCH_CUDA_KERNEL(cuda_lstm_cell_backward,
                   void(const Tensor& gates, const Tensor& c, const Tensor& cn, const Tensor& dh, const Tensor& dcn,
                        const Tensor& dgates, const Tensor& dc));
// xg, hg [B, 3H] (r, z, n pre-activations), h [B, H] -> out [B, H].
CTORCH_CUDA_KERNEL(cuda_gru_cell_forward, void(const Tensor& xg, const Tensor& hg, const Tensor& h, const Tensor& out));
// -> dxg, dhg [B, 3H], dh [B, H].
CTORCH_CUDA_KERNEL(cuda_gru_cell_backward,
                   void(const Tensor& xg, const Tensor& hg, const Tensor& h, const Tensor& dout, const Tensor& dxg,
                        const Tensor& dhg, const Tensor& dh));

}  // namespace ctorch
