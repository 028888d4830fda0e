// io/gguf_access.cpp — typed metadata getters and tensor access for GgufFile (parsing is in
// gguf_read.cpp). Type mismatches are FormatErrors (the file disagrees with what the key means);
// absent keys and tensors are ValueErrors (the caller asked for something the file does not have).
#include <attn/gguf.h>

#include "io/io_util.h"
#include "io/mapped_file.h"

namespace attn {

using io_detail::format_fail;

namespace {

const GgufValue& need(const GgufFile& f, std::string_view key) {
  const GgufValue* v = f.find(key);
  ATTN_CHECK(v != nullptr, ValueError, "{}: no metadata key '{}'", f.path(), key);
  return *v;
}

[[noreturn]] void wrong_type(const GgufFile& f, std::string_view key, const GgufValue& v, std::string_view want) {
  format_fail(f.path(), fmt::format("kv '{}'", key), "has type {}, expected {}", gguf_type_name(v.type), want);
}

int64_t as_int(const GgufFile& f, std::string_view key, const GgufValue& v) {
  if (!v.is_integer()) wrong_type(f, key, v, "an integer");
  if (v.type == GgufType::kU8 || v.type == GgufType::kU16 || v.type == GgufType::kU32 || v.type == GgufType::kU64) {
    if (v.u > static_cast<uint64_t>(INT64_MAX)) format_fail(f.path(), fmt::format("kv '{}'", key), "{} exceeds int64", v.u);
    return static_cast<int64_t>(v.u);
  }
  return v.i;
}

}  // namespace

const std::string& GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = need(*this, key);
  if (v.type != GgufType::kString) wrong_type(*this, key, v, "string");
  return v.s;
}

int64_t GgufFile::get_int(std::string_view key) const { return as_int(*this, key, need(*this, key)); }

double GgufFile::get_float(std::string_view key) const {
  const GgufValue& v = need(*this, key);
  if (v.type == GgufType::kF32 || v.type == GgufType::kF64) return v.f;
  return static_cast<double>(as_int(*this, key, v));
}

bool GgufFile::get_bool(std::string_view key) const {
  const GgufValue& v = need(*this, key);
  if (v.type != GgufType::kBool) wrong_type(*this, key, v, "bool");
  return v.u != 0;
}

const GgufArray& GgufFile::get_array(std::string_view key) const {
  const GgufValue& v = need(*this, key);
  if (v.type != GgufType::kArray) wrong_type(*this, key, v, "array");
  return v.array();
}

const std::vector<std::string>& GgufFile::get_strings(std::string_view key) const {
  const GgufArray& a = get_array(key);
  if (a.type != GgufType::kString)
    format_fail(path_, fmt::format("kv '{}'", key), "is an array of {}, expected an array of string", gguf_type_name(a.type));
  return a.strings;
}

std::string GgufFile::get_string_or(std::string_view key, std::string fallback) const {
  return contains(key) ? get_string(key) : std::move(fallback);
}
int64_t GgufFile::get_int_or(std::string_view key, int64_t fallback) const { return contains(key) ? get_int(key) : fallback; }
double GgufFile::get_float_or(std::string_view key, double fallback) const {
  return contains(key) ? get_float(key) : fallback;
}

bool GgufFile::has_tensor(std::string_view name) const { return tensor_index_.find(name) != tensor_index_.end(); }

const GgufTensorInfo& GgufFile::tensor_info(std::string_view name) const {
  auto it = tensor_index_.find(name);
  ATTN_CHECK(it != tensor_index_.end(), ValueError, "{}: no tensor named '{}' (the file has {} tensors)", path_, name,
             infos_.size());
  return infos_[it->second];
}

std::span<const std::byte> GgufFile::tensor_bytes(std::string_view name) const {
  const auto& t = tensor_info(name);
  return {map_->data() + data_offset_ + t.offset, static_cast<size_t>(t.nbytes)};
}

Tensor GgufFile::tensor(std::string_view name) const {
  const auto& t = tensor_info(name);
  DType dt;
  switch (t.type) {
    case GgmlType::kF32: dt = DType::kF32; break;
    case GgmlType::kF16: dt = DType::kF16; break;
    case GgmlType::kBF16: dt = DType::kBF16; break;
    default:
      ATTN_CHECK(false, ValueError, "{}: tensor '{}' is {}, which has no attn dtype; use tensor_f32()", path_, name,
                 ggml_type_name(t.type));
  }
  auto b = tensor_bytes(name);
  if (!b.empty() && reinterpret_cast<uintptr_t>(b.data()) % dtype_size(dt) == 0)
    return Tensor::from_blob(const_cast<std::byte*>(b.data()), t.shape, dt, map_);
  Tensor out = Tensor::empty(t.shape, dt);
  if (!b.empty()) std::memcpy(out.raw_data(), b.data(), b.size());
  return out;
}

Tensor GgufFile::tensor_f32(std::string_view name) const {
  const auto& t = tensor_info(name);
  ATTN_CHECK(ggml_can_dequantize(t.type), ValueError, "{}: tensor '{}' is {}, which attn cannot dequantise", path_, name,
             ggml_type_name(t.type));
  if (t.type == GgmlType::kF32) return tensor(name);
  Tensor out = Tensor::empty(t.shape, DType::kF32);
  ggml_dequantize(t.type, tensor_bytes(name).data(), out.data<float>(), static_cast<int64_t>(t.numel));
  return out;
}

}  // namespace attn
