// io/gguf_types.cpp — GGUF metadata value types and GGML tensor types: names, block sizes, and the
// conversions and summaries of metadata values. The type table matches the `gguf` Python package's
// GGML_QUANT_SIZES (0.19); numbers missing from it (4, 5, 31-33, 36-38: removed from ggml) are unknown.
#include <attn/gguf.h>

#include <array>

#include "io/io_util.h"

namespace attn {
namespace {

struct GgmlTypeInfo {
  uint32_t id;
  std::string_view name;
  uint64_t block;
  uint64_t size;
};

constexpr std::array<GgmlTypeInfo, 34> kGgmlTypes = {{
    {0, "f32", 1, 4},        {1, "f16", 1, 2},         {2, "q4_0", 32, 18},      {3, "q4_1", 32, 20},
    {6, "q5_0", 32, 22},     {7, "q5_1", 32, 24},      {8, "q8_0", 32, 34},      {9, "q8_1", 32, 40},
    {10, "q2_K", 256, 84},   {11, "q3_K", 256, 110},   {12, "q4_K", 256, 144},   {13, "q5_K", 256, 176},
    {14, "q6_K", 256, 210},  {15, "q8_K", 256, 292},   {16, "iq2_xxs", 256, 66}, {17, "iq2_xs", 256, 74},
    {18, "iq3_xxs", 256, 98}, {19, "iq1_s", 256, 50},  {20, "iq4_nl", 32, 18},   {21, "iq3_s", 256, 110},
    {22, "iq2_s", 256, 82},  {23, "iq4_xs", 256, 136}, {24, "i8", 1, 1},         {25, "i16", 1, 2},
    {26, "i32", 1, 4},       {27, "i64", 1, 8},        {28, "f64", 1, 8},        {29, "iq1_m", 256, 56},
    {30, "bf16", 1, 2},      {34, "tq1_0", 256, 54},   {35, "tq2_0", 256, 66},   {39, "mxfp4", 32, 17},
    {40, "nvfp4", 64, 36},   {41, "q1_0", 128, 18},
}};

const GgmlTypeInfo* ggml_info(GgmlType t) {
  for (const auto& i : kGgmlTypes)
    if (i.id == static_cast<uint32_t>(t)) return &i;
  return nullptr;
}

constexpr std::array<std::string_view, 13> kGgufTypeNames = {"u8",     "i8",    "u16", "i16", "u32", "i32", "f32",
                                                             "bool",   "string", "array", "u64", "i64", "f64"};

// Size in bytes of one numeric/bool element; 0 for string and array.
size_t gguf_scalar_size(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    default: return 0;
  }
}

// Element i of a packed numeric array as double (exact for all but 64-bit integers > 2^53).
double packed_f64(GgufType t, const uint8_t* p) {
  using io_detail::load_le;
  switch (t) {
    case GgufType::kU8: case GgufType::kBool: return *p;
    case GgufType::kI8: return static_cast<int8_t>(*p);
    case GgufType::kU16: return load_le<uint16_t>(p);
    case GgufType::kI16: return load_le<int16_t>(p);
    case GgufType::kU32: return load_le<uint32_t>(p);
    case GgufType::kI32: return load_le<int32_t>(p);
    case GgufType::kF32: return load_le<float>(p);
    case GgufType::kU64: return static_cast<double>(load_le<uint64_t>(p));
    case GgufType::kI64: return static_cast<double>(load_le<int64_t>(p));
    case GgufType::kF64: return load_le<double>(p);
    default: return 0;
  }
}

int64_t packed_i64(GgufType t, const uint8_t* p) {
  using io_detail::load_le;
  switch (t) {
    case GgufType::kU64: return static_cast<int64_t>(load_le<uint64_t>(p));
    case GgufType::kI64: return load_le<int64_t>(p);
    case GgufType::kF32: case GgufType::kF64: return static_cast<int64_t>(packed_f64(t, p));
    default: return static_cast<int64_t>(packed_f64(t, p));
  }
}

void check_numeric(const GgufArray& a) {
  ATTN_CHECK(gguf_scalar_size(a.type) > 0, ValueError, "GGUF array of {} cannot be converted to numbers",
             gguf_type_name(a.type));
}

}  // namespace

