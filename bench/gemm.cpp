// bench/gemm.cpp — GEMM GFLOP/s per backend and size (the "sgemm peak" of docs/PERFORMANCE.md), the
// bf16 path, the products of a training step's linear layers, the FMA peak of the cores, and the
// OpenMP-vs-OpenBLAS-pthreads interference test behind the backend choice.
//
//   build/bench/bench_gemm [--threads N] [--seconds S] [--quick]
//
// In order: (1) square and transformer-shaped GEMMs, every compiled backend + bf16 (oneDNN),
// GFLOP/s = 2·M·N·K / best time; (2) the three products of each linear layer of a 6/6/384 GPT
// training step; (3) the sgemm peak (bench/gemm_peak.h) and the cores' FMA peak (bench/fma_peak.h,
// the bound no kernel passes) with the one as a share of the other; (4) a loop alternating one
// sgemm (256×768·768×768, a projection) with one OpenMP softmax over [64, 2048] (the ops around it),
// per backend: if OpenBLAS's spinning pthreads and OpenMP's threads fight over the cores, its
// mixed-loop time exceeds the sum of the parts measured alone.
#include <attn/threads.h>
#include <attn/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fma_peak.h"
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

// The three products of each linear layer of a training step, called as linear() calls them
// (row-major, weights [out,in]): y = x·wᵀ + b (NT, bias fused), dx = g·w (NN), dw = gᵀ·x (TN).
// Shapes: nanoGPT's 6/6/384 model at batch 8 × block 256 (rows 2048). f32 on the chosen backend,
// and bf16.
void table_training(const Args& a) {
  struct Lin {
    const char* what;
    int64_t in, out;
  };
  const int64_t R = 2048;
  const Lin lins[] = {{"qkv 384->1152", 384, 1152}, {"proj 384->384", 384, 384}, {"fc 384->1536", 384, 1536},
                      {"fc2 1536->384", 1536, 384}};
  std::printf("\nTraining GEMMs, rows %lld, GFLOP/s (f32 on %s | bf16)\n", (long long)R,
              gemm_backend_name(gemm_backend()));
  std::printf("%-16s %10s %10s %10s %10s %10s %10s\n", "linear", "fwd f32", "dx f32", "dw f32", "fwd bf16", "dx bf16",
              "dw bf16");
  for (const Lin& l : lins) {
    std::vector<float> x(R * l.in, 0.5f), w(l.out * l.in, 0.25f), g(R * l.out, 0.125f), y(R * l.out),
        dx(R * l.in), dw(l.out * l.in), bias(l.out, 0.5f);
    std::vector<uint16_t> xb(x.size(), 0x3f00), wb(w.size(), 0x3e80), gb(g.size(), 0x3e00);
    const double flop = 2.0 * R * l.in * l.out;
    auto gf = [&](const auto& fn) { return flop / (best_ms(a.seconds, fn) * 1e6); };
    const float* X = x.data();
    const float* W = w.data();
    const float* G = g.data();
    std::printf("%-16s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f\n", l.what,
                gf([&] {
                  sgemm(false, true, R, l.out, l.in, 1.0f, X, l.in, W, l.in, 0.0f, y.data(), l.out, bias.data());
                }),
                gf([&] { sgemm(false, false, R, l.in, l.out, 1.0f, G, l.out, W, l.in, 0.0f, dx.data(), l.in); }),
                gf([&] { sgemm(true, false, l.out, l.in, R, 1.0f, G, l.out, X, l.in, 0.0f, dw.data(), l.in); }),
                gf([&] {
                  gemm_bf16(false, true, R, l.out, l.in, 1.0f, xb.data(), l.in, wb.data(), l.in, 0.0f, y.data(), l.out,
                            bias.data());
                }),
                gf([&] {
                  gemm_bf16(false, false, R, l.in, l.out, 1.0f, gb.data(), l.out, wb.data(), l.in, 0.0f, dx.data(),
                            l.in);
                }),
                gf([&] {
                  gemm_bf16(true, false, l.out, l.in, R, 1.0f, gb.data(), l.out, xb.data(), l.in, 0.0f, dw.data(),
                            l.in);
                }));
    std::fflush(stdout);
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
  table_training(a);
  const attn::bench::GemmPeak peak = attn::bench::measure_sgemm_peak(a.quick ? 512 : 2048, a.seconds);
  std::printf("\nsgemm peak (%lld^3, %d threads): %.1f GFLOP/s (%s)\n", (long long)peak.n, peak.threads, peak.gflops,
              peak.backend.c_str());
  const double fma = attn::bench::measure_fma_peak();
  std::printf("FMA peak (register-only FMA chains, %d threads): %.1f GFLOP/s; the sgemm peak is %.0f%% of it\n",
              attn::num_threads(), fma, 100.0 * peak.gflops / fma);
  table_interference(a);
  return 0;
}
