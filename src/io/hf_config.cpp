// src/io/hf_config.cpp — config.json -> HfBertConfig / HfLlamaConfig / HfGpt2Config /
// HfEncoderDecoderConfig.
//
// Passes: 1. parse (depth-bounded by nlohmann's own limits on a small file; the file size is capped);
// 2. read model_type and hand the object to the family's reader, which takes each field it knows
// (type- and range-checked) and marks it used; 3. every key left over must be in the list of fields
// that do not change inference, else ConfigError names it; 4. cross-field checks.
#include <attn/error.h>
#include <attn/hf_config.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace attn {
namespace {
using json = nlohmann::json;

// Fields that do not change what a loaded model computes at inference.
const std::set<std::string, std::less<>> kIgnored = {
    "_name_or_path", "architectures", "transformers_version", "torch_dtype", "use_cache",
    "gradient_checkpointing", "initializer_range", "initializer_factor", "init_std",
    "attention_probs_dropout_prob", "hidden_dropout_prob", "dropout", "attention_dropout",
    "activation_dropout", "classifier_dropout", "classif_dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop",
    "dropout_rate", "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels",
    "summary_first_dropout", "id2label", "label2id", "num_labels", "output_attentions", "output_hidden_states",
    "return_dict", "use_return_dict", "problem_type", "finetuning_task", "tokenizer_class", "prefix",
    "task_specific_params", "add_cross_attention", "pruned_heads", "chunk_size_feed_forward", "torchscript",
    "bad_words_ids", "max_length", "num_beams", "early_stopping", "length_penalty", "no_repeat_ngram_size",
    "forced_eos_token_id", "forced_bos_token_id", "sep_token_id", "cls_token_id", "unk_token_id",
    "tf_legacy_loss", "use_bfloat16", "encoder_layerdrop", "decoder_layerdrop", "layerdrop",
    "pretraining_tp", "reorder_and_upcast_attn", "scale_attn_by_inverse_layer_idx", "n_ctx",
    "is_encoder_decoder", "num_hidden_layers", "decoder_vocab_size", "share_encoder_decoder_embeddings",
    "classifier_activation", "gradient_checkpointing", "use_sliding_window", "n_special",
    "predict_special_tokens", "feed_forward_proj", "max_new_tokens", "bos_token_id", "eos_token_id",
    "pad_token_id", "dense_act_fn", "is_gated_act", "n_positions"};

class Fields {
 public:
  Fields(const json& root, const std::string& name, std::string type) : root_(root), name_(name), type_(std::move(type)) {}

  [[noreturn]] void fail(std::string_view field, std::string_view what) const {
    const json* v = find(field);
    throw ConfigError(fmt::format("{}: {}: {} (model_type {}){}", name_, field, what, type_,
                                  v ? ", got " + v->dump(-1, ' ', false, json::error_handler_t::replace) : ""));
  }
  const json* find(std::string_view field) const {
    auto it = root_.find(std::string(field));
    return it == root_.end() || it->is_null() ? nullptr : &*it;
  }
  bool has(std::string_view field) const { return find(field) != nullptr; }
  void use(std::string_view field) { used_.insert(std::string(field)); }

