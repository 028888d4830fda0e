// attn/nn/attention.h — attention layers: MultiHeadAttention (self/cross, MHA/GQA/MQA, fused or
// separate projections), AdditiveAttention (Bahdanau) and LuongAttention (dot, general).
//
//   MultiHeadAttention sa({.d_model = 512, .n_heads = 8, .n_kv_heads = 2, .causal = true}, "self_attn");
//   sa.init(rng);
//   Tensor y = sa.forward(x);                                   // x: [B,T,C] -> [B,T,C]
//   MhaResult r = sa.forward(x, Tensor(), {.key_lengths = lens, .need_weights = true});
//   // r.weights: [B,H,T,S], exact, recomputed from the flash kernel's log-sum-exp
//   MultiHeadAttention ca({.d_model = 512, .n_heads = 8, .kv_dim = 768}, "cross_attn");
//   Tensor z = ca.forward(x, memory, {.key_lengths = memory_lens}).out;   // memory: [B,S,kv_dim]
//
//   AdditiveAttention bahdanau({.query_dim = 256, .key_dim = 512, .attn_dim = 256}, "attention");
//   AttendResult a = bahdanau.forward(h_t, enc, enc, {.key_lengths = lens});  // a.context, a.weights
//
// Masks follow attn/attention.h: key_lengths (i32/i64 [B], keys j >= len are padding); mask
// broadcastable to [B,H,T,S] (MHA) or [B,T,S] (additive/Luong), f32 additive (-inf masks) or integer
// boolean (nonzero = may attend; torch's bool masks are the opposite, invert them). Masked scores are
// -inf before the softmax, never multiplied; a fully masked row gives zero weights and context.
#pragma once

#include <attn/attention.h>
#include <attn/nn/layers.h>
#include <attn/nn/positional.h>

#include <memory>
#include <optional>

namespace attn {

struct MultiHeadAttentionConfig {
  int64_t d_model = 0;     // C: query input and output channels
  int64_t n_heads = 0;     // H
  int64_t n_kv_heads = 0;  // Hkv: 0 = n_heads (MHA); 1 = MQA; H % Hkv == 0 (GQA)
  int64_t head_dim = 0;    // D: 0 = d_model / n_heads
  int64_t kv_dim = 0;      // channels of the key/value input (cross-attention); 0 = d_model
  bool bias = true;        // biases of the q/k/v projections
  bool out_bias = true;    // bias of the output projection
  // One qkv_proj [(H + 2·Hkv)·D, C] (rows: q heads, k heads, v heads) instead of q/k/v_proj;
  // self-attention only (kv_dim must equal d_model).
  bool fused_qkv = false;
  bool causal = false;      // default; MhaInputs.causal overrides per call
  double scale = 0.0;       // 0 = 1/sqrt(D)
  float dropout = 0.0f;     // on the attention probabilities, in training mode
  std::optional<RopeConfig> rope;  // rotate q and k (head_dim is filled in from D when 0)
  bool alibi = false;       // ALiBi slopes for H heads
  float softcap = 0.0f;     // logit soft-capping (0 = off)
  int64_t window_left = -1;  // sliding window (-1 = unbounded)
};

// One layer's K/V cache for incremental decoding: preallocated [B,Hkv,capacity,D] tensors (made by
// make_kv_cache or by generate/'s KvCache) and how many positions are filled. Self-attention writes
// the new keys/values at [length, length+T) in place and attends over [0, length+T); cross-attention
// fills it once from the memory (length = S) and reuses it on later calls.
struct KvCacheLayer {
  Tensor k, v;
  int64_t length = 0;
  int64_t capacity() const { return k.defined() ? k.size(2) : 0; }
};

struct MhaInputs {
  Tensor key_lengths;           // i32/i64 [B]
  Tensor mask;                  // broadcastable to [B,H,T,S]; see the file comment
  std::optional<bool> causal;   // overrides the config
  int64_t position_offset = 0;  // RoPE position of query 0 (and of key 0 is 0): cached decoding
  bool need_weights = false;    // return per-head weights
  std::vector<int64_t> weight_heads;  // which heads (empty = all)
  Rng* rng = nullptr;           // dropout in training mode
  // Incremental decoding: RoPE positions start at position_offset + cache->length; see KvCacheLayer.
  KvCacheLayer* cache = nullptr;
};

struct MhaResult {
  Tensor out;      // [B,T,C]
  Tensor weights;  // [B,heads,T,S] f32 when need_weights
};

struct MhaProjections {
  Tensor q;  // [B,H,T,D]
  Tensor k;  // [B,Hkv,S,D]
  Tensor v;  // [B,Hkv,S,D]
};

class MultiHeadAttention : public Module {
 public:
  explicit MultiHeadAttention(const MultiHeadAttentionConfig& cfg, std::string name = "");

