#include <gtest/gtest.h>

#include <filesystem>

#include "cli/cli_test_util.h"

namespace attn {
namespace {

namespace fs = std::filesystem;

TEST(CliAttention, DemoWritesEveryHeadAndAgreesWithTheReference) {
  const fs::path out = fs::temp_directory_path() / ("attn_cli_demo_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const auto r = test::run_attn("attention --demo --heads 3 --dim 24 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (int h = 0; h < 3; ++h) EXPECT_TRUE(fs::exists(out / ("head" + std::to_string(h) + ".png"))) << h;
  EXPECT_FALSE(fs::exists(out / "head3.png"));
  EXPECT_GT(fs::file_size(out / "attention.html"), 1000u);
  // The printed self-check: flash weights vs the float64 reference.
  const auto pos = r.output.find("float64 reference| = ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  EXPECT_LT(std::stod(r.output.substr(pos + 21)), 1e-5) << r.output;
  fs::remove_all(out);
}

TEST(CliAttention, BadArgumentsFailWithAMessage) {
  auto r = test::run_attn("attention --demo --heads 5 --dim 32 --out /tmp/attn_never");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--dim (32) must be a positive multiple of --heads (5)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hint:"), std::string::npos) << r.output;
  r = test::run_attn("attention");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--demo or --text"), std::string::npos) << r.output;
  r = test::run_attn("no-such-command");
  EXPECT_NE(r.exit_code, 0);
}

TEST(CliAttention, CausalTextRun) {
  const fs::path out = fs::temp_directory_path() / ("attn_cli_causal_" + std::to_string(::getpid()));
  const auto r = test::run_attn("attention --text \"a b a b\" --causal --heads 2 --dim 8 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("causal"), std::string::npos);
  // Query 0 can only see key 0.
  EXPECT_NE(r.output.find("head 0: a->a"), std::string::npos) << r.output;
  fs::remove_all(out);
}

}  // namespace
}  // namespace attn
