// CUDA twins of index.cpp's data-moving helpers: index range checks, TensorIter gather/scatter by
// element size, atomic scatter reductions, and the mask ops' positions (CUB select) and moves.
// Every public indexing op reaches the GPU through these few entry points.
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <climits>
#include <limits>
#include <type_traits>
#include "ctorch/ops.h"
#include "kernels/index.h"
#include "kernels/launch.cuh"

namespace ctorch {
namespace {

using cuda::OffsetCalc;
using cuda::for_each_index;
using cuda::stream;

// Copies `n` int64 values from the device to the host and waits: the one sync an op needs to
// learn a data-dependent size or an offending index.
void copy_to_host(int64_t* host, const int64_t* dev, int64_t n) {
  CTORCH_CUDA_CHECK(cudaMemcpyAsync(host, dev, size_t(n) * sizeof(int64_t), cudaMemcpyDeviceToHost, stream()));
  CTORCH_CUDA_CHECK(cudaStreamSynchronize(stream()));
}


// ---- range checks

bool first_bad_impl(const Tensor& idx, int64_t lo, int64_t hi, int64_t* bad) {
  if (idx.numel() == 0) return false;
  TensorIter it(idx, {});
  OffsetCalc<1> oc(it);
  const char* base = it.data(0);
  // slot[0]: the smallest flat position holding a bad value (LLONG_MAX: none); slot[1]: its value.
  Tensor slot = empty({2}, DType::Int64, idx.device());
  unsigned long long* s = reinterpret_cast<unsigned long long*>(slot.data_ptr());
  for_each_index(1, [=] __device__(auto) { s[0] = static_cast<unsigned long long>(LLONG_MAX); });
  for_each_index(it.numel(), [=] __device__(auto i) {
    int64_t o[1];
    oc.offsets(i, o);
    int64_t v = *reinterpret_cast<const int64_t*>(base + o[0]);
    if (v < lo || v >= hi) atomicMin(s, static_cast<unsigned long long>(i));
  });
  for_each_index(1, [=] __device__(auto) {
    if (s[0] == static_cast<unsigned long long>(LLONG_MAX)) return;
    int64_t o[1];
    oc.offsets(static_cast<int64_t>(s[0]), o);
    s[1] = static_cast<unsigned long long>(*reinterpret_cast<const int64_t*>(base + o[0]));
  });
  int64_t host[2];
  copy_to_host(host, reinterpret_cast<const int64_t*>(s), 2);
  if (host[0] == LLONG_MAX) return false;
  *bad = host[1];
  return true;
}

int64_t max_impl(const Tensor& idx) {
  CTORCH_CHECK(idx.numel() > 0, "[index] max of an empty tensor");
  TensorIter it(idx, {});
  OffsetCalc<1> oc(it);
  const char* base = it.data(0);
  Tensor slot = empty({1}, DType::Int64, idx.device());
  long long* s = reinterpret_cast<long long*>(slot.data_ptr());
  for_each_index(1, [=] __device__(auto) { s[0] = LLONG_MIN; });
  for_each_index(it.numel(), [=] __device__(auto i) {
    int64_t o[1];
    oc.offsets(i, o);
    atomicMax(s, static_cast<long long>(*reinterpret_cast<const int64_t*>(base + o[0])));
  });
  int64_t host;
  copy_to_host(&host, reinterpret_cast<const int64_t*>(s), 1);
  return host;
}

// ---- gather / scatter

template <class U, bool kScatter>
void indexed_move_run(const TensorIter& it, int64_t step, int64_t size) {
  OffsetCalc<3> oc(it);
  char* a = it.data(0);
  const char* b = it.data(1);
  const char* ip = it.data(2);
  for_each_index(it.numel(), [=] __device__(auto i) {
    int64_t o[3];
    oc.offsets(i, o);
    int64_t v = *reinterpret_cast<const int64_t*>(ip + o[2]);
    if (v < 0) v += size;
    if (kScatter)
      *reinterpret_cast<U*>(a + o[0] + v * step) = *reinterpret_cast<const U*>(b + o[1]);
    else
      *reinterpret_cast<U*>(a + o[0]) = *reinterpret_cast<const U*>(b + o[1] + v * step);
  });
}

void indexed_move_impl(const TensorIter& it, int64_t elsize, int64_t step_bytes, int64_t size, bool scatter) {
  if (it.numel() == 0) return;
  dispatch_by_size(elsize, [&](auto tag) {
    using U = typename decltype(tag)::type;
    if (scatter) indexed_move_run<U, true>(it, step_bytes, size);
    else indexed_move_run<U, false>(it, step_bytes, size);
  });
}

// ---- atomic reductions

// *p = f(*p) atomically: a CAS loop on the 32- or 64-bit word holding p (1- and 2-byte types
// share their aligned 32-bit word with neighbours, which the loop leaves as they are).
template <class T, class F>
__device__ void atomic_apply(T* p, const F& f) {
  if constexpr (sizeof(T) == 8 || sizeof(T) == 4) {
    using W = std::conditional_t<sizeof(T) == 8, unsigned long long, unsigned int>;
    W* w = reinterpret_cast<W*>(p);
    W old = *w, assumed;
    do {
      assumed = old;
      T cur, nv;
      memcpy(&cur, &assumed, sizeof(T));
      nv = f(cur);
      W n;
      memcpy(&n, &nv, sizeof(T));
      if (n == assumed) return;
      old = atomicCAS(w, assumed, n);
    } while (old != assumed);
  } else {
    using B = std::conditional_t<sizeof(T) == 2, unsigned short, unsigned char>;
    uintptr_t addr = reinterpret_cast<uintptr_t>(p);
    unsigned int* w = reinterpret_cast<unsigned int*>(addr & ~uintptr_t(3));
    const unsigned shift = static_cast<unsigned>(addr & 3) * 8;
    const unsigned mask = (sizeof(T) == 2 ? 0xffffu : 0xffu) << shift;
    unsigned int old = *w, assumed;
    do {
      assumed = old;
      B bits = static_cast<B>((assumed & mask) >> shift);
      T cur;
      memcpy(&cur, &bits, sizeof(T));
      T nv = f(cur);
      memcpy(&bits, &nv, sizeof(T));
      unsigned int n = (assumed & ~mask) | (static_cast<unsigned int>(bits) << shift);
      if (n == assumed) return;
      old = atomicCAS(w, assumed, n);
    } while (old != assumed);
  }
}

// The CPU kernel's combine step, in opmath (NaN propagates through amax/amin).
template <class T>
__device__ T combine(IndexReduce r, T at, T bt) {
  using O = opmath_t<T>;
  O a = static_cast<O>(at), b = static_cast<O>(bt);
  switch (r) {
    case IndexReduce::Sum: case IndexReduce::Mean: a = static_cast<O>(a + b); break;
    case IndexReduce::Prod: a = static_cast<O>(a * b); break;
    case IndexReduce::Max: if (b != b || b > a) a = b; break;
    case IndexReduce::Min: if (b != b || b < a) a = b; break;
    case IndexReduce::None: a = b; break;
  }
  return static_cast<T>(a);
}

// Sums use the hardware's atomicAdd where it adds exactly this type; the rest a CAS loop.
template <class T>
__device__ void atomic_combine(IndexReduce r, T* p, T b) {
  if (r == IndexReduce::Sum || r == IndexReduce::Mean) {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      atomicAdd(p, b);
      return;
    } else if constexpr (std::is_same_v<T, int32_t>) {
      atomicAdd(reinterpret_cast<int*>(p), static_cast<int>(b));
      return;
    } else if constexpr (std::is_same_v<T, int64_t>) {
      // Two's complement: an unsigned add is the signed add, wrapping the same way.
      atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(b));
      return;
    }
  }
  atomic_apply(p, [=](T cur) { return combine<T>(r, cur, b); });
}

