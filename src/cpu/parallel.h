// Intra-op parallelism: a small pool of sleeping worker threads; the calling thread takes part.
#pragma once
#include <cstdint>
#include "ctorch/core/macros.h"

namespace ctorch {

CTORCH_API int get_num_threads();
CTORCH_API void set_num_threads(int n);

// Below this many elements of elementwise work, threads cost more than they save.
constexpr int64_t kGrainSize = 32768;

namespace detail {
CTORCH_API int parallel_threads(int64_t n, int64_t grain);  // 1 when the work is small or already nested
using RangeFn = void (*)(const void* ctx, int64_t begin, int64_t end);
CTORCH_API void run_parallel(int64_t begin, int64_t end, int64_t grain, int threads, RangeFn fn,
                             const void* ctx);
}  // namespace detail

// Calls fn(begin, end) over disjoint chunks of [begin, end), each at least `grain` long (but the last),
// on up to get_num_threads() threads. Chunks are handed out one at a time, so a worker that another
// process keeps off its core delays nothing: the caller runs the chunks no one has claimed. fn must
// not depend on which thread runs a chunk. Exceptions thrown by fn reach the caller.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  int64_t n = end - begin;
  if (n <= 0) return;
  int nt = detail::parallel_threads(n, grain);
  if (nt <= 1) { fn(begin, end); return; }
  detail::run_parallel(begin, end, grain, nt,
                       [](const void* ctx, int64_t b, int64_t e) { (*static_cast<const F*>(ctx))(b, e); },
                       &fn);
}

}  // namespace ctorch
