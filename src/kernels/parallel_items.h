// kernels/parallel_items.h — internal: a work-item loop that enters OpenMP only when it pays.
//
//   parallel_items(items, /*threaded=*/n >= kParallelMin, [&](int64_t it) { ... item it ... });
//
// `#pragma omp parallel for if (false)` still enters libgomp: it builds a one-thread team and ends
// it with a futex wake (≈ 0.3–0.5 µs), and so does a region opened inside another parallel region
// (a kernel called from a parallel chunk, such as the fused bf16 kernels' pieces). A 6/6/384 bf16
// training step opened ≈ 31,000 such regions. Here the serial case is a plain loop, and the
// threaded case is the same static schedule as before; results never depend on the split.
#pragma once

#include <attn/threads.h>
#include <omp.h>

#include <cstdint>

namespace attn::kernels {

// `threads` is the team size when threaded (the GEMM fallback passes its own).
template <class Body>
void parallel_items(int64_t items, bool threaded, const Body& body, int threads = attn::num_threads()) {
  if (threaded && items > 1 && threads > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t it = 0; it < items; ++it) body(it);
    return;
  }
  for (int64_t it = 0; it < items; ++it) body(it);
}

}  // namespace attn::kernels
