// tools/attn/generate.cpp — `attn generate`: load a trained GPT checkpoint and stream a
// continuation of --prompt to stdout, token by token, through the KV cache.
#include <attn/generate.h>
#include <attn/train.h>

#include <cstdio>

#include "command.h"

namespace attn::cli {
namespace {

struct GenerateCmdOptions {
  std::string checkpoint;
  std::string prompt = "\n";
  int64_t max_tokens = 200;
  SamplerConfig sampler{.temperature = 0.8f, .top_k = 0, .top_p = 1.0f, .seed = 0};
  bool no_cache = false;
};

void run_generate(const GenerateCmdOptions& o) {
  const LoadedGpt m = load_gpt(o.checkpoint);
  ATTN_CHECK(!o.prompt.empty(), ValueError, "attn generate: --prompt is empty");
  const std::vector<int32_t> prompt = m.tokenizer.encode(o.prompt);
  Sampler sampler(o.sampler);
  std::fputs(o.prompt.c_str(), stdout);
  std::fflush(stdout);
  generate(*m.model, prompt, {.max_tokens = o.max_tokens, .use_cache = !o.no_cache}, sampler,
           [](int32_t, std::string_view piece) {
             std::fwrite(piece.data(), 1, piece.size(), stdout);
             std::fflush(stdout);
             return true;
           },
           [&](int32_t id) { return m.tokenizer.piece(id); });
  std::fputs("\n", stdout);
}

const bool registered = register_command({
    .name = "generate",
    .help = "Stream text from a GPT checkpoint made by `attn train`",
    .setup = [](CLI::App& app) {
      auto o = std::make_shared<GenerateCmdOptions>();
      app.add_option("--checkpoint", o->checkpoint, "checkpoint directory (or its checkpoint.safetensors)")->required();
      app.add_option("--prompt", o->prompt, "text to continue (its characters must be in the training text)");
      app.add_option("--max-tokens", o->max_tokens, "tokens to generate")->capture_default_str();
      app.add_option("--temperature", o->sampler.temperature, "0 = greedy")->capture_default_str();
      app.add_option("--top-k", o->sampler.top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
      app.add_option("--top-p", o->sampler.top_p, "nucleus sampling threshold (1 = off)")->capture_default_str();
      app.add_option("--seed", o->sampler.seed, "sampling seed")->capture_default_str();
      app.add_flag("--no-cache", o->no_cache, "recompute the whole context per token (slow; for checking)");
      app.callback([o] { run_generate(*o); });
    }});

}  // namespace
}  // namespace attn::cli
