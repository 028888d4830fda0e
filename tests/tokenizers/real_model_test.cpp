// tests/tokenizers/real_model_test.cpp — the real tokenizers of all-MiniLM-L6-v2 (WordPiece, from
// tokenizer.json, from vocab.txt and from the model directory) and SmolLM2-135M-Instruct (byte-level
// BPE from the GGUF's metadata) against the `tokenizers` library's ids on the corpus. The files come
// from scripts/fetch-models.sh; when they are missing these tests FAIL and say so.
#include <attn/tokenizer.h>

#include <gtest/gtest.h>

#include "tokenizers/tok_test_util.h"

namespace attn {
namespace {
using tok_test::corpus;
using tok_test::golden_ids;
using tok_test::join_ids;
using tok_test::model_path;

void check_ids(const Tokenizer& tok, const std::string& golden) {
  const auto lines = corpus();
  const auto want = golden_ids(golden);
  ASSERT_EQ(lines.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto got = tok.encode(lines[i]);
    if (got != want[i] && ++bad <= 5) {
      ADD_FAILURE() << tok.name() << " vs " << golden << ".ids line " << i + 1 << ": '" << lines[i]
                    << "'\n  want " << join_ids(want[i]) << "\n  got  " << join_ids(got);
    }
  }
  EXPECT_EQ(bad, 0) << "lines that differ from " << golden << ".ids";
}

void check_decoded(const Tokenizer& tok, const std::string& golden) {
  const auto want = golden_ids(golden);
  const auto decoded = tok_test::read_lines(tok_test::golden_dir() + "/" + golden + ".decoded");
  ASSERT_EQ(decoded.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const std::string got = tok.decode(want[i]);
    if (got != tok_test::unescape(decoded[i]) && ++bad <= 5) {
      ADD_FAILURE() << golden << ".decoded line " << i + 1 << ":\n  want '" << tok_test::unescape(decoded[i])
                    << "'\n  got  '" << got << "'";
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(TokenizerRealModel, MiniLmTokenizerJsonMatchesHuggingFace) {
  const std::string path = model_path("ATTN_MINILM_TOKENIZER");
  ASSERT_FALSE(path.empty());
  const auto tok = Tokenizer::load(path);
  EXPECT_EQ(tok.kind(), "wordpiece");
  EXPECT_EQ(tok.vocab_size(), 30522);
  check_ids(tok, "minilm");
  check_decoded(tok, "minilm");
  EXPECT_EQ(join_ids(tok.encode("Hello, world!", {.add_special_tokens = true})), "101 7592 1010 2088 999 102");
}

TEST(TokenizerRealModel, MiniLmVocabTxtAndDirectoryMatchHuggingFace) {
  const std::string vocab = model_path("ATTN_MINILM_VOCAB");
  const std::string dir = model_path("ATTN_MINILM_DIR");
  ASSERT_FALSE(vocab.empty());
  ASSERT_FALSE(dir.empty());
  check_ids(Tokenizer::load(vocab), "minilm");
  check_ids(Tokenizer::load(dir), "minilm");
}

TEST(TokenizerRealModel, MiniLmCasedVocabularyMatchesHuggingFace) {
  const std::string vocab = model_path("ATTN_MINILM_VOCAB");
  ASSERT_FALSE(vocab.empty());
  const auto tok = Tokenizer::from_vocab_txt(tok_test::read_text(vocab), vocab, /*lowercase=*/false);
  check_ids(tok, "minilm_cased");
  check_decoded(tok, "minilm_cased");
}

TEST(TokenizerRealModel, MiniLmSpecialTokensMatchHuggingFace) {
  const std::string path = model_path("ATTN_MINILM_TOKENIZER");
  ASSERT_FALSE(path.empty());
  const auto tok = Tokenizer::load(path);
  int checked = 0;
  for (const auto& line : tok_test::read_lines(tok_test::golden_dir() + "/special.txt")) {
    if (!line.starts_with("minilm\t")) continue;
    const auto t1 = line.find('\t'), t2 = line.rfind('\t');
    const std::string text = tok_test::unescape(line.substr(t1 + 1, t2 - t1 - 1));
    EXPECT_EQ(join_ids(tok.encode(text, {.add_special_tokens = true})), line.substr(t2 + 1)) << "'" << text << "'";
    ++checked;
  }
  EXPECT_GE(checked, 6);
}

TEST(TokenizerRealModel, SmolLm2GgufMatchesHuggingFace) {
  const std::string path = model_path("ATTN_SMOLLM2_GGUF");
  ASSERT_FALSE(path.empty());
  const auto tok = Tokenizer::load(path);
  EXPECT_EQ(tok.kind(), "byte-level-bpe");
  EXPECT_EQ(tok.vocab_size(), 49152);
  // 21 bytes have no token in SmolLM2's vocabulary (0x04, 0xF5..0xFF, ...): like the HF library,
  // encode drops them, so the tokenizer is not lossless in general — but it is on the corpus.
  EXPECT_FALSE(tok.lossless());
  EXPECT_EQ(join_ids(tok.encode("a\x04" "b")), "81 82");  // HF: [81, 82]
  check_ids(tok, "smollm2");
  check_decoded(tok, "smollm2");
  for (const auto& line : corpus()) {
    ASSERT_EQ(tok.decode(tok.encode(line), {.skip_special_tokens = false}), line);
  }
  EXPECT_EQ(tok.token(1), "<|im_start|>");
  EXPECT_TRUE(tok.is_special(2));
}

}  // namespace
}  // namespace attn
