// models/gpt_config.cpp — GptConfig presets, checks and JSON (checkpoints carry the config).
#include <attn/model.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace attn {

namespace {
struct Preset {
  const char* name;
  GptConfig cfg;
};
const Preset kPresets[] = {
    {"tiny", {.n_layers = 2, .n_heads = 2, .d_model = 32, .block_size = 32}},
    {"small", {.n_layers = 4, .n_heads = 4, .d_model = 128, .block_size = 128}},
    {"nanogpt-cpu", {.n_layers = 4, .n_heads = 4, .d_model = 128, .block_size = 64}},
    {"nanogpt", {.n_layers = 6, .n_heads = 6, .d_model = 384, .block_size = 256, .dropout = 0.2f}},
};

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kRelu: return "relu";
    case Activation::kGelu: return "gelu";
    case Activation::kGeluTanh: return "gelu_tanh";
    case Activation::kSilu: return "silu";
    case Activation::kSwiGlu: return "swiglu";
    case Activation::kGeGlu: return "geglu";
  }
  return "?";
}
}  // namespace

std::vector<std::string> gpt_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

GptConfig gpt_preset(std::string_view name) {
  for (const auto& p : kPresets)
    if (name == p.name) return p.cfg;
  throw ConfigError(fmt::format("unknown GPT config '{}'; known: {}", name, fmt::join(gpt_preset_names(), ", ")));
}

void gpt_config_check(const GptConfig& c) {
  ATTN_CHECK(c.n_layers >= 1, ConfigError, "GptConfig: n_layers must be >= 1, got {}", c.n_layers);
  ATTN_CHECK(c.n_heads >= 1 && c.d_model >= 1 && c.d_model % c.n_heads == 0, ConfigError,
             "GptConfig: d_model {} must be a positive multiple of n_heads {}", c.d_model, c.n_heads);
  ATTN_CHECK(c.block_size >= 1, ConfigError, "GptConfig: block_size must be >= 1, got {}", c.block_size);
  ATTN_CHECK(c.vocab_size >= 1, ConfigError, "GptConfig: vocab_size must be >= 1, got {}", c.vocab_size);
  ATTN_CHECK(c.dropout >= 0.0f && c.dropout < 1.0f, ConfigError, "GptConfig: dropout must be in [0, 1), got {}",
             c.dropout);
  ATTN_CHECK(c.d_ff >= 0, ConfigError, "GptConfig: d_ff must be >= 0 (0 = 4·d_model), got {}", c.d_ff);
  ATTN_CHECK(!activation_is_gated(c.activation), ConfigError, "GptConfig: gated activation {} is not a GPT's",
             activation_name(c.activation));
}

std::string gpt_config_to_json(const GptConfig& c) {
  nlohmann::ordered_json j;
  j["n_layers"] = c.n_layers;
  j["n_heads"] = c.n_heads;
  j["d_model"] = c.d_model;
  j["block_size"] = c.block_size;
  j["vocab_size"] = c.vocab_size;
  j["dropout"] = c.dropout;
  j["d_ff"] = c.d_ff;
  j["bias"] = c.bias;
  j["activation"] = activation_name(c.activation);
  j["norm_eps"] = c.norm_eps;
  j["fused_qkv"] = c.fused_qkv;
  return j.dump();
}

GptConfig gpt_config_from_json(std::string_view text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  ATTN_CHECK(j.is_object(), FormatError, "{}: the model config is not a JSON object", source);
  GptConfig c;
  auto get_int = [&](const char* key, int64_t& out) {
    ATTN_CHECK(j.contains(key) && j[key].is_number_integer(), FormatError,
               "{}: model config field '{}' is missing or not an integer", source, key);
    out = j[key].get<int64_t>();
  };
  auto get_float = [&](const char* key, float& out) {
    ATTN_CHECK(j.contains(key) && j[key].is_number(), FormatError,
               "{}: model config field '{}' is missing or not a number", source, key);
    out = j[key].get<float>();
  };
  get_int("n_layers", c.n_layers);
  get_int("n_heads", c.n_heads);
  get_int("d_model", c.d_model);
  get_int("block_size", c.block_size);
  get_int("vocab_size", c.vocab_size);
  get_int("d_ff", c.d_ff);
  get_float("dropout", c.dropout);
  get_float("norm_eps", c.norm_eps);
  ATTN_CHECK(j.contains("bias") && j["bias"].is_boolean(), FormatError,
             "{}: model config field 'bias' is missing or not a boolean", source);
  c.bias = j["bias"].get<bool>();
  // Absent in checkpoints written before the field existed: those have separate q/k/v projections.
  ATTN_CHECK(!j.contains("fused_qkv") || j["fused_qkv"].is_boolean(), FormatError,
             "{}: model config field 'fused_qkv' is not a boolean", source);
  c.fused_qkv = j.value("fused_qkv", false);
  const std::string act = j.value("activation", std::string("?"));
  bool found = false;
  for (Activation a : {Activation::kRelu, Activation::kGelu, Activation::kGeluTanh, Activation::kSilu})
    if (act == activation_name(a)) c.activation = a, found = true;
  ATTN_CHECK(found, FormatError, "{}: model config field 'activation' is '{}', not one of relu, gelu, gelu_tanh, silu",
             source, act);
  try {
    gpt_config_check(c);
  } catch (const ConfigError& e) {
    throw FormatError(fmt::format("{}: {}", source, e.what()));
  }
  return c;
}

std::string gpt_config_str(const GptConfig& c) {
  return fmt::format("n_layers {}, n_heads {}, d_model {}, block_size {}, vocab_size {}, d_ff {}, dropout {}{}",
                     c.n_layers, c.n_heads, c.d_model, c.block_size, c.vocab_size, c.d_ff, c.dropout,
                     c.fused_qkv ? "" : ", separate q/k/v projections");
}

}  // namespace attn
