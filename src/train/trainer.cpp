// train/trainer.cpp — the GPT training loop:
//   1. resolve the run: fresh (preset + data) or resumed (config, tokenizer, weights, optimizer
//      state, RNG states and data position from the checkpoint), checking everything before any
//      file in out_dir is touched;
//   2. per step: lr from the schedule, a batch of random windows, forward, cross-entropy,
//      backward, gradient clipping, AdamW, a metrics line, the progress bar;
//   3. every eval_interval steps and at the end: validation loss and an atomic checkpoint;
//   4. Ctrl-C / stop_after / max_seconds: checkpoint and return early.
#include <attn/autograd.h>
#include <attn/loss.h>
#include <attn/ops.h>
#include <attn/profile.h>
#include <attn/train.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <pthread.h>
#include <time.h>

#include <mutex>
#include <thread>

#include "io/atomic_file.h"
#include "train/progress.h"

namespace attn {

namespace {
std::atomic<bool> g_stop{false};

std::atomic<int64_t> g_first_sigint_ns{0};

int64_t monotonic_ns() {  // clock_gettime is async-signal-safe; std::chrono is not promised to be
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The first SIGINT asks for a checkpoint and a clean stop. A second one kills the process the
// usual way, but only when it comes more than a second later: `timeout -s INT` and some process
// managers deliver one interrupt twice (to the child, then to its process group) within
// microseconds, and that must not turn a clean stop into a kill.
void on_sigint() {
  const int64_t now = monotonic_ns();
  int64_t first = 0;
  if (g_first_sigint_ns.compare_exchange_strong(first, now)) {
    g_stop.store(true);
  } else if (now - first > 1'000'000'000) {
    std::signal(SIGINT, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    std::raise(SIGINT);
  }
}

// SIGINT is blocked in the calling thread (and so in every thread created after it: OpenMP's and
// oneDNN's) and taken by one waiting thread. A handler running on a compute thread interrupted
// whatever system call it was in; under load that corrupted the heap inside oneDNN's sgemm now
// and then (caught twice in ~80 interrupted runs, never with the signal blocked).
void wait_for_sigint() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) == 0 && sig == SIGINT) on_sigint();
  }
}

// Philox keys of the run's independent streams.
RngState dropout_stream(uint64_t seed) { return {seed + 1, 0}; }
RngState loader_stream(uint64_t seed) { return {seed + 2, 0}; }
uint64_t eval_seed(uint64_t seed) { return seed + 3; }

std::string options_json(const TrainOptions& o) {
  nlohmann::ordered_json j = {{"data", o.data},       {"preset", o.preset},         {"steps", o.steps},
                              {"batch_size", o.batch_size}, {"grad_accum", o.grad_accum}, {"lr", o.lr},         {"min_lr", o.min_lr},
                              {"warmup_steps", o.warmup_steps}, {"weight_decay", o.weight_decay},
                              {"beta1", o.beta1},     {"beta2", o.beta2},           {"grad_clip", o.grad_clip},
                              {"eval_interval", o.eval_interval}, {"eval_iters", o.eval_iters}, {"seed", o.seed},
                              {"precision", o.precision == MatmulPrecision::kBF16 ? "bf16" : "f32"}};
  return j.dump();
}

void check_options(const TrainOptions& o) {
  ATTN_CHECK(!o.data.empty(), ConfigError, "train: no data file given (--data FILE)");
  ATTN_CHECK(o.steps >= 1, ConfigError, "train: steps must be >= 1, got {}", o.steps);
  ATTN_CHECK(o.batch_size >= 1, ConfigError, "train: batch_size must be >= 1, got {}", o.batch_size);
  ATTN_CHECK(o.grad_accum >= 1, ConfigError, "train: grad_accum must be >= 1, got {}", o.grad_accum);
  ATTN_CHECK(o.lr > 0 && o.min_lr >= 0 && o.warmup_steps >= 0, ConfigError,
             "train: lr {} must be > 0, min_lr {} and warmup_steps {} >= 0", o.lr, o.min_lr, o.warmup_steps);
  ATTN_CHECK(o.eval_iters >= 1 && o.eval_interval >= 0, ConfigError,
             "train: eval_iters {} must be >= 1 and eval_interval {} >= 0", o.eval_iters, o.eval_interval);
  ATTN_CHECK(o.dropout < 1.0f, ConfigError, "train: dropout must be < 1, got {}", o.dropout);
}

// The model config of the run; on resume it must agree with an explicitly given preset.
GptConfig resolve_config(const TrainOptions& o, const std::optional<CheckpointData>& ck, const std::string& ck_path) {
  GptConfig cfg = ck ? ck->config : gpt_preset(o.preset.empty() ? "small" : o.preset);
  if (ck && !o.preset.empty()) {
    GptConfig want = gpt_preset(o.preset);
    want.vocab_size = cfg.vocab_size;
    want.dropout = o.dropout >= 0 ? o.dropout : want.dropout;
    want.fused_qkv = cfg.fused_qkv;  // the same model either way: the checkpoint's layout is kept
    GptConfig have = cfg;
    have.dropout = want.dropout;  // dropout may change on resume; the architecture may not
    ATTN_CHECK(want == have, ConfigError,
               "checkpoint {} is from another model configuration: it has {}; --config {} is {}", ck_path,
               gpt_config_str(cfg), o.preset, gpt_config_str(want));
  }
  if (o.dropout >= 0) cfg.dropout = o.dropout;
  return cfg;
}