template <class T>
T reduce_identity(IndexReduce r) {
  using O = opmath_t<T>;
  O v = O(0);
  if (r == IndexReduce::Prod) v = O(1);
  if (r == IndexReduce::Max)
    v = std::numeric_limits<O>::has_infinity ? -std::numeric_limits<O>::infinity() : std::numeric_limits<O>::lowest();
  if (r == IndexReduce::Min)
    v = std::numeric_limits<O>::has_infinity ? std::numeric_limits<O>::infinity() : std::numeric_limits<O>::max();
  return static_cast<T>(v);
}

template <class T>
void indexed_reduce_run(const TensorIter& it, IndexReduce r, bool include_self, int64_t step, int64_t size,
                        char* base, int64_t* count, int64_t base_numel) {
  OffsetCalc<3> oc(it);
  char* a = it.data(0);
  const char* b = it.data(1);
  const char* ip = it.data(2);
  const int64_t n = it.numel();
  if (!include_self) {  // every thread writes the same value: no race
    const T init = reduce_identity<T>(r);
    for_each_index(n, [=] __device__(auto i) {
      int64_t o[3];
      oc.offsets(i, o);
      int64_t v = *reinterpret_cast<const int64_t*>(ip + o[2]);
      if (v < 0) v += size;
      *reinterpret_cast<T*>(a + o[0] + v * step) = init;
    });
  }
  for_each_index(n, [=] __device__(auto i) {
    int64_t o[3];
    oc.offsets(i, o);
    int64_t v = *reinterpret_cast<const int64_t*>(ip + o[2]);
    if (v < 0) v += size;
    T* p = reinterpret_cast<T*>(a + o[0] + v * step);
    atomic_combine<T>(r, p, *reinterpret_cast<const T*>(b + o[1]));
    if (count)
      atomicAdd(reinterpret_cast<unsigned long long*>(count + (reinterpret_cast<char*>(p) - base) / int64_t(sizeof(T))), 1ull);
  });
  if (!count) return;
  // Mean: divide every element hit by its number of terms (integers round toward -inf).
  T* dense = reinterpret_cast<T*>(base);
  const int64_t extra = include_self ? 1 : 0;
  for_each_index(base_numel, [=] __device__(auto p) {
    using O = opmath_t<T>;
    if (!count[p]) return;
    int64_t c = count[p] + extra;
    O av = static_cast<O>(dense[p]);
    if constexpr (std::is_floating_point_v<O>) {
      dense[p] = static_cast<T>(av / static_cast<O>(c));
    } else if constexpr (!std::is_same_v<O, bool>) {
      int64_t v = static_cast<int64_t>(av), q = v / c;
      if (v % c != 0 && v < 0) --q;
      dense[p] = static_cast<T>(q);
    }
  });
}

