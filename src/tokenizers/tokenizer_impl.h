// src/tokenizers/tokenizer_impl.h — the data a Tokenizer is made of, shared by the loaders
// (tokenizer_json.cpp, tokenizer_gguf.cpp, vocab_txt) and the pipeline (tokenizer.cpp).
//
// The pipeline is Hugging Face's: added tokens are split off the raw text; each remaining segment is
// normalized, pre-tokenized into pieces and each piece is turned into ids by the model (BPE or
// WordPiece); the post-processor adds [CLS]/[SEP] or <s>. Every stage is plain data chosen by the
// file; there are no subclasses.
#pragma once

#include <attn/tokenizer.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/pretokenize.h"

namespace attn {

namespace tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept {
    uint64_t h = 1469598103934665603ull;  // FNV-1a: short tokens, good enough spread
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};
using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

enum class Prepend { kAlways, kFirst, kNever };

struct Normalizer {
  enum class Kind { kBert, kLowercase, kStripAccents, kNfd, kPrepend, kReplace };
  Kind kind = Kind::kBert;
  bool clean_text = true, handle_chinese = true, strip_accents = true, lowercase = true;  // kBert
  std::string from{}, to{};  // kReplace: from -> to; kPrepend: to
};

struct PreTokenizer {
  enum class Kind { kBert, kByteLevel, kSplitGpt2, kSplitLlama3, kDigits, kMetaspace, kWhitespaceSplit };
  Kind kind = Kind::kBert;
  bool add_prefix_space = false;   // kByteLevel
  bool use_regex = true;           // kByteLevel
  bool individual_digits = false;  // kDigits
  std::string replacement{};       // kMetaspace
  Prepend prepend = Prepend::kAlways;
  bool split = true;               // kMetaspace
};

struct Decoder {
  enum class Kind { kWordPiece, kByteLevel, kMetaspace, kReplace, kByteFallback, kFuse, kStrip, kBpeSuffix };
  Kind kind = Kind::kByteLevel;
  std::string a{}, b{};  // kWordPiece: a = prefix; kReplace: a -> b; kMetaspace: a = replacement; kStrip: a
  bool cleanup = false;
  Prepend prepend = Prepend::kAlways;
  int start = 0, stop = 0;  // kStrip
};

struct AddedToken {
  int32_t id = 0;
  std::string content{};
  bool special = false, lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// A BPE merge result: rank (lower merges first) and the id of the merged token.
struct Merge {
  int32_t rank;
  int32_t id;
};

}  // namespace tok

struct Tokenizer::Impl {
  enum class Model { kBpe, kWordPiece };
  std::string name;
  Model model = Model::kBpe;

  // Vocabulary: tokens_[id] is the token as in the file; pieces_[id] the bytes it stands for (the
  // byte-level alphabet undone; identical to the token otherwise). ids_ maps pieces to ids.
  std::vector<std::string> tokens;
  std::vector<std::string> pieces;
  tok::StringMap ids;
  std::vector<uint8_t> special;  // per id: 1 when a special added token

  std::vector<tok::Normalizer> normalizers;
  std::vector<tok::PreTokenizer> pre_tokenizers;
  std::vector<tok::Decoder> decoders;
  std::vector<tok::AddedToken> added;
  std::vector<int32_t> post_prefix, post_suffix;  // single-sequence template around the ids

  bool byte_level = false;  // pieces are raw bytes; BPE starts from one symbol per byte
  int32_t unk_id = -1;

  // BPE
  std::unordered_map<uint64_t, tok::Merge> merges;  // (left id << 32 | right id) -> merge
  std::array<int32_t, 256> byte_ids{};               // byte-level symbol or <0xXX> fallback, -1 if none
  bool byte_fallback = false, fuse_unk = false, ignore_merges = false;
  std::string subword_prefix, word_suffix;           // BPE continuing_subword_prefix / end_of_word_suffix

  // WordPiece: continuation tokens with the prefix removed, for lookups without building strings.
  tok::StringMap continuation_ids;
  std::string wp_prefix = "##";
  int32_t max_input_chars = 100;
  size_t max_piece_bytes = 1;  // longest piece in the vocabulary (bounds WordPiece's search)

  // Word cache for BPE: piece -> ids. Filled up to a bound; a busy lock is skipped, never waited on.
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>, tok::StringHash, std::equal_to<>> cache;

  // ---- built by finalize() ----
  std::array<uint64_t, 4> added_first_bytes{};  // bitset of first bytes of added tokens
  bool has_normalized_added = false;
  void finalize();  // checks cross-references, builds lookup tables; FormatError on a bad vocabulary

  // ---- pipeline (tokenizer.cpp, model_bpe.cpp, model_wordpiece.cpp) ----
  void encode_segment(std::string_view text, bool at_start, std::vector<int32_t>& out) const;
  void encode_normalized(std::string& buf, bool at_start, std::vector<int32_t>& out) const;
  void bpe_word(std::string_view piece, std::vector<int32_t>& out) const;
  void bpe_merge(std::vector<int32_t>& symbols) const;
  void wordpiece_word(std::string_view piece, std::vector<int32_t>& out) const;
  std::string normalize(std::string_view text, bool at_start) const;
};

namespace tok {
// GPT-2's byte <-> unicode alphabet: printable bytes map to themselves, the rest to U+0100...
const std::array<char32_t, 256>& byte_to_unicode();
int byte_from_unicode(char32_t c);  // -1 when c is not in the alphabet
// The bytes a byte-level token stands for; the token's own UTF-8 when any char is outside the alphabet.
std::string byte_level_decode(std::string_view token);
std::string byte_level_encode(std::string_view bytes);
}  // namespace tok

}  // namespace attn
