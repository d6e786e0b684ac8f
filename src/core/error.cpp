// The one throw site for ctorch errors (keeps the throw code out of every caller).
#include "ctorch/core/error.h"
#include "core/cuda_kernel.h"

namespace ctorch {
void throw_error(ErrorKind kind, const std::string& msg) { throw Error(kind, msg); }
namespace {
std::vector<CudaKernelStatus>& declared_cuda_kernels() {
  static std::vector<CudaKernelStatus> list;
  return list;
}
}  // namespace
bool declare_cuda_kernel(const char* name, bool (*registered)()) {
  declared_cuda_kernels().push_back({name, registered});
  return true;
}
std::vector<CudaKernelStatus> cuda_kernel_statuses() { return declared_cuda_kernels(); }

void cuda_kernel_missing(const char* name) {
  throw Error(ErrorKind::Runtime, std::string("[cuda] no CUDA kernel is registered for ") + name +
                                      " (ctorch was built without CUDA)");
}
}  // namespace ctorch
