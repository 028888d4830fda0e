// fuzz/fuzz_util.h — helpers for the libFuzzer harnesses: the readers take paths, so each input is
// written to one scratch file per process ($ATTN_FUZZ_SCRATCH, else tmpfs when there is one).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace attn_fuzz {

inline const std::string& scratch_path(const char* ext) {
  static const std::string path = [&] {
    // libFuzzer leaves through _Exit, so nothing here can delete the file: scripts/fuzz-smoke.sh
    // points ATTN_FUZZ_SCRATCH at a folder it removes afterwards.
    const char* env = std::getenv("ATTN_FUZZ_SCRATCH");
    const char* dir = env ? env : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/attn-fuzz-" + std::to_string(getpid()) + ext;
  }();
  return path;
}

inline const std::string& write_input(const uint8_t* data, size_t size, const char* ext) {
  const std::string& path = scratch_path(ext);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) __builtin_trap();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace attn_fuzz