std::string_view gguf_type_name(GgufType t) {
  const auto i = static_cast<uint32_t>(t);
  return i < kGgufTypeNames.size() ? kGgufTypeNames[i] : "?";
}

bool ggml_type_known(GgmlType t) { return ggml_info(t) != nullptr; }
std::string_view ggml_type_name(GgmlType t) {
  const auto* i = ggml_info(t);
  return i ? i->name : "unknown";
}
uint64_t ggml_block_size(GgmlType t) {
  const auto* i = ggml_info(t);
  return i ? i->block : 0;
}
uint64_t ggml_type_size(GgmlType t) {
  const auto* i = ggml_info(t);
  return i ? i->size : 0;
}
bool ggml_can_dequantize(GgmlType t) {
  switch (t) {
    case GgmlType::kF32: case GgmlType::kF16: case GgmlType::kBF16: case GgmlType::kQ8_0:
    case GgmlType::kQ4_0: case GgmlType::kQ4_1: case GgmlType::kQ4_K: case GgmlType::kQ6_K: return true;
    default: return false;
  }
}

std::vector<int64_t> GgufArray::to_i64() const {
  check_numeric(*this);
  const size_t w = gguf_scalar_size(type);
  std::vector<int64_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = packed_i64(type, data.data() + i * w);
  return out;
}

std::vector<double> GgufArray::to_f64() const {
  check_numeric(*this);
  const size_t w = gguf_scalar_size(type);
  std::vector<double> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = packed_f64(type, data.data() + i * w);
  return out;
}

std::vector<float> GgufArray::to_f32() const {
  check_numeric(*this);
  const size_t w = gguf_scalar_size(type);
  std::vector<float> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<float>(packed_f64(type, data.data() + i * w));
  return out;
}

const GgufArray& GgufValue::array() const {
  ATTN_CHECK(type == GgufType::kArray && array_ptr != nullptr, ValueError, "GGUF value of type {} is not an array",
             gguf_type_name(type));
  return *array_ptr;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kU16: case GgufType::kI16: case GgufType::kU32:
    case GgufType::kI32: case GgufType::kU64: case GgufType::kI64: return true;
    default: return false;
  }
}

namespace {

std::string quoted(const std::string& s) { return fmt::format("\"{}\"", io_detail::printable(s, 48, /*keep_utf8=*/true)); }

std::string array_summary(const GgufArray& a, size_t max_items) {
  std::string out = fmt::format("[{} x {}", gguf_type_name(a.type), a.size);
  const size_t show = std::min<uint64_t>(a.size, max_items);
  if (show > 0) out += ": ";
  for (size_t i = 0; i < show; ++i) {
    if (i) out += ", ";
    if (a.type == GgufType::kString) out += quoted(a.strings[i]);
    else if (a.type == GgufType::kArray) out += array_summary(a.arrays[i], max_items);
    else if (a.type == GgufType::kF32) out += fmt::format("{}", io_detail::load_le<float>(a.data.data() + 4 * i));
    else if (a.type == GgufType::kF64) out += fmt::format("{}", io_detail::load_le<double>(a.data.data() + 8 * i));
    else if (a.type == GgufType::kBool) out += a.data[i] ? "true" : "false";
    else out += fmt::format("{}", packed_i64(a.type, a.data.data() + i * gguf_scalar_size(a.type)));
  }
  if (a.size > show) out += ", ...";
  return out + "]";
}

}  // namespace

std::string GgufValue::summary(size_t max_items) const {
  switch (type) {
    case GgufType::kU8: case GgufType::kU16: case GgufType::kU32: case GgufType::kU64: return fmt::format("{}", u);
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64: return fmt::format("{}", i);
    case GgufType::kF32: return fmt::format("{}", static_cast<float>(f));
    case GgufType::kF64: return fmt::format("{}", f);
    case GgufType::kBool: return u ? "true" : "false";
    case GgufType::kString: return quoted(s);
    case GgufType::kArray: return array_summary(array(), max_items);
  }
  return "?";
}

}  // namespace attn
