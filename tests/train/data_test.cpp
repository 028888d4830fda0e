// tests/train/data_test.cpp — the character tokenizer, the text dataset (90/10 split, errors naming
// the file) and the batch loader (windows, shifted targets, seeded determinism).
#include <attn/train.h>
#include <gtest/gtest.h>

#include "train/train_test_util.h"

namespace attn {
namespace {

TEST(CharTokenizer, RoundTripAndVocabulary) {
  const std::string text = "hello, wörld!\nhéllo";
  const CharTokenizer t = CharTokenizer::from_text(text, "t.txt");
  EXPECT_EQ(t.vocab_size(), 13);  // \n space ! , d e h l o r w é ö: sorted by code point
  EXPECT_EQ(t.piece(0), "\n");
  EXPECT_EQ(t.decode(t.encode(text)), text);
  EXPECT_EQ(t.encode("ö").size(), 1u);
  const CharTokenizer u = CharTokenizer::from_vocab_string(t.vocab_string(), "ckpt");
  EXPECT_EQ(u.encode(text), t.encode(text));
  try {
    t.encode("he Z");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'Z'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("t.txt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(CharTokenizer::from_text("", "e"), ValueError);
  EXPECT_THROW(CharTokenizer::from_text("ab\xff", "bad.txt"), FormatError);
  EXPECT_THROW(CharTokenizer::from_vocab_string("aa", "dup"), FormatError);
  EXPECT_THROW(t.piece(13), ValueError);
}

TEST(TextDataset, SplitsNinetyTen) {
  const auto dir = test::fresh_dir("split");
  const std::string text = test::sample_text(1000);
  test::write_text(dir / "d.txt", text);
  const TextDataset d = text_dataset_load((dir / "d.txt").string(), 16);
  EXPECT_EQ(d.train.size(), 900u);
  EXPECT_EQ(d.val.size(), 100u);
  std::vector<int32_t> all = d.train;
  all.insert(all.end(), d.val.begin(), d.val.end());
  EXPECT_EQ(d.tokenizer.decode(all), text);
  std::filesystem::remove_all(dir);
}

void expect_error_naming(const std::function<void()>& fn, const std::string& file, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
}

TEST(TextDataset, BadFilesNameTheFileAndTheProblem) {
  const auto dir = test::fresh_dir("bad");
  const std::string missing = (dir / "missing.txt").string();
  expect_error_naming([&] { text_dataset_load(missing, 16); }, missing, "does not exist");
  test::write_text(dir / "empty.txt", "");
  expect_error_naming([&] { text_dataset_load((dir / "empty.txt").string(), 16); }, "empty.txt", "empty");
  test::write_text(dir / "short.txt", test::sample_text(100));
  expect_error_naming([&] { text_dataset_load((dir / "short.txt").string(), 16); }, "short.txt", "shorter than one block");
  expect_error_naming([&] { text_dataset_load(dir.string(), 16); }, dir.string(), "not a regular file");
  test::write_text(dir / "bin.txt", std::string(300, 'a') + "\xc3\x28" + std::string(300, 'b'));
  expect_error_naming([&] { text_dataset_load((dir / "bin.txt").string(), 16); }, "bin.txt", "invalid UTF-8 at byte 300");
  // A tokenizer from elsewhere that lacks a character of the text.
  test::write_text(dir / "ok.txt", test::sample_text(1000));
  const CharTokenizer other = CharTokenizer::from_text("abc", "checkpoint x");
  expect_error_naming([&] { text_dataset_load((dir / "ok.txt").string(), 16, &other); }, "ok.txt", "not in the vocabulary");
  std::filesystem::remove_all(dir);
}

TEST(BatchLoader, WindowsShiftedTargetsAndDeterminism) {
  std::vector<int32_t> tokens(500);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i);
  BatchLoader a(tokens, 4, 8, {9, 0}), b(tokens, 4, 8, {9, 0});
  for (int k = 0; k < 20; ++k) {
    const Batch x = a.next(), y = b.next();
    EXPECT_EQ(x.x.shape(), (Shape{4, 8}));
    EXPECT_EQ(x.x.dtype(), DType::kI32);
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t t = 0; t < 8; ++t) {
        EXPECT_EQ(x.y.get({r, t}), x.x.get({r, t}) + 1);              // target = next token
        if (t > 0) {
          EXPECT_EQ(x.x.get({r, t}), x.x.get({r, t - 1}) + 1);  // a contiguous window
        }
        EXPECT_LE(x.y.get({r, t}), 499);
      }
    EXPECT_EQ(x.x.to_vector(), y.x.to_vector());
  }
  // Restoring a saved state continues the same stream.
  const RngState s = a.state();
  const Batch next = a.next();
  BatchLoader c(tokens, 4, 8, s);
  EXPECT_EQ(c.next().x.to_vector(), next.x.to_vector());
  EXPECT_THROW(BatchLoader(std::vector<int32_t>(8), 1, 8, {}), ValueError);
}

}  // namespace
}  // namespace attn
