// CUDA runtime plumbing behind ctorch/cuda.h: devices, streams, events, the per-device caching
// allocator, pinned host memory and copies. No driver means zero devices, never an import error.
#include <cuda_runtime.h>
#include <memory>
#include <mutex>
#include <vector>
#include "core/caching_allocator.h"
#include "core/cuda_kernel.h"
#include "core/cuda_memory.h"
#include "kernels/launch.cuh"

namespace ctorch::cuda {

void check_error(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the process stays usable
  if (err == cudaErrorMemoryAllocation)
    throw_error(ErrorKind::OutOfMemory, str_cat("CUDA out of memory (", what, ")"));
  CTORCH_FAIL("CUDA error: ", cudaGetErrorString(err), " (", what, ")");
}

bool is_built() { return true; }

int device_count() {
  static const int count = [] {
    int n = 0;
    // No driver (cudaErrorInsufficientDriver / NoDevice) simply means no usable GPU.
    if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
    return n;
  }();
  return count;
}

namespace {
void check_ordinal(int device) {
  int n = device_count();
  CTORCH_CHECK(n > 0, "Found no NVIDIA driver or CUDA device on your system (ctorch.cuda.is_available() is False)");
  CTORCH_CHECK(device >= 0 && device < n, "CUDA error: invalid device ordinal ", device, " (",
               n, " CUDA device", n == 1 ? "" : "s", " available)");
}


constexpr int kMaxDevices = 64;
thread_local StreamHandle t_current_stream[kMaxDevices] = {};
}  // namespace

int current_device() {
  check_ordinal(0);
  int d = 0;
  CTORCH_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

void set_device(int device) {
  check_ordinal(device);
  CTORCH_CUDA_CHECK(cudaSetDevice(device));
}

int resolve_device(int index) {
  if (index < 0) return current_device();
  check_ordinal(index);
  return index;
}

DeviceProperties device_properties(int device) {
  check_ordinal(device);
  cudaDeviceProp p;
  CTORCH_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  DeviceProperties r;
  r.name = p.name;
  r.major = p.major;
  r.minor = p.minor;
  r.total_memory = int64_t(p.totalGlobalMem);
  r.multi_processor_count = p.multiProcessorCount;
  r.warp_size = p.warpSize;
  r.l2_cache_size = p.l2CacheSize;
  return r;
}

void synchronize(int device) {
  CudaDeviceScope g(resolve_device(device));
  CTORCH_CUDA_CHECK(cudaDeviceSynchronize());
}

StreamHandle current_stream(int device) {
  return device >= 0 && device < kMaxDevices ? t_current_stream[device] : nullptr;
}
void set_current_stream(int device, StreamHandle stream) {
  check_ordinal(device);
  CTORCH_CHECK(device < kMaxDevices, "[cuda] device index ", device, " is too large");
  t_current_stream[device] = stream;
}

StreamHandle stream_create(int device, int priority) {
  CudaDeviceScope g(resolve_device(device));
  int lo = 0, hi = 0;  // numerically lower is higher priority; clamp like PyTorch
  CTORCH_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&lo, &hi));
  int p = priority < hi ? hi : (priority > lo ? lo : priority);
  cudaStream_t s;
  CTORCH_CUDA_CHECK(cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, p));
  return s;
}
void stream_destroy(StreamHandle s) { if (s) cudaStreamDestroy(static_cast<cudaStream_t>(s)); }
bool stream_query(StreamHandle s) {
  cudaError_t e = cudaStreamQuery(static_cast<cudaStream_t>(s));
  if (e == cudaErrorNotReady) { cudaGetLastError(); return false; }
  CTORCH_CUDA_CHECK(e);
  return true;
}
void stream_synchronize(StreamHandle s) {
  CTORCH_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(s)));
}
void stream_wait_event(StreamHandle s, EventHandle e) {
  CTORCH_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(s), static_cast<cudaEvent_t>(e), 0));
}

