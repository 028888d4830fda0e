// src/tokenizers/pretokenize.cpp — hand-written matchers for the pre-tokenizer regexes. Each one
// walks the string once, code point by code point, and at every position tries the pattern's
// alternatives in order, exactly as a backtracking regex engine would (leftmost-first alternation).
#include "tokenizers/pretokenize.h"

#include "tokenizers/unicode.h"

namespace attn::tok {
namespace {

// A cursor over UTF-8 with the class bits of the code point at each position.
struct Scanner {
  std::string_view s;
  uint8_t props(size_t i, int& len) const {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      len = 1;
      return kAscii[b];
    }
    return unicode_props(utf8_decode(s, i, len));
  }
  uint8_t props_at(size_t i) const {
    int len;
    return i < s.size() ? props(i, len) : 0;
  }
  char32_t cp_at(size_t i) const {
    int len;
    return i < s.size() ? utf8_decode(s, i, len) : 0;
  }
  // End of the run of code points starting at i whose props satisfy pred.
  template <class Pred>
  size_t run(size_t i, Pred pred) const {
    while (i < s.size()) {
      int len;
      if (!pred(props(i, len))) break;
      i += len;
    }
    return i;
  }
  static inline uint8_t kAscii[128] = {};
};

struct AsciiInit {
  AsciiInit() {
    for (int c = 0; c < 128; ++c) Scanner::kAscii[c] = unicode_props(static_cast<char32_t>(c));
  }
} ascii_init;

constexpr uint8_t kLN = kPropLetter | kPropNumber;
bool is_other(uint8_t p) { return (p & (kLN | kPropSpace)) == 0; }  // [^\s\p{L}\p{N}]

// 's|'t|'re|'ve|'m|'ll|'d at i (s[i] == '\''); returns the match length or 0.
size_t match_contraction(std::string_view s, size_t i, bool ignore_case) {
  auto low = [&](size_t k) -> char {
    if (k >= s.size()) return 0;
    const char c = s[k];
    return ignore_case && c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  };
  const char a = low(i + 1), b = low(i + 2);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if ((a == 'r' || a == 'v') && b == 'e') return 3;
  if (a == 'l' && b == 'l') return 3;
  return 0;
}

// \s+(?!\S) then \s+, for a whitespace run [i, j): the run, or all but its last code point when a
// non-space follows.
size_t match_space_run(const Scanner& sc, size_t i, size_t j) {
  if (j == sc.s.size()) return j;
  size_t last = j - 1;
  while ((static_cast<uint8_t>(sc.s[last]) & 0xC0) == 0x80) --last;
  return last > i ? last : j;
}

void push(std::vector<Piece>& out, uint32_t base, size_t b, size_t e) {
  out.push_back({base + static_cast<uint32_t>(b), base + static_cast<uint32_t>(e)});
}

}  // namespace

void split_gpt2(std::string_view s, uint32_t base, std::vector<Piece>& out) {
  const Scanner sc{s};
  for (size_t i = 0; i < s.size();) {
    size_t e = 0;
    if (s[i] == '\'') {
      if (size_t n = match_contraction(s, i, false)) e = i + n;
    }
    if (e == 0) {
      int len;
      const uint8_t p = sc.props(i, len);
      size_t k = i;                // start of the class run
      uint8_t q = p;
      if (s[i] == ' ' && i + 1 < s.size()) {
        q = sc.props_at(i + 1);
        if (q & kPropSpace) q = p;
        else k = i + 1;
      }
      if (q & kPropLetter) e = sc.run(k, [](uint8_t x) { return (x & kPropLetter) != 0; });
      else if (q & kPropNumber) e = sc.run(k, [](uint8_t x) { return (x & kPropNumber) != 0; });
      else if (!(q & kPropSpace)) e = sc.run(k, is_other);
      else e = match_space_run(sc, i, sc.run(i, [](uint8_t x) { return (x & kPropSpace) != 0; }));
    }
    push(out, base, i, e);
    i = e;
  }
}

