// Storage creation and the CPU allocator (64-byte aligned, with live/peak statistics).
#include "ctorch/core/storage.h"
#include <sys/mman.h>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include "core/cuda_memory.h"
#include "ctorch/core/error.h"
#include "ctorch/cuda.h"

namespace ctorch {

namespace {
std::atomic<int64_t> g_allocated{0}, g_peak{0}, g_count{0};

// Blocks of 64 KiB and more are kept in a cache when freed (glibc maps such sizes fresh each time,
// and a training step's activations then cost page faults and TLB shootdowns: ~8% of an MLP step).
// Large blocks (>= 1 MiB) are 2 MiB aligned with transparent huge pages: a fresh 64 MB output
// otherwise costs 16k page faults, more than the arithmetic.
constexpr size_t kCachedBlock = size_t(64) << 10;
constexpr size_t kLargeBlock = size_t(1) << 20, kHugePage = size_t(2) << 20;
constexpr size_t kMaxCached = size_t(1) << 30;

struct BlockCache {
  std::mutex mu;
  std::multimap<size_t, void*> blocks;  // rounded size -> block
  size_t cached_bytes = 0;

  void* take(size_t rounded) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = blocks.find(rounded);
    if (it == blocks.end()) return nullptr;
    void* p = it->second;
    blocks.erase(it);
    cached_bytes -= rounded;
    return p;
  }
  bool give(void* p, size_t rounded) {
    std::lock_guard<std::mutex> lock(mu);
    if (cached_bytes + rounded > kMaxCached) return false;
    blocks.emplace(rounded, p);
    cached_bytes += rounded;
    return true;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& b : blocks) std::free(b.second);
    blocks.clear();
    cached_bytes = 0;
  }
};
BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache();  // never destroyed: frees may come late
  return *cache;
}

// Cached sizes are rounded to their granule (64 KiB or 2 MiB) so that near sizes share blocks.
size_t round_size(size_t nbytes) {
  if (nbytes >= kLargeBlock) return (nbytes + kHugePage - 1) & ~(kHugePage - 1);
  if (nbytes >= kCachedBlock) return (nbytes + kCachedBlock - 1) & ~(kCachedBlock - 1);
  size_t r = (nbytes + 63) & ~size_t(63);
  return r ? r : 64;
}

void* cpu_malloc(size_t rounded) {
  if (rounded < kCachedBlock) return std::aligned_alloc(64, rounded);
  if (void* p = block_cache().take(rounded)) return p;
  if (rounded < kLargeBlock) {
    void* p = std::aligned_alloc(64, rounded);
    if (!p) {
      block_cache().clear();
      p = std::aligned_alloc(64, rounded);
    }
    return p;
  }
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (!p) {  // give the cache back to the system and try once more
    block_cache().clear();
    p = std::aligned_alloc(kHugePage, rounded);
  }
#ifdef MADV_HUGEPAGE
  if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

void cpu_free(void* ctx, void* data) {
  size_t rounded = reinterpret_cast<size_t>(ctx);
  g_allocated.fetch_sub(static_cast<int64_t>(rounded));
  if (rounded >= kCachedBlock && block_cache().give(data, rounded)) return;
  std::free(data);
}
}  // namespace

void cpu_empty_cache() { block_cache().clear(); }

Storage allocate_storage(size_t nbytes, Device device) {
  auto s = std::make_shared<StorageImpl>();
  s->nbytes = nbytes;
  s->device = device;
  if (device.is_cuda()) {
    s->device.index = cuda::resolve_device(device.index);
    s->data = cuda_malloc(nbytes, s->device.index, &s->ctx);
    s->deleter = cuda_free;
    return s;
  }
  size_t rounded = round_size(nbytes);
  void* p = cpu_malloc(rounded);
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

Storage allocate_pinned_storage(size_t nbytes) {
  auto s = std::make_shared<StorageImpl>();
  s->data = cuda_host_alloc(nbytes);
  s->nbytes = nbytes;
  s->deleter = cuda_host_free;
  s->pinned = true;
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
