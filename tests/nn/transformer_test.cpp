// TransformerBlock against torch.nn.TransformerEncoderLayer / DecoderLayer (both norm placements).
#include <attn/nn.h>
#include <attn/ops.h>
#include <gtest/gtest.h>

#include "nn/golden.h"

namespace attn {
namespace {
using testing::all_close;
using testing::load_golden;

TransformerBlockConfig config_of(const testing::Golden& g, bool cross) {
  const std::string act = g.meta["activation"];
  return {.d_model = g.meta["d_model"],
          .n_heads = g.meta["n_heads"],
          .d_ff = g.meta["d_ff"],
          .pre_norm = g.meta["norm_first"],
          .norm_eps = g.meta["eps"],
          .activation = act == "gelu" ? Activation::kGelu : Activation::kRelu,
          .causal = cross,
          .cross_attention = cross};
}

TEST(TransformerBlock, EncoderLayerMatchesTorch) {
  for (const char* name : {"encoder_postnorm_relu", "encoder_postnorm_gelu", "encoder_prenorm_relu",
                           "encoder_prenorm_gelu"}) {
    const auto g = load_golden(name);
    TransformerBlock block(config_of(g, false), "encoder.layers.0");
    block.eval();
    block.load_state(g.weights());
    const Tensor y = block.forward(g["x"], {.self_attn = {.key_lengths = g["key_lengths"]}});
    EXPECT_TRUE(all_close(y, g.at("y"))) << name;
  }
}

TEST(TransformerBlock, DecoderLayerMatchesTorch) {
  for (const char* name : {"decoder_postnorm", "decoder_prenorm"}) {
    const auto g = load_golden(name);
    TransformerBlock block(config_of(g, true), "decoder.layers.0");
    block.eval();
    block.load_state(g.weights());
    const BlockResult r = block.forward_full(
        g["x"], {.self_attn = {.need_weights = true},
                 .memory = g["memory"],
                 .cross_attn = {.key_lengths = g["memory_lengths"], .need_weights = true}});
    EXPECT_TRUE(all_close(r.out, g.at("y"))) << name;
    EXPECT_EQ(r.self_weights.shape(), (Shape{2, 2, 5, 5}));
    EXPECT_EQ(r.cross_weights.shape(), (Shape{2, 2, 5, 6}));
    EXPECT_EQ(r.cross_weights.get({1, 0, 3, 2}), 0.0);  // memory length 2
    EXPECT_EQ(r.self_weights.get({0, 1, 1, 2}), 0.0);   // causal
  }
}

TEST(TransformerBlock, LlamaLayerMatchesHfFormula) {
  const auto g = load_golden("block_llama");
  TransformerBlock block({.d_model = g.meta["d_model"], .n_heads = g.meta["n_heads"], .n_kv_heads = g.meta["n_kv_heads"],
                          .d_ff = g.meta["d_ff"], .norm = Norm::kRms, .norm_eps = g.meta["eps"],
                          .activation = Activation::kSwiGlu, .attn_bias = false, .ffn_bias = false, .causal = true,
                          .rope = RopeConfig{.theta = g.meta["theta"], .pairing = RopePairing::kHalf}},
                         "model.layers.0");
  block.load_state(g.weights());
  const Tensor y = block.forward(g["x"], {.self_attn = {.position_offset = g.meta["position_offset"]}});
  EXPECT_TRUE(all_close(y, g.at("y")));
}

TEST(TransformerBlock, LlamaStyleVariantIsData) {
  TransformerBlock block({.d_model = 16, .n_heads = 4, .n_kv_heads = 2, .d_ff = 24, .norm = Norm::kRms,
                          .activation = Activation::kSwiGlu, .attn_bias = false, .ffn_bias = false, .causal = true,
                          .rope = RopeConfig{.theta = 500000.0}},
                         "model.layers.0");
  std::vector<std::string> names;
  for (auto& p : block.named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                             "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                                             "self_attn_norm.weight", "ffn.gate_proj.weight", "ffn.up_proj.weight",
                                             "ffn.down_proj.weight", "ffn_norm.weight"}));
  Rng rng(9);
  block.init(rng);
  Tensor x = Tensor::empty({2, 6, 16});
  rng.normal_(x, 0, 1);
  const Tensor y = block.forward(x);
  EXPECT_EQ(y.shape(), x.shape());
  // Causal: changing the last token leaves the earlier outputs unchanged.
  Tensor x2 = x.clone();
  x2.narrow(1, 5, 1).fill(3.0);
  const Tensor y2 = block.forward(x2);
  EXPECT_EQ(y.narrow(1, 0, 5).contiguous().to_vector(), y2.narrow(1, 0, 5).contiguous().to_vector());
  EXPECT_NE(y.narrow(1, 5, 1).contiguous().to_vector(), y2.narrow(1, 5, 1).contiguous().to_vector());
}

