// bench/attention_backward.cpp — attention backward speed, as a ratio to the sgemm peak measured in
// the same run on the same threads. Not a test: it prints a table.
//
//   build/bench/bench_attention_backward                     # B=1, H=8, D=64, T=S=1024..4096, causal and not
//   build/bench/bench_attention_backward --threads 1 --t 4096 --h 4
//   OMP_WAIT_POLICY=ACTIVE build/bench/bench_attention_backward   # runs PASSIVE unless told otherwise
//   build/bench/bench_attention_backward --t 256 --h 48 --bf16     # + a bf16-product row under each
//                                                                  # (MatmulPrecisionScope kBF16)
//   build/bench/bench_attention_backward --fused 8,6 --t 256       # a GPT training step's layout
//
// --fused B,H: the layouts of a transformer block with a fused q/k/v projection (GptConfig::fused_qkv),
// B batch items of H heads: q, k, v are the three [B,H,T,D] slices of one [B,T,3·H,D] buffer (row
// stride 3·H·D), out and dout dense [B,T,H,D] (row stride H·D), and the backward writes dq, dk, dv as
// slices of one [B,T,3·H,D] buffer (ops/attention_backward.cpp does, for q/k/v so sliced). Overrides
// --h. The 6/6/384 GPT of a training step at batch 8 is --fused 8,6 --t 256 (D = 64, causal rows).
//
// GFLOP/s counts the backward's five T x S products, 10·B·H·T·S·D (2.5x the forward's 4·B·H·T·S·D;
// half for causal: useful FLOPs only; the recomputed QKᵀ is one of the five). The forward on the
// same inputs is timed beside it for scale. As in bench/attention, each speed is given by wall time
// and per CPU-second (FLOPs / CPU time of all threads; stays meaningful when other work shares the
// cores), each beside the sgemm peak measured the same way in this run (bench/gemm_peak.h: best of
// every compiled backend; per CPU-second on that backend). "xMiB" is the peak resident memory the backward call adds beyond its inputs (VmHWM reset
// through /proc/self/clear_refs; includes dq, dk, dv themselves).
#include <attn/attention.h>
#include <attn/attention_backward.h>
#include <attn/ops.h>
#include <attn/rng.h>
#include <attn/threads.h>
#include <attn/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "bench_timing.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"

namespace {

using namespace attn;
using namespace attn::bench;

struct Args {
  int threads = 2;
  std::vector<int64_t> ts = {1024, 2048, 4096};
  int64_t heads = 8, dim = 64;
  double min_seconds = 0.5;
  bool bf16 = false;  // also time each row with bf16 products
  int64_t batch = 1;
  bool fused = false;  // --fused B,H: q/k/v slices of a fused projection, out/dout [B,T,H,D]
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (s == "--threads") a.threads = std::stoi(next());
    else if (s == "--t") a.ts = parse_list(next());
    else if (s == "--h") a.heads = std::stoll(next());
    else if (s == "--d") a.dim = std::stoll(next());
    else if (s == "--min-seconds") a.min_seconds = std::stod(next());
    else if (s == "--bf16") a.bf16 = true;
    else if (s == "--fused") {
      const auto bh = parse_list(next());
      if (bh.size() != 2) {
        std::fprintf(stderr, "--fused wants B,H (e.g. --fused 8,6)\n");
        std::exit(2);
      }
      a.fused = true, a.batch = bh[0], a.heads = bh[1];
    }
    else {
      std::fprintf(stderr, "unknown argument %s (see the header of bench/attention_backward.cpp)\n", s.c_str());
      std::exit(2);
    }
  }
  return a;
}

Tensor randn(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.normal_(t, 0.0f, 1.0f);
  return t;
}

// q, k, v [B,H,T,D] and dout [B,H,T,D]: contiguous, or with --fused the training layouts (see the header).
struct Inputs {
  Tensor q, k, v, dout;
};
Inputs make_inputs(const Args& a, int64_t T) {
  const int64_t B = a.batch, H = a.heads, D = a.dim;
  if (!a.fused) return {randn({B, H, T, D}, 1), randn({B, H, T, D}, 2), randn({B, H, T, D}, 3), randn({B, H, T, D}, 4)};
  const Tensor qkv = randn({B, T, 3 * H, D}, 1).permute({0, 2, 1, 3});  // [B,3H,T,D] view
  const Tensor dout = randn({B, T, H, D}, 4).permute({0, 2, 1, 3});
  return {qkv.narrow(1, 0, H), qkv.narrow(1, H, H), qkv.narrow(1, 2 * H, H), dout};
}

