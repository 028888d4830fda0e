// nn/gru.cpp — GruCell and Gru composed from ops (differentiable through autograd).
#include <attn/nn/gru.h>
#include <attn/ops.h>

#include <cmath>

namespace attn {

namespace {
constexpr const char* kTorchSuffix = "_l0";
}

GruCell::GruCell(const GruConfig& cfg, std::string name) : Module(std::move(name)), cfg_(cfg) {
  ATTN_CHECK(cfg.input > 0 && cfg.hidden > 0, ConfigError, "{}: input ({}) and hidden ({}) must be positive", label(),
             cfg.input, cfg.hidden);
  weight_ih_ = Tensor::zeros({3 * cfg.hidden, cfg.input});
  weight_hh_ = Tensor::zeros({3 * cfg.hidden, cfg.hidden});
  register_parameter("weight_ih", weight_ih_);
  register_parameter("weight_hh", weight_hh_);
  if (cfg.bias) {
    bias_ih_ = Tensor::zeros({3 * cfg.hidden});
    bias_hh_ = Tensor::zeros({3 * cfg.hidden});
    register_parameter("bias_ih", bias_ih_);
    register_parameter("bias_hh", bias_hh_);
  }
}

// torch's default: every parameter U(-1/sqrt(H), 1/sqrt(H)).
void GruCell::reset_parameters(Rng& rng) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(cfg_.hidden));
  rng.uniform_(weight_ih_, -bound, bound);
  rng.uniform_(weight_hh_, -bound, bound);
  if (cfg_.bias) {
    rng.uniform_(bias_ih_, -bound, bound);
    rng.uniform_(bias_hh_, -bound, bound);
  }
}

Tensor GruCell::project_input(const Tensor& x) const {
  ATTN_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == cfg_.input, ShapeError, "{}: input {} must be [...,{}]",
             label(), x.defined() ? x.str() : "undefined", cfg_.input);
  return linear(x, weight_ih_, bias_ih_);
}

Tensor GruCell::step(const Tensor& gi, const Tensor& h_in) const {
  const int64_t H = cfg_.hidden, B = gi.size(0);
  const Tensor h = h_in.defined() ? h_in : Tensor::zeros({B, H});
  ATTN_CHECK(h.dim() == 2 && h.size(0) == B && h.size(1) == H, ShapeError, "{}: hidden state {} must be [{},{}]",
             label(), h.str(), B, H);
  const Tensor gh = linear(h, weight_hh_, bias_hh_);  // [B,3H]
  const Tensor r = sigmoid(add(gi.narrow(1, 0, H), gh.narrow(1, 0, H)));
  const Tensor z = sigmoid(add(gi.narrow(1, H, H), gh.narrow(1, H, H)));
  const Tensor n = tanh(add(gi.narrow(1, 2 * H, H), mul(r, gh.narrow(1, 2 * H, H))));
  return add(n, mul(z, sub(h, n)));  // (1-z)∘n + z∘h
}

Tensor GruCell::forward(const Tensor& x, const Tensor& h) const {
  ATTN_CHECK(x.defined() && x.dim() == 2, ShapeError, "{}: x must be [B,{}], got {}", label(), cfg_.input,
             x.defined() ? x.str() : "undefined");
  return step(project_input(x), h);
}

Gru::Gru(const GruConfig& cfg, std::string name) : Module(std::move(name)), cell_(cfg, child_name("cell")) {
  // torch.nn.GRU names its parameters weight_ih_l0 ... directly on the module: register the cell's
  // tensors under those names instead of as a child.
  for (auto& p : cell_.named_parameters()) register_parameter(p.name + kTorchSuffix, *p.tensor);
}

GruResult Gru::forward(const Tensor& x, const Tensor& h0, const Tensor& lengths) const {
  const GruConfig& cfg = cell_.config();
  ATTN_CHECK(x.defined() && x.dim() == 3 && x.size(2) == cfg.input, ShapeError, "{}: x must be [B,T,{}], got {}",
             label(), cfg.input, x.defined() ? x.str() : "undefined");
  const int64_t B = x.size(0), T = x.size(1), H = cfg.hidden;
  std::vector<int64_t> len(static_cast<size_t>(B), T);
  if (lengths.defined()) {
    ATTN_CHECK(lengths.dim() == 1 && lengths.size(0) == B, ShapeError, "{}: lengths {} must be [{}]", label(),
               lengths.str(), B);
    const std::vector<double> l = lengths.to_vector_f64();
    for (int64_t b = 0; b < B; ++b) {
      ATTN_CHECK(l[b] >= 0 && l[b] <= T, ShapeError, "{}: length {} of item {} is outside [0,{}]", label(), l[b], b, T);
      len[static_cast<size_t>(b)] = static_cast<int64_t>(l[b]);
    }
  }
  const Tensor gi = cell_.project_input(x);  // [B,T,3H], one GEMM for the whole sequence
  Tensor h = h0.defined() ? h0 : Tensor::zeros({B, H});
  std::vector<Tensor> outs;
  for (int64_t t = 0; t < T; ++t) {
    const Tensor h_new = cell_.step(gi.select(1, t), h);
    // Items whose sequence has ended keep their state and emit zeros.
    std::vector<float> alive(static_cast<size_t>(B));
    bool all_alive = true;
    for (int64_t b = 0; b < B; ++b) {
      alive[static_cast<size_t>(b)] = t < len[static_cast<size_t>(b)] ? 1.0f : 0.0f;
      all_alive = all_alive && alive[static_cast<size_t>(b)] != 0.0f;
    }
    if (all_alive) {
      h = h_new;
      outs.push_back(h_new.unsqueeze(1));
    } else {
      const Tensor m = Tensor::from_vector(alive, {B, 1});
      h = where(m, h_new, h);
      outs.push_back(mul(h_new, m).unsqueeze(1));
    }
  }
  return {T > 0 ? concat(outs, 1) : Tensor::zeros({B, 0, H}), h};
}

}  // namespace attn
