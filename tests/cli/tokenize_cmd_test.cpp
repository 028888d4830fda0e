// tests/cli/tokenize_cmd_test.cpp — `attn tokenize` on the committed small tokenizers: rows, JSON,
// --decode, --special, and errors with a hint.
#include <gtest/gtest.h>

#include "cli/cli_test_util.h"

namespace attn {
namespace {

std::string small(const std::string& name) {
  return std::string(ATTN_SOURCE_DIR) + "/tests/golden/tokenizers/" + name + ".json";
}

TEST(CliTokenize, JsonIdsRoundTripThroughDecode) {
  auto r = test::run_attn("tokenize --tokenizer " + small("gpt2_small") + " --json 'Hello, world! 123'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto ids_at = r.output.find("\"ids\":[");
  ASSERT_NE(ids_at, std::string::npos) << r.output;
  const std::string ids = r.output.substr(ids_at + 7, r.output.find(']', ids_at) - ids_at - 7);
  EXPECT_NE(r.output.find("\"tokens\":["), std::string::npos) << r.output;
  r = test::run_attn("tokenize --tokenizer " + small("gpt2_small") + " --decode '" + ids + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "Hello, world! 123\n");
}

TEST(CliTokenize, RowsShowIdsTokensAndSpecials) {
  const auto r = test::run_attn("tokenize -t " + small("llama3_small") + " --special 'Hi there'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("byte-level-bpe"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("<|begin_of_text|>"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ids: 0 "), std::string::npos) << r.output;
}

TEST(CliTokenize, BadInputsFailWithAMessage) {
  auto r = test::run_attn("tokenize -t " + small("gpt2_small") + " --decode '1 x 2'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("'x' is not a token id"), std::string::npos) << r.output;
  r = test::run_attn("tokenize -t " + small("gpt2_small") + " --decode 99999999");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("outside the vocabulary"), std::string::npos) << r.output;
  r = test::run_attn("tokenize -t " + std::string(ATTN_SOURCE_DIR) + "/tests/hostile/tokenizer_json/merge_no_space.json x");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("model.merges[0]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hint:"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace attn
