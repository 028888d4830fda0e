// kernels/ref/optimizer.cpp — scalar float64 twins of the SIMD optimizer kernels (kernels/optimizer.h).
#include <cmath>

#include "kernels/optimizer.h"

namespace attn::kernels::ref {

// The same formula one element at a time in double: the oracle for the test.
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  for (int64_t i = 0; i < n; ++i) {
    const double gi = double(g[i]) * s.grad_scale;
    const double mi = double(s.beta1) * m[i] + (1.0 - s.beta1) * gi;
    const double vi = double(s.beta2) * v[i] + (1.0 - s.beta2) * gi * gi;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    const double pd = double(p[i]) * (1.0 - double(s.lr) * s.weight_decay);
    p[i] = static_cast<float>(pd - (double(s.lr) / s.bias_correction1) * mi /
                                       (std::sqrt(vi) / s.bias_correction2_sqrt + s.eps));
  }
}

double sum_squares(const float* g, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
  return s;
}

}  // namespace attn::kernels::ref
