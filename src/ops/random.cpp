// Random sampling over Philox4x32-10, on the CPU here and on CUDA through kernels/random.cu.
// Element i of a call uses Philox block offset + i / k (k values per block), so results depend
// neither on the thread count nor on the device: the CUDA kernels compute the same blocks with
// the same formulas (src/ops/philox.h), so a CUDA generator in the CPU generator's state gives
// the same numbers, bit for bit where the arithmetic is exact (uniform_, random_/randint,
// bernoulli_, randperm, multinomial with replacement) and to floating-point rounding where
// library functions differ (log, sin, cos, tan, exp: normal_, log_normal_, exponential_,
// cauchy_, geometric_, multinomial without replacement).
//
// The stream, for a twin to follow: block b of a call is philox4x32_10(counter = (lo, hi of
// offset + b, 0, 0), key = (lo, hi of seed)) -> words w0..w3; a call claims ceil(n / k) blocks.
//   float16/bfloat16/float32 (k = 4): value 4b + j comes from word wj.
//     uniform_: from + (wj >> (32 - bits)) * (to - from) / 2^bits, bits = 24 (11 half, 8 bf16)
//     normal_:  Box-Muller on (w0, w1) -> values 0, 1 and (w2, w3) -> values 2, 3, with
//               u1 = ((w >> 8) + 1) / 2^24, u2 = (w >> 8) / 2^24: (r cos 2 pi u2, r sin 2 pi u2)
//   float64 (k = 2): value 2b + j from the 64-bit word (w_2j << 32 | w_2j+1) >> 11 (53 bits);
//     normal_ takes both as one Box-Muller pair. exponential_, cauchy_ and log_normal_ follow
//     the float or the float64 layout by dtype; bernoulli_ and geometric_ always use float64's.
//   integers in a range r <= 2^32 (k = 4): from + wj % r; wider ranges (k = 2): 64-bit words.
// randperm and multinomial consume the 64-bit (k = 2) stream as described at their code.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "autograd/function.h"
#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "ctorch/cuda.h"
#include "ctorch/ops.h"
#include "kernels/random.h"
#include "ops/elementwise_run.h"
#include "ops/philox.h"

namespace ctorch {

// ---- generator

void Generator::manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  seed_ = seed;
  offset_ = 0;
}
uint64_t Generator::seed() {
  std::random_device rd;
  uint64_t s = (static_cast<uint64_t>(rd()) << 32) | rd();
  manual_seed(s);
  return s;
}
uint64_t Generator::initial_seed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seed_;
}
uint64_t Generator::offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return offset_;
}
uint64_t Generator::reserve(uint64_t nblocks, uint64_t* seed) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t base = offset_;
  offset_ += nblocks;
  if (seed) *seed = seed_;
  return base;
}
Tensor Generator::get_state() const {
  Tensor t = empty({16}, DType::UInt8);
  uint8_t* p = t.data<uint8_t>();
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<uint8_t>(seed_ >> (8 * i));
    p[8 + i] = static_cast<uint8_t>(offset_ >> (8 * i));
  }
  return t;
}
void Generator::set_state(const Tensor& state) {
  CTORCH_CHECK_TYPE(state.dtype() == DType::UInt8, "[set_state] expected a torch.ByteTensor (uint8), "
                    "but got ", dtype_name(state.dtype()));
  CTORCH_CHECK(state.device().is_cpu() && state.numel() == 16, "[set_state] expected a CPU uint8 "
               "tensor of 16 bytes (seed, offset), got ", state.numel(), " bytes");
  Tensor c = contiguous(state);
  const uint8_t* p = c.data<uint8_t>();
  uint64_t s = 0, o = 0;
  for (int i = 0; i < 8; ++i) {
    s |= static_cast<uint64_t>(p[i]) << (8 * i);
    o |= static_cast<uint64_t>(p[8 + i]) << (8 * i);
  }
  std::lock_guard<std::mutex> lock(mu_);
  seed_ = s;
  offset_ = o;
}

const GeneratorPtr& default_generator() {
  static const GeneratorPtr g = std::make_shared<Generator>();
  return g;
}

const GeneratorPtr& cuda_default_generator(int index) {
  // One per device, made on first use (device_count() is 0 without a GPU or a CUDA build).
  static const std::vector<GeneratorPtr> gens = [] {
    std::vector<GeneratorPtr> v;
    for (int i = 0, n = cuda::device_count(); i < n; ++i)
      v.push_back(std::make_shared<Generator>(Generator::kDefaultSeed, Device(DeviceType::CUDA, i)));
    return v;
  }();
  int d = cuda::resolve_device(index);  // raises without a GPU or for a bad ordinal
  return gens[static_cast<size_t>(d)];
}

