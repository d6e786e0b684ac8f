// CudaKernel: a CUDA entry point that src/ops calls and a kernels/*.cu file fills in when the
// library loads. Without a CUDA build it stays empty; no CUDA tensor can exist there anyway, so
// a call only happens through a bug and explains itself.
#pragma once
#include <utility>

namespace ctorch {

[[noreturn]] void cuda_kernel_missing(const char* name);

template <class Signature> class CudaKernel;
template <class R, class... Args> class CudaKernel<R(Args...)> {
 public:
  using Fn = R (*)(Args...);
  constexpr explicit CudaKernel(const char* name) : name_(name) {}
  R operator()(Args... args) const {
    if (!fn_) cuda_kernel_missing(name_);
    return fn_(std::forward<Args>(args)...);
  }
  bool set(Fn fn) { fn_ = fn; return true; }

 private:
  const char* name_;
  Fn fn_ = nullptr;
};

}  // namespace ctorch

// In a kernels/<family>.h header: CTORCH_CUDA_KERNEL(cuda_unary, void(UnaryOp, DType, const TensorIter&));
// constant-initialised, so registration order at load time does not matter.
#define CTORCH_CUDA_KERNEL(name, ...) inline ::ctorch::CudaKernel<__VA_ARGS__> name{#name}
// In the kernels/<family>.cu file: CTORCH_REGISTER_CUDA_KERNEL(cuda_unary, unary_impl);
#define CTORCH_REGISTER_CUDA_KERNEL(name, fn) \
  [[maybe_unused]] static const bool name##_registered = name.set(fn)
