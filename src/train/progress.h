// train/progress.h — the training progress bar on stderr: step, loss, tokens/s, ETA. On a terminal
// one line redrawn in place; otherwise (a log file, CI) a plain line every log interval.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace attn {

class ProgressBar {
 public:
  // Steps first_step+1 .. total will be reported; tokens_per_step for the tokens/s figure.
  ProgressBar(int64_t first_step, int64_t total, int64_t tokens_per_step, int64_t log_interval, bool enabled);
  // After each step.
  void update(int64_t step, double loss, double lr);
  // A line of its own (evaluation results, checkpoint notes) without breaking the bar.
  void message(const std::string& line);
  void finish();
  double tokens_per_s() const;
  double elapsed_s() const;

 private:
  std::string render(int64_t step, double loss, double lr) const;

  using Clock = std::chrono::steady_clock;
  int64_t first_, total_, tokens_per_step_, log_interval_;
  bool enabled_, tty_;
  Clock::time_point start_, last_draw_;
  int64_t steps_done_ = 0;
  bool bar_shown_ = false;
};

// "1h02m", "3m05s", "42s"
std::string format_duration(double seconds);

}  // namespace attn
