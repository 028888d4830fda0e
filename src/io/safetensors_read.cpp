// io/safetensors_read.cpp — the safetensors reader: parse and validate the whole header before any
// tensor is touched, then hand out views of (or converted copies from) the mapping.
//
// File layout: u64 header length N | N bytes of JSON | data section. The JSON maps tensor names to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data section) plus an
// optional "__metadata__" map of strings. Validation passes, in order:
//   1. N <= 100 MB and 8 + N <= file size; the header starts with '{'.
//   2. JSON parse (strict UTF-8) with duplicate keys and nesting depth > 4 rejected.
//   3. Per tensor: dtype known, shape entries non-negative integers, numel and numel * dtype size
//      overflow-checked, data_offsets two integers with begin <= end and end - begin == bytes.
//   4. Sorted by begin, ranges are contiguous from 0 and the last one ends at the file's end.
#include <attn/safetensors.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <set>

#include "io/io_util.h"
#include "io/mapped_file.h"

namespace attn {

using io_detail::format_fail;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr int kMaxJsonDepth = 4;

struct StDTypeInfo {
  StDType type;
  std::string_view name;
  size_t size;
};
constexpr std::array<StDTypeInfo, 15> kStDTypes = {{
    {StDType::kBool, "BOOL", 1}, {StDType::kU8, "U8", 1}, {StDType::kI8, "I8", 1},
    {StDType::kF8E5M2, "F8_E5M2", 1}, {StDType::kF8E4M3, "F8_E4M3", 1}, {StDType::kI16, "I16", 2},
    {StDType::kU16, "U16", 2}, {StDType::kF16, "F16", 2}, {StDType::kBF16, "BF16", 2},
    {StDType::kI32, "I32", 4}, {StDType::kU32, "U32", 4}, {StDType::kF32, "F32", 4},
    {StDType::kF64, "F64", 8}, {StDType::kI64, "I64", 8}, {StDType::kU64, "U64", 8},
}};

const StDTypeInfo* find_dtype(std::string_view name) {
  for (const auto& d : kStDTypes)
    if (d.name == name) return &d;
  return nullptr;
}

// JSON parse with duplicate keys (any object) and excessive nesting rejected; nlohmann would keep
// the last duplicate silently.
json parse_header(const std::string& path, std::string_view text) {
  std::vector<std::set<std::string>> seen;
  auto cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (depth > kMaxJsonDepth) format_fail(path, "header", "JSON nesting deeper than {} (depth {})", kMaxJsonDepth, depth);
    if (ev == json::parse_event_t::object_start) seen.emplace_back();
    else if (ev == json::parse_event_t::object_end && !seen.empty()) seen.pop_back();
    else if (ev == json::parse_event_t::key && !seen.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.back().insert(key).second)
        format_fail(path, "header", "duplicate key '{}'", io_detail::printable(key));
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    format_fail(path, "header", "invalid JSON at byte {}: {}", e.byte, e.what());
  } catch (const json::exception& e) {  // e.g. out_of_range 406: a number literal that overflows a double
    format_fail(path, "header", "invalid JSON: {}", e.what());
  }
}

uint64_t json_u64(const std::string& path, const std::string& field, const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) format_fail(path, field, "negative value {}", v.get<int64_t>());
  format_fail(path, field, "expected a non-negative integer, got {}", io_detail::printable(v.dump()));
}

SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& v, uint64_t data_size) {
  const std::string where = fmt::format("tensor '{}'", io_detail::printable(name));
  if (!v.is_object()) format_fail(path, where, "expected an object, got {}", io_detail::printable(v.dump()));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) format_fail(path, where + "." + key, "missing (entry {})", io_detail::printable(v.dump()));
  SafetensorsEntry e;
  e.name = name;
  const json& dt = v["dtype"];
  if (!dt.is_string()) format_fail(path, where + ".dtype", "expected a string, got {}", io_detail::printable(dt.dump()));
  const StDTypeInfo* info = find_dtype(dt.get_ref<const std::string&>());
  if (info == nullptr) format_fail(path, where + ".dtype", "unknown dtype '{}'", io_detail::printable(dt.get<std::string>()));
  e.dtype = info->type;
  e.dtype_name = std::string(info->name);

  const json& sh = v["shape"];
  if (!sh.is_array()) format_fail(path, where + ".shape", "expected an array, got {}", io_detail::printable(sh.dump()));
  // Both numel and the extent (product of max(d, 1), what strides need) must fit int64.
  uint64_t numel = 1, extent = 1;
  for (size_t i = 0; i < sh.size(); ++i) {
    uint64_t d = json_u64(path, fmt::format("{}.shape[{}]", where, i), sh[i]);
    if (d > static_cast<uint64_t>(INT64_MAX) || !io_detail::mul_u64(extent, std::max<uint64_t>(d, 1), &extent) ||
        extent > static_cast<uint64_t>(INT64_MAX))
      format_fail(path, where + ".shape", "element count overflows at dimension {} (size {})", i, d);
    numel *= d;  // <= extent
    e.shape.push_back(static_cast<int64_t>(d));
  }
  uint64_t nbytes;
  if (!io_detail::mul_u64(numel, info->size, &nbytes))
    format_fail(path, where + ".shape", "byte size {} x {} overflows", numel, info->size);

  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2)
    format_fail(path, where + ".data_offsets", "expected [begin, end], got {}", io_detail::printable(off.dump()));
  e.begin = json_u64(path, where + ".data_offsets[0]", off[0]);
  e.end = json_u64(path, where + ".data_offsets[1]", off[1]);
  if (e.begin > e.end) format_fail(path, where + ".data_offsets", "begin {} > end {}", e.begin, e.end);
  if (e.end > data_size)
    format_fail(path, where + ".data_offsets", "end {} is past the data section's {} bytes", e.end, data_size);
  if (e.end - e.begin != nbytes)
    format_fail(path, where + ".data_offsets", "range [{}, {}) holds {} bytes, but {} {} needs {}", e.begin, e.end,
                e.end - e.begin, e.dtype_name, shape_str(e.shape), nbytes);
  return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& v) {
  if (!v.is_object()) format_fail(path, "__metadata__", "expected an object, got {}", io_detail::printable(v.dump()));
  std::map<std::string, std::string> out;
  for (const auto& [k, val] : v.items()) {
    if (!val.is_string())
      format_fail(path, "__metadata__." + io_detail::printable(k), "expected a string, got {}", io_detail::printable(val.dump()));
    out.emplace(k, val.get<std::string>());
  }
  return out;
}

// Pass 4: sorted by begin, the ranges tile [0, data_size) exactly.
void check_coverage(const std::string& path, const std::vector<SafetensorsEntry>& entries, uint64_t data_size) {
  std::vector<const SafetensorsEntry*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expect = 0;
  for (const auto* e : sorted) {
    if (e->begin < expect)
      format_fail(path, fmt::format("tensor '{}'.data_offsets", io_detail::printable(e->name)),
                  "begin {} overlaps the previous tensor, which ends at {}", e->begin, expect);
    if (e->begin > expect)
      format_fail(path, fmt::format("tensor '{}'.data_offsets", io_detail::printable(e->name)),
                  "begin {} leaves a gap after byte {}", e->begin, expect);
    expect = e->end;
  }
  if (expect != data_size)
    format_fail(path, "data section", "{} bytes, but the tensors cover {} (trailing bytes)", data_size, expect);
}

template <class T>
void convert_to_f32(const std::byte* src, float* dst, uint64_t n, float (*f)(T)) {
  for (uint64_t i = 0; i < n; ++i) dst[i] = f(io_detail::load_le<T>(src + i * sizeof(T)));
}

float f8e4m3_to_f32(uint8_t b) {
  // E4M3 "fn": bias 7, no infinities, S.1111.111 is NaN.
  const float sign = (b & 0x80) ? -1.0f : 1.0f;
  const int exp = (b >> 3) & 0xF;
  const int mant = b & 0x7;
  if (exp == 0xF && mant == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0) return sign * std::ldexp(static_cast<float>(mant) / 8.0f, -6);
  return sign * std::ldexp(1.0f + static_cast<float>(mant) / 8.0f, exp - 7);
}

void st_to_f32(StDType t, const std::byte* src, float* dst, uint64_t n) {
  switch (t) {
    case StDType::kBool: case StDType::kU8: convert_to_f32<uint8_t>(src, dst, n, [](uint8_t v) { return float(v); }); break;
    case StDType::kI8: convert_to_f32<int8_t>(src, dst, n, [](int8_t v) { return float(v); }); break;
    case StDType::kF8E5M2: convert_to_f32<uint8_t>(src, dst, n, [](uint8_t v) { return f16_to_f32(uint16_t(v << 8)); }); break;
    case StDType::kF8E4M3: convert_to_f32<uint8_t>(src, dst, n, f8e4m3_to_f32); break;
    case StDType::kI16: convert_to_f32<int16_t>(src, dst, n, [](int16_t v) { return float(v); }); break;
    case StDType::kU16: convert_to_f32<uint16_t>(src, dst, n, [](uint16_t v) { return float(v); }); break;
    case StDType::kF16: convert_to_f32<uint16_t>(src, dst, n, f16_to_f32); break;
    case StDType::kBF16: convert_to_f32<uint16_t>(src, dst, n, bf16_to_f32); break;
    case StDType::kI32: convert_to_f32<int32_t>(src, dst, n, [](int32_t v) { return float(v); }); break;
    case StDType::kU32: convert_to_f32<uint32_t>(src, dst, n, [](uint32_t v) { return float(v); }); break;
    case StDType::kF32: convert_to_f32<float>(src, dst, n, [](float v) { return v; }); break;
    case StDType::kF64: convert_to_f32<double>(src, dst, n, [](double v) { return float(v); }); break;
    case StDType::kI64: convert_to_f32<int64_t>(src, dst, n, [](int64_t v) { return float(v); }); break;
    case StDType::kU64: convert_to_f32<uint64_t>(src, dst, n, [](uint64_t v) { return float(v); }); break;
  }
}

}  // namespace