const GeneratorPtr& default_generator(Device device) {
  return device.is_cuda() ? cuda_default_generator(device.index) : default_generator();
}

void manual_seed(uint64_t seed) {
  default_generator()->manual_seed(seed);
  for (int i = 0, n = cuda::device_count(); i < n; ++i) cuda_default_generator(i)->manual_seed(seed);
}

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  std::array<uint32_t, 4> r;
  philox::block(c[0], c[1], c[2], c[3], k[0], k[1], r.data());
  return r;
}

namespace {

// The blocks one call owns: block b is Philox(counter = base + b, key = seed).
struct Stream {
  uint32_t k0, k1;
  uint64_t base;
  void block(uint64_t b, uint32_t w[4]) const { philox::stream_block(k0, k1, base, b, w); }
  PhiloxKey key() const { return {k0, k1, base}; }
  // kLanes consecutive blocks from block b, word-major (w[word][lane]): the same numbers as
  // block(), laid out so the rounds vectorize.
  static constexpr int kLanes = 8;
  void blocks(uint64_t b, uint32_t w[4][kLanes]) const;
};

void philox_lanes_scalar(uint64_t first, uint32_t k0, uint32_t k1, uint32_t w[4][Stream::kLanes]) {
  for (int l = 0; l < Stream::kLanes; ++l) {
    uint32_t o[4];
    philox::stream_block(k0, k1, first, static_cast<uint64_t>(l), o);
    for (int k = 0; k < 4; ++k) w[k][l] = o[k];
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// Eight blocks at once in AVX2 registers: _mm256_mul_epu32 forms the 32x32->64 products of the
// even lanes, a shifted copy those of the odd lanes.
__attribute__((target("avx2")))
void philox_lanes_avx2(uint64_t first, uint32_t k0, uint32_t k1, uint32_t w[4][Stream::kLanes]) {
  alignas(32) uint32_t lo[8], hi[8];
  for (int l = 0; l < 8; ++l) {
    uint64_t c = first + l;
    lo[l] = static_cast<uint32_t>(c);
    hi[l] = static_cast<uint32_t>(c >> 32);
  }
  __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
  __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  __m256i key0 = _mm256_set1_epi32(static_cast<int>(k0)), key1 = _mm256_set1_epi32(static_cast<int>(k1));
  const __m256i w0 = _mm256_set1_epi32(static_cast<int>(0x9E3779B9u));
  const __m256i w1 = _mm256_set1_epi32(static_cast<int>(0xBB67AE85u));
  for (int r = 0; r < 10; ++r) {
    __m256i e0 = _mm256_mul_epu32(c0, m0), o0 = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), m0);
    __m256i e1 = _mm256_mul_epu32(c2, m1), o1 = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), m1);
    __m256i lo0 = _mm256_blend_epi32(e0, _mm256_slli_epi64(o0, 32), 0xAA);
    __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(e0, 32), o0, 0xAA);
    __m256i lo1 = _mm256_blend_epi32(e1, _mm256_slli_epi64(o1, 32), 0xAA);
    __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(e1, 32), o1, 0xAA);
    __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), key0);
    __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), key1);
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    key0 = _mm256_add_epi32(key0, w0);
    key1 = _mm256_add_epi32(key1, w1);
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[0]), c0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[1]), c1);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[2]), c2);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[3]), c3);
}
// Run from a static initializer, possibly before libgcc's own CPU probe: probe first.
bool cpu_has(const char* what) {
  __builtin_cpu_init();
  if (std::strcmp(what, "avx2") == 0) return __builtin_cpu_supports("avx2");
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
const bool kHaveAvx2 = cpu_has("avx2");
#endif

void philox_lanes(uint64_t first, uint32_t k0, uint32_t k1, uint32_t w[4][Stream::kLanes]) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (kHaveAvx2) return philox_lanes_avx2(first, k0, k1, w);
#endif
  philox_lanes_scalar(first, k0, k1, w);
}

void Stream::blocks(uint64_t b, uint32_t w[4][kLanes]) const { philox_lanes(base + b, k0, k1, w); }

// The generator a call on `device` draws from: `g`, which must be of the device's type, or the
// device's default one.
Generator& pick_generator(const GeneratorPtr& g, Device device, const char* op) {
  if (!g) return *default_generator(device);
  CTORCH_CHECK(g->device().type == device.type, "[", op, "] Expected a '", device.is_cuda() ? "cuda" : "cpu",
               "' device type for generator but found '", g->device().is_cuda() ? "cuda" : "cpu", "'");
  return *g;
}

