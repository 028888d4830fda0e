// bench/attention.cpp — attention forward speed, as ratios measured in one run on one set of threads:
// attn's flash kernel vs the sgemm peak, the float64 naive kernel, PyTorch's
// scaled_dot_product_attention and ggml's CPU flash attention (the last two with --peers, after
// scripts/bench-setup.sh). Not a test: it prints a table.
//
//   build/bench/attention                    # B=1, H=12, D=64/128, T=S=512..8192, causal and not
//   build/bench/attention --quick --peers    # D=64, T<=4096, with PyTorch and ggml
//   build/bench/attention --threads 1 --t 4096 --d 64 --no-naive --no-big
//
// GFLOP/s counts 4·B·H·T·S·D (half for causal: useful FLOPs only). "extra MiB" is the peak resident
// memory the call adds beyond its inputs (VmHWM reset through /proc/self/clear_refs). The last line
// checks T = S = 32768 runs with under 1 GiB beyond Q, K, V and the output.
#include <attn/attention.h>
#include <attn/rng.h>
#include <attn/threads.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/attention_params.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/ref/attention_ref.h"

namespace {

using namespace attn;
using Clock = std::chrono::steady_clock;

struct Args {
  int threads = 2;
  std::vector<int64_t> ts = {512, 1024, 2048, 4096, 8192};
  std::vector<int64_t> ds = {64, 128};
  int64_t heads = 12;
  bool peers = false, naive = true, big = true;
  double min_seconds = 0.5;
};

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string tok; std::getline(ss, tok, ',');) out.push_back(std::stoll(tok));
  return out;
}

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

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// Peak resident memory since the last reset, in bytes (Linux; 0 elsewhere).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
int64_t status_kib(const char* key) {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(std::string(key).size()));
  return 0;
}

// Best wall time of fn in ms, repeating until min_seconds have passed (at least twice).
double best_ms(const std::function<void()>& fn, double min_seconds) {
  fn();
  double best = 1e30, total = 0.0;
  for (int n = 0; total < min_seconds || n < 2; ++n) {
    const auto t0 = Clock::now();
    fn();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, dt), total += dt;
  }
  return best * 1e3;
}

// sgemm GFLOP/s on this many threads (square 2048, the chosen backend).
double sgemm_gflops(double min_seconds) {
  const int64_t n = 2048;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  const double ms = best_ms([&] { kernels::sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n); },
                            min_seconds);
  return 2.0 * n * n * n / (ms * 1e-3) * 1e-9;
}

double flops(int64_t H, int64_t T, int64_t D, bool causal) { return 4.0 * H * T * T * D * (causal ? 0.5 : 1.0); }

// {T -> ms} from a peer's JSON lines ({"T": .., "ms": ..}); empty when the peer is missing.
std::map<int64_t, double> run_peer(const std::string& cmd) {
  std::map<int64_t, double> out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    const std::string s = line;
    const auto t = s.find("\"T\":"), m = s.find("\"ms\":");
    if (t != std::string::npos && m != std::string::npos)
      out[std::stoll(s.substr(t + 4))] = std::stod(s.substr(m + 5));
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
  std::map<int64_t, double> torch, torch_passive, ggml;
  std::string torch_version;
};

