// kernels/optimizer.cpp — the SGD update and in-place scaling: plain loops threaded with parallel_for
// (SGD is not on any hot path yet). AdamW and Σg² are SIMD, in cpu/optimizer.cpp.
#include "kernels/optimizer.h"

#include <attn/threads.h>

namespace attn::kernels {

namespace {
constexpr int64_t kChunk = 1 << 14;
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

void scale_inplace(float* x, int64_t n, float s) {
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) x[i] *= s;
  });
}

}  // namespace attn::kernels
