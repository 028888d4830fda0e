// attn/profile.h — where the wall time goes: named scopes summed over a run, off by default.
//
//   attn::profile_enable(true);                 // or ATTN_PROFILE=1 in the environment
//   { attn::ProfileScope s("forward"); ... }    // nests; each name sums its own wall time
//   std::fputs(attn::profile_report("step").c_str(), stderr);
//
// The library marks the training step's phases (step, forward, backward, clip, optimizer), every
// autograd node's backward ("backward linear", ...), the GEMMs ("gemm f32", "gemm bf16") and the
// attention kernels ("attention forward", "attention backward"). Times are inclusive: a GEMM inside a
// linear's backward counts in both. Only scopes entered outside OpenMP parallel regions count, so a
// kernel called per tile by another is part of its caller. When off, a scope costs one branch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace attn {

void profile_enable(bool on);
bool profile_enabled();
void profile_reset();

// One line per name, most time first: total ms, calls, ms per call, and the share of the total of
// `whole` (e.g. "step") when that name was recorded.
std::string profile_report(std::string_view whole = {});

class ProfileScope {
 public:
  explicit ProfileScope(std::string_view name) : name_(name), start_ns_(profile_enabled() ? now_ns() : -1) {}
  // "prefix name" (e.g. "backward", node name) without building the string unless enabled.
  ProfileScope(std::string_view prefix, std::string_view name)
      : prefix_(prefix), name_(name), start_ns_(profile_enabled() ? now_ns() : -1) {}
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  static int64_t now_ns();
  std::string_view prefix_, name_;
  int64_t start_ns_;  // -1: not recording
};

}  // namespace attn
