// tests/kernels/attention_backward_test.cpp — flash attention backward vs the float64 reference
// backward, on every compiled SIMD target; the reference backward itself vs central finite
// differences of the float64 reference forward.
//
// The rule (FlashAttention's): for each of dq, dk, dv, the flash kernel's max abs error against the
// float64 reference is at most twice that of a naive fp32 backward (written below: softmax
// materialised, dS = P ∘ (dP - <dO, out>), products in row order) on the same inputs, plus a floor
// of 1e-6 · max(1, sqrt(D/16)) (see check_case).
// The flash backward gets out and lse from the flash forward, as in training. Shapes: T, S in
// {1, 7, 129, 300}, D in {1, 8, 64, 80, 128}, H/Hkv in {8/8, 8/2, 8/1}, sampled with a fixed seed
// together with every option alone and combined.
#include <attn/threads.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention_cases.h"
#include "kernels/attention_params.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cpu/flash_attention_backward.h"
#include "kernels/dispatch.h"
#include "kernels/ref/attention_ref.h"
#include "kernels/ref/attention_ref_backward.h"

namespace attn::kernels {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

using attention_cases::Case;
using attention_cases::MaskKind;

// A case's inputs with dout (attention_cases.h).
struct Problem : attention_cases::Problem {
  Problem(const Case& c, uint32_t seed) : attention_cases::Problem(c, seed, /*with_dout=*/true) {}
};

struct Grads {
  std::vector<float> dq, dk, dv;
};
struct RefGrads {
  std::vector<double> dq, dk, dv;
};

RefGrads reference(const AttentionParams& p, const float* dout) {
  RefGrads g{std::vector<double>(p.B * p.H * p.T * p.D), std::vector<double>(p.B * p.Hkv * p.S * p.D),
             std::vector<double>(p.B * p.Hkv * p.S * p.D)};
  ref::attention_backward(p, dout, g.dq.data(), g.dk.data(), g.dv.data());
  return g;
}

// The naive fp32 backward of the error bound: per row, softmax materialised in float, then
// dV += P dO, dP = dO·V, dS = P (dP - delta), dQ += scale dS K, dK += scale dS Q, with
// delta = <dO, out> from its own fp32 out (FlashAttention's formulation, as in the kernel: the
// softmax-Jacobian form delta = sum P dP would be exact when a row sees one key, and any other
// rounding of delta then looks like an infinitely worse error).
Grads naive_fp32(const AttentionParams& p, const float* dout) {
  Grads g{std::vector<float>(p.B * p.H * p.T * p.D, 0.0f), std::vector<float>(p.B * p.Hkv * p.S * p.D, 0.0f),
          std::vector<float>(p.B * p.Hkv * p.S * p.D, 0.0f)};
  std::vector<float> s(p.S), pr(p.S), dp(p.S), slope(p.S), out(p.D);
  std::vector<char> vis(p.S);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.T; ++i) {
        const int64_t hk = h / (p.H / p.Hkv), row = (b * p.H + h) * p.T + i;
        const float* qi = p.q + row * p.D;
        const float* go = dout + row * p.D;
        float m = -kInf;
        for (int64_t j = 0; j < p.S; ++j) {
          double unused;
          vis[j] = ref::attention_logit(p, b, h, i, j, &unused);
          if (!vis[j]) continue;
          const float* kj = p.k + ((b * p.Hkv + hk) * p.S + j) * p.D;
          float dot = 0.0f;
          for (int64_t d = 0; d < p.D; ++d) dot += qi[d] * kj[d];
          float x = dot * p.scale;
          slope[j] = 1.0f;
          if (p.softcap > 0) {
            const float t = std::tanh(x / p.softcap);
            x = p.softcap * t, slope[j] = 1.0f - t * t;
          }
          if (p.alibi_slopes) x -= p.alibi_slopes[h] * std::abs(static_cast<float>(i + p.offset - j));
          if (p.mask) x += p.mask[b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2] + j * p.mask_stride[3]];
          s[j] = x, m = std::max(m, x);
        }
        if (m == -kInf) continue;
        float sum = 0.0f, delta = 0.0f;
        for (int64_t j = 0; j < p.S; ++j) sum += vis[j] ? std::exp(s[j] - m) : 0.0f;
        std::fill(out.begin(), out.end(), 0.0f);
        for (int64_t j = 0; j < p.S; ++j) {
          if (!vis[j]) continue;
          const float z = p.dropout_p > 0 ? attention_dropout_scale(p, b, h, i, j) : 1.0f;
          const float* vj = p.v + ((b * p.Hkv + hk) * p.S + j) * p.D;
          float* dvj = g.dv.data() + ((b * p.Hkv + hk) * p.S + j) * p.D;
          pr[j] = std::exp(s[j] - m) / sum;
          float dot = 0.0f;
          for (int64_t d = 0; d < p.D; ++d) dvj[d] += pr[j] * z * go[d], dot += go[d] * vj[d], out[d] += pr[j] * z * vj[d];
          dp[j] = z * dot;
        }
        for (int64_t d = 0; d < p.D; ++d) delta += go[d] * out[d];
        for (int64_t j = 0; j < p.S; ++j) {
          if (!vis[j]) continue;
          const float ds = pr[j] * (dp[j] - delta) * slope[j] * p.scale;
          const float* kj = p.k + ((b * p.Hkv + hk) * p.S + j) * p.D;
          float* dkj = g.dk.data() + ((b * p.Hkv + hk) * p.S + j) * p.D;
          for (int64_t d = 0; d < p.D; ++d) g.dq[row * p.D + d] += ds * kj[d], dkj[d] += ds * qi[d];
        }
      }
  return g;
}

