// tools/attn/attention.cpp — `attn attention`: run one multi-head self-attention layer on a
// sentence with deterministic weights, print what each head attends to, and draw every head's
// weights as PNG heatmaps and one self-contained HTML page. The first picture of attn.
#include <attn/attention.h>
#include <attn/autograd.h>
#include <attn/nn/attention.h>
#include <attn/nn/positional.h>
#include <attn/ops.h>
#include <attn/viz.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "command.h"

namespace attn::cli {
namespace {

constexpr const char* kDemoText = "the cat sat on the mat because the cat was tired";

struct AttentionCmdOptions {
  bool demo = false;
  std::string text;
  int64_t heads = 4;
  int64_t dim = 32;
  uint64_t seed = 0;
  bool causal = false;
  std::string out = "out/attention";
};

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

void run_attention(const AttentionCmdOptions& o) {
  ATTN_CHECK(o.demo || !o.text.empty(), ConfigError, "attn attention: give --demo or --text \"some words\"");
  const std::string text = o.text.empty() ? kDemoText : o.text;
  const std::vector<std::string> words = split_words(text);
  const int64_t T = static_cast<int64_t>(words.size());
  ATTN_CHECK(T > 0, ConfigError, "attn attention: --text has no words");
  ATTN_CHECK(o.heads > 0 && o.dim > 0 && o.dim % o.heads == 0, ConfigError,
             "attn attention: --dim ({}) must be a positive multiple of --heads ({})", o.dim, o.heads);

  // Same word -> same id -> same embedding, so repeated words visibly find each other.
  std::map<std::string, int64_t> vocab;
  std::vector<int64_t> ids;
  for (const auto& w : words) ids.push_back(vocab.emplace(w, static_cast<int64_t>(vocab.size())).first->second);
  Rng rng(o.seed);
  Embedding embed({.num = static_cast<int64_t>(vocab.size()), .dim = o.dim}, "embed");
  MultiHeadAttention mha({.d_model = o.dim, .n_heads = o.heads, .causal = o.causal}, "self_attn");
  embed.init(rng);
  mha.init(rng);
  mha.eval();
  NoGradGuard no_grad;  // inference: record no history

  // x: [1,T,C] = token embedding + sinusoidal position (Vaswani et al.)
  const Tensor x = add(embed.forward(Tensor::from_vector_i64(ids, {1, T})), sinusoidal_table(T, o.dim).unsqueeze(0));
  const MhaResult r = mha.forward(x, Tensor(), {.need_weights = true});  // weights [1,H,T,T]

  // The weights came from the flash kernel's log-sum-exp; hold them against the float64 reference.
  const MhaProjections p = mha.project(x, Tensor());
  const AttentionReference ref = attention_reference(p.q, p.k, p.v, {.causal = o.causal});
  const std::vector<float> fast = r.weights.to_vector(), slow = ref.weights.to_vector();
  double max_diff = 0;
  for (size_t i = 0; i < fast.size(); ++i) max_diff = std::max(max_diff, std::fabs(double(fast[i]) - slow[i]));

  fmt::print("attn attention: {} tokens, d_model {}, {} heads of {}, {}, seed {}\n", T, o.dim, o.heads,
             o.dim / o.heads, o.causal ? "causal" : "bidirectional", o.seed);
  fmt::print("max |flash weights - float64 reference| = {:.2e}\n\n", max_diff);
  fmt::print("output [1,{},{}] (first 6 channels):\n", T, o.dim);
  for (int64_t t = 0; t < T; ++t) {
    fmt::print("  {:>10}", words[t]);
    for (int64_t c = 0; c < std::min<int64_t>(6, o.dim); ++c) fmt::print(" {:+.4f}", r.out.get({0, t, c}));
    fmt::print("\n");
  }
  fmt::print("\nstrongest key per query:\n");
  for (int64_t h = 0; h < o.heads; ++h) {
    fmt::print("  head {}:", h);
    for (int64_t t = 0; t < T; ++t) {
      int64_t best = 0;
      for (int64_t s = 1; s < T; ++s)
        if (r.weights.get({0, h, t, s}) > r.weights.get({0, h, t, best})) best = s;
      fmt::print(" {}->{}", words[t], words[best]);
    }
    fmt::print("\n");
  }

  std::filesystem::create_directories(o.out);
  std::vector<AttentionMap> maps;
  for (int64_t h = 0; h < o.heads; ++h) {
    const Tensor w = r.weights.select(0, 0).select(0, h);
    maps.push_back({.layer = 0, .head = h, .weights = w});
    const std::string png = fmt::format("{}/head{}.png", o.out, h);
    write_heatmap_png(png, w, {.row_labels = words, .col_labels = words, .title = fmt::format("head {}", h)});
  }
  const std::string html = o.out + "/attention.html";
  write_attention_html(html, maps, {.row_labels = words, .col_labels = words, .title = "attn: " + text});
  fmt::print("\nwrote {}/head0..{}.png and {}\n", o.out, o.heads - 1, html);
}

const bool registered = register_command({
    .name = "attention",
    .help = "Run a multi-head self-attention layer on a sentence and draw each head's weights",
    .setup =
        [](CLI::App& app) {
          auto o = std::make_shared<AttentionCmdOptions>();
          app.add_flag("--demo", o->demo, "use the built-in sentence");
          app.add_option("--text", o->text, "words to attend over (split on spaces)");
          app.add_option("--heads", o->heads, "number of heads")->capture_default_str();
          app.add_option("--dim", o->dim, "model width (a multiple of --heads)")->capture_default_str();
          app.add_option("--seed", o->seed, "seed of the embedding and projection weights")->capture_default_str();
          app.add_flag("--causal", o->causal, "each token sees only itself and earlier tokens");
          app.add_option("--out", o->out, "directory for head<N>.png and attention.html")->capture_default_str();
          app.callback([o] { run_attention(*o); });
        },
});

}  // namespace
}  // namespace attn::cli