void indexed_reduce_impl(const TensorIter& it, DType dtype, IndexReduce r, bool include_self, int64_t step_bytes,
                         int64_t size, void* base, int64_t* count, int64_t base_numel) {
  if (it.numel() == 0) return;
  dispatch_all(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    indexed_reduce_run<T>(it, r, include_self, step_bytes, size, static_cast<char*>(base), count, base_numel);
  });
}

void linearize_impl(const TensorIter& it, int64_t size, int64_t stride) {
  if (it.numel() == 0) return;
  OffsetCalc<2> oc(it);
  char* lin = it.data(0);
  const char* ip = it.data(1);
  for_each_index(it.numel(), [=] __device__(auto i) {
    int64_t o[2];
    oc.offsets(i, o);
    int64_t v = *reinterpret_cast<const int64_t*>(ip + o[1]);
    *reinterpret_cast<int64_t*>(lin + o[0]) += (v < 0 ? v + size : v) * stride;
  });
}

// ---- masks

Tensor mask_positions_impl(const Tensor& mask) {
  CTORCH_CHECK(mask.dtype() == DType::Bool && mask.is_contiguous(), "[index] mask positions need a "
               "contiguous bool tensor");
  const int64_t n = mask.numel();
  Tensor pos = empty({n}, DType::Int64, mask.device());
  if (n == 0) return pos;
  Tensor count = empty({1}, DType::Int64, mask.device());
  thrust::counting_iterator<int64_t> in(0);
  const bool* flags = mask.data<bool>();
  int64_t* out = pos.data<int64_t>();
  int64_t* cnt = count.data<int64_t>();
  size_t bytes = 0;
  CTORCH_CUDA_CHECK(cub::DeviceSelect::Flagged(nullptr, bytes, in, flags, out, cnt, n, stream()));
  Tensor ws = empty({static_cast<int64_t>(bytes) + 1}, DType::UInt8, mask.device());
  CTORCH_CUDA_CHECK(cub::DeviceSelect::Flagged(ws.data_ptr(), bytes, in, flags, out, cnt, n, stream()));
  int64_t host;
  copy_to_host(&host, cnt, 1);
  return narrow(pos, 0, 0, host);
}

