// nn/positional.cpp — sinusoidal table, learned positions, RoPE, ALiBi slopes.
//
// The tables (sinusoidal, RoPE cos/sin) are built once, in float64, by the two table functions
// below — the only loops here, run at construction like an init. Applying them is ops only.
#include <attn/nn/positional.h>
#include <attn/ops.h>

#include <cmath>

namespace attn {

Tensor sinusoidal_table(int64_t max_len, int64_t dim, double base) {
  ATTN_CHECK(max_len > 0 && dim > 0, ValueError, "sinusoidal_table: max_len {} and dim {} must be positive",
             max_len, dim);
  Tensor pe = Tensor::empty({max_len, dim});
  float* p = pe.data<float>();
  for (int64_t pos = 0; pos < max_len; ++pos) {
    for (int64_t c = 0; c < dim; c += 2) {
      // PE[pos,2i] = sin(pos / base^(2i/d)), PE[pos,2i+1] = cos(same angle); c = 2i.
      const double angle = static_cast<double>(pos) / std::pow(base, static_cast<double>(c) / dim);
      p[pos * dim + c] = static_cast<float>(std::sin(angle));
      if (c + 1 < dim) p[pos * dim + c + 1] = static_cast<float>(std::cos(angle));
    }
  }
  return pe;
}

// Press et al.'s reference (get_slopes): start = 2^(-8/n) for n a power of two, ratio = start.
std::vector<double> alibi_slopes_f64(int64_t n) {
  ATTN_CHECK(n > 0, ValueError, "alibi_slopes: n_heads must be positive, got {}", n);
  auto power_of_2 = [](int64_t m) {
    std::vector<double> s(m);
    const double start = std::pow(2.0, -8.0 / static_cast<double>(m));
    for (int64_t i = 0; i < m; ++i) s[i] = std::pow(start, static_cast<double>(i + 1));
    return s;
  };
  if ((n & (n - 1)) == 0) return power_of_2(n);
  int64_t closest = 1;
  while (closest * 2 <= n) closest *= 2;
  std::vector<double> s = power_of_2(closest);
  const std::vector<double> extra = alibi_slopes_f64(2 * closest);
  for (int64_t i = 0; static_cast<int64_t>(s.size()) < n; i += 2) s.push_back(extra[i]);
  return s;
}

Tensor alibi_slopes(int64_t n_heads) {
  const std::vector<double> s = alibi_slopes_f64(n_heads);
  return Tensor::from_vector(std::vector<float>(s.begin(), s.end()), {n_heads});
}

namespace {
void check_range(const Module& m, int64_t T, int64_t offset, int64_t max_positions) {
  ATTN_CHECK(T >= 0 && offset >= 0 && offset + T <= max_positions, ValueError,
             "{}: positions {}..{} exceed max_positions {}", m.label(), offset, offset + T - 1, max_positions);
}
}  // namespace

// ---- Sinusoidal ----
SinusoidalPositions::SinusoidalPositions(const SinusoidalConfig& cfg, std::string name)
    : Module(std::move(name)), cfg_(cfg), table_(sinusoidal_table(cfg.max_positions, cfg.dim, cfg.base)) {}

Tensor SinusoidalPositions::forward(int64_t T, int64_t offset) const {
  check_range(*this, T, offset, cfg_.max_positions);
  return table_.narrow(0, offset, T);
}

// ---- Learned ----
LearnedPositions::LearnedPositions(const LearnedPositionsConfig& cfg, std::string name)
    : Module(std::move(name)), cfg_(cfg) {
  ATTN_CHECK(cfg.max_positions > 0 && cfg.dim > 0, ConfigError, "{}: max_positions {} and dim {} must be positive",
             label(), cfg.max_positions, cfg.dim);
  weight_ = Tensor::zeros({cfg.max_positions, cfg.dim});
  register_parameter("weight", weight_);
}

Tensor LearnedPositions::forward(int64_t T, int64_t offset) const {
  check_range(*this, T, offset, cfg_.max_positions);
  return weight_.narrow(0, offset, T);
}

Tensor LearnedPositions::forward_ids(const Tensor& positions) const { return embedding(positions, weight_); }

void LearnedPositions::reset_parameters(Rng& rng) { rng.normal_(weight_, 0.0f, cfg_.init_std); }

// ---- Rotary ----
RotaryEmbedding::RotaryEmbedding(const RopeConfig& cfg, std::string name) : Module(std::move(name)), cfg_(cfg) {
  if (cfg_.rotary_dim == 0) cfg_.rotary_dim = cfg_.head_dim;
  const int64_t R = cfg_.rotary_dim, P = cfg_.max_positions;
  ATTN_CHECK(cfg_.head_dim > 0 && R > 0 && R % 2 == 0 && R <= cfg_.head_dim, ConfigError,
             "{}: rotary_dim {} must be even and in (0, head_dim {}]", label(), R, cfg_.head_dim);
  ATTN_CHECK(P > 0 && cfg_.theta > 0, ConfigError, "{}: max_positions {} and theta {} must be positive", label(), P,
             cfg_.theta);
  cos_ = Tensor::empty({P, R / 2});
  sin_ = Tensor::empty({P, R / 2});
  float* c = cos_.data<float>();
  float* s = sin_.data<float>();
  for (int64_t j = 0; j < R / 2; ++j) {
    const double inv_freq = std::pow(cfg_.theta, -2.0 * static_cast<double>(j) / static_cast<double>(R));
    for (int64_t p = 0; p < P; ++p) {
      c[p * (R / 2) + j] = static_cast<float>(std::cos(static_cast<double>(p) * inv_freq));
      s[p * (R / 2) + j] = static_cast<float>(std::sin(static_cast<double>(p) * inv_freq));
    }
  }
}

// cos, sin: broadcastable to [...,T,R/2]. Pairs (a, b) -> (a·cos - b·sin, b·cos + a·sin).
Tensor RotaryEmbedding::rotate(const Tensor& x, const Tensor& cos, const Tensor& sin) const {
  const int64_t D = cfg_.head_dim, R = cfg_.rotary_dim;
  ATTN_CHECK(x.dim() >= 2 && x.size(-1) == D, ShapeError, "{}: input {} must be [...,T,{}]", label(),
             tensor_shape_str(x), D);
  const Tensor xr = R == D ? x : x.narrow(-1, 0, R);
  Tensor a, b;
  if (cfg_.pairing == RopePairing::kHalf) {
    a = xr.narrow(-1, 0, R / 2);
    b = xr.narrow(-1, R / 2, R / 2);
  } else {
    Shape pairs = xr.shape();
    pairs.back() = R / 2;
    pairs.push_back(2);
    const Tensor xp = xr.reshape(pairs);  // [...,R/2,2]
    a = xp.select(-1, 0);
    b = xp.select(-1, 1);
  }
  const Tensor ra = sub(mul(a, cos), mul(b, sin));
  const Tensor rb = add(mul(b, cos), mul(a, sin));
  Tensor rotated;
  if (cfg_.pairing == RopePairing::kHalf) {
    rotated = concat({ra, rb}, -1);
  } else {
    rotated = concat({ra.unsqueeze(-1), rb.unsqueeze(-1)}, -1).reshape(xr.shape());
  }
  return R == D ? rotated : concat({rotated, x.narrow(-1, R, D - R)}, -1);
}

Tensor RotaryEmbedding::forward(const Tensor& x, int64_t offset) const {
  ATTN_CHECK(x.defined() && x.dim() >= 2, ShapeError, "{}: input {} must be [...,T,D]", label(), tensor_shape_str(x));
  const int64_t T = x.size(-2);
  check_range(*this, T, offset, cfg_.max_positions);
  return rotate(x, cos_.narrow(0, offset, T), sin_.narrow(0, offset, T));
}

Tensor RotaryEmbedding::forward_ids(const Tensor& x, const Tensor& positions) const {
  ATTN_CHECK(x.defined() && x.dim() == 4, ShapeError, "{}: input {} must be [B,H,T,D]", label(), tensor_shape_str(x));
  ATTN_CHECK(positions.defined() && (positions.dim() == 1 || positions.dim() == 2) &&
                 positions.size(-1) == x.size(2) && (positions.dim() == 1 || positions.size(0) == x.size(0)),
             ShapeError, "{}: positions {} must be [T] or [B,T] for input {}", label(), tensor_shape_str(positions),
             tensor_shape_str(x));
  Tensor cos = embedding(positions, cos_), sin = embedding(positions, sin_);  // [T,R/2] or [B,T,R/2]
  if (positions.dim() == 2) {
    cos = cos.unsqueeze(1);  // [B,1,T,R/2]
    sin = sin.unsqueeze(1);
  }
  return rotate(x, cos, sin);
}

}  // namespace attn
