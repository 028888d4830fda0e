// attn/viz.h — see the attention: heatmaps of weights per layer and head, as PNG and as one
// self-contained HTML page with token labels.
//
//   Tensor w = attention_weights(q, k, lse, opts, {0, 1, 2, 3});      // [1,4,T,S]
//   std::vector<AttentionMap> maps;
//   for (int64_t h = 0; h < 4; ++h) maps.push_back({.layer = 0, .head = h, .weights = w[0][h]});
//   write_heatmap_png("head0.png", maps[0].weights, {.row_labels = toks, .col_labels = toks});
//   write_attention_html("attention.html", maps, {.row_labels = toks, .col_labels = toks});
//
// Files are written atomically (temp file + rename): a failed write leaves no half file behind.
#pragma once

#include <attn/tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

struct AttentionMap {
  int64_t layer = 0;
  int64_t head = 0;
  Tensor weights;  // [T,S], any float dtype; rows are queries, columns keys
};

struct HeatmapStyle {
  std::vector<std::string> row_labels;  // T query labels (may be empty)
  std::vector<std::string> col_labels;  // S key labels (may be empty)
  std::string title;
  int cell_px = 0;  // 0: chosen so the map is about 480 px wide (at least 1, at most 32)
};

// Colour of a value in [0,1] on the viridis scale (clamped): {r, g, b}.
std::array<uint8_t, 3> viridis(float t);

// Renders one [T,S] map: labels (ASCII; other bytes as '?'), cells, a colour bar. -> RGB rows.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};
Image render_heatmap(const Tensor& weights, const HeatmapStyle& style);

void write_png(const std::string& path, const Image& image);
void write_heatmap_png(const std::string& path, const Tensor& weights, const HeatmapStyle& style = {});

// One page: a grid of every map (layer x head), a selector, hover read-outs, labels; no external files.
void write_attention_html(const std::string& path, const std::vector<AttentionMap>& maps,
                          const HeatmapStyle& style = {});

}  // namespace attn
