// Output handling shared by every elementwise-style op: allocation, `out=`/in-place checks,
// overlap, and dtype conversion of the result.
#pragma once
#include "core/tensor_iter.h"
#include "ctorch/ops.h"

namespace ctorch {

inline void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  CTORCH_CHECK(a.device() == b.device(), "[", op, "] Expected all tensors to be on the same "
               "device, but found at least two devices, ", a.device().str(), " and ",
               b.device().str(), "!");
}

// PyTorch lets a 0-d CPU tensor (a Python number becomes one) join tensors of another device: it
// is read as a scalar there.
inline bool is_cpu_scalar(const Tensor& t) { return t.device().is_cpu() && t.dim() == 0; }

// The device an op over `inputs` runs on: that of the first input that is not a CPU scalar (the
// CPU when all are); every other such input must be on it.
inline Device common_device(std::initializer_list<const Tensor*> inputs, const char* op) {
  const Tensor* ref = nullptr;
  for (const Tensor* t : inputs) {
    if (!t->defined() || is_cpu_scalar(*t)) continue;
    if (!ref) ref = t;
    else check_same_device(*ref, *t, op);
  }
  return ref ? ref->device() : (*inputs.begin())->device();
}

// `t` on `device`: a CPU scalar becomes a 0-d device tensor made by a fill kernel from its value
// (read on the host, where it lives: no host-to-device copy, no synchronisation).
inline Tensor on_device(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  CTORCH_CHECK(is_cpu_scalar(t), "[on_device] expected a 0-d CPU tensor");
  Tensor r = full({}, item(t), t.dtype(), device);
  r.impl()->is_wrapped_number = t.impl()->is_wrapped_number;
  return r;
}

// Whether `out` may be written while the inputs are read: no input overlaps it in a different
// layout (reading a[i+1] after writing a[i]).
inline bool safe_to_write(const Tensor& out, std::initializer_list<const Tensor*> inputs) {
  for (const Tensor* t : inputs) {
    if (t->storage() != out.storage() || t->numel() == 0) continue;
    if (t->storage_offset() != out.storage_offset() || t->sizes() != out.sizes() ||
        t->strides() != out.strides())
      return false;
  }
  return true;
}

// Runs kernel(TensorIter(out, inputs)) into a fresh tensor of `result` dtype and `shape`, or into
// *out (in-place when *out is an input) after checking its shape and dtype.
template <class Kernel>
Tensor run_elementwise(const char* op, DType result, IntArrayRef shape,
                       std::initializer_list<const Tensor*> inputs, const Tensor* out,
                       const Kernel& kernel) {
  Device device = (*inputs.begin())->device();
  if (!out) {
    Tensor r = empty(shape, result, device);
    kernel(TensorIter(r, inputs));
    return r;
  }
  check_same_device(*out, **inputs.begin(), op);
  CTORCH_CHECK(out->sizes() == shape, "[", op, "] output with shape ", out->sizes(),
               " doesn't match the broadcast shape ", shape);
  CTORCH_CHECK(can_cast(result, out->dtype()), "[", op, "] result type ", dtype_name(result),
               " can't be cast to the desired output type ", dtype_name(out->dtype()));
  for (size_t d = 0; d < shape.size(); ++d)
    CTORCH_CHECK(out->strides()[d] != 0 || shape[d] <= 1, "[", op, "] unsupported operation: "
                 "more than one element of the written-to tensor refers to a single memory "
                 "location. Please clone() the tensor before performing the operation.");
  if (out->dtype() == result && safe_to_write(*out, inputs)) {
    kernel(TensorIter(*out, inputs));
  } else {
    Tensor tmp = run_elementwise(op, result, shape, inputs, nullptr, kernel);
    Tensor dst = *out;
    copy_(dst, tmp);
  }
  out->bump_version();
  return *out;
}

}  // namespace ctorch
