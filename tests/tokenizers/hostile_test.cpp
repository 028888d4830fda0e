// tests/tokenizers/hostile_test.cpp — every malformed tokenizer.json in tests/hostile/tokenizer_json/
// (made by scripts/make_hostile_tokenizer_json.py, plus any fuzzer findings) is rejected with a
// FormatError whose message names the file, the field and the bad value listed in EXPECT.tsv.
#include <attn/error.h>
#include <attn/tokenizer.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "tokenizers/tok_test_util.h"

namespace attn {
namespace {

std::string hostile_dir() { return std::string(ATTN_SOURCE_DIR) + "/tests/hostile/tokenizer_json"; }

TEST(TokenizerHostile, EveryFileIsRejectedNamingFileFieldAndValue) {
  int checked = 0;
  for (const auto& row : tok_test::read_lines(hostile_dir() + "/EXPECT.tsv")) {
    if (row.empty() || row[0] == '#') continue;
    const auto t1 = row.find('\t'), t2 = row.find('\t', t1 + 1);
    ASSERT_NE(t2, std::string::npos) << row;
    const std::string file = hostile_dir() + "/" + row.substr(0, t1);
    const std::string field = row.substr(t1 + 1, t2 - t1 - 1), value = row.substr(t2 + 1);
    try {
      Tokenizer::load(file);
      ADD_FAILURE() << file << ": loaded, but it is malformed";
    } catch (const FormatError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(file), std::string::npos) << "no file name in: " << msg;
      EXPECT_NE(msg.find(field), std::string::npos) << "no field '" << field << "' in: " << msg;
      EXPECT_NE(msg.find(value), std::string::npos) << "no value '" << value << "' in: " << msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": wrong exception type: " << e.what();
    }
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

// Every file in the folder is listed in EXPECT.tsv (a fuzzer finding must come with its expectation).
TEST(TokenizerHostile, ManifestListsEveryFile) {
  const std::string manifest = tok_test::read_text(hostile_dir() + "/EXPECT.tsv");
  for (const auto& entry : std::filesystem::directory_iterator(hostile_dir())) {
    const std::string name = entry.path().filename().string();
    if (name == "EXPECT.tsv") continue;
    EXPECT_NE(manifest.find(name + "\t"), std::string::npos) << name << " is not in EXPECT.tsv";
  }
}

// A valid tokenizer.json cut at every 211th byte (through every section) never loads and always
// says where: a FormatError naming the file and "(root)", since the JSON itself is incomplete.
TEST(TokenizerHostile, TruncatedAnywhere) {
  const std::string full = tok_test::read_text(tok_test::golden_dir() + "/llama2_small.json");
  ASSERT_GT(full.size(), 10000u);
  int checked = 0;
  for (size_t cut = 0; cut + 1 < full.size(); cut += 211, ++checked) {
    try {
      Tokenizer::from_json(std::string_view(full).substr(0, cut), "cut.json");
      ADD_FAILURE() << "loaded a file cut at byte " << cut;
    } catch (const FormatError& e) {
      ASSERT_NE(std::string(e.what()).find("cut.json: (root): not valid JSON"), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(checked, 50);
}

// Fuzzer findings (tests/regress/tokenizer_json/): each file either loads or throws FormatError, and
// what loads keeps the harness's invariants — ids inside the vocabulary, and decode(encode(x)) == x
// whenever lossless() says so. (First finding: a byte-level vocabulary without the byte tokens
// dropped bytes while claiming to be lossless.)
TEST(TokenizerHostile, FuzzerRegressions) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(ATTN_SOURCE_DIR) + "/tests/regress/tokenizer_json")) {
    const std::string bytes = tok_test::read_text(entry.path().string());
    std::optional<Tokenizer> tok;
    try {
      tok = Tokenizer::from_json(bytes, entry.path().string());
    } catch (const FormatError&) {
      ++checked;
      continue;
    }
    for (std::string_view text : {"Hello, world! It's 2026.", " \t\n  spaces ", "naïve 日本語 🤖 ab"}) {
      const auto ids = tok->encode(text);
      for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < tok->vocab_size()) << entry.path() << ": id " << id;
      if (tok->lossless()) EXPECT_EQ(tok->decode(ids, {.skip_special_tokens = false}), text) << entry.path();
    }
    ++checked;
  }
  EXPECT_GE(checked, 1);
}

// The same bytes through from_json: the name given is the one reported.
TEST(TokenizerHostile, FromJsonReportsTheGivenName) {
  try {
    Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a q"]}})", "inline.json");
    FAIL() << "accepted a merge of an unknown token";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("inline.json: model.merges[0]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace attn
