// io/gguf_read.cpp — the GGUF reader. One forward pass over the header with a bounds-checked
// cursor; every count is compared with the bytes left before anything is reserved, so a file can
// never make the reader allocate more than a small multiple of its own size.
//
// Layout: "GGUF" | u32 version (2 or 3) | u64 n_tensors | u64 n_kv | n_kv x (string key, u32 type,
// value) | n_tensors x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset) |
// padding to general.alignment (default 32) | data section. Strings are u64 length + UTF-8 bytes;
// arrays are u32 element type + u64 count + elements. Passes:
//   1. magic, version, counts (each bounded by the bytes left / its smallest possible encoding);
//   2. key/values: keys unique and UTF-8, types in range, arrays nested at most kMaxArrayDepth deep;
//   3. tensor infos: names unique, 1..4 dims, type known, ne[0] a multiple of the block size,
//      element count and byte size overflow-checked, offset aligned;
//   4. data section: aligned start inside the file; every tensor inside it, none overlapping.
#include <attn/gguf.h>

#include <algorithm>

#include "io/gguf_dequant.h"
#include "io/io_util.h"
#include "io/mapped_file.h"

namespace attn {

using io_detail::format_fail;

namespace {
constexpr int kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;             // key length, 1-byte key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name len, name, n_dims, ne[0], type, offset
}  // namespace

class GgufParser {
 public:
  GgufParser(GgufFile& f) : f_(f), base_(f.map_->data()), size_(f.map_->size()) {}

  void parse() {
    parse_header();
    f_.kvs_.reserve(n_kv_);  // bounded by the file size in parse_header
    for (uint64_t i = 0; i < n_kv_; ++i) parse_kv(i);
    parse_alignment();
    f_.infos_.reserve(n_tensors_);
    for (uint64_t i = 0; i < n_tensors_; ++i) parse_tensor_info(i);
    parse_data_section();
  }

 private:
  uint64_t left() const { return size_ - pos_; }

  template <class... Args>
  [[noreturn]] void fail(std::string_view field, fmt::format_string<Args...> msg, Args&&... args) {
    format_fail(f_.path_, field, msg, std::forward<Args>(args)...);
  }

  void need(uint64_t n, std::string_view field) {
    if (n > left()) fail(field, "truncated: needs {} bytes at offset {}, but the file ends at {}", n, pos_, size_);
  }

