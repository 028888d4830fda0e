// tests/kernels/attention_test.cpp — flash attention forward vs the float64 reference, on every
// compiled SIMD target.
//
// The rule (FlashAttention's): the flash kernel's max abs error against float64 is at most twice
// that of a naive fp32 implementation (written below) on the same inputs, plus 1e-6. The big cross
// product of shapes and mask options from the issue is sampled with a fixed seed so the file runs
// in seconds; awkward shapes (T, S in {1, 7, 129, 1000}; D in {1, 8, 64, 80, 128, 256}; H/Hkv in
// {8/8, 8/2, 8/1}) are all visited, and every option appears alone and combined.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention_cases.h"
#include "kernels/attention_params.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/dispatch.h"
#include "kernels/ref/attention_ref.h"

namespace attn::kernels {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

using attention_cases::Case;
using attention_cases::MaskKind;
using attention_cases::Problem;
using attention_cases::visible;

// The naive fp32 implementation the error bound is measured against: one row at a time, logits in
// float, max-subtracted std::exp, masked keys skipped. Its weights are exp(s - lse) from its own f32
// lse — the naive form of "weights from the saved lse", whose accuracy is bounded by lse's f32
// rounding (|lse| * 6e-8, which matters for logits of 1e4).
void naive_fp32(const AttentionParams& p, std::vector<float>& out, std::vector<float>& lse, std::vector<float>& w) {
  out.assign(p.B * p.H * p.T * p.D, 0.0f);
  lse.assign(p.B * p.H * p.T, -kInf);
  w.assign(p.B * p.H * p.T * p.S, 0.0f);
  std::vector<float> s(p.S);
  std::vector<char> vis(p.S);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.T; ++i) {
        const int64_t row = (b * p.H + h) * p.T + i, hk = h / (p.H / p.Hkv);
        const float* qi = p.q + b * p.q_stride[0] + h * p.q_stride[1] + i * p.q_stride[2];
        float m = -kInf;
        for (int64_t j = 0; j < p.S; ++j) {
          vis[j] = visible(p, b, h, i, j);
          if (!vis[j]) continue;
          const float* kj = p.k + b * p.k_stride[0] + hk * p.k_stride[1] + j * p.k_stride[2];
          float dot = 0.0f;
          for (int64_t d = 0; d < p.D; ++d) dot += qi[d] * kj[d];
          float x = dot * p.scale;
          if (p.softcap > 0) x = p.softcap * std::tanh(x / p.softcap);
          if (p.alibi_slopes) x -= p.alibi_slopes[h] * std::abs(static_cast<float>(i + p.offset - j));
          if (p.mask) x += p.mask[b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2] + j * p.mask_stride[3]];
          s[j] = x;
          m = std::max(m, x);
        }
        if (m == -kInf) continue;
        float sum = 0.0f;
        for (int64_t j = 0; j < p.S; ++j) sum += vis[j] ? std::exp(s[j] - m) : 0.0f;
        lse[row] = m + std::log(sum);
        for (int64_t j = 0; j < p.S; ++j) {
          if (!vis[j]) continue;
          const float pj = std::exp(s[j] - m) / sum;
          w[row * p.S + j] = std::exp(s[j] - lse[row]);  // what recomputing from an f32 lse can reach
          const float pd = p.dropout_p > 0 ? pj * attention_dropout_scale(p, b, h, i, j) : pj;
          const float* vj = p.v + b * p.v_stride[0] + hk * p.v_stride[1] + j * p.v_stride[2];
          for (int64_t d = 0; d < p.D; ++d) out[row * p.D + d] += pd * vj[d];
        }
      }
}

// Max abs error; a position where the reference is -inf must be -inf in x too (else error = inf).
double max_err(const std::vector<float>& x, const std::vector<double>& ref) {
  double e = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isinf(ref[i])) {
      if (x[i] != ref[i]) return kInf;
      continue;
    }
    const double d = std::abs(static_cast<double>(x[i]) - ref[i]);
    if (!(d <= e)) e = std::isnan(d) ? kInf : d;
  }
  return e;
}