Stream claim(const GeneratorPtr& g, Device device, int64_t n, int per_block, const char* op) {
  Generator& gen = pick_generator(g, device, op);
  uint64_t seed = 0;
  uint64_t nblocks = (static_cast<uint64_t>(n) + per_block - 1) / per_block;
  uint64_t base = gen.reserve(nblocks, &seed);
  return {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), base};
}

// Uniform numbers from Philox words: 4 per block at float precision (24 bits of one word), 2
// at double precision (53 bits of a 64-bit value).
struct Uniform {
  bool dbl;
  int per_block() const { return dbl ? 2 : 4; }
  // In [0, 1).
  double at(const uint32_t* w, int j) const {
    return dbl ? philox::u53(philox::word64(w, j)) : philox::u24(w[j]);
  }
  // In (0, 1]: safe under log.
  double open0(const uint32_t* w, int j) const {
    return dbl ? philox::u53_open0(philox::word64(w, j)) : philox::u24_open0(w[j]);
  }
};

// Standard normals for one block via Box-Muller (each pair of uniforms gives two); float math
// below double precision, where it is several times cheaper.
inline void normals(const Uniform& u, const uint32_t* w, double* v) {
  if (u.dbl) {
    constexpr double kTwoPi = 6.283185307179586476925;
    double r = std::sqrt(-2.0 * std::log(u.open0(w, 0)));
    double th = kTwoPi * u.at(w, 1);
    v[0] = r * std::cos(th);
    v[1] = r * std::sin(th);
    return;
  }
  constexpr float kTwoPiF = 6.2831853f;
  for (int j = 0; j < 4; j += 2) {
    float r = std::sqrt(-2.0f * std::log(static_cast<float>(u.open0(w, j))));
    float th = kTwoPiF * static_cast<float>(u.at(w, j + 1));
    v[j] = r * std::cos(th);
    v[j + 1] = r * std::sin(th);
  }
}

template <class T, class V>
inline T to_elem(V v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return static_cast<T>(static_cast<opmath_t<T>>(v));
}

constexpr int kChunk = Stream::kLanes;  // blocks handed to a chunk functor at once

// Fills `t` in parallel, a chunk of kChunk blocks at a time: f(lanes, first_index, values) gets
// the words of blocks [b, b + kChunk) as lanes[word][block] and writes kChunk * per_block
// values, block-major. V is the type f produces (double/float, or int64 for integer draws).
// A CUDA tensor is filled by cuda_random_fill with `cu`, the same formula as f, from the same
// blocks (p: BernoulliTensor's probabilities, expanded to t's shape on t's device).
template <class V, bool kFloatOnly, class F>
Tensor& generate_chunks(Tensor& t, const GeneratorPtr& g, int per_block, const char* op, const RandomFill& cu,
                        const F& f, const Tensor* p = nullptr) {
  if (autograd::recording({&t})) {  // fresh draws: the old value's gradient becomes zero
    return autograd::inplace(t, [&](const Tensor& s) {
      Tensor draws = empty(s.sizes(), s.dtype(), s.device());
      return generate_chunks<V, kFloatOnly>(draws, g, per_block, op, cu, f, p);
    }, op);
  }
  if (kFloatOnly)
    CTORCH_CHECK(is_floating(t.dtype()), "[", op, "] expects a floating point tensor, got ",
                 dtype_name(t.dtype()));
  int64_t n = t.numel();
  Stream s = claim(g, t.device(), n, per_block, op);
  if (t.device().is_cuda()) {
    CTORCH_CHECK(random_fill_per_block(cu) == per_block, "[", op, "] internal error: CUDA fill layout");
    cuda_random_fill(t, p, s.key(), cu);
    t.bump_version();
    return t;
  }
  Tensor dst = t.is_contiguous() ? t : empty(t.sizes(), t.dtype(), t.device());
  int64_t nblocks = (n + per_block - 1) / per_block;
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = dst.data<T>();
    // Chunks start at multiples of kChunk blocks whatever the thread split.
    int64_t nchunks = (nblocks + kChunk - 1) / kChunk;
    parallel_for(0, nchunks, 256, [&](int64_t c0, int64_t c1) {
      uint32_t lanes[4][kChunk];
      V v[4 * kChunk];
      for (int64_t c = c0; c < c1; ++c) {
        s.blocks(static_cast<uint64_t>(c * kChunk), lanes);
        int64_t i0 = c * kChunk * per_block;
        f(lanes, i0, v);
        int64_t cnt = std::min<int64_t>(kChunk * per_block, n - i0);
        for (int64_t j = 0; j < cnt; ++j) out[i0 + j] = to_elem<T>(v[j]);
      }
    });
  };
  if constexpr (kFloatOnly) dispatch_floating(t.dtype(), op, run);
  else dispatch_all(t.dtype(), run);
  if (!dst.is_same(t)) copy_(t, dst);
  t.bump_version();
  return t;
}

