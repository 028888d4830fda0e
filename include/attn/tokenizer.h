// attn/tokenizer.h — text <-> token ids, matching the Hugging Face `tokenizers` library id for id.
//
//   auto tok = attn::Tokenizer::load("models/all-MiniLM-L6-v2");        // dir, tokenizer.json,
//                                                                        // vocab.txt or *.gguf
//   std::vector<int32_t> ids = tok.encode("Hello, world!", {.add_special_tokens = true});
//   // [101, 7592, 1010, 2088, 999, 102]
//   std::string text = tok.decode(ids);                                  // "hello, world!"
//   for (int32_t id : ids) fmt::print("{} {}\n", id, tok.token(id));
//
// Three model families, chosen by the file (variants are data, not subclasses):
//   * WordPiece with BERT's basic tokenizer (lower-casing, accent stripping, punctuation and CJK
//     splitting, [UNK] for over-long words) — from tokenizer.json or vocab.txt;
//   * byte-level BPE (GPT-2, Llama-3, SmolLM2) — from tokenizer.json or GGUF metadata;
//   * SentencePiece-style BPE with the ▁ word marker and byte fallback (Llama-2, Marian) — from
//     tokenizer.json.
// A loaded Tokenizer is immutable and safe to share across threads (its word cache locks itself).
// Every field of a file is checked: a malformed one throws FormatError naming the file, the field and
// the bad value; an unreadable file throws IoError.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

class GgufFile;

struct EncodeOptions {
  bool add_special_tokens = false;  // apply the post-processor ([CLS] ... [SEP], <s> ...)
};

struct DecodeOptions {
  bool skip_special_tokens = true;
};

// The tokenizer part of a GGUF file's metadata (tokenizer.ggml.*).
struct GgufVocab {
  std::string model;                 // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama"
  std::string pre;                   // tokenizer.ggml.pre: "gpt2", "smollm", "llama-bpe", ...
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens
  std::vector<std::string> merges;   // tokenizer.ggml.merges ("a b")
  std::vector<int32_t> token_types;  // tokenizer.ggml.token_type (1 normal, 3 control, 4 user, ...)
  int64_t bos_id = -1, eos_id = -1, unk_id = -1;
  bool add_bos = false, add_eos = false;
};

class Tokenizer {
 public:
  // A directory (tokenizer.json, else vocab.txt), a tokenizer.json, a vocab.txt or a .gguf file.
  static Tokenizer load(const std::string& path);
  // `name` is used in error messages (usually the file's path).
  static Tokenizer from_json(std::string_view json, const std::string& name = "tokenizer.json");
  // BERT vocab.txt: one token per line; uncased BERT defaults (lowercase + strip accents).
  static Tokenizer from_vocab_txt(std::string_view text, const std::string& name = "vocab.txt",
                                  bool lowercase = true);
  static Tokenizer from_gguf(const GgufFile& file);
  static Tokenizer from_gguf_vocab(const GgufVocab& vocab, const std::string& name = "gguf");

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
  // Exact bytes: a byte-level tokenizer returns the bytes it encoded, even when they are not UTF-8.
  std::string decode(std::span<const int32_t> ids, const DecodeOptions& options = {}) const;

  int32_t vocab_size() const;
  // The token as written in the file ("Ġworld", "##ing", "▁the", "<0x0A>"); "" when out of range.
  std::string_view token(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  bool is_special(int32_t id) const;
  // True when decode(encode(x), {.skip_special_tokens = false}) == x for every x: byte-level BPE
  // with a token for each of the 256 bytes, no normalizer, no added prefix space, no stripping.
  bool lossless() const;
  // "wordpiece", "byte-level-bpe" or "sentencepiece-bpe".
  std::string_view kind() const;
  const std::string& name() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace attn
