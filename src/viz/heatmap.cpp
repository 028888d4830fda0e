// viz/heatmap.cpp — one attention map as an RGB image: labels, cells on the viridis scale, a
// colour bar. Text comes from stb_easy_font (quads, rasterised here); PNG encoding from libstb.
#include <attn/viz.h>
#include <stb_easy_font.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "io/atomic_file.h"

namespace attn {
namespace {

constexpr int kPad = 8;
constexpr int kTextHeight = 12;  // stb_easy_font's line height at scale 1
constexpr int kBarWidth = 14;

struct Canvas {
  Image& img;
  void fill_rect(int x0, int y0, int x1, int y1, std::array<uint8_t, 3> c) {
    x0 = std::max(x0, 0), y0 = std::max(y0, 0);
    x1 = std::min(x1, img.width), y1 = std::min(y1, img.height);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) std::copy(c.begin(), c.end(), &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3]);
  }
  // Draws ASCII text with its top-left at (x, y); vertical text reads bottom-to-top with its
  // bottom-left at (x, y).
  void text(int x, int y, const std::string& s, bool vertical = false) {
    std::string ascii = s;
    for (char& ch : ascii)
      if (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126) ch = '?';
    std::vector<char> buf(ascii.size() * 2048 + 64);  // 64-byte quads; a glyph can take far more than the 270-byte average
    const int quads = stb_easy_font_print(0, 0, ascii.data(), nullptr, buf.data(), static_cast<int>(buf.size()));
    for (int q = 0; q < quads; ++q) {
      const float* v0 = reinterpret_cast<const float*>(buf.data() + q * 64);
      const float* v2 = reinterpret_cast<const float*>(buf.data() + q * 64 + 32);
      const int qx0 = static_cast<int>(v0[0]), qy0 = static_cast<int>(v0[1]);
      const int qx1 = static_cast<int>(v2[0]), qy1 = static_cast<int>(v2[1]);
      if (vertical)
        fill_rect(x + qy0, y - qx1, x + qy1, y - qx0, {230, 230, 230});
      else
        fill_rect(x + qx0, y + qy0, x + qx1, y + qy1, {230, 230, 230});
    }
  }
};

int text_width(const std::string& s) {
  std::string ascii = s;
  return stb_easy_font_width(ascii.data());
}

int max_label_width(const std::vector<std::string>& labels) {
  int w = 0;
  for (const auto& l : labels) w = std::max(w, text_width(l));
  return w;
}

}  // namespace

std::array<uint8_t, 3> viridis(float t) {
  // Nine samples of the published viridis map; linear in between.
  static constexpr uint8_t kStops[9][3] = {{68, 1, 84},   {71, 44, 122},  {59, 82, 139},  {44, 113, 142}, {33, 145, 140},
                                           {39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37}};
  if (!(t > 0.0f)) t = 0.0f;  // also catches NaN
  if (t > 1.0f) t = 1.0f;
  const float x = t * 8.0f;
  const int i = std::min(static_cast<int>(x), 7);
  const float f = x - static_cast<float>(i);
  std::array<uint8_t, 3> c{};
  for (int k = 0; k < 3; ++k)
    c[k] = static_cast<uint8_t>(std::lround(kStops[i][k] + f * (kStops[i + 1][k] - kStops[i][k])));
  return c;
}

