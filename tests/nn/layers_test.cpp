// Linear, Embedding, norms, FeedForward and dropout: goldens from PyTorch and direct definitions.
#include <attn/nn.h>
#include <attn/ops.h>
#include <attn/threads.h>
#include <gtest/gtest.h>

#include "nn/golden.h"

namespace attn {
namespace {
using testing::all_close;
using testing::load_golden;

TEST(Linear, ComputesXWtPlusB) {
  Linear lin({.in = 2, .out = 3}, "proj");
  lin.load_state({{"weight", Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2})},
                  {"bias", Tensor::from_vector({0.5f, -1, 0}, {3})}});
  const Tensor y = lin.forward(Tensor::from_vector({1, -1, 2, 0.5f}, {2, 2}));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{-0.5f, -2.0f, -1.0f, 3.5f, 7.0f, 13.0f}));
  try {
    lin.forward(Tensor::zeros({2, 5}));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("proj"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[2,5]"), std::string::npos);
  }
  Linear nobias({.in = 2, .out = 1, .bias = false});
  EXPECT_EQ(nobias.named_parameters().size(), 1u);
}

TEST(Embedding, LooksUpRows) {
  Embedding emb({.num = 3, .dim = 2}, "wte");
  emb.load_state({{"weight", Tensor::from_vector({0, 1, 10, 11, 20, 21}, {3, 2})}});
  const Tensor e = emb.forward(Tensor::from_vector_i64({2, 0, 1}, {1, 3}));
  EXPECT_EQ(e.shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(e.to_vector(), (std::vector<float>{20, 21, 0, 1, 10, 11}));
  EXPECT_THROW(emb.forward(Tensor::from_vector({1.0f}, {1})), ShapeError);
  EXPECT_THROW(emb.forward(Tensor::from_vector_i64({3}, {1})), ShapeError);
}

TEST(Norms, LayerNormMatchesTorch) {
  const auto g = load_golden("layer_norm");
  LayerNorm ln({.dim = g.meta["dim"], .eps = g.meta["eps"]}, "ln");
  ln.load_state({{"weight", g["weight"]}, {"bias", g["bias"]}});
  EXPECT_TRUE(all_close(ln.forward(g["x"]), g.at("y")));
  NormLayer nl(Norm::kLayer, {.dim = g.meta["dim"], .eps = g.meta["eps"]});
  nl.load_state({{"weight", g["weight"]}, {"bias", g["bias"]}});
  EXPECT_TRUE(all_close(nl.forward(g["x"]), g.at("y")));
}

TEST(Norms, RMSNormMatchesFormula) {
  const auto g = load_golden("rms_norm");
  RMSNorm rms({.dim = g.meta["dim"], .eps = g.meta["eps"]}, "norm");
  rms.load_state({{"weight", g["weight"]}});
  EXPECT_TRUE(all_close(rms.forward(g["x"]), g.at("y")));
  NormLayer nl(Norm::kRms, {.dim = g.meta["dim"], .eps = g.meta["eps"]});
  EXPECT_EQ(nl.named_parameters().size(), 1u);
  nl.load_state({{"weight", g["weight"]}});
  EXPECT_TRUE(all_close(nl.forward(g["x"]), g.at("y")));
  EXPECT_THROW(rms.forward(Tensor::zeros({2, 5})), ShapeError);
}

TEST(FeedForward, SwiGluMatchesTorch) {
  const auto g = load_golden("ffn_swiglu");
  FeedForward ffn({.d_model = g.meta["d_model"], .d_ff = g.meta["d_ff"], .activation = Activation::kSwiGlu,
                   .bias = false},
                  "mlp");
  ffn.load_state(g.weights());
  EXPECT_TRUE(all_close(ffn.forward(g["x"]), g.at("y")));
}

TEST(FeedForward, GeluBothApproximationsMatchTorch) {
  for (auto [name, act] : {std::pair{"ffn_gelu_erf", Activation::kGelu}, std::pair{"ffn_gelu_tanh", Activation::kGeluTanh}}) {
    const auto g = load_golden(name);
    FeedForward ffn({.d_model = g.meta["d_model"], .d_ff = g.meta["d_ff"], .activation = act});
    ffn.load_state(g.weights());
    EXPECT_TRUE(all_close(ffn.forward(g["x"]), g.at("y"))) << name;
  }
}

TEST(Dropout, InvertedScalingDeterministicAndOffInEval) {
  const Tensor x = Tensor::full({64, 64}, 1.0);
  Rng a(3), b(3);
  const std::vector<float> ya = dropout(x, 0.25f, a).to_vector(), yb = dropout(x, 0.25f, b).to_vector();
  EXPECT_EQ(ya, yb);
  int64_t kept = 0;
  for (float v : ya) {
    EXPECT_TRUE(v == 0.0f || std::abs(v - 1.0f / 0.75f) < 1e-6f) << v;
    kept += v != 0.0f;
  }
  EXPECT_NEAR(static_cast<double>(kept) / ya.size(), 0.75, 0.03);
  EXPECT_NE(dropout(x, 0.25f, a).to_vector(), ya);  // the Rng moved on
  EXPECT_THROW(dropout(x, 1.0f, a), ValueError);
  // The same Rng state gives the same mask on one thread and on several.
  const int threads = num_threads();
  const Tensor big = Tensor::full({300, 300}, 1.0);
  Rng c(3), d(3);
  set_num_threads(1);
  const std::vector<float> one = dropout(big, 0.5f, c).to_vector();
  set_num_threads(std::max(threads, 2));
  EXPECT_EQ(dropout(big, 0.5f, d).to_vector(), one);
  set_num_threads(threads);

  FeedForward ffn({.d_model = 4, .d_ff = 8, .dropout = 0.5f}, "mlp");
  Rng init(1);
  ffn.init(init);
  const Tensor in = Tensor::full({2, 4}, 0.3);
  EXPECT_THROW(ffn.forward(in), ConfigError);  // training mode, dropout due, no Rng
  Rng r(5);
  const std::vector<float> train_out = ffn.forward(in, &r).to_vector();
  ffn.eval();
  const std::vector<float> eval1 = ffn.forward(in).to_vector(), eval2 = ffn.forward(in, &r).to_vector();
  EXPECT_EQ(eval1, eval2);
  EXPECT_NE(eval1, train_out);
}

}  // namespace
}  // namespace attn
