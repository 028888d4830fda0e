// io/safetensors_shards.cpp — a model split over several safetensors files by
// `model.safetensors.index.json`: {"metadata": {...}, "weight_map": {"tensor": "shard file"}}.
// Shard names must be plain file names (no '/', no "..") in the index's directory; every mapped
// tensor must be in its shard and every shard tensor must be mapped (to that shard).
#include <attn/safetensors.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/io_util.h"

namespace attn {

using io_detail::format_fail;
namespace fs = std::filesystem;

namespace {

nlohmann::json read_index(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ATTN_CHECK(in.good(), IoError, "{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  ATTN_CHECK(text.size() <= 100'000'000, FormatError, "{}: index is {} bytes, over the 100 MB limit", path, text.size());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    format_fail(path, "index", "invalid JSON at byte {}: {}", e.byte, e.what());
  } catch (const nlohmann::json::exception& e) {
    format_fail(path, "index", "invalid JSON: {}", e.what());
  }
}

}  // namespace

SafetensorsShards SafetensorsShards::open(const std::string& path_in) {
  std::string path = path_in;
  if (fs::is_directory(path)) {
    if (fs::exists(fs::path(path) / "model.safetensors.index.json")) path = (fs::path(path) / "model.safetensors.index.json").string();
    else path = (fs::path(path) / "model.safetensors").string();
  }
  SafetensorsShards s;
  const bool is_index = path.size() >= 5 && path.ends_with(".json");
  if (!is_index) {  // a single file is a one-shard model
    s.shards_.push_back(SafetensorsFile::open(path));
    for (const auto& e : s.shards_[0].tensors()) {
      s.names_.push_back(e.name);
      s.shard_index_.emplace(e.name, 0);
    }
    std::sort(s.names_.begin(), s.names_.end());
    return s;
  }
  const nlohmann::json index = read_index(path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    format_fail(path, "weight_map", "missing or not an object");
  const fs::path dir = fs::path(path).parent_path();
  std::map<std::string, size_t> file_to_shard;
  for (const auto& [name, file_v] : index["weight_map"].items()) {
    if (!file_v.is_string()) format_fail(path, "weight_map." + name, "expected a file name, got {}", file_v.dump());
    const std::string file = file_v.get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos || file == "." || file == "..")
      format_fail(path, "weight_map." + name, "shard '{}' is not a plain file name in the index's directory", file);
    auto [it, added] = file_to_shard.emplace(file, s.shards_.size());
    if (added) s.shards_.push_back(SafetensorsFile::open((dir / file).string()));
    const SafetensorsFile& shard = s.shards_[it->second];
    if (!shard.contains(name))
      format_fail(path, "weight_map." + name, "shard '{}' has no tensor '{}'", file, name);
    s.shard_index_.emplace(name, it->second);
    s.names_.push_back(name);
  }
  // Every tensor of every shard must be mapped to that shard.
  for (size_t i = 0; i < s.shards_.size(); ++i)
    for (const auto& e : s.shards_[i].tensors()) {
      auto it = s.shard_index_.find(e.name);
      if (it == s.shard_index_.end() || it->second != i)
        format_fail(path, "weight_map", "tensor '{}' of shard '{}' is not mapped to that shard", e.name, s.shards_[i].path());
    }
  std::sort(s.names_.begin(), s.names_.end());
  return s;
}

bool SafetensorsShards::contains(std::string_view name) const { return shard_index_.find(name) != shard_index_.end(); }

const SafetensorsFile& SafetensorsShards::shard_of(std::string_view name) const {
  auto it = shard_index_.find(name);
  ATTN_CHECK(it != shard_index_.end(), ValueError, "no tensor named '{}' in the {} shard(s)", name, shards_.size());
  return shards_[it->second];
}

}  // namespace attn
