// Intra-op parallelism: OpenMP over index ranges; small work stays on the calling thread.
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
CTORCH_API int thread_num();
}  // namespace detail

// Calls fn(begin, end) over disjoint chunks of [begin, end), at most one per thread.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  int64_t n = end - begin;
  if (n <= 0) return;
  int nt = detail::parallel_threads(n, grain);
  if (nt <= 1) { fn(begin, end); return; }
#pragma omp parallel num_threads(nt)
  {
    int tid = detail::thread_num();
    int64_t chunk = (n + nt - 1) / nt;
    int64_t b = begin + tid * chunk, e = b + chunk < end ? b + chunk : end;
    if (b < e) fn(b, e);
  }
}

}  // namespace ctorch
