// tests/autograd/attention_bf16_grad_test.cpp — attention()'s autograd closure runs the backward in
// the precision its forward ran in: a forward inside MatmulPrecisionScope(kBF16) whose backward()
// runs after the scope has ended still takes the bf16-product backward (bit for bit what
// attention_backward gives inside the scope), and an f32 forward's backward stays f32 inside one.
#include <attn/attention.h>
#include <attn/attention_backward.h>
#include <attn/autograd.h>
#include <attn/ops.h>
#include <attn/rng.h>
#include <gtest/gtest.h>

#include "autograd/gradcheck_rows.h"
#include "kernels/attention_params.h"
#include "kernels/cpu/flash_attention_bf16.h"

namespace attn {
namespace {


bool bf16_attention_here() {
  kernels::AttentionParams p{.B = 1, .H = 1, .Hkv = 1, .T = 1, .S = 1, .D = 64};
  p.bf16_products = true;
  return kernels::attention_bf16_applicable(p);
}

TEST(AttentionBf16Grad, BackwardUsesTheForwardsPrecision) {
  if (!bf16_attention_here()) GTEST_SKIP() << "no bf16 attention on this CPU/target: attention stays f32";
  const AttentionOptions opts{.causal = true};
  const Tensor q0 = randn({1, 2, 40, 64}, 1), k0 = randn({1, 2, 40, 64}, 2), v0 = randn({1, 2, 40, 64}, 3);
  const Tensor dout = randn({1, 2, 40, 64}, 4);
  for (const bool forward_bf16 : {true, false}) {
    SCOPED_TRACE(forward_bf16 ? "bf16 forward, backward outside the scope" : "f32 forward, backward inside one");
    Tensor q = q0.detach().set_requires_grad(), k = k0.detach().set_requires_grad(), v = v0.detach().set_requires_grad();
    AttentionResult r;
    {
      MatmulPrecisionScope scope(forward_bf16 ? MatmulPrecision::kBF16 : MatmulPrecision::kF32);
      r = attention(q, k, v, opts);
    }
    {
      MatmulPrecisionScope scope(forward_bf16 ? MatmulPrecision::kF32 : MatmulPrecision::kBF16);
      backward(r.out, dout);
    }
    AttentionGrads want, other;
    {
      MatmulPrecisionScope scope(forward_bf16 ? MatmulPrecision::kBF16 : MatmulPrecision::kF32);
      want = attention_backward(q0, k0, v0, r.out.detach(), r.lse.detach(), dout, opts);
    }
    {
      MatmulPrecisionScope scope(forward_bf16 ? MatmulPrecision::kF32 : MatmulPrecision::kBF16);
      other = attention_backward(q0, k0, v0, r.out.detach(), r.lse.detach(), dout, opts);
    }
    EXPECT_EQ(q.grad().to_vector(), want.dq.to_vector());
    EXPECT_EQ(k.grad().to_vector(), want.dk.to_vector());
    EXPECT_EQ(v.grad().to_vector(), want.dv.to_vector());
    EXPECT_NE(v.grad().to_vector(), other.dv.to_vector());  // the precisions do differ
  }
}

}  // namespace
}  // namespace attn