std::string_view st_dtype_name(StDType t) { return kStDTypes[static_cast<size_t>(t)].name; }
size_t st_dtype_size(StDType t) { return kStDTypes[static_cast<size_t>(t)].size; }

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  f.map_ = MappedFile::open(path);
  const uint64_t size = f.map_->size();
  const std::byte* base = f.map_->data();
  // Pass 1: header length and bounds.
  if (size < 8) format_fail(path, "header length", "file has {} bytes, fewer than the 8-byte length prefix", size);
  const uint64_t n = io_detail::load_le<uint64_t>(base);
  if (n > kMaxHeaderBytes) format_fail(path, "header length", "{} exceeds the {}-byte limit", n, kMaxHeaderBytes);
  if (n > size - 8) format_fail(path, "header length", "{} runs past the end of the {}-byte file", n, size);
  if (n < 2 || static_cast<char>(base[8]) != '{')
    format_fail(path, "header", "must start with '{{' (length {}, first byte 0x{:02x})", n,
                n > 0 ? static_cast<unsigned>(base[8]) : 0u);
  f.header_size_ = n;
  f.data_start_ = 8 + n;
  const uint64_t data_size = size - f.data_start_;
  // Pass 2 + 3.
  json header = parse_header(path, std::string_view(reinterpret_cast<const char*>(base + 8), n));
  if (!header.is_object()) format_fail(path, "header", "expected a JSON object, got {}", io_detail::printable(header.dump()));
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      f.metadata_ = parse_metadata(path, value);
      continue;
    }
    f.index_.emplace(key, f.entries_.size());
    f.entries_.push_back(parse_entry(path, key, value, data_size));
  }
  // nlohmann orders object keys alphabetically; restore header order by offset is not needed, but
  // keep entries in byte order, which is the order the writer chose.
  std::stable_sort(f.entries_.begin(), f.entries_.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < f.entries_.size(); ++i) f.index_[f.entries_[i].name] = i;
  // Pass 4.
  check_coverage(path, f.entries_, data_size);
  return f;
}

uint64_t SafetensorsFile::file_size() const { return map_ ? map_->size() : 0; }

bool SafetensorsFile::contains(std::string_view name) const { return index_.find(name) != index_.end(); }

const SafetensorsEntry& SafetensorsFile::entry(std::string_view name) const {
  auto it = index_.find(name);
  ATTN_CHECK(it != index_.end(), ValueError, "{}: no tensor named '{}' (the file has {} tensors)", path_, name,
             entries_.size());
  return entries_[it->second];
}

std::span<const std::byte> SafetensorsFile::bytes(std::string_view name) const {
  const auto& e = entry(name);
  return {map_->data() + data_start_ + e.begin, static_cast<size_t>(e.nbytes())};
}

Tensor SafetensorsFile::tensor(std::string_view name) const {
  const auto& e = entry(name);
  DType dt;
  switch (e.dtype) {
    case StDType::kF32: dt = DType::kF32; break;
    case StDType::kBF16: dt = DType::kBF16; break;
    case StDType::kF16: dt = DType::kF16; break;
    case StDType::kI32: dt = DType::kI32; break;
    case StDType::kI64: dt = DType::kI64; break;
    default:
      ATTN_CHECK(false, ValueError, "{}: tensor '{}' has dtype {}, which has no attn dtype; use tensor_f32()", path_,
                 name, e.dtype_name);
  }
  auto b = bytes(name);
  if (reinterpret_cast<uintptr_t>(b.data()) % dtype_size(dt) == 0 && !b.empty())
    return Tensor::from_blob(const_cast<std::byte*>(b.data()), e.shape, dt, map_);
  Tensor t = Tensor::empty(e.shape, dt);  // misaligned (or empty): an aligned copy
  if (!b.empty()) std::memcpy(t.raw_data(), b.data(), b.size());
  return t;
}

Tensor SafetensorsFile::tensor_f32(std::string_view name) const {
  const auto& e = entry(name);
  if (e.dtype == StDType::kF32) return tensor(name);
  Tensor t = Tensor::empty(e.shape, DType::kF32);
  st_to_f32(e.dtype, bytes(name).data(), t.data<float>(), static_cast<uint64_t>(t.numel()));
  return t;
}

}  // namespace attn
