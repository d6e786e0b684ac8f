// Storage creation and the CPU allocator (64-byte aligned, with live/peak statistics).
#include "ctorch/core/storage.h"
#include <cstdlib>
#include <new>
#include "ctorch/core/error.h"

namespace ctorch {

namespace {
std::atomic<int64_t> g_allocated{0}, g_peak{0}, g_count{0};


void cpu_free(void* ctx, void* data) {
  g_allocated.fetch_sub(static_cast<int64_t>(reinterpret_cast<size_t>(ctx)));
  std::free(data);
}
}  // namespace

// Defined in kernels/ when CUDA is built, else in cuda_stub.cpp.
void* cuda_malloc(size_t nbytes, int device);
void cuda_free(void* ctx, void* data);

Storage allocate_storage(size_t nbytes, Device device) {
  auto s = std::make_shared<StorageImpl>();
  s->nbytes = nbytes;
  s->device = device;
  if (device.is_cuda()) {
    s->data = cuda_malloc(nbytes, device.index < 0 ? 0 : device.index);
    s->deleter = cuda_free;
    return s;
  }
  size_t rounded = (nbytes + 63) & ~size_t(63);
  void* p = std::aligned_alloc(64, rounded ? rounded : 64);
  CTORCH_CHECK(p, "[alloc] DefaultCPUAllocator: can't allocate memory: you tried to allocate ",
               nbytes, " bytes");
  s->data = p;
  s->deleter = cpu_free;
  s->ctx = reinterpret_cast<void*>(rounded);
  int64_t now = g_allocated.fetch_add(static_cast<int64_t>(rounded)) + static_cast<int64_t>(rounded);
  g_count.fetch_add(1, std::memory_order_relaxed);
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {}
  return s;
}

Storage wrap_storage(void* data, size_t nbytes, Device device, StorageImpl::Deleter deleter,
                     void* ctx) {
  auto s = std::make_shared<StorageImpl>();
  s->data = data;
  s->nbytes = nbytes;
  s->device = device;
  s->deleter = deleter;
  s->ctx = ctx;
  return s;
}

AllocatorStats cpu_allocator_stats() { return {g_allocated.load(), g_peak.load(), g_count.load()}; }

}  // namespace ctorch
