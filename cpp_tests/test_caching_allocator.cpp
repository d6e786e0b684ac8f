// The CUDA caching allocator's bookkeeping, run over malloc with a byte budget standing in for
// the GPU: reuse, splitting, merging, per-stream pools, statistics, retry and out-of-memory.
#include <gtest/gtest.h>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>
#include "core/caching_allocator.h"
#include "ctorch/core/error.h"

using namespace ctorch;

namespace {
struct FakeDevice {
  size_t budget, used = 0;
  int64_t mallocs = 0, frees = 0;
  std::set<void*> live;
  static void* alloc(size_t n, void* ctx) {
    auto* d = static_cast<FakeDevice*>(ctx);
    if (d->used + n > d->budget) return nullptr;
    void* p = std::malloc(n);
    d->used += n;
    ++d->mallocs;
    d->live.insert(p);
    sizes()[p] = n;
    return p;
  }
  static void release(void* p, void* ctx) {
    auto* d = static_cast<FakeDevice*>(ctx);
    d->used -= sizes()[p];
    ++d->frees;
    d->live.erase(p);
    std::free(p);
  }
  static std::map<void*, size_t>& sizes() { static std::map<void*, size_t> m; return m; }
  // Events: the fake streams' work "finishes" when the test says so.
  bool work_done = false;
  int64_t events = 0, waits = 0;
  static void* record(void*, void* ctx) { ++static_cast<FakeDevice*>(ctx)->events; return ctx; }
  static bool done(void*, void* ctx) { return static_cast<FakeDevice*>(ctx)->work_done; }
  static void wait(void*, void* ctx) {
    auto* d = static_cast<FakeDevice*>(ctx);
    ++d->waits;
    d->work_done = true;
  }
  static void destroy(void*, void* ctx) { --static_cast<FakeDevice*>(ctx)->events; }
  CachingAllocator::Backend backend() { return {alloc, release, record, done, wait, destroy, this}; }
};
constexpr size_t MiB = size_t(1) << 20;
void* const kStreamA = nullptr;
void* const kStreamB = reinterpret_cast<void*>(0x1);
}  // namespace

TEST(CachingAllocator, ReusesFreedBlocksWithoutNewSegments) {
  FakeDevice dev{size_t(1) << 30};
  CachingAllocator a(dev.backend(), "fake");
  void* p = a.allocate(1000, kStreamA);
  a.free(p);
  void* q = a.allocate(900, kStreamA);  // same rounded size class: the cached block comes back
  EXPECT_EQ(p, q);
  EXPECT_EQ(dev.mallocs, 1);
  a.free(q);
  EXPECT_EQ(a.allocate(0, kStreamA), nullptr);
}

TEST(CachingAllocator, SmallRequestsShareOneSegmentAndRoundTo512) {
  FakeDevice dev{size_t(1) << 30};
  CachingAllocator a(dev.backend(), "fake");
  std::vector<void*> ps;
  for (int i = 0; i < 100; ++i) ps.push_back(a.allocate(1 + i, kStreamA));
  EXPECT_EQ(dev.mallocs, 1);  // 100 x 512 B fit in one 2 MiB small segment
  cuda::MemoryStats s = a.stats();
  EXPECT_EQ(s.allocated, 100 * 512);
  EXPECT_EQ(s.reserved, int64_t(CachingAllocator::kSmallSegment));
  for (void* p : ps) a.free(p);
  EXPECT_EQ(a.stats().allocated, 0);
  EXPECT_EQ(a.stats().peak_allocated, 100 * 512);
  a.empty_cache();  // the segment merged back into one free block, so it is returned
  EXPECT_EQ(dev.used, 0u);
  EXPECT_EQ(a.stats().reserved, 0);
}

TEST(CachingAllocator, SplitsLargeSegmentsAndMergesNeighbours) {
  FakeDevice dev{size_t(1) << 30};
  CachingAllocator a(dev.backend(), "fake");
  void* x = a.allocate(4 * MiB, kStreamA);  // a 20 MiB segment, split
  void* y = a.allocate(4 * MiB, kStreamA);  // from the remainder
  EXPECT_EQ(dev.mallocs, 1);
  EXPECT_EQ(static_cast<char*>(y) - static_cast<char*>(x), std::ptrdiff_t(4 * MiB));
  a.free(x);
  a.free(y);
  void* z = a.allocate(16 * MiB, kStreamA);  // only possible if x, y and the tail merged
  EXPECT_EQ(z, x);
  EXPECT_EQ(dev.mallocs, 1);
  a.free(z);
  a.empty_cache();
  EXPECT_EQ(dev.used, 0u);
}

