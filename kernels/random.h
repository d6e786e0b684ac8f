// CUDA twins of the random ops (src/ops/random.cpp), defined in kernels/random.cu: the same Philox
// blocks and formulas (src/ops/philox.h), so a seed gives the CPU's numbers on the GPU.
#pragma once
#include <cstdint>
#include "core/cuda_kernel.h"
#include "ctorch/core/tensor.h"
#include "ops/philox.h"  // RandomFill: which formula a fill computes

namespace ctorch {

using philox::RandomFill;
using philox::RandomFillKind;
using philox::PhiloxKey;

// Writes value i (row-major over t, any layout and dtype) of the fill into t on t's device;
// p (BernoulliTensor only, else nullptr) is already expanded to t's shape on t's device.
CTORCH_CUDA_KERNEL(cuda_random_fill, void(Tensor&, const Tensor*, const PhiloxKey&, const RandomFill&));
// Checks every element of x (any dtype and layout): kind 0, in [0, 1]; kind 1, >= 0 or NaN.
// Returns false and the first offending value in *bad when one fails (one device sync).
CTORCH_CUDA_KERNEL(cuda_random_check, bool(const Tensor&, int, double*));
// multinomial's input check (1-D or 2-D floating weights): 0 when fine, else the first bad row's
// error, 1 for an inf, nan or negative weight and 2 for a sum <= 0 (one device sync).
CTORCH_CUDA_KERNEL(cuda_multinomial_check, int(const Tensor&));
// multinomial's draws into out (contiguous int64, rows x num_samples): row r uses the 64-bit
// values [r * per_row, (r + 1) * per_row) of the claimed blocks, as on the CPU.
CTORCH_CUDA_KERNEL(cuda_multinomial, void(const Tensor&, Tensor&, int64_t, bool, int64_t, const PhiloxKey&));

}  // namespace ctorch
