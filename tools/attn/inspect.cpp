// tools/attn/inspect.cpp — `attn inspect FILE [--json] [--max-tensors N]`: a safetensors or GGUF
// file's metadata, tensor table (name, dtype, shape, bytes) and totals; for GGUF the architecture
// and tokenizer keys first (long arrays summarised). The format is chosen by the magic bytes.
#include <attn/gguf.h>
#include <attn/safetensors.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>

#include "command.h"

namespace attn::cli {
namespace {

struct InspectOptions {
  std::string path;
  bool json = false;
  size_t max_tensors = 0;  // 0: all
  size_t max_items = 8;    // array elements shown in summaries
};

struct Row {
  std::string name, dtype;
  Shape shape;
  uint64_t bytes = 0;
  uint64_t numel = 0;
};

bool is_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ATTN_CHECK(in.good(), IoError, "{}: cannot open", path);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::string_view(magic, 4) == "GGUF";
}

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", b / double(1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.2f} MiB", b / double(1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.2f} KiB", b / double(1ull << 10));
  return fmt::format("{} B", b);
}

void print_table(const std::vector<Row>& rows, const InspectOptions& o) {
  size_t w = 4;
  for (const auto& r : rows) w = std::max(w, r.name.size());
  fmt::print("tensors:\n  {:<{}}  {:<7}  {:<22}  {:>12}\n", "name", w, "dtype", "shape", "bytes");
  uint64_t bytes = 0, numel = 0;
  std::map<std::string, size_t> by_dtype;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    bytes += r.bytes;
    numel += r.numel;
    ++by_dtype[r.dtype];
    if (o.max_tensors == 0 || i < o.max_tensors)
      fmt::print("  {:<{}}  {:<7}  {:<22}  {:>12}\n", r.name, w, r.dtype, shape_str(r.shape), r.bytes);
  }
  if (o.max_tensors != 0 && rows.size() > o.max_tensors) fmt::print("  ... {} more\n", rows.size() - o.max_tensors);
  std::string types;
  for (const auto& [t, n] : by_dtype) types += fmt::format("{}{} {}", types.empty() ? "" : ", ", n, t);
  fmt::print("total: {} tensors ({}), {} elements, {} bytes ({})\n", rows.size(), types, numel, bytes, human_bytes(bytes));
}

nlohmann::json rows_json(const std::vector<Row>& rows) {
  nlohmann::json a = nlohmann::json::array();
  uint64_t bytes = 0, numel = 0;
  for (const auto& r : rows) {
    a.push_back({{"name", r.name}, {"dtype", r.dtype}, {"shape", r.shape}, {"bytes", r.bytes}});
    bytes += r.bytes;
    numel += r.numel;
  }
  return {{"tensors", a}, {"total", {{"tensors", rows.size()}, {"elements", numel}, {"bytes", bytes}}}};
}

void inspect_safetensors(const InspectOptions& o) {
  auto f = SafetensorsFile::open(o.path);
  std::vector<Row> rows;
  for (const auto& e : f.tensors())
    rows.push_back({e.name, e.dtype_name, e.shape, e.nbytes(), e.nbytes() / st_dtype_size(e.dtype)});
  if (o.json) {
    nlohmann::json j = rows_json(rows);
    j["format"] = "safetensors";
    j["file"] = o.path;
    j["file_bytes"] = f.file_size();
    j["metadata"] = f.metadata();
    fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  fmt::print("file: {}\nformat: safetensors, {} bytes, header {} bytes\n", o.path, f.file_size(), f.header_size());
  fmt::print("metadata:{}\n", f.metadata().empty() ? " (none)" : "");
  for (const auto& [k, v] : f.metadata()) fmt::print("  {} = {}\n", k, v);
  print_table(rows, o);
}

// GGUF keys in three groups: architecture (general.* and <arch>.*), tokenizer.*, everything else.
int gguf_group(const std::string& key, const std::string& arch) {
  if (key.starts_with("tokenizer.")) return 1;
  if (key.starts_with("general.") || (!arch.empty() && key.starts_with(arch + "."))) return 0;
  return 2;
}

nlohmann::json gguf_value_json(const GgufValue& v, size_t max_items) {
  switch (v.type) {
    case GgufType::kString: return v.s;
    case GgufType::kBool: return v.u != 0;
    case GgufType::kF32: case GgufType::kF64: return v.f;
    case GgufType::kArray: return v.summary(max_items);
    default: return v.is_integer() && (v.type == GgufType::kI8 || v.type == GgufType::kI16 || v.type == GgufType::kI32 ||
                                       v.type == GgufType::kI64) ? nlohmann::json(v.i) : nlohmann::json(v.u);
  }
}

void inspect_gguf(const InspectOptions& o) {
  auto g = GgufFile::open(o.path);
  const std::string arch = g.get_string_or("general.architecture", "");
  std::vector<Row> rows;
  for (const auto& t : g.tensors())
    rows.push_back({t.name, std::string(ggml_type_name(t.type)), t.shape, t.nbytes, t.numel});
  if (o.json) {
    nlohmann::json j = rows_json(rows);
    j["format"] = "gguf";
    j["file"] = o.path;
    j["version"] = g.version();
    j["alignment"] = g.alignment();
    j["data_offset"] = g.data_offset();
    j["file_bytes"] = g.file_size();
    const char* groups[] = {"architecture", "tokenizer", "metadata"};
    for (const char* grp : groups) j[grp] = nlohmann::json::object();
    for (const auto& kv : g.metadata()) j[groups[gguf_group(kv.key, arch)]][kv.key] = gguf_value_json(kv.value, o.max_items);
    fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  fmt::print("file: {}\nformat: GGUF v{}, {} bytes, alignment {}, data at offset {}\n", o.path, g.version(), g.file_size(),
             g.alignment(), g.data_offset());
  const char* titles[] = {"architecture", "tokenizer", "other metadata"};
  for (int grp = 0; grp < 3; ++grp) {
    bool any = false;
    for (const auto& kv : g.metadata()) {
      if (gguf_group(kv.key, arch) != grp) continue;
      if (!any) fmt::print("{}:\n", titles[grp]);
      any = true;
      fmt::print("  {} ({}) = {}\n", kv.key, gguf_type_name(kv.value.type), kv.value.summary(o.max_items));
    }
  }
  print_table(rows, o);
}

const bool registered = register_command({
    .name = "inspect",
    .help = "Print a safetensors or GGUF file's metadata and tensor table",
    .setup = [](CLI::App& app) {
      auto opts = std::make_shared<InspectOptions>();
      app.add_option("file", opts->path, "safetensors or GGUF file")->required();
      app.add_flag("--json", opts->json, "print JSON for machines");
      app.add_option("--max-tensors", opts->max_tensors, "show at most N tensor rows (0: all)");
      app.add_option("--max-items", opts->max_items, "array elements shown in metadata summaries");
      app.callback([opts] { is_gguf(opts->path) ? inspect_gguf(*opts) : inspect_safetensors(*opts); });
    }});

}  // namespace
}  // namespace attn::cli
