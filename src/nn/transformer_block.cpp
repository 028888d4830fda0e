// nn/transformer_block.cpp — FeedForward and TransformerBlock (pre/post-norm, LayerNorm/RMSNorm,
// self-attention, optional cross-attention, FFN, residuals, dropout); variants come from the config.
#include <attn/nn/transformer.h>
#include <attn/ops.h>

#include <optional>

namespace attn {

bool activation_is_gated(Activation a) { return a == Activation::kSwiGlu || a == Activation::kGeGlu; }

namespace {
Tensor activate(const Tensor& x, Activation a) {
  switch (a) {
    case Activation::kRelu: return relu(x);
    case Activation::kGelu: return gelu(x, GeluApprox::kNone);
    case Activation::kGeluTanh: return gelu(x, GeluApprox::kTanh);
    case Activation::kSilu:
    case Activation::kSwiGlu: return silu(x);
    case Activation::kGeGlu: return gelu(x, GeluApprox::kNone);
  }
  return x;
}
}  // namespace

// ---- FeedForward ----
FeedForward::FeedForward(const FeedForwardConfig& cfg, std::string name)
    : Module(std::move(name)),
      cfg_(cfg),
      up_proj_({.in = cfg.d_model, .out = cfg.d_ff, .bias = cfg.bias}, child_name("up_proj")),
      down_proj_({.in = cfg.d_ff, .out = cfg.d_model, .bias = cfg.bias}, child_name("down_proj")) {
  if (activation_is_gated(cfg.activation)) {
    gate_proj_ = std::make_unique<Linear>(LinearConfig{.in = cfg.d_model, .out = cfg.d_ff, .bias = cfg.bias},
                                          child_name("gate_proj"));
    register_module("gate_proj", *gate_proj_);
  }
  register_module("up_proj", up_proj_);
  register_module("down_proj", down_proj_);
}

namespace {
// The MLP ops::mlp fuses: ungated, no dropout between the linears (one autograd node; the backward
// saves a pass over [rows, F], bf16 training two each way; the same bits as the composition).
std::optional<MlpActivation> fusable(Activation a) {
  switch (a) {
    case Activation::kRelu: return MlpActivation::kRelu;
    case Activation::kGelu: return MlpActivation::kGelu;
    case Activation::kGeluTanh: return MlpActivation::kGeluTanh;
    case Activation::kSilu: return MlpActivation::kSilu;
    default: return std::nullopt;
  }
}
}  // namespace

Tensor FeedForward::forward(const Tensor& x, Rng* rng) const {
  const auto fused = fusable(cfg_.activation);
  if (fused && (cfg_.dropout == 0.0f || !training())) {
    ATTN_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == cfg_.d_model, ShapeError,
               "{}: input {} has last dim {}, weight [out,in] wants {}", up_proj_.label(), tensor_shape_str(x),
               x.defined() && x.dim() >= 1 ? x.size(-1) : -1, cfg_.d_model);
    return mlp(x, up_proj_.weight(), up_proj_.bias(), *fused, down_proj_.weight(), down_proj_.bias());
  }
  Tensor h = gate_proj_ ? mul(activate(gate_proj_->forward(x), cfg_.activation), up_proj_.forward(x))
                        : activate(up_proj_.forward(x), cfg_.activation);
  h = maybe_dropout(h, cfg_.dropout, training(), rng, label());
  return down_proj_.forward(h);
}

// ---- TransformerBlock ----
namespace {
MultiHeadAttentionConfig attn_config(const TransformerBlockConfig& c, bool cross) {
  return {.d_model = c.d_model,
          .n_heads = c.n_heads,
          .n_kv_heads = c.n_kv_heads,
          .head_dim = c.head_dim,
          .kv_dim = cross ? c.memory_dim : 0,
          .bias = c.attn_bias,
          .out_bias = c.attn_bias,
          .fused_qkv = cross ? false : c.fused_qkv,
          .causal = cross ? false : c.causal,
          .dropout = c.attn_dropout,
          .rope = cross ? std::nullopt : c.rope,
          .alibi = cross ? false : c.alibi,
          .window_left = cross ? -1 : c.window_left};
}
NormConfig norm_config(const TransformerBlockConfig& c) {
  return {.dim = c.d_model, .eps = c.norm_eps, .affine = true, .bias = c.norm_bias};
}
}  // namespace

TransformerBlock::TransformerBlock(const TransformerBlockConfig& cfg, std::string name)
    : Module(std::move(name)),
      cfg_(cfg),
      self_attn_(attn_config(cfg, false), child_name("self_attn")),
      self_attn_norm_(cfg.norm, norm_config(cfg), child_name("self_attn_norm")),
      ffn_({.d_model = cfg.d_model, .d_ff = cfg.d_ff, .activation = cfg.activation, .bias = cfg.ffn_bias,
            .dropout = cfg.ffn_dropout},
           child_name("ffn")),
      ffn_norm_(cfg.norm, norm_config(cfg), child_name("ffn_norm")) {
  register_module("self_attn", self_attn_);
  register_module("self_attn_norm", self_attn_norm_);
  if (cfg.cross_attention) {
    cross_attn_ = std::make_unique<MultiHeadAttention>(attn_config(cfg, true), child_name("cross_attn"));
    cross_attn_norm_ = std::make_unique<NormLayer>(cfg.norm, norm_config(cfg), child_name("cross_attn_norm"));
    register_module("cross_attn", *cross_attn_);
    register_module("cross_attn_norm", *cross_attn_norm_);
  }
  register_module("ffn", ffn_);
  register_module("ffn_norm", ffn_norm_);
}

template <class Fn>
Tensor TransformerBlock::residual(const Tensor& x, const NormLayer& norm, Rng* rng, Fn&& fn) const {
  if (cfg_.pre_norm) return add(x, maybe_dropout(fn(norm.forward(x)), cfg_.dropout, training(), rng, label()));
  return norm.forward(add(x, maybe_dropout(fn(x), cfg_.dropout, training(), rng, label())));
}

BlockResult TransformerBlock::forward_full(const Tensor& x, const BlockInputs& in) const {
  ATTN_CHECK(x.defined() && x.dim() == 3 && x.size(2) == cfg_.d_model, ShapeError, "{}: x is {}, wants [B,T,{}]",
             label(), tensor_shape_str(x), cfg_.d_model);
  ATTN_CHECK(in.memory.defined() == cfg_.cross_attention, ConfigError,
             "{}: cross_attention is {} but memory is {}", label(), cfg_.cross_attention,
             in.memory.defined() ? tensor_shape_str(in.memory) : "not given");
  BlockResult r;
  MhaInputs self_in = in.self_attn;
  if (!self_in.rng) self_in.rng = in.rng;
  Tensor h = residual(x, self_attn_norm_, in.rng, [&](const Tensor& t) {
    MhaResult a = self_attn_.forward(t, Tensor(), self_in);
    r.self_weights = a.weights;
    return a.out;
  });
  if (cross_attn_) {
    MhaInputs cross_in = in.cross_attn;
    if (!cross_in.rng) cross_in.rng = in.rng;
    h = residual(h, *cross_attn_norm_, in.rng, [&](const Tensor& t) {
      MhaResult a = cross_attn_->forward(t, in.memory, cross_in);
      r.cross_weights = a.weights;
      return a.out;
    });
  }
  r.out = residual(h, ffn_norm_, in.rng, [&](const Tensor& t) { return ffn_.forward(t, in.rng); });
  return r;
}

}  // namespace attn
