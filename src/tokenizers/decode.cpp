// src/tokenizers/decode.cpp — ids back to text through the file's decoder chain (WordPiece,
// ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip), and Impl::finalize, which checks a loaded
// vocabulary and builds the lookup tables. Unlike the Python library, byte-level and byte-fallback
// decoding return the exact bytes, not U+FFFD for a sequence that is not UTF-8.
#include <attn/error.h>

#include <algorithm>

#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace attn {
namespace {
using tok::Decoder;

// BERT's clean_up_tokenization.
std::string cleanup(std::string s) {
  static const std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    std::string out;
    size_t pos = 0;
    for (size_t k = s.find(from); k != std::string::npos; k = s.find(from, pos)) {
      out.append(s, pos, k - pos).append(to);
      pos = k + from.size();
    }
    s = out.append(s, pos);
  }
  return s;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (size_t k = from.empty() ? std::string_view::npos : s.find(from); k != std::string_view::npos; k = s.find(from, pos)) {
    out.append(s.substr(pos, k - pos)).append(to);
    pos = k + from.size();
  }
  return out.append(s.substr(pos));
}

int byte_token(std::string_view t) {  // "<0x41>" -> 0x41, else -1
  if (t.size() != 6 || !t.starts_with("<0x") || t[5] != '>') return -1;
  int v = 0;
  for (char c : t.substr(3, 2)) {
    v *= 16;
    if (c >= '0' && c <= '9') v += c - '0';
    else if (c >= 'A' && c <= 'F') v += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v += c - 'a' + 10;
    else return -1;
  }
  return v;
}

void apply(const Decoder& d, std::vector<std::string>& toks) {
  switch (d.kind) {
    case Decoder::Kind::kWordPiece:
      for (size_t i = 0; i < toks.size(); ++i) {
        if (i > 0) toks[i] = toks[i].starts_with(d.a) ? toks[i].substr(d.a.size()) : " " + toks[i];
        if (d.cleanup) toks[i] = cleanup(std::move(toks[i]));
      }
      break;
    case Decoder::Kind::kByteLevel: {
      std::string all;
      for (const auto& t : toks) all += tok::byte_level_decode(t);
      toks.assign(1, std::move(all));
      break;
    }
    case Decoder::Kind::kMetaspace:
      for (size_t i = 0; i < toks.size(); ++i) {
        toks[i] = replace_all(toks[i], d.a, " ");
        if (i == 0 && d.prepend != tok::Prepend::kNever && toks[i].starts_with(' ')) toks[i].erase(0, 1);
      }
      break;
    case Decoder::Kind::kReplace:
      for (auto& t : toks) t = replace_all(t, d.a, d.b);
      break;
    case Decoder::Kind::kByteFallback: {
      std::vector<std::string> out;
      std::string bytes;
      for (auto& t : toks) {
        const int b = byte_token(t);
        if (b >= 0) {
          bytes.push_back(static_cast<char>(b));
          continue;
        }
        if (!bytes.empty()) out.push_back(std::move(bytes));
        bytes.clear();
        out.push_back(std::move(t));
      }
      if (!bytes.empty()) out.push_back(std::move(bytes));
      toks = std::move(out);
      break;
    }
    case Decoder::Kind::kFuse: {
      std::string all;
      for (const auto& t : toks) all += t;
      toks.assign(1, std::move(all));
      break;
    }
    case Decoder::Kind::kStrip:
      for (auto& t : toks) {
        for (int k = 0; k < d.start && t.starts_with(d.a); ++k) t.erase(0, d.a.size());
        for (int k = 0; k < d.stop && t.ends_with(d.a); ++k) t.erase(t.size() - d.a.size());
      }
      break;
    case Decoder::Kind::kBpeSuffix:
      for (size_t i = 0; i < toks.size(); ++i) toks[i] = replace_all(toks[i], d.a, i + 1 == toks.size() ? "" : " ");
      break;
  }
}
}  // namespace

