// CachingAllocator: best-fit blocks per stream, split from segments and merged back on free.
#include "core/caching_allocator.h"
#include <algorithm>
#include <cstdio>
#include "ctorch/core/error.h"

namespace ctorch {

namespace {
size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }
std::string mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / (1 << 20));
  return buf;
}
}  // namespace

bool CachingAllocator::Order::operator()(const Block* a, const Block* b) const {
  if (a->stream != b->stream) return std::less<void*>()(a->stream, b->stream);
  if (a->size != b->size) return a->size < b->size;
  return std::less<char*>()(a->ptr, b->ptr);
}

CachingAllocator::CachingAllocator(Backend backend, std::string device_name)
    : backend_(backend), device_name_(std::move(device_name)) {}

CachingAllocator::~CachingAllocator() {
  release_free_segments();
  // Blocks still live at exit (tensors alive in static objects) stay with the driver.
}

CachingAllocator::Block* CachingAllocator::find_free(Pool& pool, size_t size, void* stream) {
  Block key{nullptr, size, stream, false};
  auto it = pool.lower_bound(&key);
  if (it == pool.end() || (*it)->stream != stream) return nullptr;
  Block* b = *it;
  pool.erase(it);
  return b;
}

CachingAllocator::Block* CachingAllocator::new_segment(size_t size, void* stream, bool small) {
  size_t seg = small ? kSmallSegment : (size < kLargeSegment / 2 ? kLargeSegment
                                                                  : round_up(size, kSegmentRound));
  void* p = backend_.raw_alloc(seg, backend_.ctx);
  if (!p) {  // give the cache back and try once more
    ++stats_.num_alloc_retries;
    release_free_segments();
    p = backend_.raw_alloc(seg, backend_.ctx);
  }
  if (!p && seg > size) {  // the rounding may be what does not fit
    seg = round_up(size, kMinBlock);
    p = backend_.raw_alloc(seg, backend_.ctx);
  }
  if (!p) return nullptr;
  stats_.reserved += int64_t(seg);
  stats_.peak_reserved = std::max(stats_.peak_reserved, stats_.reserved);
  ++stats_.num_segments;
  return new Block{static_cast<char*>(p), seg, stream, small};
}

void* CachingAllocator::allocate(size_t nbytes, void* stream) {
  if (nbytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  collect_pending();
  const size_t size = round_up(nbytes, kMinBlock);
  const bool small = size <= kSmallRequest;
  Pool& pool = small ? small_pool_ : large_pool_;
  Block* b = find_free(pool, size, stream);
  if (!b) b = new_segment(size, stream, small);
  if (!b && !pending_.empty()) {  // blocks held back for other streams: wait for them
    for (Pending& p : pending_)
      for (void* e : p.events) backend_.wait_event(e, backend_.ctx);
    collect_pending();
    b = find_free(pool, size, stream);
    if (!b) b = new_segment(size, stream, small);
  }
  if (!b) {
    ++stats_.num_ooms;
    throw_error(ErrorKind::OutOfMemory, str_cat(
        device_name_, " out of memory. Tried to allocate ", mib(int64_t(size)), ". ",
        mib(stats_.allocated), " is allocated by ctorch and ", mib(stats_.reserved),
        " is reserved by ctorch (cached segments were freed before retrying)."));
  }
  // Split off the tail when it is big enough to serve another request of the same pool.
  const size_t rest = b->size - size;
  if (small ? rest >= kMinBlock : rest > kSmallRequest) {
    Block* tail = new Block{b->ptr + size, rest, stream, small};
    tail->prev = b;
    tail->next = b->next;
    if (b->next) b->next->prev = tail;
    b->next = tail;
    b->size = size;
    pool.insert(tail);
  }
  b->in_use = true;
  live_[b->ptr] = b;
  stats_.allocated += int64_t(b->size);
  stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
  ++stats_.num_allocs;
  return b->ptr;
}

void CachingAllocator::record_stream(void* ptr, void* stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  CTORCH_CHECK(it != live_.end(), "[cuda] record_stream: the tensor's memory is not from the caching allocator");
  Block* b = it->second;
  if (stream != b->stream &&
      std::find(b->other_streams.begin(), b->other_streams.end(), stream) == b->other_streams.end())
    b->other_streams.push_back(stream);
}

void CachingAllocator::record_event(void* ptr, void* event) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) {  // not ours: nothing will wait on it
    backend_.destroy_event(event, backend_.ctx);
    CTORCH_FAIL("[cuda] record_event: the memory is not from this caching allocator");
  }
  it->second->events.push_back(event);
}

