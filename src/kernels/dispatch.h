// kernels/dispatch.h — which SIMD target the kernels run on, and how to force one.
//
//   attn::kernels::select_cpu_target();               // once; honours ATTN_CPU_TARGET
//   for (int64_t t : attn::kernels::usable_targets()) {  // compiled AND supported by this CPU
//     attn::kernels::ScopedCpuTarget force(t);          // tests: run a kernel on every target
//     ...
//   }
//   std::string name = attn::kernels::target_name(attn::kernels::chosen_target());  // "AVX3"
//
// Kernels are compiled once per Highway target (scalar/emu128, SSSE3, SSE4, AVX2, AVX-512 "AVX3",
// AVX-512 VNNI/VBMI2 "AVX3_DL" = Ice Lake / Zen 4 / Sapphire Rapids class); each kernel entry point
// picks the best one the CPU supports with ONE dynamic dispatch per call, never inside a loop.
// Highway 1.0.3 has no separate Zen 4 / SPR targets: the names avx512_zen4 and avx512_spr map to
// AVX3_DL. This header has no Highway include so tests and tools can use it without Highway.
//
// ATTN_CPU_TARGET (read on the first kernel call) accepts: scalar, emu128, ssse3, sse4, avx2,
// avx512 (= avx3), avx512_dl (= avx3_dl), avx512_zen4, avx512_spr, best. An unknown name, or a target
// that this build did not compile or this CPU cannot run, throws attn::ConfigError listing the valid
// names — the one exception to "kernels never throw", raised before any computation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attn::kernels {

// Applies ATTN_CPU_TARGET once (thread-safe, cheap after the first call). Every kernel entry point
// calls it; call it early to surface a bad ATTN_CPU_TARGET before doing work.
void select_cpu_target();

// Highway target bits (HWY_AVX2, ...) compiled into attn_kernels, best first.
std::vector<int64_t> compiled_targets();
// Compiled targets this CPU can run (ignoring any forcing), best first.
std::vector<int64_t> usable_targets();
// The target kernel calls dispatch to now.
int64_t chosen_target();
// Highway's name for a target bit ("AVX3", "AVX2", "EMU128", ...).
std::string target_name(int64_t target);
// Parses an ATTN_CPU_TARGET value; returns 0 for an unknown name. "best" gives the best usable.
int64_t parse_target_name(const std::string& name);
// Like parse_target_name, but throws ConfigError for an unknown name or a target that is not
// compiled or not supported by this CPU (the message lists the valid choices).
int64_t resolve_target_name(const std::string& name);
// The names parse_target_name accepts, comma-separated (for messages and --help).
std::string valid_target_names();
// Why the current target was chosen: "best supported" or "forced by ATTN_CPU_TARGET=avx2".
std::string target_reason();

// Forces `target` (must be one of usable_targets()) for this object's lifetime, then restores the
// previous choice. Process-wide (not per thread): for tests and benchmarks, not concurrent use.
class ScopedCpuTarget {
 public:
  explicit ScopedCpuTarget(int64_t target);
  ~ScopedCpuTarget();
  ScopedCpuTarget(const ScopedCpuTarget&) = delete;
  ScopedCpuTarget& operator=(const ScopedCpuTarget&) = delete;

 private:
  int64_t previous_mask_;
};

}  // namespace attn::kernels
