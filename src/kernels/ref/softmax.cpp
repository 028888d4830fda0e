// kernels/ref/softmax.cpp — scalar float64 twins of kernels/softmax.h.
#include <cmath>
#include <limits>

#include "kernels/softmax.h"

namespace attn::kernels::ref {
namespace {
// Returns the row maximum (NaN if any element is NaN).
double row_max(const float* x, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) return NAN;
    m = std::max(m, static_cast<double>(x[i]));
  }
  return m;
}
}  // namespace

void softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const double m = row_max(xr, n);
    if (m == -INFINITY) {
      for (int64_t i = 0; i < n; ++i) yr[i] = 0.0f;
      continue;
    }
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(xr[i] - m);
    for (int64_t i = 0; i < n; ++i) yr[i] = static_cast<float>(std::exp(xr[i] - m) / s);
  }
}

void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const double m = row_max(xr, n);
    if (m == -INFINITY) {
      for (int64_t i = 0; i < n; ++i) yr[i] = -INFINITY;
      continue;
    }
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(xr[i] - m);
    const double lse = m + std::log(s);
    for (int64_t i = 0; i < n; ++i) yr[i] = static_cast<float>(xr[i] - lse);
  }
}

}  // namespace attn::kernels::ref
