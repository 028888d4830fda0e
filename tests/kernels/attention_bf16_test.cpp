// tests/kernels/attention_bf16_test.cpp — the bf16-product flash attention (forward and backward,
// kernels/cpu/flash_attention_bf16.h) against the float64 reference run on the bf16-ROUNDED inputs.
//
// Rounding Q (with a power-of-two scale, so bf16(scale·q) = scale·bf16(q)), K, V and dO before the
// reference leaves as error only what the kernel rounds inside: P (forward P·V; backward Pᵀ·dO) and
// dS (dSᵀ·Qs, dS·K), each to bf16 (relative error ≤ 2^-9), and f32 accumulation (≈ 2^-24·√n). Hence
// the tolerances, per tensor, relative to its largest reference magnitude:
//   out: |ΔO| ≤ 2^-9·Σp|v|/l (P rounding) + 2^-9·|O| (l sums the unrounded p) ≤ 2^-8·max|v|;
//   lse: f32 sums of exact bf16 products: 1e-5·(1 + max|lse|);
//   dq, dk, dv: 2^-7·max|ref| — sums of P- or dS-weighted terms each off by ≤ 2^-9 relative, plus
//   delta = <bf16(dO), out> taken from the kernel's out (off by ≤ 2^-8·max|v|), with room ×2 for
//   cancellation in dS = P(dP - delta). Measured errors are 0.05–0.43 of these on Zen 4; a wrong mask,
//   a skipped tile or rescale, a mismatched lse, or Qs off by 1 % in one product fails.
// When the CPU lacks avx512_bf16 (or the target is forced below AVX-512) the kernel declines and these
// tests skip, saying so; the f32 kernels' own tests cover that machine.
#include <attn/threads.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/attention_params.h"
#include "kernels/cpu/flash_attention_bf16.h"
#include "kernels/cpu/flash_bf16-inl.h"
#include "kernels/dispatch.h"
#include "kernels/ref/attention_ref.h"
#include "kernels/ref/attention_ref_backward.h"

namespace attn::kernels {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool Bf16PathAvailable() {
  AttentionParams p{.B = 1, .H = 1, .Hkv = 1, .T = 1, .S = 1, .D = 16};
  p.bf16_products = true;
  return attention_bf16_applicable(p);
}

#define SKIP_WITHOUT_BF16()                                                                             \
  if (!Bf16PathAvailable())                                                                            \
  GTEST_SKIP() << "no bf16 attention here (CPU without avx512_bf16, or ATTN_CPU_TARGET below AVX-512, " \
                  "target " << target_name(chosen_target()) << "): only the f32 kernels run"

// Round to nearest even bf16 (finite inputs), kept in an f32.
float RoundBf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &u, 4);
  return x;
}

std::vector<float> Rounded(std::vector<float> x) {
  for (float& e : x) e = RoundBf16(e);
  return x;
}

struct Case {
  int64_t B = 1, H = 2, Hkv = 2, T = 1, S = 1, D = 64;
  bool causal = false;
  int64_t offset_shift = 0;               // offset = S - T + shift
  std::vector<int64_t> lengths;           // empty = none
  int64_t window_left = -1, window_right = -1;
  float q_mul = 1.0f;                     // sharper softmax
  float dropout = 0.0f;
  std::string str() const {
    std::ostringstream o;
    o << "B" << B << " H" << H << "/" << Hkv << " T" << T << " S" << S << " D" << D << (causal ? " causal" : "")
      << " shift" << offset_shift << (lengths.empty() ? "" : " lengths") << " win" << window_left << ","
      << window_right << " qx" << q_mul;
    if (dropout > 0.0f) o << " dropout" << dropout;
    return o.str();
  }
};

// Inputs and params of a case; q, k, v, dout are f32 (the kernel rounds them), *_r their bf16 roundings.
struct Problem {
  Case c;
  std::vector<float> q, k, v, dout, q_r, k_r, v_r, dout_r;
  AttentionParams p;

