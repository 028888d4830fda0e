// MultiHeadAttention (self, fused, cross, GQA), additive and Luong attention against PyTorch.
#include <attn/nn.h>
#include <attn/ops.h>
#include <gtest/gtest.h>

#include <cmath>

#include "nn/golden.h"

namespace attn {
namespace {
using testing::all_close;
using testing::invert_bool_mask;
using testing::load_golden;

MultiHeadAttentionConfig config_of(const testing::Golden& g) {
  const bool bias = g.meta["bias"];
  return {.d_model = g.meta["d_model"],
          .n_heads = g.meta["n_heads"],
          .n_kv_heads = g.meta.value("n_kv_heads", int64_t{0}),
          .bias = bias,
          .out_bias = bias,
          .fused_qkv = g.meta.value("fused_qkv", false)};
}

TEST(MultiHeadAttention, SelfAttentionMatchesTorch) {
  for (const char* name : {"mha_self", "mha_self_fused"}) {
    const auto g = load_golden(name);
    MultiHeadAttention mha(config_of(g), "self_attn");
    mha.eval();
    mha.load_state(g.weights());
    // Key padding as lengths and the causal flag ...
    MhaResult r = mha.forward(g["x"], Tensor(), {.key_lengths = g["key_lengths"], .causal = true, .need_weights = true});
    EXPECT_TRUE(all_close(r.out, g.at("y"))) << name;
    EXPECT_TRUE(all_close(r.weights, g.at("weights"))) << name;
    // ... and as torch's boolean attn_mask (inverted: 1 = may attend).
    r = mha.forward(g["x"], Tensor(), {.key_lengths = g["key_lengths"], .mask = invert_bool_mask(g.at("attn_mask"))});
    EXPECT_TRUE(all_close(r.out, g.at("y"))) << name << " (bool mask)";
    EXPECT_FALSE(r.weights.defined());
  }
}

TEST(MultiHeadAttention, WeightsForChosenHeads) {
  const auto g = load_golden("mha_self");
  MultiHeadAttention mha(config_of(g));
  mha.load_state(g.weights());
  const MhaResult r = mha.forward(g["x"], Tensor(),
                                  {.key_lengths = g["key_lengths"], .causal = true, .need_weights = true, .weight_heads = {1}});
  const Tensor all = mha.forward(g["x"], Tensor(), {.key_lengths = g["key_lengths"], .causal = true, .need_weights = true})
                         .weights;
  ASSERT_EQ(r.weights.shape(), (Shape{2, 1, 5, 5}));
  EXPECT_EQ(r.weights.to_vector(), all.narrow(1, 1, 1).contiguous().to_vector());
}

TEST(MultiHeadAttention, CrossAttentionWithAdditiveMaskMatchesTorch) {
  const auto g = load_golden("mha_cross");
  MultiHeadAttention mha(config_of(g), "cross_attn");
  mha.load_state(g.weights());
  EXPECT_EQ(mha.named_parameters().size(), 4u);  // no biases
  const MhaResult r = mha.forward(g["q"], g["memory"],
                                  {.key_lengths = g["key_lengths"], .mask = g["attn_mask"], .need_weights = true});
  EXPECT_TRUE(all_close(r.out, g.at("y")));
  EXPECT_TRUE(all_close(r.weights, g.at("weights")));
}

TEST(MultiHeadAttention, GroupedQueryMatchesRepeatedKv) {
  const auto g = load_golden("mha_gqa");
  MultiHeadAttention mha({.d_model = 16, .n_heads = 4, .n_kv_heads = 2, .bias = false, .out_bias = false, .causal = true});
  mha.load_state(g.weights());
  EXPECT_EQ(mha.parameter("k_proj.weight").shape(), (Shape{8, 16}));
  const MhaResult r = mha.forward(g["x"], Tensor(), {.need_weights = true});
  EXPECT_TRUE(all_close(r.out, g.at("y")));
  EXPECT_TRUE(all_close(r.weights, g.at("weights")));
}

TEST(MultiHeadAttention, AlibiMatchesTorchFormula) {
  const auto g = load_golden("mha_alibi");
  MultiHeadAttention mha({.d_model = 12, .n_heads = 6, .bias = false, .out_bias = false, .causal = true, .alibi = true});
  mha.load_state(g.weights());
  EXPECT_TRUE(all_close(mha.forward(g["x"]), g.at("y")));
}

TEST(MultiHeadAttention, FullyMaskedSequenceGivesBiasNotNaN) {
  MultiHeadAttention mha({.d_model = 8, .n_heads = 2}, "attn");
  Rng rng(2);
  mha.init(rng);
  Tensor x = Tensor::empty({2, 3, 8});
  rng.normal_(x, 0, 1);
  const Tensor y = mha.forward(x, Tensor(), {.key_lengths = Tensor::from_vector_i64({3, 0}, {2})}).out;
  const std::vector<float> bias = mha.parameter("o_proj.bias").to_vector();
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t c = 0; c < 8; ++c) EXPECT_NEAR(y.get({1, t, c}), bias[c], 1e-6);
  for (float v : y.to_vector()) EXPECT_TRUE(std::isfinite(v));
}

TEST(MultiHeadAttention, RopeAndCachedDecodingAgree) {
  // Decoding token by token with a growing K/V (what a KV cache does) equals the full causal pass.
  MultiHeadAttention mha({.d_model = 8, .n_heads = 2, .n_kv_heads = 1, .causal = true,
                          .rope = RopeConfig{.pairing = RopePairing::kInterleaved, .max_positions = 16}});
  Rng rng(4);
  mha.init(rng);
  Tensor x = Tensor::empty({1, 5, 8});
  rng.normal_(x, 0, 1);
  const std::vector<float> full = mha.forward(x).to_vector();
  std::vector<Tensor> ks, vs;
  for (int64_t t = 0; t < 5; ++t) {
    MhaProjections p = mha.project(x.narrow(1, t, 1), Tensor(), t);
    ks.push_back(p.k);
    vs.push_back(p.v);
    p.k = concat(ks, 2);
    p.v = concat(vs, 2);
    const std::vector<float> y = mha.project_out(mha.attend(p, {}).out).to_vector();
    for (int c = 0; c < 8; ++c) EXPECT_NEAR(y[c], full[t * 8 + c], 1e-5) << t << "," << c;
  }
}

TEST(MultiHeadAttention, BadShapesNameTheModule) {
  MultiHeadAttention mha({.d_model = 8, .n_heads = 2, .kv_dim = 6}, "decoder.layers.0.cross_attn");
  try {
    mha.forward(Tensor::zeros({2, 3, 8}), Tensor::zeros({2, 4, 8}), {});
    FAIL();
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("decoder.layers.0.cross_attn"), std::string::npos) << m;
    EXPECT_NE(m.find("[2,4,8]"), std::string::npos) << m;
  }
  EXPECT_THROW(mha.forward(Tensor::zeros({2, 3, 7})), ShapeError);
}

