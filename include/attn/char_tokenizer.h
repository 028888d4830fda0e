// attn/char_tokenizer.h — the character-level tokenizer of the GPT trainer: one token per
// UTF-8 character, the vocabulary being the sorted set of characters of the training text.
//
//   CharTokenizer tok = CharTokenizer::from_text(text, "input.txt");  // ids sorted by code point
//   std::vector<int32_t> ids = tok.encode("First Citizen:");
//   std::string s = tok.decode(ids);
//   std::string saved = tok.vocab_string();      // every character once: goes in the checkpoint
//   CharTokenizer again = CharTokenizer::from_vocab_string(saved);
//
// What it is not: a Hugging Face tokenizer (see attn/tokenizer.h). Text must be valid UTF-8; invalid
// bytes throw FormatError naming the source and the byte offset. Encoding a character that is not in
// the vocabulary throws ValueError naming the character (a prompt with a letter the training text
// never had).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

class CharTokenizer {
 public:
  // The vocabulary of `text`; `source` names it in errors. Throws ValueError when text is empty.
  static CharTokenizer from_text(std::string_view text, const std::string& source = "text");
  // The inverse of vocab_string(); `source` names it in errors (a checkpoint path).
  static CharTokenizer from_vocab_string(std::string_view vocab, const std::string& source = "vocab");

  std::vector<int32_t> encode(std::string_view text) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  // The text of one id; throws ValueError outside [0, vocab_size).
  const std::string& piece(int32_t id) const;
  int64_t vocab_size() const { return static_cast<int64_t>(pieces_.size()); }
  // All characters in id order, concatenated (valid UTF-8).
  std::string vocab_string() const;

 private:
  std::vector<std::string> pieces_;
  std::map<std::string, int32_t, std::less<>> ids_;
  std::string source_;
};

// Splits UTF-8 text into characters; throws FormatError "<source>: invalid UTF-8 at byte N".
std::vector<std::string_view> utf8_chars(std::string_view text, const std::string& source);

}  // namespace attn
