// tools/attn/tokenize.cpp — `attn tokenize --tokenizer FILE|DIR [--decode] [--json] [--special] TEXT...`
//
//   attn tokenize --tokenizer models/minilm "Hello, world!"        # one row per token: id, token, bytes
//   attn tokenize --tokenizer smollm2.gguf --json "Hi there"       # {"ids": [...], "tokens": [...]}
//   attn tokenize --tokenizer tokenizer.json --decode 7592 1010     # ids (spaces or commas) -> text
//
// TEXT "-" reads standard input. The tokenizer is a directory (tokenizer.json or vocab.txt), a
// tokenizer.json, a vocab.txt or a GGUF file, as Tokenizer::load takes it.
#include <attn/error.h>
#include <attn/tokenizer.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>
#include <sstream>

#include "command.h"

namespace attn::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer;
  std::vector<std::string> text;
  bool decode = false;
  bool json = false;
  bool special = false;  // encode: add [CLS]/[SEP] or <s>; decode: keep special tokens
};

std::string input_text(const TokenizeOptions& o) {
  if (o.text.size() == 1 && o.text[0] == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::string s;
  for (size_t i = 0; i < o.text.size(); ++i) s += (i ? " " : "") + o.text[i];
  return s;
}

std::vector<int32_t> parse_ids(const std::string& s, const Tokenizer& tok) {
  std::vector<int32_t> ids;
  std::string clean = s;
  for (char& c : clean) {
    if (c == ',' || c == '[' || c == ']') c = ' ';
  }
  std::istringstream in(clean);
  for (std::string word; in >> word;) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    ATTN_CHECK(used == word.size(), ValueError, "tokenize --decode: '{}' is not a token id", word);
    ATTN_CHECK(v >= 0 && v < tok.vocab_size(), ValueError, "tokenize --decode: id {} is outside the vocabulary [0, {})", v, tok.vocab_size());
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

// A token's bytes for display: JSON-style escapes for controls, quotes and invalid UTF-8.
std::string shown(const std::string& bytes) {
  return nlohmann::json(bytes).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void run_tokenize(const TokenizeOptions& o) {
  const Tokenizer tok = Tokenizer::load(o.tokenizer);
  const std::string text = input_text(o);
  if (o.decode) {
    const auto ids = parse_ids(text, tok);
    const std::string out = tok.decode(ids, {.skip_special_tokens = !o.special});
    if (o.json) fmt::print("{}\n", nlohmann::json{{"ids", ids}, {"text", out}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    else fmt::print("{}\n", out);
    return;
  }
  const auto ids = tok.encode(text, {.add_special_tokens = o.special});
  if (o.json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (int32_t id : ids) tokens.push_back(std::string(tok.token(id)));
    fmt::print("{}\n", nlohmann::json{{"ids", ids}, {"tokens", tokens}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  fmt::print("{} ({}, {} tokens in vocabulary): {} tokens\n", tok.name(), tok.kind(), tok.vocab_size(), ids.size());
  for (int32_t id : ids) {
    const int32_t one[1] = {id};
    fmt::print("{:>8}  {:<24}  {}\n", id, tok.token(id), shown(tok.decode(one, {.skip_special_tokens = false})));
  }
  std::string list;
  for (int32_t id : ids) list += (list.empty() ? "" : " ") + std::to_string(id);
  fmt::print("ids: {}\n", list);
}

const bool registered = register_command({
    .name = "tokenize",
    .help = "Turn text into token ids (or ids into text) with a tokenizer.json, vocab.txt or GGUF",
    .setup = [](CLI::App& app) {
      auto opts = std::make_shared<TokenizeOptions>();
      app.add_option("--tokenizer,-t", opts->tokenizer, "tokenizer.json, vocab.txt, GGUF file or a model directory")->required();
      app.add_option("text", opts->text, "text to encode (\"-\": standard input), or ids with --decode")->required();
      app.add_flag("--decode,-d", opts->decode, "decode ids (separated by spaces or commas) into text");
      app.add_flag("--json", opts->json, "print JSON for machines");
      app.add_flag("--special", opts->special, "encode: add the special tokens ([CLS] ... [SEP]); decode: keep them");
      app.callback([opts] { run_tokenize(*opts); });
    }});

}  // namespace
}  // namespace attn::cli
