// tests/ops/attention_test.cpp — the Tensor-level attention API: hand-checked values, the options
// plumbing (broadcast masks, lengths, strided and bf16 inputs), weights from lse, and bad input.
// The numerical sweep over shapes and options lives in tests/kernels/attention_test.cpp.
#include <attn/attention.h>
#include <attn/attention_backward.h>
#include <attn/error.h>
#include <attn/ops.h>
#include <attn/rng.h>
#include <attn/threads.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ops/ops_test_util.h"

namespace attn {
namespace {

using test::randn;

void expect_close(const Tensor& a, const Tensor& b, double tol) {
  ASSERT_EQ(a.shape(), b.shape());
  const auto x = a.to_vector(), y = b.to_vector();
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isinf(y[i])) {
      EXPECT_EQ(x[i], y[i]) << i;
    } else {
      EXPECT_NEAR(x[i], y[i], tol) << i;
    }
  }
}

TEST(Attention, WorkedExampleOneKey) {
  // One key: the softmax is 1 whatever the logit, so the output is v.
  const Tensor q = Tensor::from_vector({1, 2}, {1, 1, 1, 2});
  const Tensor k = Tensor::from_vector({2, 1}, {1, 1, 1, 2});
  const Tensor v = Tensor::from_vector({3, 4}, {1, 1, 1, 2});
  const AttentionResult r = attention(q, k, v);
  EXPECT_EQ(r.out.to_vector(), (std::vector<float>{3, 4}));
  // lse of one logit is the logit: <q,k>/sqrt(2) = 4/sqrt(2).
  EXPECT_NEAR(r.lse.item(), 4.0 / std::sqrt(2.0), 1e-6);
  EXPECT_EQ(attention_reference(q, k, v).out.to_vector(), (std::vector<float>{3, 4}));
}

TEST(Attention, HandCheckedTwoKeys) {
  // q = [1,0], keys [1,0] and [0,1]: logits 1/sqrt(2) = 0.70710678 and 0.
  // p0 = 1 / (1 + e^-0.70710678) = 1 / 1.49306869 = 0.66976155; out = p0·[1,2] + (1-p0)·[3,4]
  // = [1.66047690, 2.66047690]; lse = ln(e^0.70710678 + 1) = ln(3.02811498) = 1.10794031.
  const Tensor q = Tensor::from_vector({1, 0}, {1, 1, 1, 2});
  const Tensor k = Tensor::from_vector({1, 0, 0, 1}, {1, 1, 2, 2});
  const Tensor v = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
  for (const AttentionResult& r : {attention(q, k, v), AttentionResult{attention_reference(q, k, v).out,
                                                                        attention_reference(q, k, v).lse}}) {
    EXPECT_NEAR(r.out.get({0, 0, 0, 0}), 1.66047690, 1e-6);
    EXPECT_NEAR(r.out.get({0, 0, 0, 1}), 2.66047690, 1e-6);
    EXPECT_NEAR(r.lse.item(), 1.10794031, 1e-6);
  }
  const Tensor w = attention_reference(q, k, v).weights;
  EXPECT_NEAR(w.get({0, 0, 0, 0}), 0.66976155, 1e-7);
  // Causal with T = 1, S = 2 and offset 0: the query sees key 0 only.
  EXPECT_NEAR(attention(q, k, v, {.causal = true, .offset = 0}).out.get({0, 0, 0, 1}), 2.0, 1e-6);
}

