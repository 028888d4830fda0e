// src/tokenizers/tokenizer_json.cpp — reads a Hugging Face tokenizer.json into Tokenizer::Impl.
//
// Nothing is trusted: nesting depth is bounded before the JSON parser (which recurses) sees the
// bytes; every field's type and range is checked; every merge, special token and post-processor id
// must resolve in the vocabulary. A violation throws FormatError "FILE: FIELD: what, got VALUE".
// Components attn does not implement (Unigram, NFKC, arbitrary regexes, ...) are named the same way.
#include <attn/error.h>

#include <nlohmann/json.hpp>

#include "tokenizers/pretokenize.h"
#include "tokenizers/tokenizer_impl.h"

namespace attn {
namespace {
using json = nlohmann::json;
using tok::Decoder;
using tok::Normalizer;
using tok::PreTokenizer;

constexpr int kMaxDepth = 64;
constexpr int64_t kMaxVocab = int64_t(1) << 24;

// The two pre-tokenizer regexes attn implements by hand (pretokenize.h), as written in tokenizer.json.
constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Field access with errors that name the file and the field's path.
struct Reader {
  const std::string& file;

  std::string show(const json& v) const {
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() > 80 ? s.substr(0, 77) + "..." : s;
  }
  [[noreturn]] void fail(const std::string& path, std::string_view what, const json& v) const {
    throw FormatError(fmt::format("{}: {}: {}, got {}", file, path, what, show(v)));
  }
  const json& object(const json& v, const std::string& path) const {
    if (!v.is_object()) fail(path, "expected an object", v);
    return v;
  }
  const json& array(const json& v, const std::string& path) const {
    if (!v.is_array()) fail(path, "expected an array", v);
    return v;
  }
  const json* find(const json& o, const char* key) const {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
  }
  const json& need(const json& o, const char* key, const std::string& path) const {
    const json* v = find(o, key);
    if (!v) throw FormatError(fmt::format("{}: {}.{}: missing", file, path, key));
    return *v;
  }
  std::string str(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, "expected a string", v);
    return v.get<std::string>();
  }
  std::string str(const json& o, const char* key, const std::string& path) const {
    return str(need(o, key, path), path + "." + key);
  }
  std::string str_or(const json& o, const char* key, const std::string& path, std::string fallback) const {
    const json* v = find(o, key);
    return v && !v->is_null() ? str(*v, path + "." + key) : fallback;
  }
  bool boolean(const json& o, const char* key, const std::string& path, bool fallback) const {
    const json* v = find(o, key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_boolean()) fail(path + "." + key, "expected true or false", *v);
    return v->get<bool>();
  }
  int64_t integer(const json& v, const std::string& path, int64_t lo, int64_t hi) const {
    if (!v.is_number_integer()) fail(path, "expected an integer", v);
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi)) fail(path, fmt::format("out of range [{}, {}]", lo, hi), v);
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) fail(path, fmt::format("out of range [{}, {}]", lo, hi), v);
    return x;
  }
  std::string type(const json& o, const std::string& path) const { return str(object(o, path), "type", path); }
  tok::Prepend prepend(const json& o, const std::string& path) const {
    if (const json* v = find(o, "prepend_scheme"); v && !v->is_null()) {
      const std::string s = str(*v, path + ".prepend_scheme");
      if (s == "always") return tok::Prepend::kAlways;
      if (s == "first") return tok::Prepend::kFirst;
      if (s == "never") return tok::Prepend::kNever;
      fail(path + ".prepend_scheme", "expected \"always\", \"first\" or \"never\"", *v);
    }
    return boolean(o, "add_prefix_space", path, true) ? tok::Prepend::kAlways : tok::Prepend::kNever;
  }
  std::string pattern(const json& o, const std::string& path, const char* kind) const {
    const json& p = object(need(o, "pattern", path), path + ".pattern");
    const json* v = find(p, kind);
    if (!v || p.size() != 1) fail(path + ".pattern", fmt::format("expected {{\"{}\": ...}}", kind), p);
    return str(*v, path + ".pattern." + kind);
  }
};

