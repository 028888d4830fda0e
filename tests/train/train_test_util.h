// tests/train/train_test_util.h — temp directories and a small deterministic text for train tests.
#pragma once

#include <attn/rng.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace attn::test {

// A fresh empty directory under the system temp dir, named after the test.
inline std::filesystem::path fresh_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("attn_train_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

// Text with learnable structure: words from a small list, lines, punctuation.
inline std::string sample_text(int64_t chars, uint64_t seed = 0) {
  static const char* kWords[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away"};
  Rng rng(seed);
  std::string s;
  while (static_cast<int64_t>(s.size()) < chars) {
    s += kWords[rng.randint(0, 11)];
    s += rng.randint(0, 8) == 0 ? ".\n" : " ";
  }
  return s;
}

}  // namespace attn::test
