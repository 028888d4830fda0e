// tests/models/gpt_test.cpp — the GPT: config presets and JSON, parameter names and tying, forward
// shapes, causality, cached forward == uncached forward, bad input.
#include <attn/autograd.h>
#include <attn/model.h>
#include <attn/ops.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace attn {
namespace {

GptConfig tiny(int64_t V = 11) {
  GptConfig c = gpt_preset("tiny");
  c.vocab_size = V;
  c.block_size = 16;
  return c;
}

Tensor random_ids(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> v(static_cast<size_t>(B * T));
  for (auto& x : v) x = static_cast<int32_t>(rng.randint(0, V));
  return Tensor::from_vector_i32(v, {B, T});
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  EXPECT_EQ(x.size(), y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(double(x[i]) - y[i]));
  return m;
}

TEST(GptConfig, PresetsAndJsonRoundTrip) {
  for (const auto& name : gpt_preset_names()) {
    GptConfig c = gpt_preset(name);
    c.vocab_size = 65;
    EXPECT_NO_THROW(gpt_config_check(c)) << name;
    EXPECT_EQ(gpt_config_from_json(gpt_config_to_json(c), "test"), c) << name;
  }
  const GptConfig n = gpt_preset("nanogpt-cpu");
  EXPECT_EQ(n.n_layers, 4);
  EXPECT_EQ(n.n_heads, 4);
  EXPECT_EQ(n.d_model, 128);
  EXPECT_EQ(n.block_size, 64);
  EXPECT_EQ(n.dropout, 0.0f);
  EXPECT_THROW(gpt_preset("huge"), ConfigError);
  EXPECT_THROW(gpt_config_from_json("{\"n_layers\": 2}", "x.json"), FormatError);
  EXPECT_THROW(gpt_config_from_json("not json", "x.json"), FormatError);
  // A config written before "fused_qkv" existed describes separate q/k/v projections.
  GptConfig old = tiny();
  nlohmann::json j = nlohmann::json::parse(gpt_config_to_json(old));
  EXPECT_TRUE(j.at("fused_qkv").get<bool>());
  j.erase("fused_qkv");
  old.fused_qkv = false;
  EXPECT_EQ(gpt_config_from_json(j.dump(), "old.json"), old);
  j["fused_qkv"] = 1;
  EXPECT_THROW(gpt_config_from_json(j.dump(), "x.json"), FormatError);
  GptConfig bad = tiny();
  bad.d_model = 30;
  bad.n_heads = 4;
  EXPECT_THROW(gpt_config_check(bad), ConfigError);
  bad = tiny();
  bad.vocab_size = 0;
  EXPECT_THROW(Gpt{bad}, ConfigError);
}

TEST(Gpt, ParameterNamesAndTiedHead) {
  Gpt m(tiny());
  std::vector<std::string> names;
  for (auto& p : m.named_parameters()) names.push_back(p.name);
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "wte.weight");
  EXPECT_EQ(names[1], "wpe.weight");
  EXPECT_EQ(names.back(), "ln_f.bias");
  EXPECT_TRUE(m.has_parameter("layers.1.self_attn.qkv_proj.weight"));
  EXPECT_FALSE(m.has_parameter("layers.1.self_attn.q_proj.weight"));
  EXPECT_TRUE(m.has_parameter("layers.0.ffn.up_proj.weight"));
  // One output matrix: the head is wte (no separate lm_head parameter).
  for (const auto& n : names) EXPECT_EQ(n.find("head"), std::string::npos) << n;
  const int64_t C = 32, V = 11, P = 16, F = 4 * C, L = 2;
  const int64_t per_block = 4 * (C * C + C) + (F * C + F) + (C * F + C) + 4 * C;
  EXPECT_EQ(m.num_parameters(), V * C + P * C + L * per_block + 2 * C);
  GptConfig separate = tiny();
  separate.fused_qkv = false;
  Gpt s(separate);
  EXPECT_TRUE(s.has_parameter("layers.1.self_attn.q_proj.weight"));
  EXPECT_EQ(s.num_parameters(), m.num_parameters());
}