// Rejects nesting deeper than kMaxDepth before nlohmann's recursive parser sees it.
void check_depth(std::string_view text, const std::string& file) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ATTN_CHECK(++depth <= kMaxDepth, FormatError, "{}: byte {}: nesting deeper than {} levels", file, i, kMaxDepth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

void read_normalizer(const Reader& r, const json& n, const std::string& path, Tokenizer::Impl& t) {
  if (n.is_null()) return;
  const std::string type = r.type(n, path);
  Normalizer out;
  if (type == "Sequence") {
    const json& list = r.array(r.need(n, "normalizers", path), path + ".normalizers");
    for (size_t i = 0; i < list.size(); ++i) read_normalizer(r, list[i], fmt::format("{}.normalizers[{}]", path, i), t);
    return;
  } else if (type == "BertNormalizer") {
    out.kind = Normalizer::Kind::kBert;
    out.clean_text = r.boolean(n, "clean_text", path, true);
    out.handle_chinese = r.boolean(n, "handle_chinese_chars", path, true);
    out.lowercase = r.boolean(n, "lowercase", path, true);
    out.strip_accents = r.boolean(n, "strip_accents", path, out.lowercase);
  } else if (type == "Lowercase") {
    out.kind = Normalizer::Kind::kLowercase;
  } else if (type == "StripAccents") {
    out.kind = Normalizer::Kind::kStripAccents;
  } else if (type == "NFD") {
    out.kind = Normalizer::Kind::kNfd;
  } else if (type == "Prepend") {
    out.kind = Normalizer::Kind::kPrepend;
    out.to = r.str(n, "prepend", path);
  } else if (type == "Replace") {
    out.kind = Normalizer::Kind::kReplace;
    out.from = r.pattern(n, path, "String");
    out.to = r.str(n, "content", path);
    if (out.from.empty()) r.fail(path + ".pattern.String", "empty pattern", n["pattern"]);
  } else {
    r.fail(path + ".type", "normalizer not supported (BertNormalizer, Lowercase, StripAccents, NFD, Prepend, Replace, Sequence)", n["type"]);
  }
  t.normalizers.push_back(std::move(out));
}

void read_pre_tokenizer(const Reader& r, const json& p, const std::string& path, Tokenizer::Impl& t) {
  if (p.is_null()) return;
  const std::string type = r.type(p, path);
  PreTokenizer out;
  if (type == "Sequence") {
    const json& list = r.array(r.need(p, "pretokenizers", path), path + ".pretokenizers");
    for (size_t i = 0; i < list.size(); ++i) read_pre_tokenizer(r, list[i], fmt::format("{}.pretokenizers[{}]", path, i), t);
    return;
  } else if (type == "BertPreTokenizer") {
    out.kind = PreTokenizer::Kind::kBert;
  } else if (type == "WhitespaceSplit") {
    out.kind = PreTokenizer::Kind::kWhitespaceSplit;
  } else if (type == "ByteLevel") {
    out.kind = PreTokenizer::Kind::kByteLevel;
    out.add_prefix_space = r.boolean(p, "add_prefix_space", path, true);
    out.use_regex = r.boolean(p, "use_regex", path, true);
    t.byte_level = true;
  } else if (type == "Digits") {
    out.kind = PreTokenizer::Kind::kDigits;
    out.individual_digits = r.boolean(p, "individual_digits", path, false);
  } else if (type == "Split") {
    const std::string re = r.pattern(p, path, "Regex");
    if (re == kGpt2Regex) out.kind = PreTokenizer::Kind::kSplitGpt2;
    else if (re == kLlama3Regex) out.kind = PreTokenizer::Kind::kSplitLlama3;
    else r.fail(path + ".pattern.Regex", "regex not supported (attn implements the GPT-2 and Llama-3 patterns)", p["pattern"]["Regex"]);
    if (r.str(p, "behavior", path) != "Isolated") r.fail(path + ".behavior", "expected \"Isolated\"", p["behavior"]);
    if (r.boolean(p, "invert", path, false)) r.fail(path + ".invert", "expected false", p["invert"]);
  } else if (type == "Metaspace") {
    out.kind = PreTokenizer::Kind::kMetaspace;
    out.replacement = r.str(p, "replacement", path);
    if (out.replacement.empty() || out.replacement.find(' ') != std::string::npos) {
      r.fail(path + ".replacement", "expected one non-space character", p["replacement"]);
    }
    out.prepend = r.prepend(p, path);
    out.split = r.boolean(p, "split", path, true);
  } else {
    r.fail(path + ".type", "pre-tokenizer not supported", p["type"]);
  }
  t.pre_tokenizers.push_back(std::move(out));
}

void read_decoder(const Reader& r, const json& d, const std::string& path, Tokenizer::Impl& t) {
  if (d.is_null()) return;
  const std::string type = r.type(d, path);
  Decoder out;
  if (type == "Sequence") {
    const json& list = r.array(r.need(d, "decoders", path), path + ".decoders");
    for (size_t i = 0; i < list.size(); ++i) read_decoder(r, list[i], fmt::format("{}.decoders[{}]", path, i), t);
    return;
  } else if (type == "WordPiece") {
    out.kind = Decoder::Kind::kWordPiece;
    out.a = r.str_or(d, "prefix", path, "##");
    out.cleanup = r.boolean(d, "cleanup", path, true);
  } else if (type == "ByteLevel") {
    out.kind = Decoder::Kind::kByteLevel;
  } else if (type == "Metaspace") {
    out.kind = Decoder::Kind::kMetaspace;
    out.a = r.str(d, "replacement", path);
    out.prepend = r.prepend(d, path);
  } else if (type == "Replace") {
    out.kind = Decoder::Kind::kReplace;
    out.a = r.pattern(d, path, "String");
    out.b = r.str(d, "content", path);
  } else if (type == "ByteFallback") {
    out.kind = Decoder::Kind::kByteFallback;
  } else if (type == "Fuse") {
    out.kind = Decoder::Kind::kFuse;
  } else if (type == "Strip") {
    out.kind = Decoder::Kind::kStrip;
    out.a = r.str(d, "content", path);
    out.start = static_cast<int>(r.integer(r.need(d, "start", path), path + ".start", 0, 1 << 20));
    out.stop = static_cast<int>(r.integer(r.need(d, "stop", path), path + ".stop", 0, 1 << 20));
  } else if (type == "BPEDecoder") {
    out.kind = Decoder::Kind::kBpeSuffix;
    out.a = r.str_or(d, "suffix", path, "</w>");
  } else {
    r.fail(path + ".type", "decoder not supported", d["type"]);
  }
  t.decoders.push_back(std::move(out));
}

int32_t special_id(const Reader& r, const json& pair, const std::string& path) {
  r.array(pair, path);
  if (pair.size() != 2) r.fail(path, "expected [token, id]", pair);
  r.str(pair[0], path + "[0]");
  return static_cast<int32_t>(r.integer(pair[1], path + "[1]", 0, kMaxVocab - 1));
}

void read_template(const Reader& r, const json& p, const std::string& path, Tokenizer::Impl& t) {
  const json& single = r.array(r.need(p, "single", path), path + ".single");
  const json& specials = r.object(r.need(p, "special_tokens", path), path + ".special_tokens");
  bool seen_a = false;
  for (size_t i = 0; i < single.size(); ++i) {
    const std::string ip = fmt::format("{}.single[{}]", path, i);
    const json& item = r.object(single[i], ip);
    if (item.size() != 1) r.fail(ip, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}", item);
    if (const json* seq = r.find(item, "Sequence")) {
      const std::string id = r.str(r.object(*seq, ip + ".Sequence"), "id", ip + ".Sequence");
      if (id != "A" || seen_a) r.fail(ip + ".Sequence.id", "expected one sequence \"A\"", (*seq)["id"]);
      seen_a = true;
    } else if (const json* sp = r.find(item, "SpecialToken")) {
      const std::string name = r.str(r.object(*sp, ip + ".SpecialToken"), "id", ip + ".SpecialToken");
      const json* entry = r.find(specials, name.c_str());
      if (!entry) r.fail(ip + ".SpecialToken.id", "not in special_tokens", (*sp)["id"]);
      const std::string ep = path + ".special_tokens." + name;
      const json& ids = r.array(r.need(r.object(*entry, ep), "ids", ep), ep + ".ids");
      for (size_t k = 0; k < ids.size(); ++k) {
        const auto id = static_cast<int32_t>(r.integer(ids[k], fmt::format("{}.ids[{}]", ep, k), 0, kMaxVocab - 1));
        (seen_a ? t.post_suffix : t.post_prefix).push_back(id);
      }
    } else {
      r.fail(ip, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}", item);
    }
  }
  if (!seen_a) r.fail(path + ".single", "no {\"Sequence\": {\"id\": \"A\"}} item", single);
}

void read_post_processor(const Reader& r, const json& p, const std::string& path, Tokenizer::Impl& t) {
  if (p.is_null()) return;
  const std::string type = r.type(p, path);
  if (type == "Sequence") {
    const json& list = r.array(r.need(p, "processors", path), path + ".processors");
    for (size_t i = 0; i < list.size(); ++i) read_post_processor(r, list[i], fmt::format("{}.processors[{}]", path, i), t);
  } else if (type == "TemplateProcessing") {
    read_template(r, p, path, t);
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    t.post_prefix.push_back(special_id(r, r.need(p, "cls", path), path + ".cls"));
    t.post_suffix.push_back(special_id(r, r.need(p, "sep", path), path + ".sep"));
  } else if (type != "ByteLevel") {
    r.fail(path + ".type", "post-processor not supported", p["type"]);
  }
}

void read_added_tokens(const Reader& r, const json& list, Tokenizer::Impl& t) {
  r.array(list, "added_tokens");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = fmt::format("added_tokens[{}]", i);
    const json& a = r.object(list[i], path);
    tok::AddedToken out;
    out.id = static_cast<int32_t>(r.integer(r.need(a, "id", path), path + ".id", 0, kMaxVocab - 1));
    out.content = r.str(a, "content", path);
    if (out.content.empty()) r.fail(path + ".content", "empty token", a["content"]);
    out.special = r.boolean(a, "special", path, false);
    out.lstrip = r.boolean(a, "lstrip", path, false);
    out.rstrip = r.boolean(a, "rstrip", path, false);
    out.single_word = r.boolean(a, "single_word", path, false);
    out.normalized = r.boolean(a, "normalized", path, !out.special);
    t.added.push_back(std::move(out));
  }
}


