// kernels/gemm_measure.cpp — GEMM throughput measurement for `attn doctor` and the benchmarks.
#include <attn/threads.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "kernels/gemm.h"

namespace attn::kernels {
namespace {

template <class F>
double best_gflops(int64_t M, int64_t N, int64_t K, double min_seconds, const F& run) {
  run();  // warm-up: page faults, oneDNN JIT, thread start
  double best = 1e30, spent = 0;
  int reps = 0;
  while (spent < min_seconds || reps < 3) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s), spent += s, ++reps;
  }
  return 2.0 * static_cast<double>(M) * N * K / best * 1e-9;
}

}  // namespace

double measure_sgemm_gflops(GemmBackend b, int64_t M, int64_t N, int64_t K, double min_seconds) {
  std::vector<float> A(M * K, 0.5f), B(K * N, 0.25f), C(M * N, 0.0f);
  return best_gflops(M, N, K, min_seconds, [&] {
    sgemm_on(b, false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  });
}

double measure_gemm_bf16_gflops(int64_t M, int64_t N, int64_t K, double min_seconds) {
  std::vector<uint16_t> A(M * K, 0x3f00), B(K * N, 0x3e80);  // 0.5, 0.25
  std::vector<float> C(M * N, 0.0f);
  return best_gflops(M, N, K, min_seconds, [&] {
    gemm_bf16(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  });
}

}  // namespace attn::kernels
