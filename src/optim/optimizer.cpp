// optim/optimizer.cpp — AdamW and SGD over named f32 parameters, updating them in place.
#include <attn/autograd.h>
#include <attn/optim.h>

#include <algorithm>
#include <cmath>

#include "kernels/optimizer.h"

namespace attn {

namespace {

void check_param(const OptimParam& p) {
  ATTN_CHECK(p.tensor && p.tensor->defined(), ValueError, "optimizer: parameter {} is undefined", p.name);
  ATTN_CHECK(p.tensor->dtype() == DType::kF32 && p.tensor->is_contiguous(), ShapeError,
             "optimizer: parameter {} must be contiguous f32, got {}", p.name, p.tensor->str());
}

// The gradient as contiguous f32 shaped like the parameter, or undefined when none arrived.
Tensor grad_of(const OptimParam& p) {
  Tensor g = p.tensor->grad();
  if (!g.defined()) return g;
  ATTN_CHECK(g.shape() == p.tensor->shape(), ShapeError, "optimizer: {} has grad {} for parameter {}", p.name, g.str(),
             p.tensor->str());
  return g.to(DType::kF32);
}

const Tensor& state_entry(const std::map<std::string, Tensor>& state, const std::string& key, const Shape& shape) {
  auto it = state.find(key);
  ATTN_CHECK(it != state.end(), FormatError, "optimizer state: missing entry {}", key);
  ATTN_CHECK(it->second.shape() == shape, ShapeError, "optimizer state: {} has {}, parameter wants {}", key,
             it->second.str(), shape_str(shape));
  return it->second;
}

int64_t state_step(const std::map<std::string, Tensor>& state) {
  auto it = state.find("step");
  ATTN_CHECK(it != state.end() && it->second.numel() == 1, FormatError, "optimizer state: missing entry step");
  return static_cast<int64_t>(it->second.item());
}

}  // namespace

bool default_decay_rule(const OptimParam& p) { return p.tensor->dim() >= 2; }

Optimizer::Optimizer(std::vector<OptimParam> params, double lr) : params_(std::move(params)), lr_(lr) {
  for (const auto& p : params_) check_param(p);
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.tensor->zero_grad();
}

// ---- AdamW ----

AdamW::AdamW(std::vector<OptimParam> params, const AdamWConfig& cfg, DecayRule decays)
    : Optimizer(std::move(params), cfg.lr), cfg_(cfg) {
  ATTN_CHECK(cfg.lr >= 0 && cfg.eps > 0 && cfg.beta1 >= 0 && cfg.beta1 < 1 && cfg.beta2 >= 0 && cfg.beta2 < 1,
             ConfigError, "AdamW: invalid config lr={} beta1={} beta2={} eps={}", cfg.lr, cfg.beta1, cfg.beta2, cfg.eps);
  for (const auto& p : params_) {
    decay_.push_back(decays(p));
    exp_avg_.push_back(Tensor::zeros(p.tensor->shape()));
    exp_avg_sq_.push_back(Tensor::zeros(p.tensor->shape()));
  }
}

void AdamW::step() {
  NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1.0 - std::pow(cfg_.beta1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(cfg_.beta2, static_cast<double>(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = grad_of(params_[i]);
    if (!g.defined()) continue;  // torch skips parameters without a gradient too
    const kernels::AdamWStep s{.lr = static_cast<float>(lr_),
                               .beta1 = static_cast<float>(cfg_.beta1),
                               .beta2 = static_cast<float>(cfg_.beta2),
                               .eps = static_cast<float>(cfg_.eps),
                               .weight_decay = decay_[i] ? static_cast<float>(cfg_.weight_decay) : 0.0f,
                               .bias_correction1 = static_cast<float>(bc1),
                               .bias_correction2_sqrt = static_cast<float>(std::sqrt(bc2)),
                               .grad_scale = static_cast<float>(grad_scale_)};
    kernels::adamw_update(params_[i].tensor->data<float>(), g.data<float>(), exp_avg_[i].data<float>(),
                          exp_avg_sq_[i].data<float>(), params_[i].tensor->numel(), s);
  }
  grad_scale_ = 1.0;
}

std::map<std::string, Tensor> AdamW::state() const {
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out[params_[i].name + ".exp_avg"] = exp_avg_[i];
    out[params_[i].name + ".exp_avg_sq"] = exp_avg_sq_[i];
  }
  out["step"] = Tensor::full({1}, static_cast<double>(step_), DType::kI64);
  return out;
}

void AdamW::load_state(const std::map<std::string, Tensor>& state) {
  const int64_t step = state_step(state);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Shape& shape = params_[i].tensor->shape();
    const Tensor& m = state_entry(state, params_[i].name + ".exp_avg", shape);
    const Tensor& v = state_entry(state, params_[i].name + ".exp_avg_sq", shape);
    exp_avg_[i].copy_from(m);
    exp_avg_sq_[i].copy_from(v);
  }
  step_ = step;
}

// ---- SGD ----

Sgd::Sgd(std::vector<OptimParam> params, const SgdConfig& cfg) : Optimizer(std::move(params), cfg.lr), cfg_(cfg) {
  ATTN_CHECK(cfg.lr >= 0 && cfg.momentum >= 0, ConfigError, "SGD: invalid config lr={} momentum={}", cfg.lr,
             cfg.momentum);
  ATTN_CHECK(!cfg.nesterov || (cfg.momentum > 0 && cfg.dampening == 0), ConfigError,
             "SGD: nesterov needs momentum > 0 and dampening 0 (got momentum={} dampening={})", cfg.momentum,
             cfg.dampening);
  momentum_.resize(params_.size());
}

void Sgd::step() {
  NoGradGuard no_grad;
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = grad_of(params_[i]);
    if (!g.defined()) continue;
    if (grad_scale_ != 1.0) {  // on a copy: the gradients stay as backward left them
      g = g.clone();
      kernels::scale_inplace(g.data<float>(), g.numel(), static_cast<float>(grad_scale_));
    }
    const bool first = !momentum_[i].defined();
    if (cfg_.momentum != 0.0 && first) momentum_[i] = Tensor::zeros(params_[i].tensor->shape());
    kernels::sgd_update(params_[i].tensor->data<float>(), g.data<float>(),
                        cfg_.momentum != 0.0 ? momentum_[i].data<float>() : nullptr, params_[i].tensor->numel(),
                        static_cast<float>(lr_), static_cast<float>(cfg_.momentum), static_cast<float>(cfg_.dampening),
                        static_cast<float>(cfg_.weight_decay), cfg_.nesterov, first);
  }
  grad_scale_ = 1.0;
}

