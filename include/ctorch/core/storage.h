// A refcounted buffer shared by a tensor and all its views, from a device allocator or borrowed.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include "ctorch/core/device.h"
#include "ctorch/core/macros.h"

namespace ctorch {

struct CTORCH_API StorageImpl {
  using Deleter = void (*)(void* ctx, void* data);
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  Deleter deleter = nullptr;  // frees `data` (allocator) or releases the lender (NumPy, DLPack)
  void* ctx = nullptr;
  // Bumped by every in-place write; shared by all views so autograd can detect stale saves.
  std::atomic<uint32_t> version{0};
  bool pinned = false;  // page-locked host memory (copies to a GPU can be asynchronous)

  StorageImpl() = default;
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;
  ~StorageImpl() { if (deleter) deleter(ctx, data); }
};
using Storage = std::shared_ptr<StorageImpl>;

// A fresh, uninitialised buffer of `nbytes` (64-byte aligned on the CPU).
CTORCH_API Storage allocate_storage(size_t nbytes, Device device);
// Page-locked host memory from the CUDA driver (raises without CUDA).
CTORCH_API Storage allocate_pinned_storage(size_t nbytes);
// Borrowed memory: `deleter(ctx, data)` runs when the last view is gone.
CTORCH_API Storage wrap_storage(void* data, size_t nbytes, Device device,
                                StorageImpl::Deleter deleter, void* ctx);

struct AllocatorStats {
  int64_t allocated_bytes;  // live bytes from this allocator now
  int64_t peak_bytes;
  int64_t num_allocs;       // allocations since start
};
CTORCH_API AllocatorStats cpu_allocator_stats();
// Returns the large blocks the CPU allocator keeps for reuse to the system.
CTORCH_API void cpu_empty_cache();

}  // namespace ctorch
