// kernels/optimizer.h — element-wise optimizer updates over raw f32 arrays (in place), and Σg² for
// gradient clipping. Each update element is independent, so any split over threads gives identical
// results. AdamW and Σg² are SIMD (cpu/optimizer.cpp); SGD and scaling are plain loops.
#pragma once

#include <cstdint>

namespace attn::kernels {

struct AdamWStep {
  float lr, beta1, beta2, eps, weight_decay;
  float bias_correction1;       // 1 - beta1^t
  float bias_correction2_sqrt;  // sqrt(1 - beta2^t)
  float grad_scale = 1.0f;      // g is read as g·grad_scale (gradient clipping's factor, no pass of its own)
};

// p, g, m, v: [n]. torch.optim.AdamW (single-tensor path), g scaled by grad_scale first:
//   p *= 1 - lr·wd;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;
//   p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps)
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s);

// torch.optim.SGD: g' = g + wd·p; buf = μ·buf + (1-damp)·g' (buf = g' on the first step);
// d = nesterov ? g' + μ·buf : buf; p -= lr·d.  buf may be null when momentum is 0.
void sgd_update(float* p, const float* g, float* buf, int64_t n, float lr, float momentum, float dampening,
                float weight_decay, bool nesterov, bool first_step);

// Σ g² in double (f64 vector lanes) over fixed 4096-element chunks combined in order: independent of
// the thread count (the lane count of the SIMD target fixes the order inside a chunk).
double sum_squares(const float* g, int64_t n);

void scale_inplace(float* x, int64_t n, float s);

// Scalar float64 twins (the test oracle).
namespace ref {
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s);
double sum_squares(const float* g, int64_t n);  // one running double sum, in order
}  // namespace ref

}  // namespace attn::kernels
