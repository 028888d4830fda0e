// core/profile.cpp — the named-scope wall-time profile (attn/profile.h).
#include <attn/profile.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>

namespace attn {
namespace {
struct Entry {
  int64_t ns = 0, calls = 0;
};
struct Profile {
  std::mutex mu;
  std::map<std::string, Entry, std::less<>> entries;
};
Profile& profile() {
  static Profile p;
  return p;
}
std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> on{[] {
    const char* env = std::getenv("ATTN_PROFILE");
    return env != nullptr && *env != '\0' && std::string_view(env) != "0";
  }()};
  return on;
}
}  // namespace

void profile_enable(bool on) { enabled_flag().store(on, std::memory_order_relaxed); }
bool profile_enabled() { return enabled_flag().load(std::memory_order_relaxed); }

void profile_reset() {
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  p.entries.clear();
}

int64_t ProfileScope::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ProfileScope::~ProfileScope() {
  if (start_ns_ < 0 || omp_in_parallel()) return;
  const int64_t dt = now_ns() - start_ns_;
  std::string key = prefix_.empty() ? std::string(name_) : fmt::format("{} {}", prefix_, name_);
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  Entry& e = p.entries[std::move(key)];
  e.ns += dt;
  ++e.calls;
}

std::string profile_report(std::string_view whole) {
  Profile& p = profile();
  std::vector<std::pair<std::string, Entry>> rows;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    rows.assign(p.entries.begin(), p.entries.end());
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.ns > b.second.ns; });
  const auto total = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.first == whole; });
  const double whole_ms = total != rows.end() ? total->second.ns * 1e-6 : 0.0;
  std::string out = fmt::format("{:<32} {:>11} {:>8} {:>10}{}\n", "scope (inclusive wall time)", "total ms", "calls",
                                "ms/call", whole_ms > 0 ? fmt::format(" {:>7}", fmt::format("% {}", whole)) : "");
  for (const auto& [name, e] : rows) {
    const double ms = e.ns * 1e-6;
    out += fmt::format("{:<32} {:>11.1f} {:>8} {:>10.3f}", name, ms, e.calls, ms / static_cast<double>(e.calls));
    if (whole_ms > 0) out += fmt::format(" {:>6.1f}%", 100.0 * ms / whole_ms);
    out += '\n';
  }
  return out;
}

}  // namespace attn