Peers measure_peers(const Args& a, int64_t D, bool causal) {
  Peers p;
  std::string ts;
  for (int64_t t : a.ts) ts += (ts.empty() ? "" : ",") + std::to_string(t);
  const std::string py = bench_dir() + "/venv/bin/python " + source_dir() + "/bench/peers/torch_sdpa.py";
  const std::string targs = " --threads " + std::to_string(a.threads) + " --d " + std::to_string(D) + " --h " +
                            std::to_string(a.heads) + " --causal " + std::to_string(causal) + " --t " + ts;
  p.torch = run_peer(py + targs);
  p.torch_passive = run_peer("OMP_WAIT_POLICY=PASSIVE " + py + targs);
  p.ggml = run_peer(bench_dir() + "/ggml_flash_attn " + std::to_string(a.threads) + " " + std::to_string(D) + " " +
                    std::to_string(a.heads) + " " + std::to_string(causal) + " " + ts);
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

std::string fmt_ms(const std::map<int64_t, double>& m, int64_t t) {
  char buf[32];
  if (!m.count(t)) return "-";
  std::snprintf(buf, sizeof buf, "%.1f", m.at(t));
  return buf;
}

std::string fmt_ratio(double ours_ms, const std::map<int64_t, double>& m, int64_t t) {
  char buf[32];
  if (!m.count(t)) return "-";
  std::snprintf(buf, sizeof buf, "%.2fx", m.at(t) / ours_ms);
  return buf;
}

// One (D, causal) block of the table; returns attn's GFLOP/s per T.
std::map<int64_t, double> bench_block(const Args& a, int64_t D, bool causal, double gemm) {
  const Peers peers = a.peers ? measure_peers(a, D, causal) : Peers{};
  std::map<int64_t, double> best_torch;
  for (int64_t t : a.ts) {
    if (peers.torch.count(t)) best_torch[t] = peers.torch.at(t);
    if (peers.torch_passive.count(t)) best_torch[t] = std::min(best_torch.count(t) ? best_torch[t] : 1e30, peers.torch_passive.at(t));
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
    const double ms = best_ms([&] { attention(q, k, v, opts); }, a.min_seconds);
    const double gf = flops(a.heads, T, D, causal) / (ms * 1e-3) * 1e-9;
    gflops[T] = gf;
    std::string naive = "-";
    if (a.naive && T <= 1024) naive = fmt_ms({{T, naive_ms(q, k, v, causal)}}, T);
    std::printf("%4ld %-6s %5ld | %9.2f %8.1f %6.1f%% %7.1f | %9s | %9s %9s %9s | %7s %7s\n", (long)D,
                causal ? "causal" : "full", (long)T, ms, gf, 100.0 * gf / gemm, extra_mib, naive.c_str(),
                fmt_ms(peers.torch, T).c_str(), fmt_ms(peers.torch_passive, T).c_str(), fmt_ms(peers.ggml, T).c_str(),
                fmt_ratio(ms, best_torch, T).c_str(), fmt_ratio(ms, peers.ggml, T).c_str());
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
  const Args a = parse_args(argc, argv);
  attn::set_num_threads(a.threads);
  const double gemm = sgemm_gflops(a.min_seconds);
  std::printf("attn attention forward benchmark — %s, %d threads, SIMD target %s, sgemm (%s) %.1f GFLOP/s\n",
              cpu_model().c_str(), a.threads, kernels::target_name(kernels::chosen_target()).c_str(),
              kernels::gemm_backend_name(kernels::gemm_backend()), gemm);
  std::printf("B=1 H=%ld fp32; GFLOP/s = 4·B·H·T·S·D (half for causal); peers: time in ms, ratio = peer time / attn time\n\n",
              (long)a.heads);
  std::printf("%4s %-6s %5s | %9s %8s %7s %7s | %9s | %9s %9s %9s | %7s %7s\n", "D", "mask", "T", "attn ms", "GFLOP/s",
              "%sgemm", "xMiB", "naive ms", "torch ms", "passive", "ggml ms", "vs torch", "vs ggml");
  for (int64_t D : a.ds) {
    const auto full = bench_block(a, D, false, gemm);
    const auto causal = bench_block(a, D, true, gemm);
    std::printf("     causal / full GFLOP/s (useful FLOPs):");
    for (int64_t T : a.ts) std::printf("  T=%ld %.2f", (long)T, causal.at(T) / full.at(T));
    std::printf("\n");
  }
  std::printf("sgemm re-measured after the table: %.1f GFLOP/s\n", sgemm_gflops(a.min_seconds));
  if (a.big) big_memory_check();
  return 0;
}
