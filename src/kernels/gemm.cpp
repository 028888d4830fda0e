// kernels/gemm.cpp — backend choice and the oneDNN / OpenBLAS wrappers (see gemm.h).
//
// Choice, once, at first use: (1) ATTN_GEMM names a backend -> take it (an unknown or absent one is
// reported in gemm_backend_reason() and ignored); (2) otherwise time a 256³ sgemm on one thread on
// each compiled backend (3 interleaved rounds of ~5 ms, best run) and keep the fastest after
// weighting: OpenBLAS ×0.8 (its pthreads pool fights OpenMP's for the cores), oneDNN ×1.1 (same
// OpenMP runtime as every other kernel) — see docs/DESIGN.md. ~50 ms in all.
#include "kernels/gemm.h"
#include "kernels/onednn_matmul.h"

#include <attn/profile.h>
#include <attn/threads.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <omp.h>

#if defined(ATTN_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#endif
#if defined(ATTN_HAVE_OPENBLAS)
extern "C" {
void cblas_sgemm(int order, int trans_a, int trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc);
void openblas_set_num_threads(int n);
char* openblas_get_corename(void);
}
#endif


namespace attn::kernels {
namespace {

struct Choice {
  std::once_flag once;
  std::atomic<int> backend{static_cast<int>(GemmBackend::kFallback)};
  std::string reason;
};
Choice& choice() {
  static Choice c;
  return c;
}

#if defined(ATTN_HAVE_OPENBLAS)
// OpenBLAS's pool size is global; set it only when it changes (the call resizes the pool).
void openblas_threads(int n) {
  static std::atomic<int> current{-1};
  if (current.exchange(n) != n) openblas_set_num_threads(n);
}
#endif

// Runs one backend with an explicit thread count. Returns false if the backend is not compiled
// or failed (the caller then uses the fallback).
bool run_backend(GemmBackend b, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads) {
  switch (b) {
    case GemmBackend::kOneDnn:
#if defined(ATTN_HAVE_ONEDNN)
      // oneDNN threads through OpenMP: its own parallel region uses omp_get_max_threads(), and
      // inside another parallel region (threads == 1 from sgemm_batched) it runs sequentially.
      return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == dnnl_success;
#else
      return false;
#endif
    case GemmBackend::kOpenBlas:
#if defined(ATTN_HAVE_OPENBLAS)
      if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX)
        return false;
      openblas_threads(threads);
      // CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112
      cblas_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta,
                  C, int(ldc));
      return true;
#else
      return false;
#endif
    case GemmBackend::kFallback:
      sgemm_fallback(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
      return true;
  }
  return false;
}

// Per-core speed of each backend: 1 thread, rounds interleaved so that a burst of load from other
// processes does not land on one backend only, best run kept. (Timings on all threads swing by
// 100x on a shared, oversubscribed machine — a parallel region waits for a descheduled thread —
// while the kernel speed, which is what differs between backends, shows cleanly on one thread.)
std::vector<double> measure_backends(const std::vector<GemmBackend>& backends) {
  const int64_t n = 256;
  std::vector<float> a(n * n, 0.5f), bm(n * n, 0.25f), c(n * n, 0.0f);
  std::vector<double> best_s(backends.size(), 1e30);
  // One thread without touching attn's global count: the fallback and OpenBLAS take it as an
  // argument; oneDNN reads this thread's OpenMP ICV, restored afterwards.
  struct RestoreIcv {
    int saved = omp_get_max_threads();
    ~RestoreIcv() { omp_set_num_threads(saved); }  // also when a kernel throws (bad ATTN_CPU_TARGET)
  } restore;
  omp_set_num_threads(1);
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < backends.size(); ++i) {
      double spent = 0;
      for (int rep = 0; rep < 50 && (spent < 0.005 || rep < 3); ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        run_backend(backends[i], false, false, n, n, n, 1.0f, a.data(), n, bm.data(), n, 0.0f, c.data(), n, 1);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (round > 0 || rep > 0) best_s[i] = std::min(best_s[i], s);  // the very first run warms up
        spent += s;
      }
    }
  }
  std::vector<double> gflops;
  for (double s : best_s) gflops.push_back(2.0 * n * n * n / s * 1e-9);
  return gflops;
}