TEST(AdditiveAttention, BahdanauMatchesTorch) {
  const auto g = load_golden("additive_attention");
  AdditiveAttention att({.query_dim = g.meta["query_dim"], .key_dim = g.meta["key_dim"], .attn_dim = g.meta["attn_dim"]},
                        "attention");
  att.load_state(g.weights());
  const AttendResult r = att.forward(g["q"], g["k"], g["values"], {.key_lengths = g["key_lengths"]});
  EXPECT_TRUE(all_close(r.context, g.at("context")));
  EXPECT_TRUE(all_close(r.weights, g.at("weights")));
  // Precomputed keys (once per source sentence) give the same.
  const AttendResult p = att.forward_projected(g["q"], att.project_keys(g["k"]), g["values"],
                                               {.key_lengths = g["key_lengths"]});
  EXPECT_EQ(p.context.to_vector(), r.context.to_vector());
  // A boolean mask equal to the lengths gives the same; a fully masked row gives zeros.
  const Tensor lens_mask = key_lengths_mask(g["key_lengths"], 6).unsqueeze(1);  // [B,1,S]
  EXPECT_TRUE(all_close(att.forward(g["q"], g["k"], g["values"], {.mask = lens_mask}).weights, g.at("weights")));
  const AttendResult z = att.forward(g["q"], g["k"], g["values"], {.key_lengths = Tensor::from_vector_i64({0, 4}, {2})});
  for (float v : z.context.narrow(0, 0, 1).contiguous().to_vector()) EXPECT_EQ(v, 0.0f);
  EXPECT_THROW(att.forward(g["k"], g["k"], g["values"]), ShapeError);
}

TEST(LuongAttention, DotAndGeneralMatchTorch) {
  for (auto [name, score] : {std::pair{"luong_dot", LuongScore::kDot}, std::pair{"luong_general", LuongScore::kGeneral}}) {
    const auto g = load_golden(name);
    LuongAttention att({.score = score, .query_dim = g.meta["dim"]}, "attention");
    att.load_state(g.weights());
    const AttendResult r = att.forward(g["q"], g["k"], g["values"], {.key_lengths = g["key_lengths"]});
    EXPECT_TRUE(all_close(r.context, g.at("context"))) << name;
    EXPECT_TRUE(all_close(r.weights, g.at("weights"))) << name;
  }
}

}  // namespace
}  // namespace attn
