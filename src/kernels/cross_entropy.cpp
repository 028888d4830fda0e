// kernels/cross_entropy.cpp — built on the SIMD (log-)softmax row kernels; rows run in parallel in
// chunks, each chunk through a [chunk,V] scratch buffer.
#include "kernels/cross_entropy.h"

#include <attn/threads.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/softmax.h"

namespace attn::kernels {

namespace {
constexpr int64_t kRowsPerChunk = 16;
}

void cross_entropy_forward(const float* logits, const int64_t* targets, float* row_loss, int64_t n, int64_t v,
                           int64_t ignore_index, float label_smoothing) {
  parallel_for(n, kRowsPerChunk, [&](int64_t r0, int64_t r1) {
    std::vector<float> logp(static_cast<size_t>((r1 - r0) * v));
    log_softmax_rows(logits + r0 * v, logp.data(), r1 - r0, v);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t t = targets[r];
      if (t == ignore_index) {
        row_loss[r] = 0.0f;
        continue;
      }
      const float* lp = logp.data() + (r - r0) * v;
      double loss = -(1.0 - label_smoothing) * lp[t];
      if (label_smoothing != 0.0f) {
        double s = 0;
        for (int64_t j = 0; j < v; ++j) s += lp[j];
        loss -= label_smoothing * s / static_cast<double>(v);
      }
      row_loss[r] = static_cast<float>(loss);
    }
  });
}

void cross_entropy_backward(const float* logits, const int64_t* targets, float* dlogits, int64_t n, int64_t v,
                            int64_t ignore_index, float label_smoothing, float scale) {
  parallel_for(n, kRowsPerChunk, [&](int64_t r0, int64_t r1) {
    softmax_rows(logits + r0 * v, dlogits + r0 * v, r1 - r0, v);
    const float uniform = label_smoothing / static_cast<float>(v);
    for (int64_t r = r0; r < r1; ++r) {
      float* d = dlogits + r * v;
      const int64_t t = targets[r];
      if (t == ignore_index) {
        for (int64_t j = 0; j < v; ++j) d[j] = 0.0f;
        continue;
      }
      for (int64_t j = 0; j < v; ++j) d[j] = (d[j] - uniform) * scale;
      d[t] -= (1.0f - label_smoothing) * scale;
    }
  });
}

namespace ref {

void cross_entropy_forward(const float* logits, const int64_t* targets, float* row_loss, int64_t n, int64_t v,
                           int64_t ignore_index, float label_smoothing) {
  for (int64_t r = 0; r < n; ++r) {
    const float* x = logits + r * v;
    if (targets[r] == ignore_index) {
      row_loss[r] = 0.0f;
      continue;
    }
    double m = -std::numeric_limits<double>::infinity(), s = 0, sum_x = 0;
    for (int64_t j = 0; j < v; ++j) m = std::max(m, double(x[j]));
    for (int64_t j = 0; j < v; ++j) s += std::exp(double(x[j]) - m), sum_x += x[j];
    const double lse = m + std::log(s);
    const double nll = lse - x[targets[r]];
    const double smooth = lse - sum_x / static_cast<double>(v);
    row_loss[r] = static_cast<float>((1.0 - label_smoothing) * nll + label_smoothing * smooth);
  }
}

void cross_entropy_backward(const float* logits, const int64_t* targets, float* dlogits, int64_t n, int64_t v,
                            int64_t ignore_index, float label_smoothing, float scale) {
  for (int64_t r = 0; r < n; ++r) {
    const float* x = logits + r * v;
    float* d = dlogits + r * v;
    if (targets[r] == ignore_index) {
      for (int64_t j = 0; j < v; ++j) d[j] = 0.0f;
      continue;
    }
    double m = -std::numeric_limits<double>::infinity(), s = 0;
    for (int64_t j = 0; j < v; ++j) m = std::max(m, double(x[j]));
    for (int64_t j = 0; j < v; ++j) s += std::exp(double(x[j]) - m);
    for (int64_t j = 0; j < v; ++j) {
      double g = std::exp(double(x[j]) - m) / s - label_smoothing / static_cast<double>(v);
      if (j == targets[r]) g -= 1.0 - label_smoothing;
      d[j] = static_cast<float>(g * scale);
    }
  }
}

}  // namespace ref
}  // namespace attn::kernels
