// attn/generate.h — text generation from a const model: samplers and the streaming loop over a
// KV cache (attn/model.h).
//
//   LoadedGpt m = load_gpt("out/demo");                           // attn/train.h
//   Sampler sampler({.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 7});
//   std::vector<int32_t> prompt = m.tokenizer.encode("ROMEO:");
//   generate(*m.model, prompt, {.max_tokens = 200}, sampler,
//            [&](int32_t id, std::string_view piece) { fmt::print("{}", piece); return true; },
//            [&](int32_t id) { return m.tokenizer.piece(id); });
//
// Sampling (in this order, on float64 copies of the last position's logits): temperature 0 means
// greedy (argmax, lowest id on ties); else logits / temperature; top_k > 0 keeps the k largest
// (ties at the border by lower id); top_p < 1 keeps the smallest set of most probable tokens whose
// probability reaches top_p (always at least one); then one draw from a seeded Philox stream, so a
// seed gives the same text on every machine and thread count.
//
// With use_cache each new token runs the model on one position (O(T) attention); without, the
// whole context is recomputed each step (the reference the cached path is tested against). The
// context is the last block_size tokens: when it is full the cached path re-fills the cache with the
// last block_size / 2 tokens (so past block_size the two paths differ by design).
#pragma once

#include <attn/model.h>
#include <attn/rng.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

struct SamplerConfig {
  float temperature = 1.0f;  // 0 = greedy
  int64_t top_k = 0;         // 0 = off
  float top_p = 1.0f;        // 1 = off; in (0, 1]
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& cfg);  // ValueError on a negative temperature, top_p outside (0,1]
  // logits: V floats of one position -> a token id in [0, V).
  int32_t sample(std::span<const float> logits);
  const SamplerConfig& config() const { return cfg_; }

 private:
  SamplerConfig cfg_;
  Rng rng_;
};

// Returns false to stop generation.
using TokenCallback = std::function<bool(int32_t id, std::string_view piece)>;
// The text of one id (a tokenizer's piece); may be null (pieces are then empty).
using PieceFn = std::function<std::string(int32_t id)>;

struct GenerateOptions {
  int64_t max_tokens = 100;
  bool use_cache = true;
  std::vector<int32_t> stop_ids;  // generation ends after emitting one of these
};

// Generates up to max_tokens ids after `prompt` (non-empty), calling on_token for each as it is
// chosen; returns the new ids. The model must be in eval mode.
std::vector<int32_t> generate(const Gpt& model, std::span<const int32_t> prompt, const GenerateOptions& options,
                              Sampler& sampler, const TokenCallback& on_token = nullptr,
                              const PieceFn& piece = nullptr);

}  // namespace attn
