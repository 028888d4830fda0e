// kernels/ref/grad.cpp — scalar float64 twins of the SIMD backward kernels in kernels/grad.h (the test
// oracle): the textbook derivative of each unary op, and the LayerNorm/RMSNorm backward with every
// sum in double.
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "kernels/grad.h"

namespace attn::kernels::ref {

double unary_derivative(UnaryOp op, double x, double y) {
  constexpr double kK = 0.79788456080286535588, kC = 0.044715;  // √(2/π), GELU-tanh's cubic term
  switch (op) {
    case UnaryOp::kNeg: return -1.0;
    case UnaryOp::kExp: return y;
    case UnaryOp::kLog: return 1.0 / x;
    case UnaryOp::kTanh: return 1.0 - y * y;
    case UnaryOp::kSqrt: return 0.5 / y;
    case UnaryOp::kRsqrt: return -0.5 * y * y * y;
    case UnaryOp::kAbs: return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);  // 0 at ±0 and NaN
    case UnaryOp::kSquare: return 2.0 * x;
    case UnaryOp::kRelu: return x > 0 ? 1.0 : 0.0;                   // 0 at 0 and NaN
    case UnaryOp::kSigmoid: return y * (1.0 - y);
    case UnaryOp::kSilu: {
      const double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1.0 + x * (1.0 - s));
    }
    case UnaryOp::kGeluErf:  // Φ(x) + x·φ(x)
      return 0.5 * (1.0 + std::erf(x / std::numbers::sqrt2)) +
             x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
    case UnaryOp::kGeluTanh: {  // d/dx of 0.5·x·(1 + tanh(k(x + c·x³)))
      const double t = std::tanh(kK * (x + kC * x * x * x));
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kK * (1.0 + 3.0 * kC * x * x);
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

void unary_backward(UnaryOp op, const float* x, const float* y, const float* g, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dx[i] = static_cast<float>(g[i] * unary_derivative(op, x ? x[i] : 0.0, y ? y[i] : 0.0));
}

void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* g,
                         float* dx, float* dw, float* db, int64_t rows, int64_t C) {
  std::vector<double> sw(static_cast<size_t>(C), 0.0), sb(static_cast<size_t>(C), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    const float* gr = g + r * C;
    const double mu = mean[r], rs = rstd[r];
    double sd = 0, sdx = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (xr[c] - mu) * rs, d = gr[c] * (w ? w[c] : 1.0);
      sd += d;
      sdx += d * xhat;
      sw[static_cast<size_t>(c)] += gr[c] * xhat;
      sb[static_cast<size_t>(c)] += gr[c];
    }
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (xr[c] - mu) * rs, d = gr[c] * (w ? w[c] : 1.0);
      dx[r * C + c] = static_cast<float>(rs * (d - sd / C - xhat * sdx / C));
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    if (dw) dw[c] = static_cast<float>(sw[static_cast<size_t>(c)]);
    if (db) db[c] = static_cast<float>(sb[static_cast<size_t>(c)]);
  }
}

void rms_norm_backward(const float* x, const float* w, const float* g, float* dx, float* dw, int64_t rows, int64_t C,
                       float eps) {
  std::vector<double> sw(static_cast<size_t>(C), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    const float* gr = g + r * C;
    double ss = 0, dot = 0;
    for (int64_t c = 0; c < C; ++c) {
      ss += double(xr[c]) * xr[c];
      dot += gr[c] * (w ? w[c] : 1.0) * xr[c];
    }
    const double rr = 1.0 / std::sqrt(ss / C + eps), k = dot / C * rr * rr;
    for (int64_t c = 0; c < C; ++c) {
      sw[static_cast<size_t>(c)] += double(gr[c]) * xr[c] * rr;
      dx[r * C + c] = static_cast<float>(rr * (gr[c] * (w ? w[c] : 1.0) - xr[c] * k));
    }
  }
  if (dw)
    for (int64_t c = 0; c < C; ++c) dw[c] = static_cast<float>(sw[static_cast<size_t>(c)]);
}

}  // namespace attn::kernels::ref