// Prompt of 3 tokens, then one token at a time through per-layer KV caches, equals the full pass:
// for a Llama-style block (RoPE, GQA) and an encoder-decoder block (cached cross-attention K/V).
TEST(TransformerBlock, KvCachedDecodingEqualsFullPass) {
  for (bool cross : {false, true}) {
    TransformerBlockConfig cfg{.d_model = 16, .n_heads = 4, .n_kv_heads = cross ? 4 : 2, .d_ff = 24,
                               .norm = cross ? Norm::kLayer : Norm::kRms,
                               .activation = cross ? Activation::kRelu : Activation::kSwiGlu, .causal = true,
                               .cross_attention = cross};
    if (!cross) cfg.rope = RopeConfig{.pairing = RopePairing::kInterleaved};
    TransformerBlock block(cfg, "layers.0");
    block.eval();
    Rng rng(21);
    block.init(rng);
    Tensor x = Tensor::empty({2, 7, 16}), memory = Tensor::empty({2, 4, 16});
    rng.normal_(x, 0, 1);
    rng.normal_(memory, 0, 1);
    const Tensor mem = cross ? memory : Tensor();
    const Tensor lens = Tensor::from_vector_i64({4, 3}, {2});
    const std::vector<float> full = block.forward(x, {.memory = mem, .cross_attn = {.key_lengths = lens}}).to_vector();

    KvCacheLayer self_cache = block.self_attn().make_kv_cache(2, 8), cross_cache;
    if (cross) cross_cache = block.cross_attn()->make_kv_cache(2, 4);
    std::vector<Tensor> outs;
    for (int64_t t = 0; t < 7; t += t == 0 ? 3 : 1) {
      const int64_t n = t == 0 ? 3 : 1;
      outs.push_back(block.forward(x.narrow(1, t, n), {.self_attn = {.cache = &self_cache},
                                                       .memory = mem,
                                                       .cross_attn = {.key_lengths = lens, .cache = &cross_cache}}));
    }
    EXPECT_EQ(self_cache.length, 7);
    const std::vector<float> cached = concat(outs, 1).to_vector();
    ASSERT_EQ(cached.size(), full.size());
    for (size_t i = 0; i < full.size(); ++i) EXPECT_NEAR(cached[i], full[i], 2e-5) << (cross ? "cross " : "self ") << i;
    EXPECT_THROW(block.forward(x.narrow(1, 0, 2), {.self_attn = {.cache = &self_cache}, .memory = mem,
                                                   .cross_attn = {.cache = &cross_cache}}),
                 ValueError);  // 7 + 2 > capacity 8
  }
}

TEST(TransformerBlock, DropoutOnlyInTrainingAndSeeded) {
  TransformerBlock block({.d_model = 8, .n_heads = 2, .d_ff = 16, .dropout = 0.3f, .attn_dropout = 0.2f,
                          .ffn_dropout = 0.1f});
  Rng init(1);
  block.init(init);
  Tensor x = Tensor::empty({1, 4, 8});
  init.normal_(x, 0, 1);
  EXPECT_THROW(block.forward(x), ConfigError);
  Rng a(5), b(5);
  const std::vector<float> ya = block.forward(x, {.rng = &a}).to_vector(), yb = block.forward(x, {.rng = &b}).to_vector();
  EXPECT_EQ(ya, yb);
  block.eval();
  const std::vector<float> e = block.forward(x).to_vector();
  EXPECT_NE(e, ya);
  EXPECT_EQ(e, block.forward(x, {.rng = &a}).to_vector());
  EXPECT_THROW(block.forward(x, {.memory = x}), ConfigError);  // no cross-attention configured
}

}  // namespace
}  // namespace attn
