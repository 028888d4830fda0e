// src/tokenizers/unicode.cpp — lookups into the generated tables, NFD with canonical reordering and
// the Hangul algorithm, lowercase.
#include "tokenizers/unicode.h"

#include <algorithm>
#include <array>
#include <vector>

namespace attn::tok {
namespace {
#include "tokenizers/unicode_tables.inc"

constexpr char32_t kHangulBase = 0xAC00, kHangulCount = 11172;
constexpr char32_t kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7;
constexpr char32_t kJamoVCount = 21, kJamoTCount = 28;

// Appends the full decomposition of c (code points) to `out`.
void decompose(char32_t c, std::vector<char32_t>& out) {
  if (c >= kHangulBase && c < kHangulBase + kHangulCount) {
    const char32_t s = c - kHangulBase;
    out.push_back(kJamoL + s / (kJamoVCount * kJamoTCount));
    out.push_back(kJamoV + (s % (kJamoVCount * kJamoTCount)) / kJamoTCount);
    if (s % kJamoTCount != 0) out.push_back(kJamoT + s % kJamoTCount);
    return;
  }
  const auto* end = kDecompCodePoints + std::size(kDecompCodePoints);
  const auto* it = std::lower_bound(kDecompCodePoints, end, static_cast<uint32_t>(c));
  if (it == end || *it != c) {
    out.push_back(c);
    return;
  }
  const uint32_t r = kDecompRanges[it - kDecompCodePoints];
  for (uint32_t k = 0; k < (r & 15); ++k) out.push_back(kDecompPool[(r >> 4) + k]);
}
}  // namespace

uint8_t unicode_props(char32_t c) {
  if (c > 0x10FFFF) return 0;
  return kPropStage2[size_t(kPropStage1[c >> 8]) * 256 + (c & 255)];
}

uint8_t unicode_ccc(char32_t c) {
  if (c > 0x10FFFF) return 0;
  return kCccStage2[size_t(kCccStage1[c >> 8]) * 256 + (c & 255)];
}

bool unicode_is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool utf8_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    int len = 1;
    const char32_t c = utf8_decode(s, i, len);
    if (c == 0xFFFD && !(len == 3 && s.substr(i, 3) == "\xEF\xBF\xBD")) return false;
    i += len;
  }
  return true;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    int len = 1;
    utf8_decode(s, i, len);
    i += len;
  }
  return n;
}

// 1. decompose every code point fully; 2. stable-sort each run of non-starters by combining class.
void unicode_nfd(std::string_view s, std::string& out) {
  std::vector<char32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    int len = 1;
    const char32_t c = utf8_decode(s, i, len);
    if (c < 0xC0) {
      cps.push_back(c);
    } else {
      decompose(c, cps);
    }
    i += len;
  }
  for (size_t i = 0; i < cps.size();) {
    if (unicode_ccc(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && unicode_ccc(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](char32_t a, char32_t b) { return unicode_ccc(a) < unicode_ccc(b); });
    i = j;
  }
  for (char32_t c : cps) utf8_append(out, c);
}

void unicode_lower_append(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    return;
  }
  const auto* end = kLowerFrom + std::size(kLowerFrom);
  const auto* it = std::lower_bound(kLowerFrom, end, static_cast<uint32_t>(c));
  if (it != end && *it == c) {
    utf8_append(out, kLowerTo[it - kLowerFrom]);
    return;
  }
  for (size_t k = 0; k < std::size(kLowerMultiFrom); ++k) {
    if (kLowerMultiFrom[k] != c) continue;
    for (size_t j = 0; j < 3 && kLowerMultiTo[3 * k + j] != 0; ++j) utf8_append(out, kLowerMultiTo[3 * k + j]);
    return;
  }
  utf8_append(out, c);
}

}  // namespace attn::tok