EventHandle event_create(bool enable_timing, bool blocking) {
  check_ordinal(0);
  unsigned flags = (enable_timing ? 0u : unsigned(cudaEventDisableTiming)) |
                   (blocking ? unsigned(cudaEventBlockingSync) : 0u);
  cudaEvent_t e;
  CTORCH_CUDA_CHECK(cudaEventCreateWithFlags(&e, flags));
  return e;
}
void event_destroy(EventHandle e) { if (e) cudaEventDestroy(static_cast<cudaEvent_t>(e)); }
void event_record(EventHandle e, StreamHandle s) {
  CTORCH_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(e), static_cast<cudaStream_t>(s)));
}
bool event_query(EventHandle e) {
  cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(e));
  if (err == cudaErrorNotReady) { cudaGetLastError(); return false; }
  CTORCH_CUDA_CHECK(err);
  return true;
}
void event_synchronize(EventHandle e) {
  CTORCH_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(e)));
}
float event_elapsed_ms(EventHandle start, EventHandle end) {
  float ms = 0;
  CTORCH_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start),
                                         static_cast<cudaEvent_t>(end)));
  return ms;
}

// ---- the caching allocator, one per device, created on first use
namespace {
void* raw_device_alloc(size_t nbytes, void* ctx) {
  CudaDeviceScope g(int(reinterpret_cast<intptr_t>(ctx)));
  void* p = nullptr;
  if (cudaMalloc(&p, nbytes) != cudaSuccess) { cudaGetLastError(); return nullptr; }
  return p;
}
void raw_device_free(void* p, void* ctx) {
  CudaDeviceScope g(int(reinterpret_cast<intptr_t>(ctx)));
  cudaFree(p);
}

void* record_event(void* stream, void* ctx) {
  CudaDeviceScope g(int(reinterpret_cast<intptr_t>(ctx)));
  cudaEvent_t e;
  CTORCH_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  CTORCH_CUDA_CHECK(cudaEventRecord(e, static_cast<cudaStream_t>(stream)));
  return e;
}
bool event_done(void* e, void*) { return event_query(e); }
void wait_event(void* e, void*) { event_synchronize(e); }
void destroy_event(void* e, void*) { event_destroy(e); }

CachingAllocator& allocator(int device) {
  static std::mutex m;
  static std::vector<std::unique_ptr<CachingAllocator>> per_device(device_count());
  std::lock_guard<std::mutex> lock(m);
  auto& a = per_device.at(device);
  if (!a) {
    a = std::make_unique<CachingAllocator>(
        CachingAllocator::Backend{raw_device_alloc, raw_device_free, record_event, event_done,
                                  wait_event, destroy_event,
                                  reinterpret_cast<void*>(intptr_t(device))},
        "CUDA device " + std::to_string(device));
  }
  return *a;
}
}  // namespace

MemoryStats memory_stats(int device) { return allocator(resolve_device(device)).stats(); }
void reset_peak_memory_stats(int device) { allocator(resolve_device(device)).reset_peak(); }
void empty_cache() {
  for (int d = 0; d < device_count(); ++d) allocator(d).empty_cache();
}
std::string memory_summary(int device) { return allocator(resolve_device(device)).summary(); }
void record_stream(void* data, int device, StreamHandle stream) {
  allocator(resolve_device(device)).record_stream(data, stream);
}

}  // namespace ctorch::cuda