  Problem(const Case& cs, uint32_t seed) : c(cs) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const auto fill = [&](std::vector<float>& x, int64_t n, float mul) {
      x.resize(n);
      for (float& e : x) e = nd(gen) * mul;
    };
    fill(q, c.B * c.H * c.T * c.D, c.q_mul), fill(dout, c.B * c.H * c.T * c.D, 1.0f);
    fill(k, c.B * c.Hkv * c.S * c.D, 1.0f), fill(v, c.B * c.Hkv * c.S * c.D, 1.0f);
    if (!c.lengths.empty())  // NaN in keys no query sees: must be ignored, not make the kernel decline
      for (int64_t b = 0; b < c.B; ++b)
        for (int64_t j = c.lengths[b]; j < c.S; ++j) k[(b * c.Hkv * c.S + j) * c.D] = v[(b * c.Hkv * c.S + j) * c.D] = NAN;
    q_r = Rounded(q), k_r = Rounded(k), v_r = Rounded(v), dout_r = Rounded(dout);
    p = Params(q.data(), k.data(), v.data());
  }

  AttentionParams Params(const float* qp, const float* kp, const float* vp) const {
    AttentionParams r{.q = qp, .k = kp, .v = vp, .B = c.B, .H = c.H, .Hkv = c.Hkv, .T = c.T, .S = c.S, .D = c.D};
    const int64_t qs[3] = {c.H * c.T * c.D, c.T * c.D, c.D}, ks[3] = {c.Hkv * c.S * c.D, c.S * c.D, c.D};
    std::copy(qs, qs + 3, r.q_stride), std::copy(qs, qs + 3, r.o_stride);
    std::copy(ks, ks + 3, r.k_stride), std::copy(ks, ks + 3, r.v_stride);
    r.scale = 0.125f;  // a power of two: bf16(scale·q) = scale·bf16(q)
    r.causal = c.causal;
    r.offset = c.S - c.T + c.offset_shift;
    r.key_lengths = c.lengths.empty() ? nullptr : c.lengths.data();
    r.window_left = c.window_left, r.window_right = c.window_right;
    r.dropout_p = c.dropout, r.dropout_seed = 1234, r.dropout_offset = 77;
    r.bf16_products = true;
    return r;
  }
};

struct Outputs {
  std::vector<float> out, lse, dq, dk, dv;
};

Outputs RunBf16(const Problem& pr) {
  const Case& c = pr.c;
  // NaN-filled: every output element must be written (ExpectClose fails on NaN).
  Outputs o{std::vector<float>(pr.q.size(), NAN), std::vector<float>(c.B * c.H * c.T, NAN),
            std::vector<float>(pr.q.size(), NAN), std::vector<float>(pr.k.size(), NAN),
            std::vector<float>(pr.k.size(), NAN)};
  EXPECT_TRUE(attention_forward_flash_bf16(pr.p, o.out.data(), o.lse.data())) << c.str();
  EXPECT_TRUE(attention_backward_flash_bf16(pr.p, o.out.data(), pr.dout.data(), o.lse.data(), o.dq.data(),
                                            o.dk.data(), o.dv.data()))
      << c.str();
  return o;
}

// max |got - want| <= tol_rel · max|want| + floor; NaN anywhere fails.
void ExpectClose(const std::vector<float>& got, const std::vector<double>& want, double tol_rel, double floor,
                 const std::string& what) {
  double max_ref = 0.0, max_err = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << what << " index " << i;
    if (std::isinf(want[i])) {
      ASSERT_EQ(got[i], want[i]) << what << " index " << i;
      continue;
    }
    max_ref = std::max(max_ref, std::abs(want[i]));
    max_err = std::max(max_err, std::abs(got[i] - want[i]));
  }
  EXPECT_LE(max_err, tol_rel * max_ref + floor) << what << " (max |ref| " << max_ref << ")";
}

