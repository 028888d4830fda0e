// tests/train/trainer_test.cpp — the training loop: the loss falls; a run stopped at step k and
// resumed equals an uninterrupted run bit for bit (losses, parameters, optimizer state), with
// dropout on; 1 and 2 threads give the same bits; metrics.jsonl has one line per step after a
// resume; bad input is a named error that writes nothing.
#include <attn/threads.h>
#include <attn/train.h>
#include <gtest/gtest.h>

#include <fstream>

#include "train/train_test_util.h"

namespace attn {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    data_ = (dir_ / "data.txt").string();
    test::write_text(data_, test::sample_text(6000));
    threads_ = num_threads();
    set_num_threads(1);  // small models; the thread-count test sets its own
  }
  void TearDown() override {
    set_num_threads(threads_);
    std::filesystem::remove_all(dir_);
  }
  TrainOptions options(const std::string& out) const {
    return {.data = data_, .out_dir = (dir_ / out).string(), .preset = "tiny", .dropout = 0.1f, .steps = 8,
            .batch_size = 4, .lr = 3e-3, .min_lr = 3e-4, .warmup_steps = 2, .eval_interval = 4, .eval_iters = 2,
            .seed = 5, .progress = false};
  }
  std::filesystem::path dir_;
  std::string data_;
  int threads_ = 1;
};

void expect_bit_identical(const CheckpointData& a, const CheckpointData& b) {
  ASSERT_EQ(a.step, b.step);
  for (const auto& [name, t] : a.model) EXPECT_EQ(t.to_vector(), b.model.at(name).to_vector()) << name;
  for (const auto& [name, t] : a.optimizer) EXPECT_EQ(t.to_vector_f64(), b.optimizer.at(name).to_vector_f64()) << name;
  EXPECT_EQ(a.dropout_rng.offset, b.dropout_rng.offset);
  EXPECT_EQ(a.loader_rng.offset, b.loader_rng.offset);
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

TEST_F(TrainerTest, LossFalls) {
  TrainOptions o = options("learn");
  o.steps = 60;
  o.dropout = 0.0f;
  o.eval_interval = 0;
  const TrainResult r = train_gpt(o);
  ASSERT_EQ(r.losses.size(), 60u);
  EXPECT_GT(r.losses.front(), 2.3);  // ≈ ln(vocab 14) at init
  EXPECT_LT(r.losses.back(), r.losses.front() - 0.6);
  EXPECT_LT(r.val_loss, r.losses.front() - 0.6);
  EXPECT_EQ(r.step, 60);
}

// bf16 matmuls follow the f32 run closely (same data, init and schedule) but not bit for bit —
// the check that --bf16 really changes the arithmetic — and learn as well.
TEST_F(TrainerTest, Bf16MatmulsTrackTheF32Run) {
  TrainOptions o = options("f32");
  o.steps = 60;
  o.dropout = 0.0f;
  o.eval_interval = 0;
  const TrainResult f32 = train_gpt(o);
  o.out_dir = (dir_ / "bf16").string();
  o.precision = MatmulPrecision::kBF16;
  const TrainResult bf16 = train_gpt(o);
  ASSERT_EQ(bf16.losses.size(), f32.losses.size());
  EXPECT_NE(bf16.losses, f32.losses);
  for (size_t i = 0; i < f32.losses.size(); ++i) EXPECT_NEAR(bf16.losses[i], f32.losses[i], 0.05) << "step " << i;
  EXPECT_NEAR(bf16.val_loss, f32.val_loss, 0.05);
  EXPECT_LT(bf16.val_loss, bf16.losses.front() - 0.6);
}

TEST_F(TrainerTest, ResumeIsBitIdentical) {
  const TrainResult whole = train_gpt(options("whole"));
  TrainOptions first = options("split");
  first.stop_after = 3;
  const TrainResult a = train_gpt(first);
  EXPECT_TRUE(a.stopped_early);
  EXPECT_EQ(a.step, 3);
  TrainOptions second = options("split");
  second.resume = true;
  const TrainResult b = train_gpt(second);
  std::vector<double> joined = a.losses;
  joined.insert(joined.end(), b.losses.begin(), b.losses.end());
  ASSERT_EQ(joined.size(), whole.losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], whole.losses[i]) << "step " << i + 1;
  EXPECT_EQ(b.val_loss, whole.val_loss);
  expect_bit_identical(checkpoint_load((dir_ / "whole").string()), checkpoint_load((dir_ / "split").string()));
  // metrics.jsonl: exactly one training line per step 1..8 after the resume.
  std::vector<int64_t> steps;
  for (const MetricPoint& p : metrics_read((dir_ / "split" / "metrics.jsonl").string()))
    if (p.loss >= 0) steps.push_back(p.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Resuming a finished run does nothing.
  EXPECT_TRUE(train_gpt(second).losses.empty());
}

// Ctrl-C sets the flag the loop checks: the run stops after that step with a checkpoint, and a
// resume finishes it with the same losses as an uninterrupted run.
TEST_F(TrainerTest, StopRequestCheckpointsAndResumes) {
  const TrainResult whole = train_gpt(options("whole"));
  TrainOptions o = options("stopped");
  const TrainResult a = train_gpt(o, {.on_eval = [](int64_t step, double) {
                                        if (step == 4) train_request_stop();
                                      }});
  EXPECT_TRUE(train_stop_requested());
  train_clear_stop();
  EXPECT_TRUE(a.stopped_early);
  EXPECT_EQ(a.step, 5);  // the flag raised during step 4's evaluation is seen after step 5
  EXPECT_EQ(checkpoint_load(o.out_dir).step, 5);
  o.resume = true;
  const TrainResult b = train_gpt(o);
  std::vector<double> joined = a.losses;
  joined.insert(joined.end(), b.losses.begin(), b.losses.end());
  EXPECT_EQ(joined, whole.losses);
}

// Two micro-batches of 2 give the gradient of one batch of 4 (the same windows: the loader draws
// them in the same order), up to float summation order.
TEST_F(TrainerTest, GradientAccumulationMatchesTheLargerBatch) {
  TrainOptions big = options("big"), acc = options("acc");
  big.steps = acc.steps = 3;
  big.dropout = acc.dropout = 0.0f;
  acc.batch_size = 2;
  acc.grad_accum = 2;
  const TrainResult a = train_gpt(big), b = train_gpt(acc);
  ASSERT_EQ(a.losses.size(), b.losses.size());
  for (size_t i = 0; i < a.losses.size(); ++i) EXPECT_NEAR(a.losses[i], b.losses[i], 1e-5) << i;
  const CheckpointData ca = checkpoint_load((dir_ / "big").string()), cb = checkpoint_load((dir_ / "acc").string());
  for (const auto& [name, t] : ca.model) {
    const auto x = t.to_vector(), y = cb.model.at(name).to_vector();
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-4) << name << "[" << i << "]";
  }
}