// The same with f(words[4], first_index, values[per_block]) called block by block.
template <class V, bool kFloatOnly, class F>
Tensor& generate(Tensor& t, const GeneratorPtr& g, int per_block, const char* op, const RandomFill& cu,
                 const F& f, const Tensor* p = nullptr) {
  return generate_chunks<V, kFloatOnly>(t, g, per_block, op, cu,
                                        [&](const uint32_t (*lanes)[kChunk], int64_t i0, V* v) {
    uint32_t w[4];
    for (int l = 0; l < kChunk; ++l) {
      for (int k = 0; k < 4; ++k) w[k] = lanes[k][l];
      f(w, i0 + l * per_block, v + l * per_block);
    }
  }, p);
}

// ---- float Box-Muller for whole chunks: branch-free log and sincos (philox.h) the compiler
// vectorizes.

// Normals for a chunk at float precision, laid out as the scalar path would: block l gives
// values 4l..4l+3 from the pairs (w0, w1) and (w2, w3), each pair as (r cos, r sin). The AVX2
// build fuses multiply-adds, so CPUs without it agree to float rounding, not bit for bit.
__attribute__((always_inline)) inline void box_muller_body(const uint32_t (*lanes)[kChunk], float mean,
                                                          float stdv, float* v) {
  float rc[2][kChunk], rs[2][kChunk];
  for (int p = 0; p < 2; ++p)
    for (int l = 0; l < kChunk; ++l) {
      float u1 = philox::u24_open0(lanes[2 * p][l]);  // (0, 1]
      float u2 = philox::u24(lanes[2 * p + 1][l]);     // [0, 1)
      float r = std::sqrt(-2.0f * philox::bm_log(u1));
      float sn, cs;
      philox::bm_sincos_2pi(u2, sn, cs);
      rc[p][l] = mean + stdv * (r * cs);
      rs[p][l] = mean + stdv * (r * sn);
    }
  for (int l = 0; l < kChunk; ++l)
    for (int p = 0; p < 2; ++p) {
      v[4 * l + 2 * p] = rc[p][l];
      v[4 * l + 2 * p + 1] = rs[p][l];
    }
}

void box_muller_chunk_plain(const uint32_t (*lanes)[kChunk], float mean, float stdv, float* v) {
  box_muller_body(lanes, mean, stdv, v);
}
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma")))
void box_muller_chunk_avx2(const uint32_t (*lanes)[kChunk], float mean, float stdv, float* v) {
  box_muller_body(lanes, mean, stdv, v);
}
const bool kHaveAvx2Fma = cpu_has("avx2+fma");
#endif

void box_muller_chunk(const uint32_t (*lanes)[kChunk], float mean, float stdv, float* v) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (kHaveAvx2Fma) return box_muller_chunk_avx2(lanes, mean, stdv, v);
#endif
  box_muller_chunk_plain(lanes, mean, stdv, v);
}

// Bits of precision in the uniform numbers for each floating dtype (so [0, 1) stays below 1).
int mantissa_bits(DType t) {
  switch (t) {
    case DType::Float16: return 11;
    case DType::BFloat16: return 8;
    case DType::Float64: return 53;
    default: return 24;
  }
}

// The integer range of a dtype, for random_ and randint bounds.
void dtype_int_range(DType t, int64_t& lo, int64_t& hi) {
  switch (t) {
    case DType::Bool: lo = 0; hi = 1; return;
    case DType::UInt8: lo = 0; hi = 255; return;
    case DType::Int8: lo = -128; hi = 127; return;
    case DType::Int16: lo = -32768; hi = 32767; return;
    case DType::Int32: lo = std::numeric_limits<int32_t>::min(); hi = std::numeric_limits<int32_t>::max(); return;
    case DType::Int64: lo = std::numeric_limits<int64_t>::min(); hi = std::numeric_limits<int64_t>::max(); return;
    default: {
      // Floats hold every integer up to 2^mantissa exactly.
      int64_t m = int64_t(1) << mantissa_bits(t);
      lo = -m; hi = m;
      return;
    }
  }
}

// The CUDA fill of one formula: kind, the float64 layout or not, two double parameters.
RandomFill fill_of(RandomFillKind kind, bool dbl = false, double a = 0, double b = 0) {
  RandomFill f;
  f.kind = kind;
  f.dbl = dbl;
  f.a = a;
  f.b = b;
  return f;
}

