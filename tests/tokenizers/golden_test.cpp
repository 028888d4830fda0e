// tests/tokenizers/golden_test.cpp — ids identical to the Hugging Face `tokenizers` library on the
// 1,200-line corpus, for the small committed tokenizers (scripts/make_tokenizer_goldens.py made both
// the files and the goldens), plus decode goldens and the round trip where it is lossless.
#include <attn/tokenizer.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "tokenizers/tok_test_util.h"

namespace attn {
namespace {
using tok_test::corpus;
using tok_test::golden_dir;
using tok_test::golden_ids;
using tok_test::join_ids;

// Compares encode() with NAME.ids line by line and decode() with NAME.decoded (or with the input
// when the tokenizer is lossless). Reports the first few differing lines.
void check_goldens(const Tokenizer& tok, const std::string& name) {
  const auto lines = corpus();
  const auto want = golden_ids(name);
  ASSERT_GE(lines.size(), 1000u);
  ASSERT_EQ(lines.size(), want.size()) << name << ".ids";
  const std::string decoded_path = golden_dir() + "/" + name + ".decoded";
  std::vector<std::string> decoded;
  if (std::filesystem::exists(decoded_path)) {
    for (const auto& l : tok_test::read_lines(decoded_path)) decoded.push_back(tok_test::unescape(l));
    ASSERT_EQ(decoded.size(), lines.size());
  }
  int bad = 0, bad_decode = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto got = tok.encode(lines[i]);
    if (got != want[i] && ++bad <= 5) {
      ADD_FAILURE() << name << " line " << i + 1 << ": '" << lines[i] << "'\n  want " << join_ids(want[i])
                    << "\n  got  " << join_ids(got);
    }
    const std::string back = tok.decode(want[i]);
    const std::string& expect = decoded.empty() ? lines[i] : decoded[i];
    if (back != expect && ++bad_decode <= 5) {
      ADD_FAILURE() << name << " decode line " << i + 1 << ":\n  want '" << expect << "'\n  got  '" << back << "'";
    }
    if (tok.lossless()) EXPECT_EQ(tok.decode(got, {.skip_special_tokens = false}), lines[i]) << name << " round trip, line " << i + 1;
  }
  EXPECT_EQ(bad, 0) << name << ": lines with different ids";
  EXPECT_EQ(bad_decode, 0) << name << ": lines decoded differently";
}

Tokenizer load_small(const std::string& name) { return Tokenizer::load(golden_dir() + "/" + name + ".json"); }

TEST(TokenizerGolden, Gpt2StyleByteLevelBpe) {
  const auto tok = load_small("gpt2_small");
  EXPECT_EQ(tok.kind(), "byte-level-bpe");
  EXPECT_TRUE(tok.lossless());
  check_goldens(tok, "gpt2_small");
}

TEST(TokenizerGolden, Llama3StyleSplitRegexBpe) {
  const auto tok = load_small("llama3_small");
  EXPECT_EQ(tok.kind(), "byte-level-bpe");
  check_goldens(tok, "llama3_small");
}

TEST(TokenizerGolden, Llama2StyleSentencePieceBpeWithByteFallback) {
  const auto tok = load_small("llama2_small");
  EXPECT_EQ(tok.kind(), "sentencepiece-bpe");
  EXPECT_FALSE(tok.lossless());
  check_goldens(tok, "llama2_small");
}

TEST(TokenizerGolden, MarianStyleMetaspaceBpe) {
  const auto tok = load_small("marian_small");
  EXPECT_EQ(tok.kind(), "sentencepiece-bpe");
  check_goldens(tok, "marian_small");
}

// special.txt: ids with add_special_tokens = true, for the small tokenizers (MiniLM's rows are
// checked by the RealModel tests).
TEST(TokenizerGolden, PostProcessorAddsSpecialTokens) {
  int checked = 0;
  for (const auto& line : tok_test::read_lines(golden_dir() + "/special.txt")) {
    if (line.empty() || line[0] == '#') continue;
    const auto t1 = line.find('\t'), t2 = line.rfind('\t');
    const std::string name = line.substr(0, t1);
    if (name == "minilm") continue;
    const std::string text = tok_test::unescape(line.substr(t1 + 1, t2 - t1 - 1));
    std::vector<int32_t> want;
    std::istringstream in(line.substr(t2 + 1));
    for (int32_t x; in >> x;) want.push_back(x);
    EXPECT_EQ(join_ids(load_small(name).encode(text, {.add_special_tokens = true})), join_ids(want)) << name << ": '" << text << "'";
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

}  // namespace
}  // namespace attn
