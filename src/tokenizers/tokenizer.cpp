// src/tokenizers/tokenizer.cpp — the encode pipeline (added tokens -> normalizer -> pre-tokenizers ->
// model -> post-processor), the byte-level alphabet and the accessors. Decoding is in decode.cpp,
// the models in model_bpe.cpp / model_wordpiece.cpp, the loaders in tokenizer_json.cpp,
// tokenizer_gguf.cpp and vocab_txt.cpp.
#include <attn/error.h>
#include <attn/tokenizer.h>

#include <algorithm>

#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace attn {
namespace tok {

const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

int byte_from_unicode(char32_t c) {
  static const std::array<int16_t, 324> inverse = [] {
    std::array<int16_t, 324> inv{};
    inv.fill(-1);
    for (int b = 0; b < 256; ++b) inv[byte_to_unicode()[b]] = static_cast<int16_t>(b);
    return inv;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

std::string byte_level_decode(std::string_view token) {
  std::string out;
  for (size_t i = 0; i < token.size();) {
    int len;
    const int b = byte_from_unicode(utf8_decode(token, i, len));
    if (b < 0) return std::string(token);
    out.push_back(static_cast<char>(b));
    i += len;
  }
  return out;
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) utf8_append(out, byte_to_unicode()[b]);
  return out;
}

}  // namespace tok

namespace {
using tok::Piece;
using tok::PreTokenizer;

bool is_word_char(uint8_t props) { return (props & (tok::kPropLetter | tok::kPropNumber)) != 0; }

bool bert_space_at(std::string_view s, size_t i, int& len) {
  return (tok::unicode_props(tok::utf8_decode(s, i, len)) & tok::kPropBertSpace) != 0;
}

// Metaspace: ' ' -> replacement, a replacement prepended per the scheme, then split before each one.
void metaspace(const PreTokenizer& p, bool at_start, std::string& buf, std::vector<Piece>& pieces) {
  std::string nb;
  std::vector<Piece> np;
  for (const Piece& pc : pieces) {
    std::string_view s(buf.data() + pc.begin, pc.end - pc.begin);
    const auto b = static_cast<uint32_t>(nb.size());
    const bool first = at_start && pc.begin == 0;
    if ((p.prepend == tok::Prepend::kAlways || (p.prepend == tok::Prepend::kFirst && first)) &&
        !s.starts_with(p.replacement) && !s.starts_with(' ')) {
      nb += p.replacement;
    }
    for (char c : s) {
      if (c == ' ') nb += p.replacement;
      else nb.push_back(c);
    }
    std::string_view ns(nb.data() + b, nb.size() - b);
    if (p.split) tok::split_before(ns, b, p.replacement, np);
    else if (!ns.empty()) np.push_back({b, static_cast<uint32_t>(nb.size())});
  }
  buf = std::move(nb);
  pieces = std::move(np);
}

void byte_level_prefix(std::string& buf, std::vector<Piece>& pieces) {
  std::string nb;
  std::vector<Piece> np;
  for (const Piece& pc : pieces) {
    const auto b = static_cast<uint32_t>(nb.size());
    if (buf[pc.begin] != ' ') nb.push_back(' ');
    nb.append(buf, pc.begin, pc.end - pc.begin);
    np.push_back({b, static_cast<uint32_t>(nb.size())});
  }
  buf = std::move(nb);
  pieces = std::move(np);
}

void pre_tokenize(const std::vector<PreTokenizer>& steps, bool at_start, std::string& buf,
                  std::vector<Piece>& pieces) {
  std::vector<Piece> next;
  for (const PreTokenizer& p : steps) {
    if (p.kind == PreTokenizer::Kind::kMetaspace) {
      metaspace(p, at_start, buf, pieces);
      continue;
    }
    if (p.kind == PreTokenizer::Kind::kByteLevel && p.add_prefix_space) byte_level_prefix(buf, pieces);
    if (p.kind == PreTokenizer::Kind::kByteLevel && !p.use_regex) continue;
    next.clear();
    for (const Piece& pc : pieces) {
      std::string_view s(buf.data() + pc.begin, pc.end - pc.begin);
      switch (p.kind) {
        case PreTokenizer::Kind::kBert: tok::split_bert(s, pc.begin, next); break;
        case PreTokenizer::Kind::kByteLevel:
        case PreTokenizer::Kind::kSplitGpt2: tok::split_gpt2(s, pc.begin, next); break;
        case PreTokenizer::Kind::kSplitLlama3: tok::split_llama3(s, pc.begin, next); break;
        case PreTokenizer::Kind::kDigits: tok::split_digits(s, pc.begin, p.individual_digits, next); break;
        case PreTokenizer::Kind::kWhitespaceSplit: tok::split_whitespace(s, pc.begin, next); break;
        case PreTokenizer::Kind::kMetaspace: break;
      }
    }
    pieces.swap(next);
  }
}

// A match of an added token: [begin, end) in the text, lstrip/rstrip whitespace included.
struct AddedMatch {
  size_t begin = 0, end = 0;
  int32_t id = -1;
};

// Leftmost-longest match of the added tokens with `normalized` == want_normalized, from `from`.
AddedMatch find_added(const Tokenizer::Impl& t, std::string_view s, size_t from, bool want_normalized) {
  for (size_t i = from; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!(t.added_first_bytes[c >> 6] >> (c & 63) & 1)) continue;
    const tok::AddedToken* best = nullptr;
    for (const auto& a : t.added) {  // sorted longest first
      if (a.normalized != want_normalized || !std::string_view(s).substr(i).starts_with(a.content)) continue;
      if (a.single_word) {
        int len;
        if (i > 0) {
          size_t k = i - 1;
          while (k > 0 && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) --k;
          if (is_word_char(tok::unicode_props(tok::utf8_decode(s, k, len)))) continue;
        }
        const size_t e = i + a.content.size();
        if (e < s.size() && is_word_char(tok::unicode_props(tok::utf8_decode(s, e, len)))) continue;
      }
      best = &a;
      break;
    }
    if (!best) continue;
    AddedMatch m{i, i + best->content.size(), best->id};
    int len;
    if (best->lstrip) {
      while (m.begin > from) {
        size_t k = m.begin - 1;
        while (k > from && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) --k;
        if (!bert_space_at(s, k, len)) break;
        m.begin = k;
      }
    }
    if (best->rstrip) {
      while (m.end < s.size() && bert_space_at(s, m.end, len)) m.end += len;
    }
    return m;
  }
  return {s.size(), s.size(), -1};
}

}  // namespace