void choose() {
  Choice& ch = choice();
  if (const char* env = std::getenv("ATTN_GEMM"); env && *env) {
    GemmBackend b;
    const auto avail = available_gemm_backends();
    if (parse_gemm_backend(env, &b) && std::find(avail.begin(), avail.end(), b) != avail.end()) {
      ch.backend = static_cast<int>(b);
      ch.reason = fmt::format("forced by ATTN_GEMM={}", env);
      return;
    }
    ch.reason = fmt::format("ATTN_GEMM={} is unknown or not compiled in (valid: onednn, openblas, fallback); ", env);
    std::fprintf(stderr, "attn: warning: %s measuring instead\n", ch.reason.c_str());
  }
  const auto backends = available_gemm_backends();
  const auto gflops = measure_backends(backends);
  // Weights: OpenBLAS's pthreads pool and OpenMP's (every other kernel) fight over the cores when
  // both are busy — measured here: after OpenBLAS calls, OpenMP GEMMs fell from 225 to 2-14 GFLOP/s
  // and back (docs/DESIGN.md) — so OpenBLAS must be 25 % faster per core to be worth it; oneDNN wins
  // ties within 10 % of the fallback (same OpenMP runtime, and the bf16 path is oneDNN too).
  auto weight = [](GemmBackend b) { return b == GemmBackend::kOneDnn ? 1.1 : b == GemmBackend::kOpenBlas ? 0.8 : 1.0; };
  std::string numbers;
  size_t best = 0;
  for (size_t i = 0; i < backends.size(); ++i) {
    numbers += fmt::format("{}{} {:.0f}", numbers.empty() ? "" : ", ", gemm_backend_name(backends[i]), gflops[i]);
    if (gflops[i] * weight(backends[i]) > gflops[best] * weight(backends[best])) best = i;
  }
  ch.backend = static_cast<int>(backends[best]);
  ch.reason += fmt::format("measured at first use (256^3 sgemm, 1 thread: {} GFLOP/s; OpenBLAS needs +25 %)", numbers);
#if defined(ATTN_HAVE_OPENBLAS)
  ch.reason += fmt::format("; OpenBLAS core {}", openblas_get_corename());
#endif
}

}  // namespace

const char* gemm_backend_name(GemmBackend b) {
  switch (b) {
    case GemmBackend::kOneDnn: return "onednn";
    case GemmBackend::kOpenBlas: return "openblas";
    case GemmBackend::kFallback: return "fallback";
  }
  return "?";
}

bool parse_gemm_backend(const std::string& name, GemmBackend* out) {
  for (GemmBackend b : {GemmBackend::kOneDnn, GemmBackend::kOpenBlas, GemmBackend::kFallback}) {
    if (name == gemm_backend_name(b)) {
      *out = b;
      return true;
    }
  }
  return false;
}

std::vector<GemmBackend> available_gemm_backends() {
  std::vector<GemmBackend> out;
#if defined(ATTN_HAVE_ONEDNN)
  out.push_back(GemmBackend::kOneDnn);
#endif
#if defined(ATTN_HAVE_OPENBLAS)
  out.push_back(GemmBackend::kOpenBlas);
#endif
  out.push_back(GemmBackend::kFallback);
  return out;
}

GemmBackend gemm_backend() {
  std::call_once(choice().once, choose);
  return static_cast<GemmBackend>(choice().backend.load());
}

std::string gemm_backend_reason() {
  gemm_backend();
  return choice().reason;
}

void set_gemm_backend(GemmBackend b) {
  gemm_backend();  // settle the first-use choice so it cannot overwrite this one later
  choice().backend = static_cast<int>(b);
  choice().reason = "set by the program";
}

void sgemm_on(GemmBackend b, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  // Called from inside an OpenMP parallel region (a kernel's per-tile GEMM): one thread, and never
  // OpenBLAS, whose global pool size cannot be set per calling thread.
  const bool nested = omp_in_parallel();
  const int threads = nested ? 1 : num_threads();
  if (nested && b == GemmBackend::kOpenBlas) b = GemmBackend::kFallback;
  if (!run_backend(b, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads))
    sgemm_fallback(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias) {
  if (M <= 0 || N <= 0) return;
  ProfileScope scope("gemm f32");
  const GemmBackend b = gemm_backend();
  // oneDNN's matmul primitive fuses the bias. At a transformer's fc1 and fused-qkv shapes (K <= 512,
  // N, M >= 1024) dnnl_sgemm and then a bias pass is ≈ 4 % faster inside a training step (Zen 4,
  // 6/6/384: fc1 11.9 -> 11.4 ms, qkv 8.85 -> 8.54 ms); at fc2's (K = 1536) dnnl_sgemm is ≈ 20 % slower.
  const bool sgemm_then_bias = K <= 512 && N >= 1024 && M >= 1024;
  if (bias && b == GemmBackend::kOneDnn && alpha == 1.0f && K > 0 && !sgemm_then_bias && !omp_in_parallel() &&
      onednn_matmul(MatmulSource::kF32, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias))
    return;
  sgemm_on(b, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (bias) add_bias_rows(bias, M, N, C, ldc);
}

void sgemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta, float* C,
                   int64_t ldc, int64_t stride_c, int64_t batch) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  ProfileScope scope("gemm f32");
  const GemmBackend b = gemm_backend();
  const int threads = num_threads();
  // Small matrices: one single-threaded GEMM per batch item, items spread over the threads (a
  // threaded GEMM of 64×64 spends more time waking threads than computing). Large: one threaded
  // GEMM after another. OpenBLAS's pool is set to 1 thread first so no pthreads run inside OpenMP.
  const bool per_item = batch >= threads && threads > 1 && M * N * K <= (int64_t{1} << 21);
  if (!per_item) {
    for (int64_t i = 0; i < batch; ++i)
      sgemm_on(b, trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
               C + i * stride_c, ldc);
    return;
  }
#if defined(ATTN_HAVE_OPENBLAS)
  if (b == GemmBackend::kOpenBlas) openblas_threads(1);
#endif
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < batch; ++i) {
    if (!run_backend(b, trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                     C + i * stride_c, ldc, 1))
      sgemm_fallback(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                     C + i * stride_c, ldc, 1);
  }
}

}  // namespace attn::kernels