void CheckCase(const Case& c, uint32_t seed) {
  const Problem pr(c, seed);
  const Outputs o = RunBf16(pr);
  const AttentionParams pr_r = pr.Params(pr.q_r.data(), pr.k_r.data(), pr.v_r.data());
  std::vector<double> out(pr.q.size()), w(c.B * c.H * c.T * c.S), lse(c.B * c.H * c.T);
  ref::attention_forward(pr_r, out.data(), w.data(), lse.data());
  std::vector<double> dq(pr.q.size()), dk(pr.k.size()), dv(pr.k.size());
  ref::attention_backward(pr_r, pr.dout_r.data(), dq.data(), dk.data(), dv.data());
  double max_v = 0.0, max_lse = 0.0;
  for (int64_t b = 0; b < c.B; ++b)  // values a query can see
    for (int64_t j = 0; j < (c.lengths.empty() ? c.S : c.lengths[b]); ++j)
      for (int64_t d = 0; d < c.Hkv * c.D; ++d)
        max_v = std::max<double>(max_v, std::abs(pr.v_r[((b * c.Hkv + d / c.D) * c.S + j) * c.D + d % c.D]));
  for (double l : lse) max_lse = std::isinf(l) ? max_lse : std::max(max_lse, std::abs(l));
  const std::string s = c.str();
  ExpectClose(o.out, out, 0.0, std::ldexp(max_v, -8) + 1e-5, s + " out");
  ExpectClose(o.lse, lse, 0.0, 1e-5 * (1.0 + max_lse), s + " lse");
  ExpectClose(o.dq, dq, std::ldexp(1.0, -7), 1e-5, s + " dq");
  ExpectClose(o.dk, dk, std::ldexp(1.0, -7), 1e-5, s + " dk");
  ExpectClose(o.dv, dv, std::ldexp(1.0, -7), 1e-5, s + " dv");
  // Fully masked rows (lse = -inf): zero output and zero dq.
  for (int64_t r = 0; r < c.B * c.H * c.T; ++r) {
    if (!std::isinf(lse[r])) continue;
    for (int64_t d = 0; d < c.D; ++d) {
      ASSERT_EQ(o.out[r * c.D + d], 0.0f) << s << " row " << r;
      ASSERT_EQ(o.dq[r * c.D + d], 0.0f) << s << " row " << r;
    }
  }
}

TEST(AttentionBf16, MatchesReferenceOnRoundedInputs) {
  SKIP_WITHOUT_BF16();
  const std::vector<Case> cases = {
      {.T = 130, .S = 130},                                             // two full tiles + 2, no mask
      {.T = 130, .S = 130, .causal = true},
      {.T = 1, .S = 37, .causal = true},                                // decoding row
      {.T = 37, .S = 37, .D = 32, .causal = true},
      {.T = 37, .S = 37, .causal = true, .offset_shift = -5},           // rows 0..4 see nothing
      {.B = 2, .T = 70, .S = 70, .lengths = {45, 0}},                   // padding; batch 1 all masked
      {.T = 130, .S = 130, .causal = true, .window_left = 20, .window_right = 5},
      {.T = 130, .S = 130, .window_left = 40, .window_right = 3},
      {.H = 4, .Hkv = 2, .T = 70, .S = 70, .causal = true},             // GQA
      {.H = 4, .Hkv = 1, .T = 37, .S = 130},                            // MQA, T < S
      {.T = 130, .S = 37, .causal = true},                              // T > S: offset < 0
      {.T = 65, .S = 65, .D = 128, .causal = true},
      {.T = 7, .S = 9, .D = 16},
      {.T = 70, .S = 70, .causal = true, .q_mul = 6.0f},                // peaky softmax (logits ~ ±25)
      // Dropout: the reference draws attention_dropout_scale itself, so the decisions must match.
      {.T = 130, .S = 130, .causal = true, .dropout = 0.2f},
      {.H = 4, .Hkv = 2, .T = 37, .S = 101, .window_left = 30, .window_right = 2, .dropout = 0.1f},
      {.B = 2, .T = 70, .S = 70, .lengths = {45, 0}, .dropout = 0.5f},
  };
  for (size_t i = 0; i < cases.size(); ++i) CheckCase(cases[i], 100 + static_cast<uint32_t>(i));
}

