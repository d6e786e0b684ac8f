// Launchers for elementwise CUDA kernels over a TensorIter: a vectorized path for dense operands
// (and broadcast scalars), a strided path through OffsetCalc otherwise. Shared by the .cu files
// whose kernels are "one output element from one element of each input".
#pragma once
#include <cstdint>
#include <utility>
#include "kernels/launch.cuh"

namespace ctorch::cuda_loops {

// Elements per thread on the dense path: 16-byte loads for float32 (what add needs to reach
// copy bandwidth), 8 for 16-bit types, two 16-byte loads for 64-bit types.
constexpr int kVec = 4;

template <class T>
struct alignas(sizeof(T) * kVec) Vec {
  T v[kVec];
};

// A dense input, or one element broadcast to all (stride 0).
template <class T>
struct Operand {
  const T* p;
  bool scalar;
};

template <class... T> struct Types {};
template <int N> struct Ptrs { char* p[N]; };

template <class T>
__device__ __forceinline__ T load1(const Operand<T>& o, int64_t i) {
  return o.p[o.scalar ? 0 : i];
}
template <class T>
__device__ __forceinline__ Vec<T> loadv(const Operand<T>& o, int64_t i) {
  Vec<T> r;
  if (o.scalar) {
    const T s = o.p[0];
#pragma unroll
    for (int k = 0; k < kVec; ++k) r.v[k] = s;
  } else {
    r = *reinterpret_cast<const Vec<T>*>(o.p + i);
  }
  return r;
}
template <class Out, class F, class... In>
__device__ __forceinline__ void apply_vec(Out* out, int64_t i, const F& f, const Vec<In>&... x) {
  Vec<Out> r;
#pragma unroll
  for (int k = 0; k < kVec; ++k) r.v[k] = f(x.v[k]...);
  *reinterpret_cast<Vec<Out>*>(out + i) = r;
}

// out[i] = f(in[i]...) for i in [0, n). With `vec`, every pointer that is not a broadcast scalar
// is aligned to a Vec: kVec elements per thread, then the tail of fewer than kVec one by one.
// Additions only in the loop, so 64-bit indices cost nothing here.
template <class Out, class F, class... In>
__global__ void flat_kernel(int64_t n, bool vec, Out* out, F f, Operand<In>... in) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t done = 0;
  if (vec) {
    const int64_t nv = n / kVec;
    for (int64_t v = tid; v < nv; v += step) apply_vec(out, v * kVec, f, loadv(in, v * kVec)...);
    done = nv * kVec;
  }
  for (int64_t i = done + tid; i < n; i += step) out[i] = f(load1(in, i)...);
}

template <class Out, class F, class... In, size_t... I>
__device__ __forceinline__ void strided_one(char* const* p, const int64_t* off, const F& f,
                                            Types<In...>, std::index_sequence<I...>) {
  *reinterpret_cast<Out*>(p[0] + off[0]) = f(*reinterpret_cast<const In*>(p[I + 1] + off[I + 1])...);
}

// Any layout: each thread turns its flat index into per-operand byte offsets.
template <class Index, class Out, class F, class... In>
__global__ void strided_kernel(Index n, cuda::OffsetCalc<sizeof...(In) + 1> oc,
                               Ptrs<sizeof...(In) + 1> p, F f) {
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += Index(blockDim.x) * gridDim.x) {
    int64_t off[sizeof...(In) + 1];
    oc.offsets(i, off);
    strided_one<Out>(p.p, off, f, Types<In...>{}, std::index_sequence_for<In...>{});
  }
}

// Whether operand 0 is dense and every input dense or a broadcast scalar over one flat dim
// (TensorIter coalesces contiguous operands into one dim).
inline bool is_dense(const TensorIter& it, int64_t out_size, const int64_t* in_sizes = nullptr) {
  if (it.ndim() == 0) return true;
  if (it.ndim() > 1 || it.stride(0, 0) != out_size) return false;
  for (int k = 1; k < it.noperands(); ++k) {
    int64_t s = it.stride(k, 0), want = in_sizes ? in_sizes[k - 1] : out_size;
    if (s != want && s != 0) return false;
  }
  return true;
}
// Every operand dense with elements of `elem` bytes (no broadcast input): a plain byte copy.
inline bool all_dense(const TensorIter& it, size_t elem) {
  if (it.ndim() == 0) return true;
  if (it.ndim() > 1) return false;
  for (int k = 0; k < it.noperands(); ++k)
    if (it.stride(k, 0) != int64_t(elem)) return false;
  return true;
}

template <class T>
bool vec_aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % (sizeof(T) * kVec) == 0;
}

template <class Out, class F, class... In, size_t... I>
void launch_flat(const TensorIter& it, const F& f, Types<In...>, std::index_sequence<I...>) {
  const int64_t n = it.numel();
  bool scalar[sizeof...(In) + 1] = {(it.ndim() == 0 || it.stride(I + 1, 0) == 0)..., false};
  bool vec = n >= kVec && vec_aligned<Out>(it.data(0));
  bool aligned[sizeof...(In) + 1] = {vec_aligned<In>(it.data(I + 1))..., true};
  constexpr int kInputs = sizeof...(In);
  for (int k = 0; k < kInputs; ++k) vec = vec && (scalar[k] || aligned[k]);
  const int64_t threads = vec ? n / kVec : n;
  flat_kernel<Out, F, In...><<<cuda::grid_size(threads), cuda::kBlockSize, 0, cuda::stream()>>>(
      n, vec, reinterpret_cast<Out*>(it.data(0)), f,
      Operand<In>{reinterpret_cast<const In*>(it.data(I + 1)), scalar[I]}...);
  CTORCH_CUDA_CHECK(cudaGetLastError());
}

template <class Out, class F, class... In>
void launch_strided(const TensorIter& it, const F& f) {
  constexpr int N = sizeof...(In) + 1;
  const int64_t n = it.numel();
  cuda::OffsetCalc<N> oc(it);
  Ptrs<N> p;
  for (int k = 0; k < N; ++k) p.p[k] = it.data(k);
  // 32-bit index math when it fits (the grid stride included, see fits_int32): 64-bit division
  // is several times slower on the GPU.
  if (cuda::fits_int32(n, cuda::grid_size(n)))
    strided_kernel<int32_t, Out, F, In...><<<cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream()>>>(
        int32_t(n), oc, p, f);
  else
    strided_kernel<int64_t, Out, F, In...><<<cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream()>>>(
        n, oc, p, f);
  CTORCH_CUDA_CHECK(cudaGetLastError());
}

// Runs out = f(in...) over the TensorIter's operands (operand 0 of type Out, operand k of the
// k-th type of In). f is a device functor taking and returning storage types.
template <class Out, class... In, class F>
void launch(const TensorIter& it, const F& f) {
  if (it.numel() == 0) return;
  const int64_t in_sizes[sizeof...(In) + 1] = {int64_t(sizeof(In))..., 0};
  if (is_dense(it, int64_t(sizeof(Out)), in_sizes))
    launch_flat<Out>(it, f, Types<In...>{}, std::index_sequence_for<In...>{});
  else
    launch_strided<Out, F, In...>(it, f);
}

}  // namespace ctorch::cuda_loops
