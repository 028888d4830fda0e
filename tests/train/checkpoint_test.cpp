// tests/train/checkpoint_test.cpp — checkpoints: exact round trip, the loaded model reproduces the
// saved one's logits, corrupt files (truncated, flipped bits, foreign safetensors) and mismatched
// shapes are named errors, and a process killed (SIGKILL) in the middle of saving leaves the last
// complete checkpoint loadable.
#include <attn/autograd.h>
#include <attn/safetensors.h>
#include <attn/train.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "train/train_test_util.h"

namespace attn {
namespace {

CheckpointData make_checkpoint(uint64_t seed, int64_t step) {
  GptConfig cfg = gpt_preset("tiny");
  cfg.vocab_size = 5;
  Gpt m(cfg);
  Rng rng(seed);
  m.init_weights(rng);
  std::vector<OptimParam> params;
  for (auto& p : m.unique_parameters()) params.push_back({p.name, p.tensor});
  AdamW opt(params, {});
  CheckpointData d{.config = cfg,
                   .vocab = "abcde",
                   .step = step,
                   .dropout_rng = {seed + 1, 17},
                   .loader_rng = {seed + 2, 99},
                   .options_json = "{\"seed\": 1}",
                   .model = {},
                   .optimizer = {}};
  for (auto& [name, t] : m.state_dict()) d.model[name] = t.clone();
  for (auto& [name, t] : opt.state()) d.optimizer[name] = t.clone();
  d.optimizer["step"] = Tensor::full({1}, double(step), DType::kI64);
  return d;
}

void expect_same(const CheckpointData& a, const CheckpointData& b) {
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.vocab, b.vocab);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.dropout_rng.seed, b.dropout_rng.seed);
  EXPECT_EQ(a.dropout_rng.offset, b.dropout_rng.offset);
  EXPECT_EQ(a.loader_rng.offset, b.loader_rng.offset);
  ASSERT_EQ(a.model.size(), b.model.size());
  for (const auto& [name, t] : a.model) EXPECT_EQ(t.to_vector(), b.model.at(name).to_vector()) << name;
  ASSERT_EQ(a.optimizer.size(), b.optimizer.size());
  for (const auto& [name, t] : a.optimizer) EXPECT_EQ(t.to_vector_f64(), b.optimizer.at(name).to_vector_f64()) << name;
}

TEST(Checkpoint, RoundTripIsExact) {
  const auto dir = test::fresh_dir("ckpt_rt");
  const CheckpointData d = make_checkpoint(3, 42);
  const std::string path = (dir / kCheckpointFile).string();
  checkpoint_save(path, d);
  expect_same(d, checkpoint_load(path));
  expect_same(d, checkpoint_load(dir.string()));  // a directory finds its checkpoint file
  // load_gpt gives an eval-mode model with the same weights and the tokenizer.
  const LoadedGpt m = load_gpt(dir.string());
  EXPECT_EQ(m.step, 42);
  EXPECT_EQ(m.tokenizer.vocab_string(), "abcde");
  EXPECT_FALSE(m.model->training());
  EXPECT_EQ(m.model->state_dict().at("wte.weight").to_vector(), d.model.at("wte.weight").to_vector());
  std::filesystem::remove_all(dir);
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Checkpoint, CorruptFilesAreNamedErrors) {
  const auto dir = test::fresh_dir("ckpt_bad");
  const std::string path = (dir / kCheckpointFile).string();
  checkpoint_save(path, make_checkpoint(1, 5));
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  // Truncated.
  const std::string cut = (dir / "cut.safetensors").string();
  test::write_text(cut, bytes.substr(0, bytes.size() / 2));
  std::string msg = message_of([&] { checkpoint_load(cut); });
  EXPECT_NE(msg.find("cut.safetensors"), std::string::npos) << msg;
  // One flipped bit in the tensor data: only the checksum can see it.
  const std::string flip = (dir / "flip.safetensors").string();
  std::string flipped = bytes;
  flipped[flipped.size() - 100] ^= 0x10;
  test::write_text(flip, flipped);
  msg = message_of([&] { checkpoint_load(flip); });
  EXPECT_NE(msg.find("flip.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
  // A safetensors file that is not a checkpoint.
  const std::string foreign = (dir / "foreign.safetensors").string();
  save_safetensors(foreign, {{"w", Tensor::zeros({2})}});
  msg = message_of([&] { checkpoint_load(foreign); });
  EXPECT_NE(msg.find("foreign.safetensors"), std::string::npos) << msg;
  // A tensor whose shape disagrees with the config.
  CheckpointData d = make_checkpoint(1, 5);
  d.model["wpe.weight"] = Tensor::zeros({8, 32});
  const std::string odd = (dir / "odd.safetensors").string();
  checkpoint_save(odd, d);
  msg = message_of([&] { checkpoint_load(odd); });
  EXPECT_NE(msg.find("odd.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wpe.weight"), std::string::npos) << msg;
  // A config that disagrees with the tensors: named, and never built at the config's size.
  for (auto tamper : {+[](GptConfig& c) { c.n_layers = 3; }, +[](GptConfig& c) { c.d_model = int64_t{1} << 40; },
                      +[](GptConfig& c) { c.n_layers = 1; }}) {
    CheckpointData t = make_checkpoint(1, 5);
    tamper(t.config);
    const std::string p = (dir / "tampered.safetensors").string();
    checkpoint_save(p, t);
    msg = message_of([&] { checkpoint_load(p); });
    EXPECT_NE(msg.find("tampered.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("config"), std::string::npos) << msg;
  }
  // Missing.
  msg = message_of([&] { checkpoint_load((dir / "none.safetensors").string()); });
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  std::filesystem::remove_all(dir);
}

// The child saves checkpoints as fast as it can; the parent SIGKILLs it at varying moments. The
// file must then always load (checksum and all) and be one of the complete versions.
TEST(Checkpoint, KilledMidSaveLeavesTheLastCompleteOne) {
  const auto dir = test::fresh_dir("ckpt_kill");
  const std::string path = (dir / kCheckpointFile).string();
  std::vector<CheckpointData> versions;
  for (int64_t v = 0; v < 4; ++v) versions.push_back(make_checkpoint(100 + static_cast<uint64_t>(v), v));
  checkpoint_save(path, versions[0]);
  for (int round = 0; round < 6; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (size_t i = 1;; i = i % 3 + 1) checkpoint_save(path, versions[i]);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3 + 7 * round));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    const CheckpointData got = checkpoint_load(path);
    ASSERT_GE(got.step, 0);
    ASSERT_LT(got.step, 4);
    expect_same(versions[static_cast<size_t>(got.step)], got);
  }
  // Kills that landed mid-save leave their temp files behind (unlinked only on a clean failure):
  // evidence the test exercised the interesting case, not a requirement.
  int leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) leftovers += e.path().filename() != kCheckpointFile;
  RecordProperty("killed_mid_save", leftovers);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attn
