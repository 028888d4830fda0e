// tests/kernels/attention_cases.h — what the attention kernel tests (forward and backward) share:
// the case description, the seeded inputs and params of a case (Problem), and the case lists both
// run.
//
//   for (const auto& [c, seed] : attention_cases::boundary_tiles()) check_case(c, seed);
//   attention_cases::Problem pr(c, seed, /*with_dout=*/true);   // pr.p points into pr's buffers
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/attention_params.h"

namespace attn::kernels::attention_cases {

enum class MaskKind { kNone, kBoolTS, kAddB1TS, kBoolHTS };

struct Case {
  int64_t B = 1, H = 1, Hkv = 1, T = 1, S = 1, D = 1;
  bool causal = false;
  int64_t offset_shift = 0;  // offset = S - T + shift
  bool lengths = false;
  MaskKind mask = MaskKind::kNone;
  int64_t window_left = -1, window_right = -1;
  bool alibi = false;
  float softcap = 0.0f;
  float dropout = 0.0f;
  float logit_scale = 1.0f;  // multiplies q (1e4-ish logits)
  bool nan_in_masked = false;
  bool grid = false;  // inputs on a 2^-8 grid (exact finite-difference steps; the backward's check)

  std::string str() const {
    return "B" + std::to_string(B) + " H" + std::to_string(H) + "/" + std::to_string(Hkv) + " T" + std::to_string(T) +
           " S" + std::to_string(S) + " D" + std::to_string(D) + (causal ? " causal" : "") +
           (offset_shift ? " shift" + std::to_string(offset_shift) : "") + (lengths ? " lengths" : "") + " mask" +
           std::to_string(static_cast<int>(mask)) + " win" + std::to_string(window_left) + "," +
           std::to_string(window_right) + (alibi ? " alibi" : "") + (softcap > 0 ? " softcap" : "") +
           (dropout > 0 ? " dropout" : "") + " qx" + std::to_string(logit_scale) + (nan_in_masked ? " nan" : "");
  }
};

// Whether query i may see key j (band and mask only; no dot product, unlike ref::attention_logit).
inline bool visible(const AttentionParams& p, int64_t b, int64_t h, int64_t i, int64_t j) {
  int64_t lo, hi;
  attention_key_band(p, b, i, &lo, &hi);
  if (j < lo || j >= hi) return false;
  return p.mask == nullptr || p.mask[b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2] +
                                     j * p.mask_stride[3]] != -std::numeric_limits<float>::infinity();
}

// Inputs (and, for the backward, dout) and params of one case, drawn from `seed` in a fixed order
// (q, k, v, dout, then lengths and mask); the buffers own the data the params point into.
struct Problem {
  Case c;
  std::vector<float> q, k, v, dout, mask, slopes;
  std::vector<int64_t> lengths;
  AttentionParams p;

