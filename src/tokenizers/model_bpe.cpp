// src/tokenizers/model_bpe.cpp — BPE on one pre-tokenized piece, as the `tokenizers` library does it:
//   1. initial symbols: one per byte (byte-level) or per code point (SentencePiece style; a code point
//      missing from the vocabulary becomes its <0xXX> byte tokens with byte_fallback, else [UNK],
//      consecutive [UNK]s fused when fuse_unk);
//   2. repeatedly merge the adjacent pair with the lowest merge rank, leftmost first (a min-heap of
//      candidate pairs; stale entries are skipped when popped);
//   3. remember the result per piece in a bounded cache.
#include <algorithm>

#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace attn {
namespace {

constexpr size_t kCacheMaxEntries = 1 << 17;
constexpr size_t kCacheMaxPieceBytes = 256;

struct Symbol {
  int32_t id;
  int32_t prev, next;
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t id;
  // std heap is a max-heap: "greater" means lower priority.
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

}  // namespace

void Tokenizer::Impl::bpe_merge(std::vector<int32_t>& ids_inout) const {
  const size_t n = ids_inout.size();
  if (n < 2) return;
  thread_local std::vector<Symbol> sym;
  thread_local std::vector<Candidate> heap;
  sym.resize(n);
  heap.clear();
  for (size_t i = 0; i < n; ++i) {
    sym[i] = {ids_inout[i], static_cast<int32_t>(i) - 1, i + 1 < n ? static_cast<int32_t>(i + 1) : -1, true};
  }
  auto push = [&](int32_t pos, int32_t a, int32_t b) {
    auto it = merges.find(pair_key(a, b));
    if (it == merges.end()) return;
    heap.push_back({it->second.rank, pos, it->second.id});
    std::push_heap(heap.begin(), heap.end());
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i), sym[i].id, sym[i + 1].id);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& cur = sym[top.pos];
    if (!cur.alive || cur.next < 0) continue;
    Symbol& right = sym[cur.next];
    auto it = merges.find(pair_key(cur.id, right.id));
    if (it == merges.end() || it->second.id != top.id) continue;
    cur.id = top.id;
    right.alive = false;
    cur.next = right.next;
    if (cur.next >= 0) sym[cur.next].prev = top.pos;
    if (cur.prev >= 0) push(cur.prev, sym[cur.prev].id, cur.id);
    if (cur.next >= 0) push(top.pos, cur.id, sym[cur.next].id);
  }
  ids_inout.clear();
  for (int32_t i = 0; i >= 0; i = sym[i].next) ids_inout.push_back(sym[i].id);
}

void Tokenizer::Impl::bpe_word(std::string_view piece, std::vector<int32_t>& out) const {
  if (ignore_merges) {
    if (auto it = ids.find(piece); it != ids.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = piece.size() <= kCacheMaxPieceBytes;
  if (cacheable) {
    std::unique_lock lock(cache_mutex, std::try_to_lock);
    if (lock.owns_lock()) {
      if (auto it = cache.find(piece); it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
  }
  thread_local std::vector<int32_t> syms;
  syms.clear();
  if (byte_level) {
    for (unsigned char b : piece) {
      if (byte_ids[b] >= 0) syms.push_back(byte_ids[b]);
      else if (unk_id >= 0 && !(fuse_unk && !syms.empty() && syms.back() == unk_id)) syms.push_back(unk_id);
    }
  } else {
    std::string key;
    int32_t pending_unk = 0;  // 1 when an [UNK] waits to be emitted (fused with the next)
    for (size_t i = 0; i < piece.size();) {
      int len;
      tok::utf8_decode(piece, i, len);
      key.clear();
      if (i > 0) key += subword_prefix;
      key.append(piece.substr(i, len));
      if (i + len == piece.size()) key += word_suffix;
      i += len;
      if (auto it = ids.find(key); it != ids.end()) {
        if (pending_unk) syms.push_back(unk_id);
        pending_unk = 0;
        syms.push_back(it->second);
        continue;
      }
      if (byte_fallback && std::all_of(key.begin(), key.end(), [&](char c) { return byte_ids[uint8_t(c)] >= 0; })) {
        for (char c : key) syms.push_back(byte_ids[static_cast<uint8_t>(c)]);
        continue;
      }
      if (unk_id < 0) continue;
      if (pending_unk && !fuse_unk) syms.push_back(unk_id);
      pending_unk = 1;
    }
    if (pending_unk) syms.push_back(unk_id);
  }
  bpe_merge(syms);
  out.insert(out.end(), syms.begin(), syms.end());
  if (cacheable) {
    std::unique_lock lock(cache_mutex, std::try_to_lock);
    if (lock.owns_lock() && cache.size() < kCacheMaxEntries) cache.emplace(std::string(piece), syms);
  }
}

void Tokenizer::Impl::wordpiece_word(std::string_view w, std::vector<int32_t>& out) const {
  if (tok::utf8_length(w) > static_cast<size_t>(max_input_chars)) {
    out.push_back(unk_id);
    return;
  }
  const size_t mark = out.size();
  for (size_t start = 0; start < w.size();) {
    const tok::StringMap& map = start == 0 ? ids : continuation_ids;
    size_t end = std::min(w.size(), start + max_piece_bytes);
    while (end < w.size() && end > start && (static_cast<uint8_t>(w[end]) & 0xC0) == 0x80) --end;
    int32_t found = -1;
    while (end > start) {
      if (auto it = map.find(w.substr(start, end - start)); it != map.end()) {
        found = it->second;
        break;
      }
      do --end;
      while (end > start && (static_cast<uint8_t>(w[end]) & 0xC0) == 0x80);
    }
    if (found < 0) {
      out.resize(mark);
      out.push_back(unk_id);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

}  // namespace attn
