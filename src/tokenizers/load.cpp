// src/tokenizers/load.cpp — Tokenizer::load (directory, tokenizer.json, vocab.txt or GGUF), BERT's
// vocab.txt and GGUF metadata (tokenizer.ggml.*), each turned into the same Impl as tokenizer.json.
#include <attn/error.h>
#include <attn/gguf.h>
#include <attn/tokenizer.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace attn {
namespace {
namespace fs = std::filesystem;
using tok::Decoder;
using tok::Normalizer;
using tok::PreTokenizer;

constexpr uintmax_t kMaxFileBytes = uintmax_t(1) << 30;

std::string read_file(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  ATTN_CHECK(!ec, IoError, "{}: cannot read: {}", path, ec.message());
  ATTN_CHECK(size <= kMaxFileBytes, FormatError, "{}: file size: {} bytes is over the 1 GiB limit for a tokenizer", path, size);
  std::ifstream in(path, std::ios::binary);
  ATTN_CHECK(in.good(), IoError, "{}: cannot open for reading", path);
  std::string data(static_cast<size_t>(size), '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  ATTN_CHECK(in.gcount() == static_cast<std::streamsize>(size), IoError, "{}: short read ({} of {} bytes)", path, in.gcount(), size);
  return data;
}

// BERT's special tokens, added when the vocabulary has them.
void add_bert_specials(Tokenizer::Impl& t) {
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    for (size_t id = 0; id < t.tokens.size(); ++id) {
      if (t.tokens[id] == s) {
        t.added.push_back({.id = static_cast<int32_t>(id), .content = s, .special = true});
        break;
      }
    }
  }
}

int32_t find_token(const Tokenizer::Impl& t, std::string_view s) {
  auto it = t.ids.find(s);
  return it == t.ids.end() ? -1 : it->second;
}

// The pre-tokenizer chain llama.cpp names by tokenizer.ggml.pre.
void gguf_pre_tokenizers(const GgufVocab& v, const std::string& name, Tokenizer::Impl& t) {
  const std::string& pre = v.pre.empty() ? std::string("gpt2") : v.pre;
  if (pre == "gpt2" || pre == "default") {
    t.pre_tokenizers.push_back({.kind = PreTokenizer::Kind::kByteLevel});
  } else if (pre == "smollm" || pre == "starcoder" || pre == "refact") {
    t.pre_tokenizers.push_back({.kind = PreTokenizer::Kind::kDigits, .individual_digits = true});
    t.pre_tokenizers.push_back({.kind = PreTokenizer::Kind::kByteLevel});
  } else if (pre == "llama-bpe" || pre == "llama3" || pre == "smollm3") {
    t.pre_tokenizers.push_back({.kind = PreTokenizer::Kind::kSplitLlama3});
    t.pre_tokenizers.push_back({.kind = PreTokenizer::Kind::kByteLevel, .use_regex = false});
    t.ignore_merges = true;
  } else {
    throw FormatError(fmt::format("{}: tokenizer.ggml.pre: pre-tokenizer '{}' is not supported (gpt2, smollm, starcoder, llama-bpe)", name, pre));
  }
}
}  // namespace

