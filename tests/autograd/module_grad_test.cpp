// Backward through whole modules against PyTorch (scripts/make_grad_goldens.py): the input
// gradient, every parameter gradient of one backward pass, and the losses of 10 AdamW steps.
#include <attn/autograd.h>
#include <attn/loss.h>
#include <attn/model.h>
#include <attn/nn.h>
#include <attn/ops.h>
#include <attn/optim.h>
#include <gtest/gtest.h>

#include "nn/golden.h"

namespace attn {
namespace {
using testing::all_close;
using testing::load_golden;

// The golden's initial value of every parameter of m, by name.
std::map<std::string, Tensor> initial_weights(Module& m, const testing::Golden& g) {
  std::map<std::string, Tensor> w;
  for (auto& p : m.named_parameters()) w.emplace(p.name, g[p.name]);
  return w;
}

// Runs forward -> L = Σ y∘W -> backward, checks every gradient, then 10 AdamW steps' losses.
void check_module(Module& m, const testing::Golden& g, const std::function<Tensor(const Tensor&)>& forward) {
  m.load_state(initial_weights(m, g));
  std::vector<OptimParam> params;
  for (auto& p : m.named_parameters()) {
    p.tensor->set_requires_grad();
    params.push_back({p.name, p.tensor});
  }
  Tensor x = g["x"].clone().set_requires_grad();
  const Tensor w = g["loss_weight"];
  Tensor y = forward(x);
  EXPECT_TRUE(all_close(y, g.at("y"), 1e-5, 1e-6));
  backward(sum_all(mul(y, w)));
  EXPECT_TRUE(all_close(x.grad(), g.at("grad.x"), 1e-4, 1e-5)) << "grad.x";
  for (auto& p : params) EXPECT_TRUE(all_close(p.tensor->grad(), g.at("grad." + p.name), 1e-4, 1e-5)) << p.name;

  m.load_state(initial_weights(m, g));
  AdamW opt(params, {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1});
  const std::vector<double> want = g.at("adamw_losses").data;
  const Tensor x0 = g["x"];
  for (size_t step = 0; step <= 10; ++step) {
    opt.zero_grad();
    Tensor loss = sum_all(mul(forward(x0), w));
    EXPECT_NEAR(loss.item(), want[step], 2e-4 * (1 + std::fabs(want[step]))) << "AdamW step " << step;
    if (step == 10) break;
    backward(loss);
    opt.step();
  }
}

TEST(ModuleGrad, MultiHeadAttentionMatchesTorch) {
  const auto g = load_golden("mha_self_grad");
  MultiHeadAttention mha({.d_model = g.meta["d_model"], .n_heads = g.meta["n_heads"], .causal = true}, "self_attn");
  const Tensor lengths = g["key_lengths"];
  check_module(mha, g, [&](const Tensor& x) { return mha.forward(x, Tensor(), {.key_lengths = lengths}).out; });
}

TEST(ModuleGrad, TransformerEncoderLayerMatchesTorch) {
  for (const char* name : {"encoder_postnorm_grad", "encoder_prenorm_grad"}) {
    SCOPED_TRACE(name);
    const auto g = load_golden(name);
    TransformerBlock block({.d_model = g.meta["d_model"],
                            .n_heads = g.meta["n_heads"],
                            .d_ff = g.meta["d_ff"],
                            .pre_norm = g.meta["norm_first"],
                            .norm_eps = g.meta["eps"],
                            .activation = Activation::kGelu},
                           "encoder.layers.0");
    const Tensor lengths = g["key_lengths"];
    check_module(block, g,
                 [&](const Tensor& x) { return block.forward(x, {.self_attn = {.key_lengths = lengths}}); });
  }
}

TEST(ModuleGrad, GruOverPaddedSequencesMatchesTorch) {
  const auto g = load_golden("gru_grad");
  Gru gru({.input = g.meta["input"], .hidden = g.meta["hidden"]}, "rnn");
  const Tensor h0 = g["h0"], lengths = g["lengths"];
  check_module(gru, g, [&](const Tensor& x) {
    const GruResult r = gru.forward(x, h0, lengths);
    return concat({r.out.reshape({x.size(0), -1}), r.h}, 1);
  });
}

testing::GoldenTensor as_golden(const Tensor& t) { return {t.shape(), false, t.to_vector_f64()}; }

// The golden's tensor `prefix + name` for a parameter of attn's GPT: a fused "...qkv_proj.X" is torch's
// in_proj rows, the golden's q_proj.X, k_proj.X and v_proj.X stacked along dim 0.
testing::GoldenTensor gpt_golden(const testing::Golden& g, const std::string& prefix, const std::string& name) {
  const size_t at = name.find("qkv_proj.");
  if (at == std::string::npos) return g.at(prefix + name);
  testing::GoldenTensor t;
  for (const char* part : {"q_proj.", "k_proj.", "v_proj."}) {
    const testing::GoldenTensor& p = g.at(prefix + name.substr(0, at) + part + name.substr(at + 9));
    if (t.shape.empty()) t.shape = p.shape, t.shape[0] = 0;
    t.shape[0] += p.shape[0];
    t.data.insert(t.data.end(), p.data.begin(), p.data.end());
  }
  return t;
}

// The llm.c test_gpt2 pattern: a tiny GPT's logits, loss, every parameter gradient after one
// backward, and the losses of 10 AdamW steps, against the same model written with torch modules;
// with the fused q/k/v projection (the default) and with separate ones.
TEST(ModuleGrad, TinyGptMatchesTorch) {
  const auto g = load_golden("gpt_tiny_grad");
  for (bool fused : {true, false}) {
    SCOPED_TRACE(fused ? "fused q/k/v" : "separate q/k/v");
    Gpt model({.n_layers = g.meta["n_layers"], .n_heads = g.meta["n_heads"], .d_model = g.meta["d_model"],
               .block_size = g.meta["block_size"], .vocab_size = g.meta["vocab_size"], .fused_qkv = fused});
    EXPECT_EQ(model.has_parameter("layers.0.self_attn.qkv_proj.weight"), fused);
    std::map<std::string, Tensor> initial;
    for (auto& p : model.named_parameters()) initial.emplace(p.name, gpt_golden(g, "", p.name).tensor());
    model.load_state(initial);
    std::vector<OptimParam> params;
    for (auto& p : model.named_parameters()) params.push_back({p.name, p.tensor});
    const Tensor ids = g["ids"], targets = g["targets"];
    const int64_t V = g.meta["vocab_size"];
    Rng rng(0);
    auto loss_of = [&] {
      return cross_entropy(model.forward_train(ids, rng).reshape({-1, V}), targets.reshape({-1}));
    };
    const Tensor logits = model.forward_train(ids, rng);
    EXPECT_TRUE(all_close(logits, g.at("logits"), 1e-5, 1e-5));
    Tensor loss = loss_of();
    EXPECT_NEAR(loss.item(), g.at("loss").data[0], 1e-5);
    backward(loss);
    for (auto& p : params)
      EXPECT_TRUE(all_close(p.tensor->grad(), gpt_golden(g, "grad.", p.name), 1e-4, 1e-5)) << p.name;

    model.load_state(initial);
    AdamW opt(params, {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1});
    const std::vector<double> want = g.at("adamw_losses").data;
    for (size_t step = 0; step <= 10; ++step) {
      opt.zero_grad();
      Tensor l = loss_of();
      EXPECT_NEAR(l.item(), want[step], 2e-4 * (1 + std::fabs(want[step]))) << "AdamW step " << step;
      if (step == 10) break;
      backward(l);
      opt.step();
    }
  }
}

// The fused q/k/v projection is the separate ones stacked: with qkv_proj = [q; k; v] both models give
// the same logits and, stacked the same way, the same gradients.
TEST(ModuleGrad, GptFusedQkvIsTheSeparateProjectionsStacked) {
  GptConfig cs = gpt_preset("tiny");
  cs.vocab_size = 11;
  cs.block_size = 16;
  GptConfig cf = cs;
  cs.fused_qkv = false;
  Gpt fused(cf), separate(cs);
  Rng rng(3);
  separate.init_weights(rng);
  std::map<std::string, Tensor> state;
  for (auto& [name, t] : separate.state_dict()) {
    const size_t at = name.find("q_proj.");
    if (at != std::string::npos) {
      const std::string base = name.substr(0, at), leaf = name.substr(at + 7);
      state[base + "qkv_proj." + leaf] = concat(
          {t, separate.parameter(base + "k_proj." + leaf), separate.parameter(base + "v_proj." + leaf)}, 0);
    } else if (name.find("k_proj.") == std::string::npos && name.find("v_proj.") == std::string::npos) {
      state[name] = t;
    }
  }
  fused.load_state(state);
  Tensor ids = Tensor::empty({2, 9}, DType::kI32);
  for (int64_t i = 0; i < 18; ++i) ids.set({i / 9, i % 9}, (i * 7 + 2) % 11);
  Rng r1(0), r2(0);
  const Tensor lf = fused.forward_train(ids, r1), ls = separate.forward_train(ids, r2);
  EXPECT_TRUE(all_close(lf, as_golden(ls), 1e-5, 1e-5));
  backward(sum_all(mul(lf, lf)));
  backward(sum_all(mul(ls, ls)));
  for (const char* leaf : {"weight", "bias"}) {
    const std::string base = std::string("layers.1.self_attn.");
    const Tensor want = concat({separate.parameter(base + "q_proj." + leaf).grad(),
                                separate.parameter(base + "k_proj." + leaf).grad(),
                                separate.parameter(base + "v_proj." + leaf).grad()},
                               0);
    EXPECT_TRUE(all_close(fused.parameter(base + "qkv_proj." + leaf).grad(), as_golden(want), 1e-4, 1e-6)) << leaf;
  }
}

// With dropout on, every parameter's gradient matches central finite differences of the loss under
// the same dropout draws (a fresh Rng(5) per evaluation). Dropout that recorded no backward once cut
// every sublayer off from its gradient here: the residual stream learned, the blocks never did.
TEST(ModuleGrad, DropoutGptGradientsMatchFiniteDifferences) {
  Gpt model({.n_layers = 2, .n_heads = 2, .d_model = 16, .block_size = 8, .vocab_size = 11, .dropout = 0.3f});
  Rng init(1);
  model.init_weights(init);
  model.train();
  Tensor ids = Tensor::empty({2, 8}, DType::kI32), targets = Tensor::empty({2, 8}, DType::kI32);
  for (int64_t i = 0; i < 16; ++i) ids.set({i / 8, i % 8}, (i * 7 + 3) % 11), targets.set({i / 8, i % 8}, (i * 5 + 1) % 11);
  auto loss_of = [&] {
    Rng rng(5);
    return cross_entropy(model.forward_train(ids, rng).reshape({-1, 11}), targets.reshape({-1}));
  };
  backward(loss_of());
  NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    Tensor& w = *p.tensor;
    ASSERT_TRUE(w.grad().defined()) << p.name;
    double err = 0, scale = 0;
    for (int64_t k = 0; k < 4; ++k) {  // four elements spread over the tensor
      std::vector<int64_t> idx(w.dim());
      int64_t flat = (k * 2654435761LL) % w.numel();
      for (int64_t d = w.dim() - 1; d >= 0; --d) idx[d] = flat % w.size(d), flat /= w.size(d);
      const double w0 = w.get(idx), h = 1e-2;
      w.set(idx, w0 + h);
      const double up = loss_of().item();
      w.set(idx, w0 - h);
      const double down = loss_of().item();
      w.set(idx, w0);
      const double fd = (up - down) / (2 * h), g = w.grad().get(idx);
      err += std::fabs(fd - g), scale += std::fabs(fd);
    }
    EXPECT_LE(err, 2e-3 + 0.05 * scale) << p.name << ": finite differences sum |fd| = " << scale;
  }
}

}  // namespace
}  // namespace attn
