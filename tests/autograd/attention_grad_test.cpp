// tests/autograd/attention_grad_test.cpp — attention() inside autograd: the recorded backward gives
// the float64 reference gradients (every option, GQA, strided views, bf16), lse is kept for the
// backward even when not returned, nothing is recorded without grad, and attention_backward's
// shape errors name both shapes.
#include <attn/attention.h>
#include <attn/attention_backward.h>
#include <attn/autograd.h>
#include <attn/error.h>
#include <attn/ops.h>
#include <attn/rng.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace attn {
namespace {

Tensor randn(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape);
  Rng rng(seed);
  rng.normal_(t, 0.0f, 1.0f);
  return t;
}

// |got - want| <= atol + rtol |want| element-wise, and no NaN.
void expect_close(const Tensor& got, const Tensor& want, double atol, double rtol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = got.to_vector_f64(), w = want.to_vector_f64();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], w[i], atol + rtol * std::abs(w[i])) << what << " at " << i;
}

struct GradCase {
  const char* name;
  int64_t B, H, Hkv, T, S, D;
  AttentionOptions opts;
};

// q, k, v leaves; backward(out, dout) must equal attention_backward_reference(q, k, v, dout).
void check_grads(const GradCase& c, uint64_t seed) {
  SCOPED_TRACE(c.name);
  Tensor q = randn({c.B, c.H, c.T, c.D}, seed).set_requires_grad();
  Tensor k = randn({c.B, c.Hkv, c.S, c.D}, seed + 1).set_requires_grad();
  Tensor v = randn({c.B, c.Hkv, c.S, c.D}, seed + 2).set_requires_grad();
  const Tensor dout = randn({c.B, c.H, c.T, c.D}, seed + 3);
  AttentionResult r = attention(q, k, v, c.opts);
  ASSERT_TRUE(r.out.requires_grad());
  EXPECT_EQ(r.lse.defined(), c.opts.return_lse);
  backward(r.out, dout);
  const AttentionGrads want = attention_backward_reference(q.detach(), k.detach(), v.detach(), dout, c.opts);
  expect_close(q.grad(), want.dq, 2e-5, 1e-4, "dq");
  expect_close(k.grad(), want.dk, 2e-5, 1e-4, "dk");
  expect_close(v.grad(), want.dv, 2e-5, 1e-4, "dv");
}

TEST(AttentionGrad, MatchesFloat64ReferenceForEveryOption) {
  const Tensor lengths = Tensor::from_vector_i32({5, 0}, {2});
  const Tensor bool_mask = Tensor::from_vector_i64({1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0}, {1, 1, 1, 12});
  Tensor slopes = Tensor::from_vector({0.5f, 0.25f, 0.125f, 0.0625f}, {4});
  const GradCase cases[] = {
      {"plain", 1, 2, 2, 9, 9, 16, {}},
      {"causal GQA", 2, 4, 2, 20, 20, 8, {.causal = true}},
      {"causal, lse not returned", 1, 2, 1, 7, 11, 8, {.causal = true, .return_lse = false}},
      {"offset, window, padding", 2, 4, 1, 10, 12, 8,
       {.causal = true, .offset = 1, .key_lengths = lengths, .window_left = 3, .window_right = 0}},
      {"bool mask, alibi, softcap", 1, 4, 4, 6, 12, 8,
       {.mask = bool_mask, .alibi_slopes = slopes, .softcap = 2.0f}},
      {"dropout", 1, 4, 2, 70, 70, 8, {.causal = true, .dropout_p = 0.25f, .dropout_seed = 9, .dropout_offset = 3}},
  };
  uint64_t seed = 100;
  for (const GradCase& c : cases) check_grads(c, seed += 10);
}

TEST(AttentionGrad, StridedViewsAndFullyMaskedRows) {
  // q comes out of a [B,T,H,D] tensor by transpose (strided rows); rows 0..3 see no key (T > S,
  // causal, bottom-right aligned), so their gradient must be exactly zero.
  Tensor qb = randn({1, 9, 2, 8}, 1).set_requires_grad();
  Tensor k = randn({1, 1, 5, 8}, 2).set_requires_grad();
  Tensor v = randn({1, 1, 5, 8}, 3).set_requires_grad();
  const Tensor dout = randn({1, 2, 9, 8}, 4);
  const AttentionOptions o{.causal = true};
  AttentionResult r = attention(qb.transpose(1, 2), k, v, o);
  backward(r.out, dout);
  const AttentionGrads want = attention_backward_reference(qb.detach().transpose(1, 2), k.detach(), v.detach(), dout, o);
  expect_close(qb.grad().transpose(1, 2).contiguous(), want.dq, 2e-5, 1e-4, "dq");
  expect_close(k.grad(), want.dk, 2e-5, 1e-4, "dk");
  const auto g = qb.grad().to_vector();  // [1, 9, 2, 8]: rows t < 4 are fully masked
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t i = 0; i < 16; ++i) EXPECT_EQ(g[t * 16 + i], 0.0f) << "t " << t;
}

