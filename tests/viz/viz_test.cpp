#include <attn/viz.h>
#include <gtest/gtest.h>
#include <stb_image.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace attn {
namespace {

std::string temp_dir() {
  auto d = std::filesystem::temp_directory_path() / ("attn_viz_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d.string();
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(Viz, ViridisEndpointsAndMonotoneGreen) {
  EXPECT_EQ(viridis(0.0f), (std::array<uint8_t, 3>{68, 1, 84}));
  EXPECT_EQ(viridis(1.0f), (std::array<uint8_t, 3>{253, 231, 37}));
  EXPECT_EQ(viridis(-5.0f), viridis(0.0f));
  EXPECT_EQ(viridis(NAN), viridis(0.0f));
  for (int i = 1; i <= 100; ++i) EXPECT_GE(viridis(i / 100.0f)[1], viridis((i - 1) / 100.0f)[1]);
}

TEST(Viz, PngDecodesToTheRenderedCells) {
  // 2x3 map with a known maximum; a big cell size puts each cell's centre far from any label.
  const Tensor w = Tensor::from_vector({0.0f, 0.5f, 1.0f, 0.25f, 0.75f, 0.125f}, {2, 3});
  const HeatmapStyle style{.row_labels = {"a", "b"}, .col_labels = {"x", "y", "z"}, .title = "t", .cell_px = 30};
  const Image img = render_heatmap(w, style);
  const std::string path = temp_dir() + "/map.png";
  write_png(path, img);
  const std::string bytes = slurp(path);
  int width = 0, height = 0, channels = 0;
  unsigned char* px = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                            static_cast<int>(bytes.size()), &width, &height, &channels, 3);
  ASSERT_NE(px, nullptr);
  EXPECT_EQ(width, img.width);
  EXPECT_EQ(height, img.height);
  EXPECT_EQ(std::vector<uint8_t>(px, px + width * height * 3), img.rgb);
  stbi_image_free(px);
  // Find the cell grid: the top-left cell (value 0) is the dark viridis end; scan for it.
  const auto at = [&](int x, int y) {
    const uint8_t* p = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
    return std::array<uint8_t, 3>{p[0], p[1], p[2]};
  };
  int x0 = -1, y0 = -1;
  for (int y = 0; y < img.height && x0 < 0; ++y)
    for (int x = 0; x < img.width; ++x)
      if (at(x, y) == viridis(0.0f) && at(x + 29, y + 29) == viridis(0.0f)) {
        x0 = x, y0 = y;
        break;
      }
  ASSERT_GE(x0, 0);
  const float vals[2][3] = {{0.0f, 0.5f, 1.0f}, {0.25f, 0.75f, 0.125f}};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(at(x0 + j * 30 + 15, y0 + i * 30 + 15), viridis(vals[i][j])) << i << j;
}

TEST(Viz, HeatmapRejectsMismatchedLabels) {
  const Tensor w = Tensor::zeros({2, 3});
  EXPECT_THROW(render_heatmap(w, {.row_labels = {"only one"}}), ShapeError);
  EXPECT_THROW(render_heatmap(Tensor::zeros({2, 3, 4}), {}), ShapeError);
}

TEST(Viz, HtmlIsSelfContainedAndEscapesLabels) {
  const Tensor w = Tensor::from_vector({0.25f, 0.75f, 1.0f, 0.0f}, {2, 2});
  const std::string path = temp_dir() + "/a.html";
  write_attention_html(path, {{.layer = 1, .head = 3, .weights = w}},
                       {.row_labels = {"</script><b>", "é"}, .col_labels = {"k0", "k1"}, .title = "<t>"});
  const std::string page = slurp(path);
  EXPECT_EQ(page.find("</script><b>"), std::string::npos);  // cannot close the script element
  EXPECT_NE(page.find("<\\/script><b>"), std::string::npos);
  EXPECT_NE(page.find("&lt;t&gt;"), std::string::npos);
  EXPECT_NE(page.find("\"layer\":1"), std::string::npos);
  EXPECT_NE(page.find("0.75"), std::string::npos);
  EXPECT_NE(page.find("é"), std::string::npos);
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);  // no external resources
  EXPECT_THROW(write_attention_html(path, {}, {}), ValueError);
}

TEST(Viz, FailedWriteLeavesNoFile) {
  const std::string path = temp_dir() + "/no/such/dir/map.png";
  EXPECT_THROW(write_heatmap_png(path, Tensor::zeros({2, 2})), IoError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace attn
