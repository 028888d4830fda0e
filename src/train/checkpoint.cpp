// train/checkpoint.cpp — GPT training checkpoints as one safetensors file:
//   tensors   model.<param> (f32), optim.<state entry> (AdamW moments f32, optim.step i64)
//   metadata  format, config (GptConfig JSON), tokenizer ({"type":"char","vocab":...}),
//             state ({"step", "dropout_rng", "loader_rng"}), options (the run's TrainOptions),
//             checksum (64-bit hash of every tensor's bytes in name order: catches flipped bits that
//             the safetensors structure checks cannot see).
// Written by save_safetensors: temp file beside the target, fsync, rename — never half a file.
#include <attn/safetensors.h>
#include <attn/train.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace attn {

namespace {
constexpr const char* kFormat = "attn.gpt.checkpoint.v1";

// A fast 64-bit hash over bytes (multiply-rotate per 8-byte word; not cryptographic).
uint64_t hash_bytes(uint64_t h, const std::byte* p, size_t n) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ static_cast<uint64_t>(p[i])) * kMul;
  return h ^ n;
}

uint64_t hash_tensors(const std::vector<std::pair<std::string, Tensor>>& sorted) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const auto& [name, t] : sorted) {
    const Tensor c = t.contiguous();
    h = hash_bytes(h, reinterpret_cast<const std::byte*>(name.data()), name.size());
    h = hash_bytes(h, static_cast<const std::byte*>(c.raw_data()), c.nbytes());
  }
  return h;
}

nlohmann::json rng_json(RngState s) { return {{"seed", s.seed}, {"offset", s.offset}}; }

RngState rng_from_json(const nlohmann::json& j, const std::string& path, const char* key) {
  ATTN_CHECK(j.contains(key) && j[key].is_object() && j[key].contains("seed") && j[key]["seed"].is_number_unsigned() &&
                 j[key].contains("offset") && j[key]["offset"].is_number_unsigned(),
             FormatError, "checkpoint {}: metadata state.{} is missing or malformed", path, key);
  return {j[key]["seed"].get<uint64_t>(), j[key]["offset"].get<uint64_t>()};
}

const std::string& meta_field(const SafetensorsFile& f, const char* key) {
  auto it = f.metadata().find(key);
  ATTN_CHECK(it != f.metadata().end(), FormatError, "checkpoint {}: metadata has no '{}' (not an attn GPT checkpoint?)",
             f.path(), key);
  return it->second;
}

nlohmann::json parse_meta_json(const SafetensorsFile& f, const char* key) {
  nlohmann::json j = nlohmann::json::parse(meta_field(f, key), nullptr, false);
  ATTN_CHECK(j.is_object(), FormatError, "checkpoint {}: metadata '{}' is not a JSON object", f.path(), key);
  return j;
}

// Every parameter of a model of this config, with its shape, must be in the file and nothing else.
void check_model_tensors(const std::string& path, const GptConfig& cfg, const std::map<std::string, Tensor>& model) {
  // First the tensors that pin every size of the config, so a tampered config cannot make the
  // reference model below allocate more than the file holds.
  const int64_t F = cfg.d_ff > 0 ? cfg.d_ff : 4 * cfg.d_model;
  const std::string last = "layers." + std::to_string(cfg.n_layers - 1) + ".ffn.up_proj.weight";
  for (const auto& [name, shape] : {std::pair<std::string, Shape>{"wte.weight", {cfg.vocab_size, cfg.d_model}},
                                    {"wpe.weight", {cfg.block_size, cfg.d_model}}, {last, {F, cfg.d_model}}}) {
    auto it = model.find(name);
    ATTN_CHECK(it != model.end() && it->second.shape() == shape, FormatError,
               "checkpoint {}: model.{} is {}, its config ({}) wants {}", path, name,
               it == model.end() ? "missing" : shape_str(it->second.shape()), gpt_config_str(cfg), shape_str(shape));
  }
  ATTN_CHECK(!model.contains("layers." + std::to_string(cfg.n_layers) + ".ffn.up_proj.weight"), FormatError,
             "checkpoint {}: holds more layers than its config's n_layers {}", path, cfg.n_layers);
  Gpt reference(cfg);
  const auto params = reference.unique_parameters();
  for (const auto& p : params) {
    auto it = model.find(p.name);
    ATTN_CHECK(it != model.end(), FormatError, "checkpoint {}: tensor model.{} is missing", path, p.name);
    ATTN_CHECK(it->second.shape() == p.tensor->shape(), FormatError,
               "checkpoint {}: model.{} is {}, its config ({}) wants {}", path, p.name, shape_str(it->second.shape()),
               gpt_config_str(cfg), shape_str(p.tensor->shape()));
  }
  ATTN_CHECK(model.size() == params.size(), FormatError, "checkpoint {}: {} model tensors, the config has {} parameters",
             path, model.size(), params.size());
}
}  // namespace

