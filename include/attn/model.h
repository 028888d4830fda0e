// attn/model.h — the GPT decoder (pre-norm, learned positions, tied input/output embeddings,
// dropout) and the KV cache that lets generation cost O(T) per new token.
//
//   GptConfig cfg = gpt_preset("nanogpt-cpu");           // 4 layers, 4 heads, 128 channels, block 64
//   cfg.vocab_size = tok.vocab_size();
//   Gpt model(cfg);
//   Rng rng(1337);
//   model.init_weights(rng);                              // GPT-2 init: N(0, 0.02), scaled residuals
//   Tensor logits = model.forward_train(ids, rng);        // ids i32 [B,T] -> [B,T,V]; dropout on
//   model.eval();
//   KvCache cache(model.config(), /*batch=*/1);
//   Tensor first = model.forward(prompt_ids, &cache);     // prefill: [1,T,V], cache.length() == T
//   Tensor next = model.forward(one_id, &cache);          // [1,1,V], attends over the T+1 cached keys
//
// Parameter names (torch-like, stable: checkpoints use them): wte.weight [V,C], wpe.weight [P,C],
// layers.<i>.{self_attn_norm,self_attn,ffn_norm,ffn}.*, ln_f.{weight,bias}. The output projection is
// wte.weight itself (tied), so it is listed once. Variants are data: the block is nn's
// TransformerBlock with {.pre_norm = true, .causal = true}.
//
// A model is const while it runs: forward() never changes it, so one model can serve many caches.
// The KV cache belongs to the model layer (the model writes into it) although generation is its only
// user; attn/generate.h builds sampling and streaming on top.
#pragma once

#include <attn/nn.h>

#include <string>
#include <string_view>
#include <vector>

namespace attn {

struct GptConfig {
  int64_t n_layers = 4;
  int64_t n_heads = 4;
  int64_t d_model = 128;     // C
  int64_t block_size = 64;   // P: longest context (learned positions)
  int64_t vocab_size = 0;    // V: from the tokenizer
  float dropout = 0.0f;      // embeddings, attention probabilities, sublayer outputs
  int64_t d_ff = 0;          // F: 0 = 4·C
  bool bias = true;          // linear and LayerNorm biases
  Activation activation = Activation::kGelu;
  float norm_eps = 1e-5f;
  // One [3C, C] q/k/v projection per layer (qkv_proj, GPT-2's c_attn): one GEMM, and the heads'
  // gradients land in one buffer. false: separate q_proj, k_proj, v_proj, as checkpoints written
  // before this field was added have (their config has no "fused_qkv" and loads as false).
  bool fused_qkv = true;
  bool operator==(const GptConfig&) const = default;
};

// Named configurations: "tiny" (tests: 2 layers, 2 heads, 32 channels, block 32), "small" (the
// demo: 4/4/128, block 128), "nanogpt-cpu" (4/4/128, block 64 — nanoGPT's CPU Shakespeare run),
// "nanogpt" (6/6/384, block 256, dropout 0.2). vocab_size is left 0. Unknown names throw
// ConfigError listing the known ones.
GptConfig gpt_preset(std::string_view name);
std::vector<std::string> gpt_preset_names();
// Throws ConfigError naming the first field that is out of range or inconsistent.
void gpt_config_check(const GptConfig& cfg);
// JSON object with every field; from_json throws FormatError naming `source` and the field.
std::string gpt_config_to_json(const GptConfig& cfg);
GptConfig gpt_config_from_json(std::string_view json, const std::string& source);
// "n_layers 4, n_heads 4, d_model 128, ..." for messages.
std::string gpt_config_str(const GptConfig& cfg);

// Keys and values of every layer for `batch` sequences, preallocated for `capacity` positions.
class KvCache {
 public:
  // capacity 0 = cfg.block_size (it may not exceed block_size: positions are learned).
  explicit KvCache(const GptConfig& cfg, int64_t batch = 1, int64_t capacity = 0);
  int64_t length() const { return length_; }  // positions filled so far (all layers)
  int64_t capacity() const { return capacity_; }
  int64_t batch() const { return batch_; }
  void clear() { length_ = 0; }
  // Writes k, v ([B,H,T,D]) of `layer` at positions length()..length()+T-1 and returns views of
  // positions 0..length()+T-1 ([B,H,length+T,D]). ShapeError when full or shapes differ.
  std::pair<Tensor, Tensor> append(int64_t layer, const Tensor& k, const Tensor& v);
  // Called once after every layer appended T positions.
  void advance(int64_t T);

 private:
  int64_t batch_, capacity_, length_ = 0;
  std::vector<Tensor> k_, v_;  // per layer [B,H,capacity,D]
};

class Gpt : public Module {
 public:
  explicit Gpt(const GptConfig& cfg, std::string name = "");

  // GPT-2's init: weights N(0, 0.02), residual output projections N(0, 0.02/sqrt(2·n_layers)),
  // biases 0, norm gains 1; in parameter order, so the same seed gives the same model.
  void init_weights(Rng& rng);

  // ids: i32/i64 [B,T], T <= block_size -> logits [B,T,V]. No dropout (eval-style) unless
  // forward_train. With a cache (eval mode only): the ids sit at positions cache->length().., their
  // keys and values are appended, and attention runs over every cached position.
  Tensor forward(const Tensor& ids, KvCache* cache = nullptr) const;
  // Training forward: dropout drawn from rng when training() and dropout > 0.
  Tensor forward_train(const Tensor& ids, Rng& rng) const;

  const GptConfig& config() const { return cfg_; }

 private:
  Tensor embed(const Tensor& ids, int64_t offset) const;  // [B,T,C]
  Tensor logits(const Tensor& x) const;                   // ln_f, tied head
  Tensor block_cached(size_t i, const Tensor& x, KvCache& cache) const;

  GptConfig cfg_;
  Embedding wte_;
  LearnedPositions wpe_;
  ModuleList<TransformerBlock> layers_;
  LayerNorm ln_f_;
  // Each block's parts, found once at construction, for the cached path.
  std::vector<const NormLayer*> attn_norms_, ffn_norms_;
  std::vector<const MultiHeadAttention*> attns_;
  std::vector<const FeedForward*> ffns_;
};

}  // namespace attn