// S[i][j] with Q pairs broadcast (the backward's way) and Sᵀ[j][i] with K pairs broadcast (the
// forward's), through the kernels' micro-kernel (compiled for AVX512-BF16, as the kernels are).
ATTN_BF16 void ScoresBothWays(const std::vector<uint32_t>& qrows, const std::vector<uint32_t>& krows,
                              const std::vector<uint32_t>& qt, const std::vector<uint32_t>& kt, int64_t n, int64_t d2,
                              std::vector<float>& s, std::vector<float>& st) {
  bf16::Dp(n, {qrows.data(), d2, 1, d2, kt.data(), n, n / 16, s.data(), n, false});
  bf16::Dp(n, {krows.data(), d2, 1, d2, qt.data(), n, n / 16, st.data(), n, false});
}

// The forward computes Sᵀ = K·Qsᵀ (K pairs broadcast), the backward S = Qs·Kᵀ (Q pairs broadcast):
// the same vdpbf16ps chains with a and b swapped. The backward's P = exp(S - lse) relies on the two
// being equal bit for bit; check it on this CPU with the kernels' own micro-kernel.
TEST(AttentionBf16, ScoresAreTheSameEitherWayRound) {
  SKIP_WITHOUT_BF16();
  constexpr int64_t kN = 64, kD = 96, kD2 = kD / 2;  // 64 rows/keys; D/2 = 48 pairs
  std::mt19937 gen(5);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<uint32_t> qrows(kN * kD2), krows(kN * kD2), qt(kD2 * kN), kt(kD2 * kN);
  const auto pair = [&] {
    const uint32_t lo = std::bit_cast<uint32_t>(RoundBf16(nd(gen))) >> 16;
    return lo | (std::bit_cast<uint32_t>(RoundBf16(nd(gen))) & 0xffff0000u);
  };
  for (int64_t i = 0; i < kN; ++i)
    for (int64_t d = 0; d < kD2; ++d) qt[d * kN + i] = qrows[i * kD2 + d] = pair(), kt[d * kN + i] = krows[i * kD2 + d] = pair();
  std::vector<float> s(kN * kN), st(kN * kN);
  ScoresBothWays(qrows, krows, qt, kt, kN, kD2, s, st);
  for (int64_t i = 0; i < kN; ++i)
    for (int64_t j = 0; j < kN; ++j)
      ASSERT_EQ(std::bit_cast<uint32_t>(s[i * kN + j]), std::bit_cast<uint32_t>(st[j * kN + i])) << i << "," << j;
}

// The kernels' 16-wide Philox is attn::philox4x32's stream, and DropoutRow attention_dropout_scale's
// decisions, at row starts with every block offset (idx % 4) and across the 2^32 counter carry.
ATTN_BF16 void DrawBoth(uint64_t key, uint64_t hi, uint64_t lo0, uint32_t* words, const AttentionParams& p,
                        int64_t i, int64_t kb, float* z) {
  bf16::Philox16(key, hi, lo0, words);
  bf16::DropoutRow(p, 0, 1, i, kb, 61, z);
}

