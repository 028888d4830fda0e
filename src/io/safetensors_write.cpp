// io/safetensors_write.cpp — the safetensors writer, byte-compatible with the `safetensors` Python
// package (0.8): entries sorted by dtype (the crate's enum order, descending) then name, compact JSON with
// "__metadata__" first, the header padded with spaces to a multiple of 8, tensors back to back.
#include <attn/safetensors.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <set>

#include "io/atomic_file.h"

namespace attn {
namespace {

std::string_view st_name_of(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kBF16: return "BF16";
    case DType::kF16: return "F16";
    case DType::kI32: return "I32";
    case DType::kI64: return "I64";
  }
  return "?";
}

// The position of each dtype in the Rust crate's Dtype enum (F16 < BF16 < I32 < F32 < I64); the
// package writes entries by that position, descending, then by name.
int st_rank(DType t) {
  switch (t) {
    case DType::kF16: return 1;
    case DType::kBF16: return 2;
    case DType::kI32: return 3;
    case DType::kF32: return 4;
    case DType::kI64: return 5;
  }
  return 0;
}

std::string json_string(const std::string& s, std::string_view what) {
  try {
    return nlohmann::json(s).dump();  // strict: invalid UTF-8 throws
  } catch (const nlohmann::json::exception&) {
    ATTN_CHECK(false, ValueError, "save_safetensors: {} is not valid UTF-8", what);
  }
  return {};
}

struct Plan {
  std::vector<const std::pair<std::string, Tensor>*> order;
  std::string header;  // padded JSON
  uint64_t data_bytes = 0;
};

Plan plan_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Plan plan;
  auto& order = plan.order;
  // 1. Order: element size descending, then name (the Python package's order).
  std::set<std::string_view> names;
  for (const auto& p : tensors) {
    ATTN_CHECK(p.second.defined(), ValueError, "save_safetensors: tensor '{}' is undefined", p.first);
    ATTN_CHECK(p.first != "__metadata__", ValueError, "save_safetensors: '__metadata__' cannot name a tensor");
    ATTN_CHECK(names.insert(p.first).second, ValueError, "save_safetensors: duplicate tensor name '{}'", p.first);
    order.push_back(&p);
  }
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    int ra = st_rank(a->second.dtype()), rb = st_rank(b->second.dtype());
    return ra != rb ? ra > rb : a->first < b->first;
  });
  // 2. Header JSON, built by hand to keep the package's key order.
  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) h += ",";
      first = false;
      h += json_string(k, "a metadata key") + ":" + json_string(v, "metadata value of '" + k + "'");
    }
    h += "}";
  }
  uint64_t offset = 0;
  for (const auto* p : order) {
    const Tensor& t = p->second;
    if (h.size() > 1) h += ",";
    std::string shape;
    for (int64_t d : t.shape()) {
      if (!shape.empty()) shape.push_back(',');
      shape.append(std::to_string(d));
    }
    const uint64_t end = offset + t.nbytes();
    h += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", json_string(p->first, "a tensor name"),
                     st_name_of(t.dtype()), shape, offset, end);
    offset = end;
  }
  h += "}";
  h.append((8 - h.size() % 8) % 8, ' ');
  plan.header = std::move(h);
  plan.data_bytes = offset;
  return plan;
}

// 3. Length prefix, header, tensor bytes (contiguous copies where needed).
void emit(const Plan& plan, const std::function<void(const void*, size_t)>& write) {
  const uint64_t n = plan.header.size();
  write(&n, 8);
  write(plan.header.data(), plan.header.size());
  for (const auto* p : plan.order) {
    Tensor c = p->second.contiguous();
    if (c.nbytes() > 0) write(c.raw_data(), c.nbytes());
  }
}

}  // namespace

std::vector<std::byte> serialize_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                             const std::map<std::string, std::string>& metadata) {
  Plan plan = plan_safetensors(tensors, metadata);
  std::vector<std::byte> out(8 + plan.header.size() + plan.data_bytes);
  size_t at = 0;
  emit(plan, [&](const void* p, size_t n) {
    std::memcpy(out.data() + at, p, n);
    at += n;
  });
  return out;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Plan plan = plan_safetensors(tensors, metadata);  // all checks before the temp file exists
  write_file_atomic(path, [&](AtomicWriter& w) { emit(plan, [&](const void* p, size_t n) { w.write(p, n); }); });
}

}  // namespace attn