// model.vocab: {"token": id, ...} -> t.tokens (ids must be unique; gaps are caught by finalize()).
void read_vocab(const Reader& r, const json& m, const std::string& path, Tokenizer::Impl& t) {
  const json& vocab = r.object(r.need(m, "vocab", path), path + ".vocab");
  if (static_cast<int64_t>(vocab.size()) > kMaxVocab) r.fail(path + ".vocab", "more than 2^24 tokens", json(vocab.size()));
  t.tokens.assign(vocab.size(), std::string());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::string vp = path + ".vocab[\"" + it.key() + "\"]";
    if (it.key().empty()) r.fail(path + ".vocab", "empty token", it.value());
    const int64_t id = r.integer(it.value(), vp, 0, static_cast<int64_t>(vocab.size()) - 1);
    if (!t.tokens[id].empty()) r.fail(vp, fmt::format("id {} already belongs to '{}'", id, t.tokens[id]), it.value());
    t.tokens[id] = it.key();
  }
}

int32_t id_of(const Reader& r, const Tokenizer::Impl& t, const std::string& token, const std::string& path, const json& v) {
  auto it = t.ids.find(t.byte_level ? tok::byte_level_decode(token) : token);
  if (it == t.ids.end()) r.fail(path, "token not in model.vocab", v);
  return it->second;
}