Grads flash(const AttentionParams& p, const float* dout) {
  std::vector<float> out(p.B * p.H * p.T * p.D), lse(p.B * p.H * p.T);
  attention_forward_flash(p, out.data(), lse.data());
  Grads g{std::vector<float>(out.size(), 123.0f), std::vector<float>(p.B * p.Hkv * p.S * p.D, 123.0f),
          std::vector<float>(p.B * p.Hkv * p.S * p.D, 123.0f)};
  attention_backward_flash(p, out.data(), dout, lse.data(), g.dq.data(), g.dk.data(), g.dv.data());
  return g;
}

// Max abs error (inf if x has NaN/Inf where ref is finite).
double max_err(const std::vector<float>& x, const std::vector<double>& ref) {
  double e = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::abs(static_cast<double>(x[i]) - ref[i]);
    if (!(d <= e)) e = std::isnan(d) ? kInf : d;
  }
  return e;
}

// Runs one case on every usable target and checks dq, dk, dv against the bound.
void check_case(const Case& c, uint32_t seed) {
  SCOPED_TRACE(c.str());
  Problem pr(c, seed);
  const AttentionParams& p = pr.p;
  const RefGrads want = reference(p, pr.dout.data());
  const Grads naive = naive_fp32(p, pr.dout.data());
  // The floor grows like sqrt(D): it covers the rounding of the D-long fp32 dot products dP and
  // <dO, out>, which the kernel forms in another order than the naive code does; with one visible key
  // the naive code's two cancel exactly (zero error), the kernel's to ~1e-7 sqrt(D).
  const double floor = 1e-6 * std::max(1.0, std::sqrt(p.D / 16.0));
  const double bq = 2.0 * max_err(naive.dq, want.dq) + floor, bk = 2.0 * max_err(naive.dk, want.dk) + floor,
               bv = 2.0 * max_err(naive.dv, want.dv) + floor;
  ASSERT_TRUE(std::isfinite(bq) && std::isfinite(bk) && std::isfinite(bv)) << "naive fp32 itself failed";
  for (int64_t target : usable_targets()) {
    SCOPED_TRACE(target_name(target));
    ScopedCpuTarget force(target);
    const Grads g = flash(p, pr.dout.data());
    EXPECT_LE(max_err(g.dq, want.dq), bq);
    EXPECT_LE(max_err(g.dk, want.dk), bk);
    EXPECT_LE(max_err(g.dv, want.dv), bv);
  }
}