std::string Tokenizer::decode(std::span<const int32_t> ids, const DecodeOptions& options) const {
  const Impl& t = *impl_;
  std::vector<std::string> toks;
  toks.reserve(ids.size());
  for (int32_t id : ids) {
    ATTN_CHECK(id >= 0 && id < vocab_size(), ValueError, "{}: token id {} is outside the vocabulary [0, {})",
               t.name, id, vocab_size());
    if (options.skip_special_tokens && t.special[id]) continue;
    toks.push_back(t.tokens[id]);
  }
  for (const auto& d : t.decoders) apply(d, toks);
  std::string out;
  for (const auto& s : toks) out += s;
  return out;
}

void Tokenizer::Impl::finalize() {
  // Added tokens: in the vocabulary at their id, or appended past its end.
  for (size_t k = 0; k < added.size(); ++k) {
    const auto& a = added[k];
    ATTN_CHECK(a.id >= 0 && a.id < (1 << 24), FormatError, "{}: added_tokens[{}].id: {} is not a valid id", name, k, a.id);
    ATTN_CHECK(!a.content.empty(), FormatError, "{}: added_tokens[{}].content: empty token", name, k);
    // Ids past the vocabulary must follow it without gaps: this bounds the allocation by the file.
    ATTN_CHECK(static_cast<size_t>(a.id) < tokens.size() + added.size(), FormatError,
               "{}: added_tokens[{}].id: {} leaves a gap after the vocabulary of {} tokens", name, k, a.id, tokens.size());
    if (static_cast<size_t>(a.id) >= tokens.size()) tokens.resize(a.id + 1);
    ATTN_CHECK(tokens[a.id].empty() || tokens[a.id] == a.content, FormatError,
               "{}: added_tokens[{}]: id {} is '{}' in the vocabulary but '{}' here", name, k, a.id, tokens[a.id], a.content);
    tokens[a.id] = a.content;
  }
  for (size_t id = 0; id < tokens.size(); ++id) {
    ATTN_CHECK(!tokens[id].empty(), FormatError, "{}: model.vocab: no token has id {} (ids must be 0..{})", name, id,
               tokens.size() - 1);
  }
  special.assign(tokens.size(), 0);
  for (const auto& a : added) special[a.id] = a.special ? 1 : 0;
  std::stable_sort(added.begin(), added.end(), [](const auto& x, const auto& y) { return x.content.size() > y.content.size(); });
  added_first_bytes = {};
  has_normalized_added = false;
  for (const auto& a : added) {
    const auto c = static_cast<unsigned char>(a.content[0]);
    added_first_bytes[c >> 6] |= uint64_t(1) << (c & 63);
    has_normalized_added |= a.normalized;
  }
  pieces.resize(tokens.size());
  ids.clear();
  ids.reserve(tokens.size() * 2);
  max_piece_bytes = 1;
  for (size_t id = 0; id < tokens.size(); ++id) {
    pieces[id] = byte_level ? tok::byte_level_decode(tokens[id]) : tokens[id];
    ids.emplace(pieces[id], static_cast<int32_t>(id));
    max_piece_bytes = std::max(max_piece_bytes, pieces[id].size());
  }
  byte_ids.fill(-1);
  for (int b = 0; b < 256; ++b) {
    if (byte_level) {
      if (auto it = ids.find(std::string(1, static_cast<char>(b))); it != ids.end()) byte_ids[b] = it->second;
    } else if (byte_fallback) {
      if (auto it = ids.find(fmt::format("<0x{:02X}>", b)); it != ids.end()) byte_ids[b] = it->second;
    }
  }
  continuation_ids.clear();
  if (model == Model::kWordPiece) {
    for (size_t id = 0; id < tokens.size(); ++id) {
      if (tokens[id].starts_with(wp_prefix)) continuation_ids.emplace(tokens[id].substr(wp_prefix.size()), static_cast<int32_t>(id));
    }
  }
}

}  // namespace attn