TEST(Attention, OptionsPlumbingMatchesReference) {
  const int64_t B = 2, H = 4, Hkv = 2, T = 9, S = 13, D = 16;
  // q as a strided view: heads permuted out of a [B,T,H,D] projection.
  const Tensor q = randn({B, T, H, D}, 1).permute({0, 2, 1, 3});
  const Tensor k = randn({B, Hkv, S, D}, 2), v = randn({B, Hkv, S, D}, 3);
  Tensor bool_mask = Tensor::full({T, S}, 1, DType::kI32);
  bool_mask.set({2, 5}, 0);
  bool_mask.set({4, 0}, 0);
  Tensor add_mask = randn({1, H, 1, S}, 4);
  add_mask.set({0, 1, 0, 3}, -INFINITY);
  const Tensor slopes = Tensor::from_vector({0.5f, 0.25f, 0.125f, 0.0625f}, {H});
  const std::vector<AttentionOptions> all = {
      {},
      {.causal = true},
      {.key_lengths = Tensor::from_vector_i32({5, 0}, {B})},
      {.mask = bool_mask},
      {.mask = add_mask, .window_left = 3, .window_right = 1},
      {.causal = true, .offset = 2, .alibi_slopes = slopes, .softcap = 3.0f},
      {.scale = 0.3, .causal = true, .key_lengths = Tensor::from_vector_i64({11, 7}, {B}), .mask = bool_mask,
       .window_left = 4, .alibi_slopes = slopes, .softcap = 2.0f, .dropout_p = 0.25f, .dropout_seed = 5},
  };
  for (size_t n = 0; n < all.size(); ++n) {
    SCOPED_TRACE(n);
    const AttentionResult r = attention(q, k, v, all[n]);
    const AttentionReference ref = attention_reference(q, k, v, all[n]);
    expect_close(r.out, ref.out, 2e-5);
    expect_close(r.lse, ref.lse, 2e-5);
    const Tensor w = attention_weights(q, k, r.lse, all[n], {3, 0});
    expect_close(w.select(1, 0), ref.weights.select(1, 3), 2e-6);
    expect_close(w.select(1, 1), ref.weights.select(1, 0), 2e-6);
  }
}

TEST(Attention, Bf16InputsAndNoLse) {
  const Tensor q = randn({1, 2, 5, 8}, 7), k = randn({1, 1, 6, 8}, 8), v = randn({1, 1, 6, 8}, 9);
  const AttentionResult r =
      attention(q.to(DType::kBF16), k.to(DType::kBF16), v.to(DType::kBF16), {.causal = true, .return_lse = false});
  EXPECT_EQ(r.out.dtype(), DType::kBF16);
  EXPECT_FALSE(r.lse.defined());
  const AttentionReference ref = attention_reference(q, k, v, {.causal = true});
  expect_close(r.out.to(DType::kF32), ref.out, 0.05);
}

TEST(Attention, SameResultForEveryThreadCount) {
  const Tensor q = randn({2, 4, 70, 16}, 11), k = randn({2, 2, 90, 16}, 12), v = randn({2, 2, 90, 16}, 13);
  const AttentionOptions o{.causal = true, .dropout_p = 0.1f, .dropout_seed = 3};
  const int saved = num_threads();
  set_num_threads(1);
  const AttentionResult one = attention(q, k, v, o);
  set_num_threads(2);
  const AttentionResult two = attention(q, k, v, o);
  set_num_threads(saved);
  EXPECT_EQ(one.out.to_vector(), two.out.to_vector());
  EXPECT_EQ(one.lse.to_vector(), two.lse.to_vector());
}

