// Module base: dotted names, registration order, load/assign with named errors, init, modes.
#include <attn/nn.h>
#include <gtest/gtest.h>

namespace attn {
namespace {

// A tiny stack: an embedding and two blocks in a ModuleList, like a model's layer list.
class TinyStack : public Module {
 public:
  TinyStack() : embed_({.num = 10, .dim = 4}, child_name("embed")), layers_(child_name("layers")) {
    register_module("embed", embed_);
    register_module("layers", layers_);
    for (int i = 0; i < 2; ++i) layers_.emplace_back(TransformerBlockConfig{.d_model = 4, .n_heads = 2, .d_ff = 8});
  }
  Embedding embed_;
  ModuleList<TransformerBlock> layers_;
};

TEST(Module, DottedNamesInRegistrationOrder) {
  TinyStack m;
  const auto params = m.named_parameters();
  std::vector<std::string> names;
  for (auto& p : params) names.push_back(p.name);
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(names[0], "embed.weight");
  EXPECT_EQ(names[1], "layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(names[2], "layers.0.self_attn.q_proj.bias");
  EXPECT_NE(std::find(names.begin(), names.end(), "layers.1.ffn.down_proj.bias"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "layers.1.ffn_norm.weight"), names.end());
  // Full names given at construction name the module in errors.
  EXPECT_EQ(m.layers_[1].self_attn().name(), "layers.1.self_attn");
  for (auto& p : params)
    if (p.name == "layers.1.self_attn.o_proj.weight") {
      EXPECT_EQ(&m.parameter(p.name), p.tensor);
    }
  // 4·4·4 (qkvo weights) + 4·4 biases + 2·(8·4) + 8 + 4 + 2·2·4 norms, per layer; plus 10·4.
  EXPECT_EQ(m.num_parameters(), 40 + 2 * (64 + 16 + 64 + 12 + 16));
}

TEST(Module, LoadChecksShapesAndNamesBeforeWriting) {
  Linear lin({.in = 3, .out = 2}, "dec.q_proj");
  std::map<std::string, Tensor> good{{"weight", Tensor::full({2, 3}, 0.5)}, {"bias", Tensor::full({2}, 1.0)}};
  const LoadReport rep = lin.load_state(good);
  EXPECT_EQ(rep.loaded.size(), 2u);
  EXPECT_EQ(lin.weight().at<float>({1, 2}), 0.5f);

  std::map<std::string, Tensor> bad{{"weight", Tensor::zeros({3, 2})}, {"bias", Tensor::zeros({2})}};
  try {
    lin.load_state(bad);
    FAIL() << "no throw";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "weight: given [3,2], model wants [2,3]");
  }
  EXPECT_EQ(lin.weight().at<float>({1, 2}), 0.5f);  // untouched

  std::map<std::string, Tensor> missing{{"weight", Tensor::zeros({2, 3})}};
  EXPECT_THROW(lin.load_state(missing), ConfigError);
  std::map<std::string, Tensor> extra = good;
  extra["scale"] = Tensor::zeros({1});
  EXPECT_THROW(lin.load_state(extra), ConfigError);
  const LoadReport loose = lin.load_state(missing, {.strict = false});
  EXPECT_EQ(loose.missing, std::vector<std::string>{"bias"});
  const LoadReport extra_loose = lin.load_state(extra, {.strict = false});
  EXPECT_EQ(extra_loose.unexpected, std::vector<std::string>{"scale"});
  // Any dtype converts into the f32 parameter (bf16 checkpoints).
  lin.load_state({{"weight", Tensor::full({2, 3}, 1.5).to(DType::kBF16)}, {"bias", Tensor::zeros({2})}});
  EXPECT_EQ(lin.weight().dtype(), DType::kF32);
  EXPECT_EQ(lin.weight().at<float>({1, 1}), 1.5f);
  // A prefix maps file names ("model.weight") to parameter names.
  std::map<std::string, Tensor> prefixed{{"m.weight", Tensor::full({2, 3}, 2.0)}, {"m.bias", Tensor::zeros({2})}};
  lin.load_state(prefixed, {.prefix = "m."});
  EXPECT_EQ(lin.weight().at<float>({0, 0}), 2.0f);
}

TEST(Module, LoadIsInPlaceAndAssignRebinds) {
  MultiHeadAttention mha({.d_model = 4, .n_heads = 2}, "self_attn");
  Tensor& w = mha.parameter("q_proj.weight");
  const void* before = w.storage().get();
  auto state = mha.state_dict();
  std::map<std::string, Tensor> copies;
  for (auto& [n, t] : state) copies[n] = Tensor::full(t.shape(), 0.25);
  mha.load_state(copies);
  EXPECT_EQ(w.storage().get(), before);
  EXPECT_EQ(w.at<float>({3, 3}), 0.25f);

  Tensor shared = Tensor::full({4, 4}, 3.0);
  mha.assign("k_proj.weight", shared);
  EXPECT_EQ(mha.parameter("k_proj.weight").storage(), shared.storage());
  EXPECT_THROW(mha.assign("k_proj.weight", Tensor::zeros({4, 5})), ShapeError);
  try {
    mha.parameter("k_proj.scale");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("k_proj.scale"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("weight, bias"), std::string::npos);
  }
  EXPECT_THROW(mha.submodule("nope"), ConfigError);
  // Tying two names to one storage: unique_parameters lists it once.
  const size_t n = mha.unique_parameters().size();
  mha.assign("v_proj.weight", shared);
  EXPECT_EQ(mha.unique_parameters().size(), n - 1);
  EXPECT_EQ(mha.named_parameters().size(), n);
}

TEST(Module, InitIsDeterministicAndFollowsTorchDefaults) {
  Rng a(7), b(7), c(8);
  TransformerBlock m1({.d_model = 8, .n_heads = 2, .d_ff = 16}), m2({.d_model = 8, .n_heads = 2, .d_ff = 16}),
      m3({.d_model = 8, .n_heads = 2, .d_ff = 16});
  m1.init(a);
  m2.init(b);
  m3.init(c);
  auto p1 = m1.named_parameters(), p2 = m2.named_parameters(), p3 = m3.named_parameters();
  bool any_diff = false;
  for (size_t i = 0; i < p1.size(); ++i) {
    EXPECT_EQ(p1[i].tensor->to_vector(), p2[i].tensor->to_vector()) << p1[i].name;
    any_diff |= p1[i].tensor->to_vector() != p3[i].tensor->to_vector();
  }
  EXPECT_TRUE(any_diff);
  // Linear: U(-1/sqrt(in), 1/sqrt(in)); norms: ones and zeros.
  for (float v : m1.parameter("ffn.down_proj.weight").to_vector()) EXPECT_LE(std::abs(v), 0.25f);
  for (float v : m1.parameter("ffn_norm.weight").to_vector()) EXPECT_EQ(v, 1.0f);
  for (float v : m1.parameter("ffn_norm.bias").to_vector()) EXPECT_EQ(v, 0.0f);
}

TEST(Module, ParametersAreGradLeaves) {
  TransformerBlock m({.d_model = 4, .n_heads = 1, .d_ff = 4});
  for (auto& p : m.named_parameters()) {
    EXPECT_TRUE(p.tensor->requires_grad()) << p.name;
    EXPECT_TRUE(p.tensor->is_leaf()) << p.name;
  }
  m.set_requires_grad(false);
  for (auto& p : m.named_parameters()) EXPECT_FALSE(p.tensor->requires_grad()) << p.name;
  m.submodule("ffn").set_requires_grad(true);
  EXPECT_TRUE(m.parameter("ffn.up_proj.weight").requires_grad());
  m.assign("ffn.up_proj.weight", Tensor::zeros({4, 4}));
  EXPECT_TRUE(m.parameter("ffn.up_proj.weight").requires_grad());
  m.parameter("ffn.up_proj.weight").set_grad(Tensor::zeros({4, 4}));
  m.zero_grad();
  EXPECT_FALSE(m.parameter("ffn.up_proj.weight").grad().defined());
}

TEST(Module, TrainAndEvalAreRecursive) {
  TransformerBlock m({.d_model = 4, .n_heads = 1, .d_ff = 4, .cross_attention = true});
  EXPECT_TRUE(m.training());
  m.eval();
  EXPECT_FALSE(m.training());
  EXPECT_FALSE(m.cross_attn()->training());
  EXPECT_FALSE(m.submodule("ffn.up_proj").training());
  m.train();
  EXPECT_TRUE(m.submodule("cross_attn.o_proj").training());
}

TEST(Module, BadConfigsThrowConfigError) {
  EXPECT_THROW(Linear({.in = 0, .out = 2}), ConfigError);
  EXPECT_THROW(MultiHeadAttention({.d_model = 6, .n_heads = 4}), ConfigError);
  EXPECT_THROW(MultiHeadAttention({.d_model = 8, .n_heads = 4, .n_kv_heads = 3}), ConfigError);
  EXPECT_THROW(MultiHeadAttention({.d_model = 8, .n_heads = 2, .kv_dim = 6, .fused_qkv = true}), ConfigError);
  EXPECT_THROW(LuongAttention({.score = LuongScore::kDot, .query_dim = 4, .key_dim = 5}), ConfigError);
  EXPECT_THROW(RotaryEmbedding({.head_dim = 8, .rotary_dim = 3}), ConfigError);
}

}  // namespace
}  // namespace attn