  void get(std::string_view f, int64_t& out, int64_t lo = 0, int64_t hi = int64_t(1) << 40) {
    used_.insert(std::string(f));
    const json* v = find(f);
    if (!v) return;
    if (!v->is_number_integer()) fail(f, "expected an integer");
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(hi)) fail(f, fmt::format("outside [{}, {}]", lo, hi));
    out = v->get<int64_t>();
    if (out < lo || out > hi) fail(f, fmt::format("outside [{}, {}]", lo, hi));
  }
  void get(std::string_view f, double& out, double lo = 0, double hi = 1e30) {
    used_.insert(std::string(f));
    const json* v = find(f);
    if (!v) return;
    if (!v->is_number()) fail(f, "expected a number");
    out = v->get<double>();
    if (!(out >= lo && out <= hi)) fail(f, fmt::format("outside [{}, {}]", lo, hi));
  }
  void get(std::string_view f, bool& out) {
    used_.insert(std::string(f));
    const json* v = find(f);
    if (!v) return;
    if (!v->is_boolean()) fail(f, "expected true or false");
    out = v->get<bool>();
  }
  std::string str(std::string_view f, std::string fallback) {
    used_.insert(std::string(f));
    const json* v = find(f);
    if (!v) return fallback;
    if (!v->is_string()) fail(f, "expected a string");
    return v->get<std::string>();
  }
  HfActivation activation(std::string_view f, HfActivation fallback) {
    if (!has(f)) {
      used_.insert(std::string(f));
      return fallback;
    }
    const std::string s = str(f, "");
    if (s == "gelu") return HfActivation::kGelu;
    if (s == "gelu_new" || s == "gelu_pytorch_tanh" || s == "gelu_fast") return HfActivation::kGeluTanh;
    if (s == "relu") return HfActivation::kRelu;
    if (s == "silu" || s == "swish") return HfActivation::kSilu;
    fail(f, "activation not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu)");
  }
  // Pass 3: every key is known or harmless.
  std::vector<std::string> finish() const {
    std::vector<std::string> ignored;
    for (auto it = root_.begin(); it != root_.end(); ++it) {
      if (it.key() == "model_type" || used_.count(it.key())) continue;
      if (!kIgnored.count(it.key())) fail(it.key(), "field not known to attn");
      ignored.push_back(it.key());
    }
    return ignored;
  }

 private:
  const json& root_;
  const std::string& name_;
  std::string type_;
  std::set<std::string, std::less<>> used_;
};

void check(bool ok, Fields& f, std::string_view field, std::string_view what) {
  if (!ok) f.fail(field, what);
}

HfBertConfig read_bert(Fields& f) {
  HfBertConfig c;
  f.get("vocab_size", c.vocab_size, 1);
  f.get("hidden_size", c.hidden_size, 1);
  f.get("num_hidden_layers", c.n_layers, 1);
  f.get("num_attention_heads", c.n_heads, 1);
  f.get("intermediate_size", c.intermediate_size, 1);
  f.get("max_position_embeddings", c.max_position, 1);
  f.get("type_vocab_size", c.type_vocab_size, 0);
  f.get("layer_norm_eps", c.layer_norm_eps, 0, 1);
  f.get("pad_token_id", c.pad_token_id, 0);
  c.activation = f.activation("hidden_act", c.activation);
  if (f.str("position_embedding_type", "absolute") != "absolute") f.fail("position_embedding_type", "only \"absolute\" is supported");
  check(c.hidden_size % c.n_heads == 0, f, "num_attention_heads", fmt::format("does not divide hidden_size {}", c.hidden_size));
  check(c.pad_token_id < c.vocab_size, f, "pad_token_id", fmt::format("not below vocab_size {}", c.vocab_size));
  return c;
}

HfLlamaConfig read_llama(Fields& f) {
  HfLlamaConfig c;
  f.get("vocab_size", c.vocab_size, 1);
  f.get("hidden_size", c.hidden_size, 1);
  f.get("intermediate_size", c.intermediate_size, 1);
  f.get("num_hidden_layers", c.n_layers, 1);
  f.get("num_attention_heads", c.n_heads, 1);
  f.get("num_key_value_heads", c.n_kv_heads, 1);
  f.get("head_dim", c.head_dim, 1);
  f.get("max_position_embeddings", c.max_position, 1);
  f.get("rms_norm_eps", c.rms_norm_eps, 0, 1);
  f.get("rope_theta", c.rope_theta, 1);
  f.get("tie_word_embeddings", c.tie_word_embeddings);
  f.get("attention_bias", c.attention_bias);
  f.get("mlp_bias", c.mlp_bias);
  f.get("bos_token_id", c.bos_token_id, 0);
  f.get("eos_token_id", c.eos_token_id, 0);
  c.activation = f.activation("hidden_act", c.activation);
  f.get("rope_interleaved", c.rope_interleaved);
  bool is_llama = true;  // SmolLM2 (nanotron export) marks its config so
  f.get("is_llama_config", is_llama);
  if (!is_llama) f.fail("is_llama_config", "is false: not a Llama-architecture config");
  if (f.has("rope_scaling")) f.fail("rope_scaling", "RoPE scaling is not supported");
  f.use("rope_scaling");  // null is fine
  if (c.n_kv_heads == 0) c.n_kv_heads = c.n_heads;
  if (c.head_dim == 0) {
    check(c.hidden_size % c.n_heads == 0, f, "num_attention_heads", fmt::format("does not divide hidden_size {}", c.hidden_size));
    c.head_dim = c.hidden_size / c.n_heads;
  }
  check(c.n_kv_heads <= c.n_heads && c.n_heads % c.n_kv_heads == 0, f, "num_key_value_heads",
        fmt::format("must divide num_attention_heads {}", c.n_heads));
  check(c.bos_token_id < c.vocab_size && c.eos_token_id < c.vocab_size, f, "eos_token_id",
        fmt::format("bos/eos ids {}/{} not below vocab_size {}", c.bos_token_id, c.eos_token_id, c.vocab_size));
  return c;
}

