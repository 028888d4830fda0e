// generate/sampler.cpp — greedy, temperature, top-k and top-p (nucleus) sampling from one row of
// logits, in float64, with a seeded Philox stream.
#include <attn/generate.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attn {

Sampler::Sampler(const SamplerConfig& cfg) : cfg_(cfg), rng_(cfg.seed) {
  ATTN_CHECK(std::isfinite(cfg.temperature) && cfg.temperature >= 0.0f, ValueError,
             "Sampler: temperature must be >= 0 (0 = greedy), got {}", cfg.temperature);
  ATTN_CHECK(cfg.top_k >= 0, ValueError, "Sampler: top_k must be >= 0 (0 = off), got {}", cfg.top_k);
  ATTN_CHECK(cfg.top_p > 0.0f && cfg.top_p <= 1.0f, ValueError, "Sampler: top_p must be in (0, 1], got {}",
             cfg.top_p);
}

int32_t Sampler::sample(std::span<const float> logits) {
  const auto V = static_cast<int64_t>(logits.size());
  ATTN_CHECK(V > 0, ValueError, "Sampler: empty logits");
  if (cfg_.temperature == 0.0f) {  // greedy: first maximum
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  // 1. candidates sorted by logit (descending, lower id first on ties), cut to top_k.
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t keep = cfg_.top_k > 0 ? static_cast<size_t>(std::min(cfg_.top_k, V)) : order.size();
  // 2. softmax of logits / temperature over the candidates (max-subtracted).
  const double inv_t = 1.0 / cfg_.temperature, top = logits[order[0]];
  std::vector<double> p(keep);
  double z = 0;
  for (size_t i = 0; i < keep; ++i) z += p[i] = std::exp((logits[order[i]] - top) * inv_t);
  // 3. nucleus: the shortest prefix whose probability reaches top_p.
  if (cfg_.top_p < 1.0f) {
    double acc = 0;
    size_t n = 0;
    while (n < keep && acc < cfg_.top_p * z) acc += p[n++];
    keep = std::max<size_t>(n, 1);
    z = std::accumulate(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
  }
  // 4. one uniform draw in [0, z) with 53 bits.
  const double u = static_cast<double>(rng_.next_u64() >> 11) * 0x1.0p-53 * z;
  double acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += p[i];
    if (u < acc) return order[i];
  }
  return order[keep - 1];
}

}  // namespace attn
