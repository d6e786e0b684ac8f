// CUDA sorting kernels: each row is sorted as (key, index) pairs by CUB's stable radix sorts, with
// keys whose unsigned order is the CPU comparators' order (NaN above every number, -0 == +0);
// sort/topk/kthvalue/median then gather from the sorted indices, and unique marks, scans and
// scatters the groups of one sorted copy. The only .cu file that includes CUB.
#include "kernels/sort.h"
#include <algorithm>
#include <climits>
#include <cub/cub.cuh>
#include "kernels/launch.cuh"

namespace ctorch {

namespace {

using cuda::kBlockSize;

template <class T> struct KeyType;
template <> struct KeyType<uint8_t> { using type = uint8_t; };
template <> struct KeyType<int64_t> { using type = uint64_t; };
template <> struct KeyType<float> { using type = uint32_t; };
template <> struct KeyType<double> { using type = uint64_t; };

__device__ inline uint8_t radix_key(uint8_t v) { return v; }
__device__ inline uint64_t radix_key(int64_t v) {
  return static_cast<uint64_t>(v) ^ (uint64_t(1) << 63);
}
// IEEE bits made monotone: negatives reversed under the sign bit, positives above it. Every NaN
// gets the largest key (all equal: ties keep the index order), -0 gets +0's.
__device__ inline uint32_t radix_key(float v) {
  if (v != v) return 0xFFFFFFFFu;
  if (v == 0.0f) return 0x80000000u;
  uint32_t u = __float_as_uint(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ inline uint64_t radix_key(double v) {
  constexpr uint64_t sign = uint64_t(1) << 63;
  if (v != v) return ~uint64_t(0);
  if (v == 0.0) return sign;
  uint64_t u = static_cast<uint64_t>(__double_as_longlong(v));
  return (u & sign) ? ~u : (u | sign);
}

template <class T> __device__ inline bool is_nan(T v) { return v != v; }

#define CTORCH_GRID_STRIDE(i, total)                                                  \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (total); \
       i += int64_t(blockDim.x) * gridDim.x)

// Keys (complemented for a descending sort: an ascending stable sort of ~key is the descending
// order with ties still in index order) and each element's index within its row.
template <class T, class K>
__global__ void make_keys_kernel(const T* x, K* keys, int64_t* pos, int64_t total, int64_t n,
                                 bool desc) {
  CTORCH_GRID_STRIDE(i, total) {
    K key = radix_key(x[i]);
    keys[i] = desc ? K(~key) : key;
    pos[i] = i % n;
  }
}

__global__ void segment_offsets_kernel(int* offsets, int64_t count, int64_t n) {
  CTORCH_GRID_STRIDE(i, count) offsets[i] = static_cast<int>(i * n);
}

Tensor scratch(int64_t bytes, Device dev) {
  return empty({std::max<int64_t>(bytes, 1)}, DType::UInt8, dev);
}
template <class P> P* ptr(const Tensor& t) { return static_cast<P*>(t.data_ptr()); }

// order[r * n + j] = the index within row r of the row's j-th element in sorted order.
template <class T>
void sort_rows(const T* x, int64_t rows, int64_t n, bool desc, int64_t* order, Device dev) {
  using K = typename KeyType<T>::type;
  const int64_t total = rows * n;
  if (total == 0) return;
  cudaStream_t stream = cuda::stream();
  Tensor key_buf = scratch(2 * total * int64_t(sizeof(K)), dev);
  Tensor pos_buf = scratch(total * int64_t(sizeof(int64_t)), dev);
  K* keys_in = ptr<K>(key_buf);
  K* keys_out = keys_in + total;
  int64_t* pos = ptr<int64_t>(pos_buf);
  make_keys_kernel<T, K><<<cuda::grid_size(total), kBlockSize, 0, stream>>>(x, keys_in, pos, total,
                                                                            n, desc);
  CTORCH_CUDA_CHECK(cudaGetLastError());
  size_t bytes = 0;
  if (n >= 65536 || rows == 1) {
    // Long rows: the device-wide sort, one row at a time (a segmented sort gives a segment one
    // block). Its temporary storage depends on n only.
    CTORCH_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, keys_in, keys_out, pos, order,
                                                      n, 0, int(sizeof(K) * 8), stream));
    Tensor tmp = scratch(int64_t(bytes), dev);
    for (int64_t r = 0; r < rows; ++r) {
      size_t b = bytes;
      CTORCH_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
          tmp.data_ptr(), b, keys_in + r * n, keys_out + r * n, pos + r * n, order + r * n, n, 0,
          int(sizeof(K) * 8), stream));
    }
    return;
  }
  // Many short rows: segmented sorts over batches of rows (CUB counts items in int).
  const int64_t batch = std::min<int64_t>(rows, INT_MAX / n);
  Tensor off_buf = scratch((batch + 1) * int64_t(sizeof(int)), dev);
  int* offsets = ptr<int>(off_buf);
  segment_offsets_kernel<<<cuda::grid_size(batch + 1), kBlockSize, 0, stream>>>(offsets, batch + 1, n);
  CTORCH_CUDA_CHECK(cudaGetLastError());
  CTORCH_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(
      nullptr, bytes, keys_in, keys_out, pos, order, int(batch * n), int(batch), offsets,
      offsets + 1, 0, int(sizeof(K) * 8), stream));
  Tensor tmp = scratch(int64_t(bytes), dev);
  for (int64_t r0 = 0; r0 < rows; r0 += batch) {
    int64_t b_rows = std::min(batch, rows - r0), off = r0 * n;
    size_t b = bytes;
    CTORCH_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(
        tmp.data_ptr(), b, keys_in + off, keys_out + off, pos + off, order + off,
        int(b_rows * n), int(b_rows), offsets, offsets + 1, 0, int(sizeof(K) * 8), stream));
  }
}