TEST(Gpt, InitIsSeededAndGpt2Like) {
  Gpt a(tiny()), b(tiny());
  Rng ra(5), rb(5);
  a.init_weights(ra);
  b.init_weights(rb);
  for (auto& [name, t] : a.state_dict()) EXPECT_EQ(t.to_vector(), b.state_dict().at(name).to_vector()) << name;
  EXPECT_EQ(a.parameter("ln_f.weight").to_vector(), std::vector<float>(32, 1.0f));
  EXPECT_EQ(a.parameter("layers.0.self_attn.qkv_proj.bias").to_vector(), std::vector<float>(96, 0.0f));
  // std of wte ≈ 0.02; residual projections smaller (0.02 / sqrt(2·2) = 0.01).
  auto stdev = [](const Tensor& t) {
    double s = 0;
    for (float v : t.to_vector()) s += double(v) * v;
    return std::sqrt(s / double(t.numel()));
  };
  EXPECT_NEAR(stdev(a.parameter("layers.0.ffn.up_proj.weight")), 0.02, 0.002);
  EXPECT_NEAR(stdev(a.parameter("layers.0.self_attn.qkv_proj.weight")), 0.02, 0.002);
  EXPECT_NEAR(stdev(a.parameter("layers.0.ffn.down_proj.weight")), 0.01, 0.001);
}

TEST(Gpt, ForwardShapesAndCausality) {
  Gpt m(tiny());
  Rng rng(1);
  m.init_weights(rng);
  m.eval();
  NoGradGuard ng;
  const Tensor ids = random_ids(2, 9, 11, 3);
  const Tensor logits = m.forward(ids);
  EXPECT_EQ(logits.shape(), (Shape{2, 9, 11}));
  // Changing the last token leaves the earlier positions' logits alone.
  Tensor ids2 = ids.clone();
  ids2.set({0, 8}, (ids.get({0, 8}) + 1 == 11) ? 0 : ids.get({0, 8}) + 1);
  const Tensor l2 = m.forward(ids2);
  EXPECT_EQ(max_abs_diff(logits.narrow(1, 0, 8), l2.narrow(1, 0, 8)), 0.0);
  EXPECT_GT(max_abs_diff(logits.narrow(1, 8, 1), l2.narrow(1, 8, 1)), 0.0);
}

TEST(Gpt, CachedForwardMatchesUncached) {
  Gpt m(tiny());
  Rng rng(2);
  m.init_weights(rng);
  m.eval();
  NoGradGuard ng;
  const Tensor ids = random_ids(2, 12, 11, 4);
  const Tensor full = m.forward(ids);  // [2,12,V]
  KvCache cache(m.config(), 2);
  // Prefill 5 positions, then one at a time, then a chunk of 3.
  std::vector<Tensor> parts = {m.forward(ids.narrow(1, 0, 5), &cache)};
  for (int64_t t = 5; t < 9; ++t) parts.push_back(m.forward(ids.narrow(1, t, 1), &cache));
  parts.push_back(m.forward(ids.narrow(1, 9, 3), &cache));
  EXPECT_EQ(cache.length(), 12);
  const Tensor cached = concat(parts, 1);
  EXPECT_LT(max_abs_diff(full, cached), 1e-4);
}

TEST(Gpt, BadInput) {
  Gpt m(tiny());
  m.eval();
  NoGradGuard ng;
  EXPECT_THROW(m.forward(random_ids(1, 17, 11, 0)), ShapeError);                // longer than block_size
  EXPECT_THROW(m.forward(Tensor::from_vector_i32({1, 2, 11}, {1, 3})), ShapeError);  // id outside [0, V)
  EXPECT_THROW(m.forward(Tensor::zeros({1, 3})), ShapeError);                   // f32 ids
  KvCache cache(m.config(), 1, 4);
  m.forward(random_ids(1, 4, 11, 0), &cache);
  EXPECT_THROW(m.forward(random_ids(1, 1, 11, 0), &cache), ShapeError);  // cache full
  KvCache two(m.config(), 2);
  EXPECT_THROW(m.forward(random_ids(1, 1, 11, 0), &two), ShapeError);    // batch mismatch
  GptConfig d = tiny();
  d.dropout = 0.1f;
  Gpt md(d);
  EXPECT_THROW(md.forward(random_ids(1, 4, 11, 0)), ConfigError);  // training mode with dropout, no rng
}

}  // namespace
}  // namespace attn
