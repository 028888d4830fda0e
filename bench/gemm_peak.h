// bench/gemm_peak.h — the "sgemm peak" other benchmarks compare against, measured in the same run.
//
//   const attn::bench::GemmPeak peak = attn::bench::measure_sgemm_peak();   // 2048³, every backend
//   std::printf("%.1f%% of sgemm (%s)\n", 100 * my_gflops / peak.gflops, peak.backend.c_str());
//
// Peak = the best GFLOP/s over every compiled sgemm backend for a square n³ row-major GEMM on the
// current thread count (attn::num_threads()), best run after a warm-up (kernels/gemm_measure.cpp).
#pragma once

#include <attn/threads.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "kernels/gemm.h"

namespace attn::bench {

struct GemmPeak {
  std::string backend;  // the backend that reached it
  double gflops = 0;
  int threads = 0;
  int64_t n = 0;
};

// OpenBLAS is measured last and followed by a short pause: its idle pthreads busy-wait for a while
// after a call and would slow the OpenMP code measured next (docs/DESIGN.md, Kernels and GEMM).
inline GemmPeak measure_sgemm_peak(int64_t n = 2048, double min_seconds = 0.5) {
  GemmPeak peak{"", 0, num_threads(), n};
  auto backends = kernels::available_gemm_backends();
  std::stable_partition(backends.begin(), backends.end(),
                        [](kernels::GemmBackend b) { return b != kernels::GemmBackend::kOpenBlas; });
  for (kernels::GemmBackend b : backends) {
    const double g = kernels::measure_sgemm_gflops(b, n, n, n, min_seconds);
    if (g > peak.gflops) peak.gflops = g, peak.backend = kernels::gemm_backend_name(b);
    if (b == kernels::GemmBackend::kOpenBlas) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return peak;
}

}  // namespace attn::bench