TEST(AttentionBackwardKernel, MatchesReferenceOnSampledShapesAndOptions) {
  const int64_t Ts[] = {1, 7, 129, 300}, Ds[] = {1, 8, 64, 80, 128}, Hkvs[] = {8, 2, 1};
  std::mt19937 gen(4242);
  auto pick = [&](auto& arr) { return arr[gen() % std::size(arr)]; };
  for (int rep = 0; rep < 30; ++rep) {
    Case c;
    c.H = 8, c.Hkv = pick(Hkvs), c.T = pick(Ts), c.S = pick(Ts), c.D = Ds[rep % 5];
    c.B = rep % 4 == 0 ? 2 : 1;
    while (c.B * c.H * c.T * c.S * c.D > 20'000'000 && c.H > 2) c.H /= 2, c.Hkv = std::min(c.Hkv, c.H);
    const int opt = rep % 10;
    c.causal = opt == 1 || opt == 5 || opt == 8 || gen() % 3 == 0;
    c.lengths = opt == 2 || opt == 8;
    c.mask = opt == 3 ? MaskKind::kBoolTS : opt == 6 ? MaskKind::kAddB1TS : opt == 8 ? MaskKind::kBoolHTS : MaskKind::kNone;
    if (opt == 4 || opt == 8) c.window_left = 1 + gen() % 40, c.window_right = opt == 4 ? gen() % 5 : -1;
    c.alibi = opt == 5 || opt == 8;
    c.softcap = opt == 6 || opt == 8 || opt == 9 ? 5.0f : 0.0f;
    c.dropout = opt == 7 || opt == 8 ? 0.2f : 0.0f;
    c.offset_shift = rep % 5 == 0 ? -3 : 0;
    c.nan_in_masked = rep % 2 == 1;
    check_case(c, 300 + rep);
  }
}

TEST(AttentionBackwardKernel, AwkwardShapes) {
  for (int64_t T : {1, 7, 129, 300})
    for (int64_t D : {1, 80}) check_case({.B = 1, .H = 8, .Hkv = 2, .T = T, .S = T == 300 ? 7 : 300 - T, .D = D}, 5);
  check_case({.B = 1, .H = 2, .Hkv = 1, .T = 129, .S = 129, .D = 128, .causal = true}, 6);
}

TEST(AttentionBackwardKernel, BoundaryTilesStartAndEndMidVector) {
  for (const auto& [c, seed] : attention_cases::boundary_tiles()) check_case(c, seed);
}

TEST(AttentionBackwardKernel, HugeLogitsDoNotOverflow) {
  check_case({.H = 2, .Hkv = 1, .T = 129, .S = 129, .D = 64, .logit_scale = 1e3f}, 1);
  check_case({.H = 2, .Hkv = 2, .T = 7, .S = 300, .D = 8, .causal = true, .softcap = 30.0f, .logit_scale = 3e3f}, 2);
}

bool all_finite(const std::vector<float>& x) {
  for (float v : x)
    if (!std::isfinite(v)) return false;
  return true;
}

TEST(AttentionBackwardKernel, FullyMaskedRowsGiveZeroGradientsNeverNaN) {
  // causal with T > S: the first T - S rows see nothing; batch item 1 has key length 0; every
  // masked K/V row holds NaN/Inf.
  Case c{.B = 2, .H = 2, .Hkv = 1, .T = 70, .S = 7, .D = 16, .causal = true, .lengths = true, .nan_in_masked = true};
  check_case(c, 3);
  Problem pr(c, 3);
  pr.lengths[1] = 0;
  pr.poison_masked_keys();
  for (int64_t target : usable_targets()) {
    SCOPED_TRACE(target_name(target));
    ScopedCpuTarget force(target);
    const Grads g = flash(pr.p, pr.dout.data());
    for (int64_t h = 0; h < c.H; ++h)
      for (int64_t i = 0; i < c.T; ++i)
        for (int64_t d = 0; d < c.D; ++d) {
          EXPECT_EQ(g.dq[((c.H + h) * c.T + i) * c.D + d], 0.0f);
          if (i < c.T - c.S) {
            EXPECT_EQ(g.dq[(h * c.T + i) * c.D + d], 0.0f);
          }
        }
    for (int64_t j = 0; j < c.S * c.D; ++j) {
      EXPECT_EQ(g.dk[c.S * c.D + j], 0.0f);
      EXPECT_EQ(g.dv[c.S * c.D + j], 0.0f);
    }
    EXPECT_TRUE(all_finite(g.dq) && all_finite(g.dk) && all_finite(g.dv));
  }
}