  template <class T>
  T read(std::string_view field) {
    need(sizeof(T), field);
    T v = io_detail::load_le<T>(base_ + pos_);
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(std::string_view field) {
    const uint64_t len = read<uint64_t>(field);
    if (len > left()) fail(field, "string length {} exceeds the {} bytes left in the file", len, left());
    std::string s(reinterpret_cast<const char*>(base_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    if (size_t bad = io_detail::utf8_invalid_at(s); bad != std::string::npos)
      fail(field, "invalid UTF-8 at byte {} of \"{}\"", bad, io_detail::printable(s));
    return s;
  }

  GgufType read_type(std::string_view field) {
    const uint32_t t = read<uint32_t>(field);
    if (t > static_cast<uint32_t>(GgufType::kF64)) fail(field, "value type {} is out of range (0..12)", t);
    return static_cast<GgufType>(t);
  }

  static uint64_t min_encoded_size(GgufType t) {
    switch (t) {
      case GgufType::kString: return 8;
      case GgufType::kArray: return 12;
      case GgufType::kU16: case GgufType::kI16: return 2;
      case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
      case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
      default: return 1;
    }
  }

  void parse_header() {
    need(4, "magic");
    if (std::memcmp(base_, "GGUF", 4) != 0)
      fail("magic", "expected \"GGUF\", got \"{}\"", io_detail::printable({reinterpret_cast<const char*>(base_), 4}));
    pos_ = 4;
    f_.version_ = read<uint32_t>("version");
    if (f_.version_ != 2 && f_.version_ != 3)
      fail("version", "{} is not supported (2 or 3{})", f_.version_, f_.version_ == 1 ? "; v1 used 32-bit counts" : "");
    n_tensors_ = read<uint64_t>("n_tensors");
    n_kv_ = read<uint64_t>("n_kv");
    if (n_tensors_ > left() / kMinTensorInfoBytes)
      fail("n_tensors", "{} tensor infos cannot fit in the {} bytes left", n_tensors_, left());
    if (n_kv_ > left() / kMinKvBytes) fail("n_kv", "{} key/value pairs cannot fit in the {} bytes left", n_kv_, left());
    if (n_tensors_ * kMinTensorInfoBytes + n_kv_ * kMinKvBytes > left())
      fail("n_tensors", "{} tensor infos and {} key/value pairs cannot fit in the {} bytes left", n_tensors_, n_kv_, left());
  }

  void parse_kv(uint64_t i) {
    const std::string where = fmt::format("kv[{}].key", i);
    std::string key = read_string(where);
    if (key.empty()) fail(where, "empty key");
    if (f_.kv_index_.count(key)) fail("kv '" + io_detail::printable(key) + "'", "duplicate key \"{}\"", io_detail::printable(key));
    const std::string field = "kv '" + io_detail::printable(key) + "'";
    GgufType type = read_type(field + ".type");
    GgufValue v = read_value(type, field, 0);
    f_.kv_index_.emplace(key, f_.kvs_.size());
    f_.kvs_.push_back({std::move(key), std::move(v)});
  }

  GgufValue read_value(GgufType type, const std::string& field, int depth) {
    GgufValue v;
    v.type = type;
    switch (type) {
      case GgufType::kU8: v.u = read<uint8_t>(field); break;
      case GgufType::kI8: v.i = read<int8_t>(field); break;
      case GgufType::kU16: v.u = read<uint16_t>(field); break;
      case GgufType::kI16: v.i = read<int16_t>(field); break;
      case GgufType::kU32: v.u = read<uint32_t>(field); break;
      case GgufType::kI32: v.i = read<int32_t>(field); break;
      case GgufType::kF32: v.f = read<float>(field); break;
      case GgufType::kU64: v.u = read<uint64_t>(field); break;
      case GgufType::kI64: v.i = read<int64_t>(field); break;
      case GgufType::kF64: v.f = read<double>(field); break;
      case GgufType::kBool:
        v.u = read<uint8_t>(field);
        if (v.u > 1) fail(field, "bool value {} is neither 0 nor 1", v.u);
        break;
      case GgufType::kString: v.s = read_string(field); break;
      case GgufType::kArray: v.array_ptr = std::make_shared<const GgufArray>(read_array(field, depth + 1)); break;
    }
    return v;
  }

  GgufArray read_array(const std::string& field, int depth) {
    if (depth > kMaxArrayDepth) fail(field, "arrays nested {} deep (limit {})", depth, kMaxArrayDepth);
    GgufArray a;
    a.type = read_type(field + ".elem_type");
    a.size = read<uint64_t>(field + ".count");
    const uint64_t min = min_encoded_size(a.type);
    if (a.size > left() / min)
      fail(field + ".count", "{} elements of {} need at least {} bytes each, but {} bytes are left", a.size,
           gguf_type_name(a.type), min, left());
    if (a.type == GgufType::kString) {
      a.strings.reserve(a.size);
      for (uint64_t k = 0; k < a.size; ++k) a.strings.push_back(read_string(field));
    } else if (a.type == GgufType::kArray) {
      a.arrays.reserve(a.size);
      for (uint64_t k = 0; k < a.size; ++k) a.arrays.push_back(read_array(field, depth + 1));
    } else {
      const uint64_t n = a.size * min;  // bounded by left() above
      const auto* p = reinterpret_cast<const uint8_t*>(base_ + pos_);
      a.data.assign(p, p + n);
      pos_ += n;
      if (a.type == GgufType::kBool)
        for (uint64_t k = 0; k < a.size; ++k)
          if (a.data[k] > 1) fail(field, "bool element {} has value {}", k, a.data[k]);
    }
    return a;
  }

  void parse_alignment() {
    const GgufValue* v = f_.find("general.alignment");
    if (v == nullptr) return;
    if (v->type != GgufType::kU32) fail("kv 'general.alignment'", "type {} is not u32", gguf_type_name(v->type));
    if (v->u == 0 || (v->u & (v->u - 1)) != 0) fail("kv 'general.alignment'", "{} is not a power of two", v->u);
    f_.alignment_ = v->u;
  }

  void parse_tensor_info(uint64_t i) {
    GgufTensorInfo t;
    t.name = read_string(fmt::format("tensor[{}].name", i));
    const std::string field = "tensor '" + io_detail::printable(t.name) + "'";
    if (t.name.empty()) fail(fmt::format("tensor[{}].name", i), "empty name");
    if (f_.tensor_index_.count(t.name)) fail(field, "duplicate tensor name \"{}\"", io_detail::printable(t.name));
    const uint32_t n_dims = read<uint32_t>(field + ".n_dims");
    if (n_dims == 0 || n_dims > kMaxDims) fail(field + ".n_dims", "{} is outside 1..{}", n_dims, kMaxDims);
    // The extent (product of max(ne, 1)) must fit int64 too: a zero dimension makes numel 0, but
    // strides are still products of the other dimensions.
    t.numel = 1;
    uint64_t extent = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = read<uint64_t>(fmt::format("{}.ne[{}]", field, d));
      if (ne > static_cast<uint64_t>(INT64_MAX)) fail(fmt::format("{}.ne[{}]", field, d), "{} is negative as int64", ne);
      if (!io_detail::mul_u64(extent, std::max<uint64_t>(ne, 1), &extent) || extent > static_cast<uint64_t>(INT64_MAX))
        fail(fmt::format("{}.ne[{}]", field, d), "element count overflows int64 at dimension size {}", ne);
      t.numel *= ne;  // <= extent
      t.ne.push_back(ne);
    }
    const uint32_t type = read<uint32_t>(field + ".type");
    t.type = static_cast<GgmlType>(type);
    if (!ggml_type_known(t.type)) fail(field + ".type", "ggml type {} is unknown or out of range", type);
    const uint64_t block = ggml_block_size(t.type);
    if (t.ne[0] % block != 0)
      fail(field + ".ne[0]", "{} is not a multiple of {}'s block size {}", t.ne[0], ggml_type_name(t.type), block);
    if (t.numel / block > UINT64_MAX / ggml_type_size(t.type)) fail(field, "byte size of {} elements overflows", t.numel);
    t.nbytes = t.numel / block * ggml_type_size(t.type);
    t.offset = read<uint64_t>(field + ".offset");
    if (t.offset % f_.alignment_ != 0)
      fail(field + ".offset", "{} is not a multiple of the alignment {}", t.offset, f_.alignment_);
    for (auto it = t.ne.rbegin(); it != t.ne.rend(); ++it) t.shape.push_back(static_cast<int64_t>(*it));
    f_.tensor_index_.emplace(t.name, f_.infos_.size());
    f_.infos_.push_back(std::move(t));
  }

  void parse_data_section() {
    const uint64_t a = f_.alignment_;
    uint64_t start = pos_;
    if (start % a != 0) start += a - start % a;  // pos_ <= size_ < 2^63, a <= 2^32: no overflow
    f_.data_offset_ = start;
    const uint64_t data_size = start <= size_ ? size_ - start : 0;
    if (!f_.infos_.empty() && start > size_)
      fail("data section", "starts at offset {}, past the end of the {}-byte file", start, size_);
    std::vector<const GgufTensorInfo*> sorted;
    for (const auto& t : f_.infos_) {
      uint64_t end;
      if (!io_detail::add_u64(t.offset, t.nbytes, &end) || end > data_size)
        fail("tensor '" + io_detail::printable(t.name) + "'.offset", "{} + {} bytes runs past the {}-byte data section",
             t.offset, t.nbytes, data_size);
      sorted.push_back(&t);
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto* x, const auto* y) { return x->offset < y->offset; });
    const GgufTensorInfo* furthest = nullptr;  // the tensor that ends last among those before
    for (const auto* t : sorted) {
      if (furthest != nullptr && t->nbytes > 0 && t->offset < furthest->offset + furthest->nbytes)
        fail("tensor '" + io_detail::printable(t->name) + "'.offset", "{} overlaps tensor '{}' at [{}, {})", t->offset,
             io_detail::printable(furthest->name), furthest->offset, furthest->offset + furthest->nbytes);
      if (furthest == nullptr || t->offset + t->nbytes > furthest->offset + furthest->nbytes) furthest = t;
    }
  }

  GgufFile& f_;
  const std::byte* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

GgufFile GgufFile::open(const std::string& path) {
  GgufFile f;
  f.path_ = path;
  f.map_ = MappedFile::open(path);
  GgufParser(f).parse();
  return f;
}

uint64_t GgufFile::file_size() const { return map_ ? map_->size() : 0; }

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

}  // namespace attn
