// tokenizers/char_tokenizer.cpp — the character tokenizer (see char_tokenizer.h).
#include <attn/char_tokenizer.h>

#include <attn/error.h>

#include <set>

namespace attn {

namespace {
// Length of the UTF-8 sequence starting at text[i], or 0 when it is not a valid one.
size_t utf8_length(std::string_view text, size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}
}  // namespace

std::vector<std::string_view> utf8_chars(std::string_view text, const std::string& source) {
  std::vector<std::string_view> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_length(text, i);
    ATTN_CHECK(n > 0, FormatError, "{}: invalid UTF-8 at byte {} (0x{:02x})", source, i,
               static_cast<unsigned char>(text[i]));
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

CharTokenizer CharTokenizer::from_text(std::string_view text, const std::string& source) {
  ATTN_CHECK(!text.empty(), ValueError, "{}: the text is empty, there is no vocabulary to build", source);
  std::set<std::string_view> chars;
  for (std::string_view c : utf8_chars(text, source)) chars.insert(c);
  CharTokenizer t;
  t.source_ = source;
  for (std::string_view c : chars) {  // byte order of UTF-8 == code point order
    t.ids_.emplace(std::string(c), static_cast<int32_t>(t.pieces_.size()));
    t.pieces_.emplace_back(c);
  }
  return t;
}

CharTokenizer CharTokenizer::from_vocab_string(std::string_view vocab, const std::string& source) {
  ATTN_CHECK(!vocab.empty(), FormatError, "{}: the character vocabulary is empty", source);
  CharTokenizer t;
  t.source_ = source;
  for (std::string_view c : utf8_chars(vocab, source)) {
    ATTN_CHECK(t.ids_.emplace(std::string(c), static_cast<int32_t>(t.pieces_.size())).second, FormatError,
               "{}: the character vocabulary lists '{}' twice", source, c);
    t.pieces_.emplace_back(c);
  }
  return t;
}

std::vector<int32_t> CharTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (std::string_view c : utf8_chars(text, "text to encode")) {
    auto it = ids_.find(c);
    ATTN_CHECK(it != ids_.end(), ValueError, "character '{}' is not in the vocabulary of {} ({} characters)",
               c == "\n" ? "\\n" : std::string(c), source_, pieces_.size());
    ids.push_back(it->second);
  }
  return ids;
}

const std::string& CharTokenizer::piece(int32_t id) const {
  ATTN_CHECK(id >= 0 && id < static_cast<int32_t>(pieces_.size()), ValueError,
             "token id {} is outside the vocabulary of {} ([0, {}))", id, source_, pieces_.size());
  return pieces_[static_cast<size_t>(id)];
}

std::string CharTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string s;
  for (int32_t id : ids) s += piece(id);
  return s;
}

std::string CharTokenizer::vocab_string() const {
  std::string s;
  for (const auto& p : pieces_) s += p;
  return s;
}

}  // namespace attn
