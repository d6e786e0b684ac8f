// CUDA random ops: fills reproducing the CPU formulas block for block (one thread per Philox
// block), the probability checks, and multinomial (CDF search, or an exponential race sorted by CUB).
#include <cub/cub.cuh>
#include <cfloat>
#include "kernels/launch.cuh"
#include "kernels/random.h"
#include "ops/philox.h"

namespace ctorch {

namespace {


__device__ inline double load_double(const char* p, DType dt) {
  switch (dt) {
    case DType::Bool: return *reinterpret_cast<const bool*>(p) ? 1.0 : 0.0;
    case DType::UInt8: return static_cast<double>(*reinterpret_cast<const uint8_t*>(p));
    case DType::Int8: return static_cast<double>(*reinterpret_cast<const int8_t*>(p));
    case DType::Int16: return static_cast<double>(*reinterpret_cast<const int16_t*>(p));
    case DType::Int32: return static_cast<double>(*reinterpret_cast<const int32_t*>(p));
    case DType::Int64: return static_cast<double>(*reinterpret_cast<const int64_t*>(p));
    case DType::Float16: return static_cast<double>(static_cast<float>(*reinterpret_cast<const Half*>(p)));
    case DType::BFloat16: return static_cast<double>(static_cast<float>(*reinterpret_cast<const BFloat16*>(p)));
    case DType::Float32: return static_cast<double>(*reinterpret_cast<const float*>(p));
    default: return *reinterpret_cast<const double*>(p);
  }
}

// The CPU's to_elem<T>(v): through opmath_t<T>, bool as v != 0.
template <class V>
__device__ inline void store_value(char* p, DType dt, V v) {
  switch (dt) {
    case DType::Bool: *reinterpret_cast<bool*>(p) = v != 0; break;
    case DType::UInt8: *reinterpret_cast<uint8_t*>(p) = static_cast<uint8_t>(v); break;
    case DType::Int8: *reinterpret_cast<int8_t*>(p) = static_cast<int8_t>(v); break;
    case DType::Int16: *reinterpret_cast<int16_t*>(p) = static_cast<int16_t>(v); break;
    case DType::Int32: *reinterpret_cast<int32_t*>(p) = static_cast<int32_t>(v); break;
    case DType::Int64: *reinterpret_cast<int64_t*>(p) = static_cast<int64_t>(v); break;
    case DType::Float16: *reinterpret_cast<Half*>(p) = Half(static_cast<float>(v)); break;
    case DType::BFloat16: *reinterpret_cast<BFloat16*>(p) = BFloat16(static_cast<float>(v)); break;
    case DType::Float32: *reinterpret_cast<float*>(p) = static_cast<float>(v); break;
    default: *reinterpret_cast<double*>(p) = static_cast<double>(v); break;
  }
}

// Calls f(b) for Philox blocks b in [0, nblocks); the index type is 32-bit when every value
// index b * per_block + j (< n + 4, the last block running past n) fits in it.
template <class F>
void launch_blocks(int64_t nblocks, int64_t n, const F& f) {
  if (nblocks <= 0) return;
  if (n <= INT32_MAX - 4)
    cuda::for_each_index_kernel<int32_t>
        <<<cuda::grid_size(nblocks), cuda::kBlockSize, 0, cuda::stream()>>>(int32_t(nblocks), f);
  else
    cuda::for_each_index_kernel<int64_t>
        <<<cuda::grid_size(nblocks), cuda::kBlockSize, 0, cuda::stream()>>>(nblocks, f);
  CTORCH_CUDA_CHECK(cudaGetLastError());
}

void random_fill_impl(Tensor& t, const Tensor* p, const PhiloxKey& key, const RandomFill& f) {
  int64_t n = t.numel();
  if (n == 0) return;
  const Tensor& second = p ? *p : t;  // unused unless BernoulliTensor
  TensorIter it(t, {&second});
  cuda::OffsetCalc<2> oc(it);
  char* out = it.data(0);
  const char* pp = it.data(1);
  DType odt = t.dtype(), pdt = second.dtype();
  const int k = random_fill_per_block(f);
  const int64_t nblocks = (n + k - 1) / k;
  const PhiloxKey K = key;
  const RandomFill F = f;
  launch_blocks(nblocks, n, [=] __device__(auto b) {
    using I = decltype(b);
    uint32_t w[4];
    philox::stream_block(K.k0, K.k1, K.base, static_cast<uint64_t>(b), w);
    const I i0 = b * I(k);
    // Value j of this block, if it lies inside the tensor.
    auto put = [&](int j, auto v) {
      I i = i0 + I(j);
      if (static_cast<int64_t>(i) >= n) return;
      int64_t off[2];
      oc.offsets(i, off);
      store_value(out + off[0], odt, v);
    };
    if (F.kind == RandomFillKind::BernoulliTensor) {
      for (int j = 0; j < 2; ++j) {
        I i = i0 + I(j);
        if (static_cast<int64_t>(i) >= n) break;
        int64_t off[2];
        oc.offsets(i, off);
        double prob = load_double(pp + off[1], pdt);
        store_value(out + off[0], odt, philox::u53(philox::word64(w, j)) < prob ? 1.0 : 0.0);
      }
      return;
    }
    philox::fill_block(F, w, put);
  });
}

// Copies `n` bytes of device memory back to the host on the current stream and waits for them.
void fetch(void* host, const void* dev, size_t n) {
  CTORCH_CUDA_CHECK(cudaMemcpyAsync(host, dev, n, cudaMemcpyDeviceToHost, cuda::stream()));
  CTORCH_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
}

bool random_check_impl(const Tensor& x, int kind, double* bad) {
  if (x.numel() == 0) return true;
  TensorIter it(x, {});
  cuda::OffsetCalc<1> oc(it);
  const char* base = it.data(0);
  DType dt = x.dtype();
  // [0]: the smallest failing index (all ones: none), [1]: its value as a double.
  Tensor flag = empty({2}, DType::Int64, x.device());
  unsigned long long* fp = static_cast<unsigned long long*>(flag.data_ptr());
  CTORCH_CUDA_CHECK(cudaMemsetAsync(fp, 0xff, 2 * sizeof(unsigned long long), cuda::stream()));
  cuda::for_each_index(x.numel(), [=] __device__(auto i) {
    int64_t off[1];
    oc.offsets(i, off);
    double v = load_double(base + off[0], dt);
    bool ok = kind == 0 ? (v >= 0.0 && v <= 1.0) : (v >= 0.0 || v != v);
    if (!ok) atomicMin(fp, static_cast<unsigned long long>(i));
  });
  cuda::for_each_index(1, [=] __device__(auto) {
    unsigned long long m = fp[0];
    if (m == ~0ull) return;
    int64_t off[1];
    oc.offsets(static_cast<int64_t>(m), off);
    reinterpret_cast<double*>(fp)[1] = load_double(base + off[0], dt);
  });
  unsigned long long h[2];
  fetch(h, fp, sizeof(h));
  if (h[0] == ~0ull) return true;
  std::memcpy(bad, &h[1], sizeof(double));
  return false;
}

// A 1-D or 2-D weight tensor read in place: weight (r, c) at data + r * s0 + c * s1 bytes.
struct Probs {
  const char* data;
  DType dt;
  int64_t s0, s1, rows, cats;
  __device__ double at(int64_t r, int64_t c) const { return load_double(data + r * s0 + c * s1, dt); }
};

Probs probs_view(const Tensor& probs) {
  int64_t es = static_cast<int64_t>(probs.element_size());
  bool two = probs.dim() == 2;
  Probs v;
  v.data = static_cast<const char*>(probs.data_ptr());
  v.dt = probs.dtype();
  v.rows = two ? probs.size(0) : 1;
  v.cats = probs.size(probs.dim() - 1);
  v.s0 = two ? probs.stride(0) * es : 0;
  v.s1 = probs.stride(probs.dim() - 1) * es;
  return v;
}

int multinomial_check_impl(const Tensor& probs) {
  Probs v = probs_view(probs);
  if (v.rows == 0) return 0;
  Tensor flag = empty({1}, DType::Int64, probs.device());
  unsigned long long* fp = static_cast<unsigned long long*>(flag.data_ptr());
  CTORCH_CUDA_CHECK(cudaMemsetAsync(fp, 0xff, sizeof(unsigned long long), cuda::stream()));
  // One thread per row, in the CPU's order: a bad weight is reported before the row's sum.
  cuda::for_each_index(v.rows, [=] __device__(auto r) {
    double sum = 0;
    int code = 0;
    for (int64_t c = 0; c < v.cats; ++c) {
      double x = v.at(r, c);
      if (!(fabs(x) <= DBL_MAX && x >= 0)) { code = 1; break; }
      sum += x;
    }
    if (!code && !(sum > 0)) code = 2;
    if (code) atomicMin(fp, static_cast<unsigned long long>(r) * 4 + code);
  });
  unsigned long long h;
  fetch(&h, fp, sizeof(h));
  return h == ~0ull ? 0 : static_cast<int>(h % 4);
}

// The 64-bit value `index` of the claimed stream, as a uniform in (0, 1].
__device__ inline double draw_open0(const PhiloxKey& K, int64_t index) {
  uint32_t w[4];
  philox::stream_block(K.k0, K.k1, K.base, static_cast<uint64_t>(index / 2), w);
  return philox::u53_open0(philox::word64(w, static_cast<int>(index % 2)));
}

void multinomial_impl(const Tensor& probs, Tensor& out, int64_t num_samples, bool replacement,
                      int64_t per_row, const PhiloxKey& key) {
  Device dev = probs.device();
  const Probs v = probs_view(probs);
  const int64_t rows = v.rows, cats = v.cats, ns = num_samples;
  const PhiloxKey K = key;
  int64_t* po = static_cast<int64_t*>(out.data_ptr());
  if (rows == 0) return;
  if (replacement) {
    // Per row (one thread, the CPU's summation order, so the same doubles): the inclusive CDF,
    // its total and the last category of positive weight; then one thread per sample searches.
    Tensor cdf_t = empty({rows * cats}, DType::Float64, dev);
    Tensor tot_t = empty({rows}, DType::Float64, dev);
    Tensor last_t = empty({rows}, DType::Int64, dev);
    double* cdf = static_cast<double*>(cdf_t.data_ptr());
    double* tot = static_cast<double*>(tot_t.data_ptr());
    int64_t* last = static_cast<int64_t*>(last_t.data_ptr());
    cuda::for_each_index(rows, [=] __device__(auto r) {
      double acc = 0;
      int64_t lst = 0;
      for (int64_t c = 0; c < cats; ++c) {
        double x = v.at(r, c);
        acc += x;
        cdf[r * cats + c] = acc;
        if (x > 0) lst = c;
      }
      tot[r] = acc;
      last[r] = lst;
    });
    cuda::for_each_index(rows * ns, [=] __device__(auto i) {
      int64_t r = static_cast<int64_t>(i) / ns, k = static_cast<int64_t>(i) % ns;
      double x = __dmul_rn(__dsub_rn(1.0, draw_open0(K, r * per_row + k)), tot[r]);  // in [0, acc)
      // upper_bound: the first category whose CDF exceeds x.
      const double* row = cdf + r * cats;
      int64_t lo = 0, hi = cats;
      while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (row[mid] > x) hi = mid; else lo = mid + 1;
      }
      po[i] = lo < last[r] ? lo : last[r];
    });
    CTORCH_CUDA_CHECK(cudaGetLastError());
    return;
  }
  // Without replacement: the CPU's exponential race. Category c of row r finishes at
  // E / p_c (E = -log(u), u the row's value c), never when p_c = 0; a stable sort of each row by
  // finishing time (ties in index order, as the CPU's (time, index) pairs) gives the draws.
  const int64_t total = rows * cats;
  Tensor keys_t = empty({total}, DType::Float64, dev), keys_out_t = empty({total}, DType::Float64, dev);
  Tensor vals_t = empty({total}, DType::Int64, dev), vals_out_t = empty({total}, DType::Int64, dev);
  Tensor offs_t = empty({rows + 1}, DType::Int64, dev);
  double* keys = static_cast<double*>(keys_t.data_ptr());
  double* keys_out = static_cast<double*>(keys_out_t.data_ptr());
  int64_t* vals = static_cast<int64_t*>(vals_t.data_ptr());
  int64_t* vals_out = static_cast<int64_t*>(vals_out_t.data_ptr());
  int64_t* offs = static_cast<int64_t*>(offs_t.data_ptr());
  cuda::for_each_index(total, [=] __device__(auto i) {
    int64_t r = static_cast<int64_t>(i) / cats, c = static_cast<int64_t>(i) % cats;
    double e = 0.0 - log(draw_open0(K, r * per_row + c));  // +0.0, never -0.0, when u = 1
    double p = v.at(r, c);
    keys[i] = p > 0 ? e / p : __longlong_as_double(0x7ff0000000000000LL);  // +inf
    vals[i] = c;
  });
  cuda::for_each_index(rows + 1, [=] __device__(auto r) { offs[r] = static_cast<int64_t>(r) * cats; });
  size_t bytes = 0;
  CTORCH_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(nullptr, bytes, keys, keys_out, vals, vals_out,
                                                              total, rows, offs, offs + 1, cuda::stream()));
  Tensor tmp = empty({static_cast<int64_t>(bytes) + 1}, DType::UInt8, dev);
  CTORCH_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(tmp.data_ptr(), bytes, keys, keys_out, vals,
                                                              vals_out, total, rows, offs, offs + 1,
                                                              cuda::stream()));
  cuda::for_each_index(rows * ns, [=] __device__(auto i) {
    int64_t r = static_cast<int64_t>(i) / ns, k = static_cast<int64_t>(i) % ns;
    po[i] = vals_out[r * cats + k];
  });
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_random_fill, random_fill_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_random_check, random_check_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_multinomial_check, multinomial_check_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_multinomial, multinomial_impl);

}  // namespace ctorch