// Integers uniform in [from, from + range), range = 0 meaning 2^64.
Tensor& random_range(Tensor& t, int64_t from, uint64_t range, const GeneratorPtr& g, const char* op) {
  bool narrow = range != 0 && range <= (uint64_t(1) << 32);
  RandomFill cu = fill_of(narrow ? RandomFillKind::IntNarrow : RandomFillKind::IntWide);
  cu.from = from;
  cu.range = range;
  return generate<int64_t, false>(t, g, narrow ? 4 : 2, op, cu, [=](const uint32_t* w, int64_t, int64_t* v) {
    if (narrow) {
      for (int j = 0; j < 4; ++j)
        v[j] = static_cast<int64_t>(static_cast<uint64_t>(from) + w[j] % range);
    } else {
      for (int j = 0; j < 2; ++j) {
        uint64_t x = philox::word64(w, j);
        v[j] = static_cast<int64_t>(static_cast<uint64_t>(from) + (range ? x % range : x));
      }
    }
  });
}

void check_float_dtype(DType t, const char* op) {
  CTORCH_CHECK(is_floating(t), "[", op, "] expected a floating point dtype, got ", dtype_name(t));
}

// Every element of `x` (any dtype) as a contiguous float64 array.
std::vector<double> as_doubles(const Tensor& x) {
  Tensor c = contiguous(to(x, DType::Float64, x.device()));
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

}  // namespace

// ---- in place

Tensor& uniform_(Tensor& t, double from, double to, const GeneratorPtr& g) {
  CTORCH_CHECK(from <= to, "[uniform_] expects to return a [from, to) range, but found from=", from,
               " > to=", to);
  CTORCH_CHECK(std::isfinite(to - from), "[uniform_] (to - from) = ", to - from, " is out of range");
  if (t.dtype() != DType::Float64) {
    // Word j of block l is value 4l + j; float math, which the compiler vectorizes.
    int bits = std::min(24, mantissa_bits(t.dtype()));
    float scale = static_cast<float>(to - from) / static_cast<float>(uint32_t(1) << bits);
    float lo = static_cast<float>(from);
    RandomFill cu = fill_of(RandomFillKind::UniformFloat);
    cu.bits = bits;
    cu.lo = lo;
    cu.scale = scale;
    return generate_chunks<float, true>(t, g, 4, "uniform_", cu,
                                        [=](const uint32_t (*lanes)[kChunk], int64_t, float* v) {
      float tmp[4][kChunk];
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < kChunk; ++l)
          tmp[k][l] = lo + static_cast<float>(static_cast<int32_t>(lanes[k][l] >> (32 - bits))) * scale;
      for (int l = 0; l < kChunk; ++l)
        for (int k = 0; k < 4; ++k) v[4 * l + k] = tmp[k][l];
    });
  }
  Uniform u{true};
  return generate<double, true>(t, g, 2, "uniform_", fill_of(RandomFillKind::UniformDouble, true, from, to),
                                [=](const uint32_t* w, int64_t, double* v) {
    for (int j = 0; j < 2; ++j) v[j] = from + u.at(w, j) * (to - from);
  });
}

Tensor& normal_(Tensor& t, double mean, double std, const GeneratorPtr& g) {
  CTORCH_CHECK(std >= 0.0, "[normal_] expects std >= 0.0, but found std ", std);
  if (t.dtype() != DType::Float64) {
    float m = static_cast<float>(mean), sd = static_cast<float>(std);
    RandomFill cu = fill_of(RandomFillKind::NormalFloat);
    cu.lo = m;
    cu.scale = sd;
    return generate_chunks<float, true>(t, g, 4, "normal_", cu,
                                        [=](const uint32_t (*lanes)[kChunk], int64_t, float* v) {
      box_muller_chunk(lanes, m, sd, v);
    });
  }
  Uniform u{true};
  return generate<double, true>(t, g, u.per_block(), "normal_",
                                fill_of(RandomFillKind::NormalDouble, true, mean, std),
                                [=](const uint32_t* w, int64_t, double* v) {
    normals(u, w, v);
    for (int j = 0; j < u.per_block(); ++j) v[j] = mean + std * v[j];
  });
}

Tensor& log_normal_(Tensor& t, double mean, double std, const GeneratorPtr& g) {
  CTORCH_CHECK(std > 0.0, "[log_normal_] expects std > 0.0, but found std=", std);
  Uniform u{t.dtype() == DType::Float64};
  return generate<double, true>(t, g, u.per_block(), "log_normal_",
                                fill_of(RandomFillKind::LogNormal, u.dbl, mean, std),
                                [=](const uint32_t* w, int64_t, double* v) {
    normals(u, w, v);
    for (int j = 0; j < u.per_block(); ++j) v[j] = std::exp(mean + std * v[j]);
  });
}