void split_llama3(std::string_view s, uint32_t base, std::vector<Piece>& out) {
  const Scanner sc{s};
  auto is_space = [](uint8_t x) { return (x & kPropSpace) != 0; };
  for (size_t i = 0; i < s.size();) {
    size_t e = 0;
    int len;
    const uint8_t p = sc.props(i, len);
    const bool crlf = s[i] == '\r' || s[i] == '\n';
    if (s[i] == '\'') {
      if (size_t n = match_contraction(s, i, true)) e = i + n;
    }
    if (e == 0 && (p & kPropLetter)) {
      e = sc.run(i, [](uint8_t x) { return (x & kPropLetter) != 0; });
    } else if (e == 0 && !crlf && !(p & kLN) && (sc.props_at(i + len) & kPropLetter)) {
      e = sc.run(i + len, [](uint8_t x) { return (x & kPropLetter) != 0; });
    } else if (e == 0 && (p & kPropNumber)) {
      e = i + len;
      for (int n = 1; n < 3 && e < s.size() && (sc.props_at(e) & kPropNumber); ++n) {
        int l2;
        sc.props(e, l2);
        e += l2;
      }
    } else if (e == 0) {
      size_t k = i;
      if (s[i] == ' ' && is_other(sc.props_at(i + 1))) k = i + 1;
      if (is_other(sc.props_at(k)) && k < s.size()) {
        e = sc.run(k, is_other);
        while (e < s.size() && (s[e] == '\r' || s[e] == '\n')) ++e;
      } else {
        const size_t j = sc.run(i, is_space);
        size_t last_nl = 0;
        for (size_t k2 = i; k2 < j; ++k2) {
          if (s[k2] == '\r' || s[k2] == '\n') last_nl = k2 + 1;
        }
        e = last_nl ? last_nl : match_space_run(sc, i, j);
      }
    }
    push(out, base, i, e);
    i = e;
  }
}

void split_digits(std::string_view s, uint32_t base, bool individual, std::vector<Piece>& out) {
  const Scanner sc{s};
  size_t start = 0;
  for (size_t i = 0; i < s.size();) {
    int len;
    const bool num = (sc.props(i, len) & kPropNumber) != 0;
    if (num) {
      if (i > start) push(out, base, start, i);
      size_t e = individual ? i + len : sc.run(i, [](uint8_t x) { return (x & kPropNumber) != 0; });
      push(out, base, i, e);
      start = i = e;
    } else {
      i += len;
    }
  }
  if (start < s.size()) push(out, base, start, s.size());
}

void split_bert(std::string_view s, uint32_t base, std::vector<Piece>& out) {
  const Scanner sc{s};
  size_t start = 0;
  for (size_t i = 0; i < s.size();) {
    int len;
    const uint8_t p = sc.props(i, len);
    if (p & (kPropBertSpace | kPropBertPunct)) {
      if (i > start) push(out, base, start, i);
      if (p & kPropBertPunct) push(out, base, i, i + len);
      start = i + len;
    }
    i += len;
  }
  if (start < s.size()) push(out, base, start, s.size());
}

void split_whitespace(std::string_view s, uint32_t base, std::vector<Piece>& out) {
  const Scanner sc{s};
  size_t start = 0;
  for (size_t i = 0; i < s.size();) {
    int len;
    if (sc.props(i, len) & kPropBertSpace) {
      if (i > start) push(out, base, start, i);
      start = i + len;
    }
    i += len;
  }
  if (start < s.size()) push(out, base, start, s.size());
}

void split_before(std::string_view s, uint32_t base, std::string_view marker, std::vector<Piece>& out) {
  size_t start = 0;
  for (size_t i = s.find(marker, 1); i != std::string_view::npos && !marker.empty(); i = s.find(marker, i + 1)) {
    if (i > start) push(out, base, start, i);
    start = i;
  }
  if (start < s.size()) push(out, base, start, s.size());
}

}  // namespace attn::tok
