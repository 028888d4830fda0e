// `attn inspect` on a file attn writes, on a damaged copy, and its JSON output.
#include <attn/safetensors.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace attn {
namespace {

namespace fs = std::filesystem;

fs::path scratch() {
  const fs::path d = fs::temp_directory_path() / ("attn_cli_inspect_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

TEST(CliInspect, PrintsTheTensorTableOfASafetensorsFile) {
  const fs::path file = scratch() / "m.safetensors";
  save_safetensors(file.string(),
                   {{"layers.0.weight", Tensor::zeros({3, 4})}, {"layers.0.bias", Tensor::zeros({4}, DType::kBF16)}},
                   {{"note", "made by the test"}});
  auto r = test::run_attn("inspect " + file.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("layers.0.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[3,4]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("made by the test"), std::string::npos) << r.output;

  r = test::run_attn("inspect --json " + file.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j.dump().find("layers.0.bias") != std::string::npos, true);
}

TEST(CliInspect, DamagedFileFailsNamingTheFile) {
  const fs::path file = scratch() / "bad.safetensors";
  const auto bytes = serialize_safetensors({{"w", Tensor::zeros({8})}}, {});
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), 20);  // truncated
  const auto r = test::run_attn("inspect " + file.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bad.safetensors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hint:"), std::string::npos) << r.output;
  const auto missing = test::run_attn("inspect " + (scratch() / "nope.gguf").string());
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("nope.gguf"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace attn
