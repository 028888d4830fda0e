// io/io_util.h — helpers shared by the file-format readers: errors that name file, field and value;
// overflow-checked arithmetic; UTF-8 validation; little-endian loads.
#pragma once

#include <attn/error.h>

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace attn::io_detail {

// Throws FormatError "<path>: <field>: <message>". Every reader error goes through here so the
// message always names the file and the field; the message names the bad value.
template <class... Args>
[[noreturn]] void format_fail(const std::string& path, std::string_view field, fmt::format_string<Args...> f,
                              Args&&... args) {
  throw FormatError(fmt::format("{}: {}: {}", path, field, fmt::format(f, std::forward<Args>(args)...)));
}

// a * b without wrapping; false on overflow.
inline bool mul_u64(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool add_u64(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). Returns the byte offset of the first bad
// byte, or npos when valid.
size_t utf8_invalid_at(std::string_view s);

// A printable, length-limited rendering of untrusted bytes for error messages ("ab\x00c...").
// With keep_utf8, valid UTF-8 sequences are kept as they are (for human summaries).
std::string printable(std::string_view s, size_t max_len = 64, bool keep_utf8 = false);

template <class T>
inline T load_le(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the supported hosts are little-endian (checked in io_util.cpp)
  return v;
}

}  // namespace attn::io_detail
