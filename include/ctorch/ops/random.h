// Random numbers: a counter-based Philox4x32-10 generator (state = seed + offset) and the
// sampling ops. Each element's value depends only on (seed, offset, index), never on threads or
// on the device: a CUDA generator in the same state gives a CUDA tensor the CPU's numbers.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include "ctorch/core/tensor.h"

namespace ctorch {

class CTORCH_API Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;  // PyTorch's default seed
  explicit Generator(uint64_t seed = kDefaultSeed, Device device = Device()) : device_(device), seed_(seed) {}

  // The device whose tensors it fills (CPU, or one CUDA device); ops check the type matches.
  Device device() const { return device_; }

  void manual_seed(uint64_t seed);  // also rewinds the offset
  uint64_t seed();                  // reseeds from a non-deterministic source and returns it
  uint64_t initial_seed() const;
  uint64_t offset() const;
  // Claims `nblocks` Philox blocks (4 x uint32 each) and returns the first block's index; the
  // seed they belong to is read under the same lock.
  uint64_t reserve(uint64_t nblocks, uint64_t* seed = nullptr);
  // The state as 16 bytes (seed, offset: little-endian uint64) in a uint8 tensor, and back.
  Tensor get_state() const;
  void set_state(const Tensor& state);

 private:
  const Device device_;
  mutable std::mutex mu_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};
using GeneratorPtr = std::shared_ptr<Generator>;

CTORCH_API const GeneratorPtr& default_generator();  // the CPU's
// The default generator of a CUDA device (index -1: the current one); raises without a GPU.
CTORCH_API const GeneratorPtr& cuda_default_generator(int index = -1);
// The default generator for tensors on `device`.
CTORCH_API const GeneratorPtr& default_generator(Device device);
// Seeds the CPU's and every CUDA device's default generator, as torch.manual_seed.
CTORCH_API void manual_seed(uint64_t seed);

// One Philox4x32-10 block (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
CTORCH_API std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter,
                                                 std::array<uint32_t, 2> key);

// ---- factories (gen = nullptr: the default generator)
CTORCH_API Tensor rand(IntArrayRef shape, DType dtype = DType::Float32, const GeneratorPtr& gen = nullptr,
                       Device device = Device());
CTORCH_API Tensor randn(IntArrayRef shape, DType dtype = DType::Float32, const GeneratorPtr& gen = nullptr,
                        Device device = Device());
// Integers uniform in [low, high).
CTORCH_API Tensor randint(int64_t low, int64_t high, IntArrayRef shape, DType dtype = DType::Int64,
                          const GeneratorPtr& gen = nullptr, Device device = Device());
CTORCH_API Tensor randperm(int64_t n, DType dtype = DType::Int64, const GeneratorPtr& gen = nullptr,
                           Device device = Device());
CTORCH_API Tensor normal(const Tensor& mean, const Tensor& std, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor normal(const Tensor& mean, double std, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor normal(double mean, const Tensor& std, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor normal(double mean, double std, IntArrayRef shape, DType dtype = DType::Float32,
                         const GeneratorPtr& gen = nullptr, Device device = Device());
// 0/1 draws with probabilities `p` (same shape and dtype as p), or with one p for self's shape.
CTORCH_API Tensor bernoulli(const Tensor& p, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor bernoulli(const Tensor& self, double p, const GeneratorPtr& gen = nullptr);
// Category indices (int64) drawn from rows of non-negative weights (1-D or 2-D).
CTORCH_API Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement = false,
                              const GeneratorPtr& gen = nullptr);

// ---- in place (any layout; the tensor's dtype decides the precision)
CTORCH_API Tensor& uniform_(Tensor& t, double from = 0, double to = 1, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor& normal_(Tensor& t, double mean = 0, double std = 1, const GeneratorPtr& gen = nullptr);
// Integers in [from, to); to = nullopt: up to the dtype's largest value (2^mantissa for floats).
CTORCH_API Tensor& random_(Tensor& t, int64_t from, std::optional<int64_t> to,
                           const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor& random_(Tensor& t, const GeneratorPtr& gen = nullptr);  // [0, dtype max]
CTORCH_API Tensor& bernoulli_(Tensor& t, double p = 0.5, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor& bernoulli_(Tensor& t, const Tensor& p, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor& exponential_(Tensor& t, double lambd = 1, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor& geometric_(Tensor& t, double p, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor& log_normal_(Tensor& t, double mean = 1, double std = 2, const GeneratorPtr& gen = nullptr);
CTORCH_API Tensor& cauchy_(Tensor& t, double median = 0, double sigma = 1, const GeneratorPtr& gen = nullptr);

}  // namespace ctorch
