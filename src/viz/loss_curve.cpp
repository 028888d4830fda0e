// viz/loss_curve.cpp — loss curves as an RGB image: frame, y ticks, step labels, one polyline per
// series (train grey-blue, validation orange, ...), a legend. Text from stb_easy_font.
#include <attn/loss_curve.h>
#include <stb_easy_font.h>

#include <algorithm>
#include <cmath>

namespace attn {
namespace {

using Rgb = std::array<uint8_t, 3>;
constexpr Rgb kColors[] = {{70, 110, 180}, {230, 120, 30}, {60, 160, 80}, {180, 60, 160}};
constexpr Rgb kInk = {40, 40, 40};
constexpr Rgb kGrid = {225, 225, 225};

struct Canvas {
  Image& img;
  void px(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
    std::copy(c.begin(), c.end(), &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3]);
  }
  void rect(int x0, int y0, int x1, int y1, Rgb c) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) px(x, y, c);
  }
  // Bresenham, 2 px thick.
  void line(int x0, int y0, int x1, int y1, Rgb c) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    for (int err = dx + dy;;) {
      rect(x0, y0, x0 + 2, y0 + 2, c);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  void text(int x, int y, std::string s, Rgb c) {
    for (char& ch : s)
      if (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126) ch = '?';
    std::vector<char> buf(s.size() * 2048 + 64);  // 64-byte quads; a glyph can take far more than the 270-byte average
    const int quads = stb_easy_font_print(0, 0, s.data(), nullptr, buf.data(), static_cast<int>(buf.size()));
    for (int q = 0; q < quads; ++q) {
      const float* v0 = reinterpret_cast<const float*>(buf.data() + q * 64);
      const float* v2 = reinterpret_cast<const float*>(buf.data() + q * 64 + 32);
      rect(x + static_cast<int>(v0[0]), y + static_cast<int>(v0[1]), x + static_cast<int>(v2[0]),
           y + static_cast<int>(v2[1]), c);
    }
  }
};

int text_w(std::string s) { return stb_easy_font_width(s.data()); }

}  // namespace

Image render_loss_curve(const std::vector<LossSeries>& series, const LossCurveStyle& style) {
  ATTN_CHECK(style.width >= 200 && style.height >= 150, ValueError, "loss curve: {}x{} px is too small", style.width,
             style.height);
  Image img{.width = style.width, .height = style.height,
            .rgb = std::vector<uint8_t>(static_cast<size_t>(style.width) * style.height * 3, 255)};
  Canvas cv{img};
  double lo = INFINITY, hi = -INFINITY;
  int64_t s_lo = INT64_MAX, s_hi = INT64_MIN;
  for (const auto& s : series) {
    ATTN_CHECK(s.steps.size() == s.values.size(), ShapeError, "loss curve: series '{}' has {} steps and {} values",
               s.name, s.steps.size(), s.values.size());
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (!std::isfinite(s.values[i])) continue;
      lo = std::min(lo, s.values[i]), hi = std::max(hi, s.values[i]);
      s_lo = std::min(s_lo, s.steps[i]), s_hi = std::max(s_hi, s.steps[i]);
    }
  }
  if (!(lo <= hi)) lo = 0, hi = 1, s_lo = 0, s_hi = 1;
  if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
  if (s_hi == s_lo) ++s_hi;
  const int L = 56, R = style.width - 16, T = 28, B = style.height - 34;  // plot area
  auto X = [&](int64_t s) { return L + static_cast<int>(std::lround(double(s - s_lo) / double(s_hi - s_lo) * (R - L))); };
  auto Y = [&](double v) { return B - static_cast<int>(std::lround((v - lo) / (hi - lo) * (B - T))); };
  for (int k = 0; k <= 5; ++k) {  // horizontal grid and y labels
    const double v = lo + (hi - lo) * k / 5.0;
    cv.rect(L, Y(v), R, Y(v) + 1, kGrid);
    cv.text(L - 8 - text_w(fmt::format("{:.2f}", v)), Y(v) - 4, fmt::format("{:.2f}", v), kInk);
  }
  cv.rect(L, T, L + 1, B + 1, kInk);
  cv.rect(L, B, R + 1, B + 1, kInk);
  for (int k = 0; k <= 4; ++k) {  // step labels
    const int64_t s = s_lo + (s_hi - s_lo) * k / 4;
    const std::string t = std::to_string(s);
    cv.text(std::min(X(s) - text_w(t) / 2, style.width - text_w(t) - 4), B + 6, t, kInk);
  }
  cv.text((L + R) / 2 - text_w("step") / 2, B + 20, "step", kInk);
  cv.text(L, 8, style.title, kInk);
  int legend_x = R - 8;
  for (size_t k = series.size(); k-- > 0;) {
    const Rgb c = kColors[k % std::size(kColors)];
    legend_x -= text_w(series[k].name) + 22;
    cv.rect(legend_x, 11, legend_x + 12, 15, c);
    cv.text(legend_x + 16, 8, series[k].name, kInk);
    const auto& s = series[k];
    for (size_t i = 1; i < s.values.size(); ++i)
      if (std::isfinite(s.values[i - 1]) && std::isfinite(s.values[i]))
        cv.line(X(s.steps[i - 1]), Y(s.values[i - 1]), X(s.steps[i]), Y(s.values[i]), c);
    if (s.values.size() == 1 && std::isfinite(s.values[0])) cv.rect(X(s.steps[0]) - 2, Y(s.values[0]) - 2, X(s.steps[0]) + 3, Y(s.values[0]) + 3, c);
  }
  return img;
}

void write_loss_curve_png(const std::string& path, const std::vector<LossSeries>& series, const LossCurveStyle& style) {
  write_png(path, render_loss_curve(series, style));
}

}  // namespace attn
