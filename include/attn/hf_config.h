// attn/hf_config.h — a Hugging Face config.json read into plain config structs, for the architectures
// attn runs: BERT, Llama (SmolLM2), GPT-2 and the Marian / T5 / BART encoder-decoders.
//
//   attn::HfConfig c = attn::hf_config_load("models/all-MiniLM-L6-v2");   // dir or config.json
//   if (auto* bert = std::get_if<attn::HfBertConfig>(&c.config)) {
//     fmt::print("{} layers, {} heads of {}\n", bert->n_layers, bert->n_heads, bert->hidden_size / bert->n_heads);
//   }
//   auto tiny = attn::HfLlamaConfig{.vocab_size = 256, .hidden_size = 64, .n_layers = 2, .n_heads = 4};
//
// Strict: a field that attn does not know for that model_type, a value of the wrong type or range, or
// fields that contradict each other (hidden_size not divisible by the heads, more KV heads than
// heads, rope_scaling that attn does not implement, ...) throws ConfigError naming the field and its
// value. Fields that change nothing at inference (dropout rates, initializer_range, architectures,
// transformers_version, label maps, ...) are accepted and listed in HfConfig::ignored. These structs
// are the io layer's view of the file; the models layer maps them onto its own configs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace attn {

enum class HfActivation { kGelu, kGeluTanh, kRelu, kSilu };
std::string_view hf_activation_name(HfActivation a);  // "gelu", "gelu_tanh", "relu", "silu"

struct HfBertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t n_layers = 12;
  int64_t n_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  HfActivation activation = HfActivation::kGelu;
  int64_t pad_token_id = 0;
  bool operator==(const HfBertConfig&) const = default;
};

struct HfLlamaConfig {
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t n_layers = 32;
  int64_t n_heads = 32;
  int64_t n_kv_heads = 0;  // 0: same as n_heads
  int64_t head_dim = 0;    // 0: hidden_size / n_heads
  int64_t max_position = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  HfActivation activation = HfActivation::kSilu;
  // RoPE pairing: false = the half split of Hugging Face's Llama (dims j and j + D/2), true = adjacent
  // pairs (2j, 2j+1). SmolLM2's config states it ("rope_interleaved": false).
  bool rope_interleaved = false;
  bool operator==(const HfLlamaConfig&) const = default;
};

struct HfGpt2Config {
  int64_t vocab_size = 50257;
  int64_t n_positions = 1024;
  int64_t n_embd = 768;
  int64_t n_layer = 12;
  int64_t n_head = 12;
  int64_t n_inner = 0;  // 0: 4 * n_embd
  double layer_norm_epsilon = 1e-5;
  HfActivation activation = HfActivation::kGeluTanh;  // "gelu_new"
  int64_t bos_token_id = 50256;
  int64_t eos_token_id = 50256;
  bool tie_word_embeddings = true;
  bool operator==(const HfGpt2Config&) const = default;
};

// Marian and BART (learned or sinusoidal positions, LayerNorm) and T5 (relative position buckets,
// RMS norm, no biases) share this struct; `family` says which.
struct HfEncoderDecoderConfig {
  enum class Family { kMarian, kBart, kT5 };
  Family family = Family::kMarian;
  int64_t vocab_size = 0;
  int64_t d_model = 512;
  int64_t encoder_layers = 6, decoder_layers = 6;
  int64_t encoder_heads = 8, decoder_heads = 8;
  int64_t encoder_ffn_dim = 2048, decoder_ffn_dim = 2048;
  int64_t d_kv = 0;                 // T5: per-head size (0: d_model / heads)
  int64_t max_position = 512;       // Marian/BART; 0 for T5
  HfActivation activation = HfActivation::kSilu;
  bool scale_embedding = false;     // multiply embeddings by sqrt(d_model)
  bool static_position_embeddings = false;  // Marian: sinusoidal
  bool normalize_before = false;    // pre-norm (T5 always)
  int64_t relative_attention_num_buckets = 0, relative_attention_max_distance = 0;  // T5
  double layer_norm_eps = 1e-5;
  int64_t pad_token_id = 0, eos_token_id = 1, decoder_start_token_id = 0;
  bool tie_word_embeddings = true;
  bool operator==(const HfEncoderDecoderConfig&) const = default;
};

struct HfConfig {
  std::string model_type;  // as in the file: "bert", "llama", "gpt2", "marian", "bart", "t5"
  std::variant<HfBertConfig, HfLlamaConfig, HfGpt2Config, HfEncoderDecoderConfig> config;
  std::vector<std::string> ignored;  // accepted fields that attn does not use
};

// `name` is used in error messages (usually the path).
HfConfig hf_config_parse(std::string_view json, const std::string& name = "config.json");
// A config.json, or a directory holding one.
HfConfig hf_config_load(const std::string& path);

}  // namespace attn
