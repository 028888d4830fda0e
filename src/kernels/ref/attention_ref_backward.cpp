// kernels/ref/attention_ref_backward.cpp — float64 naive attention backward (see attention_ref_backward.h).
#include "kernels/ref/attention_ref_backward.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/ref/attention_ref.h"

namespace attn::kernels::ref {
namespace {

// Scratch for one query row: logits, visibility, probabilities, dO·v.
struct RowScratch {
  std::vector<double> s, pr, dp;
  std::vector<char> visible;
  explicit RowScratch(int64_t S) : s(S), pr(S), dp(S), visible(S) {}
};

// d(softcap · tanh(x / softcap)) / dx at x = scale <q_i, k_j>; 1 without softcap.
double softcap_slope(const AttentionParams& p, const float* qi, const float* kj) {
  if (p.softcap <= 0.0f) return 1.0;
  double dot = 0.0;
  for (int64_t d = 0; d < p.D; ++d) dot += static_cast<double>(qi[d]) * static_cast<double>(kj[d]);
  const double t = std::tanh(static_cast<double>(p.scale) * dot / p.softcap);
  return 1.0 - t * t;
}

// Gradients of one query row (b, h, i): adds into dq_row [D] and dk, dv [B,Hkv,S,D] (dense).
void backward_row(const AttentionParams& p, int64_t b, int64_t h, int64_t i, const float* dout, RowScratch& r,
                  double* dq_row, double* dk, double* dv) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < p.S; ++j) {
    r.visible[j] = attention_logit(p, b, h, i, j, &r.s[j]);
    if (r.visible[j]) m = std::max(m, r.s[j]);
  }
  if (m == -std::numeric_limits<double>::infinity()) return;  // fully masked: no gradient at all
  double sum = 0.0;
  for (int64_t j = 0; j < p.S; ++j) sum += r.visible[j] ? std::exp(r.s[j] - m) : 0.0;
  const int64_t hk = h / (p.H / p.Hkv);
  const float* qi = p.q + b * p.q_stride[0] + h * p.q_stride[1] + i * p.q_stride[2];
  const float* go = dout + b * p.o_stride[0] + h * p.o_stride[1] + i * p.o_stride[2];
  const auto k_row = [&](int64_t j) { return p.k + b * p.k_stride[0] + hk * p.k_stride[1] + j * p.k_stride[2]; };
  const auto v_row = [&](int64_t j) { return p.v + b * p.v_stride[0] + hk * p.v_stride[1] + j * p.v_stride[2]; };
  // Pass 1: probabilities, dV, dP and delta = sum_j p_j dp_j.
  double delta = 0.0;
  for (int64_t j = 0; j < p.S; ++j) {
    if (!r.visible[j]) continue;  // never read a masked key or value row
    r.pr[j] = std::exp(r.s[j] - m) / sum;
    const double z = p.dropout_p > 0.0f ? attention_dropout_scale(p, b, h, i, j) : 1.0;
    const float* vj = v_row(j);
    double* dvj = dv + ((b * p.Hkv + hk) * p.S + j) * p.D;
    double dot = 0.0;
    for (int64_t d = 0; d < p.D; ++d) {
      dvj[d] += r.pr[j] * z * go[d];
      dot += static_cast<double>(go[d]) * vj[d];
    }
    r.dp[j] = z * dot;
    delta += r.pr[j] * r.dp[j];
  }
  // Pass 2: dS through softcap into dQ and dK.
  const double scale = p.scale;
  for (int64_t j = 0; j < p.S; ++j) {
    if (!r.visible[j]) continue;
    const float* kj = k_row(j);
    const double dx = r.pr[j] * (r.dp[j] - delta) * softcap_slope(p, qi, kj);
    double* dkj = dk + ((b * p.Hkv + hk) * p.S + j) * p.D;
    for (int64_t d = 0; d < p.D; ++d) {
      dq_row[d] += scale * dx * kj[d];
      dkj[d] += scale * dx * qi[d];
    }
  }
}

}  // namespace

void attention_backward(const AttentionParams& p, const float* dout, double* dq, double* dk, double* dv) {
  std::fill(dq, dq + p.B * p.H * p.T * p.D, 0.0);
  std::fill(dk, dk + p.B * p.Hkv * p.S * p.D, 0.0);
  std::fill(dv, dv + p.B * p.Hkv * p.S * p.D, 0.0);
  RowScratch r(p.S);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.T; ++i)
        backward_row(p, b, h, i, dout, r, dq + ((b * p.H + h) * p.T + i) * p.D, dk, dv);
}

}  // namespace attn::kernels::ref
