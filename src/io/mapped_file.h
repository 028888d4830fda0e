// io/mapped_file.h — a private (copy-on-write) POSIX memory mapping of a whole file.
//
//   auto m = attn::MappedFile::open("model.safetensors");   // IoError when it cannot be opened
//   std::span<const std::byte> all = m->bytes();
//   Tensor t = Tensor::from_blob(ptr, shape, dtype, m);      // the mapping outlives the tensor
//
// Shared through shared_ptr so that tensors borrowing the mapping keep it alive. An empty file maps
// to an empty span (mmap of length 0 is not allowed, so nothing is mapped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace attn {

class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  const std::byte* data() const { return data_; }
  std::span<const std::byte> bytes() const { return {data_, static_cast<size_t>(size_)}; }

 private:
  MappedFile() = default;
  std::string path_;
  const std::byte* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace attn
