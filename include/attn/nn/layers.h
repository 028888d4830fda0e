// attn/nn/layers.h — the basic layers: Linear, Embedding, LayerNorm, RMSNorm, and dropout.
//
//   Linear proj({.in = 768, .out = 2304, .bias = true}, "h.0.attn.c_attn");
//   proj.init(rng);                                  // torch's default: U(-1/sqrt(in), 1/sqrt(in))
//   Tensor y = proj.forward(x);                      // x: [...,in] -> [...,out]
//   Embedding tok({.num = 50257, .dim = 768}, "wte");
//   Tensor e = tok.forward(ids);                     // ids i32/i64 [B,T] -> [B,T,C]
//   LayerNorm ln({.dim = 768}, "ln_f");   RMSNorm rms({.dim = 4096, .eps = 1e-5f}, "norm");
//   Tensor d = dropout(x, 0.1f, rng);                // training only; scales kept values by 1/(1-p)
//
// Every layer composes ops from attn/ops.h; none loops over elements. Parameters start as zeros
// (norm weights as ones) until init() or load_state() fills them.
#pragma once

#include <attn/nn/module.h>

namespace attn {

// ---- Linear: y = x·Wᵀ + b, W: [out,in] (torch layout) ----
struct LinearConfig {
  int64_t in = 0;
  int64_t out = 0;
  bool bias = true;
};

class Linear : public Module {
 public:
  explicit Linear(const LinearConfig& cfg, std::string name = "");
  // x: [...,in] -> [...,out]
  Tensor forward(const Tensor& x) const;
  const LinearConfig& config() const { return cfg_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }  // undefined without bias
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 protected:
  void reset_parameters(Rng& rng) override;

 private:
  LinearConfig cfg_;
  Tensor weight_;  // [out,in]
  Tensor bias_;    // [out]
};

// ---- Embedding: a lookup table [num, dim] ----
struct EmbeddingConfig {
  int64_t num = 0;  // V (or the number of positions for learned positions)
  int64_t dim = 0;  // C
  float init_std = 1.0f;  // N(0, init_std²) at init(); torch's default is 1, GPT-2 uses 0.02
};

class Embedding : public Module {
 public:
  explicit Embedding(const EmbeddingConfig& cfg, std::string name = "");
  // ids: i32/i64 [...] -> [...,C]; an id outside [0,num) throws ShapeError.
  Tensor forward(const Tensor& ids) const;
  const EmbeddingConfig& config() const { return cfg_; }
  Tensor& weight() { return weight_; }
  const Tensor& weight() const { return weight_; }

 protected:
  void reset_parameters(Rng& rng) override;

 private:
  EmbeddingConfig cfg_;
  Tensor weight_;  // [V,C]
};

// ---- Normalisation over the last dimension ----
enum class Norm { kLayer, kRms };

struct NormConfig {
  int64_t dim = 0;  // C
  float eps = 1e-5f;
  bool affine = true;  // a learned weight (and bias for LayerNorm)
  bool bias = true;    // LayerNorm only: false gives the bias-free LayerNorm of some models
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(const NormConfig& cfg, std::string name = "");
  // x: [...,C] -> (x - mean) / sqrt(var + eps) · weight + bias   (biased variance, like torch)
  Tensor forward(const Tensor& x) const;
  const NormConfig& config() const { return cfg_; }

 protected:
  void reset_parameters(Rng& rng) override;

 private:
  NormConfig cfg_;
  Tensor weight_, bias_;  // [C]
};

class RMSNorm : public Module {
 public:
  explicit RMSNorm(const NormConfig& cfg, std::string name = "");
  // x: [...,C] -> x / sqrt(mean(x²) + eps) · weight
  Tensor forward(const Tensor& x) const;
  const NormConfig& config() const { return cfg_; }

 protected:
  void reset_parameters(Rng& rng) override;

 private:
  NormConfig cfg_;
  Tensor weight_;  // [C]
};

// LayerNorm or RMSNorm chosen by data (TransformerBlock's norms).
class NormLayer : public Module {
 public:
  NormLayer(Norm kind, const NormConfig& cfg, std::string name = "");
  Tensor forward(const Tensor& x) const;
  Norm kind() const { return kind_; }

 protected:
  void reset_parameters(Rng& rng) override;

 private:
  Norm kind_;
  NormConfig cfg_;
  Tensor weight_, bias_;
};

// ---- Dropout (the op itself, dropout(x, p, rng), is in attn/ops.h) ----
// Module-side helper: dropout only when training and p > 0; throws ConfigError naming `who` when
// dropout is due but rng is null.
Tensor maybe_dropout(const Tensor& x, float p, bool training, Rng* rng, std::string_view who);

}  // namespace attn