void CachingAllocator::free(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  CTORCH_CHECK(it != live_.end(), "[cuda] free of a pointer the caching allocator does not own");
  Block* b = it->second;
  live_.erase(it);
  stats_.allocated -= int64_t(b->size);
  ++stats_.num_frees;
  if (!b->other_streams.empty() || !b->events.empty()) {
    Pending p{b, std::move(b->events)};
    b->events.clear();
    for (void* s : b->other_streams) p.events.push_back(backend_.record_event(s, backend_.ctx));
    b->other_streams.clear();
    pending_.push_back(std::move(p));
    return;
  }
  release_block(b);
}

void CachingAllocator::collect_pending() {
  for (size_t i = 0; i < pending_.size();) {
    Pending& p = pending_[i];
    bool done = std::all_of(p.events.begin(), p.events.end(),
                            [&](void* e) { return backend_.event_done(e, backend_.ctx); });
    if (!done) { ++i; continue; }
    for (void* e : p.events) backend_.destroy_event(e, backend_.ctx);
    release_block(p.block);
    pending_[i] = std::move(pending_.back());
    pending_.pop_back();
  }
}

void CachingAllocator::release_block(Block* b) {
  b->in_use = false;
  Pool& pool = pool_of(b);
  // Merge with free neighbours of the same segment so large requests can reuse the space.
  if (Block* p = b->prev; p && !p->in_use) {
    pool.erase(p);
    p->size += b->size;
    p->next = b->next;
    if (b->next) b->next->prev = p;
    delete b;
    b = p;
  }
  if (Block* n = b->next; n && !n->in_use) {
    pool.erase(n);
    b->size += n->size;
    b->next = n->next;
    if (n->next) n->next->prev = b;
    delete n;
  }
  pool.insert(b);
}

void CachingAllocator::release_free_segments() {
  for (Pool* pool : {&small_pool_, &large_pool_}) {
    for (auto it = pool->begin(); it != pool->end();) {
      Block* b = *it;
      if (b->prev || b->next) { ++it; continue; }  // part of a segment still in use
      backend_.raw_free(b->ptr, backend_.ctx);
      stats_.reserved -= int64_t(b->size);
      --stats_.num_segments;
      delete b;
      it = pool->erase(it);
    }
  }
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  collect_pending();
  release_free_segments();
}

cuda::MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated = stats_.allocated;
  stats_.peak_reserved = stats_.reserved;
}

std::string CachingAllocator::summary() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t cached = 0, blocks = 0;
  for (const Pool* pool : {&small_pool_, &large_pool_})
    for (const Block* b : *pool) { cached += b->size; ++blocks; }
  return str_cat(
      "|  ctorch CUDA memory summary, ", device_name_, "\n",
      "|  allocated now: ", mib(stats_.allocated), "  (peak ", mib(stats_.peak_allocated), ")\n",
      "|  reserved now:  ", mib(stats_.reserved), "  (peak ", mib(stats_.peak_reserved), ") in ",
      stats_.num_segments, " segments\n",
      "|  cached free:   ", mib(int64_t(cached)), " in ", blocks, " blocks\n",
      "|  live blocks:   ", live_.size(), " (+", pending_.size(), " freed, waiting for other streams)\n",
      "|  requests: ", stats_.num_allocs, " allocs, ", stats_.num_frees, " frees, ",
      stats_.num_alloc_retries, " retries after freeing the cache, ", stats_.num_ooms,
      " out-of-memory errors\n");
}

}  // namespace ctorch
