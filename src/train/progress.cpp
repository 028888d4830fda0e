// train/progress.cpp — see progress.h.
#include "train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace attn {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

ProgressBar::ProgressBar(int64_t first_step, int64_t total, int64_t tokens_per_step, int64_t log_interval,
                         bool enabled)
    : first_(first_step),
      total_(total),
      tokens_per_step_(tokens_per_step),
      log_interval_(log_interval > 0 ? log_interval : 1),
      enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(Clock::now()),
      last_draw_(start_) {}

double ProgressBar::elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

double ProgressBar::tokens_per_s() const {
  const double t = elapsed_s();
  return t > 0 ? static_cast<double>(steps_done_ * tokens_per_step_) / t : 0.0;
}

std::string ProgressBar::render(int64_t step, double loss, double lr) const {
  const double per_step = steps_done_ > 0 ? elapsed_s() / static_cast<double>(steps_done_) : 0.0;
  const double eta = per_step * static_cast<double>(total_ - step);
  std::string bar;
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * step / total_) : kWidth;
    bar = "[" + std::string(filled, '=') + (filled < kWidth ? ">" : "") +
          std::string(std::max(0, kWidth - filled - 1), ' ') + "] ";
  }
  return fmt::format("{}step {}/{} | loss {:.4f} | lr {:.2e} | {:.0f} tok/s | ETA {}", bar, step, total_, loss, lr,
                     tokens_per_s(), format_duration(eta));
}

void ProgressBar::update(int64_t step, double loss, double lr) {
  ++steps_done_;
  if (!enabled_) return;
  if (tty_) {
    // Redraw at most ~10 times a second, and always on the last step.
    const auto now = Clock::now();
    if (step != total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(stderr, "\r\x1b[K%s", render(step, loss, lr).c_str());
    bar_shown_ = true;
  } else if (step % log_interval_ == 0 || step == total_ || step == first_ + 1) {
    std::fprintf(stderr, "%s\n", render(step, loss, lr).c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::message(const std::string& line) {
  if (!enabled_) return;
  if (tty_ && bar_shown_) std::fputs("\r\x1b[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
  bar_shown_ = false;
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_ && tty_ && bar_shown_) std::fputs("\n", stderr);
  bar_shown_ = false;
}

}  // namespace attn
