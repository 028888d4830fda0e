// src/tokenizers/normalize.cpp — the normalizers: BERT's (clean text, CJK spacing, accent stripping,
// lower-casing, in that order, as the `tokenizers` library applies them), Lowercase, StripAccents, NFD,
// Prepend and Replace.
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace attn {
namespace {
using tok::Normalizer;

bool is_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// clean_text + handle_chinese_chars: drop controls, U+0000 and U+FFFD; whitespace -> ' '; CJK ideographs
// get a space on each side.
std::string bert_clean(std::string_view s, const Normalizer& n) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    int len;
    const char32_t c = tok::utf8_decode(s, i, len);
    const uint8_t p = tok::unicode_props(c);
    i += len;
    if (n.clean_text) {
      if (c == 0 || c == 0xFFFD || (p & tok::kPropBertControl)) continue;
      if (p & tok::kPropBertSpace) {
        out.push_back(' ');
        continue;
      }
    }
    if (n.handle_chinese && tok::unicode_is_cjk(c)) {
      out.push_back(' ');
      tok::utf8_append(out, c);
      out.push_back(' ');
      continue;
    }
    tok::utf8_append(out, c);
  }
  return out;
}

std::string strip_marks(std::string_view s, uint8_t mark_bit) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    int len;
    const char32_t c = tok::utf8_decode(s, i, len);
    if (!(tok::unicode_props(c) & mark_bit)) out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    int len;
    const char32_t c = tok::utf8_decode(s, i, len);
    tok::unicode_lower_append(c, out);
    i += len;
  }
  return out;
}

// BERT normalization of pure ASCII text in one pass (the common case).
std::string bert_ascii(std::string_view s, const Normalizer& n) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (n.clean_text) {
      const uint8_t p = tok::unicode_props(c);
      if (c == 0 || (p & tok::kPropBertControl)) continue;
      if (p & tok::kPropBertSpace) {
        out.push_back(' ');
        continue;
      }
    }
    out.push_back(n.lowercase && c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : ch);
  }
  return out;
}

std::string apply(const Normalizer& n, std::string s) {
  switch (n.kind) {
    case Normalizer::Kind::kBert: {
      if (is_ascii(s)) return bert_ascii(s, n);
      std::string t = bert_clean(s, n);
      if (n.strip_accents) {
        std::string d;
        tok::unicode_nfd(t, d);
        t = strip_marks(d, tok::kPropMark);
      }
      return n.lowercase ? lowercase(t) : t;
    }
    case Normalizer::Kind::kLowercase:
      return lowercase(s);
    case Normalizer::Kind::kStripAccents:
      return strip_marks(s, tok::kPropAnyMark);
    case Normalizer::Kind::kNfd: {
      if (is_ascii(s)) return s;
      std::string d;
      tok::unicode_nfd(s, d);
      return d;
    }
    case Normalizer::Kind::kPrepend:
      return s.empty() ? s : n.to + s;
    case Normalizer::Kind::kReplace: {
      if (n.from.empty()) return s;
      std::string out;
      size_t pos = 0;
      for (size_t k = s.find(n.from); k != std::string::npos; k = s.find(n.from, pos)) {
        out.append(s, pos, k - pos).append(n.to);
        pos = k + n.from.size();
      }
      return out.append(s, pos);
    }
  }
  return s;
}
}  // namespace

std::string Tokenizer::Impl::normalize(std::string_view text, bool at_start) const {
  std::string s(text);
  for (const auto& n : normalizers) s = apply(n, std::move(s));
  return s;
}

}  // namespace attn