Image render_heatmap(const Tensor& weights, const HeatmapStyle& style) {
  ATTN_CHECK(weights.dim() == 2, ShapeError, "render_heatmap: weights must be [T,S], got {}", weights.str());
  const int64_t T = weights.size(0), S = weights.size(1);
  ATTN_CHECK(T > 0 && S > 0, ShapeError, "render_heatmap: empty map {}", weights.str());
  ATTN_CHECK(style.row_labels.empty() || static_cast<int64_t>(style.row_labels.size()) == T, ShapeError,
             "render_heatmap: {} row labels for {} rows", style.row_labels.size(), T);
  ATTN_CHECK(style.col_labels.empty() || static_cast<int64_t>(style.col_labels.size()) == S, ShapeError,
             "render_heatmap: {} column labels for {} columns", style.col_labels.size(), S);
  const std::vector<float> w = weights.to_vector();
  float vmax = 0.0f;
  for (float x : w)
    if (std::isfinite(x)) vmax = std::max(vmax, x);
  if (vmax <= 0.0f) vmax = 1.0f;

  const int cell = style.cell_px > 0 ? style.cell_px
                                     : static_cast<int>(std::clamp<int64_t>(480 / std::max(T, S), 1, 32));
  const bool labels = cell >= 10;  // denser maps get no per-cell labels
  const int left = kPad + (labels ? max_label_width(style.row_labels) + 4 : 0);
  const int title_h = style.title.empty() ? 0 : kTextHeight + 4;
  const int top = kPad + title_h + (labels ? max_label_width(style.col_labels) + 4 : 0);
  const int map_w = static_cast<int>(S) * cell, map_h = static_cast<int>(T) * cell;
  const int bar_x = left + map_w + kPad;

  Image img;
  img.width = bar_x + kBarWidth + 4 + text_width("0.000") + kPad;
  img.height = top + std::max(map_h, 3 * kTextHeight) + kPad;
  img.rgb.assign(static_cast<size_t>(img.width) * img.height * 3, 24);
  Canvas cv{img};
  if (!style.title.empty()) cv.text(kPad, kPad, style.title);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < S; ++j)
      cv.fill_rect(left + static_cast<int>(j) * cell, top + static_cast<int>(i) * cell,
                   left + static_cast<int>(j + 1) * cell, top + static_cast<int>(i + 1) * cell,
                   viridis(w[static_cast<size_t>(i * S + j)] / vmax));
  if (labels) {
    const int dy = (cell - kTextHeight + 2) / 2;
    for (int64_t i = 0; i < static_cast<int64_t>(style.row_labels.size()); ++i)
      cv.text(left - 4 - text_width(style.row_labels[i]), top + static_cast<int>(i) * cell + dy, style.row_labels[i]);
    for (int64_t j = 0; j < static_cast<int64_t>(style.col_labels.size()); ++j)
      cv.text(left + static_cast<int>(j) * cell + dy, top - 4, style.col_labels[j], /*vertical=*/true);
  }
  const int bar_h = std::max(map_h, 3 * kTextHeight);
  for (int y = 0; y < bar_h; ++y)
    cv.fill_rect(bar_x, top + y, bar_x + kBarWidth, top + y + 1, viridis(1.0f - static_cast<float>(y) / (bar_h - 1)));
  cv.text(bar_x + kBarWidth + 4, top, fmt::format("{:.3f}", vmax));
  cv.text(bar_x + kBarWidth + 4, top + bar_h - kTextHeight, "0");
  return img;
}

void write_png(const std::string& path, const Image& image) {
  ATTN_CHECK(image.width > 0 && image.height > 0 &&
                 image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3,
             ShapeError, "write_png {}: image {}x{} with {} bytes", path, image.width, image.height, image.rgb.size());
  std::vector<std::byte> png;
  auto append = [](void* ctx, void* data, int size) {
    auto* out = static_cast<std::vector<std::byte>*>(ctx);
    const auto* p = static_cast<const std::byte*>(data);
    out->insert(out->end(), p, p + size);
  };
  const int ok = stbi_write_png_to_func(append, &png, image.width, image.height, 3, image.rgb.data(), image.width * 3);
  ATTN_CHECK(ok != 0 && !png.empty(), IoError, "write_png {}: PNG encoding failed", path);
  write_file_atomic(path, png);
}

void write_heatmap_png(const std::string& path, const Tensor& weights, const HeatmapStyle& style) {
  write_png(path, render_heatmap(weights, style));
}

}  // namespace attn
