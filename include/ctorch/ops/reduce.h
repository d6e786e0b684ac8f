// Reductions, scans, softmax and sorting (src/ops/reduce.cpp, src/ops/sort.cpp), PyTorch semantics.
// `dims` lists the dims to reduce (negative dims wrap); an empty list reduces every dim.
#pragma once
#include <optional>
#include <tuple>
#include "ctorch/core/tensor.h"

namespace ctorch {

// ---- reductions (integer and bool sums/products are int64; `dtype` casts the input first)
CTORCH_API Tensor sum(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false,
                      std::optional<DType> dtype = std::nullopt);
CTORCH_API Tensor mean(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false,
                       std::optional<DType> dtype = std::nullopt);
CTORCH_API Tensor prod(const Tensor& x, std::optional<int64_t> dim = std::nullopt,
                       bool keepdim = false, std::optional<DType> dtype = std::nullopt);
CTORCH_API Tensor amax(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false);
CTORCH_API Tensor amin(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false);
// max/min over everything (a 0-d tensor), or along `dim` with the index of the first extreme.
CTORCH_API Tensor max(const Tensor& x);
CTORCH_API Tensor min(const Tensor& x);
CTORCH_API std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
CTORCH_API std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
// No dim: the index into the flattened tensor.
CTORCH_API Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
CTORCH_API Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// Variance divides by max(0, N - correction); correction = 1 is the unbiased estimate.
CTORCH_API Tensor var(const Tensor& x, IntArrayRef dims = {}, double correction = 1, bool keepdim = false);
CTORCH_API Tensor std(const Tensor& x, IntArrayRef dims = {}, double correction = 1, bool keepdim = false);
CTORCH_API std::tuple<Tensor, Tensor> var_mean(const Tensor& x, IntArrayRef dims = {},
                                               double correction = 1, bool keepdim = false);
CTORCH_API std::tuple<Tensor, Tensor> std_mean(const Tensor& x, IntArrayRef dims = {},
                                               double correction = 1, bool keepdim = false);
// (sum |x|^ord)^(1/ord); ord = inf / -inf: max / min of |x|; ord = 0: count of non-zeros.
CTORCH_API Tensor vector_norm(const Tensor& x, double ord = 2, IntArrayRef dims = {},
                              bool keepdim = false, std::optional<DType> dtype = std::nullopt);
CTORCH_API Tensor logsumexp(const Tensor& x, IntArrayRef dims, bool keepdim = false);
// Bool results (uint8 for uint8 inputs, as in PyTorch).
CTORCH_API Tensor all(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false);
CTORCH_API Tensor any(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false);

// ---- scans and softmax along one dim
CTORCH_API Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
CTORCH_API Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
CTORCH_API Tensor softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
CTORCH_API Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);

// ---- sorting (NaN sorts above every number); results are (values, indices). Every sort is
// stable (equal values keep their order), so `stable` only documents the caller's intent.
CTORCH_API std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false,
                                           bool stable = false);
CTORCH_API Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = false);
CTORCH_API std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1,
                                           bool largest = true, bool sorted = true);
// The k-th smallest (k from 1) along dim.
CTORCH_API std::tuple<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim = -1,
                                               bool keepdim = false);
// The lower median; NaN when the values include NaN.
CTORCH_API Tensor median(const Tensor& x);
CTORCH_API std::tuple<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim = false);
// Distinct values of the flattened tensor (always sorted, whatever `sorted` says), the index of each input element's value
// among them (input's shape) and their counts; inverse/counts are undefined unless asked for.
CTORCH_API std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& x, bool sorted = true,
                                                     bool return_inverse = false,
                                                     bool return_counts = false);

}  // namespace ctorch
