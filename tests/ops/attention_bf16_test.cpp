// tests/ops/attention_bf16_test.cpp — attention() and attention_backward() pick their kernel from the
// calling thread's matmul precision: inside MatmulPrecisionScope(kBF16) the bf16-product kernels
// (kernels/cpu/flash_attention_bf16.h, bit for bit), outside it the f32 kernels (bit for bit), and
// the two differ by no more than bf16 rounding. The numerics of the bf16 kernels themselves are
// tested in tests/kernels/attention_bf16_test.cpp; the autograd closure's precision in
// tests/autograd/attention_bf16_grad_test.cpp.
#include <attn/attention.h>
#include <attn/attention_backward.h>
#include <attn/ops.h>
#include <attn/rng.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention_params.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cpu/flash_attention_backward.h"
#include "kernels/cpu/flash_attention_bf16.h"
#include "kernels/dispatch.h"
#include "ops/ops_test_util.h"

namespace attn {
namespace {

using test::randn;

// Params of contiguous f32 q [B,H,T,D], k/v [B,Hkv,S,D], causal, scale 1/8, as the op builds them.
kernels::AttentionParams params_of(const Tensor& q, const Tensor& k, const Tensor& v, bool bf16) {
  const auto& s = q.shape();
  const int64_t B = s[0], H = s[1], T = s[2], D = s[3], Hkv = k.shape()[1], S = k.shape()[2];
  kernels::AttentionParams p{.q = q.data<float>(), .k = k.data<float>(), .v = v.data<float>(), .B = B, .H = H,
                             .Hkv = Hkv, .T = T, .S = S, .D = D};
  const int64_t qs[3] = {H * T * D, T * D, D}, ks[3] = {Hkv * S * D, S * D, D};
  std::copy(qs, qs + 3, p.q_stride), std::copy(qs, qs + 3, p.o_stride);
  std::copy(ks, ks + 3, p.k_stride), std::copy(ks, ks + 3, p.v_stride);
  p.scale = 0.125f, p.causal = true, p.offset = S - T, p.bf16_products = bf16;
  return p;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  float m = 0.0f;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

TEST(AttentionBf16Op, MatmulPrecisionPicksTheKernel) {
  const Tensor q = randn({2, 4, 70, 64}, 1), k = randn({2, 2, 70, 64}, 2), v = randn({2, 2, 70, 64}, 3);
  const Tensor dout = randn({2, 4, 70, 64}, 4);
  kernels::AttentionParams probe = params_of(q, k, v, true);
  if (!kernels::attention_bf16_applicable(probe))
    GTEST_SKIP() << "no bf16 attention here (CPU without avx512_bf16, or target "
                 << kernels::target_name(kernels::chosen_target()) << "): attention stays f32 in every precision";
  const AttentionOptions opts{.scale = 0.125, .causal = true};
  const AttentionResult f32 = attention(q, k, v, opts);
  AttentionResult b16;
  AttentionGrads g16;
  {
    MatmulPrecisionScope bf16(MatmulPrecision::kBF16);
    b16 = attention(q, k, v, opts);
    g16 = attention_backward(q, k, v, b16.out, b16.lse, dout, opts);
  }
  const AttentionGrads g32 = attention_backward(q, k, v, f32.out, f32.lse, dout, opts);

  // Outside the scope: the f32 kernels' bits.
  std::vector<float> out(q.numel()), lse(2 * 4 * 70), dq(q.numel()), dk(k.numel()), dv(k.numel());
  const kernels::AttentionParams p32 = params_of(q, k, v, false);
  kernels::attention_forward_flash(p32, out.data(), lse.data());
  EXPECT_EQ(f32.out.to_vector(), out);
  EXPECT_EQ(f32.lse.to_vector(), lse);
  kernels::attention_backward_flash(p32, out.data(), dout.data<float>(), lse.data(), dq.data(), dk.data(), dv.data());
  EXPECT_EQ(g32.dq.to_vector(), dq);
  EXPECT_EQ(g32.dv.to_vector(), dv);

  // Inside: the bf16 kernels' bits.
  ASSERT_TRUE(kernels::attention_forward_flash_bf16(probe, out.data(), lse.data()));
  EXPECT_EQ(b16.out.to_vector(), out);
  EXPECT_EQ(b16.lse.to_vector(), lse);
  ASSERT_TRUE(kernels::attention_backward_flash_bf16(probe, out.data(), dout.data<float>(), lse.data(), dq.data(),
                                                     dk.data(), dv.data()));
  EXPECT_EQ(g16.dq.to_vector(), dq);
  EXPECT_EQ(g16.dk.to_vector(), dk);

  // Different arithmetic, same answer within bf16 rounding of q, k, v, dout, P and dS (measured on
  // Zen 4: out 0.010, dq/dk/dv 0.009-0.018).
  EXPECT_NE(b16.out.to_vector(), f32.out.to_vector());
  EXPECT_LT(max_abs_diff(b16.out, f32.out), 0.03f);
  EXPECT_LT(max_abs_diff(g16.dq, g32.dq), 0.05f);
  EXPECT_LT(max_abs_diff(g16.dk, g32.dk), 0.05f);
  EXPECT_LT(max_abs_diff(g16.dv, g32.dv), 0.05f);
  EXPECT_GT(max_abs_diff(g16.dv, g32.dv), 0.0f);
}

}  // namespace
}  // namespace attn
