// bench/attention.cpp — attention forward speed, as ratios measured in one run on one set of threads:
// attn's flash kernel vs the sgemm peak, the float64 naive kernel, PyTorch's
// scaled_dot_product_attention and ggml's CPU flash attention (the last two with --peers, after
// scripts/bench-setup.sh). Not a test: it prints a table.
//
//   build/bench/bench_attention              # B=1, H=12, D=64/128, T=S=512..8192, causal and not
//   build/bench/bench_attention --quick --peers  # D=64, T<=4096, with PyTorch and ggml
//   build/bench/bench_attention --threads 1 --t 4096 --d 64 --no-naive --no-big
//   OMP_WAIT_POLICY=ACTIVE build/bench/bench_attention  # attn runs PASSIVE unless told otherwise
//
// Peers run in both OpenMP wait policies (default and PASSIVE); the ratios use the better one.
//
// GFLOP/s counts 4·B·H·T·S·D (half for causal: useful FLOPs only). Each speed is given twice: by wall
// time, and per CPU-second (FLOPs / CPU time of all threads of the call) — the second stays
// meaningful when other work shares the cores, the first is what a user waits for. "extra MiB" is
// the peak resident memory the call adds beyond its inputs (VmHWM reset through
// /proc/self/clear_refs). The last line checks T = S = 32768 runs with under 1 GiB beyond Q, K, V and
// the output.
#include <attn/attention.h>
#include <attn/rng.h>
#include <attn/threads.h>
#include <attn/version.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench_timing.h"
#include "kernels/attention_params.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/ref/attention_ref.h"

namespace {

using namespace attn;
using namespace attn::bench;
using Clock = std::chrono::steady_clock;

struct Args {
  int threads = 2;
  std::vector<int64_t> ts = {512, 1024, 2048, 4096, 8192};
  std::vector<int64_t> ds = {64, 128};
  int64_t heads = 12;
  bool peers = false, naive = true, big = true;
  double min_seconds = 0.5;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (s == "--threads") a.threads = std::stoi(next());
    else if (s == "--t") a.ts = parse_list(next());
    else if (s == "--d") a.ds = parse_list(next());
    else if (s == "--h") a.heads = std::stoll(next());
    else if (s == "--quick") a.ts = {512, 1024, 2048, 4096}, a.ds = {64};
    else if (s == "--peers") a.peers = true;
    else if (s == "--no-naive") a.naive = false;
    else if (s == "--no-big") a.big = false;
    else if (s == "--min-seconds") a.min_seconds = std::stod(next());
    else {
      std::fprintf(stderr, "unknown argument %s (see the header of bench/attention.cpp)\n", s.c_str());
      std::exit(2);
    }
  }
  return a;
}

double flops(int64_t H, int64_t T, int64_t D, bool causal) { return 4.0 * H * T * T * D * (causal ? 0.5 : 1.0); }

// {T -> timing} from a peer's JSON lines ({"T": .., "ms": .., "cpu_ms": ..}); empty when missing.
std::map<int64_t, Timing> run_peer(const std::string& cmd) {
  std::map<int64_t, Timing> out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    const std::string s = line;
    const auto t = s.find("\"T\":"), m = s.find("\"ms\":"), c = s.find("\"cpu_ms\":");
    if (t != std::string::npos && m != std::string::npos && c != std::string::npos)
      out[std::stoll(s.substr(t + 4))] = {std::stod(s.substr(m + 5)), std::stod(s.substr(c + 9))};
  }
  pclose(p);
  return out;
}

std::string bench_dir() {
  const char* d = std::getenv("ATTN_BENCH_DIR");
  if (d != nullptr) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/attn-bench";
}

std::string source_dir() {
#ifdef ATTN_SOURCE_DIR
  return ATTN_SOURCE_DIR;
#else
  return ".";
#endif
}

struct Peers {
  std::map<int64_t, Timing> torch, torch_passive, ggml;
};

