// Stand-ins for the CUDA runtime entry points in a build without nvcc: no devices, clear errors.
#include "ctorch/core/device.h"
#include "ctorch/core/error.h"

namespace ctorch {

int cuda_device_count() { return 0; }
bool cuda_built() { return false; }

void* cuda_malloc(size_t, int) {
  CTORCH_FAIL("[cuda] ctorch was built without CUDA support (rebuild with nvcc and CTORCH_CUDA=ON)");
}
void cuda_free(void*, void*) {}
void cuda_memcpy(void*, const void*, size_t, Device, Device) {
  CTORCH_FAIL("[cuda] ctorch was built without CUDA support (rebuild with nvcc and CTORCH_CUDA=ON)");
}

}  // namespace ctorch
