// kernels/ref/norm.cpp — scalar float64 twins of kernels/norm.h.
#include <cmath>

#include "kernels/norm.h"

namespace attn::kernels::ref {

void layer_norm_rows(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                     int64_t rows, int64_t C, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    double m = 0, v = 0;
    for (int64_t c = 0; c < C; ++c) m += xr[c];
    m /= static_cast<double>(C);
    for (int64_t c = 0; c < C; ++c) v += (xr[c] - m) * (xr[c] - m);
    const double rs = 1.0 / std::sqrt(v / static_cast<double>(C) + eps);
    for (int64_t c = 0; c < C; ++c) {
      const double n = (xr[c] - m) * rs;
      y[r * C + c] = static_cast<float>(n * (w ? w[c] : 1.0) + (b ? b[c] : 0.0));
    }
    if (mean) mean[r] = static_cast<float>(m);
    if (rstd) rstd[r] = static_cast<float>(rs);
  }
}

void rms_norm_rows(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t C, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(xr[c]) * xr[c];
    const double rs = 1.0 / std::sqrt(ss / static_cast<double>(C) + eps);
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = static_cast<float>(xr[c] * rs * (w ? w[c] : 1.0));
    if (rstd) rstd[r] = static_cast<float>(rs);
  }
}

}  // namespace attn::kernels::ref
