// tests/io/io_test_util.h — helpers shared by the io tests: temp directories, file bytes, an
// allocation counter (operator new is replaced in alloc_counter.cpp) and the real-model paths.
#pragma once

#include <attn/error.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace io_test {

std::string golden(const std::string& name);  // tests/golden/io/<name>
std::filesystem::path temp_dir(const std::string& tag);
std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Counts the bytes requested through operator new while alive (not thread-safe; one at a time).
class AllocCounter {
 public:
  AllocCounter();
  ~AllocCounter();
  uint64_t bytes() const;
};

// Reads $ATTN_MODEL_DIR/paths.env (default ~/.cache/attn/models) and returns the value of `key`,
// or "" when the file or the key is missing.
std::string real_model_path(const std::string& key);

}  // namespace io_test

// Fails (never skips) a *RealModel* test when the real files are not there.
#define REQUIRE_REAL_MODEL_FILE(var, key)                                                                 \
  const std::string var = io_test::real_model_path(key);                                                  \
  if (var.empty() || !std::filesystem::exists(var))                                                       \
    FAIL() << "real model file " << key << " is missing: run scripts/fetch-models.sh (ATTN_MODEL_DIR="    \
           << (std::getenv("ATTN_MODEL_DIR") ? std::getenv("ATTN_MODEL_DIR") : "~/.cache/attn/models") \
           << ")";