// A strided layout (in elements) small enough to pass by value: the offset of a row-major position.
struct Layout {
  static constexpr int kMaxDims = 25;
  int ndim = 0;
  int64_t sizes[kMaxDims];
  int64_t strides[kMaxDims];

  Layout(IntArrayRef sz, IntArrayRef st, const char* op) : ndim(static_cast<int>(sz.size())) {
    CTORCH_CHECK(ndim <= kMaxDims, "[", op, "] CUDA tensors with more than ", int(kMaxDims),
                 " dimensions are not supported");
    for (int d = 0; d < ndim; ++d) {
      sizes[d] = sz[d];
      strides[d] = st.empty() ? 0 : st[d];
    }
  }
  __device__ int64_t offset(int64_t pos) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t q = pos / sizes[d];
      off += (pos - q * sizes[d]) * strides[d];
      pos = q;
    }
    return off;
  }
};

void nonzero_coords_impl(const Tensor& pos, IntArrayRef sizes, const Tensor& out) {
  const int64_t rows = pos.numel();
  if (rows == 0 || sizes.empty()) return;
  Layout l(sizes, IntArrayRef(), "nonzero");
  const int64_t* p = pos.data<int64_t>();
  int64_t* o = out.data<int64_t>();
  const int64_t nd = l.ndim;
  for_each_index(rows, [=] __device__(auto r) {
    int64_t rem = p[r];
    for (int64_t d = nd - 1; d >= 0; --d) {
      int64_t q = rem / l.sizes[d];
      o[int64_t(r) * nd + d] = rem - q * l.sizes[d];
      rem = q;
    }
  });
}

template <class U>
void move_elems_run(char* d, const Layout& ld, const char* s, const Layout& ls, const int64_t* p, int64_t n,
                    bool scatter) {
  for_each_index(n, [=] __device__(auto k) {
    int64_t dk = scatter ? p[k] : int64_t(k), sk = scatter ? int64_t(k) : p[k];
    reinterpret_cast<U*>(d)[ld.offset(dk)] = reinterpret_cast<const U*>(s)[ls.offset(sk)];
  });
}

void move_elems_impl(const Tensor& dst, const Tensor& src, const Tensor& pos, bool scatter) {
  const int64_t n = pos.numel();
  if (n == 0) return;
  const char* op = scatter ? "masked_scatter_" : "masked_select";
  Layout ld(dst.sizes(), dst.strides(), op), ls(src.sizes(), src.strides(), op);
  const int64_t* p = pos.data<int64_t>();
  char* d = static_cast<char*>(dst.data_ptr());
  const char* s = static_cast<const char*>(src.data_ptr());
  dispatch_by_size(dst.element_size(), [&](auto tag) {
    move_elems_run<typename decltype(tag)::type>(d, ld, s, ls, p, n, scatter);
  });
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_index_first_bad, first_bad_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_index_max, max_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_indexed_move, indexed_move_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_indexed_reduce, indexed_reduce_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_index_linearize, linearize_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_mask_positions, mask_positions_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_nonzero_coords, nonzero_coords_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_move_elems, move_elems_impl);

}  // namespace ctorch
