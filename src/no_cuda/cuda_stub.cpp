// ctorch/cuda.h and the CUDA memory entry points in a build without nvcc: no devices, clear errors.
#include "core/cuda_kernel.h"
#include "core/cuda_memory.h"
#include "ctorch/core/error.h"
#include "ctorch/cuda.h"

namespace ctorch {

namespace {
[[noreturn]] void no_cuda() {
  CTORCH_FAIL("Torch not compiled with CUDA enabled (ctorch was built without nvcc; rebuild with "
              "CTORCH_CUDA=ON)");
}
}  // namespace

namespace cuda {
bool is_built() { return false; }
int device_count() { return 0; }
int current_device() { no_cuda(); }
void set_device(int) { no_cuda(); }
int resolve_device(int) { no_cuda(); }
DeviceProperties device_properties(int) { no_cuda(); }
void synchronize(int) { no_cuda(); }
StreamHandle current_stream(int) { no_cuda(); }
void set_current_stream(int, StreamHandle) { no_cuda(); }
StreamHandle stream_create(int, int) { no_cuda(); }
void stream_destroy(StreamHandle) {}
bool stream_query(StreamHandle) { no_cuda(); }
void stream_synchronize(StreamHandle) { no_cuda(); }
void stream_wait_event(StreamHandle, EventHandle) { no_cuda(); }
EventHandle event_create(bool, bool) { no_cuda(); }
void event_destroy(EventHandle) {}
void event_record(EventHandle, StreamHandle) { no_cuda(); }
bool event_query(EventHandle) { no_cuda(); }
void event_synchronize(EventHandle) { no_cuda(); }
float event_elapsed_ms(EventHandle, EventHandle) { no_cuda(); }
MemoryStats memory_stats(int) { no_cuda(); }
void reset_peak_memory_stats(int) { no_cuda(); }
void empty_cache() {}
std::string memory_summary(int) { no_cuda(); }
void record_stream(void*, int, StreamHandle) { no_cuda(); }
}  // namespace cuda

CudaDeviceScope::CudaDeviceScope(int) {}
CudaDeviceScope::~CudaDeviceScope() {}

void* cuda_malloc(size_t, int, void**) { no_cuda(); }
void cuda_free(void*, void*) {}
void* cuda_host_alloc(size_t) { no_cuda(); }
void cuda_host_free(void*, void*) {}
void cuda_memcpy(void*, const void*, size_t, Device, Device, bool, void*) { no_cuda(); }

}  // namespace ctorch
