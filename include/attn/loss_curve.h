// attn/loss_curve.h — a training run's loss curve as a PNG (viz layer; drawn by the CLI from
// metrics.jsonl, since viz sits above train).
//
//   write_loss_curve_png("out/demo/loss.png", {{.name = "train", .steps = s, .values = v},
//                                              {.name = "val", .steps = s2, .values = v2}});
//
// Axes with tick labels, one coloured polyline per series, a legend; written atomically.
#pragma once

#include <attn/viz.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attn {

struct LossSeries {
  std::string name;
  std::vector<int64_t> steps;
  std::vector<double> values;  // same length as steps
};

struct LossCurveStyle {
  int width = 720, height = 420;
  std::string title = "loss";
};

Image render_loss_curve(const std::vector<LossSeries>& series, const LossCurveStyle& style = {});
void write_loss_curve_png(const std::string& path, const std::vector<LossSeries>& series,
                          const LossCurveStyle& style = {});

}  // namespace attn