// values/indices [rows, m] from sorted positions off .. off + m - 1 of each row.
template <class T>
__global__ void gather_sorted_kernel(const T* x, const int64_t* order, T* values, int64_t* indices,
                                     int64_t rows, int64_t n, int64_t m, int64_t off) {
  CTORCH_GRID_STRIDE(idx, rows * m) {
    int64_t r = idx / m, j = idx - r * m;
    int64_t s = order[r * n + off + j];
    values[idx] = x[r * n + s];
    indices[idx] = s;
  }
}

// The median at sorted position k, or the row's first NaN (the NaNs sort last, in index order).
template <class T>
__global__ void median_kernel(const T* x, const int64_t* order, T* values, int64_t* indices,
                              int64_t rows, int64_t n, int64_t k) {
  CTORCH_GRID_STRIDE(r, rows) {
    const int64_t* o = order + r * n;
    const T* xr = x + r * n;
    int64_t j = k;
    if (is_nan(xr[o[n - 1]])) {
      j = n - 1;
      while (j > 0 && is_nan(xr[o[j - 1]])) --j;
    }
    values[r] = xr[o[j]];
    indices[r] = o[j];
  }
}

template <class F>
void dispatch_sort(DType t, const char* op, const F& f) {
  switch (t) {
    case DType::UInt8: return f(TypeTag<uint8_t>{});
    case DType::Int64: return f(TypeTag<int64_t>{});
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: return f(TypeTag<double>{});
    default: CTORCH_FAIL("[", op, "] CUDA sort kernel not built for ", dtype_name(t));
  }
}

void sort_select_impl(SortMode mode, const Tensor& src, const Tensor& values,
                      const Tensor& indices, int64_t k, bool desc) {
  if (values.numel() == 0) return;
  const int64_t n = src.dim() == 0 ? 1 : src.sizes().back();
  const int64_t rows = src.numel() / n;
  const int64_t m = values.numel() / rows;
  Device dev = src.device();
  Tensor order = empty({rows, n}, DType::Int64, dev);
  dispatch_sort(src.dtype(), "sort", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = ptr<const T>(src);
    bool descending = (mode == SortMode::Sort || mode == SortMode::TopK) && desc;
    sort_rows<T>(x, rows, n, descending, ptr<int64_t>(order), dev);
    cudaStream_t stream = cuda::stream();
    if (mode == SortMode::Median) {
      median_kernel<T><<<cuda::grid_size(rows), kBlockSize, 0, stream>>>(
          x, ptr<const int64_t>(order), ptr<T>(values), ptr<int64_t>(indices), rows, n, k);
    } else {
      int64_t off = mode == SortMode::Kth ? k : 0;
      gather_sorted_kernel<T><<<cuda::grid_size(rows * m), kBlockSize, 0, stream>>>(
          x, ptr<const int64_t>(order), ptr<T>(values), ptr<int64_t>(indices), rows, n, m, off);
    }
    CTORCH_CUDA_CHECK(cudaGetLastError());
  });
}

