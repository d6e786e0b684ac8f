// The intra-op thread pool and the thread count (BLAS stays single-threaded: cpu/blas.cpp splits GEMMs here).
//
// Why not OpenMP: an OpenMP region ends at a barrier that waits for every thread of the team, so when
// another process holds one of the two cores the whole op waits for a descheduled worker (measured:
// an in-place multiply of 400k floats took 3.5x longer on 2 threads than on 1 under a parallel
// compile). Here the caller and the workers claim chunks from a shared counter; the caller waits only
// for chunks already running, and a worker that wakes late finds nothing left. Idle workers sleep on a
// condition variable: nothing spins.
#include "cpu/parallel.h"
#include <pthread.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ctorch {

namespace {
// The cores, or OMP_NUM_THREADS where set (PyTorch's knob, honoured the same way).
int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  return hw > 0 ? hw : 1;
}
int g_threads = default_threads();
thread_local bool t_in_parallel = false;

struct Job {
  detail::RangeFn fn;
  const void* ctx;
  int64_t begin, end, chunk, nchunks;
  int max_helpers;                       // workers that may join (threads - 1)
  std::atomic<int64_t> next{0};          // next unclaimed chunk
  int64_t finished = 0;                  // chunks done (under Pool::mu)
  int helpers = 0;                       // workers inside the job (under Pool::mu)
  std::exception_ptr error;              // the first exception (under Pool::mu)
};

class Pool {
 public:
  // Runs the job's chunks with whichever workers wake in time; returns when all are done.
  void run(Job& job) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      grow(job.max_helpers);
      job_ = &job;
      ++generation_;
    }
    wake_.notify_all();
    work(job);
    std::unique_lock<std::mutex> lock(mu_);
    job_ = nullptr;  // late workers find no job
    done_.wait(lock, [&] { return job.finished == job.nchunks && job.helpers == 0; });
    if (job.error) std::rethrow_exception(job.error);
  }

  // After fork() only the calling thread exists: forget the workers (the child recreates them).
  void forget_workers() {
    new (&mu_) std::mutex();
    new (&wake_) std::condition_variable();
    new (&done_) std::condition_variable();
    for (auto& t : workers_) t.detach();  // no thread behind these handles in the child
    workers_.clear();
    job_ = nullptr;
  }

 private:
  void grow(int helpers) {
    while (static_cast<int>(workers_.size()) < helpers) workers_.emplace_back([this] { loop(); });
  }

  void loop() {
    t_in_parallel = true;
    uint64_t seen = 0;
    for (;;) {
      // A short spin (like OpenBLAS's 2^16-cycle timeout) lets back-to-back ops reuse an awake
      // worker instead of paying a futex wake-up each; then sleep.
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
      while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until)
        relax();
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
      seen = generation_.load(std::memory_order_relaxed);
      Job* job = job_;
      if (!job || job->helpers >= job->max_helpers) continue;
      ++job->helpers;
      lock.unlock();
      work(*job);
      lock.lock();
      if (--job->helpers == 0) done_.notify_all();
    }
  }

  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  void work(Job& job) {
    int64_t c, finished = 0;
    std::exception_ptr error;
    while ((c = job.next.fetch_add(1, std::memory_order_relaxed)) < job.nchunks) {
      int64_t b = job.begin + c * job.chunk, e = std::min(job.end, b + job.chunk);
      try {
        job.fn(job.ctx, b, e);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
      ++finished;
    }
    if (!finished) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (error && !job.error) job.error = error;
    job.finished += finished;
    if (job.finished == job.nchunks) done_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Job* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};  // bumped (under mu_) for each job
  static constexpr int kSpinMicros = 50;
};

Pool& pool() {
  static Pool* p = [] {
    pthread_atfork(nullptr, nullptr, [] { pool().forget_workers(); });
    return new Pool();  // never destroyed: workers outlive static destruction
  }();
  return *p;
}

std::mutex g_pool_busy;  // one parallel op at a time; a concurrent caller runs serially
}  // namespace

int get_num_threads() { return g_threads; }
void set_num_threads(int n) { g_threads = n < 1 ? 1 : n; }

namespace detail {
int parallel_threads(int64_t n, int64_t grain) {
  if (g_threads <= 1 || n <= grain || t_in_parallel) return 1;
  int64_t by_work = n / std::max<int64_t>(grain, 1);
  return by_work < g_threads ? static_cast<int>(by_work) : g_threads;
}

void run_parallel(int64_t begin, int64_t end, int64_t grain, int threads, RangeFn fn, const void* ctx) {
  std::unique_lock<std::mutex> busy(g_pool_busy, std::try_to_lock);
  if (!busy.owns_lock()) {  // another thread's op holds the pool
    fn(ctx, begin, end);
    return;
  }
  // A few chunks per thread balance the load when a core is taken away mid-op.
  int64_t n = end - begin;
  int64_t chunk = std::max<int64_t>(std::max<int64_t>(grain, 1), (n + 4 * threads - 1) / (4 * threads));
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.begin = begin;
  job.end = end;
  job.chunk = chunk;
  job.nchunks = (n + chunk - 1) / chunk;
  job.max_helpers = threads - 1;
  t_in_parallel = true;
  try {
    pool().run(job);
  } catch (...) {
    t_in_parallel = false;
    throw;
  }
  t_in_parallel = false;
}
}  // namespace detail

}  // namespace ctorch
