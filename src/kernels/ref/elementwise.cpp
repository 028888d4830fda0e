// kernels/ref/elementwise.cpp — scalar float64 twins of kernels/elementwise.h (the test oracle).
#include <cmath>
#include <limits>

#include "kernels/elementwise.h"

namespace attn::kernels::ref {

double unary_value(UnaryOp op, double x) {
  constexpr double kSqrt2OverPi = 0.79788456080286535588;
  switch (op) {
    case UnaryOp::kNeg: return -x;
    case UnaryOp::kExp: return std::exp(x);
    case UnaryOp::kLog: return std::log(x);
    case UnaryOp::kTanh: return std::tanh(x);
    case UnaryOp::kSqrt: return std::sqrt(x);
    case UnaryOp::kRsqrt: return 1.0 / std::sqrt(x);
    case UnaryOp::kAbs: return std::fabs(x);
    case UnaryOp::kSquare: return x * x;
    case UnaryOp::kRelu: return std::isnan(x) || x > 0 ? x : 0.0;  // NaN stays NaN, as torch
    case UnaryOp::kSilu: return x / (1.0 + std::exp(-x));
    case UnaryOp::kSigmoid: return 1.0 / (1.0 + std::exp(-x));
    case UnaryOp::kGeluErf: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case UnaryOp::kGeluTanh: return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double binary_value(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd: return a + b;
    case BinaryOp::kSub: return a - b;
    case BinaryOp::kMul: return a * b;
    case BinaryOp::kDiv: return a / b;
    case BinaryOp::kMax: return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
    case BinaryOp::kMin: return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

void unary(UnaryOp op, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(unary_value(op, x[i]));
}

void binary(BinaryOp op, const RowLayout& l, const float* a, const float* b, float* y) {
  for (int64_t r = 0; r < l.rows; ++r) {
    const float* ar = a + row_offset(l, 0, r);
    const float* br = b + row_offset(l, 1, r);
    for (int64_t i = 0; i < l.n; ++i)
      y[r * l.n + i] = static_cast<float>(binary_value(op, ar[i * l.inner[0]], br[i * l.inner[1]]));
  }
}

void select(const RowLayout& l, const float* cond, const float* a, const float* b, float* y) {
  for (int64_t r = 0; r < l.rows; ++r) {
    const float* ar = a + row_offset(l, 0, r);
    const float* br = b + row_offset(l, 1, r);
    const float* cr = cond + row_offset(l, 2, r);
    for (int64_t i = 0; i < l.n; ++i)
      y[r * l.n + i] = cr[i * l.inner[2]] != 0.0f ? ar[i * l.inner[0]] : br[i * l.inner[1]];
  }
}

}  // namespace attn::kernels::ref
