// CUDA kernel of cat (src/ops/join.cpp) for its dense parts, defined in kernels/join.cu.
#pragma once
#include <vector>
#include "core/cuda_kernel.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

// out: contiguous, seen as [outer, total, inner] around the cat dim. Each part is contiguous, of
// out's dtype and device, shaped [outer, n_i, inner]; it lands at offset at[i] of the cat dim.
// Many parts go in one launch (stack of many small tensors is common).
CTORCH_CUDA_KERNEL(cuda_cat, void(const Tensor& out, const std::vector<Tensor>& parts,
                                  const std::vector<int64_t>& at, int64_t dim));

}  // namespace ctorch
