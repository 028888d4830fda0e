// models/gpt.cpp — the GPT decoder: token + learned position embeddings, n pre-norm causal
// TransformerBlocks, a final LayerNorm and the tied output head; plus the cached forward that
// generation uses.
#include <attn/autograd.h>
#include <attn/model.h>
#include <attn/ops.h>

#include <cmath>

namespace attn {

namespace {
TransformerBlockConfig block_config(const GptConfig& c) {
  return {.d_model = c.d_model,
          .n_heads = c.n_heads,
          .d_ff = c.d_ff > 0 ? c.d_ff : 4 * c.d_model,
          .pre_norm = true,
          .norm = Norm::kLayer,
          .norm_eps = c.norm_eps,
          .norm_bias = c.bias,
          .activation = c.activation,
          .attn_bias = c.bias,
          .ffn_bias = c.bias,
          .fused_qkv = c.fused_qkv,
          .causal = true,
          .dropout = c.dropout,
          .attn_dropout = c.dropout};
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

Gpt::Gpt(const GptConfig& cfg, std::string name)
    : Module(std::move(name)),
      cfg_((gpt_config_check(cfg), cfg)),
      wte_({.num = cfg.vocab_size, .dim = cfg.d_model, .init_std = 0.02f}, child_name("wte")),
      wpe_({.max_positions = cfg.block_size, .dim = cfg.d_model, .init_std = 0.02f}, child_name("wpe")),
      layers_(child_name("layers")),
      ln_f_({.dim = cfg.d_model, .eps = cfg.norm_eps, .bias = cfg.bias}, child_name("ln_f")) {
  register_module("wte", wte_);
  register_module("wpe", wpe_);
  register_module("layers", layers_);
  register_module("ln_f", ln_f_);
  const TransformerBlockConfig bc = block_config(cfg);
  for (int64_t i = 0; i < cfg.n_layers; ++i) {
    TransformerBlock& b = layers_.emplace_back(bc);
    attns_.push_back(&b.self_attn());
    ffns_.push_back(&b.ffn());
    attn_norms_.push_back(&dynamic_cast<NormLayer&>(b.submodule("self_attn_norm")));
    ffn_norms_.push_back(&dynamic_cast<NormLayer&>(b.submodule("ffn_norm")));
  }
}

void Gpt::init_weights(Rng& rng) {
  NoGradGuard no_grad;
  const float resid_std = 0.02f / std::sqrt(2.0f * static_cast<float>(cfg_.n_layers));
  for (NamedParameter& p : unique_parameters()) {
    const std::string& n = p.name;
    if (n.find("norm") != std::string::npos || n.starts_with("ln_f")) {
      p.tensor->fill(ends_with(n, ".weight") ? 1.0 : 0.0);
    } else if (ends_with(n, ".bias")) {
      p.tensor->fill(0.0);
    } else if (ends_with(n, "o_proj.weight") || ends_with(n, "down_proj.weight")) {
      rng.normal_(*p.tensor, 0.0f, resid_std);
    } else {
      rng.normal_(*p.tensor, 0.0f, 0.02f);
    }
  }
}

Tensor Gpt::embed(const Tensor& ids, int64_t offset) const {
  ATTN_CHECK(ids.defined() && ids.dim() == 2 && (ids.dtype() == DType::kI32 || ids.dtype() == DType::kI64),
             ShapeError, "{}: ids must be i32/i64 [B,T], got {}", label(), ids.defined() ? ids.str() : "undefined");
  const int64_t T = ids.size(1);
  ATTN_CHECK(T >= 1 && offset + T <= cfg_.block_size, ShapeError,
             "{}: positions {}..{} do not fit block_size {}", label(), offset, offset + T - 1, cfg_.block_size);
  // [B,T,C] + [T,C]
  return add(wte_.forward(ids), wpe_.forward(T, offset));
}

Tensor Gpt::logits(const Tensor& x) const {
  // x: [B,T,C] -> [B,T,V]; the head is the token embedding table (tied weights).
  return linear(ln_f_.forward(x), wte_.weight());
}

Tensor Gpt::forward_train(const Tensor& ids, Rng& rng) const {
  Tensor x = maybe_dropout(embed(ids, 0), cfg_.dropout, training(), &rng, label());
  for (size_t i = 0; i < layers_.size(); ++i) x = layers_[i].forward(x, {.rng = &rng});
  return logits(x);
}

// One pre-norm block with its keys and values going through the cache:
// x += attn(N1(x)) over cached k/v;  x += ffn(N2(x)).
Tensor Gpt::block_cached(size_t i, const Tensor& x, KvCache& cache) const {
  const MultiHeadAttention& attn = *attns_[i];
  MhaProjections p = attn.project(attn_norms_[i]->forward(x), Tensor(), cache.length());
  std::tie(p.k, p.v) = cache.append(static_cast<int64_t>(i), p.k, p.v);
  // causal with offset S - T: query t sits at position length + t.
  const Tensor h = add(x, attn.project_out(attn.attend(p, {.causal = true}).out));
  return add(h, ffns_[i]->forward(ffn_norms_[i]->forward(h)));
}

Tensor Gpt::forward(const Tensor& ids, KvCache* cache) const {
  if (!cache) {
    ATTN_CHECK(!training() || cfg_.dropout == 0.0f, ConfigError,
               "{}: forward without an Rng in training mode with dropout {}; call eval() or forward_train",
               label(), cfg_.dropout);
    Tensor x = embed(ids, 0);
    for (size_t i = 0; i < layers_.size(); ++i) x = layers_[i].forward(x);
    return logits(x);
  }
  ATTN_CHECK(!training() || cfg_.dropout == 0.0f, ConfigError,
             "{}: the cached forward is for inference; call eval() first", label());
  ATTN_CHECK(cache->batch() == ids.size(0), ShapeError, "{}: ids have batch {}, the KV cache {}", label(),
             ids.size(0), cache->batch());
  Tensor x = embed(ids, cache->length());
  for (size_t i = 0; i < layers_.size(); ++i) x = block_cached(i, x, *cache);
  cache->advance(ids.size(1));
  return logits(x);
}

// ---- KvCache ----
KvCache::KvCache(const GptConfig& cfg, int64_t batch, int64_t capacity)
    : batch_(batch), capacity_(capacity > 0 ? capacity : cfg.block_size) {
  ATTN_CHECK(batch > 0 && capacity_ <= cfg.block_size, ConfigError,
             "KvCache: batch {} must be positive and capacity {} at most block_size {}", batch, capacity_,
             cfg.block_size);
  const int64_t D = cfg.d_model / cfg.n_heads;
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    k_.push_back(Tensor::zeros({batch, cfg.n_heads, capacity_, D}));
    v_.push_back(Tensor::zeros({batch, cfg.n_heads, capacity_, D}));
  }
}

std::pair<Tensor, Tensor> KvCache::append(int64_t layer, const Tensor& k, const Tensor& v) {
  ATTN_CHECK(layer >= 0 && layer < static_cast<int64_t>(k_.size()), ShapeError, "KvCache: layer {} of {}", layer,
             k_.size());
  Tensor& K = k_[static_cast<size_t>(layer)];
  Tensor& V = v_[static_cast<size_t>(layer)];
  const int64_t T = k.size(2);
  ATTN_CHECK(k.dim() == 4 && k.shape() == v.shape() && k.size(0) == batch_ && k.size(1) == K.size(1) &&
                 k.size(3) == K.size(3),
             ShapeError, "KvCache: k {} / v {} do not fit the cache [{},{},S,{}]", k.str(), v.str(), batch_,
             K.size(1), K.size(3));
  ATTN_CHECK(length_ + T <= capacity_, ShapeError, "KvCache: {} cached + {} new positions exceed capacity {}",
             length_, T, capacity_);
  NoGradGuard no_grad;
  K.narrow(2, length_, T).copy_from(k);
  V.narrow(2, length_, T).copy_from(v);
  return {K.narrow(2, 0, length_ + T), V.narrow(2, 0, length_ + T)};
}

void KvCache::advance(int64_t T) {
  ATTN_CHECK(T >= 0 && length_ + T <= capacity_, ShapeError, "KvCache: advance {} past capacity {} (length {})", T,
             capacity_, length_);
  length_ += T;
}

}  // namespace attn