// metrics.jsonl: a fresh run starts it empty; a resumed run keeps the lines up to its step.
std::string prepare_metrics(const std::string& out_dir, int64_t keep_until, bool fresh) {
  const std::string path = (std::filesystem::path(out_dir) / "metrics.jsonl").string();
  std::string kept;
  if (!fresh) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("step", int64_t{-1}) <= keep_until) kept += line + "\n";
    }
  }
  write_file_atomic(path, std::as_bytes(std::span(kept.data(), kept.size())));
  return path;
}

struct Run {
  GptConfig cfg;
  TextDataset data;
  std::unique_ptr<Gpt> model;
  std::vector<OptimParam> params;
  std::unique_ptr<AdamW> opt;
  Rng dropout_rng;
  std::unique_ptr<BatchLoader> loader;
  int64_t step = 0;
  std::string ckpt_path;
};

Run setup_run(const TrainOptions& o) {
  Run r;
  r.ckpt_path = (std::filesystem::path(o.out_dir) / kCheckpointFile).string();
  std::error_code ec;
  const bool have_ckpt = std::filesystem::exists(r.ckpt_path, ec);
  std::optional<CheckpointData> ck;
  if (o.resume) {
    ATTN_CHECK(have_ckpt, IoError, "--resume: there is no checkpoint {} to continue from", r.ckpt_path);
    ck = checkpoint_load(r.ckpt_path);
  } else {
    ATTN_CHECK(!have_ckpt || o.overwrite, ConfigError,
               "{} already holds a checkpoint; pass --resume to continue it or --overwrite to start again",
               r.ckpt_path);
  }
  r.cfg = resolve_config(o, ck, r.ckpt_path);
  if (ck) {
    const CharTokenizer tok = CharTokenizer::from_vocab_string(ck->vocab, "checkpoint " + r.ckpt_path);
    r.data = text_dataset_load(o.data, r.cfg.block_size, &tok);
  } else {
    r.data = text_dataset_load(o.data, r.cfg.block_size);
    r.cfg.vocab_size = r.data.tokenizer.vocab_size();
  }
  r.model = std::make_unique<Gpt>(r.cfg);
  if (ck) {
    r.model->load_state(ck->model);
  } else {
    Rng init(o.seed);
    r.model->init_weights(init);
  }
  for (NamedParameter& p : r.model->unique_parameters()) r.params.push_back({p.name, p.tensor});
  r.opt = std::make_unique<AdamW>(
      r.params, AdamWConfig{.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .eps = 1e-8, .weight_decay = o.weight_decay});
  if (ck) r.opt->load_state(ck->optimizer);
  r.dropout_rng = Rng(ck ? ck->dropout_rng : dropout_stream(o.seed));
  r.loader = std::make_unique<BatchLoader>(r.data.train, o.batch_size, r.cfg.block_size,
                                           ck ? ck->loader_rng : loader_stream(o.seed));
  r.step = ck ? ck->step : 0;
  return r;
}

void save(const Run& r, const TrainOptions& o) {
  CheckpointData d{.config = r.cfg,
                   .vocab = r.data.tokenizer.vocab_string(),
                   .step = r.step,
                   .dropout_rng = r.dropout_rng.state(),
                   .loader_rng = r.loader->state(),
                   .options_json = options_json(o),
                   .model = r.model->state_dict(),
                   .optimizer = r.opt->state()};
  checkpoint_save(r.ckpt_path, d);
}

// One optimizer step; returns the training loss.
double train_step(Run& r, const WarmupCosine& sched, const TrainOptions& o) {
  MatmulPrecisionScope precision(o.precision);
  ProfileScope whole("step");
  r.opt->set_lr(sched.lr(r.step));
  r.opt->zero_grad();
  // grad_accum micro-batches, each loss scaled by 1/grad_accum: the gradients add up to those of
  // the mean loss over all of them (backward accumulates into the leaves).
  double total = 0;
  for (int64_t k = 0; k < o.grad_accum; ++k) {
    const Batch b = r.loader->next();
    const int64_t N = b.x.numel(), V = r.cfg.vocab_size;
    Tensor loss;
    {
      ProfileScope phase("forward");
      const Tensor logits = r.model->forward_train(b.x, r.dropout_rng);  // [B,T,V]
      loss = cross_entropy(logits.reshape({N, V}), b.y.reshape({N}));
    }
    ProfileScope phase("backward");
    backward(o.grad_accum == 1 ? loss : mul(loss, 1.0f / static_cast<float>(o.grad_accum)));
    total += loss.item();
  }
  if (o.grad_clip > 0) {  // the factor goes into the optimizer's pass (the bits of clip_grad_norm + step)
    ProfileScope phase("clip");
    r.opt->set_grad_scale(clip_grad_scale(grad_norm(r.params), o.grad_clip));
  }
  ProfileScope phase("optimizer");
  r.opt->step();
  ++r.step;
  return total / static_cast<double>(o.grad_accum);
}
}  // namespace