void read_merges(const Reader& r, const json& m, const std::string& path, Tokenizer::Impl& t) {
  const json& merges = r.array(r.need(m, "merges", path), path + ".merges");
  t.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string mp = fmt::format("{}.merges[{}]", path, i);
    const json& v = merges[i];
    std::string a, b;
    if (v.is_string()) {
      const std::string s = v.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() || s.find(' ', sp + 1) != std::string::npos) {
        r.fail(mp, "expected \"left right\"", v);
      }
      a = s.substr(0, sp), b = s.substr(sp + 1);
    } else if (v.is_array() && v.size() == 2 && v[0].is_string() && v[1].is_string()) {
      a = v[0].get<std::string>(), b = v[1].get<std::string>();
    } else {
      r.fail(mp, "expected \"left right\" or [left, right]", v);
    }
    const int32_t ia = id_of(r, t, a, mp, v), ib = id_of(r, t, b, mp, v);
    std::string merged = a + (b.starts_with(t.subword_prefix) ? b.substr(t.subword_prefix.size()) : b);
    const int32_t im = id_of(r, t, merged, mp + " (merged '" + merged + "')", v);
    t.merges[(uint64_t(uint32_t(ia)) << 32) | uint32_t(ib)] = {static_cast<int32_t>(i), im};
  }
}