TEST(CachingAllocator, EmptyCacheKeepsSegmentsWithLiveBlocks) {
  FakeDevice dev{size_t(1) << 30};
  CachingAllocator a(dev.backend(), "fake");
  void* live = a.allocate(2 * MiB, kStreamA);
  void* gone = a.allocate(30 * MiB, kStreamA);  // its own segment
  a.free(gone);
  a.empty_cache();
  EXPECT_EQ(dev.live.size(), 1u);
  EXPECT_EQ(a.stats().reserved, int64_t(CachingAllocator::kLargeSegment));
  a.free(live);
}

TEST(CachingAllocator, StreamsHaveSeparatePools) {
  FakeDevice dev{size_t(1) << 30};
  CachingAllocator a(dev.backend(), "fake");
  void* p = a.allocate(1000, kStreamA);
  a.free(p);
  void* q = a.allocate(1000, kStreamB);  // a block freed on stream A is not handed to stream B
  EXPECT_NE(p, q);
  EXPECT_EQ(dev.mallocs, 2);
  a.free(q);
  EXPECT_EQ(a.allocate(1000, kStreamB), q);
}

TEST(CachingAllocator, FreesCacheAndRetriesBeforeOutOfMemory) {
  FakeDevice dev{64 * MiB};
  CachingAllocator a(dev.backend(), "fake");
  void* big = a.allocate(40 * MiB, kStreamA);
  a.free(big);  // cached: 40 MiB reserved, nothing allocated
  void* other = a.allocate(50 * MiB, kStreamA);  // needs the cached segment returned first
  EXPECT_NE(other, nullptr);
  EXPECT_EQ(a.stats().num_alloc_retries, 1);
  EXPECT_EQ(dev.frees, 1);
  try {
    a.allocate(30 * MiB, kStreamA);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::OutOfMemory);
    EXPECT_NE(std::string(e.what()).find("Tried to allocate 30.00 MiB"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.stats().num_ooms, 1);
  a.free(other);  // still usable after the error
  void* again = a.allocate(30 * MiB, kStreamA);
  EXPECT_NE(again, nullptr);
  a.free(again);
  EXPECT_NE(a.summary().find("out-of-memory errors"), std::string::npos);
}

TEST(CachingAllocator, ExactSizeFallbackWhenRoundedSegmentDoesNotFit) {
  FakeDevice dev{12 * MiB};
  CachingAllocator a(dev.backend(), "fake");
  void* p = a.allocate(9 * MiB, kStreamA);  // a 20 MiB segment would not fit
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(a.stats().reserved, int64_t(9 * MiB));
  a.free(p);
}

TEST(CachingAllocator, FreeOfForeignPointerIsAnError) {
  FakeDevice dev{MiB * 64};
  CachingAllocator a(dev.backend(), "fake");
  int x;
  EXPECT_THROW(a.free(&x), Error);
}

TEST(CachingAllocator, RecordedStreamDelaysReuseUntilItsWorkIsDone) {
  FakeDevice dev{size_t(1) << 30};
  CachingAllocator a(dev.backend(), "fake");
  void* p = a.allocate(1000, kStreamA);
  a.record_stream(p, kStreamB);
  a.record_stream(p, kStreamA);  // its own stream needs no event
  a.free(p);
  EXPECT_EQ(dev.events, 1);
  void* q = a.allocate(1000, kStreamA);  // stream B may still read p: not handed out
  EXPECT_NE(p, q);
  dev.work_done = true;
  void* r = a.allocate(1000, kStreamA);
  EXPECT_EQ(p, r);
  EXPECT_EQ(dev.events, 0);  // released
  a.free(q);
  a.free(r);
}

TEST(CachingAllocator, OutOfMemoryWaitsForPendingBlocksFirst) {
  FakeDevice dev{24 * MiB};
  CachingAllocator a(dev.backend(), "fake");
  void* p = a.allocate(20 * MiB, kStreamA);
  a.record_stream(p, kStreamB);
  a.free(p);
  void* q = a.allocate(20 * MiB, kStreamA);  // only fits in p's block, once stream B is done
  EXPECT_EQ(p, q);
  EXPECT_EQ(dev.waits, 1);
  a.free(q);
}

TEST(CachingAllocator, RecordedEventsHoldTheBlockUntilDone) {
  FakeDevice dev{size_t(1) << 30};
  CachingAllocator a(dev.backend(), "fake");
  void* p = a.allocate(4096, kStreamA);
  ++dev.events;  // an event the caller recorded (an asynchronous copy reading p)
  a.record_event(p, &dev);
  a.free(p);
  void* q = a.allocate(4096, kStreamA);  // the copy may still be running: not reused
  EXPECT_NE(p, q);
  dev.work_done = true;
  void* r = a.allocate(4096, kStreamA);
  EXPECT_EQ(p, r);
  EXPECT_EQ(dev.events, 0);  // the allocator destroyed the event it was given
  a.free(q);
  a.free(r);
}
