// io/atomic_file.h — replace a file atomically: write a temp file beside it, fsync, rename.
//
//   attn::write_file_atomic("ckpt/step-100.safetensors", bytes);
//   attn::write_file_atomic("log.json", [&](attn::AtomicWriter& w) { w.write(a); w.write(b); });
//
// Either the new contents are all there under `path`, or `path` is unchanged (its old contents, or
// absent). The temp file lives in the same directory (rename is atomic only within a filesystem) and
// is removed on failure; the directory is fsync'd after the rename so the new name survives a crash.
// Failures throw IoError naming the path and the OS error.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>

namespace attn {

class AtomicWriter {
 public:
  void write(std::span<const std::byte> bytes);
  void write(const void* data, size_t n) { write({static_cast<const std::byte*>(data), n}); }
  size_t written() const { return written_; }

 private:
  friend void write_file_atomic(const std::string&, const std::function<void(AtomicWriter&)>&);
  AtomicWriter(int fd, std::string tmp_path) : fd_(fd), tmp_path_(std::move(tmp_path)) {}
  int fd_;
  std::string tmp_path_;
  size_t written_ = 0;
};

void write_file_atomic(const std::string& path, const std::function<void(AtomicWriter&)>& fill);
void write_file_atomic(const std::string& path, std::span<const std::byte> bytes);

}  // namespace attn