// ---- unique

// 1 where sorted position i starts a new value (NaN never equals the one before it).
template <class T>
__global__ void group_starts_kernel(const T* x, const int64_t* order, int64_t* flags, int64_t n) {
  CTORCH_GRID_STRIDE(i, n) flags[i] = (i == 0 || !(x[order[i]] == x[order[i - 1]])) ? 1 : 0;
}

// With group = (inclusive count of starts) - 1: each group's value (its first element in index
// order, as the CPU keeps) and start, and every element's group.
template <class T>
__global__ void scatter_groups_kernel(const T* x, const int64_t* order, const int64_t* flags,
                                      const int64_t* count, T* values, int64_t* starts,
                                      int64_t* inverse, int64_t n, int64_t groups) {
  CTORCH_GRID_STRIDE(i, n) {
    int64_t g = count[i] - 1;
    if (flags[i]) {
      values[g] = x[order[i]];
      starts[g] = i;
    }
    if (inverse) inverse[order[i]] = g;
    if (i == n - 1) starts[groups] = n;
  }
}

__global__ void counts_kernel(const int64_t* starts, int64_t* counts, int64_t groups) {
  CTORCH_GRID_STRIDE(g, groups) counts[g] = starts[g + 1] - starts[g];
}

std::tuple<Tensor, Tensor, Tensor> unique_impl(const Tensor& src, bool return_inverse,
                                               bool return_counts) {
  Device dev = src.device();
  const int64_t n = src.numel();
  Tensor values, inverse, counts;
  if (n == 0) {
    values = empty({0}, src.dtype(), dev);
    if (return_inverse) inverse = empty({0}, DType::Int64, dev);
    if (return_counts) counts = empty({0}, DType::Int64, dev);
    return {values, inverse, counts};
  }
  dispatch_sort(src.dtype(), "unique", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = ptr<const T>(src);
    cudaStream_t stream = cuda::stream();
    Tensor order = empty({n}, DType::Int64, dev);
    sort_rows<T>(x, 1, n, false, ptr<int64_t>(order), dev);
    Tensor flags = empty({n}, DType::Int64, dev), count = empty({n}, DType::Int64, dev);
    group_starts_kernel<T><<<cuda::grid_size(n), kBlockSize, 0, stream>>>(
        x, ptr<const int64_t>(order), ptr<int64_t>(flags), n);
    CTORCH_CUDA_CHECK(cudaGetLastError());
    size_t bytes = 0;
    CTORCH_CUDA_CHECK(cub::DeviceScan::InclusiveSum(nullptr, bytes, ptr<const int64_t>(flags),
                                                    ptr<int64_t>(count), n, stream));
    Tensor tmp = scratch(int64_t(bytes), dev);
    CTORCH_CUDA_CHECK(cub::DeviceScan::InclusiveSum(tmp.data_ptr(), bytes, ptr<const int64_t>(flags),
                                                    ptr<int64_t>(count), n, stream));
    // The number of distinct values sizes the outputs: one value read back to the host.
    int64_t groups = 0;
    CTORCH_CUDA_CHECK(cudaMemcpyAsync(&groups, ptr<int64_t>(count) + (n - 1), sizeof(int64_t),
                                      cudaMemcpyDeviceToHost, stream));
    CTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    values = empty({groups}, src.dtype(), dev);
    Tensor starts = empty({groups + 1}, DType::Int64, dev);
    if (return_inverse) inverse = empty({n}, DType::Int64, dev);
    scatter_groups_kernel<T><<<cuda::grid_size(n), kBlockSize, 0, stream>>>(
        x, ptr<const int64_t>(order), ptr<const int64_t>(flags), ptr<const int64_t>(count),
        ptr<T>(values), ptr<int64_t>(starts), return_inverse ? ptr<int64_t>(inverse) : nullptr, n,
        groups);
    CTORCH_CUDA_CHECK(cudaGetLastError());
    if (return_counts) {
      counts = empty({groups}, DType::Int64, dev);
      counts_kernel<<<cuda::grid_size(groups), kBlockSize, 0, stream>>>(
          ptr<const int64_t>(starts), ptr<int64_t>(counts), groups);
      CTORCH_CUDA_CHECK(cudaGetLastError());
    }
  });
  return {values, inverse, counts};
}

#undef CTORCH_GRID_STRIDE

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_sort_select, sort_select_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_unique, unique_impl);

}  // namespace ctorch