Peers measure_peers(const Args& a, int64_t D, bool causal) {
  Peers p;
  std::string ts;
  for (int64_t t : a.ts) ts += (ts.empty() ? "" : ",") + std::to_string(t);
  const std::string py = bench_dir() + "/venv/bin/python " + source_dir() + "/bench/peers/torch_sdpa.py";
  const std::string targs = " --threads " + std::to_string(a.threads) + " --d " + std::to_string(D) + " --h " +
                            std::to_string(a.heads) + " --causal " + std::to_string(causal) + " --t " + ts;
  p.torch = run_peer("env -u OMP_WAIT_POLICY " + py + targs);
  p.torch_passive = run_peer("OMP_WAIT_POLICY=PASSIVE " + py + targs);
  const std::string gg = bench_dir() + "/ggml_flash_attn " + std::to_string(a.threads) + " " + std::to_string(D) +
                         " " + std::to_string(a.heads) + " " + std::to_string(causal) + " " + ts;
  p.ggml = run_peer("env -u OMP_WAIT_POLICY " + gg);
  for (const auto& [t, tm] : run_peer("OMP_WAIT_POLICY=PASSIVE " + gg)) {  // ggml: its better setting
    Timing& b = p.ggml.try_emplace(t, tm).first->second;
    b.ms = std::min(b.ms, tm.ms), b.cpu_ms = std::min(b.cpu_ms, tm.cpu_ms);
  }
  return p;
}

// ms of the float64 naive kernel (one run; it is slow).
double naive_ms(const Tensor& q, const Tensor& k, const Tensor& v, bool causal) {
  kernels::AttentionParams p;
  const int64_t H = q.size(1), T = q.size(2), D = q.size(3);
  p.q = q.data<float>(), p.k = k.data<float>(), p.v = v.data<float>();
  p.B = 1, p.H = H, p.Hkv = H, p.T = T, p.S = T, p.D = D;
  for (int i = 0; i < 3; ++i) p.q_stride[i] = p.k_stride[i] = p.v_stride[i] = p.o_stride[i] = q.stride(i);
  p.scale = 1.0f / std::sqrt(static_cast<float>(D));
  p.causal = causal;
  std::vector<double> out(H * T * D), lse(H * T);
  const auto t0 = Clock::now();
  kernels::ref::attention_forward(p, out.data(), nullptr, lse.data());
  return std::chrono::duration<double>(Clock::now() - t0).count() * 1e3;
}

std::string fmt(const char* f, double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// "wall ms / GFLOP per CPU-second" of a peer, or "-".
std::string fmt_peer(const std::map<int64_t, Timing>& m, int64_t t, double flop) {
  if (!m.count(t)) return "-";
  return fmt("%.1f", m.at(t).ms) + "/" + fmt("%.0f", gflops_of(flop, m.at(t).cpu_ms));
}

// "peer/attn by wall, by CPU time", or "-".
std::string fmt_ratio(const Timing& ours, const std::map<int64_t, Timing>& m, int64_t t) {
  if (!m.count(t)) return "-";
  return fmt("%.2f", m.at(t).ms / ours.ms) + "," + fmt("%.2f", m.at(t).cpu_ms / ours.cpu_ms);
}

// One (D, causal) block of the table; returns attn's GFLOP per CPU-second per T.
std::map<int64_t, double> bench_block(const Args& a, int64_t D, bool causal, std::pair<double, double> gemm) {
  const Peers peers = a.peers ? measure_peers(a, D, causal) : Peers{};
  std::map<int64_t, Timing> best_torch;  // the better thread setting, per measure
  for (int64_t t : a.ts) {
    for (const auto* m : {&peers.torch, &peers.torch_passive}) {
      if (!m->count(t)) continue;
      Timing& b = best_torch.try_emplace(t, Timing{1e30, 1e30}).first->second;
      b.ms = std::min(b.ms, m->at(t).ms), b.cpu_ms = std::min(b.cpu_ms, m->at(t).cpu_ms);
    }
  }
  std::map<int64_t, double> gflops;
  for (int64_t T : a.ts) {
    const Tensor q = Tensor::empty({1, a.heads, T, D}), k = Tensor::empty({1, a.heads, T, D}), v = Tensor::empty({1, a.heads, T, D});
    Rng rng(T + D);
    rng.normal_(const_cast<Tensor&>(q), 0, 1), rng.normal_(const_cast<Tensor&>(k), 0, 1), rng.normal_(const_cast<Tensor&>(v), 0, 1);
    const AttentionOptions opts{.causal = causal};
    attention(q, k, v, opts);
    const int64_t rss0 = status_kib("VmRSS:");
    reset_peak_rss();
    attention(q, k, v, opts);
    const double extra_mib = (status_kib("VmHWM:") - rss0) / 1024.0;
    const Timing tm = best_time([&] { attention(q, k, v, opts); }, a.min_seconds);
    const double flop = flops(a.heads, T, D, causal), gf = gflops_of(flop, tm.ms), gfc = gflops_of(flop, tm.cpu_ms);
    gflops[T] = gfc;
    const std::string naive = a.naive && T <= 1024 ? fmt("%.0f", naive_ms(q, k, v, causal)) : "-";
    std::printf("%4ld %-6s %5ld | %8.1f %6.1f %5.0f%% | %6.1f %5.0f%% | %5.1f | %8s | %12s %12s %12s | %9s %9s\n",
                (long)D, causal ? "causal" : "full", (long)T, tm.ms, gf, 100.0 * gf / gemm.first, gfc,
                100.0 * gfc / gemm.second, extra_mib, naive.c_str(), fmt_peer(peers.torch, T, flop).c_str(),
                fmt_peer(peers.torch_passive, T, flop).c_str(), fmt_peer(peers.ggml, T, flop).c_str(),
                fmt_ratio(tm, best_torch, T).c_str(), fmt_ratio(tm, peers.ggml, T).c_str());
    std::fflush(stdout);
  }
  return gflops;
}

// T = S = 32768 (B=1, H=1, D=64, causal): extra memory beyond Q, K, V and the output must stay < 1 GiB.
void big_memory_check() {
  const int64_t T = 32768, D = 64;
  const Tensor q = Tensor::zeros({1, 1, T, D}), k = Tensor::zeros({1, 1, T, D}), v = Tensor::zeros({1, 1, T, D});
  const int64_t rss0 = status_kib("VmRSS:");
  reset_peak_rss();
  const auto t0 = Clock::now();
  const AttentionResult r = attention(q, k, v, {.causal = true});
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double out_mib = (r.out.nbytes() + r.lse.nbytes()) / 1048576.0;
  const double extra = (status_kib("VmHWM:") - rss0) / 1024.0 - out_mib;
  std::printf("\nT=S=32768, D=64, causal: %.2f s; extra memory beyond Q,K,V,out: %.1f MiB (limit 1024): %s\n", s, extra,
              extra < 1024.0 ? "PASS" : "FAIL");
}

}  // namespace

