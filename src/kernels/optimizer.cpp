// kernels/optimizer.cpp — optimizer updates. Plain loops the compiler vectorises (omp simd; this
// file is built with -fno-math-errno so sqrt vectorises); memory-bound, so no hand SIMD.
#include "kernels/optimizer.h"

#include <attn/threads.h>

#include <cmath>
#include <vector>

namespace attn::kernels {

namespace {
constexpr int64_t kChunk = 1 << 14;
}

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  const float decay = 1.0f - s.lr * s.weight_decay;
  const float step_size = s.lr / s.bias_correction1;
  const float inv_bc2 = 1.0f / s.bias_correction2_sqrt;
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) {
      const float gi = g[i];
      const float mi = s.beta1 * m[i] + (1.0f - s.beta1) * gi;
      const float vi = s.beta2 * v[i] + (1.0f - s.beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * inv_bc2 + s.eps);
    }
  });
}

void sgd_update(float* p, const float* g, float* buf, int64_t n, float lr, float momentum, float dampening,
                float weight_decay, bool nesterov, bool first_step) {
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float d = g[i] + weight_decay * p[i];
      if (momentum != 0.0f) {
        const float bi = first_step ? d : momentum * buf[i] + (1.0f - dampening) * d;
        buf[i] = bi;
        d = nesterov ? d + momentum * bi : bi;
      }
      p[i] -= lr * d;
    }
  });
}

double sum_squares(const float* g, int64_t n) {
  const int64_t chunks = (n + 4095) / 4096;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallel_for(chunks, 16, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double s = 0;
      const int64_t end = std::min(n, (c + 1) * 4096);
      for (int64_t i = c * 4096; i < end; ++i) s += static_cast<double>(g[i]) * g[i];
      partial[static_cast<size_t>(c)] = s;
    }
  });
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

void scale_inplace(float* x, int64_t n, float s) {
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) x[i] *= s;
  });
}

namespace ref {
// The same formula one element at a time in double: the oracle for the test.
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  for (int64_t i = 0; i < n; ++i) {
    const double mi = double(s.beta1) * m[i] + (1.0 - s.beta1) * g[i];
    const double vi = double(s.beta2) * v[i] + (1.0 - s.beta2) * double(g[i]) * g[i];
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    const double pd = double(p[i]) * (1.0 - double(s.lr) * s.weight_decay);
    p[i] = static_cast<float>(pd - (double(s.lr) / s.bias_correction1) * mi /
                                       (std::sqrt(vi) / s.bias_correction2_sqrt + s.eps));
  }
}
}  // namespace ref

}  // namespace attn::kernels
