// optim/schedule.cpp — learning-rate schedules as pure functions of the step.
#include <attn/optim.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace attn {

WarmupCosine::WarmupCosine(const WarmupCosineConfig& cfg) : cfg_(cfg) {
  ATTN_CHECK(cfg.warmup_steps >= 0 && cfg.total_steps > 0 && cfg.warmup_steps <= cfg.total_steps, ConfigError,
             "WarmupCosine: need 0 <= warmup_steps ({}) <= total_steps ({}) and total_steps > 0", cfg.warmup_steps,
             cfg.total_steps);
}

double WarmupCosine::lr(int64_t step) const {
  if (step < cfg_.warmup_steps) return cfg_.base_lr * static_cast<double>(step + 1) / static_cast<double>(cfg_.warmup_steps);
  if (step >= cfg_.total_steps) return cfg_.min_lr;
  const double span = static_cast<double>(std::max<int64_t>(cfg_.total_steps - cfg_.warmup_steps, 1));
  const double progress = static_cast<double>(step - cfg_.warmup_steps) / span;
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return cfg_.min_lr + cosine * (cfg_.base_lr - cfg_.min_lr);
}

InverseSqrt::InverseSqrt(const InverseSqrtConfig& cfg) : cfg_(cfg) {
  ATTN_CHECK(cfg.warmup_steps > 0, ConfigError, "InverseSqrt: warmup_steps must be positive, got {}", cfg.warmup_steps);
}

double InverseSqrt::lr(int64_t step) const {
  const double s = static_cast<double>(step + 1);
  return cfg_.base_lr * std::min(1.0 / std::sqrt(s), s * std::pow(static_cast<double>(cfg_.warmup_steps), -1.5));
}

}  // namespace attn
