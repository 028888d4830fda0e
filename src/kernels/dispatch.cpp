// kernels/dispatch.cpp — target selection for Highway's dynamic dispatch (see dispatch.h).
//
// Highway picks a target per HWY_DYNAMIC_DISPATCH from hwy::SupportedTargets(); forcing a target
// means replacing that set with hwy::SetSupportedTargetsForTest(bit), which also resets Highway's
// cached choice, so the next dispatch re-chooses. The real CPU set is captured before any forcing.
#include "kernels/dispatch.h"

#include <attn/error.h>

#include <hwy/targets.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>

namespace attn::kernels {
namespace {

struct NamedTarget {
  const char* name;
  int64_t bits;
};
// ATTN_CPU_TARGET names. hwy 1.0.3 has no Zen 4 / SPR targets; both map to AVX3_DL.
constexpr NamedTarget kNames[] = {
    {"scalar", HWY_BASELINE_SCALAR}, {"emu128", HWY_BASELINE_SCALAR}, {"ssse3", HWY_SSSE3},
    {"sse4", HWY_SSE4},              {"avx2", HWY_AVX2},              {"avx512", HWY_AVX3},
    {"avx3", HWY_AVX3},              {"avx512_dl", HWY_AVX3_DL},      {"avx3_dl", HWY_AVX3_DL},
    {"avx512_zen4", HWY_AVX3_DL},    {"avx512_spr", HWY_AVX3_DL},
};

struct DispatchState {
  std::once_flag once;
  int64_t forced = 0;  // 0: not forced
  std::string reason = "best supported";
};
DispatchState& state() {
  static DispatchState s;
  return s;
}

// hwy::SupportedTargets() before any forcing (all forcing goes through force(), which calls this first).
int64_t real_supported() {
  static const int64_t mask = hwy::SupportedTargets();
  return mask;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<int64_t> bits_best_first(int64_t mask) {
  std::vector<int64_t> out;
  for (int64_t m = mask; m != 0; m &= m - 1) out.push_back(m & ~(m - 1));  // low bit = best
  return out;
}

std::string names_of(const std::vector<int64_t>& targets) {
  std::string out;
  for (int64_t t : targets) out += (out.empty() ? "" : ", ") + std::string(hwy::TargetName(t));
  return out;
}

void force(int64_t mask) {
  real_supported();
  state().forced = mask;
  hwy::SetSupportedTargetsForTest(mask);
}

void init_from_env() {
  DispatchState& s = state();
  real_supported();
  const char* env = std::getenv("ATTN_CPU_TARGET");
  if (env == nullptr || *env == '\0' || lower(env) == "best") return;
  force(resolve_target_name(env));
  s.reason = std::string("forced by ATTN_CPU_TARGET=") + env;
}

}  // namespace

void select_cpu_target() { std::call_once(state().once, init_from_env); }

std::vector<int64_t> compiled_targets() { return bits_best_first(HWY_TARGETS); }

std::vector<int64_t> usable_targets() {
  return bits_best_first(HWY_TARGETS & real_supported());
}

int64_t chosen_target() {
  select_cpu_target();
  const int64_t mask = hwy::SupportedTargets() & HWY_TARGETS;
  return mask == 0 ? HWY_BASELINE_SCALAR : (mask & ~(mask - 1));
}

std::string target_name(int64_t target) { return hwy::TargetName(target); }

int64_t parse_target_name(const std::string& name) {
  const std::string n = lower(name);
  if (n == "best") {
    const int64_t mask = HWY_TARGETS & real_supported();
    return mask == 0 ? HWY_BASELINE_SCALAR : (mask & ~(mask - 1));
  }
  for (const NamedTarget& t : kNames)
    if (n == t.name) return t.bits;
  return 0;
}

int64_t resolve_target_name(const std::string& name) {
  const int64_t t = parse_target_name(name);
  ATTN_CHECK(t != 0, ConfigError, "ATTN_CPU_TARGET={}: unknown target; valid: {}", name, valid_target_names());
  ATTN_CHECK((t & HWY_TARGETS) != 0, ConfigError,
             "ATTN_CPU_TARGET={}: target {} is not compiled into this build (compiled: {})", name,
             target_name(t), names_of(compiled_targets()));
  ATTN_CHECK((t & real_supported()) != 0, ConfigError,
             "ATTN_CPU_TARGET={}: this CPU cannot run {} (it can run: {})", name, target_name(t),
             names_of(bits_best_first(HWY_TARGETS & real_supported())));
  return t;
}

std::string valid_target_names() {
  std::string out;
  for (const NamedTarget& t : kNames) out += std::string(out.empty() ? "" : ", ") + t.name;
  return out + ", best";
}

std::string target_reason() {
  select_cpu_target();
  return state().reason;
}

ScopedCpuTarget::ScopedCpuTarget(int64_t target) {
  select_cpu_target();
  previous_mask_ = state().forced;
  force(target);
}

ScopedCpuTarget::~ScopedCpuTarget() { force(previous_mask_); }

}  // namespace attn::kernels