// One row of the table: forward and backward times at T = S, with bf16 products when bf16 (then also
// the speed-up over `f32`, the f32 row's {fwd, bwd} times). Returns {fwd, bwd} ms.
std::pair<double, double> bench_row(const Args& a, int64_t T, bool causal, std::pair<double, double> gemm, bool bf16,
                                    std::pair<double, double> f32) {
  std::optional<MatmulPrecisionScope> scope;
  if (bf16) scope.emplace(MatmulPrecision::kBF16);
  const int64_t B = a.batch, H = a.heads, D = a.dim;
  const Inputs in = make_inputs(a, T);
  const Tensor &q = in.q, &k = in.k, &v = in.v, &dout = in.dout;
  const AttentionOptions opts{.causal = causal};
  const AttentionResult r = attention(q, k, v, opts);
  const Timing fwd = best_time([&] { attention(q, k, v, opts); }, a.min_seconds);
  const int64_t rss0 = status_kib("VmRSS:");
  reset_peak_rss();
  attention_backward(q, k, v, r.out, r.lse, dout, opts);
  const double extra_mib = (status_kib("VmHWM:") - rss0) / 1024.0;
  const Timing bwd = best_time([&] { attention_backward(q, k, v, r.out, r.lse, dout, opts); }, a.min_seconds);
  const double useful = 10.0 * B * H * T * T * D * (causal ? 0.5 : 1.0);
  const double wall = gflops_of(useful, bwd.ms), cpu = gflops_of(useful, bwd.cpu_ms);
  std::printf("%4ld %-6s %-4s %5ld | %9.2f %9.2f %6.2fx | %8.1f %6.1f%% | %8.1f %6.1f%% | %6.1f", (long)D,
              causal ? "causal" : "full", bf16 ? "bf16" : "f32", (long)T, fwd.ms, bwd.ms, bwd.ms / fwd.ms, wall,
              100.0 * wall / gemm.first, cpu, 100.0 * cpu / gemm.second, extra_mib);
  if (bf16) std::printf(" | %5.2fx %5.2fx", f32.first / fwd.ms, f32.second / bwd.ms);
  std::printf("\n");
  std::fflush(stdout);
  return {fwd.ms, bwd.ms};
}

}  // namespace

int main(int argc, char** argv) {
  // As bench/attention: OpenMP reads OMP_WAIT_POLICY when it loads, so re-execute with PASSIVE unless
  // the caller chose (spinning at the backward's three barriers costs visibly on 2 shared cores).
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // on failure, carry on with the default
  }
  const Args a = parse_args(argc, argv);
  attn::set_num_threads(a.threads);
  std::string gemm_name;
  const auto gemm = bench::sgemm_peak_wall_and_cpu(a.min_seconds, &gemm_name);
  std::printf("attn attention backward benchmark — %s, %d threads, SIMD target %s, OMP_WAIT_POLICY=%s\n",
              attn::cpu_model().c_str(), a.threads, kernels::target_name(kernels::chosen_target()).c_str(),
              std::getenv("OMP_WAIT_POLICY"));
  std::printf("sgemm peak (%s): %.1f GFLOP/s wall, %.1f GFLOP per CPU-second\n", gemm_name.c_str(), gemm.first,
              gemm.second);
  std::printf("B=%ld H=%ld%s fp32 (and bf16 products with --bf16); backward GFLOP/s = 10·B·H·T·S·D (half for causal); target >= 110 at T=4096, D=64\n\n",
              (long)a.batch, (long)a.heads, a.fused ? " fused q/k/v layout (--fused)" : "");
  std::printf("%4s %-6s %-4s %5s | %9s %9s %7s | %8s %7s | %8s %7s | %6s%s\n", "D", "mask", "prec", "T", "fwd ms",
              "bwd ms", "bwd/fwd", "wall GF/s", "%sgemm", "GF/cpu-s", "%sgemm", "xMiB",
              a.bf16 ? " | fwd, bwd speed-up over f32" : "");
  for (bool causal : {false, true})
    for (int64_t T : a.ts) {
      const auto f32 = bench_row(a, T, causal, gemm, false, {});
      if (a.bf16) bench_row(a, T, causal, gemm, true, f32);
    }
  const auto again = bench::sgemm_peak_wall_and_cpu(a.min_seconds, &gemm_name);
  std::printf("sgemm peak re-measured after the table: %.1f GFLOP/s wall, %.1f per CPU-second\n", again.first,
              again.second);
  return 0;
}