TEST(AttentionBackwardKernel, OneVisibleKeyGivesExactlyZeroQueryAndKeyGradients) {
  // With one key the softmax is the constant 1, so dq and dk are exactly 0: out = v exactly, and
  // delta = <dO, out> must round as dP = <dO, v> does (same products, same order) for dS = P (dP -
  // delta) to cancel. S = 1, and causal T = S where row 0 sees key 0 only. On AVX-512, D = 24 takes
  // delta's generic path (rows along lanes through a buffer); 64 and 80 the 16x16 transposes for
  // whole groups of 16 rows and the generic path for the rest.
  for (int64_t D : {24, 64, 80}) {
    for (const Case& c : {Case{.B = 2, .H = 4, .Hkv = 2, .T = 37, .S = 1, .D = D},
                          Case{.B = 1, .H = 2, .Hkv = 2, .T = 20, .S = 20, .D = D, .causal = true}}) {
      SCOPED_TRACE(testing::Message() << "D=" << D << " S=" << c.S);
      Problem pr(c, 11);
      for (int64_t target : usable_targets()) {
        SCOPED_TRACE(target_name(target));
        ScopedCpuTarget force(target);
        const Grads g = flash(pr.p, pr.dout.data());
        for (int64_t b = 0; b < c.B; ++b)
          for (int64_t h = 0; h < c.H; ++h)
            for (int64_t d = 0; d < D; ++d) {
              const int64_t rows = c.S == 1 ? c.T : 1;  // causal: row 0 only
              for (int64_t i = 0; i < rows; ++i) EXPECT_EQ(g.dq[((b * c.H + h) * c.T + i) * D + d], 0.0f);
            }
        for (int64_t j = 0; j < c.B * c.Hkv * D && c.S == 1; ++j) EXPECT_EQ(g.dk[j], 0.0f);
      }
    }
  }
}

TEST(AttentionBackwardKernel, NanInKeySeenByLaterRowsOnlyStaysThere) {
  // Causal T = S = 7: key 6 is visible to row 6 only. Its NaN must not reach rows 0..5 or other keys.
  for (int64_t target : usable_targets()) {
    ScopedCpuTarget force(target);
    Problem pr({.H = 1, .Hkv = 1, .T = 7, .S = 7, .D = 4, .causal = true}, 9);
    for (int d = 0; d < 4; ++d) pr.k[6 * 4 + d] = kInf, pr.v[6 * 4 + d] = std::nanf("");
    const Grads g = flash(pr.p, pr.dout.data());
    for (int64_t i = 0; i < 6 * 4; ++i) {
      EXPECT_TRUE(std::isfinite(g.dq[i])) << target_name(target) << " dq " << i;
      EXPECT_TRUE(std::isfinite(g.dk[i]) && std::isfinite(g.dv[i])) << target_name(target) << " dk/dv " << i;
    }
  }
}

TEST(AttentionBackwardKernel, BitIdenticalForOneAndTwoThreads) {
  // Causal GQA with several key chunks (B*Hkv = 2 -> 8 chunks) and dropout.
  Problem pr({.B = 1, .H = 4, .Hkv = 2, .T = 300, .S = 600, .D = 64, .causal = true, .dropout = 0.1f}, 12);
  ASSERT_GT(attention_backward_chunks(pr.p), 1);
  const int saved = num_threads();
  set_num_threads(1);
  const Grads one = flash(pr.p, pr.dout.data());
  set_num_threads(2);
  const Grads two = flash(pr.p, pr.dout.data());
  set_num_threads(saved);
  EXPECT_EQ(one.dq, two.dq);
  EXPECT_EQ(one.dk, two.dk);
  EXPECT_EQ(one.dv, two.dv);
}