Tensor& exponential_(Tensor& t, double lambd, const GeneratorPtr& g) {
  CTORCH_CHECK(lambd > 0.0, "[exponential_] expects lambda > 0.0, but found lambda=", lambd);
  Uniform u{t.dtype() == DType::Float64};
  return generate<double, true>(t, g, u.per_block(), "exponential_",
                                fill_of(RandomFillKind::Exponential, u.dbl, lambd),
                                [=](const uint32_t* w, int64_t, double* v) {
    for (int j = 0; j < u.per_block(); ++j) v[j] = -std::log(u.open0(w, j)) / lambd;
  });
}

Tensor& cauchy_(Tensor& t, double median, double sigma, const GeneratorPtr& g) {
  CTORCH_CHECK(sigma > 0.0, "[cauchy_] expects sigma > 0.0, but found sigma=", sigma);
  Uniform u{t.dtype() == DType::Float64};
  return generate<double, true>(t, g, u.per_block(), "cauchy_",
                                fill_of(RandomFillKind::Cauchy, u.dbl, median, sigma),
                                [=](const uint32_t* w, int64_t, double* v) {
    constexpr double kPi = 3.141592653589793238463;
    for (int j = 0; j < u.per_block(); ++j) v[j] = median + sigma * std::tan(kPi * (u.at(w, j) - 0.5));
  });
}

Tensor& geometric_(Tensor& t, double p, const GeneratorPtr& g) {
  CTORCH_CHECK(p > 0 && p < 1, "[geometric_] expects p to be in (0, 1), but got p=", p);
  Uniform u{true};
  double denom = std::log1p(-p);
  return generate<double, false>(t, g, 2, "geometric_", fill_of(RandomFillKind::Geometric, true, denom),
                                 [=](const uint32_t* w, int64_t, double* v) {
    // The number of trials up to the first success: at least 1.
    for (int j = 0; j < 2; ++j) v[j] = std::max(1.0, std::ceil(std::log(u.open0(w, j)) / denom));
  });
}

Tensor& bernoulli_(Tensor& t, double p, const GeneratorPtr& g) {
  CTORCH_CHECK(p >= 0 && p <= 1, "[bernoulli_] expects p to be in [0, 1], but got p=", p);
  Uniform u{true};
  return generate<double, false>(t, g, 2, "bernoulli_", fill_of(RandomFillKind::Bernoulli, true, p),
                                 [=](const uint32_t* w, int64_t, double* v) {
    for (int j = 0; j < 2; ++j) v[j] = u.at(w, j) < p ? 1.0 : 0.0;
  });
}

Tensor& bernoulli_(Tensor& t, const Tensor& p, const GeneratorPtr& g) {
  // As in PyTorch, p may live on another device than t: it moves to t's.
  Tensor pe = expand(p.device() == t.device() ? p : to(p, p.dtype(), t.device()), t.sizes());
  if (t.device().is_cuda()) {
    double bad = 0;
    CTORCH_CHECK(cuda_random_check(pe, 0, &bad), "[bernoulli_] expects all probabilities to be in [0, 1], got ",
                 bad);
    // The kernel reads p itself; the CPU loop (the lambda) never runs for a CUDA tensor.
    return generate<double, false>(t, g, 2, "bernoulli_", fill_of(RandomFillKind::BernoulliTensor, true),
                                   [](const uint32_t*, int64_t, double* v) { v[0] = v[1] = 0; }, &pe);
  }
  std::vector<double> pv = as_doubles(pe);
  for (double x : pv)
    CTORCH_CHECK(x >= 0 && x <= 1, "[bernoulli_] expects all probabilities to be in [0, 1], got ", x);
  Uniform u{true};
  int64_t n = t.numel();
  const double* pp = pv.data();
  return generate<double, false>(t, g, 2, "bernoulli_", fill_of(RandomFillKind::BernoulliTensor, true),
                                 [=](const uint32_t* w, int64_t i0, double* v) {
    for (int j = 0; j < 2; ++j) v[j] = i0 + j < n && u.at(w, j) < pp[i0 + j] ? 1.0 : 0.0;
  });
}

Tensor& random_(Tensor& t, int64_t from, std::optional<int64_t> to, const GeneratorPtr& g) {
  int64_t lo, hi;
  dtype_int_range(t.dtype(), lo, hi);
  if (to) {
    CTORCH_CHECK(from < *to, "[random_] expects 'from' to be less than 'to', but got from=", from,
                 " >= to=", *to);
    CTORCH_CHECK(from >= lo && *to - 1 <= hi, "[random_] expects 'from' and 'to' - 1 to be in the "
                 "range of ", dtype_name(t.dtype()), " [", lo, ", ", hi, "], but got from=", from,
                 " to=", *to);
    return random_range(t, from, static_cast<uint64_t>(*to) - static_cast<uint64_t>(from), g, "random_");
  }
  CTORCH_CHECK(from >= lo && from <= hi, "[random_] 'from' (", from, ") is out of the range of ",
               dtype_name(t.dtype()));
  return random_range(t, from, static_cast<uint64_t>(hi) - static_cast<uint64_t>(from) + 1, g, "random_");
}

