// bench/bench_timing.h — timing helpers shared by the attention benchmarks: best wall and CPU time of
// a call, peak resident memory, and the sgemm peak with its GFLOP per CPU-second.
//
//   const bench::Timing t = bench::best_time([&] { attention(q, k, v, opts); }, 0.5);
//   std::printf("%.2f ms, %.1f GFLOP per CPU-second\n", t.ms, bench::gflops_of(flop, t.cpu_ms));
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gemm_peak.h"
#include "kernels/gemm.h"

namespace attn::bench {

// "512,1024" -> {512, 1024} (the --t / --d arguments).
inline std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string tok; std::getline(ss, tok, ',');) out.push_back(std::stoll(tok));
  return out;
}

// Peak resident memory since the last reset (Linux: VmHWM, reset through /proc/self/clear_refs).
inline void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
inline int64_t status_kib(const char* key) {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(std::string(key).size()));
  return 0;
}

struct Timing {
  double ms = 0.0;      // best wall time
  double cpu_ms = 0.0;  // best CPU time, all threads of the process
};

inline double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Best wall and CPU time of fn, repeating until min_seconds have passed (at least twice), after one
// warm-up call.
inline Timing best_time(const std::function<void()>& fn, double min_seconds) {
  using Clock = std::chrono::steady_clock;
  fn();
  Timing best{1e30, 1e30};
  double total = 0.0;
  for (int n = 0; total < min_seconds || n < 2; ++n) {
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    fn();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count(), dc = cpu_seconds() - c0;
    best.ms = std::min(best.ms, dt * 1e3), best.cpu_ms = std::min(best.cpu_ms, dc * 1e3), total += dt;
  }
  return best;
}

inline double gflops_of(double flop, double ms) { return flop / (ms * 1e-3) * 1e-9; }

// The sgemm peak on this many threads: {wall GFLOP/s (gemm_peak.h: square 2048, best of every
// compiled backend — the automatic choice is itself a short measurement and can flip under load),
// GFLOP per CPU-second on the backend that reached it}; sets *name to that backend.
inline std::pair<double, double> sgemm_peak_wall_and_cpu(double min_seconds, std::string* name) {
  const GemmPeak peak = measure_sgemm_peak(2048, min_seconds);
  *name = peak.backend;
  kernels::GemmBackend be = kernels::gemm_backend();
  kernels::parse_gemm_backend(peak.backend, &be);
  const int64_t n = peak.n;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  const Timing t = best_time(
      [&] { kernels::sgemm_on(be, false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n); },
      min_seconds);
  return {peak.gflops, gflops_of(2.0 * n * n * n, t.cpu_ms)};
}

}  // namespace attn::bench
