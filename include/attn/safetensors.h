// attn/safetensors.h — read (memory-mapped), write (atomic) and shard-index safetensors files.
//
//   auto f = attn::SafetensorsFile::open("model.safetensors");   // every rule checked here
//   for (const auto& e : f.tensors()) fmt::print("{} {} {}\n", e.name, e.dtype_name, shape_str(e.shape));
//   attn::Tensor w = f.tensor("encoder.layer.0.attention.self.query.weight");  // borrows the mapping
//   attn::Tensor w32 = f.tensor_f32("embeddings.word_embeddings.weight");      // converted copy/view
//
//   attn::save_safetensors("out.safetensors", {{"w", w}, {"b", b}}, {{"format", "pt"}});
//
//   auto m = attn::SafetensorsShards::open("dir/model.safetensors.index.json");  // or a single file
//   attn::Tensor t = m.tensor("model.layers.0.mlp.down_proj.weight");
//
// Reading trusts no byte: header length <= 100 MB and inside the file, JSON object, known dtypes,
// shapes non-negative, dtype size x shape product (overflow-checked) equal to the byte range, ranges
// in bounds, sorted by offset they are contiguous, non-overlapping and cover the data exactly, names
// unique and valid UTF-8, `__metadata__` a map of strings. Violations throw FormatError naming the
// file, the field and the bad value; open/read failures throw IoError.
#pragma once

#include <attn/tensor.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attn {

// Every dtype the safetensors format names. Only kF32/kBF16/kF16/kI32/kI64 map onto attn DTypes
// without conversion; tensor_f32() converts all float and integer types (not kBool) to f32.
enum class StDType : uint8_t {
  kBool, kU8, kI8, kF8E5M2, kF8E4M3, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64
};
// "F32", "BF16", ... as spelled in the header.
std::string_view st_dtype_name(StDType t);
size_t st_dtype_size(StDType t);

struct SafetensorsEntry {
  std::string name;
  StDType dtype;
  std::string dtype_name;  // as written in the header ("F32")
  Shape shape;
  uint64_t begin = 0;  // byte range relative to the data section
  uint64_t end = 0;
  uint64_t nbytes() const { return end - begin; }
};

class MappedFile;  // src/io/mapped_file.h

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  uint64_t file_size() const;
  uint64_t header_size() const { return header_size_; }  // the JSON header's length in bytes
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // In byte order (sorted by data offset).
  const std::vector<SafetensorsEntry>& tensors() const { return entries_; }
  bool contains(std::string_view name) const;
  // Throws ValueError naming the file and the tensor when absent.
  const SafetensorsEntry& entry(std::string_view name) const;
  // The tensor's raw little-endian bytes inside the mapping.
  std::span<const std::byte> bytes(std::string_view name) const;
  // The tensor in its own dtype (F32, BF16, F16, I32, I64): borrows the mapping when aligned, else an
  // aligned copy. Other dtypes throw ValueError (use tensor_f32).
  Tensor tensor(std::string_view name) const;
  // The tensor as f32 (a view when already f32 and aligned, otherwise converted).
  Tensor tensor_f32(std::string_view name) const;

 private:
  std::string path_;
  std::shared_ptr<const MappedFile> map_;
  uint64_t header_size_ = 0;
  uint64_t data_start_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Writes tensors (any attn dtype, any layout) and string metadata as one safetensors file: entries
// sorted like the `safetensors` Python package (by dtype, then name), header JSON padded with
// spaces to a multiple of 8, written to a temp file in the same directory, fsync'd, renamed over
// `path`. On failure `path` is untouched and IoError/ValueError is thrown.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// The exact bytes save_safetensors writes (for tests and in-memory use).
std::vector<std::byte> serialize_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                             const std::map<std::string, std::string>& metadata = {});

// A model split over shards by `model.safetensors.index.json` ({"metadata":..., "weight_map":
// {tensor: file}}). Shard file names must be plain names in the index's directory; every tensor of
// the weight map must be in its shard, and no shard tensor may be missing from the map.
class SafetensorsShards {
 public:
  // `path` is an index.json, a single .safetensors file, or a directory holding either.
  static SafetensorsShards open(const std::string& path);

  const std::vector<std::string>& names() const { return names_; }  // sorted
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  bool contains(std::string_view name) const;
  const SafetensorsFile& shard_of(std::string_view name) const;
  Tensor tensor(std::string_view name) const { return shard_of(name).tensor(name); }
  Tensor tensor_f32(std::string_view name) const { return shard_of(name).tensor_f32(name); }

 private:
  std::vector<SafetensorsFile> shards_;
  std::vector<std::string> names_;
  std::map<std::string, size_t, std::less<>> shard_index_;
};

}  // namespace attn