HfGpt2Config read_gpt2(Fields& f) {
  HfGpt2Config c;
  f.get("vocab_size", c.vocab_size, 1);
  f.get("n_positions", c.n_positions, 1);
  f.get("n_embd", c.n_embd, 1);
  f.get("n_layer", c.n_layer, 1);
  f.get("n_head", c.n_head, 1);
  f.get("n_inner", c.n_inner, 1);
  f.get("layer_norm_epsilon", c.layer_norm_epsilon, 0, 1);
  f.get("bos_token_id", c.bos_token_id, 0);
  f.get("eos_token_id", c.eos_token_id, 0);
  f.get("tie_word_embeddings", c.tie_word_embeddings);
  c.activation = f.activation("activation_function", c.activation);
  bool scale = true;
  f.get("scale_attn_weights", scale);
  check(scale, f, "scale_attn_weights", "attn always scales attention by 1/sqrt(D)");
  if (c.n_inner == 0) c.n_inner = 4 * c.n_embd;
  check(c.n_embd % c.n_head == 0, f, "n_head", fmt::format("does not divide n_embd {}", c.n_embd));
  int64_t n_ctx = c.n_positions;
  f.get("n_ctx", n_ctx, 1);
  check(n_ctx == c.n_positions, f, "n_ctx", fmt::format("differs from n_positions {}", c.n_positions));
  check(c.bos_token_id < c.vocab_size && c.eos_token_id < c.vocab_size, f, "eos_token_id",
        fmt::format("bos/eos ids {}/{} not below vocab_size {}", c.bos_token_id, c.eos_token_id, c.vocab_size));
  return c;
}

