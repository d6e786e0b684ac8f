// Indexing and joining ops: Python-style subscripts (TensorIndex), gather/scatter family, masks,
// concatenation, flips, repeats and triangular/diagonal helpers.
#pragma once
#include <optional>
#include <string>
#include <vector>
#include "ctorch/core/tensor.h"

namespace ctorch {

// ---- subscripts: x[0, 1:5:2, None, ..., mask, idx] (src/ops/index.cpp)

struct Slice {
  std::optional<int64_t> start, stop;
  int64_t step = 1;
};
struct EllipsisIndex {};
struct NoneIndex {};

// One entry of a subscript, as Python writes it. Ints select (no dim), slices keep a strided view,
// None inserts a dim of size 1, Ellipsis stands for the dims not named, a bool adds a dim of size
// 1 (true) or 0 (false), a bool/uint8 tensor is a mask over as many dims as it has, any other
// integer tensor is an advanced index.
class CTORCH_API TensorIndex {
 public:
  enum class Kind : int8_t { Int, Slice, None, Ellipsis, Bool, Tensor };
  TensorIndex(int64_t i) : kind_(Kind::Int), int_(i) {}
  TensorIndex(int i) : kind_(Kind::Int), int_(i) {}
  TensorIndex(bool b) : kind_(Kind::Bool), int_(b) {}
  TensorIndex(Slice s) : kind_(Kind::Slice), slice_(s) {}
  TensorIndex(NoneIndex) : kind_(Kind::None) {}
  TensorIndex(EllipsisIndex) : kind_(Kind::Ellipsis) {}
  TensorIndex(Tensor t) : kind_(Kind::Tensor), tensor_(std::move(t)) {}

  Kind kind() const { return kind_; }
  int64_t integer() const { return int_; }
  bool boolean() const { return int_ != 0; }
  const Slice& slice() const { return slice_; }
  const Tensor& tensor() const { return tensor_; }

 private:
  Kind kind_;
  int64_t int_ = 0;
  Slice slice_;
  Tensor tensor_;
};

// self[indices]: a view when only ints, slices, None and Ellipsis are used, else a copy.
CTORCH_API Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices);
// self[indices] = value (value broadcast to the indexed shape; converted to self's dtype).
CTORCH_API Tensor& index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value);
CTORCH_API Tensor& index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Scalar& value);

// aten::index / index_put_: one optional index tensor per leading dim (nullopt = the whole dim).
// Integer tensors broadcast together; bool tensors are masks. Values must have self's dtype.
CTORCH_API Tensor advanced_index(const Tensor& self, const std::vector<std::optional<Tensor>>& indices);
CTORCH_API Tensor& advanced_index_put_(Tensor& self, const std::vector<std::optional<Tensor>>& indices,
                                       const Tensor& values, bool accumulate = false);
CTORCH_API Tensor advanced_index_put(const Tensor& self, const std::vector<std::optional<Tensor>>& indices,
                                     const Tensor& values, bool accumulate = false);

// ---- gather / scatter family (src/ops/index.cpp)
CTORCH_API Tensor index_select(const Tensor& self, int64_t dim, const Tensor& index);
CTORCH_API Tensor gather(const Tensor& self, int64_t dim, const Tensor& index);
CTORCH_API Tensor take(const Tensor& self, const Tensor& index);
// dim nullopt: take() on the flattened input; else gather() after broadcasting all other dims.
CTORCH_API Tensor take_along_dim(const Tensor& self, const Tensor& indices, std::optional<int64_t> dim = std::nullopt);
// self.flatten()[index] = source (accumulate: +=), with self's own layout kept.
CTORCH_API Tensor& put_(Tensor& self, const Tensor& index, const Tensor& source, bool accumulate = false);
CTORCH_API Tensor put(const Tensor& self, const Tensor& index, const Tensor& source, bool accumulate = false);
// reduce: "" (plain copy), "add" or "multiply" (the legacy scatter reduce argument).
CTORCH_API Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                            const std::string& reduce = "");
CTORCH_API Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
                            const std::string& reduce = "");
CTORCH_API Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                          const std::string& reduce = "");
CTORCH_API Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
                          const std::string& reduce = "");
CTORCH_API Tensor& scatter_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
CTORCH_API Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
// reduce: "sum", "prod", "mean", "amax" or "amin".
CTORCH_API Tensor& scatter_reduce_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                                   const std::string& reduce, bool include_self = true);
CTORCH_API Tensor scatter_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                                 const std::string& reduce, bool include_self = true);
CTORCH_API Tensor& index_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                              const Scalar& alpha = 1);
CTORCH_API Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                            const Scalar& alpha = 1);
CTORCH_API Tensor& index_copy_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source);
CTORCH_API Tensor index_copy(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source);
// reduce: "prod", "mean", "amax" or "amin".
CTORCH_API Tensor& index_reduce_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                                 const std::string& reduce, bool include_self = true);
CTORCH_API Tensor index_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                               const std::string& reduce, bool include_self = true);
CTORCH_API Tensor& index_fill_(Tensor& self, int64_t dim, const Tensor& index, const Scalar& value);
CTORCH_API Tensor index_fill(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value);
// A 0-d value tensor (differentiable: its gradient is the sum over the filled elements).
CTORCH_API Tensor& index_fill_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& value);
CTORCH_API Tensor index_fill(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& value);

