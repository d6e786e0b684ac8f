// Backward formulas shared by several op families (declared in grad_helpers.h).
#include "ops/grad_helpers.h"
#include "ctorch/ops.h"

namespace ctorch {

Tensor scatter_to_index(const Tensor& g, const Tensor& idx, int64_t dim, IntArrayRef shape,
                        bool keepdim) {
  if (shape.empty()) return g;
  Tensor gk = keepdim ? g : unsqueeze(g, dim);
  Tensor ik = keepdim ? idx : unsqueeze(idx, dim);
  return scatter(zeros_like(g, shape), dim, ik, gk);
}

Tensor split_among_equal(const Tensor& g_keep, const Tensor& x, const Tensor& r_keep,
                         const std::vector<int64_t>& dims, bool nan_aware) {
  Tensor hits = (nan_aware && item(isnan(r_keep)).to_bool()) ? isnan(x) : eq(x, r_keep);
  return g_keep / sum(hits, dims, true) * hits;
}

}  // namespace ctorch
