// What every CUDA kernel file uses: error checks, the current stream, 1-D launches over n
// indices, and per-operand byte offsets of a TensorIter computed on the device.
#pragma once
#include <cuda_runtime.h>
#include <cstdint>
#include "core/dispatch.h"
#include "core/tensor_iter.h"
#include "ctorch/core/error.h"
#include "ctorch/cuda.h"

namespace ctorch::cuda {

// Raises ctorch's RuntimeError naming the failed call (and clears CUDA's sticky-free error state).
void check_error(cudaError_t err, const char* what);
#define CTORCH_CUDA_CHECK(expr) ::ctorch::cuda::check_error((expr), #expr)

// The stream kernels launch on: the calling thread's current stream of the current device.
inline cudaStream_t stream() { return static_cast<cudaStream_t>(current_stream(current_device())); }

constexpr int kBlockSize = 256;

// Enough blocks to cover n threads, capped so a grid-stride loop does the rest.
inline unsigned grid_size(int64_t n, int block = kBlockSize) {
  int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(blocks < (1 << 20) ? (blocks > 0 ? blocks : 1) : (1 << 20));
}

// Whether a grid-stride loop over n indices of `grid` blocks may use 32-bit indices: the last
// `i += stride` reaches up to n - 1 + grid * block, which must not wrap (a wrapped, negative i
// passes `i < n`: out-of-bounds accesses and a loop that may never end).
inline bool fits_int32(int64_t n, unsigned grid, int block = kBlockSize) {
  return n + int64_t(grid) * block <= int64_t(INT32_MAX);
}

template <class Index, class F>
__global__ void for_each_index_kernel(Index n, F f) {
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += Index(blockDim.x) * gridDim.x)
    f(i);
}

// Calls f(i) for i in [0, n) on the current stream, one thread per index. 32-bit indexing when
// it fits (64-bit division is several times slower on the GPU). f is copied to the device: it
// must capture raw pointers and values only.
template <class F>
void for_each_index(int64_t n, const F& f) {
  if (n <= 0) return;
  if (fits_int32(n, grid_size(n)))
    for_each_index_kernel<int32_t><<<grid_size(n), kBlockSize, 0, stream()>>>(int32_t(n), f);
  else
    for_each_index_kernel<int64_t><<<grid_size(n), kBlockSize, 0, stream()>>>(n, f);
  CTORCH_CUDA_CHECK(cudaGetLastError());
}

// Byte offsets of every operand of a TensorIter at a flat index (innermost dim fastest),
// copied by value into a kernel's parameters.
template <int N>
struct OffsetCalc {
  static constexpr int kMaxDims = 12;
  int ndim = 0;
  int64_t sizes[kMaxDims];
  int64_t strides[kMaxDims][N];

  explicit OffsetCalc(const TensorIter& it) : ndim(it.ndim()) {
    CTORCH_CHECK(ndim <= kMaxDims, "[cuda] tensors with more than ", int(kMaxDims),
                 " non-mergeable dimensions are not supported");
    for (int d = 0; d < ndim; ++d) {
      sizes[d] = it.size(d);
      for (int k = 0; k < N; ++k) strides[d][k] = it.stride(k, d);
    }
  }
  template <class Index>
  __device__ void offsets(Index i, int64_t (&out)[N]) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = 0; d < ndim; ++d) {
      Index q = i / Index(sizes[d]);
      Index r = i - q * Index(sizes[d]);
      i = q;
      for (int k = 0; k < N; ++k) out[k] += int64_t(r) * strides[d][k];
    }
  }
};

}  // namespace ctorch::cuda