int main(int argc, char** argv) {
  // OpenMP reads OMP_WAIT_POLICY when it loads, so choose it by re-executing: PASSIVE unless the
  // caller set it (spinning between parallel regions costs visibly on 2 shared cores).
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // on failure, carry on with the default
  }
  const Args a = parse_args(argc, argv);
  attn::set_num_threads(a.threads);
  std::string gemm_name;
  const auto gemm = bench::sgemm_peak_wall_and_cpu(a.min_seconds, &gemm_name);
  std::printf("attn attention forward benchmark — %s, %d threads, SIMD target %s, OMP_WAIT_POLICY=%s\n",
              attn::cpu_model().c_str(), a.threads, kernels::target_name(kernels::chosen_target()).c_str(),
              std::getenv("OMP_WAIT_POLICY"));
  std::printf("sgemm peak (%s, 2048^3): %.1f GFLOP/s wall, %.1f GFLOP per CPU-second\n", gemm_name.c_str(), gemm.first,
              gemm.second);
  std::printf("B=1 H=%ld fp32; GFLOP/s = 4·B·H·T·S·D (half for causal). wall: ms, GFLOP/s, %% of sgemm; cpu: GFLOP per\n"
              "CPU-second, %% of sgemm's. Peers: wall ms / GFLOP per CPU-s. Ratios: peer time / attn time (wall,cpu).\n\n",
              (long)a.heads);
  std::printf("%4s %-6s %5s | %8s %6s %6s | %6s %6s | %5s | %8s | %12s %12s %12s | %9s %9s\n", "D", "mask", "T", "ms",
              "GF/s", "%gemm", "cpuGF", "%gemm", "xMiB", "naive ms", "torch", "torch PASV", "ggml", "vs torch",
              "vs ggml");
  for (int64_t D : a.ds) {
    const auto full = bench_block(a, D, false, gemm);
    const auto causal = bench_block(a, D, true, gemm);
    std::printf("     causal / full, GFLOP per CPU-second (useful FLOPs):");
    for (int64_t T : a.ts) std::printf("  T=%ld %.2f", (long)T, causal.at(T) / full.at(T));
    std::printf("\n");
  }
  const auto gemm2 = bench::sgemm_peak_wall_and_cpu(a.min_seconds, &gemm_name);
  std::printf("sgemm peak re-measured after the table: %.1f GFLOP/s wall, %.1f per CPU-second (%s)\n", gemm2.first,
              gemm2.second, gemm_name.c_str());
  if (a.big) big_memory_check();
  return 0;
}