// Pre-tokenizes `buf` (one normalized segment) and runs the model on each piece.
void Tokenizer::Impl::encode_normalized(std::string& buf, bool at_start, std::vector<int32_t>& out) const {
  thread_local std::vector<Piece> pieces;
  pieces.assign(1, Piece{0, static_cast<uint32_t>(buf.size())});
  pre_tokenize(pre_tokenizers, at_start, buf, pieces);
  for (const Piece& pc : pieces) {
    std::string_view w(buf.data() + pc.begin, pc.end - pc.begin);
    if (w.empty()) continue;
    if (model == Model::kBpe) bpe_word(w, out);
    else wordpiece_word(w, out);
  }
}

void Tokenizer::Impl::encode_segment(std::string_view text, bool at_start, std::vector<int32_t>& out) const {
  std::string buf = normalize(text, at_start);
  if (buf.empty()) return;
  if (!has_normalized_added) {
    encode_normalized(buf, at_start, out);
    return;
  }
  // Added tokens that match normalized text split the segment once more.
  for (size_t pos = 0; pos < buf.size();) {
    const AddedMatch m = find_added(*this, buf, pos, true);
    if (m.begin > pos) {
      std::string part = buf.substr(pos, m.begin - pos);
      encode_normalized(part, at_start && pos == 0, out);
    }
    if (m.id < 0) break;
    out.push_back(m.id);
    pos = m.end;
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const Impl& t = *impl_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (options.add_special_tokens) out.insert(out.end(), t.post_prefix.begin(), t.post_prefix.end());
  size_t pos = 0;
  while (pos <= text.size()) {
    const AddedMatch m = t.added.empty() ? AddedMatch{text.size(), text.size(), -1} : find_added(t, text, pos, false);
    if (m.begin > pos) t.encode_segment(text.substr(pos, m.begin - pos), pos == 0, out);
    if (m.id < 0) break;
    out.push_back(m.id);
    pos = m.end;
  }
  if (options.add_special_tokens) out.insert(out.end(), t.post_suffix.begin(), t.post_suffix.end());
  return out;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->tokens.size()); }

std::string_view Tokenizer::token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return impl_->tokens[id];
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  const Impl& t = *impl_;
  auto it = t.byte_level ? t.ids.find(tok::byte_level_decode(token)) : t.ids.find(token);
  if (it != t.ids.end() && t.tokens[it->second] == token) return it->second;
  return std::nullopt;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && impl_->special[id] != 0;
}

bool Tokenizer::lossless() const {
  const Impl& t = *impl_;
  const bool prefix_space = std::any_of(t.pre_tokenizers.begin(), t.pre_tokenizers.end(),
                                       [](const tok::PreTokenizer& p) { return p.add_prefix_space; });
  const bool every_byte = std::all_of(t.byte_ids.begin(), t.byte_ids.end(), [](int32_t id) { return id >= 0; });
  return t.byte_level && every_byte && t.normalizers.empty() && t.unk_id < 0 && !prefix_space &&
         std::none_of(t.added.begin(), t.added.end(), [](const tok::AddedToken& a) { return a.lstrip || a.rstrip; });
}

std::string_view Tokenizer::kind() const {
  if (impl_->model == Impl::Model::kWordPiece) return "wordpiece";
  return impl_->byte_level ? "byte-level-bpe" : "sentencepiece-bpe";
}

const std::string& Tokenizer::name() const { return impl_->name; }

}  // namespace attn