// q, k, v as [B,H,T,D] views of projections' [B,T,H,D] rows (as MultiHeadAttention makes them): out
// and dq take q's layout, dk and dv k's and v's (merging the heads, and every gradient's way back to
// its projection, are then views), dout in out's layout is read in place, and every result has the
// same bits as with contiguous inputs; a dout in another layout still works. f32 and bf16 products.
void check_projection_layouts(int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t D) {
  const Tensor q = randn({B, T, H, D}, 21).permute({0, 2, 1, 3});
  const Tensor k = randn({B, T, Hkv, D}, 22).permute({0, 2, 1, 3}), v = randn({B, T, Hkv, D}, 23).permute({0, 2, 1, 3});
  const Tensor dout_rows = randn({B, T, H, D}, 24);
  const Tensor dout = dout_rows.permute({0, 2, 1, 3});
  const AttentionOptions o{.causal = true, .return_lse = true};
  for (MatmulPrecision prec : {MatmulPrecision::kF32, MatmulPrecision::kBF16}) {
    MatmulPrecisionScope scope(prec);
    const AttentionResult r = attention(q, k, v, o);
    EXPECT_FALSE(r.out.is_contiguous());
    EXPECT_TRUE(r.out.permute({0, 2, 1, 3}).is_contiguous());
    const AttentionResult c = attention(q.contiguous(), k.contiguous(), v.contiguous(), o);
    EXPECT_TRUE(c.out.is_contiguous());
    EXPECT_EQ(r.out.to_vector(), c.out.to_vector());
    EXPECT_EQ(r.lse.to_vector(), c.lse.to_vector());

    const AttentionGrads g = attention_backward(q, k, v, r.out, r.lse, dout, o);
    for (const Tensor* t : {&g.dq, &g.dk, &g.dv})  // (one head: both layouts are the same memory)
      EXPECT_TRUE(t->size(1) == 1 || t->permute({0, 2, 1, 3}).is_contiguous());
    const AttentionGrads want =
        attention_backward(q.contiguous(), k.contiguous(), v.contiguous(), c.out, c.lse, dout.contiguous(), o);
    EXPECT_EQ(g.dq.to_vector(), want.dq.to_vector());
    EXPECT_EQ(g.dk.to_vector(), want.dk.to_vector());
    EXPECT_EQ(g.dv.to_vector(), want.dv.to_vector());
    const AttentionGrads mixed = attention_backward(q, k, v, r.out, r.lse, dout.contiguous(), o);
    EXPECT_TRUE(mixed.dq.size(1) == 1 || mixed.dq.permute({0, 2, 1, 3}).is_contiguous());
    EXPECT_EQ(mixed.dq.to_vector(), want.dq.to_vector());
    EXPECT_EQ(mixed.dk.to_vector(), want.dk.to_vector());

    // q, k, v as the head slices of one fused projection's [B,T,H+2Hkv,D] rows: out is a dense
    // [B,T,H,D] (merging heads stays a view), dq, dk, dv are the same slices of one new buffer, and
    // every bit is as with contiguous inputs.
    const Tensor qkv = randn({B, T, H + 2 * Hkv, D}, 25);
    const Tensor fq = qkv.narrow(2, 0, H).permute({0, 2, 1, 3}), fk = qkv.narrow(2, H, Hkv).permute({0, 2, 1, 3}),
                 fv = qkv.narrow(2, H + Hkv, Hkv).permute({0, 2, 1, 3});
    const AttentionResult fr = attention(fq, fk, fv, o);
    EXPECT_TRUE(fr.out.permute({0, 2, 1, 3}).is_contiguous());
    const AttentionResult fc = attention(fq.contiguous(), fk.contiguous(), fv.contiguous(), o);
    EXPECT_EQ(fr.out.to_vector(), fc.out.to_vector());
    const AttentionGrads fg = attention_backward(fq, fk, fv, fr.out, fr.lse, dout, o);
    EXPECT_EQ(fg.dk.storage(), fg.dq.storage());
    EXPECT_EQ(fg.dv.storage(), fg.dq.storage());
    for (const Tensor* t : {&fg.dq, &fg.dk, &fg.dv}) EXPECT_EQ(t->strides(), fq.strides());
    EXPECT_EQ(fg.dk.offset(), fg.dq.offset() + H * D);
    EXPECT_EQ(fg.dv.offset(), fg.dk.offset() + Hkv * D);
    const AttentionGrads fwant = attention_backward(fq.contiguous(), fk.contiguous(), fv.contiguous(), fc.out, fc.lse,
                                                    dout.contiguous(), o);
    EXPECT_EQ(fg.dq.to_vector(), fwant.dq.to_vector());
    EXPECT_EQ(fg.dk.to_vector(), fwant.dk.to_vector());
    EXPECT_EQ(fg.dv.to_vector(), fwant.dv.to_vector());
  }
}