TEST_F(TrainerTest, SameBitsWithOneAndTwoThreads) {
  set_num_threads(1);
  const TrainResult one = train_gpt(options("t1"));
  set_num_threads(2);
  const TrainResult two = train_gpt(options("t2"));
  EXPECT_EQ(one.losses, two.losses);
  expect_bit_identical(checkpoint_load((dir_ / "t1").string()), checkpoint_load((dir_ / "t2").string()));
}

TEST_F(TrainerTest, BadInputWritesNothing) {
  TrainOptions o = options("bad");
  o.data = (dir_ / "missing.txt").string();
  EXPECT_THROW(train_gpt(o), IoError);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad"));
  test::write_text(dir_ / "short.txt", "too short");
  o.data = (dir_ / "short.txt").string();
  EXPECT_THROW(train_gpt(o), ValueError);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad"));
  o = options("bad");
  o.resume = true;
  EXPECT_THROW(train_gpt(o), IoError);  // nothing to resume
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad"));

  // A real checkpoint, then runs that must leave it alone.
  o = options("keep");
  o.steps = 2;
  train_gpt(o);
  const std::string ckpt = (dir_ / "keep" / kCheckpointFile).string();
  const std::string before = file_bytes(ckpt);
  o.steps = 4;
  EXPECT_THROW(train_gpt(o), ConfigError);  // fresh run over an existing checkpoint
  o.resume = true;
  o.preset = "small";
  try {
    train_gpt(o);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("another model configuration"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(ckpt), std::string::npos) << e.what();
  }
  EXPECT_EQ(file_bytes(ckpt), before);
  // A corrupt checkpoint: named, and not replaced.
  std::string broken = before;
  broken[broken.size() / 2] ^= 0x01;
  test::write_text(ckpt, broken);
  o.preset = "";
  try {
    train_gpt(o);
    ADD_FAILURE() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(ckpt), std::string::npos) << e.what();
  }
  EXPECT_EQ(file_bytes(ckpt), broken);
}

}  // namespace
}  // namespace attn
