// kernels/ref/attention_ref.cpp — float64 naive attention (see attention_ref.h).
#include "kernels/ref/attention_ref.h"

#include <cmath>
#include <limits>
#include <vector>

namespace attn::kernels::ref {

bool attention_logit(const AttentionParams& p, int64_t b, int64_t h, int64_t i, int64_t j, double* s) {
  int64_t lo = 0, hi = 0;
  attention_key_band(p, b, i, &lo, &hi);
  if (j < lo || j >= hi) return false;
  double add = 0.0;
  if (p.mask != nullptr) {
    add = p.mask[b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2] + j * p.mask_stride[3]];
    if (std::isinf(add) && add < 0) return false;
  }
  const int64_t hk = h / (p.H / p.Hkv);
  const float* qi = p.q + b * p.q_stride[0] + h * p.q_stride[1] + i * p.q_stride[2];
  const float* kj = p.k + b * p.k_stride[0] + hk * p.k_stride[1] + j * p.k_stride[2];
  double dot = 0.0;
  for (int64_t d = 0; d < p.D; ++d) dot += static_cast<double>(qi[d]) * static_cast<double>(kj[d]);
  double x = static_cast<double>(p.scale) * dot;
  if (p.softcap > 0.0f) x = p.softcap * std::tanh(x / p.softcap);
  if (p.alibi_slopes != nullptr) x -= static_cast<double>(p.alibi_slopes[h]) * std::abs(static_cast<double>(i + p.offset - j));
  *s = x + add;
  return true;
}

namespace {

// One query row: logits -> max-subtracted softmax -> weighted sum of the visible values.
void attention_row(const AttentionParams& p, int64_t b, int64_t h, int64_t i, std::vector<double>& s,
                   std::vector<char>& visible, double* out, double* weights, double* lse) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  double m = neg_inf;
  for (int64_t j = 0; j < p.S; ++j) {
    visible[j] = attention_logit(p, b, h, i, j, &s[j]);
    if (visible[j] && s[j] > m) m = s[j];
  }
  for (int64_t d = 0; d < p.D; ++d) out[d] = 0.0;
  if (m == neg_inf) {  // fully masked row (or every logit -inf): zeros, lse = -inf
    if (weights != nullptr)
      for (int64_t j = 0; j < p.S; ++j) weights[j] = 0.0;
    if (lse != nullptr) *lse = neg_inf;
    return;
  }
  double sum = 0.0;
  for (int64_t j = 0; j < p.S; ++j) sum += visible[j] ? std::exp(s[j] - m) : 0.0;
  const int64_t hk = h / (p.H / p.Hkv);
  for (int64_t j = 0; j < p.S; ++j) {
    const double w = visible[j] ? std::exp(s[j] - m) / sum : 0.0;
    if (weights != nullptr) weights[j] = w;
    if (!visible[j]) continue;  // never read a masked value row
    const double wd = p.dropout_p > 0.0f ? w * attention_dropout_scale(p, b, h, i, j) : w;
    const float* vj = p.v + b * p.v_stride[0] + hk * p.v_stride[1] + j * p.v_stride[2];
    for (int64_t d = 0; d < p.D; ++d) out[d] += wd * static_cast<double>(vj[d]);
  }
  if (lse != nullptr) *lse = m + std::log(sum);
}

}  // namespace

void attention_forward(const AttentionParams& p, double* out, double* weights, double* lse) {
  std::vector<double> s(p.S);
  std::vector<char> visible(p.S);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.T; ++i) {
        const int64_t row = (b * p.H + h) * p.T + i;
        attention_row(p, b, h, i, s, visible, out + row * p.D, weights ? weights + row * p.S : nullptr,
                      lse ? lse + row : nullptr);
      }
}

}  // namespace attn::kernels::ref