std::map<std::string, Tensor> Sgd::state() const {
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i)
    if (momentum_[i].defined()) out[params_[i].name + ".momentum_buffer"] = momentum_[i];
  out["step"] = Tensor::full({1}, static_cast<double>(step_), DType::kI64);
  return out;
}

void Sgd::load_state(const std::map<std::string, Tensor>& state) {
  const int64_t step = state_step(state);
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string key = params_[i].name + ".momentum_buffer";
    if (state.count(key)) {
      momentum_[i] = state_entry(state, key, params_[i].tensor->shape()).clone();
    } else {
      momentum_[i] = Tensor();
    }
  }
  step_ = step;
}

// ---- clipping ----

double grad_norm(const std::vector<OptimParam>& params) {
  double total = 0;
  for (const auto& p : params) {
    const Tensor g = grad_of(p);
    if (g.defined()) total += kernels::sum_squares(g.data<float>(), g.numel());
  }
  return std::sqrt(total);
}

double clip_grad_scale(double norm, double max_norm) {
  if (!std::isfinite(norm)) return 1.0;
  return std::min(1.0, max_norm / (norm + 1e-6));
}

double clip_grad_norm(const std::vector<OptimParam>& params, double max_norm) {
  const double norm = grad_norm(params);
  const double coef = clip_grad_scale(norm, max_norm);
  if (coef >= 1.0) return norm;
  for (const auto& p : params) {
    Tensor g = p.tensor->grad();
    if (!g.defined()) continue;
    // Never scale a buffer shared with anything else: in place only when the storage's owners are
    // the grad slot and g (a fresh accumulation, as after every backward), else on a copy.
    const bool sole = g.dtype() == DType::kF32 && g.is_contiguous() && g.storage().use_count() == 2;
    Tensor owned = sole ? g : g.to(DType::kF32).clone();
    kernels::scale_inplace(owned.data<float>(), owned.numel(), static_cast<float>(coef));
    p.tensor->set_grad(owned);
  }
  return norm;
}

}  // namespace attn