void train_install_sigint_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    // Threads that existed before this call still have SIGINT unblocked; for them, a handler.
    std::signal(SIGINT, [](int) { on_sigint(); });
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread(wait_for_sigint).detach();
  });
}
void train_request_stop() { g_stop.store(true); }
bool train_stop_requested() { return g_stop.load(); }
void train_clear_stop() {
  g_stop.store(false);
  g_first_sigint_ns.store(0);
}

double evaluate_loss(const Gpt& model, const std::vector<int32_t>& tokens, int64_t batch, int64_t iters,
                     uint64_t seed) {
  NoGradGuard no_grad;
  BatchLoader loader(tokens, batch, model.config().block_size, RngState{seed, 0});
  double total = 0;
  for (int64_t i = 0; i < iters; ++i) {
    const Batch b = loader.next();
    const int64_t N = b.x.numel();
    total += cross_entropy(model.forward(b.x).reshape({N, model.config().vocab_size}), b.y.reshape({N})).item();
  }
  return total / static_cast<double>(iters);
}

TrainResult train_gpt(const TrainOptions& o, const TrainCallbacks& cb) {
  check_options(o);
  Run r = setup_run(o);  // every check on inputs happens here, before out_dir is written
  TrainResult res{.step = r.step};
  if (r.step >= o.steps) return res;
  std::filesystem::create_directories(o.out_dir);
  const std::string metrics_path = prepare_metrics(o.out_dir, r.step, !o.resume);
  std::ofstream metrics(metrics_path, std::ios::app);
  const WarmupCosine sched(
      {.base_lr = o.lr, .min_lr = o.min_lr, .warmup_steps = std::min(o.warmup_steps, o.steps), .total_steps = o.steps});
  const int64_t tokens_per_step = o.batch_size * o.grad_accum * r.cfg.block_size;
  ProgressBar bar(r.step, o.steps, tokens_per_step, o.log_interval, o.progress);
  bar.message(fmt::format("attn train: {} ({} parameters), {} train / {} val tokens, vocab {}, {} matmuls, {} -> {}",
                          gpt_config_str(r.cfg), r.model->num_parameters(), r.data.train.size(), r.data.val.size(),
                          r.cfg.vocab_size, o.precision == MatmulPrecision::kBF16 ? "bf16" : "f32",
                          r.step == 0 ? "fresh" : fmt::format("resumed at step {}", r.step), o.steps));
  bool saved_now = false;
  const int64_t first_step = r.step;
  while (r.step < o.steps) {
    r.model->train();
    const double lr = sched.lr(r.step);
    const int64_t t0 = monotonic_ns();
    if (o.profile) profile_enable(r.step >= first_step + 2);
    const double loss = train_step(r, sched, o);
    if (o.profile) profile_enable(false);
    const double step_s = static_cast<double>(monotonic_ns() - t0) * 1e-9;
    res.losses.push_back(loss);
    saved_now = false;
    metrics << nlohmann::json{{"step", r.step}, {"loss", loss}, {"lr", lr}, {"step_s", step_s},
                              {"tokens_per_s", bar.tokens_per_s()}}.dump()
            << "\n" << std::flush;
    bar.update(r.step, loss, lr);
    const bool stop = train_stop_requested() || r.step == o.stop_after ||
                      (o.max_seconds > 0 && bar.elapsed_s() >= o.max_seconds);
    if ((o.eval_interval > 0 && r.step % o.eval_interval == 0) || r.step == o.steps || stop) {
      r.model->eval();
      MatmulPrecisionScope precision(o.precision);
      res.val_loss = evaluate_loss(*r.model, r.data.val, o.batch_size, o.eval_iters, eval_seed(o.seed));
      metrics << nlohmann::json{{"step", r.step}, {"val_loss", res.val_loss}}.dump() << "\n" << std::flush;
      save(r, o);
      saved_now = true;
      bar.message(fmt::format("step {}: val loss {:.4f}, checkpoint {}", r.step, res.val_loss, r.ckpt_path));
      if (cb.on_eval) cb.on_eval(r.step, res.val_loss);
    }
    if (stop) {
      res.stopped_early = r.step < o.steps;
      break;
    }
  }
  if (!saved_now) save(r, o);
  bar.finish();
  res.step = r.step;
  res.seconds = bar.elapsed_s();
  res.tokens_per_s = bar.tokens_per_s();
  res.checkpoint = r.ckpt_path;
  return res;
}

std::vector<MetricPoint> metrics_read(const std::string& path) {
  std::vector<MetricPoint> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("step")) continue;
    out.push_back({.step = j.value("step", int64_t{0}), .loss = j.value("loss", -1.0), .val_loss = j.value("val_loss", -1.0)});
  }
  return out;
}

}  // namespace attn
