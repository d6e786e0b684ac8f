// CUDA twins of the data-moving helpers of src/ops/index.cpp, defined in kernels/index.cu.
#pragma once
#include <cstdint>
#include "core/cuda_kernel.h"
#include "core/tensor_iter.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

// How scatter_run combines a source value with its target (index.cpp's Reduce).
enum class IndexReduce { None, Sum, Prod, Mean, Max, Min };

// Whether an int64 tensor holds a value outside [lo, hi); *bad gets the first such value in the
// order the CPU's check walks it (TensorIter order), so both name the same offender. One sync.
CTORCH_CUDA_KERNEL(cuda_index_first_bad, bool(const Tensor& idx64, int64_t lo, int64_t hi, int64_t* bad));
// The largest value of a non-empty int64 tensor (one_hot's inferred class count). One sync.
CTORCH_CUDA_KERNEL(cuda_index_max, int64_t(const Tensor& idx64));

// Operands (a, b, int64 index), as index.cpp's indexed_move: gather a[k] = b[k + index[k] * step],
// scatter a[k + index[k] * step] = b[k] (repeated targets: some write wins). Negative index
// values count from the end of a dim of `size`.
CTORCH_CUDA_KERNEL(cuda_indexed_move, void(const TensorIter&, int64_t elsize, int64_t step_bytes,
                                           int64_t size, bool scatter));
// a[k + index[k] * step] op= b[k] with atomics (dtype: a's and b's). With !include_self every
// target first becomes the reduction's identity. Mean: `count` (device int64, one slot per
// element of the dense destination starting at `base`) records the hits, then divides.
CTORCH_CUDA_KERNEL(cuda_indexed_reduce, void(const TensorIter&, DType, IndexReduce, bool include_self,
                                             int64_t step_bytes, int64_t size, void* base, int64_t* count,
                                             int64_t base_numel));
// lin[k] += (v < 0 ? v + size : v) * stride over TensorIter (lin, int64 index): several index
// tensors folded into one element offset.
CTORCH_CUDA_KERNEL(cuda_index_linearize, void(const TensorIter&, int64_t size, int64_t stride));

// Row-major positions of the true elements of a contiguous bool tensor, as a 1-D int64 tensor
// on its device (CUB select; one sync for the count).
CTORCH_CUDA_KERNEL(cuda_mask_positions, Tensor(const Tensor& mask));
// out[r, d] = the d-th coordinate, in a tensor of `sizes`, of row-major position pos[r].
CTORCH_CUDA_KERNEL(cuda_nonzero_coords, void(const Tensor& pos, IntArrayRef sizes, const Tensor& out));
// The mask ops' moves (index.cpp's move_elems). Gather: dst[k] = src at row-major position
// pos[k] (dst dense 1-D). Scatter: dst at row-major position pos[k] = src at row-major k.
CTORCH_CUDA_KERNEL(cuda_move_elems, void(const Tensor& dst, const Tensor& src, const Tensor& pos,
                                         bool scatter));

}  // namespace ctorch
