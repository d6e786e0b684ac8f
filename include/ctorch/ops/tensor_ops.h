// Copies, conversions, views and factories: the ops that move or reinterpret data.
#pragma once
#include <optional>
#include <vector>
#include "ctorch/core/tensor.h"

namespace ctorch {

// ---- copies and conversions (src/ops/copy.cpp)
// non_blocking: a copy between pinned host memory and a GPU does not wait for the GPU.
CTORCH_API Tensor to(const Tensor& t, DType dtype, Device device, bool copy = false,
                     bool non_blocking = false);
CTORCH_API Tensor contiguous(const Tensor& t);
CTORCH_API Tensor clone(const Tensor& t);
// Copies `src` (broadcast to dst's shape, any dtype) into dst.
CTORCH_API Tensor& copy_(Tensor& dst, const Tensor& src, bool non_blocking = false);
// A copy in page-locked host memory (a CPU tensor), and whether a tensor lives in such memory.
CTORCH_API Tensor pin_memory(const Tensor& t);
CTORCH_API bool is_pinned(const Tensor& t);
CTORCH_API Scalar item(const Tensor& t);

// ---- views: never copy (src/ops/shape.cpp)
CTORCH_API Tensor view(const Tensor& t, IntArrayRef shape);  // one -1 is inferred
CTORCH_API Tensor reshape(const Tensor& t, IntArrayRef shape);  // a view when strides allow
CTORCH_API Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
CTORCH_API Tensor unflatten(const Tensor& t, int64_t dim, IntArrayRef sizes);
CTORCH_API Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
CTORCH_API Tensor t(const Tensor& t);
CTORCH_API Tensor permute(const Tensor& t, IntArrayRef dims);
CTORCH_API Tensor movedim(const Tensor& t, IntArrayRef source, IntArrayRef destination);
CTORCH_API Tensor expand(const Tensor& t, IntArrayRef sizes);  // -1 keeps a size
CTORCH_API Tensor broadcast_to(const Tensor& t, IntArrayRef sizes);
CTORCH_API std::vector<Tensor> broadcast_tensors(const std::vector<Tensor>& tensors);
CTORCH_API Tensor squeeze(const Tensor& t);
CTORCH_API Tensor squeeze(const Tensor& t, IntArrayRef dims);
CTORCH_API Tensor unsqueeze(const Tensor& t, int64_t dim);
CTORCH_API Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
CTORCH_API Tensor select(const Tensor& t, int64_t dim, int64_t index);
// Python slicing: start/end are clamped like Python's, step must be positive.
CTORCH_API Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start,
                        std::optional<int64_t> end, int64_t step = 1);
CTORCH_API std::vector<Tensor> unbind(const Tensor& t, int64_t dim = 0);
CTORCH_API std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim = 0);
CTORCH_API std::vector<Tensor> split_with_sizes(const Tensor& t, IntArrayRef sizes, int64_t dim = 0);
CTORCH_API std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim = 0);
CTORCH_API Tensor as_strided(const Tensor& t, IntArrayRef size, IntArrayRef stride,
                             std::optional<int64_t> storage_offset = std::nullopt);
CTORCH_API Tensor diagonal(const Tensor& t, int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1);
CTORCH_API Tensor alias(const Tensor& t);  // a new tensor over the same storage (detach)

// ---- factories (src/ops/factory.cpp)
CTORCH_API Tensor full(IntArrayRef shape, const Scalar& value, DType dtype, Device device = Device());
CTORCH_API Tensor zeros(IntArrayRef shape, DType dtype = DType::Float32, Device device = Device());
CTORCH_API Tensor ones(IntArrayRef shape, DType dtype = DType::Float32, Device device = Device());
// Zeros with t's dtype and device: of t's shape, or of `shape`.
CTORCH_API Tensor zeros_like(const Tensor& t);
CTORCH_API Tensor zeros_like(const Tensor& t, IntArrayRef shape);
CTORCH_API Tensor& fill_(Tensor& t, const Scalar& value);
CTORCH_API Tensor& zero_(Tensor& t);
CTORCH_API Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step,
                         std::optional<DType> dtype = std::nullopt, Device device = Device());
CTORCH_API Tensor linspace(double start, double end, int64_t steps, DType dtype,
                           Device device = Device());
CTORCH_API Tensor logspace(double start, double end, int64_t steps, double base, DType dtype,
                           Device device = Device());
CTORCH_API Tensor eye(int64_t n, int64_t m, DType dtype, Device device = Device());

}  // namespace ctorch
