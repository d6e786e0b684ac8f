// Thread-count control shared by OpenMP regions and the BLAS.
#include "cpu/parallel.h"
#include <omp.h>
#include <thread>

extern "C" void scipy_openblas_set_num_threads(int);

namespace ctorch {

namespace {
int default_threads() {
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  int omp = omp_get_max_threads();
  return hw > 0 && hw < omp ? hw : omp;
}
int g_threads = default_threads();
}  // namespace

int get_num_threads() { return g_threads; }
void set_num_threads(int n) {
  g_threads = n < 1 ? 1 : n;
  scipy_openblas_set_num_threads(g_threads);
}

namespace detail {
int parallel_threads(int64_t n, int64_t grain) {
  if (g_threads <= 1 || n <= grain || omp_in_parallel()) return 1;
  int64_t by_work = n / grain;
  return by_work < g_threads ? static_cast<int>(by_work) : g_threads;
}
int thread_num() { return omp_get_thread_num(); }
}  // namespace detail

}  // namespace ctorch
