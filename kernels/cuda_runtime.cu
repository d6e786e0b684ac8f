// CUDA runtime plumbing: device count, allocation and copies. No driver means zero devices.
#include <cuda_runtime.h>
#include "ctorch/core/device.h"
#include "ctorch/core/error.h"

namespace ctorch {

namespace {
void check(cudaError_t err, const char* what) {
  CTORCH_CHECK(err == cudaSuccess, "[cuda] ", what, " failed: ", cudaGetErrorString(err));
}
}  // namespace

int cuda_device_count() {
  int n = 0;
  // No driver (cudaErrorInsufficientDriver / NoDevice) simply means no usable GPU.
  if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
  return n;
}
bool cuda_built() { return true; }

void* cuda_malloc(size_t nbytes, int device) {
  CTORCH_CHECK(device < cuda_device_count(), "[cuda] invalid device ordinal ", device,
               " (", cuda_device_count(), " CUDA devices available)");
  check(cudaSetDevice(device), "cudaSetDevice");
  void* p = nullptr;
  if (nbytes) check(cudaMalloc(&p, nbytes), "cudaMalloc");
  return p;
}
void cuda_free(void*, void* data) { if (data) cudaFree(data); }

void cuda_memcpy(void* dst, const void* src, size_t nbytes, Device dst_dev, Device src_dev) {
  cudaMemcpyKind kind = dst_dev.is_cuda() ? (src_dev.is_cuda() ? cudaMemcpyDeviceToDevice
                                                               : cudaMemcpyHostToDevice)
                                          : cudaMemcpyDeviceToHost;
  check(cudaMemcpy(dst, src, nbytes, kind), "cudaMemcpy");
}

}  // namespace ctorch