TEST(AttentionGrad, Bf16InputsGiveBf16Gradients) {
  Tensor q = randn({1, 2, 7, 8}, 5).to(DType::kBF16).set_requires_grad();
  Tensor k = randn({1, 1, 7, 8}, 6).to(DType::kBF16).set_requires_grad();
  Tensor v = randn({1, 1, 7, 8}, 7).to(DType::kBF16).set_requires_grad();
  const Tensor dout = randn({1, 2, 7, 8}, 8);
  AttentionResult r = attention(q, k, v, {.causal = true});
  backward(r.out, dout.to(DType::kBF16));
  ASSERT_EQ(q.grad().dtype(), DType::kBF16);
  const AttentionGrads want = attention_backward_reference(q.detach(), k.detach(), v.detach(),
                                                           dout.to(DType::kBF16), {.causal = true});
  expect_close(q.grad(), want.dq, 1e-2, 2e-2, "dq");
  expect_close(v.grad(), want.dv, 1e-2, 2e-2, "dv");
}

TEST(AttentionGrad, NothingRecordedWithoutGrad) {
  Tensor q = randn({1, 1, 3, 4}, 1).set_requires_grad();
  const Tensor k = randn({1, 1, 3, 4}, 2), v = randn({1, 1, 3, 4}, 3);
  {
    NoGradGuard no_grad;
    AttentionResult r = attention(q, k, v, {.return_lse = false});
    EXPECT_FALSE(r.out.requires_grad());
    EXPECT_FALSE(r.lse.defined());
  }
  AttentionResult r = attention(q.detach(), k, v);
  EXPECT_FALSE(r.out.requires_grad());
}

TEST(AttentionBackwardOp, ShapeErrorsNameBothShapes) {
  const Tensor q = randn({1, 2, 3, 4}, 1), k = randn({1, 1, 5, 4}, 2), v = randn({1, 1, 5, 4}, 3);
  const AttentionResult r = attention(q, k, v);
  const auto message = [&](const Tensor& out, const Tensor& lse, const Tensor& dout) -> std::string {
    try {
      attention_backward(q, k, v, out, lse, dout);
    } catch (const ShapeError& e) {
      return e.what();
    }
    return "no ShapeError";
  };
  EXPECT_NE(message(r.out, r.lse, randn({1, 2, 3, 5}, 4)).find("[1,2,3,5]"), std::string::npos);
  EXPECT_NE(message(r.out, r.lse, randn({1, 2, 3, 5}, 4)).find("[1,2,3,4]"), std::string::npos);
  EXPECT_NE(message(r.out, randn({1, 2, 4}, 5), r.out).find("[1,2,3]"), std::string::npos);
  EXPECT_NE(message(randn({2, 2, 3, 4}, 6), r.lse, r.out).find("out"), std::string::npos);
  EXPECT_THROW(attention_backward(q, randn({1, 3, 5, 4}, 7), v, r.out, r.lse, r.out), ShapeError);
  EXPECT_THROW(attention_backward(q, k, randn({1, 1, 6, 4}, 8), r.out, r.lse, r.out), ShapeError);
}

// Through autograd, a fused projection's split heads get their gradient back as one buffer (the split's
// backward takes the attention backward's joint dq/dk/dv whole): the same bits as when q, k and v are
// copied out first (their gradients then joined by copies), f32 and bf16 products.
TEST(Attention, FusedProjectionGradientThroughSplit) {
  const int64_t B = 2, T = 33, H = 4, Hkv = 2, D = 16;
  const Tensor x0 = randn({B, T, (H + 2 * Hkv) * D}, 31), w = randn({B, T, H * D}, 32);
  for (MatmulPrecision prec : {MatmulPrecision::kF32, MatmulPrecision::kBF16}) {
    MatmulPrecisionScope scope(prec);
    std::vector<float> grads[2];
    for (int copy = 0; copy < 2; ++copy) {
      Tensor x = x0.clone();
      x.set_requires_grad();
      auto parts = split(x.view({B, T, H + 2 * Hkv, D}), {H, Hkv, Hkv}, 2);
      for (Tensor& p : parts) p = copy ? p.permute({0, 2, 1, 3}).contiguous() : p.permute({0, 2, 1, 3});
      const Tensor out = attention(parts[0], parts[1], parts[2], {.causal = true}).out;
      backward(sum_all(mul(out.permute({0, 2, 1, 3}).reshape({B, T, H * D}), w)));
      grads[copy] = x.grad().to_vector();
    }
    EXPECT_EQ(grads[0], grads[1]);
  }
}

}  // namespace
}  // namespace attn
