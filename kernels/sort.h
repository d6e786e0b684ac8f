// CUDA sorting kernels (sort, topk, kthvalue, median, unique), defined in kernels/sort.cu; the
// ops in src/ops/sort.cpp arrange the layouts and dtypes, as for their CPU kernels.
#pragma once
#include <cstdint>
#include <tuple>
#include "core/cuda_kernel.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

// What a row selection writes: Sort all n in order, TopK the first k in order, Kth and Median the
// single element at sorted position k (Median: NaN and its first index when a NaN is there).
enum class SortMode { Sort, TopK, Kth, Median };

// Over the contiguous rows of src [rows, n] (uint8, int64, float32 or float64), in the CPU's
// order: stable, NaN above every number, -0 equal to +0 (`desc` reverses the values, not the
// ties). Writes the contiguous values (src's dtype) and int64 indices [rows, m].
CTORCH_CUDA_KERNEL(cuda_sort_select, void(SortMode mode, const Tensor& src, const Tensor& values,
                                          const Tensor& indices, int64_t k, bool desc));

// The sorted distinct values of the contiguous src (dtypes as above; each NaN is its own value),
// the flat int64 inverse (when asked) and the int64 counts (when asked).
CTORCH_CUDA_KERNEL(cuda_unique, std::tuple<Tensor, Tensor, Tensor>(const Tensor& src,
                                                                   bool return_inverse,
                                                                   bool return_counts));

}  // namespace ctorch
