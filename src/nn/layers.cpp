// nn/layers.cpp — Linear, Embedding, LayerNorm, RMSNorm, NormLayer: thin modules over ops.
#include <attn/nn/layers.h>
#include <attn/ops.h>

#include <cmath>

namespace attn {

namespace {
void check_last_dim(const Module& m, const Tensor& x, int64_t want, std::string_view what) {
  ATTN_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == want, ShapeError,
             "{}: input {} has last dim {}, {} wants {}", m.label(), tensor_shape_str(x),
             x.defined() && x.dim() >= 1 ? x.size(-1) : -1, what, want);
}
void check_positive(const Module& m, int64_t v, std::string_view what) {
  ATTN_CHECK(v > 0, ConfigError, "{}: {} must be positive, got {}", m.label(), what, v);
}
}  // namespace

// ---- Linear ----
Linear::Linear(const LinearConfig& cfg, std::string name) : Module(std::move(name)), cfg_(cfg) {
  check_positive(*this, cfg.in, "in");
  check_positive(*this, cfg.out, "out");
  weight_ = Tensor::zeros({cfg.out, cfg.in});
  register_parameter("weight", weight_);
  if (cfg.bias) {
    bias_ = Tensor::zeros({cfg.out});
    register_parameter("bias", bias_);
  }
}

Tensor Linear::forward(const Tensor& x) const {
  check_last_dim(*this, x, cfg_.in, "weight [out,in]");
  return linear(x, weight_, bias_);
}

// torch.nn.Linear's default: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), bias the same.
void Linear::reset_parameters(Rng& rng) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(cfg_.in));
  rng.uniform_(weight_, -bound, bound);
  if (bias_.defined()) rng.uniform_(bias_, -bound, bound);
}

// ---- Embedding ----
Embedding::Embedding(const EmbeddingConfig& cfg, std::string name) : Module(std::move(name)), cfg_(cfg) {
  check_positive(*this, cfg.num, "num");
  check_positive(*this, cfg.dim, "dim");
  weight_ = Tensor::zeros({cfg.num, cfg.dim});
  register_parameter("weight", weight_);
}

Tensor Embedding::forward(const Tensor& ids) const {
  ATTN_CHECK(ids.defined() && (ids.dtype() == DType::kI32 || ids.dtype() == DType::kI64), ShapeError,
             "{}: ids must be i32 or i64, got {}", label(), ids.defined() ? ids.str() : "undefined");
  return embedding(ids, weight_);
}

void Embedding::reset_parameters(Rng& rng) { rng.normal_(weight_, 0.0f, cfg_.init_std); }

// ---- norms ----
LayerNorm::LayerNorm(const NormConfig& cfg, std::string name) : Module(std::move(name)), cfg_(cfg) {
  check_positive(*this, cfg.dim, "dim");
  if (cfg.affine) {
    weight_ = Tensor::full({cfg.dim}, 1.0);
    register_parameter("weight", weight_);
    if (cfg.bias) {
      bias_ = Tensor::zeros({cfg.dim});
      register_parameter("bias", bias_);
    }
  }
}

Tensor LayerNorm::forward(const Tensor& x) const {
  check_last_dim(*this, x, cfg_.dim, "LayerNorm");
  return layer_norm(x, weight_, bias_, cfg_.eps);
}

void LayerNorm::reset_parameters(Rng&) {
  if (weight_.defined()) weight_.fill(1.0);
  if (bias_.defined()) bias_.fill(0.0);
}

RMSNorm::RMSNorm(const NormConfig& cfg, std::string name) : Module(std::move(name)), cfg_(cfg) {
  check_positive(*this, cfg.dim, "dim");
  if (cfg.affine) {
    weight_ = Tensor::full({cfg.dim}, 1.0);
    register_parameter("weight", weight_);
  }
}

Tensor RMSNorm::forward(const Tensor& x) const {
  check_last_dim(*this, x, cfg_.dim, "RMSNorm");
  return rms_norm(x, weight_, cfg_.eps);
}

void RMSNorm::reset_parameters(Rng&) {
  if (weight_.defined()) weight_.fill(1.0);
}

NormLayer::NormLayer(Norm kind, const NormConfig& cfg, std::string name)
    : Module(std::move(name)), kind_(kind), cfg_(cfg) {
  check_positive(*this, cfg.dim, "dim");
  if (!cfg.affine) return;
  weight_ = Tensor::full({cfg.dim}, 1.0);
  register_parameter("weight", weight_);
  if (kind == Norm::kLayer && cfg.bias) {
    bias_ = Tensor::zeros({cfg.dim});
    register_parameter("bias", bias_);
  }
}

Tensor NormLayer::forward(const Tensor& x) const {
  check_last_dim(*this, x, cfg_.dim, kind_ == Norm::kLayer ? "LayerNorm" : "RMSNorm");
  return kind_ == Norm::kLayer ? layer_norm(x, weight_, bias_, cfg_.eps) : rms_norm(x, weight_, cfg_.eps);
}

void NormLayer::reset_parameters(Rng&) {
  if (weight_.defined()) weight_.fill(1.0);
  if (bias_.defined()) bias_.fill(0.0);
}

Tensor maybe_dropout(const Tensor& x, float p, bool training, Rng* rng, std::string_view who) {
  if (!training || p <= 0.0f) return x;
  ATTN_CHECK(rng != nullptr, ConfigError,
             "{}: dropout {} in training mode needs an Rng (pass one, or call eval())", who, p);
  return dropout(x, p, *rng);
}

}  // namespace attn
