// tests/tokenizers/tok_test_util.h — reading the corpus and golden files, and locating the real
// models that scripts/fetch-models.sh installs.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace attn::tok_test {

inline std::string golden_dir() { return std::string(ATTN_SOURCE_DIR) + "/tests/golden/tokenizers"; }

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The corpus.txt escape format: \n, \r and \\ inside a line.
inline std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out.push_back(c == 'n' ? '\n' : c == 'r' ? '\r' : c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (const auto& l : read_lines(golden_dir() + "/corpus.txt")) out.push_back(unescape(l));
  return out;
}

inline std::vector<std::vector<int32_t>> golden_ids(const std::string& name) {
  std::vector<std::vector<int32_t>> out;
  for (const auto& l : read_lines(golden_dir() + "/" + name + ".ids")) {
    std::vector<int32_t> ids;
    std::istringstream in(l);
    for (int32_t x; in >> x;) ids.push_back(x);
    out.push_back(std::move(ids));
  }
  return out;
}

inline std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t x : ids) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

// KEY=path lines of $ATTN_MODEL_DIR/paths.env (default ~/.cache/attn/models), written by
// scripts/fetch-models.sh. A missing file or key is a test failure, never a skip.
inline std::string model_path(const std::string& key) {
  const char* dir = std::getenv("ATTN_MODEL_DIR");
  const char* home = std::getenv("HOME");
  const std::string base = dir ? dir : std::string(home ? home : "") + "/.cache/attn/models";
  std::map<std::string, std::string> env;
  for (const auto& l : read_lines(base + "/paths.env")) {
    const auto eq = l.find('=');
    if (eq != std::string::npos) env[l.substr(0, eq)] = l.substr(eq + 1);
  }
  auto it = env.find(key);
  if (it == env.end() || !std::filesystem::exists(it->second)) {
    ADD_FAILURE() << key << " not found in " << base << "/paths.env: run scripts/fetch-models.sh first";
    return {};
  }
  return it->second;
}

}  // namespace attn::tok_test
