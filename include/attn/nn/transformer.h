// attn/nn/transformer.h — FeedForward and the one TransformerBlock that GPT, BERT, Llama and the
// encoder-decoder share; variants are data in TransformerBlockConfig, not subclasses.
//
//   TransformerBlockConfig gpt2{.d_model = 768, .n_heads = 12, .d_ff = 3072,
//                               .activation = Activation::kGeluTanh, .causal = true};
//   TransformerBlockConfig llama{.d_model = 4096, .n_heads = 32, .n_kv_heads = 8, .d_ff = 14336,
//                                .norm = Norm::kRms, .norm_eps = 1e-5f, .activation = Activation::kSwiGlu,
//                                .attn_bias = false, .ffn_bias = false, .causal = true,
//                                .rope = RopeConfig{.theta = 500000.0}};
//   TransformerBlockConfig bert{.d_model = 768, .n_heads = 12, .d_ff = 3072, .pre_norm = false,
//                               .norm_eps = 1e-12f};
//   TransformerBlockConfig decoder{.d_model = 512, .n_heads = 8, .d_ff = 2048, .pre_norm = false,
//                                  .activation = Activation::kRelu, .cross_attention = true, .causal = true};
//   TransformerBlock block(llama, "model.layers.0");
//   Tensor y = block.forward(x, {.self_attn = {.key_lengths = lens}});
//   Tensor z = dec.forward(x, {.memory = enc_out, .cross_attn = {.key_lengths = src_lens}});
//
// Pre-norm:  x += drop(SA(N1(x)));  x += drop(CA(N2(x), memory));  x += drop(FFN(N3(x)))
// Post-norm: x = N1(x + drop(SA(x))); x = N2(x + drop(CA(x, memory))); x = N3(x + drop(FFN(x)))
// (torch.nn.TransformerEncoderLayer / DecoderLayer with norm_first true / false.) Parameter names:
// self_attn.*, self_attn_norm.*, cross_attn.*, cross_attn_norm.*, ffn.*, ffn_norm.*.
#pragma once

#include <attn/nn/attention.h>
#include <attn/nn/layers.h>

namespace attn {

// kGelu: erf; kGeluTanh: GPT-2's tanh approximation; kSwiGlu / kGeGlu: gated (Shazeer 2020),
// down(act(gate(x)) * up(x)) with act SiLU / GELU(erf).
enum class Activation { kRelu, kGelu, kGeluTanh, kSilu, kSwiGlu, kGeGlu };

bool activation_is_gated(Activation a);

struct FeedForwardConfig {
  int64_t d_model = 0;  // C
  int64_t d_ff = 0;     // F
  Activation activation = Activation::kGelu;
  bool bias = true;
  float dropout = 0.0f;  // after the activation, in training mode (torch's ff-block dropout)
};

// Parameters: up_proj [F,C], down_proj [C,F], and gate_proj [F,C] when gated.
class FeedForward : public Module {
 public:
  explicit FeedForward(const FeedForwardConfig& cfg, std::string name = "");
  // x: [...,C] -> [...,C]
  Tensor forward(const Tensor& x, Rng* rng = nullptr) const;
  const FeedForwardConfig& config() const { return cfg_; }

 private:
  FeedForwardConfig cfg_;
  std::unique_ptr<Linear> gate_proj_;
  Linear up_proj_, down_proj_;
};

struct TransformerBlockConfig {
  int64_t d_model = 0;     // C
  int64_t n_heads = 0;     // H
  int64_t n_kv_heads = 0;  // Hkv (0 = H)
  int64_t head_dim = 0;    // D (0 = C / H)
  int64_t d_ff = 0;        // F
  bool pre_norm = true;
  Norm norm = Norm::kLayer;
  float norm_eps = 1e-5f;
  bool norm_bias = true;   // LayerNorm bias
  Activation activation = Activation::kGelu;
  bool attn_bias = true;   // q/k/v and output projections
  bool ffn_bias = true;
  bool fused_qkv = false;
  bool causal = false;     // self-attention default
  bool cross_attention = false;
  int64_t memory_dim = 0;  // channels of the cross-attention memory (0 = C)
  float dropout = 0.0f;       // on each sublayer's output before the residual add
  float attn_dropout = 0.0f;  // on the attention probabilities
  float ffn_dropout = 0.0f;   // inside the FFN, after the activation
  std::optional<RopeConfig> rope;  // self-attention only; head_dim filled in
  bool alibi = false;
  int64_t window_left = -1;
};

struct BlockInputs {
  MhaInputs self_attn;   // key_lengths, mask, causal override, position_offset, need_weights
  Tensor memory;         // [B,S,memory_dim] for cross-attention
  MhaInputs cross_attn;  // masks over the memory
  Rng* rng = nullptr;    // dropout in training mode (also handed to the attention layers)
};

struct BlockResult {
  Tensor out;            // [B,T,C]
  Tensor self_weights;   // [B,H,T,T] when self_attn.need_weights
  Tensor cross_weights;  // [B,H,T,S] when cross_attn.need_weights
};

class TransformerBlock : public Module {
 public:
  explicit TransformerBlock(const TransformerBlockConfig& cfg, std::string name = "");
  // x: [B,T,C] -> [B,T,C]
  Tensor forward(const Tensor& x, const BlockInputs& in = {}) const { return forward_full(x, in).out; }
  BlockResult forward_full(const Tensor& x, const BlockInputs& in) const;
  const TransformerBlockConfig& config() const { return cfg_; }
  MultiHeadAttention& self_attn() { return self_attn_; }
  MultiHeadAttention* cross_attn() { return cross_attn_.get(); }
  FeedForward& ffn() { return ffn_; }

 private:
  // One residual sublayer, pre- or post-norm: fn maps the (normalised) input to the sublayer output.
  template <class Fn>
  Tensor residual(const Tensor& x, const NormLayer& norm, Rng* rng, Fn&& fn) const;

  TransformerBlockConfig cfg_;
  MultiHeadAttention self_attn_;
  NormLayer self_attn_norm_;
  std::unique_ptr<MultiHeadAttention> cross_attn_;
  std::unique_ptr<NormLayer> cross_attn_norm_;
  FeedForward ffn_;
  NormLayer ffn_norm_;
};

}  // namespace attn
