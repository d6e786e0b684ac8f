// The intra-op thread pool: every index exactly once, nesting, errors, concurrent callers.
#include <gtest/gtest.h>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>
#include "cpu/parallel.h"

using namespace ctorch;

namespace {
struct Threads {  // run a test at a given thread count, restore the old one
  int old = get_num_threads();
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(old); }
};
}  // namespace

TEST(Parallel, CoversEveryIndexOnce) {
  Threads t(4);
  for (int64_t n : {1, 7, 1000, 100003}) {
    for (int64_t grain : {1, 64, 4096}) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<int64_t> smallest_chunk{n};
      parallel_for(0, n, grain, [&](int64_t b, int64_t e) {
        if (e < n) smallest_chunk = std::min<int64_t>(smallest_chunk.load(), e - b);
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
      EXPECT_GE(smallest_chunk.load(), std::min(grain, n)) << "chunks honour the grain";
    }
  }
}

TEST(Parallel, NestedCallsRunSerially) {
  Threads t(4);
  std::atomic<int64_t> total{0};
  parallel_for(0, 64, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      parallel_for(0, 100000, 1, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  EXPECT_EQ(total.load(), 64 * 100000);
}

TEST(Parallel, ExceptionReachesTheCallerAndPoolStaysUsable) {
  Threads t(4);
  EXPECT_THROW(parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) {
                 if (b <= 500 && 500 < e) throw std::runtime_error("chunk failed");
               }),
               std::runtime_error);
  std::atomic<int64_t> total{0};
  parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 1000);
}

TEST(Parallel, ConcurrentCallersBothComplete) {
  Threads t(4);
  std::atomic<int64_t> a{0}, b{0};
  auto work = [](std::atomic<int64_t>& sum) {
    for (int rep = 0; rep < 200; ++rep)
      parallel_for(0, 10000, 16, [&](int64_t lo, int64_t hi) { sum += hi - lo; });
  };
  std::thread other([&] { work(a); });
  work(b);
  other.join();
  EXPECT_EQ(a.load(), 200 * 10000);
  EXPECT_EQ(b.load(), 200 * 10000);
}
