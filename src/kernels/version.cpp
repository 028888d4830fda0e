// kernels/version.cpp — attn::version() and the capability report behind `attn --version` and
// `attn doctor` (declared in attn/version.h; lives in kernels because it reports kernel choices).
#include <attn/error.h>
#include <attn/threads.h>
#include <attn/version.h>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <thread>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/gemm.h"

#ifndef ATTN_VERSION
#define ATTN_VERSION "0.0.0"
#endif

namespace attn {
namespace {

// The value of the first "key : value" line of /proc/cpuinfo whose key is `key`, or "".
std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
    if (k == key) return colon + 2 <= line.size() ? line.substr(colon + 2) : "";
  }
  return "";
}

// The CPU flags that matter for attn's kernels, as present on this machine.
std::string interesting_flags() {
  std::istringstream flags(" " + cpuinfo_field("flags") + " ");
  std::vector<std::string> have;
  std::string f;
  while (flags >> f) have.push_back(f);
  std::string out;
  for (const char* want : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                           "amx_tile", "amx_bf16"})
    for (const auto& h : have)
      if (h == want) out += (out.empty() ? "" : " ") + h;
  return out.empty() ? "(none of interest)" : out;
}

std::string target_list(const std::vector<int64_t>& targets) {
  std::string out;
  for (int64_t t : targets) out += (out.empty() ? "" : ", ") + kernels::target_name(t);
  return out;
}


const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}
}  // namespace

const char* version() { return ATTN_VERSION; }

std::string cpu_model() {
  const std::string m = cpuinfo_field("model name");
  return m.empty() ? "unknown CPU" : m;
}

std::string version_report() {
  std::string simd;
  try {
    const int64_t chosen = kernels::chosen_target();
    simd = fmt::format("{} ({})", kernels::target_name(chosen), kernels::target_reason());
  } catch (const Error& e) {
    simd = fmt::format("error: {}", e.what());
  }
  std::string gemm;
  try {
    const kernels::GemmBackend g = kernels::gemm_backend();
    gemm = fmt::format("{} — {}", kernels::gemm_backend_name(g), kernels::gemm_backend_reason());
  } catch (const Error& e) {
    gemm = fmt::format("not chosen: {}", e.what());
  }
  return fmt::format(
      "attn {}\n"
      "cpu:       {} ({} logical cores; {})\n"
      "simd:      compiled {}; this CPU runs {}; chosen {}\n"
      "gemm:      {}\n"
      "gemm bf16: {}\n"
      "threads:   {} (ATTN_NUM_THREADS or --threads); OpenMP wait: OMP_WAIT_POLICY={} GOMP_SPINCOUNT={}\n",
      version(), cpu_model(), std::thread::hardware_concurrency(), interesting_flags(),
      target_list(kernels::compiled_targets()), target_list(kernels::usable_targets()), simd,
      gemm, kernels::gemm_bf16_path(), num_threads(), env_or("OMP_WAIT_POLICY", "(unset)"),
      env_or("GOMP_SPINCOUNT", "(unset)"));
}

}  // namespace attn
