// kernels/grad.cpp — see grad.h. Scalar loops threaded with parallel_for; the element-wise ones are
// memory-bound apart from GELU's erf/exp.
#include "kernels/grad.h"

#include <attn/threads.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace attn::kernels {

namespace {
constexpr int64_t kGrain = 1 << 13;
constexpr int64_t kRowChunk = 64;  // rows per partial sum of dw/db

inline float unary_derivative(UnaryOp op, float x, float y) {
  switch (op) {
    case UnaryOp::kNeg: return -1.0f;
    case UnaryOp::kExp: return y;
    case UnaryOp::kLog: return 1.0f / x;
    case UnaryOp::kTanh: return 1.0f - y * y;
    case UnaryOp::kSqrt: return 0.5f / y;
    case UnaryOp::kRsqrt: return -0.5f * y * y * y;
    case UnaryOp::kAbs: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case UnaryOp::kSquare: return 2.0f * x;
    case UnaryOp::kRelu: return x > 0.0f ? 1.0f : 0.0f;
    case UnaryOp::kSigmoid: return y * (1.0f - y);
    case UnaryOp::kSilu: {
      const float s = 1.0f / (1.0f + std::exp(-x));
      return s * (1.0f + x * (1.0f - s));
    }
    case UnaryOp::kGeluErf: {  // Φ(x) + x·φ(x)
      const float cdf = 0.5f * (1.0f + std::erf(x * static_cast<float>(std::numbers::sqrt2 / 2)));
      const float pdf = std::exp(-0.5f * x * x) * static_cast<float>(1.0 / std::sqrt(2.0 * std::numbers::pi));
      return cdf + x * pdf;
    }
    case UnaryOp::kGeluTanh: {  // d/dx of 0.5·x·(1 + tanh(k(x + 0.044715x³)))
      const float k = static_cast<float>(std::sqrt(2.0 / std::numbers::pi));
      const float t = std::tanh(k * (x + 0.044715f * x * x * x));
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * 0.044715f * x * x);
    }
  }
  return 0.0f;
}

// Sums per-chunk partials [chunks, C] into out [C] in chunk order.
void combine_partials(const std::vector<float>& partial, int64_t chunks, int64_t C, float* out) {
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t k = 0; k < chunks; ++k) s += partial[static_cast<size_t>(k * C + c)];
    out[c] = static_cast<float>(s);
  }
}
}  // namespace

void unary_backward(UnaryOp op, const float* x, const float* y, const float* g, float* dx, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = g[i] * unary_derivative(op, x ? x[i] : 0.0f, y ? y[i] : 0.0f);
  });
}

void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* g,
                         float* dx, float* dw, float* db, int64_t rows, int64_t C) {
  const int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<float> pw(dw ? static_cast<size_t>(chunks * C) : 0), pb(db ? static_cast<size_t>(chunks * C) : 0);
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      float* pwc = dw ? &pw[static_cast<size_t>(ch * C)] : nullptr;
      float* pbc = db ? &pb[static_cast<size_t>(ch * C)] : nullptr;
      for (int64_t r = ch * kRowChunk; r < std::min(rows, (ch + 1) * kRowChunk); ++r) {
        const float* xr = x + r * C;
        const float* gr = g + r * C;
        const float mu = mean[r], rs = rstd[r];
        double sum_d = 0, sum_dx = 0;  // Σ dxhat, Σ dxhat·xhat
        for (int64_t c = 0; c < C; ++c) {
          const float xhat = (xr[c] - mu) * rs;
          const float d = gr[c] * (w ? w[c] : 1.0f);
          sum_d += d;
          sum_dx += double(d) * xhat;
          if (pwc) pwc[c] += gr[c] * xhat;
          if (pbc) pbc[c] += gr[c];
        }
        const float md = static_cast<float>(sum_d / C), mdx = static_cast<float>(sum_dx / C);
        float* dxr = dx + r * C;
        for (int64_t c = 0; c < C; ++c) {
          const float xhat = (xr[c] - mu) * rs;
          dxr[c] = rs * (gr[c] * (w ? w[c] : 1.0f) - md - xhat * mdx);
        }
      }
    }
  });
  if (dw) combine_partials(pw, chunks, C, dw);
  if (db) combine_partials(pb, chunks, C, db);
}

void rms_norm_backward(const float* x, const float* w, const float* g, float* dx, float* dw, int64_t rows, int64_t C,
                       float eps) {
  const int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<float> pw(dw ? static_cast<size_t>(chunks * C) : 0);
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      float* pwc = dw ? &pw[static_cast<size_t>(ch * C)] : nullptr;
      for (int64_t r = ch * kRowChunk; r < std::min(rows, (ch + 1) * kRowChunk); ++r) {
        const float* xr = x + r * C;
        const float* gr = g + r * C;
        double ss = 0, dot = 0;
        for (int64_t c = 0; c < C; ++c) ss += double(xr[c]) * xr[c];
        const float rr = static_cast<float>(1.0 / std::sqrt(ss / C + eps));
        for (int64_t c = 0; c < C; ++c) {
          const float d = gr[c] * (w ? w[c] : 1.0f);
          dot += double(d) * xr[c];
          if (pwc) pwc[c] += gr[c] * xr[c] * rr;
        }
        const float k = static_cast<float>(dot / C) * rr * rr;
        float* dxr = dx + r * C;
        for (int64_t c = 0; c < C; ++c) dxr[c] = rr * (gr[c] * (w ? w[c] : 1.0f) - xr[c] * k);
      }
    }
  });
  if (dw) combine_partials(pw, chunks, C, dw);
}

void embedding_backward(const int64_t* ids, int64_t n, const float* g, int64_t V, int64_t C, float* dtable) {
  // Each thread owns a range of columns and walks every position in order: no races, fixed order.
  parallel_for(V * C == 0 ? 0 : C, 64, [&](int64_t c0, int64_t c1) {
    for (int64_t v = 0; v < V; ++v)
      for (int64_t c = c0; c < c1; ++c) dtable[v * C + c] = 0.0f;
    for (int64_t p = 0; p < n; ++p) {
      float* row = dtable + ids[p] * C;
      const float* gp = g + p * C;
      for (int64_t c = c0; c < c1; ++c) row[c] += gp[c];
    }
  });
}

void max_backward(const float* x, const float* g, float* dx, int64_t outer, int64_t R, int64_t inner) {
  parallel_for(outer, 1, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        int64_t best = 0;
        for (int64_t r = 1; r < R; ++r)
          if (x[(o * R + r) * inner + i] > x[(o * R + best) * inner + i]) best = r;
        for (int64_t r = 0; r < R; ++r) dx[(o * R + r) * inner + i] = r == best ? g[o * inner + i] : 0.0f;
      }
    }
  });
}

}  // namespace attn::kernels