Tokenizer Tokenizer::from_vocab_txt(std::string_view text, const std::string& name, bool lowercase) {
  auto impl = std::make_shared<Impl>();
  Impl& t = *impl;
  t.name = name;
  t.model = Impl::Model::kWordPiece;
  tok::StringMap first_line;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size(); ++line_no) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    pos = end + 1;
    ATTN_CHECK(!line.empty() || pos >= text.size(), FormatError, "{}: line {}: empty token", name, line_no + 1);
    if (line.empty()) break;
    ATTN_CHECK(tok::utf8_valid(line), FormatError, "{}: line {}: token is not valid UTF-8", name, line_no + 1);
    auto [it, fresh] = first_line.emplace(std::string(line), static_cast<int32_t>(line_no + 1));
    ATTN_CHECK(fresh, FormatError, "{}: line {}: duplicate token '{}' (first on line {})", name, line_no + 1, line, it->second);
    t.tokens.emplace_back(line);
  }
  ATTN_CHECK(!t.tokens.empty(), FormatError, "{}: no tokens", name);
  t.normalizers.push_back({.kind = Normalizer::Kind::kBert, .strip_accents = lowercase, .lowercase = lowercase});
  t.pre_tokenizers.push_back({.kind = PreTokenizer::Kind::kBert});
  t.decoders.push_back({.kind = Decoder::Kind::kWordPiece, .a = "##", .cleanup = true});
  t.finalize();
  add_bert_specials(t);
  t.finalize();
  t.unk_id = find_token(t, "[UNK]");
  ATTN_CHECK(t.unk_id >= 0, FormatError, "{}: [UNK]: missing from the vocabulary", name);
  if (int32_t cls = find_token(t, "[CLS]"), sep = find_token(t, "[SEP]"); cls >= 0 && sep >= 0) {
    t.post_prefix = {cls};
    t.post_suffix = {sep};
  }
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_gguf_vocab(const GgufVocab& v, const std::string& name) {
  ATTN_CHECK(v.model == "gpt2", FormatError, "{}: tokenizer.ggml.model: '{}' is not supported (attn reads 'gpt2' byte-level BPE from GGUF)", name, v.model);
  ATTN_CHECK(!v.tokens.empty() && v.tokens.size() < (size_t(1) << 24), FormatError, "{}: tokenizer.ggml.tokens: {} tokens", name, v.tokens.size());
  ATTN_CHECK(v.token_types.empty() || v.token_types.size() == v.tokens.size(), FormatError,
             "{}: tokenizer.ggml.token_type: {} entries for {} tokens", name, v.token_types.size(), v.tokens.size());
  auto impl = std::make_shared<Impl>();
  Impl& t = *impl;
  t.name = name;
  t.model = Impl::Model::kBpe;
  t.byte_level = true;
  t.tokens = v.tokens;
  gguf_pre_tokenizers(v, name, t);
  t.decoders.push_back({.kind = Decoder::Kind::kByteLevel});
  for (size_t id = 0; id < v.token_types.size(); ++id) {
    const int32_t type = v.token_types[id];
    ATTN_CHECK(type >= 0 && type <= 6, FormatError, "{}: tokenizer.ggml.token_type[{}]: unknown type {}", name, id, type);
    if (type == 3 || type == 4) {  // control -> special; user-defined -> added
      t.added.push_back({.id = static_cast<int32_t>(id), .content = v.tokens[id], .special = type == 3});
    }
  }
  for (size_t id = 0; id < t.tokens.size(); ++id) {
    ATTN_CHECK(!t.tokens[id].empty(), FormatError, "{}: tokenizer.ggml.tokens[{}]: empty token", name, id);
  }
  t.finalize();
  ATTN_CHECK(t.ids.size() == t.tokens.size(), FormatError, "{}: tokenizer.ggml.tokens: duplicate tokens ({} distinct of {})", name, t.ids.size(), t.tokens.size());
  for (size_t i = 0; i < v.merges.size(); ++i) {
    const std::string& m = v.merges[i];
    const size_t sp = m.find(' ');
    ATTN_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < m.size() && m.find(' ', sp + 1) == std::string::npos, FormatError,
               "{}: tokenizer.ggml.merges[{}]: expected \"left right\", got '{}'", name, i, m);
    const std::string a = tok::byte_level_decode(m.substr(0, sp)), b = tok::byte_level_decode(m.substr(sp + 1));
    const int32_t ia = find_token(t, a), ib = find_token(t, b), im = find_token(t, a + b);
    ATTN_CHECK(ia >= 0 && ib >= 0 && im >= 0, FormatError, "{}: tokenizer.ggml.merges[{}]: '{}' names a token that is not in tokenizer.ggml.tokens", name, i, m);
    t.merges[(uint64_t(uint32_t(ia)) << 32) | uint32_t(ib)] = {static_cast<int32_t>(i), im};
  }
  const auto n = static_cast<int64_t>(t.tokens.size());
  ATTN_CHECK(v.bos_id < n && v.eos_id < n && v.unk_id < n, FormatError, "{}: tokenizer.ggml.bos/eos/unknown_token_id: {}/{}/{} outside {} tokens", name, v.bos_id, v.eos_id, v.unk_id, n);
  if (v.add_bos && v.bos_id >= 0) t.post_prefix = {static_cast<int32_t>(v.bos_id)};
  if (v.add_eos && v.eos_id >= 0) t.post_suffix = {static_cast<int32_t>(v.eos_id)};
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_gguf(const GgufFile& f) {
  GgufVocab v;
  v.model = f.get_string("tokenizer.ggml.model");
  v.pre = f.get_string_or("tokenizer.ggml.pre", "");
  v.tokens = f.get_strings("tokenizer.ggml.tokens");
  if (f.contains("tokenizer.ggml.merges")) v.merges = f.get_strings("tokenizer.ggml.merges");
  if (f.contains("tokenizer.ggml.token_type")) {
    for (int64_t x : f.get_array("tokenizer.ggml.token_type").to_i64()) {
      ATTN_CHECK(x >= 0 && x <= 6, FormatError, "{}: tokenizer.ggml.token_type: unknown type {}", f.path(), x);
      v.token_types.push_back(static_cast<int32_t>(x));
    }
  }
  v.bos_id = f.get_int_or("tokenizer.ggml.bos_token_id", -1);
  v.eos_id = f.get_int_or("tokenizer.ggml.eos_token_id", -1);
  v.unk_id = f.get_int_or("tokenizer.ggml.unknown_token_id", -1);
  if (f.contains("tokenizer.ggml.add_bos_token")) v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token");
  if (f.contains("tokenizer.ggml.add_eos_token")) v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token");
  return from_gguf_vocab(v, f.path());
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::error_code ec;
  ATTN_CHECK(fs::exists(path, ec), IoError, "{}: no such file or directory", path);
  if (fs::is_directory(path, ec)) {
    for (const char* f : {"tokenizer.json", "vocab.txt"}) {
      if (fs::exists(fs::path(path) / f, ec)) return load((fs::path(path) / f).string());
    }
    throw IoError(fmt::format("{}: holds neither tokenizer.json nor vocab.txt", path));
  }
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".gguf") return from_gguf(GgufFile::open(path));
  if (ext == ".txt") return from_vocab_txt(read_file(path), path);
  return from_json(read_file(path), path);
}

}  // namespace attn