// Runs one case on every usable target and checks out, lse and the recomputed weights.
void check_case(const Case& c, uint32_t seed) {
  SCOPED_TRACE(c.str());
  Problem pr(c, seed);
  const AttentionParams& p = pr.p;
  std::vector<double> ref_out(p.B * p.H * p.T * p.D), ref_w(p.B * p.H * p.T * p.S), ref_lse(p.B * p.H * p.T);
  ref::attention_forward(p, ref_out.data(), ref_w.data(), ref_lse.data());
  std::vector<float> n_out, n_lse, n_w;
  naive_fp32(p, n_out, n_lse, n_w);
  const double bound_out = 2.0 * max_err(n_out, ref_out) + 1e-6;
  const double bound_lse = 2.0 * max_err(n_lse, ref_lse) + 1e-6;
  const double bound_w = 2.0 * max_err(n_w, ref_w) + 1e-6;
  ASSERT_TRUE(std::isfinite(bound_out) && std::isfinite(bound_lse)) << "naive fp32 itself failed";
  std::vector<int64_t> heads;
  for (int64_t h = p.H - 1; h >= 0; h -= 3) heads.push_back(h);
  for (int64_t target : usable_targets()) {
    SCOPED_TRACE(target_name(target));
    ScopedCpuTarget force(target);
    std::vector<float> out(ref_out.size(), 123.0f), lse(ref_lse.size(), 123.0f);
    attention_forward_flash(p, out.data(), lse.data());
    EXPECT_LE(max_err(out, ref_out), bound_out);
    EXPECT_LE(max_err(lse, ref_lse), bound_lse);
    if (p.S * p.T <= 200000) {
      std::vector<float> w(p.B * heads.size() * p.T * p.S, 123.0f);
      attention_weights_flash(p, lse.data(), heads.data(), static_cast<int64_t>(heads.size()), w.data());
      std::vector<double> ref_sel(w.size());
      for (int64_t b = 0; b < p.B; ++b)
        for (size_t s = 0; s < heads.size(); ++s)
          std::copy_n(ref_w.begin() + ((b * p.H + heads[s]) * p.T) * p.S, p.T * p.S,
                      ref_sel.begin() + ((b * heads.size() + s) * p.T) * p.S);
      EXPECT_LE(max_err(w, ref_sel), bound_w);
    }
  }
}

TEST(AttentionKernel, MatchesReferenceOnSampledShapesAndOptions) {
  const int64_t Ts[] = {1, 7, 129, 1000}, Ds[] = {1, 8, 64, 80, 128, 256}, Hkvs[] = {8, 2, 1};
  std::mt19937 gen(2024);
  auto pick = [&](auto& arr) { return arr[gen() % std::size(arr)]; };
  int n = 0;
  for (int rep = 0; rep < 36; ++rep) {
    Case c;
    c.H = 8, c.Hkv = pick(Hkvs), c.T = pick(Ts), c.S = pick(Ts), c.D = Ds[rep % 6];
    c.B = rep % 4 == 0 ? 2 : 1;
    // Keep the float64 reference cheap: fewer heads, then a smaller D, for the biggest T*S.
    while (c.B * c.H * c.T * c.S * (c.D + 32) > 40'000'000 && (c.H > 2 || c.D > 8)) {
      if (c.H > 2) c.H /= 2, c.Hkv = std::min(c.Hkv, c.H);
      else c.D /= 2;
    }
    const int opt = rep % 9;
    c.causal = opt == 1 || opt == 5 || opt == 8 || gen() % 3 == 0;
    c.lengths = opt == 2 || opt == 8;
    c.mask = opt == 3 ? MaskKind::kBoolTS : opt == 6 ? MaskKind::kAddB1TS : opt == 8 ? MaskKind::kBoolHTS : MaskKind::kNone;
    if (opt == 4 || opt == 8) c.window_left = 1 + gen() % 40, c.window_right = opt == 4 ? gen() % 5 : -1;
    c.alibi = opt == 5 || opt == 8;
    c.softcap = opt == 6 || opt == 8 ? 5.0f : 0.0f;
    c.dropout = opt == 7 || opt == 8 ? 0.2f : 0.0f;
    c.offset_shift = rep % 5 == 0 ? -3 : 0;
    c.nan_in_masked = rep % 2 == 1;
    check_case(c, 100 + rep);
    ++n;
  }
  EXPECT_EQ(n, 36);
}

