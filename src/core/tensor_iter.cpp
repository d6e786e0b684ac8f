// TensorIter construction: broadcast strides, drop size-1 dims, coalesce contiguous runs.
#include "core/tensor_iter.h"

namespace ctorch {

TensorIter::TensorIter(const Tensor& out, std::initializer_list<const Tensor*> inputs) {
  const Tensor* ops[kMaxOperands];
  nops_ = 0;
  ops[nops_++] = &out;
  for (const Tensor* t : inputs) ops[nops_++] = t;
  numel_ = out.numel();
  device_ = out.device();
  const int64_t nd = out.dim();
  IntArrayRef oshape = out.sizes();

  // Innermost first; size-1 dims dropped since they never move a pointer.
  for (int64_t d = nd - 1; d >= 0; --d) {
    if (oshape[d] == 1) continue;
    shape_.push_back(oshape[d]);
    for (int k = 0; k < nops_; ++k) {
      const Tensor& t = *ops[k];
      int64_t td = d - (nd - t.dim());  // the input's aligned dim, or < 0 when broadcast in
      int64_t st = (td >= 0 && t.sizes()[td] != 1) ? t.strides()[td] : 0;
      strides_[k].push_back(st * static_cast<int64_t>(t.element_size()));
    }
  }
  for (int k = 0; k < nops_; ++k) data_[k] = static_cast<char*>(ops[k]->data_ptr());

  // Merge dim d+1 into d when, for every operand, stepping d+1 equals stepping d shape[d] times.
  size_t w = 0;
  for (size_t d = 1; d < shape_.size(); ++d) {
    bool can = true;
    for (int k = 0; k < nops_ && can; ++k) can = strides_[k][d] == strides_[k][w] * shape_[w];
    if (can) {
      shape_[w] *= shape_[d];
    } else {
      ++w;
      shape_[w] = shape_[d];
      for (int k = 0; k < nops_; ++k) strides_[k][w] = strides_[k][d];
    }
  }
  if (!shape_.empty()) {
    shape_.resize(w + 1);
    for (int k = 0; k < nops_; ++k) strides_[k].resize(w + 1);
  }
}

}  // namespace ctorch