namespace ctorch {

CudaDeviceScope::CudaDeviceScope(int index) {
  if (index < 0) return;
  int current = 0;
  CTORCH_CUDA_CHECK(cudaGetDevice(&current));
  if (current == index) return;
  CTORCH_CUDA_CHECK(cudaSetDevice(index));
  prev = current;
}
CudaDeviceScope::~CudaDeviceScope() { if (prev >= 0) cudaSetDevice(prev); }

void* cuda_malloc(size_t nbytes, int device, void** ctx) {
  device = cuda::resolve_device(device);
  *ctx = reinterpret_cast<void*>(intptr_t(device));
  return cuda::allocator(device).allocate(nbytes, cuda::current_stream(device));
}
void cuda_free(void* ctx, void* data) {
  cuda::allocator(int(reinterpret_cast<intptr_t>(ctx))).free(data);
}

// Pinned host memory is cached like device memory: cudaHostAlloc is slow and serialises with
// the GPU's work, and a DataLoader pins every batch. A block read or written by an asynchronous
// copy carries that copy's event and is reused only once it has completed.
namespace {
void* raw_host_alloc(size_t nbytes, void*) {
  void* p = nullptr;
  if (cudaHostAlloc(&p, nbytes, cudaHostAllocPortable) != cudaSuccess) { cudaGetLastError(); return nullptr; }
  return p;
}
void raw_host_free(void* p, void*) { cudaFreeHost(p); }
void* no_stream_event(void*, void*) {
  CTORCH_FAIL("[cuda] pinned memory is marked by the events of its copies, not by streams");
}
bool host_event_done(void* e, void*) { return cuda::event_query(e); }
void host_event_wait(void* e, void*) { cuda::event_synchronize(e); }
void host_event_destroy(void* e, void*) { cuda::event_destroy(e); }

CachingAllocator& host_allocator() {
  // Never destroyed: freeing pinned memory after the CUDA runtime has shut down would fail.
  static CachingAllocator* a = new CachingAllocator(
      CachingAllocator::Backend{raw_host_alloc, raw_host_free, no_stream_event, host_event_done,
                                host_event_wait, host_event_destroy, nullptr},
      "pinned host memory");
  return *a;
}
}  // namespace

void* cuda_host_alloc(size_t nbytes) {
  cuda::check_ordinal(0);
  return host_allocator().allocate(nbytes, nullptr);
}
void cuda_host_free(void*, void* data) { host_allocator().free(data); }

void cuda_memcpy(void* dst, const void* src, size_t nbytes, Device dst_dev, Device src_dev,
                 bool non_blocking, void* pinned_block) {
  if (nbytes == 0) return;
  const int device = dst_dev.is_cuda() ? dst_dev.index : src_dev.index;
  CudaDeviceScope g(device);
  cudaStream_t s = static_cast<cudaStream_t>(cuda::current_stream(device));
  if (dst_dev.is_cuda() && src_dev.is_cuda() && dst_dev.index != src_dev.index) {
    // Streams of two devices are not ordered with each other: the copy (on dst's stream) waits
    // for the work queued on src's stream (what wrote src), and src's stream waits for the copy
    // before going on (src is often a temporary that its caching allocator hands out again to
    // the next kernel there, which would overwrite it while the copy still reads it).
    cudaStream_t src_s = static_cast<cudaStream_t>(cuda::current_stream(src_dev.index));
    cudaEvent_t src_ready, copied;
    {
      CudaDeviceScope gs(src_dev.index);  // an event is recorded on a stream of its own device
      CTORCH_CUDA_CHECK(cudaEventCreateWithFlags(&src_ready, cudaEventDisableTiming));
      CTORCH_CUDA_CHECK(cudaEventRecord(src_ready, src_s));
    }
    CTORCH_CUDA_CHECK(cudaStreamWaitEvent(s, src_ready, 0));
    CTORCH_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_dev.index, src, src_dev.index, nbytes, s));
    CTORCH_CUDA_CHECK(cudaEventCreateWithFlags(&copied, cudaEventDisableTiming));
    CTORCH_CUDA_CHECK(cudaEventRecord(copied, s));
    {
      CudaDeviceScope gs(src_dev.index);
      CTORCH_CUDA_CHECK(cudaStreamWaitEvent(src_s, copied, 0));
    }
    // Destroying a recorded event is safe: its resources go once the work it marks is done.
    cudaEventDestroy(src_ready);
    cudaEventDestroy(copied);
  } else {
    cudaMemcpyKind kind = dst_dev.is_cuda() ? (src_dev.is_cuda() ? cudaMemcpyDeviceToDevice
                                                                 : cudaMemcpyHostToDevice)
                                            : cudaMemcpyDeviceToHost;
    CTORCH_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, s));
  }
  // Device-to-device copies stay ordered on the stream; anything touching host memory waits
  // unless the caller asked not to (pinned memory, whose block then waits for this copy).
  if (dst_dev.is_cuda() && src_dev.is_cuda()) return;
  if (!non_blocking) {
    CTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  } else if (pinned_block) {
    cudaEvent_t copied;
    CTORCH_CUDA_CHECK(cudaEventCreateWithFlags(&copied, cudaEventDisableTiming));
    CTORCH_CUDA_CHECK(cudaEventRecord(copied, s));
    host_allocator().record_event(pinned_block, copied);
  }
}

}  // namespace ctorch
