// attn/nn/positional.h — positional encodings: sinusoidal, learned, rotary (RoPE), ALiBi slopes.
//
//   Tensor pe = sinusoidal_table(512, 64);                    // [P,C], Vaswani et al. 3.5
//   LearnedPositions pos({.max_positions = 1024, .dim = 768}, "wpe");
//   Tensor x = add(tok.forward(ids), pos.forward(T));         // [B,T,C] + [T,C]
//   RotaryEmbedding rope({.head_dim = 128, .theta = 500000.0, .pairing = RopePairing::kHalf});
//   Tensor qr = rope.forward(q, /*offset=*/cache_len);        // q: [B,H,T,D], positions offset..offset+T-1
//   Tensor slopes = alibi_slopes(12);                         // f32 [H] for AttentionOptions
//
// Definitions (the standard ones; some texts get them wrong):
//   - sinusoidal: PE[p,2i] = sin(p / 10000^(2i/C)), PE[p,2i+1] = cos(p / 10000^(2i/C)); sin and cos
//     columns interleave (they are neither concatenated nor added). It is a table the model adds
//     to the token embeddings; nothing here adds it for you.
//   - RoPE (Su et al.): with inv_freq[j] = theta^(-2j/R), j < R/2 (R = rotary_dim <= D), the pair
//     (x_a, x_b) at position p becomes (x_a cos(p·f_j) - x_b sin(p·f_j), x_b cos(p·f_j) + x_a sin(p·f_j)).
//     kHalf pairs a = j, b = j + R/2 (GPT-NeoX, Hugging Face Llama); kInterleaved pairs a = 2j,
//     b = 2j + 1 (GPT-J, RoFormer, Meta's original Llama). Dimensions R..D-1 pass through.
//   - ALiBi (Press et al.): head h of H gets slope 2^(-8(h+1)/H) for H a power of two; otherwise the
//     slopes of the closest lower power of two P, then every other slope of 2P, as in the reference
//     implementation. The attention op adds -slope·|i + offset - j| to the logits.
#pragma once

#include <attn/nn/module.h>

#include <optional>

namespace attn {

// [max_len, dim] f32, computed in float64 then rounded. dim may be odd (the last column is a sin).
Tensor sinusoidal_table(int64_t max_len, int64_t dim, double base = 10000.0);

// f32 [n_heads] geometric slopes, as in the ALiBi reference implementation.
Tensor alibi_slopes(int64_t n_heads);
std::vector<double> alibi_slopes_f64(int64_t n_heads);

// ---- Sinusoidal (fixed table) ----
struct SinusoidalConfig {
  int64_t max_positions = 0;  // P
  int64_t dim = 0;            // C
  double base = 10000.0;
};

class SinusoidalPositions : public Module {
 public:
  explicit SinusoidalPositions(const SinusoidalConfig& cfg, std::string name = "");
  // Rows offset .. offset+T-1 of the table: [T,C] (a view). Throws ValueError past max_positions.
  Tensor forward(int64_t T, int64_t offset = 0) const;
  const Tensor& table() const { return table_; }

 private:
  SinusoidalConfig cfg_;
  Tensor table_;  // [P,C]; not a parameter
};

// ---- Learned absolute positions (GPT-2, BERT): an Embedding over positions ----
struct LearnedPositionsConfig {
  int64_t max_positions = 0;  // P
  int64_t dim = 0;            // C
  float init_std = 0.02f;
};

class LearnedPositions : public Module {
 public:
  explicit LearnedPositions(const LearnedPositionsConfig& cfg, std::string name = "");
  // Rows offset .. offset+T-1: [T,C] (a view). Throws ValueError past max_positions.
  Tensor forward(int64_t T, int64_t offset = 0) const;
  // positions: i32/i64 [...] -> [...,C]
  Tensor forward_ids(const Tensor& positions) const;

 protected:
  void reset_parameters(Rng& rng) override;

 private:
  LearnedPositionsConfig cfg_;
  Tensor weight_;  // [P,C]
};

// ---- Rotary ----
enum class RopePairing { kHalf, kInterleaved };

struct RopeConfig {
  int64_t head_dim = 0;        // D
  int64_t rotary_dim = 0;      // R: leading dims rotated (0 = D); even
  double theta = 10000.0;      // base of the frequencies
  RopePairing pairing = RopePairing::kHalf;
  int64_t max_positions = 4096;  // the cos/sin table is precomputed for [0, max_positions)
};

class RotaryEmbedding : public Module {
 public:
  explicit RotaryEmbedding(const RopeConfig& cfg, std::string name = "");
  // x: [B,H,T,D] (or any [...,T,D]); token t sits at position offset + t.
  Tensor forward(const Tensor& x, int64_t offset = 0) const;
  // positions: i32/i64 [T] or [B,T] (per-sequence positions, e.g. left-padded batches); x: [B,H,T,D].
  Tensor forward_ids(const Tensor& x, const Tensor& positions) const;
  const RopeConfig& config() const { return cfg_; }
  // [max_positions, R/2] tables (f32, computed in float64).
  const Tensor& cos_table() const { return cos_; }
  const Tensor& sin_table() const { return sin_; }

 private:
  // cos, sin broadcastable to [...,T,R/2].
  Tensor rotate(const Tensor& x, const Tensor& cos, const Tensor& sin) const;

  RopeConfig cfg_;
  Tensor cos_, sin_;
};

}  // namespace attn