TEST(AttentionBackwardKernel, ChunkCountFollowsItemsAndMemory) {
  AttentionParams p;
  p.B = 1, p.H = 8, p.Hkv = 8, p.T = p.S = 4096, p.D = 64;
  EXPECT_EQ(attention_backward_chunks(p), 2);  // 8 (b, kv head) pairs -> 16 items
  p.Hkv = 1;
  EXPECT_EQ(attention_backward_chunks(p), kAttnBwdMaxChunks);
  p.S = 100;
  EXPECT_EQ(attention_backward_chunks(p), 2);  // no more chunks than key tiles
  p.S = 4096, p.H = 64, p.D = 128, p.T = 16384;  // |dQ| = 512 MiB: no partial beyond the first
  EXPECT_EQ(attention_backward_chunks(p), 1);
  p.B = 16, p.H = p.Hkv = 8, p.T = 256;  // training-sized: enough items already
  EXPECT_EQ(attention_backward_chunks(p), 1);
}

// ---- the reference itself: central finite differences of the float64 forward ----

// L = sum dout ∘ out, with out from the float64 reference forward.
double loss(const AttentionParams& p, const std::vector<float>& dout) {
  std::vector<double> out(p.B * p.H * p.T * p.D);
  ref::attention_forward(p, out.data(), nullptr, nullptr);
  double l = 0.0;
  for (size_t i = 0; i < out.size(); ++i) l += out[i] * dout[i];
  return l;
}

// Inputs sit on a 2^-8 grid, so x ± 2^-10 is exact in float; every element of q, k, v is checked.
void check_finite_differences(const Case& c, uint32_t seed) {
  SCOPED_TRACE(c.str());
  Problem pr(c, seed);
  const RefGrads g = reference(pr.p, pr.dout.data());
  const float h = 1.0f / 1024.0f;
  const auto check = [&](std::vector<float>& x, const std::vector<double>& grad, const char* name) {
    for (size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(x[i])) continue;  // poisoned masked rows: no gradient (checked elsewhere)
      const float x0 = x[i];
      x[i] = x0 + h;
      const double lp = loss(pr.p, pr.dout);
      x[i] = x0 - h;
      const double lm = loss(pr.p, pr.dout);
      x[i] = x0;
      const double fd = (lp - lm) / (2.0 * h);
      EXPECT_NEAR(grad[i], fd, 2e-5 + 1e-4 * std::abs(fd)) << name << "[" << i << "]";
    }
  };
  check(pr.q, g.dq, "dq");
  check(pr.k, g.dk, "dk");
  check(pr.v, g.dv, "dv");
}

TEST(AttentionBackwardReference, MatchesFiniteDifferences) {
  const Case base{.B = 2, .H = 2, .Hkv = 1, .T = 5, .S = 6, .D = 3, .grid = true};
  check_finite_differences(base, 1);
  Case c = base;
  c.causal = true, c.offset_shift = -2, c.lengths = true;
  check_finite_differences(c, 2);
  c = base, c.mask = MaskKind::kAddB1TS, c.alibi = true, c.window_left = 2, c.window_right = 1;
  check_finite_differences(c, 3);
  c = base, c.softcap = 1.5f, c.logit_scale = 2.0f;
  check_finite_differences(c, 4);
  c = base, c.dropout = 0.3f, c.mask = MaskKind::kBoolHTS;
  check_finite_differences(c, 5);
  c = base, c.H = 4, c.Hkv = 2, c.causal = true, c.softcap = 2.0f, c.dropout = 0.25f, c.alibi = true;
  check_finite_differences(c, 6);
}

}  // namespace
}  // namespace attn::kernels
