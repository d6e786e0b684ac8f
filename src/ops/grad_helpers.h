// Backward formulas shared by several op families (reductions and sorting ops pick elements of
// their input, so their gradients go back the same ways).
#pragma once
#include <vector>
#include "ctorch/core/tensor.h"

namespace ctorch {

// The gradient of one selected element per slice along dim (max/min with dim, sort, topk,
// kthvalue, median with dim): zeros of the input's `shape` with g scattered to `idx`. g and idx
// are the output's (size-1 dim squeezed unless keepdim; sort/topk pass keepdim = true).
Tensor scatter_to_index(const Tensor& g, const Tensor& idx, int64_t dim, IntArrayRef shape,
                        bool keepdim);

// Splits the gradient evenly among the elements of x equal to the result (both keepdim-shaped
// over the reduced `dims`), as PyTorch's amax/amin/median do; `nan_aware` (max()/min()/median()
// over everything) picks the NaNs when the result is NaN.
Tensor split_among_equal(const Tensor& g_keep, const Tensor& x, const Tensor& r_keep,
                         const std::vector<int64_t>& dims, bool nan_aware);

}  // namespace ctorch
