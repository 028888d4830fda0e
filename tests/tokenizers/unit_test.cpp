// tests/tokenizers/unit_test.cpp — the parts on their own: the hand-written pre-tokenizer regexes,
// UTF-8 and NFD, BPE merge order, added-token stripping, WordPiece's [UNK], exact bytes through
// byte-level BPE, and sharing one Tokenizer across threads.
#include <attn/error.h>
#include <attn/tokenizer.h>

#include <gtest/gtest.h>

#include <thread>

#include "tokenizers/pretokenize.h"
#include "tokenizers/tok_test_util.h"
#include "tokenizers/unicode.h"

namespace attn {
namespace {

using Split = void (*)(std::string_view, uint32_t, std::vector<tok::Piece>&);

std::vector<std::string> pieces(Split f, std::string_view s) {
  std::vector<tok::Piece> out;
  f(s, 0, out);
  std::vector<std::string> r;
  for (auto p : out) r.emplace_back(s.substr(p.begin, p.end - p.begin));
  return r;
}

using V = std::vector<std::string>;

TEST(TokenizerPreTokenize, Gpt2Regex) {
  EXPECT_EQ(pieces(tok::split_gpt2, "Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(pieces(tok::split_gpt2, "a  b"), (V{"a", " ", " b"}));
  EXPECT_EQ(pieces(tok::split_gpt2, "it's I'M"), (V{"it", "'s", " I", "'", "M"}));
  EXPECT_EQ(pieces(tok::split_gpt2, "x\n\ny"), (V{"x", "\n", "\n", "y"}));
  EXPECT_EQ(pieces(tok::split_gpt2, "ab12 3.5!? "), (V{"ab", "12", " 3", ".", "5", "!?", " "}));
  EXPECT_EQ(pieces(tok::split_gpt2, "naïve\u00a0日本"), (V{"naïve", "\u00a0", "日本"}));
}

TEST(TokenizerPreTokenize, Llama3Regex) {
  EXPECT_EQ(pieces(tok::split_llama3, "Hello world 12345"), (V{"Hello", " world", " ", "123", "45"}));
  EXPECT_EQ(pieces(tok::split_llama3, "IT'S ok"), (V{"IT", "'S", " ok"}));
  EXPECT_EQ(pieces(tok::split_llama3, "a;\n\nb"), (V{"a", ";\n\n", "b"}));
  EXPECT_EQ(pieces(tok::split_llama3, "a \n  b"), (V{"a", " \n", " ", " b"}));
  EXPECT_EQ(pieces(tok::split_llama3, "(x)"), (V{"(x", ")"}));
}

TEST(TokenizerPreTokenize, DigitsBertAndWhitespace) {
  std::vector<tok::Piece> out;
  tok::split_digits("ab12c", 0, true, out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].begin, 2u);
  EXPECT_EQ(out[2].end, 4u);
  EXPECT_EQ(pieces(tok::split_bert, "Hello, world!  x"), (V{"Hello", ",", "world", "!", "x"}));
  EXPECT_EQ(pieces(tok::split_whitespace, " a\tb  c "), (V{"a", "b", "c"}));
}

TEST(TokenizerUnicode, Utf8AndNfd) {
  int len = 0;
  EXPECT_EQ(tok::utf8_decode("\xff", 0, len), 0xFFFDu);
  EXPECT_EQ(len, 1);
  EXPECT_EQ(tok::utf8_decode("\xe6\x97\xa5", 0, len), 0x65E5u);
  EXPECT_EQ(len, 3);
  EXPECT_EQ(tok::utf8_decode("\xed\xa0\x80", 0, len), 0xFFFDu);  // a surrogate is not UTF-8
  EXPECT_FALSE(tok::utf8_valid("a\xc3"));
  std::string d;
  tok::unicode_nfd("é한", d);
  EXPECT_EQ(d, "e\u0301\u1112\u1161\u11ab");
  d.clear();
  tok::unicode_nfd("a\u0302\u0323", d);  // canonical order: ccc 220 before ccc 230
  EXPECT_EQ(d, "a\u0323\u0302");
  EXPECT_TRUE(tok::unicode_props(U'A') & tok::kPropLetter);
  EXPECT_TRUE(tok::unicode_props(U'٣') & tok::kPropNumber);
  EXPECT_TRUE(tok::unicode_props(0x3000) & tok::kPropSpace);
}

// A byte-level BPE where "a b" (rank 0) and "b c" (rank 1) compete: the lower rank merges first.
constexpr const char* kTinyBpe = R"({
  "added_tokens": [{"id": 6, "content": "<mask>", "lstrip": true, "rstrip": true, "special": true, "normalized": false}],
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "Ġ": 5, "<mask>": 6, "aba": 7},
            "merges": ["a b", "b c", "ab a"]}})";