void read_model(const Reader& r, const json& m, Tokenizer::Impl& t) {
  const std::string path = "model";
  r.object(m, path);
  const std::string type = r.find(m, "type") ? r.str(m, "type", path) : (r.find(m, "merges") ? "BPE" : "WordPiece");
  read_vocab(r, m, path, t);
  std::string unk = r.str_or(m, "unk_token", path, "");
  if (type == "BPE") {
    t.model = Tokenizer::Impl::Model::kBpe;
    if (const json* d = r.find(m, "dropout"); d && !d->is_null()) r.fail(path + ".dropout", "dropout is not supported", *d);
    t.subword_prefix = r.str_or(m, "continuing_subword_prefix", path, "");
    t.word_suffix = r.str_or(m, "end_of_word_suffix", path, "");
    t.fuse_unk = r.boolean(m, "fuse_unk", path, false);
    t.byte_fallback = r.boolean(m, "byte_fallback", path, false);
    t.ignore_merges = r.boolean(m, "ignore_merges", path, false);
  } else if (type == "WordPiece") {
    t.model = Tokenizer::Impl::Model::kWordPiece;
    t.wp_prefix = r.str_or(m, "continuing_subword_prefix", path, "##");
    if (t.wp_prefix.empty()) r.fail(path + ".continuing_subword_prefix", "empty prefix", m["continuing_subword_prefix"]);
    if (const json* v = r.find(m, "max_input_chars_per_word")) {
      t.max_input_chars = static_cast<int32_t>(r.integer(*v, path + ".max_input_chars_per_word", 1, 1 << 20));
    }
    if (unk.empty()) r.fail(path + ".unk_token", "WordPiece needs an unk_token", r.find(m, "unk_token") ? m["unk_token"] : json());
    if (t.byte_level) r.fail("pre_tokenizer", "ByteLevel with a WordPiece model", json("ByteLevel"));
  } else {
    r.fail(path + ".type", "model not supported (attn reads BPE and WordPiece)", m["type"]);
  }
  t.finalize();
  if (!unk.empty()) t.unk_id = id_of(r, t, unk, path + ".unk_token", m["unk_token"]);
  if (t.model == Tokenizer::Impl::Model::kBpe) read_merges(r, m, path, t);
}

}  // namespace

Tokenizer Tokenizer::from_json(std::string_view text, const std::string& name) {
  check_depth(text, name);
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw FormatError(fmt::format("{}: (root): not valid JSON: {}", name, e.what()));
  }
  const Reader r{name};
  r.object(root, "(root)");
  auto impl = std::make_shared<Impl>();
  impl->name = name;
  if (const json* v = r.find(root, "added_tokens"); v && !v->is_null()) read_added_tokens(r, *v, *impl);
  if (const json* v = r.find(root, "normalizer")) read_normalizer(r, *v, "normalizer", *impl);
  if (const json* v = r.find(root, "pre_tokenizer")) read_pre_tokenizer(r, *v, "pre_tokenizer", *impl);
  if (const json* v = r.find(root, "post_processor")) read_post_processor(r, *v, "post_processor", *impl);
  if (const json* v = r.find(root, "decoder")) read_decoder(r, *v, "decoder", *impl);
  read_model(r, r.need(root, "model", "(root)"), *impl);
  for (int32_t id : impl->post_prefix) {
    ATTN_CHECK(id < static_cast<int32_t>(impl->tokens.size()), FormatError, "{}: post_processor: id {} is not in the vocabulary of {} tokens", name, id, impl->tokens.size());
  }
  for (int32_t id : impl->post_suffix) {
    ATTN_CHECK(id < static_cast<int32_t>(impl->tokens.size()), FormatError, "{}: post_processor: id {} is not in the vocabulary of {} tokens", name, id, impl->tokens.size());
  }
  return Tokenizer(std::move(impl));
}

}  // namespace attn
