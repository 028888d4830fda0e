// nn/multi_head_attention.cpp — MultiHeadAttention: projections, head split, RoPE, the attention op,
// optional exact weights (attention_weights from the op's lse), head merge, output projection.
#include <attn/nn/attention.h>
#include <attn/autograd.h>
#include <attn/ops.h>

namespace attn {

MultiHeadAttention::MultiHeadAttention(const MultiHeadAttentionConfig& cfg, std::string name)
    : Module(std::move(name)),
      cfg_(cfg),
      head_dim_(cfg.head_dim > 0 ? cfg.head_dim : (cfg.n_heads > 0 ? cfg.d_model / cfg.n_heads : 0)),
      n_kv_heads_(cfg.n_kv_heads > 0 ? cfg.n_kv_heads : cfg.n_heads),
      kv_dim_(cfg.kv_dim > 0 ? cfg.kv_dim : cfg.d_model),
      o_proj_({.in = std::max<int64_t>(cfg.n_heads, 1) * std::max<int64_t>(head_dim_, 1),
               .out = std::max<int64_t>(cfg.d_model, 1), .bias = cfg.out_bias},
              child_name("o_proj")) {
  const int64_t C = cfg.d_model, H = cfg.n_heads, D = head_dim_, Hkv = n_kv_heads_;
  ATTN_CHECK(C > 0 && H > 0 && D > 0, ConfigError, "{}: d_model {} and n_heads {} must be positive (head_dim {})",
             label(), C, H, D);
  ATTN_CHECK(cfg.head_dim > 0 || C % H == 0, ConfigError, "{}: d_model {} is not divisible by n_heads {}", label(),
             C, H);
  ATTN_CHECK(Hkv > 0 && H % Hkv == 0, ConfigError, "{}: n_heads {} is not a multiple of n_kv_heads {}", label(), H,
             Hkv);
  ATTN_CHECK(!cfg.fused_qkv || kv_dim_ == C, ConfigError,
             "{}: fused_qkv needs kv_dim == d_model (self-attention), got kv_dim {} and d_model {}", label(), kv_dim_, C);
  if (cfg.fused_qkv) {
    qkv_proj_ = std::make_unique<Linear>(LinearConfig{.in = C, .out = (H + 2 * Hkv) * D, .bias = cfg.bias},
                                         child_name("qkv_proj"));
    register_module("qkv_proj", *qkv_proj_);
  } else {
    q_proj_ = std::make_unique<Linear>(LinearConfig{.in = C, .out = H * D, .bias = cfg.bias}, child_name("q_proj"));
    k_proj_ = std::make_unique<Linear>(LinearConfig{.in = kv_dim_, .out = Hkv * D, .bias = cfg.bias},
                                       child_name("k_proj"));
    v_proj_ = std::make_unique<Linear>(LinearConfig{.in = kv_dim_, .out = Hkv * D, .bias = cfg.bias},
                                       child_name("v_proj"));
    register_module("q_proj", *q_proj_);
    register_module("k_proj", *k_proj_);
    register_module("v_proj", *v_proj_);
  }
  register_module("o_proj", o_proj_);
  if (cfg.rope) {
    RopeConfig rc = *cfg.rope;
    if (rc.head_dim == 0) rc.head_dim = D;
    ATTN_CHECK(rc.head_dim == D, ConfigError, "{}: rope.head_dim {} differs from head_dim {}", label(), rc.head_dim, D);
    rope_ = std::make_unique<RotaryEmbedding>(rc, child_name("rope"));
  }
  if (cfg.alibi) alibi_ = alibi_slopes(H);
}

// [B,T,h·D] (last dim contiguous) -> [B,h,T,D] view.
Tensor MultiHeadAttention::split_heads(const Tensor& x, int64_t heads) const {
  return x.view({x.size(0), x.size(1), heads, head_dim_}).permute({0, 2, 1, 3});
}

MhaProjections MultiHeadAttention::project(const Tensor& x, const Tensor& memory, int64_t position_offset) const {
  const int64_t C = cfg_.d_model, H = cfg_.n_heads, Hkv = n_kv_heads_, D = head_dim_;
  ATTN_CHECK(x.defined() && x.dim() == 3 && x.size(2) == C, ShapeError, "{}: x is {}, wants [B,T,{}]", label(),
             tensor_shape_str(x), C);
  const bool cross = memory.defined();
  ATTN_CHECK(!cross || (memory.dim() == 3 && memory.size(0) == x.size(0) && memory.size(2) == kv_dim_), ShapeError,
             "{}: memory is {}, wants [{},S,{}] for x {}", label(), tensor_shape_str(memory), x.size(0), kv_dim_,
             tensor_shape_str(x));
  ATTN_CHECK(!cross || !qkv_proj_, ConfigError, "{}: fused_qkv is self-attention only, but memory was given", label());
  MhaProjections p;
  if (qkv_proj_) {
    // [B,T,(H+2Hkv)·D] -> [B,T,H+2Hkv,D] (a view), then the q, k and v heads are split off dim 2
    // (one autograd node, so the backward writes the three gradients into one buffer).
    const Tensor qkv = qkv_proj_->forward(x);
    const auto parts = split(qkv.view({x.size(0), x.size(1), H + 2 * Hkv, D}), {H, Hkv, Hkv}, 2);
    p.q = parts[0].permute({0, 2, 1, 3});
    p.k = parts[1].permute({0, 2, 1, 3});
    p.v = parts[2].permute({0, 2, 1, 3});
  } else {
    const Tensor& kv_in = cross ? memory : x;
    p.q = split_heads(q_proj_->forward(x), H);
    p.k = split_heads(k_proj_->forward(kv_in), Hkv);
    p.v = split_heads(v_proj_->forward(kv_in), Hkv);
  }
  if (rope_) {
    p.q = rope_->forward(p.q, position_offset);
    p.k = rope_->forward(p.k, cross ? 0 : position_offset);
  }
  (void)C;
  return p;
}

AttentionOptions MultiHeadAttention::options(const MhaInputs& in, int64_t B, int64_t T, int64_t S) const {
  AttentionOptions o;
  o.scale = cfg_.scale;
  o.causal = in.causal.value_or(cfg_.causal);
  o.key_lengths = in.key_lengths;
  o.mask = in.mask;
  o.alibi_slopes = alibi_;
  o.softcap = cfg_.softcap;
  o.window_left = cfg_.window_left;
  if (training() && cfg_.dropout > 0.0f) {
    ATTN_CHECK(in.rng != nullptr, ConfigError,
               "{}: attention dropout {} in training mode needs an Rng (pass one, or call eval())", label(),
               cfg_.dropout);
    o.dropout_p = cfg_.dropout;
    o.dropout_seed = in.rng->state().seed;
    o.dropout_offset = in.rng->reserve(static_cast<uint64_t>(B * cfg_.n_heads * T * S));
  }
  o.return_lse = in.need_weights;
  return o;
}

MhaResult MultiHeadAttention::attend(const MhaProjections& p, const MhaInputs& in) const {
  const int64_t B = p.q.size(0), T = p.q.size(2), S = p.k.size(2);
  const AttentionOptions opts = options(in, B, T, S);
  AttentionResult r = attention(p.q, p.k, p.v, opts);
  MhaResult out{.out = r.out, .weights = Tensor()};
  if (in.need_weights) {
    std::vector<int64_t> heads = in.weight_heads;
    if (heads.empty())
      for (int64_t h = 0; h < cfg_.n_heads; ++h) heads.push_back(h);
    out.weights = attention_weights(p.q, p.k, r.lse, opts, heads);
  }
  return out;
}

Tensor MultiHeadAttention::project_out(const Tensor& heads) const {
  const int64_t B = heads.size(0), T = heads.size(2);
  return o_proj_.forward(heads.permute({0, 2, 1, 3}).reshape({B, T, cfg_.n_heads * head_dim_}));
}

KvCacheLayer MultiHeadAttention::make_kv_cache(int64_t B, int64_t capacity) const {
  return {.k = Tensor::zeros({B, n_kv_heads_, capacity, head_dim_}),
          .v = Tensor::zeros({B, n_kv_heads_, capacity, head_dim_}),
          .length = 0};
}

MhaProjections MultiHeadAttention::project_cached(const Tensor& x, const Tensor& memory, const MhaInputs& in) const {
  KvCacheLayer& c = *in.cache;
  if (memory.defined() && c.length > 0) {  // cross-attention: the memory's K/V were cached on the first call
    MhaProjections p{.q = split_heads(q_proj_->forward(x), cfg_.n_heads), .k = c.k.narrow(2, 0, c.length),
                     .v = c.v.narrow(2, 0, c.length)};
    if (rope_) p.q = rope_->forward(p.q, in.position_offset);
    return p;
  }
  MhaProjections p = project(x, memory, in.position_offset + c.length);
  const int64_t B = x.size(0), T = p.k.size(2);
  ATTN_CHECK(c.k.defined() && c.v.defined() && c.k.shape() == c.v.shape() && c.k.dim() == 4 && c.k.size(0) == B &&
                 c.k.size(1) == n_kv_heads_ && c.k.size(3) == head_dim_,
             ShapeError, "{}: cache k {} / v {} must be [{},{},capacity,{}]", label(), tensor_shape_str(c.k),
             tensor_shape_str(c.v), B, n_kv_heads_, head_dim_);
  ATTN_CHECK(c.length + T <= c.capacity(), ValueError, "{}: cache holds {} of {} positions, {} more do not fit",
             label(), c.length, c.capacity(), T);
  {
    NoGradGuard no_grad;  // the cache is state, not part of the graph
    c.k.narrow(2, c.length, T).copy_from(p.k);
    c.v.narrow(2, c.length, T).copy_from(p.v);
  }
  c.length += T;
  p.k = c.k.narrow(2, 0, c.length);
  p.v = c.v.narrow(2, 0, c.length);
  return p;
}

MhaResult MultiHeadAttention::forward(const Tensor& x, const Tensor& memory, const MhaInputs& in) const {
  const MhaProjections p = in.cache ? project_cached(x, memory, in) : project(x, memory, in.position_offset);
  MhaResult r = attend(p, in);
  r.out = project_out(r.out);
  return r;
}

}  // namespace attn
