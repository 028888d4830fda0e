// tests/viz/loss_curve_test.cpp — the loss-curve PNG: size, a white background, each series'
// colour present, a falling series drawn falling, bad series rejected, the file decodes.
#include <attn/loss_curve.h>
#include <gtest/gtest.h>
#include <stb_image.h>
#include <unistd.h>

#include <filesystem>

namespace attn {
namespace {

int count_colour(const Image& img, std::array<uint8_t, 3> c, int x0 = 0, int x1 = -1) {
  if (x1 < 0) x1 = img.width;
  int n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = x0; x < x1; ++x) {
      const uint8_t* p = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
      n += p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
    }
  return n;
}

// Mean row of the pixels of colour c in columns [x0, x1).
double mean_row(const Image& img, std::array<uint8_t, 3> c, int x0, int x1) {
  double sum = 0, n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = x0; x < x1; ++x) {
      const uint8_t* p = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
      if (p[0] == c[0] && p[1] == c[1] && p[2] == c[2]) sum += y, n += 1;
    }
  return n > 0 ? sum / n : -1;
}

TEST(LossCurve, DrawsEachSeries) {
  LossSeries train{.name = "train", .steps = {}, .values = {}};
  for (int64_t s = 1; s <= 100; ++s) train.steps.push_back(s), train.values.push_back(4.0 / std::sqrt(double(s)));
  const LossSeries val{.name = "val", .steps = {25, 50, 100}, .values = {1.0, 0.7, 0.5}};
  const Image img = render_loss_curve({train, val}, {.width = 400, .height = 300});
  ASSERT_EQ(img.width, 400);
  ASSERT_EQ(img.height, 300);
  EXPECT_GT(count_colour(img, {255, 255, 255}), 400 * 300 / 2);
  const std::array<uint8_t, 3> blue = {70, 110, 180}, orange = {230, 120, 30};
  EXPECT_GT(count_colour(img, blue), 200);
  EXPECT_GT(count_colour(img, orange), 100);
  // The train curve falls: its pixels sit lower (larger y) on the right than on the left.
  EXPECT_GT(mean_row(img, blue, 300, 390), mean_row(img, blue, 60, 100));
}

TEST(LossCurve, WritesADecodablePngAndRejectsBadSeries) {
  const auto dir = std::filesystem::temp_directory_path() / ("attn_loss_curve_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "loss.png").string();
  write_loss_curve_png(path, {{.name = "train", .steps = {1}, .values = {2.0}}});  // one point, no range
  int w = 0, h = 0, n = 0;
  unsigned char* px = stbi_load(path.c_str(), &w, &h, &n, 3);
  ASSERT_NE(px, nullptr);
  stbi_image_free(px);
  EXPECT_EQ(w, 720);
  EXPECT_EQ(h, 420);
  EXPECT_THROW(render_loss_curve({{.name = "bad", .steps = {1, 2}, .values = {1.0}}}), ShapeError);
  EXPECT_THROW(render_loss_curve({}, {.width = 10, .height = 10}), ValueError);
  EXPECT_NO_THROW(render_loss_curve({}));  // nothing to draw: axes only
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attn