  // x: [B,T,C]; memory: [B,S,kv_dim] for cross-attention, undefined for self-attention (S = T).
  MhaResult forward(const Tensor& x, const Tensor& memory, const MhaInputs& in = {}) const;
  Tensor forward(const Tensor& x) const { return forward(x, Tensor(), {}).out; }

  // The three steps of forward, public so a KV cache (generate/) can sit between them:
  // 1. projections, heads split out, RoPE applied (q at position_offset.., k at position_offset..
  //    for self-attention and 0.. for cross-attention);
  MhaProjections project(const Tensor& x, const Tensor& memory, int64_t position_offset = 0) const;
  // 2. attention over (possibly cached, longer) k/v: -> out [B,H,T,D] and weights on request;
  MhaResult attend(const MhaProjections& p, const MhaInputs& in) const;
  // 3. heads merged and the output projection: [B,H,T,D] -> [B,T,C].
  Tensor project_out(const Tensor& heads) const;

  // A zeroed cache for this layer: [B, Hkv, capacity, D] each for k and v.
  KvCacheLayer make_kv_cache(int64_t B, int64_t capacity) const;

  const MultiHeadAttentionConfig& config() const { return cfg_; }
  int64_t head_dim() const { return head_dim_; }
  int64_t n_kv_heads() const { return n_kv_heads_; }

 private:
  AttentionOptions options(const MhaInputs& in, int64_t B, int64_t T, int64_t S) const;
  Tensor split_heads(const Tensor& x, int64_t heads) const;  // [B,T,h·D] -> [B,h,T,D] view
  // Writes/reads the cache and returns the projections to attend over.
  MhaProjections project_cached(const Tensor& x, const Tensor& memory, const MhaInputs& in) const;

  MultiHeadAttentionConfig cfg_;
  int64_t head_dim_, n_kv_heads_, kv_dim_;
  std::unique_ptr<Linear> q_proj_, k_proj_, v_proj_, qkv_proj_;
  Linear o_proj_;
  std::unique_ptr<RotaryEmbedding> rope_;
  Tensor alibi_;  // [H] when cfg.alibi
};

// ---- Bahdanau and Luong attention: one head, queries [B,T,Cq] over keys [B,S,Ck] ----
struct AttendInputs {
  Tensor key_lengths;  // i32/i64 [B]
  Tensor mask;         // broadcastable to [B,T,S]: f32 additive or integer boolean (nonzero = attend)
};

struct AttendResult {
  Tensor context;  // [B,T,Cv] = weights · values
  Tensor weights;  // [B,T,S]
};

struct AdditiveAttentionConfig {
  int64_t query_dim = 0;  // Cq
  int64_t key_dim = 0;    // Ck
  int64_t attn_dim = 0;   // A
  bool bias = true;       // bias of query_proj (W1); key_proj and v have none
};

// e[t,s] = vᵀ tanh(W1 q_t + b + W2 k_s); weights = softmax_s(e) over unmasked keys. Parameters:
// query_proj (W1 [A,Cq], b [A]), key_proj (W2 [A,Ck]), v ([1,A]). Costs a [B,T,S,A] intermediate,
// inherent to the additive score.
class AdditiveAttention : public Module {
 public:
  explicit AdditiveAttention(const AdditiveAttentionConfig& cfg, std::string name = "");
  // q: [B,T,Cq]  k: [B,S,Ck]  values: [B,S,Cv]
  AttendResult forward(const Tensor& q, const Tensor& k, const Tensor& values, const AttendInputs& in = {}) const;
  // W2·k once per source sentence ([B,S,A]); then forward_projected for each decoder step.
  Tensor project_keys(const Tensor& k) const;
  AttendResult forward_projected(const Tensor& q, const Tensor& projected_keys, const Tensor& values,
                                 const AttendInputs& in = {}) const;

 private:
  AdditiveAttentionConfig cfg_;
  Linear query_proj_, key_proj_, v_;
};

enum class LuongScore { kDot, kGeneral };

struct LuongAttentionConfig {
  LuongScore score = LuongScore::kDot;
  int64_t query_dim = 0;  // Cq
  int64_t key_dim = 0;    // Ck; must equal Cq for kDot (0 = Cq)
};

// dot: e[t,s] = q_t·k_s; general: e[t,s] = q_t·(W k_s), W = key_proj [Cq,Ck]. No scaling, as in
// Luong et al. 2015. (The attentional hidden state tanh(Wc[c;h]) belongs to the decoder model.)
class LuongAttention : public Module {
 public:
  explicit LuongAttention(const LuongAttentionConfig& cfg, std::string name = "");
  AttendResult forward(const Tensor& q, const Tensor& k, const Tensor& values, const AttendInputs& in = {}) const;

 private:
  LuongAttentionConfig cfg_;
  std::unique_ptr<Linear> key_proj_;
};

// Shared by additive and Luong: masks scores [B,T,S], softmax, context = weights·values.
AttendResult attend_scores(const Tensor& scores, const Tensor& values, const AttendInputs& in, std::string_view who);

}  // namespace attn
