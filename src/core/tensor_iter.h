// TensorIter: walks an output and its broadcast inputs with byte strides, dims coalesced, so every
// elementwise kernel is written once as a 1-D inner loop.
#pragma once
#include <array>
#include <initializer_list>
#include "cpu/parallel.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

class CTORCH_API TensorIter {
 public:
  static constexpr int kMaxOperands = 4;

  // operands[0] is the output; every input must broadcast to its shape.
  TensorIter(const Tensor& out, std::initializer_list<const Tensor*> inputs);

  int noperands() const { return nops_; }
  int64_t numel() const { return numel_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  // Whether every operand is contiguous or a broadcast scalar over one flat dim.
  bool is_flat() const { return ndim() <= 1; }
  // The coalesced layout, innermost dim first (what a CUDA kernel turns into offsets).
  int64_t size(int d) const { return shape_[d]; }
  int64_t stride(int operand, int d) const { return strides_[operand][d]; }  // bytes
  char* data(int operand) const { return data_[operand]; }
  Device device() const { return device_; }  // the output's

  // fn(char** data, const int64_t* strides, int64_t n): a 1-D loop of n elements where operand k
  // starts at data[k] and steps strides[k] bytes. Runs on several threads when the work is large.
  template <class F>
  void for_each(const F& fn, int64_t grain = kGrainSize) const {
    if (numel_ == 0) return;
    parallel_for(0, numel_, grain, [&](int64_t begin, int64_t end) { serial_for_each(fn, begin, end); });
  }

  template <class F>
  void serial_for_each(const F& fn, int64_t begin, int64_t end) const {
    std::array<char*, kMaxOperands> ptrs;
    std::array<int64_t, kMaxOperands> inner;
    int nd = ndim();
    if (nd == 0) {  // a single element
      for (int k = 0; k < nops_; ++k) { ptrs[k] = data_[k]; inner[k] = 0; }
      fn(ptrs.data(), inner.data(), int64_t(1));
      return;
    }
    for (int k = 0; k < nops_; ++k) inner[k] = strides_[k][0];
    DimVector idx(nd);
    int64_t rem = begin;
    for (int d = 0; d < nd; ++d) { idx[d] = rem % shape_[d]; rem /= shape_[d]; }
    int64_t pos = begin;
    while (pos < end) {
      for (int k = 0; k < nops_; ++k) {
        int64_t off = 0;
        for (int d = 0; d < nd; ++d) off += idx[d] * strides_[k][d];
        ptrs[k] = data_[k] + off;
      }
      int64_t n = shape_[0] - idx[0];
      if (n > end - pos) n = end - pos;
      fn(ptrs.data(), inner.data(), n);
      pos += n;
      idx[0] += n;
      for (int d = 0; d < nd - 1 && idx[d] == shape_[d]; ++d) { idx[d] = 0; ++idx[d + 1]; }
    }
  }

 private:
  int nops_ = 0;
  Device device_;
  int64_t numel_ = 0;
  DimVector shape_;  // innermost dim first
  std::array<char*, kMaxOperands> data_{};
  std::array<DimVector, kMaxOperands> strides_;  // bytes, innermost dim first
};

}  // namespace ctorch
