// attn/threads.h — the thread count every parallel kernel uses.
//
//   attn::set_num_threads(2);      // or the environment: ATTN_NUM_THREADS=2
//   int n = attn::num_threads();
//
// Threads are OpenMP's. Work is split so that results never depend on the thread count: each
// output element is produced by exactly one thread, and reductions across threads use a fixed
// split into chunks whose partial sums are combined in chunk order.
#pragma once

#include <cstdint>
#include <functional>

namespace attn {

void set_num_threads(int n);
int num_threads();

// Calls fn(begin, end) over [0, n) in contiguous chunks of at least `grain`, in parallel.
// Chunk boundaries depend on n and grain only, never on the thread count.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace attn
