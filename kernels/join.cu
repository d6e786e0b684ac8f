// CUDA kernel of cat for dense parts: up to kMaxParts parts per launch, each copied in the widest
// unit (1 to 16 bytes) that every pointer and row length allows.
#include <algorithm>
#include "kernels/join.h"
#include "kernels/launch.cuh"

namespace ctorch {

namespace {

constexpr int kMaxParts = 64;

// Passed by value in the kernel's parameters (1.5 KB, under the 4 KB limit).
struct CatBatch {
  const char* src[kMaxParts];
  int64_t row[kMaxParts];  // bytes of one outer row of the part (n_i * inner)
  int64_t dst[kMaxParts];  // byte offset of the part inside one outer row of out
};

// blockIdx.y picks the part; the x blocks stride over its outer * row bytes in units of U.
template <class U>
__global__ void cat_kernel(CatBatch b, char* out, int64_t outer, int64_t out_row) {
  const int part = blockIdx.y;
  const int64_t row = b.row[part] / int64_t(sizeof(U));
  const int64_t total = outer * row;
  const U* src = reinterpret_cast<const U*>(b.src[part]);
  char* dst = out + b.dst[part];
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = i / row, j = i - o * row;
    reinterpret_cast<U*>(dst + o * out_row)[j] = src[i];
  }
}

template <class U>
void launch_cat(const CatBatch& b, int nparts, char* out, int64_t outer, int64_t out_row,
                int64_t max_total) {
  dim3 grid(std::min(cuda::grid_size(max_total / int64_t(sizeof(U))), 1024u), unsigned(nparts));
  cat_kernel<U><<<grid, cuda::kBlockSize, 0, cuda::stream()>>>(b, out, outer, out_row);
  CTORCH_CUDA_CHECK(cudaGetLastError());
}

void cat_impl(const Tensor& out, const std::vector<Tensor>& parts, const std::vector<int64_t>& at,
              int64_t dim) {
  IntArrayRef shape = out.sizes();
  int64_t outer = 1, inner = static_cast<int64_t>(out.element_size());
  for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
  for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) inner *= shape[d];
  const int64_t out_row = shape[dim] * inner;
  char* base = static_cast<char*>(out.data_ptr());
  for (size_t first = 0; first < parts.size(); first += kMaxParts) {
    const int nparts = static_cast<int>(std::min<size_t>(kMaxParts, parts.size() - first));
    CatBatch b{};
    // The copy unit: the lowest set bit of everything a unit-sized access must be aligned to.
    uint64_t bits = 16 | reinterpret_cast<uintptr_t>(base) | uint64_t(out_row);
    int64_t max_total = 0;
    for (int k = 0; k < nparts; ++k) {
      const Tensor& t = parts[first + k];
      b.src[k] = static_cast<const char*>(t.data_ptr());
      b.row[k] = t.sizes()[dim] * inner;
      b.dst[k] = at[first + k] * inner;
      bits |= reinterpret_cast<uintptr_t>(b.src[k]) | uint64_t(b.row[k]) | uint64_t(b.dst[k]);
      max_total = std::max(max_total, outer * b.row[k]);
    }
    if (max_total == 0) continue;
    switch (bits & (~bits + 1)) {  // lowest set bit
      case 1: launch_cat<uint8_t>(b, nparts, base, outer, out_row, max_total); break;
      case 2: launch_cat<uint16_t>(b, nparts, base, outer, out_row, max_total); break;
      case 4: launch_cat<uint32_t>(b, nparts, base, outer, out_row, max_total); break;
      case 8: launch_cat<uint64_t>(b, nparts, base, outer, out_row, max_total); break;
      default: launch_cat<int4>(b, nparts, base, outer, out_row, max_total); break;
    }
  }
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_cat, cat_impl);

}  // namespace ctorch