Tensor& random_(Tensor& t, const GeneratorPtr& g) {
  return random_(t, 0, std::nullopt, g);
}

// ---- factories

Tensor rand(IntArrayRef shape, DType dtype, const GeneratorPtr& g, Device device) {
  check_float_dtype(dtype, "rand");
  Tensor t = empty(shape, dtype, device);
  return uniform_(t, 0, 1, g);
}

Tensor randn(IntArrayRef shape, DType dtype, const GeneratorPtr& g, Device device) {
  check_float_dtype(dtype, "randn");
  Tensor t = empty(shape, dtype, device);
  return normal_(t, 0, 1, g);
}

Tensor randint(int64_t low, int64_t high, IntArrayRef shape, DType dtype, const GeneratorPtr& g,
               Device device) {
  Tensor t = empty(shape, dtype, device);
  return random_(t, low, high, g);
}

Tensor randperm(int64_t n, DType dtype, const GeneratorPtr& g, Device device) {
  CTORCH_CHECK(n >= 0, "[randperm] n must be non-negative, got ", n);
  if (!is_floating(dtype) && dtype != DType::Int64) {
    int64_t lo, hi;
    dtype_int_range(dtype, lo, hi);
    CTORCH_CHECK(n == 0 || n - 1 <= hi, "[randperm] n (", n, ") is too large for dtype ", dtype_name(dtype));
  }
  Tensor idx = empty({n}, DType::Int64);
  int64_t* p = idx.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  // Fisher-Yates from the top: step i swaps i with a uniform j in [0, i], the draw for step i
  // being 64-bit value number (n - 1 - i) of this call's stream.
  // On CUDA too the shuffle runs here, sequential as it is, from the CUDA generator's blocks:
  // the same permutation as the CPU's for the same seed, then one copy to the device.
  Stream s = claim(g, device, n, 2, "randperm");
  uint32_t w[4];
  for (int64_t i = n - 1, k = 0; i > 0; --i, ++k) {
    if (k % 2 == 0) s.block(static_cast<uint64_t>(k / 2), w);
    uint64_t x = philox::word64(w, static_cast<int>(k % 2));
    int64_t j = static_cast<int64_t>(x % static_cast<uint64_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  return to(idx, dtype, device);
}

namespace {
void check_std_tensor(const Tensor& std, const char* op) {
  if (std.device().is_cuda()) {
    double bad = 0;
    CTORCH_CHECK(cuda_random_check(std, 1, &bad), "[", op, "] expects all elements of std >= 0.0");
    return;
  }
  for (double x : as_doubles(std))
    CTORCH_CHECK(x >= 0.0 || std::isnan(x), "[", op, "] expects all elements of std >= 0.0");
}
DType normal_dtype(const Tensor& t) {
  CTORCH_CHECK(is_floating(t.dtype()), "[normal] expects floating mean and std, got ", dtype_name(t.dtype()));
  return t.dtype();
}
}  // namespace

Tensor normal(const Tensor& mean, const Tensor& std, const GeneratorPtr& g) {
  check_same_device(mean, std, "normal");
  check_std_tensor(std, "normal");
  DType dt = promote_types(normal_dtype(mean), normal_dtype(std));
  DimVector shape = broadcast_shapes(mean.sizes(), std.sizes(), "normal");
  Tensor z = randn(shape, dt, g, mean.device());
  return add(mul(z, std), mean);
}

Tensor normal(const Tensor& mean, double std, const GeneratorPtr& g) {
  CTORCH_CHECK(std >= 0.0, "[normal] expects std >= 0.0, but found std ", std);
  Tensor z = randn(mean.sizes(), normal_dtype(mean), g, mean.device());
  return add(mul(z, Scalar(std)), mean);
}

Tensor normal(double mean, const Tensor& std, const GeneratorPtr& g) {
  check_std_tensor(std, "normal");
  Tensor z = randn(std.sizes(), normal_dtype(std), g, std.device());
  return add(mul(z, std), Scalar(mean));
}

Tensor normal(double mean, double std, IntArrayRef shape, DType dtype, const GeneratorPtr& g,
              Device device) {
  check_float_dtype(dtype, "normal");
  Tensor t = empty(shape, dtype, device);
  return normal_(t, mean, std, g);
}

Tensor bernoulli(const Tensor& p, const GeneratorPtr& g) {
  check_float_dtype(p.dtype(), "bernoulli");
  Tensor t = empty(p.sizes(), p.dtype(), p.device());
  return bernoulli_(t, p, g);
}

Tensor bernoulli(const Tensor& self, double p, const GeneratorPtr& g) {
  Tensor t = empty(self.sizes(), self.dtype(), self.device());
  return bernoulli_(t, p, g);
}

Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement, const GeneratorPtr& g) {
  CTORCH_CHECK(probs.dim() == 1 || probs.dim() == 2, "[multinomial] prob_dist must be 1 or 2 dim, "
               "got shape ", probs.sizes());
  check_float_dtype(probs.dtype(), "multinomial");
  CTORCH_CHECK(num_samples > 0, "[multinomial] cannot sample n_sample <= 0 samples");
  int64_t rows = probs.dim() == 2 ? probs.size(0) : 1, cats = probs.size(probs.dim() - 1);
  CTORCH_CHECK(cats > 0, "[multinomial] number of categories cannot be zero");
  CTORCH_CHECK(replacement || num_samples <= cats, "[multinomial] cannot sample n_sample (",
               num_samples, ") > prob_dist.size(-1) (", cats, ") samples without replacement");
  const bool on_cuda = probs.device().is_cuda();
  std::vector<double> p;
  if (on_cuda) {
    // Checked on the device; the host only learns which error, if any (one sync).
    int code = cuda_multinomial_check(probs);
    CTORCH_CHECK(code != 1, "[multinomial] probability tensor contains either `inf`, `nan` or element < 0");
    CTORCH_CHECK(code != 2, "[multinomial] invalid multinomial distribution (sum of probabilities <= 0)");
  } else {
    p = as_doubles(probs);
  }
  for (int64_t r = 0; r < rows && !on_cuda; ++r) {
    double sum = 0;
    for (int64_t c = 0; c < cats; ++c) {
      double x = p[r * cats + c];
      CTORCH_CHECK(std::isfinite(x) && x >= 0, "[multinomial] probability tensor contains either "
                   "`inf`, `nan` or element < 0");
      sum += x;
    }
    CTORCH_CHECK(sum > 0, "[multinomial] invalid multinomial distribution (sum of probabilities <= 0)");
  }
  DimVector shape;
  if (probs.dim() == 2) shape.push_back(rows);
  shape.push_back(num_samples);
  Tensor out = empty(shape, DType::Int64, probs.device());
  // Row r uses draws [r * per_row, (r + 1) * per_row) of this call's stream, 2 per block.
  int64_t per_row = replacement ? num_samples : cats;
  per_row += per_row % 2;  // rows start on a block boundary
  Stream s = claim(g, probs.device(), rows * per_row, 2, "multinomial");
  if (on_cuda) {
    cuda_multinomial(probs, out, num_samples, replacement, per_row, s.key());
    return out;
  }
  int64_t* po = out.data<int64_t>();
  Uniform u{true};
  auto draw = [&](int64_t index) {
    uint32_t w[4];
    s.block(static_cast<uint64_t>(index / 2), w);
    return u.open0(w, static_cast<int>(index % 2));
  };
  parallel_for(0, rows, 1, [&](int64_t r0, int64_t r1) {
    std::vector<double> cdf(static_cast<size_t>(cats));
    std::vector<std::pair<double, int64_t>> keys;
    for (int64_t r = r0; r < r1; ++r) {
      const double* pr = p.data() + r * cats;
      int64_t* orow = po + r * num_samples;
      if (replacement) {
        double acc = 0;
        int64_t last = 0;
        for (int64_t c = 0; c < cats; ++c) {
          acc += pr[c];
          cdf[c] = acc;
          if (pr[c] > 0) last = c;
        }
        for (int64_t k = 0; k < num_samples; ++k) {
          double x = (1.0 - draw(r * per_row + k)) * acc;  // in [0, acc)
          int64_t c = std::upper_bound(cdf.begin(), cdf.end(), x) - cdf.begin();
          orow[k] = std::min(c, last);
        }
      } else {
        // Exponential race: category c finishes at E_c / p_c; the first num_samples to finish
        // are a draw without replacement, in order. Zero-probability categories never finish:
        // once the others are used up they follow in index order, as in PyTorch.
        keys.clear();
        for (int64_t c = 0; c < cats; ++c) {
          double e = -std::log(draw(r * per_row + c));
          keys.emplace_back(pr[c] > 0 ? e / pr[c] : INFINITY, c);
        }
        std::partial_sort(keys.begin(), keys.begin() + num_samples, keys.end());
        for (int64_t k = 0; k < num_samples; ++k) orow[k] = keys[k].second;
      }
    }
  });
  return out;
}

}  // namespace ctorch
