// bench/fma_peak.h — the cores' f32 FMA peak: what no kernel can beat, measured in the same run.
//
//   const double fma = attn::bench::measure_fma_peak();   // GFLOP/s on attn::num_threads() threads
//
// Each thread runs 12 independent chains of vector FMAs on registers (no memory traffic, enough
// chains to cover the FMA latency on two pipes); GFLOP/s = 2 · lanes · FMAs / wall time of the
// slowest thread. The widest ISA the CPU has is used (AVX-512, else AVX2 + FMA, else SSE mul + add
// counted as one FMA's two FLOPs), and on CPUs that split 512-bit FMAs into two 256-bit halves
// (Zen 4) both widths give the same number. A benchmark helper, not used by the library.
#pragma once

#include <attn/threads.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace attn::bench {

namespace fma_detail {

constexpr int kChains = 12;

inline float sum(const float* x, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += x[i];
  return s;
}

// Returns a value derived from every chain so the compiler keeps all of them.
__attribute__((target("avx512f"))) inline float chains_avx512(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + 1e-7f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
  for (long k = 0; k < iters; ++k)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  alignas(64) float out[kChains * 16];  // not _mm512_reduce_add_ps: under a target attribute GCC 12 warns in it
  for (int i = 0; i < kChains; ++i) _mm512_store_ps(out + 16 * i, acc[i]);
  return sum(out, kChains * 16);
}

__attribute__((target("avx2,fma"))) inline float chains_avx2(long iters) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(1.0f + 1e-7f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
  for (long k = 0; k < iters; ++k)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  alignas(32) float out[kChains * 8];
  for (int i = 0; i < kChains; ++i) _mm256_store_ps(out + 8 * i, acc[i]);
  return sum(out, kChains * 8);
}

inline float chains_sse(long iters) {  // x86-64 baseline: a multiply and an add per "FMA"
  __m128 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm_set1_ps(1.0f + 1e-7f * static_cast<float>(i));
  const __m128 a = _mm_set1_ps(0.9999999f), b = _mm_set1_ps(1e-7f);
  for (long k = 0; k < iters; ++k)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
  alignas(16) float out[kChains * 4];
  for (int i = 0; i < kChains; ++i) _mm_store_ps(out + 4 * i, acc[i]);
  return sum(out, kChains * 4);
}

// GFLOP/s of `threads` threads each running fn(iters) on vectors of `lanes` floats.
template <class Fn>
double run_threads(int threads, int lanes, long iters, Fn fn) {
  std::vector<std::thread> pool;
  std::vector<float> sink(threads);
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[t] = fn(iters); });
  for (std::thread& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  volatile float keep = sink[0];
  (void)keep;
  return 2.0 * lanes * kChains * static_cast<double>(iters) * threads / s / 1e9;
}

}  // namespace fma_detail

// Best of three runs of about 0.3 s each.
inline double measure_fma_peak(int threads = num_threads()) {
  using namespace fma_detail;
  const long iters = 30'000'000;  // 12 chains x 30 M FMAs: ~0.1-0.3 s at 3-4 GHz
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    if (__builtin_cpu_supports("avx512f")) best = std::max(best, run_threads(threads, 16, iters, chains_avx512));
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      best = std::max(best, run_threads(threads, 8, iters, chains_avx2));
    if (best == 0) best = std::max(best, run_threads(threads, 4, iters, chains_sse));
  }
  return best;
}

}  // namespace attn::bench
