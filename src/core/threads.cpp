// core/threads.cpp — the process-wide thread count (OpenMP) and a deterministic parallel_for.
#include <attn/error.h>
#include <attn/threads.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>

namespace attn {
namespace {
int initial_threads() {
  if (const char* env = std::getenv("ATTN_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return omp_get_num_procs();
}
int& thread_count() {
  static int n = [] {
    const int t = initial_threads();
    omp_set_num_threads(t);
    return t;
  }();
  return n;
}
}  // namespace

void set_num_threads(int n) {
  ATTN_CHECK(n > 0, ValueError, "set_num_threads: thread count must be positive, got {}", n);
  thread_count() = n;
  omp_set_num_threads(n);
}

int num_threads() { return thread_count(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = (n + grain - 1) / grain;
  const int threads = num_threads();
  if (chunks == 1 || threads == 1 || omp_in_parallel()) {  // nested: this thread runs them all
    for (int64_t c = 0; c < chunks; ++c) fn(c * grain, std::min(n, (c + 1) * grain));
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t c = 0; c < chunks; ++c) {
    try {
      fn(c * grain, std::min(n, (c + 1) * grain));
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace attn
