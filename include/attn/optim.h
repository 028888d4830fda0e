// attn/optim.h — optimizers (AdamW, SGD with momentum), learning-rate schedules, gradient clipping.
//
//   std::vector<OptimParam> params;
//   for (auto& p : model.named_parameters()) params.push_back({p.name, p.tensor});
//   AdamW opt(params, {.lr = 1e-3, .weight_decay = 0.1});        // decays 2-D+ weights only
//   WarmupCosine sched({.base_lr = 1e-3, .min_lr = 1e-4, .warmup_steps = 100, .total_steps = 2000});
//   for (int64_t step = 0; step < 2000; ++step) {
//     opt.zero_grad();
//     backward(loss(model, batch));
//     clip_grad_norm(params, 1.0);
//     opt.set_lr(sched.lr(step));
//     opt.step();
//   }
//
// Updates are written in place into the parameters' storage (under NoGradGuard) and match
// PyTorch's torch.optim.AdamW / SGD update formulas (see the .cpp files). Element-wise updates are
// independent per element, and norms are summed in a fixed order, so the thread count never
// changes a result. Optimizer state is a list of named tensors plus the step count, for checkpoints.
#pragma once

#include <attn/tensor.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace attn {

struct OptimParam {
  std::string name;  // dotted parameter name, e.g. "layers.0.attn.q_proj.weight"
  Tensor* tensor;    // the live parameter (f32); its grad() is read at step()
};

// Which parameters get weight decay: by default those with 2 or more dimensions (matrices and
// embeddings), not biases or norm gains (the GPT-2 / nanoGPT rule).
using DecayRule = std::function<bool(const OptimParam&)>;
bool default_decay_rule(const OptimParam& p);

struct AdamWConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  // The next step() reads every gradient multiplied by `scale` (a float multiply, as clip_grad_norm
  // would have stored it), then the scale returns to 1: clipping without its own pass over the
  // gradients, which stay as backward left them. See clip_grad_scale.
  void set_grad_scale(double scale) { grad_scale_ = scale; }
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t step_count() const { return step_; }
  // Named state tensors ("<param>.exp_avg", ...) plus "step" — for checkpoints.
  virtual std::map<std::string, Tensor> state() const = 0;
  // Restores what state() returned; ShapeError / FormatError name the entry that does not fit.
  virtual void load_state(const std::map<std::string, Tensor>& state) = 0;
  const std::vector<OptimParam>& params() const { return params_; }

 protected:
  Optimizer(std::vector<OptimParam> params, double lr);
  std::vector<OptimParam> params_;
  double lr_;
  int64_t step_ = 0;
  double grad_scale_ = 1.0;  // for the next step() only
};

// AdamW (Loshchilov & Hutter): p -= lr·wd·p (decoupled), then the Adam step with bias correction.
class AdamW : public Optimizer {
 public:
  AdamW(std::vector<OptimParam> params, const AdamWConfig& cfg, DecayRule decays = default_decay_rule);
  void step() override;
  std::map<std::string, Tensor> state() const override;
  void load_state(const std::map<std::string, Tensor>& state) override;
  const AdamWConfig& config() const { return cfg_; }
  bool decays(size_t i) const { return decay_[i]; }

 private:
  AdamWConfig cfg_;
  std::vector<bool> decay_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
};

struct SgdConfig {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // L2, added to the gradient (torch.optim.SGD semantics)
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<OptimParam> params, const SgdConfig& cfg);
  void step() override;
  std::map<std::string, Tensor> state() const override;
  void load_state(const std::map<std::string, Tensor>& state) override;

 private:
  SgdConfig cfg_;
  std::vector<Tensor> momentum_;  // undefined until the first step with momentum
};

// Scales every gradient by min(1, max_norm / (total_norm + 1e-6)); returns the total L2 norm
// before clipping (a NaN/Inf norm is returned as is and nothing is scaled).
double clip_grad_norm(const std::vector<OptimParam>& params, double max_norm);
// The same factor without scaling anything: min(1, max_norm / (norm + 1e-6)), 1 for a NaN/Inf norm.
//   opt.set_grad_scale(clip_grad_scale(grad_norm(params), 1.0)); opt.step();   // = clip, then step
double clip_grad_scale(double norm, double max_norm);
// The global L2 norm of the gradients, summed in parameter order in double.
double grad_norm(const std::vector<OptimParam>& params);

// ---- learning-rate schedules: lr(step) for step = 0, 1, ... ----
struct WarmupCosineConfig {
  double base_lr = 1e-3;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;  // linear from base_lr/warmup to base_lr over these steps
  int64_t total_steps = 1;   // cosine from base_lr down to min_lr at total_steps; min_lr after
};
class WarmupCosine {
 public:
  explicit WarmupCosine(const WarmupCosineConfig& cfg);
  double lr(int64_t step) const;

 private:
  WarmupCosineConfig cfg_;
};

// "Attention is all you need": lr = base · min((step+1)^-0.5, (step+1)·warmup^-1.5), with base
// usually d_model^-0.5 · factor.
struct InverseSqrtConfig {
  double base_lr = 1.0;
  int64_t warmup_steps = 4000;
};
class InverseSqrt {
 public:
  explicit InverseSqrt(const InverseSqrtConfig& cfg);
  double lr(int64_t step) const;

 private:
  InverseSqrtConfig cfg_;
};

}  // namespace attn
