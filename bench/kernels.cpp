// bench/kernels.cpp — element-wise, softmax and norm kernels on every SIMD target this CPU runs:
// millions of elements per second (best run), and the speed-up over the scalar baseline. Shows that
// dispatch picks real SIMD code and what each target is worth.
//
//   build/bench/bench_kernels [--threads N] [--seconds S]
#include <attn/threads.h>
#include <attn/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"

namespace {
using namespace attn::kernels;

double best_seconds(double seconds, const std::function<void()>& fn) {
  fn();
  double best = 1e30, spent = 0;
  for (int reps = 0; spent < seconds || reps < 5; ++reps) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s), spent += s;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) attn::set_num_threads(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
  }
  const int64_t rows = 64, C = 1024, n = rows * C;  // 256 KiB: stays in L2, measures compute
  std::vector<float> x(n), y(n), w(C, 1.0f), b(C, 0.0f), stat(rows);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>((i * 7919) % 2001 - 1000) * 0.004f;
  struct Kernel {
    const char* name;
    std::function<void()> run;
  };
  const Kernel kernels[] = {
      {"exp", [&] { unary(UnaryOp::kExp, x.data(), y.data(), n); }},
      {"gelu_erf", [&] { unary(UnaryOp::kGeluErf, x.data(), y.data(), n); }},
      {"gelu_tanh", [&] { unary(UnaryOp::kGeluTanh, x.data(), y.data(), n); }},
      {"silu", [&] { unary(UnaryOp::kSilu, x.data(), y.data(), n); }},
      {"softmax", [&] { softmax_rows(x.data(), y.data(), rows, C); }},
      {"log_softmax", [&] { log_softmax_rows(x.data(), y.data(), rows, C); }},
      {"layer_norm", [&] { layer_norm_rows(x.data(), w.data(), b.data(), y.data(), stat.data(), stat.data(), rows, C, 1e-5f); }},
      {"rms_norm", [&] { rms_norm_rows(x.data(), w.data(), y.data(), stat.data(), rows, C, 1e-6f); }},
      {"row_sum", [&] { reduce_axis(ReduceOp::kSum, x.data(), y.data(), rows, C, 1); }},
  };
  const auto targets = usable_targets();
  std::printf("CPU: %s; threads %d; [%lld,%lld] f32; Melem/s (best run), x = speed-up over %s\n",
              attn::cpu_model().c_str(), attn::num_threads(), (long long)rows, (long long)C,
              target_name(targets.back()).c_str());
  std::printf("%-12s", "kernel");
  for (int64_t t : targets) std::printf(" %16s", target_name(t).c_str());
  std::printf("\n");
  for (const Kernel& k : kernels) {
    std::printf("%-12s", k.name);
    std::vector<double> rate;
    for (int64_t t : targets) {
      ScopedCpuTarget force(t);
      rate.push_back(n / best_seconds(seconds, k.run) * 1e-6);
    }
    for (double r : rate) std::printf(" %8.0f (%4.1fx)", r, r / rate.back());
    std::printf("\n");
  }
  return 0;
}