// Shapes: several key chunks (dQ partials), one chunk (B·Hkv >= 16: dQ, dK, dV accumulated in the
// outputs), and D not whole vectors (dK/dV copied out; the bf16 kernel falls back to f32).
TEST(Attention, OutAndGradientsTakeTheProjectionLayouts) {
  struct Dims {
    int64_t B, T, H, Hkv, D;
  };
  for (const Dims& s : {Dims{2, 37, 4, 2, 32}, Dims{4, 70, 8, 4, 64}, Dims{1, 20, 2, 1, 24}}) {
    SCOPED_TRACE(testing::Message() << "B=" << s.B << " T=" << s.T << " H=" << s.H << " Hkv=" << s.Hkv << " D=" << s.D);
    check_projection_layouts(s.B, s.T, s.H, s.Hkv, s.D);
  }
}

// Expects `fn` to throw E whose message contains every string in `parts`.
template <class E, class Fn>
void expect_error(Fn fn, std::vector<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    for (const auto& s : parts) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what() << " lacks " << s;
  }
}

TEST(Attention, BadInputThrowsNamingBothShapes) {
  const Tensor q = Tensor::zeros({1, 4, 3, 8}), k = Tensor::zeros({1, 2, 5, 8}), v = Tensor::zeros({1, 2, 5, 8});
  expect_error<ShapeError>([&] { attention(q, Tensor::zeros({1, 2, 5, 7}), v); }, {"[1,4,3,8]", "[1,2,5,7]"});
  expect_error<ShapeError>([&] { attention(q, k, Tensor::zeros({1, 2, 6, 8})); }, {"[1,2,6,8]", "[1,2,5,8]"});
  expect_error<ShapeError>([&] { attention(q, Tensor::zeros({1, 3, 5, 8}), Tensor::zeros({1, 3, 5, 8})); },
                           {"[1,4,3,8]", "[1,3,5,8]"});
  expect_error<ShapeError>([&] { attention(q, k.to(DType::kBF16), v); }, {"f32", "bf16", "[1,4,3,8]", "[1,2,5,8]"});
  expect_error<ShapeError>([&] { attention(Tensor::zeros({4, 3, 8}), k, v); }, {"[4,3,8]"});
  expect_error<ShapeError>([&] { attention(q, k, v, {.mask = Tensor::zeros({3, 4})}); }, {"[3,4]", "[1,4,3,5]"});
  expect_error<ShapeError>([&] { attention(q, k, v, {.key_lengths = Tensor::from_vector_i32({1, 2}, {2})}); },
                           {"[2]", "[1]"});
  expect_error<ValueError>([&] { attention(q, k, v, {.key_lengths = Tensor::from_vector_i32({6}, {1})}); },
                           {"key_lengths[0] = 6", "S = 5"});
  expect_error<ValueError>([&] { attention(q, k, v, {.key_lengths = Tensor::from_vector_i64({-1}, {1})}); },
                           {"key_lengths[0] = -1"});
  expect_error<ShapeError>([&] { attention(q, k, v, {.alibi_slopes = Tensor::zeros({2})}); }, {"[2]", "[4]"});
  expect_error<ValueError>([&] { attention(q, k, v, {.dropout_p = 1.0f}); }, {"dropout_p"});
  expect_error<ValueError>([&] { attention(q, k, v, {.window_left = -2}); }, {"-2"});
  const Tensor lse = attention(q, k, v).lse;
  expect_error<ShapeError>([&] { attention_weights(q, k, lse, {}, {4}); }, {"head 4", "[1,4,3,8]"});
  expect_error<ShapeError>([&] { attention_weights(q, k, Tensor::zeros({1, 4, 2}), {}, {0}); }, {"[1,4,3]", "[1,4,2]"});
}

}  // namespace
}  // namespace attn
