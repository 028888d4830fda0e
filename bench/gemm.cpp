// bench/gemm.cpp — GEMM GFLOP/s per backend and size (the "sgemm peak" of docs/PERFORMANCE.md), the
// bf16 path, and the OpenMP-vs-OpenBLAS-pthreads interference test behind the backend choice.
//
//   build/bench/bench_gemm [--threads N] [--seconds S] [--quick]
//
// Table 1: square and transformer-shaped GEMMs, every compiled backend + bf16 (oneDNN), GFLOP/s =
// 2·M·N·K / best time. Table 2: a loop alternating one sgemm (256×768·768×768, a projection) with
// one OpenMP softmax over [64, 2048] (the ops around it), per backend: if OpenBLAS's spinning
// pthreads and OpenMP's threads fight over the cores, its mixed-loop time exceeds the sum of the
// parts measured alone.
#include <attn/threads.h>
#include <attn/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gemm_peak.h"
#include "kernels/gemm.h"
#include "kernels/softmax.h"

namespace {
using namespace attn::kernels;
using Clock = std::chrono::steady_clock;

struct Args {
  int threads = 0;
  double seconds = 0.3;
  bool quick = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) a.threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) a.seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) a.quick = true;
    else {
      std::fprintf(stderr, "usage: bench_gemm [--threads N] [--seconds S] [--quick]\n");
      std::exit(2);
    }
  }
  return a;
}

// Best time in ms of fn over >= seconds (after one warm-up).
template <class F>
double best_ms(double seconds, const F& fn) {
  fn();
  double best = 1e30, spent = 0;
  for (int reps = 0; spent < seconds || reps < 3; ++reps) {
    const auto t0 = Clock::now();
    fn();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, s), spent += s;
  }
  return best * 1e3;
}

void table_sizes(const Args& a) {
  struct Size {
    const char* what;
    int64_t M, N, K;
  };
  std::vector<Size> sizes = {{"square", 256, 256, 256},   {"square", 512, 512, 512}, {"square", 1024, 1024, 1024},
                             {"square", 2048, 2048, 2048}, {"qkv 1024x768x2304", 1024, 2304, 768},
                             {"mlp 1024x768x3072", 1024, 3072, 768}, {"lm head 256x768x32000", 256, 32000, 768}};
  if (a.quick) sizes.resize(3);
  std::printf("%-24s %6s %6s %6s", "GEMM GFLOP/s", "M", "N", "K");
  for (GemmBackend b : available_gemm_backends()) std::printf(" %9s", gemm_backend_name(b));
  std::printf(" %9s\n", "bf16");
  for (const Size& s : sizes) {
    std::printf("%-24s %6lld %6lld %6lld", s.what, (long long)s.M, (long long)s.N, (long long)s.K);
    for (GemmBackend b : available_gemm_backends()) {
      std::printf(" %9.1f", measure_sgemm_gflops(b, s.M, s.N, s.K, a.seconds));
      std::fflush(stdout);
    }
    std::printf(" %9.1f\n", measure_gemm_bf16_gflops(s.M, s.N, s.K, a.seconds));
  }
}

void table_interference(const Args& a) {
  const int64_t M = 256, N = 768, K = 768, R = 64, S = 2048;
  std::vector<float> A(M * K, 0.5f), B(K * N, 0.25f), C(M * N), X(R * S, 0.1f), Y(R * S);
  auto softmax = [&] { softmax_rows(X.data(), Y.data(), R, S); };
  const double soft = best_ms(a.seconds, softmax);
  std::printf("\nInterference: sgemm %lldx%lldx%lld alternating with an OpenMP softmax [%lld,%lld] (%.3f ms alone)\n",
              (long long)M, (long long)N, (long long)K, (long long)R, (long long)S, soft);
  std::printf("%-10s %12s %12s %12s %10s\n", "backend", "gemm ms", "mixed ms", "sum alone", "overhead");
  for (GemmBackend b : available_gemm_backends()) {
    auto gemm = [&] { sgemm_on(b, false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N); };
    const double g = best_ms(a.seconds, gemm);
    // Median-free but honest: best of the mixed pair, repeated like the parts.
    const double mixed = best_ms(a.seconds, [&] {
      for (int i = 0; i < 10; ++i) gemm(), softmax();
    }) / 10;
    std::printf("%-10s %12.3f %12.3f %12.3f %9.0f%%\n", gemm_backend_name(b), g, mixed, g + soft,
                100.0 * (mixed / (g + soft) - 1.0));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.threads > 0) attn::set_num_threads(a.threads);
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  std::printf("CPU: %s; threads %d; OMP_WAIT_POLICY=%s\n", attn::cpu_model().c_str(), attn::num_threads(),
              wait ? wait : "(unset)");
  std::printf("chosen backend: %s — %s\n\n", gemm_backend_name(gemm_backend()), gemm_backend_reason().c_str());
  table_sizes(a);
  const attn::bench::GemmPeak peak = attn::bench::measure_sgemm_peak(a.quick ? 512 : 2048, a.seconds);
  std::printf("\nsgemm peak (%lld^3, %d threads): %.1f GFLOP/s (%s)\n", (long long)peak.n, peak.threads, peak.gflops,
              peak.backend.c_str());
  table_interference(a);
  return 0;
}
