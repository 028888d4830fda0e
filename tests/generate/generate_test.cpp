// tests/generate/generate_test.cpp — samplers (greedy, temperature, top-k, top-p: supports and
// frequencies), seeded determinism, cached and uncached generation giving the same tokens, the
// streaming callback stopping generation, bad options.
#include <attn/autograd.h>
#include <attn/generate.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace attn {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, 0.5f, 3.0f, -1.0f};

std::vector<double> frequencies(const SamplerConfig& cfg, int n) {
  Sampler s(cfg);
  std::vector<double> f(kLogits.size(), 0.0);
  for (int i = 0; i < n; ++i) f[static_cast<size_t>(s.sample(kLogits))] += 1.0 / n;
  return f;
}

std::vector<double> softmax(const std::vector<float>& l, double t, const std::vector<int>& keep) {
  std::vector<double> p(l.size(), 0.0);
  double z = 0;
  for (int i : keep) z += p[i] = std::exp(l[i] / t);
  for (double& x : p) x /= z;
  return p;
}

TEST(Sampler, GreedyTakesTheFirstMaximum) {
  Sampler s({.temperature = 0.0f});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(kLogits), 1);
  Sampler k1({.temperature = 1.0f, .top_k = 1, .seed = 9});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(k1.sample(kLogits), 1);  // tie at 3.0: lower id wins
}

TEST(Sampler, TemperatureMatchesSoftmax) {
  const int n = 40000;
  for (double t : {1.0, 0.5, 2.0}) {
    const auto f = frequencies({.temperature = float(t), .seed = 1}, n);
    const auto p = softmax(kLogits, t, {0, 1, 2, 3, 4, 5});
    for (size_t i = 0; i < p.size(); ++i)
      EXPECT_NEAR(f[i], p[i], 4 * std::sqrt(p[i] * (1 - p[i]) / n) + 1e-4) << "t " << t << " id " << i;
  }
}

TEST(Sampler, TopKAndTopPRestrictTheSupport) {
  const int n = 20000;
  // top_k 3 keeps ids 1, 4 (3.0) and 2 (2.0).
  auto f = frequencies({.temperature = 1.0f, .top_k = 3, .seed = 2}, n);
  auto p = softmax(kLogits, 1.0, {1, 2, 4});
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(f[i], p[i], 4 * std::sqrt(p[i] * (1 - p[i]) / n) + 1e-4) << i;
  // Probabilities at t=1: ids 1 and 4 hold ≈ 0.33 each, id 2 ≈ 0.12: top_p 0.6 keeps exactly {1, 4}.
  f = frequencies({.temperature = 1.0f, .top_p = 0.6f, .seed = 3}, n);
  p = softmax(kLogits, 1.0, {1, 4});
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(f[i], p[i], 4 * std::sqrt(p[i] * (1 - p[i]) / n) + 1e-4) << i;
  // A tiny top_p still keeps one token.
  Sampler s({.temperature = 1.0f, .top_p = 1e-6f, .seed = 4});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(kLogits), 1);
}

TEST(Sampler, SameSeedSameDraws) {
  Sampler a({.temperature = 1.0f, .seed = 42}), b({.temperature = 1.0f, .seed = 42}), c({.temperature = 1.0f, .seed = 43});
  std::vector<int32_t> x, y, z;
  for (int i = 0; i < 64; ++i) x.push_back(a.sample(kLogits)), y.push_back(b.sample(kLogits)), z.push_back(c.sample(kLogits));
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(Sampler, BadOptions) {
  EXPECT_THROW(Sampler({.temperature = -1.0f}), ValueError);
  EXPECT_THROW(Sampler({.top_k = -2}), ValueError);
  EXPECT_THROW(Sampler({.top_p = 0.0f}), ValueError);
  EXPECT_THROW(Sampler({.top_p = 1.5f}), ValueError);
}

class GenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = gpt_preset("tiny");
    cfg_.vocab_size = 13;
    cfg_.block_size = 24;
    model_ = std::make_unique<Gpt>(cfg_);
    Rng rng(7);
    model_->init_weights(rng);
    // Sharper logits than the 0.02 init gives, so sampling is not near-uniform.
    NoGradGuard ng;
    Tensor& wte = model_->parameter("wte.weight");
    rng.normal_(wte, 0.0f, 1.0f);
    model_->eval();
  }
  GptConfig cfg_;
  std::unique_ptr<Gpt> model_;
};

TEST_F(GenerateTest, CachedAndUncachedGiveTheSameTokens) {
  const std::vector<int32_t> prompt = {3, 1, 4, 1, 5};
  for (const SamplerConfig& sc : {SamplerConfig{.temperature = 0.0f}, SamplerConfig{.temperature = 1.0f, .seed = 11},
                                  SamplerConfig{.temperature = 0.9f, .top_k = 5, .top_p = 0.9f, .seed = 12}}) {
    Sampler s1(sc), s2(sc);
    // prompt 5 + 20 new: the context never exceeds block_size 24.
    const auto cached = generate(*model_, prompt, {.max_tokens = 20, .use_cache = true}, s1);
    const auto uncached = generate(*model_, prompt, {.max_tokens = 20, .use_cache = false}, s2);
    EXPECT_EQ(cached.size(), 20u);
    EXPECT_EQ(cached, uncached) << "temperature " << sc.temperature;
  }
}

TEST_F(GenerateTest, RunsPastTheBlockSize) {
  Sampler s({.temperature = 1.0f, .seed = 1});
  const auto out = generate(*model_, std::vector<int32_t>{1, 2}, {.max_tokens = 60}, s);
  EXPECT_EQ(out.size(), 60u);
  for (int32_t id : out) EXPECT_TRUE(id >= 0 && id < 13);
}

TEST_F(GenerateTest, CallbackStreamsAndStops) {
  Sampler s({.temperature = 1.0f, .seed = 3});
  std::vector<int32_t> seen;
  std::string text;
  const auto out = generate(*model_, std::vector<int32_t>{0}, {.max_tokens = 50}, s,
                            [&](int32_t id, std::string_view piece) {
                              seen.push_back(id);
                              text += piece;
                              return seen.size() < 7;
                            },
                            [](int32_t id) { return std::string(1, char('a' + id)); });
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(out, seen);
  ASSERT_EQ(text.size(), 7u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(text[i], char('a' + seen[i]));
}

TEST_F(GenerateTest, BadInput) {
  Sampler s({.temperature = 0.0f});
  EXPECT_THROW(generate(*model_, std::vector<int32_t>{}, {.max_tokens = 3}, s), ValueError);
  EXPECT_THROW(generate(*model_, std::vector<int32_t>{13}, {.max_tokens = 3}, s), ValueError);
  EXPECT_THROW(generate(*model_, std::vector<int32_t>{1}, {.max_tokens = -1}, s), ValueError);
}

}  // namespace
}  // namespace attn