HfEncoderDecoderConfig read_seq2seq(Fields& f, HfEncoderDecoderConfig::Family family) {
  HfEncoderDecoderConfig c;
  c.family = family;
  f.get("vocab_size", c.vocab_size, 1);
  f.get("pad_token_id", c.pad_token_id, 0);
  f.get("eos_token_id", c.eos_token_id, 0);
  f.get("decoder_start_token_id", c.decoder_start_token_id, 0);
  f.get("tie_word_embeddings", c.tie_word_embeddings);
  if (family == HfEncoderDecoderConfig::Family::kT5) {
    f.get("d_model", c.d_model, 1);
    f.get("d_kv", c.d_kv, 1);
    f.get("d_ff", c.encoder_ffn_dim, 1);
    f.get("num_layers", c.encoder_layers, 1);
    c.decoder_layers = c.encoder_layers;
    f.get("num_decoder_layers", c.decoder_layers, 1);
    f.get("num_heads", c.encoder_heads, 1);
    f.get("relative_attention_num_buckets", c.relative_attention_num_buckets, 1);
    f.get("relative_attention_max_distance", c.relative_attention_max_distance, 1);
    f.get("layer_norm_epsilon", c.layer_norm_eps, 0, 1);
    c.decoder_heads = c.encoder_heads;
    c.decoder_ffn_dim = c.encoder_ffn_dim;
    c.max_position = 0;
    c.normalize_before = true;
    c.activation = HfActivation::kRelu;
    const std::string ff = f.str("feed_forward_proj", "relu");
    if (ff == "gated-gelu") c.activation = HfActivation::kGeluTanh;
    else if (ff != "relu") f.fail("feed_forward_proj", "supported: relu, gated-gelu");
    if (c.d_kv == 0) c.d_kv = c.d_model / c.encoder_heads;
    return c;
  }
  f.get("d_model", c.d_model, 1);
  f.get("encoder_layers", c.encoder_layers, 1);
  f.get("decoder_layers", c.decoder_layers, 1);
  f.get("encoder_attention_heads", c.encoder_heads, 1);
  f.get("decoder_attention_heads", c.decoder_heads, 1);
  f.get("encoder_ffn_dim", c.encoder_ffn_dim, 1);
  f.get("decoder_ffn_dim", c.decoder_ffn_dim, 1);
  f.get("max_position_embeddings", c.max_position, 1);
  f.get("scale_embedding", c.scale_embedding);
  f.get("static_position_embeddings", c.static_position_embeddings);
  f.get("normalize_before", c.normalize_before);
  c.static_position_embeddings |= family == HfEncoderDecoderConfig::Family::kMarian;
  c.activation = f.activation("activation_function", HfActivation::kGelu);
  for (auto [heads, name] : {std::pair{c.encoder_heads, "encoder_attention_heads"}, {c.decoder_heads, "decoder_attention_heads"}}) {
    check(c.d_model % heads == 0, f, name, fmt::format("does not divide d_model {}", c.d_model));
  }
  int64_t layers = c.encoder_layers, dec_vocab = c.vocab_size;
  f.get("num_hidden_layers", layers, 1);
  check(layers == c.encoder_layers, f, "num_hidden_layers", fmt::format("differs from encoder_layers {}", c.encoder_layers));
  f.get("decoder_vocab_size", dec_vocab, 1);
  check(dec_vocab == c.vocab_size, f, "decoder_vocab_size", fmt::format("differs from vocab_size {} (separate vocabularies are not supported)", c.vocab_size));
  return c;
}

}  // namespace

std::string_view hf_activation_name(HfActivation a) {
  switch (a) {
    case HfActivation::kGelu: return "gelu";
    case HfActivation::kGeluTanh: return "gelu_tanh";
    case HfActivation::kRelu: return "relu";
    case HfActivation::kSilu: return "silu";
  }
  return "?";
}

HfConfig hf_config_parse(std::string_view text, const std::string& name) {
  ATTN_CHECK(text.size() <= (1u << 24), ConfigError, "{}: file size: {} bytes is too large for a config.json", name, text.size());
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw ConfigError(fmt::format("{}: (root): not valid JSON: {}", name, e.what()));
  }
  ATTN_CHECK(root.is_object(), ConfigError, "{}: (root): expected an object", name);
  auto it = root.find("model_type");
  ATTN_CHECK(it != root.end() && it->is_string(), ConfigError, "{}: model_type: missing or not a string", name);
  HfConfig out;
  out.model_type = it->get<std::string>();
  Fields f(root, name, out.model_type);
  using Family = HfEncoderDecoderConfig::Family;
  const std::string& t = out.model_type;
  if (t == "bert") out.config = read_bert(f);
  else if (t == "llama" || t == "mistral") out.config = read_llama(f);
  else if (t == "gpt2") out.config = read_gpt2(f);
  else if (t == "marian") out.config = read_seq2seq(f, Family::kMarian);
  else if (t == "bart" || t == "mbart") out.config = read_seq2seq(f, Family::kBart);
  else if (t == "t5") out.config = read_seq2seq(f, Family::kT5);
  else f.fail("model_type", "not supported (bert, llama, mistral, gpt2, marian, bart, mbart, t5)");
  out.ignored = f.finish();
  return out;
}

HfConfig hf_config_load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string file = fs::is_directory(path, ec) ? (fs::path(path) / "config.json").string() : path;
  std::ifstream in(file, std::ios::binary);
  ATTN_CHECK(in.good(), IoError, "{}: cannot open for reading", file);
  std::stringstream ss;
  ss << in.rdbuf();
  return hf_config_parse(ss.str(), file);
}

}  // namespace attn
