// CachingAllocator: keeps freed device blocks for reuse instead of returning them to the driver
// (cudaMalloc/cudaFree synchronise the device and cost ~100 us). Device-independent: the raw
// allocate/free come from the caller (cudaMalloc in kernels/, malloc in the C++ tests).
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>
#include "ctorch/cuda.h"

namespace ctorch {

class CTORCH_API CachingAllocator {
 public:
  struct Backend {
    void* (*raw_alloc)(size_t nbytes, void* ctx);  // nullptr when the memory is not there
    void (*raw_free)(void* ptr, void* ctx);
    // Marks the work queued on `stream` so far; whether that work is done; blocks until it is;
    // releases the mark.
    void* (*record_event)(void* stream, void* ctx);
    bool (*event_done)(void* event, void* ctx);
    void (*wait_event)(void* event, void* ctx);
    void (*destroy_event)(void* event, void* ctx);
    void* ctx;
  };
  // Requests up to kSmallRequest bytes share kSmallSegment segments; larger ones get their own
  // segments of at least kLargeSegment (rounded to kSegmentRound) that later requests split.
  static constexpr size_t kMinBlock = 512;
  static constexpr size_t kSmallRequest = size_t(1) << 20;
  static constexpr size_t kSmallSegment = size_t(2) << 20;
  static constexpr size_t kLargeSegment = size_t(20) << 20;
  static constexpr size_t kSegmentRound = size_t(2) << 20;

  CachingAllocator(Backend backend, std::string device_name);
  ~CachingAllocator();  // returns every segment (all blocks must be free by then)
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least nbytes for work queued on `stream`; nullptr for 0 bytes. When the
  // backend runs out, frees the cached segments and retries, then throws ErrorKind::OutOfMemory.
  void* allocate(size_t nbytes, void* stream);
  // The block at ptr is also used by work on `stream` (Tensor.record_stream): when freed, it is
  // reused only after the work queued there by then has finished.
  void record_stream(void* ptr, void* stream);
  // The block at ptr is in use until `event` (already recorded, owned from now on) completes:
  // pinned host memory marks each asynchronous copy this way.
  void record_event(void* ptr, void* event);
  void free(void* ptr);
  void empty_cache();  // returns segments that hold no live block
  cuda::MemoryStats stats() const;
  void reset_peak();
  std::string summary() const;

 private:
  struct Block {
    char* ptr;
    size_t size;
    void* stream;
    bool small;           // from a small segment
    bool in_use = false;
    Block* prev = nullptr;  // neighbours within the same segment
    Block* next = nullptr;
    std::vector<void*> other_streams;  // from record_stream
    std::vector<void*> events;         // from record_event
  };
  struct Pending {  // freed, waiting for other streams' work
    Block* block;
    std::vector<void*> events;
  };
  struct Order {  // by stream, then size (best fit), then address
    bool operator()(const Block* a, const Block* b) const;
  };
  using Pool = std::set<Block*, Order>;

  Block* find_free(Pool& pool, size_t size, void* stream);
  Block* new_segment(size_t size, void* stream, bool small);
  void release_free_segments();
  void release_block(Block* b);  // back into its pool, merged with free neighbours
  void collect_pending();        // releases the pending blocks whose events have completed
  Pool& pool_of(const Block* b) { return b->small ? small_pool_ : large_pool_; }

  Backend backend_;
  std::string device_name_;
  mutable std::mutex mutex_;
  Pool small_pool_, large_pool_;
  std::unordered_map<void*, Block*> live_;
  std::vector<Pending> pending_;
  cuda::MemoryStats stats_;
};

}  // namespace ctorch
