// tools/attn/train.cpp — `attn train`: train a character-level GPT on a text file with a progress
// bar, metrics.jsonl, a loss-curve PNG and atomic checkpoints; --resume continues exactly; Ctrl-C
// stops after the current step with a checkpoint.
#include <attn/loss_curve.h>
#include <attn/profile.h>
#include <attn/train.h>

#include <filesystem>

#include "command.h"

namespace attn::cli {
namespace {

void write_curve(const std::string& out_dir) {
  const auto points = metrics_read((std::filesystem::path(out_dir) / "metrics.jsonl").string());
  LossSeries train{.name = "train", .steps = {}, .values = {}}, val{.name = "val", .steps = {}, .values = {}};
  for (const auto& p : points) {
    if (p.loss >= 0) train.steps.push_back(p.step), train.values.push_back(p.loss);
    if (p.val_loss >= 0) val.steps.push_back(p.step), val.values.push_back(p.val_loss);
  }
  write_loss_curve_png((std::filesystem::path(out_dir) / "loss.png").string(), {train, val},
                       {.title = "attn train: cross-entropy (nats/char)"});
}

void run_train(const TrainOptions& o) {
  train_install_sigint_handler();
  const TrainResult r = train_gpt(o, {.on_eval = [&](int64_t, double) { write_curve(o.out_dir); }});
  if (r.losses.empty()) {
    fmt::print("attn train: {} is already at step {} of {}; nothing to do\n", o.out_dir, r.step, o.steps);
    return;
  }
  write_curve(o.out_dir);
  fmt::print("attn train: step {} | train loss {:.4f} | val loss {:.4f} | {:.0f} tokens/s over {:.1f} s\n", r.step,
             r.losses.back(), r.val_loss, r.tokens_per_s, r.seconds);
  fmt::print("  checkpoint {}\n  metrics    {}/metrics.jsonl\n  loss curve {}/loss.png\n", r.checkpoint, o.out_dir,
             o.out_dir);
  if (o.profile) {
    const std::string table = profile_report("step");
    fmt::print("\nwhere the time went (steps 3 onward of this run; inclusive: a GEMM inside a backward counts in "
               "both)\n{}",
               table.find('\n') + 1 < table.size() ? table : "  (fewer than 3 steps ran: nothing recorded)\n");
  }
  if (train_stop_requested()) {
    fmt::print("interrupted at step {}; continue with: attn train --data {} --out {} --steps {} --resume\n", r.step,
               o.data, o.out_dir, o.steps);
    throw Exit{130};
  }
}

const bool registered = register_command({
    .name = "train",
    .help = "Train a character-level GPT on a text file (progress bar, metrics, checkpoints, --resume)",
    .setup = [](CLI::App& app) {
      auto o = std::make_shared<TrainOptions>();
      app.add_option("--data", o->data, "UTF-8 text file (first 90% train, last 10% validation)")->required();
      app.add_option("--config", o->preset, "model: tiny, small, nanogpt-cpu, nanogpt (default small; on --resume the checkpoint's)");
      app.add_option("--steps", o->steps, "total optimizer steps")->capture_default_str();
      app.add_option("--out", o->out_dir, "output directory (checkpoint, metrics, loss curve)")->capture_default_str();
      app.add_flag("--resume", o->resume, "continue from the checkpoint in --out");
      app.add_flag("--overwrite", o->overwrite, "start afresh even if --out holds a checkpoint");
      app.add_option("--seed", o->seed, "seed of init, dropout and batches")->capture_default_str();
      app.add_option("--batch-size", o->batch_size, "sequences per step")->capture_default_str();
      app.add_option("--grad-accum", o->grad_accum, "micro-batches per optimizer step")->capture_default_str();
      app.add_option("--lr", o->lr, "peak learning rate")->capture_default_str();
      app.add_option("--min-lr", o->min_lr, "learning rate at the end of the cosine")->capture_default_str();
      app.add_option("--warmup", o->warmup_steps, "linear warm-up steps")->capture_default_str();
      app.add_option("--weight-decay", o->weight_decay, "AdamW weight decay (matrices and embeddings)")->capture_default_str();
      app.add_option("--grad-clip", o->grad_clip, "clip the global gradient norm (0 = off)")->capture_default_str();
      app.add_option("--dropout", o->dropout, "override the config's dropout");
      app.add_option("--eval-interval", o->eval_interval, "steps between evaluations and checkpoints")->capture_default_str();
      app.add_option("--eval-iters", o->eval_iters, "validation batches per evaluation")->capture_default_str();
      app.add_option("--log-interval", o->log_interval, "steps between log lines when stderr is not a terminal")->capture_default_str();
      app.add_option("--max-seconds", o->max_seconds, "stop with a checkpoint after this many seconds (0 = no limit)");
      app.add_option("--stop-after", o->stop_after, "stop with a checkpoint at this step, as Ctrl-C would");
      app.add_flag("--bf16", [o](int64_t) { o->precision = MatmulPrecision::kBF16; },
                   "bf16 matmuls with f32 accumulation and f32 master weights (AVX512-BF16/AMX)");
      app.add_flag("--quiet", [o](int64_t) { o->progress = false; }, "no progress output");
      app.add_flag("--profile", o->profile,
                   "print where the step time goes (phases, backward of each op, GEMMs, attention) at the end");
      app.callback([o] { run_train(*o); });
    }});

}  // namespace
}  // namespace attn::cli