std::string checkpoint_path(const std::string& dir_or_file) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir_or_file, ec)) return (std::filesystem::path(dir_or_file) / kCheckpointFile).string();
  return dir_or_file;
}

void checkpoint_save(const std::string& path, const CheckpointData& d) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, t] : d.model) tensors.emplace_back("model." + name, t);
  for (const auto& [name, t] : d.optimizer) tensors.emplace_back("optim." + name, t);
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const nlohmann::json tok = {{"type", "char"}, {"vocab", d.vocab}};
  const nlohmann::json state = {
      {"step", d.step}, {"dropout_rng", rng_json(d.dropout_rng)}, {"loader_rng", rng_json(d.loader_rng)}};
  const std::map<std::string, std::string> meta = {{"format", kFormat},
                                                   {"config", gpt_config_to_json(d.config)},
                                                   {"tokenizer", tok.dump()},
                                                   {"state", state.dump()},
                                                   {"options", d.options_json.empty() ? "{}" : d.options_json},
                                                   {"checksum", std::to_string(hash_tensors(tensors))}};
  save_safetensors(path, tensors, meta);
}

CheckpointData checkpoint_load(const std::string& path_in) {
  const std::string path = checkpoint_path(path_in);
  std::error_code ec;
  ATTN_CHECK(std::filesystem::exists(path, ec), IoError, "checkpoint {}: does not exist", path);
  const SafetensorsFile f = SafetensorsFile::open(path);
  ATTN_CHECK(meta_field(f, "format") == kFormat, FormatError, "checkpoint {}: format is '{}', expected '{}'", path,
             meta_field(f, "format"), kFormat);
  CheckpointData d;
  d.config = gpt_config_from_json(meta_field(f, "config"), "checkpoint " + path);
  const nlohmann::json tok = parse_meta_json(f, "tokenizer");
  ATTN_CHECK(tok.value("type", "") == "char" && tok.contains("vocab") && tok["vocab"].is_string(), FormatError,
             "checkpoint {}: metadata 'tokenizer' is not a char tokenizer with a vocab string", path);
  d.vocab = tok["vocab"].get<std::string>();
  const nlohmann::json state = parse_meta_json(f, "state");
  ATTN_CHECK(state.contains("step") && state["step"].is_number_integer() && state["step"].get<int64_t>() >= 0,
             FormatError, "checkpoint {}: metadata state.step is missing or negative", path);
  d.step = state["step"].get<int64_t>();
  d.dropout_rng = rng_from_json(state, path, "dropout_rng");
  d.loader_rng = rng_from_json(state, path, "loader_rng");
  d.options_json = meta_field(f, "options");

  std::vector<std::pair<std::string, Tensor>> sorted;
  for (const SafetensorsEntry& e : f.tensors()) {
    Tensor t = f.tensor(e.name).clone();  // a private copy: the mapping goes away with f
    sorted.emplace_back(e.name, t);
    if (e.name.starts_with("model.")) {
      d.model.emplace(e.name.substr(6), t);
    } else if (e.name.starts_with("optim.")) {
      d.optimizer.emplace(e.name.substr(6), t);
    } else {
      throw FormatError(fmt::format("checkpoint {}: unexpected tensor '{}'", path, e.name));
    }
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  ATTN_CHECK(std::to_string(hash_tensors(sorted)) == meta_field(f, "checksum"), FormatError,
             "checkpoint {}: tensor data does not match its checksum (the file is corrupt)", path);
  ATTN_CHECK(CharTokenizer::from_vocab_string(d.vocab, "checkpoint " + path).vocab_size() == d.config.vocab_size,
             FormatError, "checkpoint {}: the tokenizer has {} characters, the config's vocab_size is {}", path,
             CharTokenizer::from_vocab_string(d.vocab).vocab_size(), d.config.vocab_size);
  check_model_tensors(path, d.config, d.model);
  return d;
}

LoadedGpt load_gpt(const std::string& dir_or_file) {
  const std::string path = checkpoint_path(dir_or_file);
  CheckpointData d = checkpoint_load(path);
  LoadedGpt m{.model = std::make_unique<Gpt>(d.config),
              .tokenizer = CharTokenizer::from_vocab_string(d.vocab, "checkpoint " + path),
              .step = d.step};
  m.model->load_state(d.model);
  m.model->eval();
  m.model->set_requires_grad(false);
  return m;
}

}  // namespace attn