  Problem(const Case& cs, uint32_t seed, bool with_dout = false) : c(cs) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const auto draw = [&] { return c.grid ? std::round(nd(gen) * 256.0f) / 256.0f : nd(gen); };
    q.resize(c.B * c.H * c.T * c.D);
    k.resize(c.B * c.Hkv * c.S * c.D), v.resize(k.size());
    if (with_dout) dout.resize(q.size());
    for (float& x : q) x = draw() * c.logit_scale;
    for (auto* t : {&k, &v, &dout})
      for (float& x : *t) x = draw();
    p.q = q.data(), p.k = k.data(), p.v = v.data();
    p.B = c.B, p.H = c.H, p.Hkv = c.Hkv, p.T = c.T, p.S = c.S, p.D = c.D;
    const int64_t qs[3] = {c.H * c.T * c.D, c.T * c.D, c.D}, ks[3] = {c.Hkv * c.S * c.D, c.S * c.D, c.D};
    std::copy_n(qs, 3, p.q_stride), std::copy_n(qs, 3, p.o_stride);
    std::copy_n(ks, 3, p.k_stride), std::copy_n(ks, 3, p.v_stride);
    p.scale = 1.0f / std::sqrt(static_cast<float>(c.D));
    p.causal = c.causal;
    p.offset = c.S - c.T + c.offset_shift;
    p.window_left = c.window_left, p.window_right = c.window_right;
    p.softcap = c.softcap;
    p.dropout_p = c.dropout, p.dropout_seed = seed, p.dropout_offset = 7;
    if (c.lengths) {
      std::uniform_int_distribution<int64_t> ld(0, c.S);
      for (int64_t b = 0; b < c.B; ++b) lengths.push_back(b == 0 ? c.S / 2 : ld(gen));
      p.key_lengths = lengths.data();
    }
    if (c.alibi) {
      for (int64_t h = 0; h < c.H; ++h) slopes.push_back(std::pow(2.0f, -8.0f * (h + 1) / c.H));
      p.alibi_slopes = slopes.data();
    }
    make_mask(gen);
    if (c.nan_in_masked) poison_masked_keys();
  }

  void make_mask(std::mt19937& gen) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    std::uniform_real_distribution<float> ud(0.0f, 1.0f);
    switch (c.mask) {
      case MaskKind::kNone: return;
      case MaskKind::kBoolTS:  // [T,S]: 0/-inf, ~30% masked
        mask.resize(c.T * c.S);
        for (float& x : mask) x = ud(gen) < 0.3f ? -kInf : 0.0f;
        p.mask_stride[2] = c.S, p.mask_stride[3] = 1;
        break;
      case MaskKind::kAddB1TS:  // [B,1,T,S]: additive values, some -inf
        mask.resize(c.B * c.T * c.S);
        for (float& x : mask) x = ud(gen) < 0.1f ? -kInf : 2.0f * ud(gen) - 1.0f;
        p.mask_stride[0] = c.T * c.S, p.mask_stride[2] = c.S, p.mask_stride[3] = 1;
        break;
      case MaskKind::kBoolHTS:  // [H,1,S] broadcast over T: per-head key masks
        mask.resize(c.H * c.S);
        for (float& x : mask) x = ud(gen) < 0.5f ? -kInf : 0.0f;
        p.mask_stride[1] = c.S, p.mask_stride[3] = 1;
        break;
    }
    p.mask = mask.data();
  }

  // NaN/Inf into every K and V row that no query row of its (b, kv head) may see.
  void poison_masked_keys() {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t hk = 0; hk < c.Hkv; ++hk)
        for (int64_t j = 0; j < c.S; ++j) {
          bool seen = false;
          for (int64_t h = hk * (c.H / c.Hkv); h < (hk + 1) * (c.H / c.Hkv) && !seen; ++h)
            for (int64_t i = 0; i < c.T && !seen; ++i) seen = visible(p, b, h, i, j);
          if (seen) continue;
          for (int64_t d = 0; d < c.D; ++d) {
            k[((b * c.Hkv + hk) * c.S + j) * c.D + d] = (d % 2) ? nan : inf;
            v[((b * c.Hkv + hk) * c.S + j) * c.D + d] = nan;
          }
        }
  }
};

// Diagonal offsets and windows that put band ends anywhere inside a lane vector, bands narrower
// than a vector, and logit terms, dropout and NaN in masked K/V on the partial tiles (the kernels
// compute only the vector blocks some row of a boundary tile sees). {case, seed}.
inline std::vector<std::pair<Case, uint32_t>> boundary_tiles() {
  std::vector<std::pair<Case, uint32_t>> cases;
  for (int64_t shift : {5, -11, 23, 40})
    cases.push_back({{.H = 2, .Hkv = 1, .T = 150, .S = 170, .D = 16, .causal = true, .offset_shift = shift,
                      .nan_in_masked = shift != 5},
                     20 + static_cast<uint32_t>(shift + 11)});
  cases.push_back(
      {{.H = 2, .Hkv = 2, .T = 200, .S = 200, .D = 8, .window_left = 3, .window_right = 2, .nan_in_masked = true}, 31});
  cases.push_back({{.B = 2, .H = 2, .Hkv = 1, .T = 130, .S = 140, .D = 24, .causal = true, .offset_shift = 7,
                    .lengths = true, .window_left = 20, .alibi = true, .dropout = 0.2f},
                   32});
  cases.push_back({{.H = 2, .Hkv = 1, .T = 100, .S = 100, .D = 16, .causal = true, .offset_shift = -9,
                    .mask = MaskKind::kBoolTS, .softcap = 5.0f, .nan_in_masked = true},
                   33});
  return cases;
}

}  // namespace attn::kernels::attention_cases
