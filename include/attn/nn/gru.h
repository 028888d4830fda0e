// attn/nn/gru.h — gated recurrent units (Cho et al. 2014), torch.nn.GRU's formulas and layout.
//
//   Gru enc({.input = 256, .hidden = 512}, "encoder.rnn");
//   enc.init(rng);
//   GruResult r = enc.forward(x, Tensor(), lengths);   // x [B,T,I] -> r.out [B,T,H], r.h [B,H]
//   GruCell cell({.input = 256, .hidden = 512}, "decoder.cell");
//   Tensor h = cell.forward(x_t, h);                     // one step: [B,I], [B,H] -> [B,H]
//
// With r, z, n stacked in that order in weight_ih [3H,I] and weight_hh [3H,H] (torch's layout, so
// its weights load by name):
//   r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn))      h' = (1 - z) ∘ n + z ∘ h
// Built from ops, so it is differentiable through the autograd tape. The input projection of a whole
// sequence is one GEMM; only the hidden projection runs per step.
#pragma once

#include <attn/nn/module.h>

namespace attn {

struct GruConfig {
  int64_t input = 0;   // I
  int64_t hidden = 0;  // H
  bool bias = true;
};

class GruCell : public Module {
 public:
  explicit GruCell(const GruConfig& cfg, std::string name = "");
  // x: [B,I], h: [B,H] (undefined = zeros) -> h' [B,H]
  Tensor forward(const Tensor& x, const Tensor& h) const;
  // The step with the input projection already done: gi = W_i x + b_i, [B,3H].
  Tensor step(const Tensor& gi, const Tensor& h) const;
  // x: [...,I] -> [...,3H]
  Tensor project_input(const Tensor& x) const;
  const GruConfig& config() const { return cfg_; }

 protected:
  void reset_parameters(Rng& rng) override;

 private:
  friend class Gru;  // Gru owns the cell's parameters under torch's names and initialises them
  GruConfig cfg_;
  Tensor weight_ih_, weight_hh_, bias_ih_, bias_hh_;
};

struct GruResult {
  Tensor out;  // [B,T,H]; zeros at t >= lengths[b]
  Tensor h;    // [B,H]: the state after each item's last valid step
};

// One layer over a batch-first sequence. Parameters are named like torch's single-layer GRU
// (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0), so its state_dict loads as is.
class Gru : public Module {
 public:
  explicit Gru(const GruConfig& cfg, std::string name = "");
  // x: [B,T,I]; h0: [B,H] or undefined (zeros); lengths: i32/i64 [B] or undefined (all T).
  GruResult forward(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& lengths = Tensor()) const;
  const GruConfig& config() const { return cell_.config(); }

 protected:
  void reset_parameters(Rng& rng) override { cell_.reset_parameters(rng); }

 private:
  GruCell cell_;
};

}  // namespace attn