TEST(AttentionKernel, AwkwardShapesNoMask) {
  for (int64_t T : {1, 7, 129})
    for (int64_t D : {1, 8, 80, 256}) check_case({.B = 1, .H = 8, .Hkv = 2, .T = T, .S = 7 + T, .D = D}, 7);
}

TEST(AttentionKernel, BoundaryTilesStartAndEndMidVector) {
  for (const auto& [c, seed] : attention_cases::boundary_tiles()) check_case(c, seed);
}

TEST(AttentionKernel, HugeLogitsDoNotOverflow) {
  // q scaled so logits reach ~±1e4 (and beyond): max subtraction must keep everything finite.
  check_case({.H = 2, .Hkv = 1, .T = 129, .S = 129, .D = 64, .logit_scale = 1e3f}, 1);
  check_case({.H = 2, .Hkv = 2, .T = 7, .S = 1000, .D = 8, .causal = true, .logit_scale = 3e3f}, 2);
}

TEST(AttentionKernel, FullyMaskedRowsGiveZerosAndMinusInfLse) {
  // causal with T > S and offset S - T: the first T - S rows see nothing; lengths 0 masks batch item 1.
  Case c{.B = 2, .H = 2, .Hkv = 1, .T = 70, .S = 7, .D = 16, .causal = true, .lengths = true, .nan_in_masked = true};
  check_case(c, 3);
  Problem pr(c, 3);
  pr.lengths[1] = 0;
  std::vector<float> out(c.B * c.H * c.T * c.D, 5.0f), lse(c.B * c.H * c.T, 5.0f);
  attention_forward_flash(pr.p, out.data(), lse.data());
  for (int64_t h = 0; h < c.H; ++h)
    for (int64_t i = 0; i < c.T; ++i) {
      const int64_t row0 = h * c.T + i, row1 = (c.H + h) * c.T + i;
      EXPECT_EQ(lse[row1], -kInf);
      EXPECT_EQ(out[row1 * c.D], 0.0f);
      if (i < c.T - c.S) {
        EXPECT_EQ(lse[row0], -kInf);
        EXPECT_EQ(out[row0 * c.D + 3], 0.0f);
      }
    }
}

TEST(AttentionKernel, NanInValueSeenByLaterRowsOnlyStaysThere) {
  // Causal T = S = 7: key 6 is visible to row 6 only. NaN in its K and V must not reach rows 0..5,
  // even though they share the key tile (0·NaN must never be computed).
  for (int64_t target : usable_targets()) {
    ScopedCpuTarget force(target);
    Problem pr({.H = 1, .Hkv = 1, .T = 7, .S = 7, .D = 4, .causal = true}, 9);
    for (int d = 0; d < 4; ++d) pr.k[6 * 4 + d] = kInf, pr.v[6 * 4 + d] = std::nanf("");
    std::vector<float> out(7 * 4), lse(7);
    attention_forward_flash(pr.p, out.data(), lse.data());
    for (int64_t i = 0; i < 6; ++i)
      for (int d = 0; d < 4; ++d) EXPECT_TRUE(std::isfinite(out[i * 4 + d])) << target_name(target) << " row " << i;
  }
}

TEST(AttentionKernel, DropoutIsThreadCountIndependentAndReplayable) {
  Case c{.B = 1, .H = 4, .Hkv = 4, .T = 129, .S = 129, .D = 32, .dropout = 0.3f};
  Problem pr(c, 11);
  std::vector<float> a(c.H * c.T * c.D), b2(a.size()), lse(c.H * c.T);
  attention_forward_flash(pr.p, a.data(), lse.data());
  attention_forward_flash(pr.p, b2.data(), lse.data());
  EXPECT_EQ(a, b2);
  pr.p.dropout_offset += 1;  // a new offset draws a different mask
  attention_forward_flash(pr.p, b2.data(), lse.data());
  EXPECT_NE(a, b2);
}

}  // namespace
}  // namespace attn::kernels
