// CudaKernel: a CUDA entry point that src/ops calls and a kernels/*.cu file fills in when the
// library loads. Without a CUDA build it stays empty; no CUDA tensor can exist there anyway, so
// a call only happens through a bug and explains itself.
#pragma once
#include <utility>
#include <vector>
#include "core/tensor_iter.h"

namespace ctorch {

[[noreturn]] void cuda_kernel_missing(const char* name);

// Every declared entry and whether a .cu file filled it in: a CUDA build must register them all
// (tests/test_cuda.py checks it here, without a GPU).
struct CudaKernelStatus {
  const char* name;
  bool (*registered)();
};
bool declare_cuda_kernel(const char* name, bool (*registered)());
CTORCH_API std::vector<CudaKernelStatus> cuda_kernel_statuses();

// Makes CUDA device `index` current for a scope (no-op for -1 or the current one), so kernels
// launch on the device (and its current stream) that holds their tensors.
struct CudaDeviceScope {
  int prev = -1;
  explicit CudaDeviceScope(int index);
  ~CudaDeviceScope();
  CudaDeviceScope(const CudaDeviceScope&) = delete;
  CudaDeviceScope& operator=(const CudaDeviceScope&) = delete;
};

// The CUDA device of a kernel argument, or -1 for arguments that are not tensors.
inline int cuda_index_of(const Tensor& t) {
  return t.defined() && t.device().is_cuda() ? t.device().index : -1;
}
inline int cuda_index_of(const TensorIter& it) { return it.device().is_cuda() ? it.device().index : -1; }
template <class T> int cuda_index_of(const T&) { return -1; }

template <class Signature> class CudaKernel;
template <class R, class... Args> class CudaKernel<R(Args...)> {
 public:
  using Fn = R (*)(Args...);
  constexpr explicit CudaKernel(const char* name) : name_(name) {}
  R operator()(Args... args) const {
    if (!fn_) cuda_kernel_missing(name_);
    int device = -1;
    ((device = device >= 0 ? device : cuda_index_of(args)), ...);  // the first tensor's device
    CudaDeviceScope scope(device);
    return fn_(std::forward<Args>(args)...);
  }
  bool set(Fn fn) { fn_ = fn; return true; }
  bool registered() const { return fn_ != nullptr; }

 private:
  const char* name_;
  Fn fn_ = nullptr;
};

}  // namespace ctorch

// In a kernels/<family>.h header: CTORCH_CUDA_KERNEL(cuda_unary, void(UnaryOp, DType, const TensorIter&));
// constant-initialised, so registration order at load time does not matter.
#define CTORCH_CUDA_KERNEL(name, ...)                                 \
  inline ::ctorch::CudaKernel<__VA_ARGS__> name{#name};               \
  inline const bool name##_declared =                                 \
      ::ctorch::declare_cuda_kernel(#name, [] { return name.registered(); })
// In the kernels/<family>.cu file: CTORCH_REGISTER_CUDA_KERNEL(cuda_unary, unary_impl);
#define CTORCH_REGISTER_CUDA_KERNEL(name, fn) \
  [[maybe_unused]] static const bool name##_registered = name.set(fn)