// ---- masks (src/ops/index.cpp)
CTORCH_API Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Scalar& value);
CTORCH_API Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Tensor& value);  // 0-d value
CTORCH_API Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value);
CTORCH_API Tensor masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value);
CTORCH_API Tensor masked_select(const Tensor& self, const Tensor& mask);
CTORCH_API Tensor& masked_scatter_(Tensor& self, const Tensor& mask, const Tensor& source);
CTORCH_API Tensor masked_scatter(const Tensor& self, const Tensor& mask, const Tensor& source);
// [n, ndim] int64 coordinates of the nonzero elements, in row-major order.
CTORCH_API Tensor nonzero(const Tensor& self);
CTORCH_API std::vector<Tensor> nonzero_tuple(const Tensor& self);  // one 1-D tensor per dim
CTORCH_API Tensor one_hot(const Tensor& self, int64_t num_classes = -1);

// ---- joining and rearranging (src/ops/join.cpp)
CTORCH_API Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
CTORCH_API Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
CTORCH_API Tensor hstack(const std::vector<Tensor>& tensors);
CTORCH_API Tensor vstack(const std::vector<Tensor>& tensors);
CTORCH_API Tensor dstack(const std::vector<Tensor>& tensors);
CTORCH_API Tensor atleast_1d(const Tensor& t);
CTORCH_API Tensor atleast_2d(const Tensor& t);
CTORCH_API Tensor atleast_3d(const Tensor& t);
CTORCH_API Tensor flip(const Tensor& self, IntArrayRef dims);
CTORCH_API Tensor fliplr(const Tensor& self);
CTORCH_API Tensor flipud(const Tensor& self);
// dims empty: roll the flattened tensor by shifts[0] and restore the shape.
CTORCH_API Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims = {});
CTORCH_API Tensor repeat(const Tensor& self, IntArrayRef repeats);
CTORCH_API Tensor tile(const Tensor& self, IntArrayRef reps);
// dim nullopt: the flattened input. repeats: a 0-d/1-element or 1-D integer tensor.
CTORCH_API Tensor repeat_interleave(const Tensor& self, int64_t repeats, std::optional<int64_t> dim = std::nullopt);
CTORCH_API Tensor repeat_interleave(const Tensor& self, const Tensor& repeats,
                                    std::optional<int64_t> dim = std::nullopt);
// repeat_interleave(repeats): each index i repeated repeats[i] times.
CTORCH_API Tensor repeat_interleave(const Tensor& repeats);
CTORCH_API Tensor tril(const Tensor& self, int64_t diagonal = 0);
CTORCH_API Tensor triu(const Tensor& self, int64_t diagonal = 0);
CTORCH_API Tensor& tril_(Tensor& self, int64_t diagonal = 0);
CTORCH_API Tensor& triu_(Tensor& self, int64_t diagonal = 0);
CTORCH_API Tensor diag(const Tensor& self, int64_t diagonal = 0);
CTORCH_API Tensor diag_embed(const Tensor& self, int64_t offset = 0, int64_t dim1 = -2, int64_t dim2 = -1);
// A copy of self with `src` written into the given view of it (the out-of-place view writes).
CTORCH_API Tensor select_scatter(const Tensor& self, const Tensor& src, int64_t dim, int64_t index);
CTORCH_API Tensor slice_scatter(const Tensor& self, const Tensor& src, int64_t dim = 0,
                                std::optional<int64_t> start = std::nullopt,
                                std::optional<int64_t> end = std::nullopt, int64_t step = 1);
CTORCH_API Tensor diagonal_scatter(const Tensor& self, const Tensor& src, int64_t offset = 0,
                                   int64_t dim1 = 0, int64_t dim2 = 1);
// Rotates by 90 degrees k times in the plane of dims (from dims[0] towards dims[1]).
CTORCH_API Tensor rot90(const Tensor& self, int64_t k = 1, IntArrayRef dims = {0, 1});
// [2, n] int64 coordinates of the lower/upper triangle of a row x col matrix.
CTORCH_API Tensor tril_indices(int64_t row, int64_t col, int64_t offset = 0, DType dtype = DType::Int64,
                               Device device = Device());
CTORCH_API Tensor triu_indices(int64_t row, int64_t col, int64_t offset = 0, DType dtype = DType::Int64,
                               Device device = Device());
// indexing: "ij" (matrix) or "xy" (Cartesian: the first two outputs' dims swapped).
CTORCH_API std::vector<Tensor> meshgrid(const std::vector<Tensor>& tensors, const std::string& indexing = "ij");

}  // namespace ctorch
