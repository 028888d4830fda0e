// kernels/ref/reduce.cpp — scalar float64 twins of kernels/reduce.h.
#include <cmath>
#include <limits>

#include "kernels/reduce.h"

namespace attn::kernels::ref {

void reduce_axis(ReduceOp op, const float* x, float* y, int64_t outer, int64_t R, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* p = x + o * R * inner + i;
      double acc = op == ReduceOp::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
      for (int64_t r = 0; r < R; ++r) {
        const double v = p[r * inner];
        if (op == ReduceOp::kMax)
          acc = std::isnan(v) || std::isnan(acc) ? NAN : std::max(acc, v);
        else
          acc += v;
      }
      if (op == ReduceOp::kMean) acc = R > 0 ? acc / static_cast<double>(R) : NAN;
      y[o * inner + i] = static_cast<float>(acc);
    }
  }
}

double sum_all(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

}  // namespace attn::kernels::ref
