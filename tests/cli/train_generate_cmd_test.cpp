// tests/cli/train_generate_cmd_test.cpp — `attn demo-text`, `attn train` and `attn generate` end to
// end on a tiny run, and their bad-input errors (exit code 1, the file named, nothing written).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_test_util.h"

namespace attn {
namespace {

std::filesystem::path fresh(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("attn_cli_train_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

TEST(TrainCommand, TrainsThenGenerates) {
  const auto dir = fresh("ok");
  const std::string text = (dir / "text.txt").string(), out = (dir / "run").string();
  auto r = test::run_attn("demo-text --out " + text + " --chars 20000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_attn("--threads 1 train --data " + text + " --config tiny --steps 6 --batch-size 2 --eval-interval 3 "
                     "--eval-iters 1 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step 6/6"), std::string::npos) << r.output;  // plain progress lines (not a TTY)
  EXPECT_NE(r.output.find("tok/s"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "checkpoint.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "metrics.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "loss.png"));
  r = test::run_attn("generate --checkpoint " + out + " --prompt ALICE: --max-tokens 20 --seed 3 --top-k 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("ALICE:", 0), 0u) << r.output;
  EXPECT_GE(r.output.size(), 6u + 20u);
  // Same seed, same text; cached and uncached agree within the block.
  EXPECT_EQ(test::run_attn("generate --checkpoint " + out + " --prompt ALICE: --max-tokens 20 --seed 3 --top-k 5 --no-cache").output,
            r.output);
  // --bf16 continues the same run with bf16 matmuls and says so.
  r = test::run_attn("--threads 1 train --data " + text + " --steps 8 --batch-size 2 --eval-interval 0 --eval-iters 1 "
                     "--bf16 --resume --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bf16 matmuls"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step 8/8"), std::string::npos) << r.output;
  // --profile: a table of the recorded steps (the last two of this run's four) with phases and kernels.
  r = test::run_attn("--threads 1 train --data " + text + " --steps 12 --batch-size 2 --eval-interval 0 --eval-iters 1 "
                     "--profile --resume --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* scope : {"where the time went", "\nstep ", "\nforward ", "\nbackward ", "\noptimizer ",
                            "\ngemm f32 ", "\nattention forward ", "\nbackward attention "})
    EXPECT_NE(r.output.find(scope), std::string::npos) << scope << " in\n" << r.output;
  std::filesystem::remove_all(dir);
}

// A real SIGINT (from timeout(1)) mid-run: the step finishes, a checkpoint is written, exit 130,
// and --resume continues from it.
TEST(TrainCommand, CtrlCSavesACheckpoint) {
  const auto dir = fresh("sigint");
  const std::string text = (dir / "text.txt").string(), out = (dir / "run").string();
  ASSERT_EQ(test::run_attn("demo-text --out " + text + " --chars 20000").exit_code, 0);
  const std::string train = "--threads 1 train --data " + text + " --config tiny --batch-size 2 --eval-interval 0 "
                            "--eval-iters 1 --out " + out + " --steps 1000000";
  const std::string cmd = "timeout --preserve-status -s INT 3 " + std::string(ATTN_CLI_PATH) + " " + train + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 130) << output;
  EXPECT_NE(output.find("interrupted at step"), std::string::npos) << output;
  ASSERT_TRUE(std::filesystem::exists(dir / "run" / "checkpoint.safetensors")) << output;
  auto r = test::run_attn(train.substr(0, train.find("--steps")) + "--steps 1 --resume");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("already at step"), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

TEST(TrainCommand, BadInputIsNamed) {
  const auto dir = fresh("bad");
  auto r = test::run_attn("train --data " + (dir / "nope.txt").string() + " --out " + (dir / "run").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("nope.txt"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run"));
  { std::ofstream(dir / "empty.txt"); }
  r = test::run_attn("train --data " + (dir / "empty.txt").string() + " --out " + (dir / "run").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("empty"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run"));
  r = test::run_attn("generate --checkpoint " + (dir / "missing").string() + " --prompt hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("missing"), std::string::npos) << r.output;
  { std::ofstream(dir / "junk.safetensors") << "this is not a checkpoint"; }
  r = test::run_attn("generate --checkpoint " + (dir / "junk.safetensors").string() + " --prompt hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("junk.safetensors"), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attn