TEST(AttentionBf16, DropoutDrawsMatchTheReference) {
  SKIP_WITHOUT_BF16();
  for (const uint64_t lo0 : {uint64_t{0}, uint64_t{12345}, uint64_t{0xfffffff8ull}, ~uint64_t{0} - 3}) {
    uint32_t words[64];
    AttentionParams p{.B = 1, .H = 2, .Hkv = 2, .T = 9, .S = 133, .D = 16};
    p.dropout_p = 0.3f, p.dropout_seed = 99, p.dropout_offset = 5;
    float z[64];
    DrawBoth(0x0123456789abcdefull, 0x42, lo0, words, p, 3, 7 + static_cast<int64_t>(lo0 % 4), z);
    for (uint64_t l = 0; l < 16; ++l) {
      const auto want = philox4x32(0x0123456789abcdefull, 0x42, lo0 + l);
      for (int w = 0; w < 4; ++w) ASSERT_EQ(words[16 * w + l], want[w]) << lo0 << " lane " << l << " word " << w;
    }
    for (int64_t c = 0; c < 61; ++c)
      ASSERT_EQ(z[c], attention_dropout_scale(p, 0, 1, 3, 7 + static_cast<int64_t>(lo0 % 4) + c)) << c;
  }
}

TEST(AttentionBf16, ThreadCountDoesNotChangeBits) {
  SKIP_WITHOUT_BF16();
  const int before = attn::num_threads();
  const Problem pr({.B = 2, .H = 4, .Hkv = 2, .T = 200, .S = 200, .causal = true, .dropout = 0.1f}, 7);
  attn::set_num_threads(1);
  const Outputs one = RunBf16(pr);
  attn::set_num_threads(2);
  const Outputs two = RunBf16(pr);
  attn::set_num_threads(before);
  EXPECT_EQ(one.out, two.out);
  EXPECT_EQ(one.lse, two.lse);
  EXPECT_EQ(one.dq, two.dq);
  EXPECT_EQ(one.dk, two.dk);
  EXPECT_EQ(one.dv, two.dv);
}

TEST(AttentionBf16, DeclinesOutsideItsScope) {
  const Problem pr({.T = 20, .S = 20, .causal = true}, 3);
  std::vector<float> out(pr.q.size()), lse(20 * 2), mask(20 * 20, 0.0f), slopes(2, 0.5f);
  std::vector<float> dq(pr.q.size()), dk(pr.k.size()), dv(pr.k.size());
  const auto declines = [&](const AttentionParams& p) {
    return !attention_forward_flash_bf16(p, out.data(), lse.data()) &&
           !attention_backward_flash_bf16(p, out.data(), pr.dout.data(), lse.data(), dq.data(), dk.data(), dv.data());
  };
  if (!Bf16PathAvailable()) {  // this machine or target: every call declines, in scope or not
    EXPECT_TRUE(declines(pr.p));
    SKIP_WITHOUT_BF16();
  }
  EXPECT_FALSE(declines(pr.p));
  AttentionParams p = pr.p;
  p.bf16_products = false;
  EXPECT_TRUE(declines(p)) << "bf16_products off";
  p = pr.p, p.softcap = 30.0f;
  EXPECT_TRUE(declines(p)) << "softcap";
  p = pr.p, p.alibi_slopes = slopes.data();
  EXPECT_TRUE(declines(p)) << "alibi";
  p = pr.p, p.mask = mask.data();
  EXPECT_TRUE(declines(p)) << "mask";
  p = pr.p, p.dropout_p = 0.1f;
  EXPECT_FALSE(declines(p)) << "dropout is in scope";
  std::vector<float> v = pr.v;  // a NaN some query sees (key 3)
  v[3 * 64] = NAN;
  p = pr.p, p.v = v.data();
  EXPECT_TRUE(declines(p)) << "NaN in a visible V row";
  std::vector<float> k = pr.k;
  k[5 * 64 + 1] = kInf;
  p = pr.p, p.k = k.data();
  EXPECT_TRUE(declines(p)) << "Inf in a visible K row";
  const int64_t avx2 = parse_target_name("avx2");
  for (int64_t t : usable_targets())
    if (t == avx2) {
      ScopedCpuTarget force(t);
      EXPECT_TRUE(declines(pr.p)) << "target forced to AVX2";
    }
  Problem odd({.T = 5, .S = 5, .D = 24}, 4);
  EXPECT_TRUE(declines(odd.p)) << "D = 24";
}

}  // namespace
}  // namespace attn::kernels
