// attn/train.h — training a character-level GPT: data loader, trainer loop, checkpoints, metrics.
//
//   TrainOptions o{.data = "input.txt", .out_dir = "out/shakespeare", .preset = "nanogpt-cpu",
//                  .steps = 2000, .batch_size = 12};
//   train_install_sigint_handler();              // Ctrl-C: finish the step, checkpoint, return
//   TrainResult r = train_gpt(o);                // progress bar on stderr, metrics.jsonl, checkpoint
//   o.resume = true; o.steps = 4000;             // later: continue exactly where it stopped
//   train_gpt(o);
//
//   CheckpointData ck = checkpoint_load("out/shakespeare/checkpoint.safetensors");
//   LoadedGpt m = load_gpt("out/shakespeare");   // const model + tokenizer, for generation
//
// Files in out_dir: checkpoint.safetensors (model, optimizer state, RNG states, data position;
// JSON metadata under __metadata__; replaced atomically: temp file, fsync, rename, so the previous
// checkpoint stays until the new one is complete) and metrics.jsonl (one JSON object per logged step
// or evaluation). The loss-curve PNG is drawn by the caller from metrics.jsonl (viz sits above train).
//
// Determinism: every random choice (init, dropout, batch windows, evaluation batches) comes from
// counter-based Philox streams whose states are in the checkpoint, and every op gives the same bits
// for any thread count, so a run stopped at step k and resumed gives bit-identical losses and
// parameters to an uninterrupted run, with 1 thread or 2.
//
// Bad input (missing or empty data, text shorter than a block, a checkpoint of another model
// configuration, a corrupt checkpoint) throws IoError / ValueError / ConfigError / FormatError naming
// the file and what is wrong, before anything in out_dir is written.
#pragma once

#include <attn/model.h>
#include <attn/ops.h>
#include <attn/optim.h>
#include <attn/rng.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <attn/char_tokenizer.h>

namespace attn {

// ---- data ----
// The text of a file encoded with a character tokenizer and split: first 90 % train, last 10 %
// validation (by token). Both splits must hold at least block_size + 1 tokens.
struct TextDataset {
  std::string path;
  CharTokenizer tokenizer;
  std::vector<int32_t> train, val;
};
// tokenizer null: built from the text. Throws IoError (unreadable), ValueError (empty, too short).
TextDataset text_dataset_load(const std::string& path, int64_t block_size, const CharTokenizer* tokenizer = nullptr);

struct Batch {
  Tensor x;  // i32 [B,T]
  Tensor y;  // i32 [B,T]: x shifted by one
};

// Random windows: each row starts at a uniform position in [0, n - T). The state (its Rng) is the
// data position a checkpoint saves.
class BatchLoader {
 public:
  BatchLoader(const std::vector<int32_t>& tokens, int64_t batch, int64_t block, RngState state);
  Batch next();
  RngState state() const { return rng_.state(); }

 private:
  const std::vector<int32_t>* tokens_;
  int64_t batch_, block_;
  Rng rng_;
};

// ---- checkpoints ----
struct CheckpointData {
  GptConfig config;
  std::string vocab;                         // CharTokenizer::vocab_string()
  int64_t step = 0;                          // optimizer steps done
  RngState dropout_rng, loader_rng;
  std::string options_json;                  // the TrainOptions of the run (informative)
  std::map<std::string, Tensor> model;       // parameter name -> tensor
  std::map<std::string, Tensor> optimizer;   // Optimizer::state()
};
// Writes one safetensors file atomically (temp, fsync, rename, fsync dir); `path` keeps its old
// contents until the new file is complete.
void checkpoint_save(const std::string& path, const CheckpointData& data);
// Reads and checks everything (format, metadata, every tensor's shape against the config); tensors
// are copies. Throws IoError / FormatError naming the file.
CheckpointData checkpoint_load(const std::string& path);
// DIR or DIR/checkpoint.safetensors -> the file's path.
std::string checkpoint_path(const std::string& dir_or_file);
inline constexpr const char* kCheckpointFile = "checkpoint.safetensors";

// A trained model ready for generation: eval mode, const.
struct LoadedGpt {
  std::unique_ptr<Gpt> model;
  CharTokenizer tokenizer;
  int64_t step = 0;
};
LoadedGpt load_gpt(const std::string& dir_or_file);

// ---- training ----
struct TrainOptions {
  std::string data;                  // a UTF-8 text file
  std::string out_dir = "out/train";
  std::string preset;                // gpt_preset name; "" = "small", or the checkpoint's on resume
  float dropout = -1.0f;             // >= 0 overrides the preset's
  int64_t steps = 1000;              // total optimizer steps (the schedule spans them)
  int64_t batch_size = 12;
  int64_t grad_accum = 1;            // micro-batches of batch_size per optimizer step
  double lr = 1e-3;
  double min_lr = 1e-4;
  int64_t warmup_steps = 100;
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.99;
  double grad_clip = 1.0;            // 0 = off
  int64_t eval_interval = 250;       // also checkpoints; 0 = only at the end
  int64_t eval_iters = 20;
  int64_t log_interval = 10;
  uint64_t seed = 1337;
  bool resume = false;               // continue from out_dir's checkpoint
  bool overwrite = false;            // start fresh even when out_dir holds a checkpoint
  int64_t stop_after = -1;           // stop (with a checkpoint) at this step, as Ctrl-C would
  double max_seconds = 0;            // > 0: stop (with a checkpoint) once this much time has passed
  bool progress = true;              // the progress bar / log lines on stderr
  // kBF16: the linear layers multiply in bf16 with f32 accumulation, in training and evaluation;
  // master weights, optimizer state and gradients stay f32 (see MatmulPrecision).
  MatmulPrecision precision = MatmulPrecision::kF32;
  // Record where each step's wall time goes (attn/profile.h) from this run's third step on (the
  // first two compile oneDNN's kernels and fill the allocator's cache); evaluation is not recorded.
  bool profile = false;
};

struct TrainResult {
  int64_t step = 0;                  // optimizer steps done in total
  std::vector<double> losses;        // training loss of each step run in this call
  double val_loss = -1;              // last evaluation (-1 if none)
  double tokens_per_s = 0;           // over this call
  double seconds = 0;
  bool stopped_early = false;        // Ctrl-C, stop_after or max_seconds
  std::string checkpoint;            // path written last
};

struct TrainCallbacks {
  std::function<void(int64_t step, double val_loss)> on_eval;  // after each evaluation's metrics line
};

TrainResult train_gpt(const TrainOptions& options, const TrainCallbacks& callbacks = {});

// Mean cross-entropy of `iters` batches drawn from `tokens` with a fixed seed (same batches every
// call), in eval mode without recording.
double evaluate_loss(const Gpt& model, const std::vector<int32_t>& tokens, int64_t batch, int64_t iters,
                     uint64_t seed);

// SIGINT sets a flag the training loop checks after each step; a second Ctrl-C more than a second
// later kills as usual (a doubled delivery, as `timeout -s INT` makes, is one interrupt).
void train_install_sigint_handler();
void train_request_stop();
bool train_stop_requested();
void train_clear_stop();

// ---- metrics.jsonl ----
struct MetricPoint {
  int64_t step = 0;
  double loss = -1;      // training loss at that step (-1 = not a training line)
  double val_loss = -1;  // evaluation lines
};
std::vector<MetricPoint> metrics_read(const std::string& path);

}  // namespace attn
