// attn/gguf.h — read GGUF files (v2 and v3): metadata, tensor infos, tensors dequantised to f32.
//
//   auto g = attn::GgufFile::open("smollm2-135m-instruct.q4_1.gguf");     // every rule checked here
//   std::string arch = g.get_string("general.architecture");              // "llama"
//   int64_t n_ctx = g.get_int("llama.context_length");                     // any integer type
//   const auto& tokens = g.get_strings("tokenizer.ggml.tokens");           // array of strings
//   std::vector<float> scores = g.get_array("tokenizer.ggml.scores").to_f32();
//   int64_t bos = g.get_int_or("tokenizer.ggml.bos_token_id", -1);
//   for (const auto& t : g.tensors()) fmt::print("{} {} {}\n", t.name, ggml_type_name(t.type), shape_str(t.shape));
//   attn::Tensor w = g.tensor_f32("blk.0.attn_q.weight");                  // [ne1, ne0] row-major
//
// Nothing in the file is trusted: every count, string length, array length, dimension and size
// product is overflow-checked and bounded by the bytes left in the file before anything is allocated
// or read (the bug classes of llama.cpp's CVE-2024-21802 and its successors). Violations throw
// FormatError naming the file, the field and the bad value; open/read failures throw IoError.
#pragma once

#include <attn/tensor.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

// Metadata value types, numbered as in the file.
enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12
};
std::string_view gguf_type_name(GgufType t);  // "u32", "string", "array", ...

// Tensor element types (ggml_type numbering). Values not named here may still be known to
// ggml_type_known() (sizes only); dequantisation covers the named ones.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15, kBF16 = 30
};
bool ggml_type_known(GgmlType t);
std::string_view ggml_type_name(GgmlType t);  // "q4_K"; "type(77)" when unknown
uint64_t ggml_block_size(GgmlType t);         // elements per block (1 for plain types)
uint64_t ggml_type_size(GgmlType t);          // bytes per block
bool ggml_can_dequantize(GgmlType t);         // F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K

// An array value: elements of one type. Numbers and bools are kept packed little-endian as in the
// file (`data`), strings in `strings`, nested arrays in `arrays`.
struct GgufArray {
  GgufType type = GgufType::kU8;
  uint64_t size = 0;
  std::vector<uint8_t> data;
  std::vector<std::string> strings;
  std::vector<GgufArray> arrays;

  // Numeric (and bool) elements converted; ValueError for string or array elements.
  std::vector<int64_t> to_i64() const;
  std::vector<double> to_f64() const;
  std::vector<float> to_f32() const;
};

struct GgufValue {
  GgufType type = GgufType::kU8;
  uint64_t u = 0;     // unsigned integers and bool
  int64_t i = 0;      // signed integers
  double f = 0;       // f32 / f64
  std::string s;      // string
  std::shared_ptr<const GgufArray> array_ptr;  // array (shared: keeps GgufValue small and copyable)

  const GgufArray& array() const;  // the array; ValueError when this value is not one
  bool is_integer() const;
  // A short human form: 42, 1e-05, "llama", [string x 49152: "<|endoftext|>", "<|im_start|>", ...].
  std::string summary(size_t max_items = 8) const;
};

struct GgufKv {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<uint64_t> ne;  // ggml order: ne[0] is the fastest-varying dimension
  Shape shape;               // row-major: ne reversed ([ne1, ne0] for a matrix)
  uint64_t offset = 0;       // relative to the data section
  uint64_t numel = 0;
  uint64_t nbytes = 0;
};

class MappedFile;  // src/io/mapped_file.h

class GgufFile {
 public:
  static GgufFile open(const std::string& path);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section
  uint64_t file_size() const;

  // ---- metadata (file order) ----
  const std::vector<GgufKv>& metadata() const { return kvs_; }
  const GgufValue* find(std::string_view key) const;  // nullptr when absent
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Typed getters: FormatError naming file, key and the actual type when the type does not fit,
  // ValueError when the key is absent.
  const std::string& get_string(std::string_view key) const;
  int64_t get_int(std::string_view key) const;  // any integer type; u64 > INT64_MAX is an error
  double get_float(std::string_view key) const;  // f32/f64 (and integers)
  bool get_bool(std::string_view key) const;
  const GgufArray& get_array(std::string_view key) const;
  const std::vector<std::string>& get_strings(std::string_view key) const;  // array of strings
  std::string get_string_or(std::string_view key, std::string fallback) const;
  int64_t get_int_or(std::string_view key, int64_t fallback) const;
  double get_float_or(std::string_view key, double fallback) const;

  // ---- tensors (file order) ----
  const std::vector<GgufTensorInfo>& tensors() const { return infos_; }
  bool has_tensor(std::string_view name) const;
  const GgufTensorInfo& tensor_info(std::string_view name) const;  // ValueError when absent
  std::span<const std::byte> tensor_bytes(std::string_view name) const;
  // F32/F16/BF16 tensors in their own dtype, borrowing the mapping when aligned.
  Tensor tensor(std::string_view name) const;
  // Any dequantisable type as f32 of `shape` (a view for aligned F32; ValueError for other types).
  Tensor tensor_f32(std::string_view name) const;

 private:
  friend class GgufParser;
  std::string path_;
  std::shared_ptr<const MappedFile> map_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKv> kvs_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<GgufTensorInfo> infos_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// Dequantises `n` elements (a multiple of the block size) of type `t` from `src` into `dst`.
// Fast path; its scalar reference twin lives in src/io/gguf_dequant.h. Never throws for known
// dequantisable types; returns false for others.
bool ggml_dequantize(GgmlType t, const void* src, float* dst, int64_t n);

}  // namespace attn
