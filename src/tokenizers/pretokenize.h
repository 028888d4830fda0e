// src/tokenizers/pretokenize.h — the pre-tokenizer splits, each a hand-written matcher of one specific
// pattern (std::regex knows no \p{L}). A split appends [begin, end) byte ranges of `s`, offset by
// `base`, to `out`; together the ranges cover `s` except where a rule drops characters (BERT's
// whitespace).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace attn::tok {

struct Piece {
  uint32_t begin = 0;
  uint32_t end = 0;
};

// GPT-2's ByteLevel regex:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void split_gpt2(std::string_view s, uint32_t base, std::vector<Piece>& out);
// Llama-3's Split regex (SmolLM3, Llama-3.x and others):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
void split_llama3(std::string_view s, uint32_t base, std::vector<Piece>& out);
// HF Digits: numbers isolated one code point each (individual) or as contiguous runs.
void split_digits(std::string_view s, uint32_t base, bool individual, std::vector<Piece>& out);
// BERT's BasicTokenizer split: whitespace removed, each punctuation character its own piece.
void split_bert(std::string_view s, uint32_t base, std::vector<Piece>& out);
// WhitespaceSplit: runs of non-whitespace.
void split_whitespace(std::string_view s, uint32_t base, std::vector<Piece>& out);
// Splits before every occurrence of `marker` (Metaspace's split: the marker starts a new piece).
void split_before(std::string_view s, uint32_t base, std::string_view marker, std::vector<Piece>& out);

}  // namespace attn::tok