TEST(TokenizerBpe, MergeOrderAndAddedTokenStripping) {
  const auto tok = Tokenizer::from_json(kTinyBpe, "tiny.json");
  EXPECT_EQ(tok_test::join_ids(tok.encode("abc")), "3 2");   // a b first (rank 0), then no "ab c"
  EXPECT_EQ(tok_test::join_ids(tok.encode("bcab")), "4 3");
  EXPECT_EQ(tok_test::join_ids(tok.encode("abab")), "3 3");  // both "a b" (rank 0) before "ab a" (rank 2)
  EXPECT_EQ(tok_test::join_ids(tok.encode("aba")), "7");
  EXPECT_EQ(tok_test::join_ids(tok.encode("a  <mask>  b")), "0 6 1");  // lstrip/rstrip take the spaces
  EXPECT_EQ(tok.decode(tok.encode("a  <mask>  b"), {.skip_special_tokens = false}), "a<mask>b");
  EXPECT_TRUE(tok.is_special(6));
  EXPECT_EQ(tok.token_to_id("bc"), 4);
  EXPECT_THROW(tok.decode(std::vector<int32_t>{99}), ValueError);
}

TEST(TokenizerBpe, ByteLevelKeepsExactBytes) {
  const auto tok = Tokenizer::load(tok_test::golden_dir() + "/gpt2_small.json");
  const std::string weird = std::string("ok \xff\xfe\x00 \xe6\x97", 9) + "\r\n\t";
  EXPECT_EQ(tok.decode(tok.encode(weird)), weird);
}

TEST(TokenizerWordPiece, LongWordsAndMissingPiecesAreUnknown) {
  const auto tok = Tokenizer::from_vocab_txt("[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##believ\n##able\nx\n", "v.txt");
  EXPECT_EQ(tok_test::join_ids(tok.encode("Unbelievable", {.add_special_tokens = true})), "2 4 5 6 3");
  EXPECT_EQ(tok_test::join_ids(tok.encode("unbelievablez")), "1");
  EXPECT_EQ(tok_test::join_ids(tok.encode(std::string(100, 'x'))), "1");  // no ##x: [UNK]
  EXPECT_EQ(tok.decode(tok.encode("unbelievable x")), "unbelievable x");
  EXPECT_THROW(Tokenizer::from_vocab_txt("a\na\n", "dup.txt"), FormatError);
  EXPECT_THROW(Tokenizer::from_vocab_txt("a\nb\n", "nounk.txt"), FormatError);
}

TEST(TokenizerGguf, VocabularyErrorsNameTheKey) {
  GgufVocab v{.model = "gpt2", .pre = "gpt2", .tokens = {"a", "b", "ab", "Ġ"}, .merges = {"a b"}, .token_types = {1, 1, 1, 1}};
  const auto tok = Tokenizer::from_gguf_vocab(v, "t.gguf");
  EXPECT_EQ(tok_test::join_ids(tok.encode("ab a")), "2 3 0");
  EXPECT_EQ(tok.token_to_id("Ġ"), 3);
  auto expect = [](GgufVocab bad, const std::string& what) {
    try {
      Tokenizer::from_gguf_vocab(bad, "t.gguf");
      ADD_FAILURE() << "accepted: " << what;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("t.gguf: " + what), std::string::npos) << e.what();
    }
  };
  auto bad = v;
  bad.merges = {"a c"};
  expect(bad, "tokenizer.ggml.merges[0]");
  bad = v;
  bad.merges = {"ab"};
  expect(bad, "tokenizer.ggml.merges[0]");
  bad = v;
  bad.pre = "deepseek-coder";
  expect(bad, "tokenizer.ggml.pre");
  bad = v;
  bad.model = "llama";
  expect(bad, "tokenizer.ggml.model");
  bad = v;
  bad.token_types = {1, 1, 9, 1};
  expect(bad, "tokenizer.ggml.token_type[2]");
  bad = v;
  bad.token_types = {1};
  expect(bad, "tokenizer.ggml.token_type");
  bad = v;
  bad.tokens = {"a", "a", "ab", "Ġ"};
  expect(bad, "tokenizer.ggml.tokens");
  bad = v;
  bad.eos_id = 4;
  expect(bad, "tokenizer.ggml.bos/eos");
}

TEST(TokenizerThreads, OneTokenizerSharedByThreads) {
  const auto tok = Tokenizer::load(tok_test::golden_dir() + "/gpt2_small.json");
  const auto lines = tok_test::corpus();
  std::vector<std::vector<int32_t>> want;
  for (const auto& l : lines) want.push_back(tok.encode(l));
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < lines.size(); i += 2) bad[t] += tok.encode(lines[i]) != want[i];
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace attn
