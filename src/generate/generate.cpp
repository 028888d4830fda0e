// generate/generate.cpp — the generation loop: prefill the prompt, then one position per token
// through the KV cache (or the whole context each step without it), sample, stream.
#include <attn/autograd.h>
#include <attn/generate.h>

namespace attn {

namespace {
// The last position's logits of a [1,T,V] result.
std::vector<float> last_row(const Tensor& logits) {
  const Tensor row = logits.select(1, logits.size(1) - 1).contiguous();  // [1,V]
  const float* p = row.data<float>();
  return {p, p + row.numel()};
}

Tensor ids_tensor(std::span<const int32_t> ids) {
  return Tensor::from_vector_i32(std::vector<int32_t>(ids.begin(), ids.end()), {1, static_cast<int64_t>(ids.size())});
}

// Next-token logits for `ctx` with the cache holding a prefix of it (or nothing).
std::vector<float> step_cached(const Gpt& model, const std::vector<int32_t>& ctx, KvCache& cache, bool first) {
  const auto P = model.config().block_size;
  const auto n = static_cast<int64_t>(ctx.size());
  std::span<const int32_t> feed;
  if (first || cache.length() >= cache.capacity()) {
    // Prefill, or the cache is full: restart from the last block (prefill) or half block (slide).
    const int64_t keep = std::min(n, first ? P : std::max<int64_t>(P / 2, 1));
    cache.clear();
    feed = std::span(ctx).subspan(static_cast<size_t>(n - keep));
  } else {
    feed = std::span(ctx).subspan(static_cast<size_t>(n - 1));
  }
  return last_row(model.forward(ids_tensor(feed), &cache));
}

std::vector<float> step_uncached(const Gpt& model, const std::vector<int32_t>& ctx) {
  const auto n = static_cast<int64_t>(ctx.size());
  const int64_t keep = std::min(n, model.config().block_size);
  return last_row(model.forward(ids_tensor(std::span(ctx).subspan(static_cast<size_t>(n - keep)))));
}
}  // namespace

std::vector<int32_t> generate(const Gpt& model, std::span<const int32_t> prompt, const GenerateOptions& options,
                              Sampler& sampler, const TokenCallback& on_token, const PieceFn& piece) {
  ATTN_CHECK(!prompt.empty(), ValueError, "generate: the prompt is empty (give at least one token)");
  ATTN_CHECK(options.max_tokens >= 0, ValueError, "generate: max_tokens must be >= 0, got {}", options.max_tokens);
  ATTN_CHECK(!model.training() || model.config().dropout == 0.0f, ConfigError,
             "generate: the model is in training mode; call eval() first");
  const int64_t V = model.config().vocab_size;
  for (int32_t id : prompt)
    ATTN_CHECK(id >= 0 && id < V, ValueError, "generate: prompt token {} is outside the vocabulary [0, {})", id, V);
  NoGradGuard no_grad;
  std::vector<int32_t> ctx(prompt.begin(), prompt.end()), out;
  std::unique_ptr<KvCache> cache;
  if (options.use_cache) cache = std::make_unique<KvCache>(model.config(), 1);
  for (int64_t i = 0; i < options.max_tokens; ++i) {
    const std::vector<float> logits = cache ? step_cached(model, ctx, *cache, i == 0) : step_uncached(model, ctx);
    const int32_t id = sampler.sample(logits);
    ctx.push_back(id);
    out.push_back(id);
    if (on_token) {
      const std::string text = piece ? piece(id) : std::string();
      if (!on_token(id, text)) break;
    }
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end()) break;
  }
  return out;
}

}  // namespace attn
