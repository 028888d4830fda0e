#include <attn/autograd.h>
#include <attn/loss.h>
#include <attn/rng.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/cross_entropy.h"

namespace attn {
namespace {

Tensor golden_logits(int64_t n, int64_t v, bool big) {
  std::vector<float> x;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < v; ++j)
      x.push_back(static_cast<float>(std::sin(1.3 * r + 0.7 * j) * (big ? 1e4 : 3.0) + 0.1 * j));
  return Tensor::from_vector(x, {n, v});
}

TEST(CrossEntropy, MatchesTorchLossAndGradient) {
  std::ifstream f(std::string(ATTN_SOURCE_DIR) + "/tests/golden/ops/cross_entropy.json");
  ASSERT_TRUE(f.good()) << "missing tests/golden/ops/cross_entropy.json (scripts/make_loss_goldens.py)";
  const auto g = nlohmann::json::parse(f);
  for (const auto& c : g["cases"]) {
    const int64_t n = c["n"], v = c["v"];
    Tensor x = golden_logits(n, v, c["big"]).set_requires_grad();
    const Tensor t = Tensor::from_vector_i64(c["targets"].get<std::vector<int64_t>>(), {n});
    const std::string red = c["reduction"];
    const CrossEntropyOptions opts{.ignore_index = c["ignore_index"],
                                   .label_smoothing = c["smoothing"].get<float>(),
                                   .reduction = red == "mean" ? Reduction::kMean
                                                : red == "sum" ? Reduction::kSum
                                                               : Reduction::kNone};
    Tensor loss = cross_entropy(x, t, opts);
    const auto want = c["loss"].get<std::vector<double>>();
    const auto got = loss.to_vector();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << red;
    if (red == "none") {
      std::vector<float> w;
      for (int64_t r = 0; r < n; ++r) w.push_back(0.5f + 0.25f * static_cast<float>(r));
      backward(loss, Tensor::from_vector(w, {n}));
    } else {
      backward(loss);
    }
    const auto gw = c["grad"].get<std::vector<double>>();
    const auto gg = x.grad().to_vector();
    for (size_t i = 0; i < gg.size(); ++i) EXPECT_NEAR(gg[i], gw[i], 1e-6) << red << " " << i;
  }
}

TEST(CrossEntropy, KernelsMatchFloat64Twins) {
  const int64_t n = 37, v = 1031;
  Rng rng(1);
  Tensor x = Tensor::empty({n, v});
  rng.normal_(x, 0.0f, 4.0f);
  std::vector<int64_t> t(n);
  for (int64_t r = 0; r < n; ++r) t[r] = r % 5 == 0 ? -1 : rng.randint(0, v);
  std::vector<float> a(n), b(n), da(n * v), db(n * v);
  kernels::cross_entropy_forward(x.data<float>(), t.data(), a.data(), n, v, -1, 0.05f);
  kernels::ref::cross_entropy_forward(x.data<float>(), t.data(), b.data(), n, v, -1, 0.05f);
  for (int64_t r = 0; r < n; ++r) EXPECT_NEAR(a[r], b[r], 2e-5 * (1 + std::fabs(b[r])));
  kernels::cross_entropy_backward(x.data<float>(), t.data(), da.data(), n, v, -1, 0.05f, 0.3f);
  kernels::ref::cross_entropy_backward(x.data<float>(), t.data(), db.data(), n, v, -1, 0.05f, 0.3f);
  for (int64_t i = 0; i < n * v; ++i) ASSERT_NEAR(da[i], db[i], 1e-7) << i;
}

TEST(CrossEntropy, FiniteDifferences) {
  const int64_t n = 3, v = 4;
  Tensor x = golden_logits(n, v, false);
  const Tensor t = Tensor::from_vector_i64({3, 0, 2}, {n});
  Tensor xg = x.clone().set_requires_grad();
  backward(cross_entropy(xg, t, {.label_smoothing = 0.1f}));
  const float eps = 1e-2f;
  for (int64_t i = 0; i < n * v; ++i) {
    Tensor xp = x.clone(), xm = x.clone();
    xp.data<float>()[i] += eps;
    xm.data<float>()[i] -= eps;
    const double fd = (cross_entropy(xp, t, {.label_smoothing = 0.1f}).item() -
                       cross_entropy(xm, t, {.label_smoothing = 0.1f}).item()) / (2 * eps);
    EXPECT_NEAR(xg.grad().data<float>()[i], fd, 2e-4) << i;
  }
}

TEST(CrossEntropy, EdgeCasesAndErrors) {
  Tensor x = Tensor::zeros({2, 3}).set_requires_grad();
  const Tensor all_ignored = Tensor::from_vector_i64({-100, -100}, {2});
  Tensor loss = cross_entropy(x, all_ignored);
  EXPECT_EQ(loss.item(), 0.0);
  backward(loss);
  for (float g : x.grad().to_vector()) EXPECT_EQ(g, 0.0f);
  EXPECT_NEAR(cross_entropy(Tensor::zeros({2, 3}), Tensor::from_vector_i64({0, 2}, {2})).item(), std::log(3.0), 1e-6);
  try {
    cross_entropy(Tensor::zeros({2, 3}), Tensor::from_vector_i64({0, 3}, {2}));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("target 3 of row 1 is outside [0,3)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cross_entropy(Tensor::zeros({2, 3}), Tensor::from_vector_i64({0}, {1})), ShapeError);
  EXPECT_THROW(cross_entropy(Tensor::zeros({2, 3}), Tensor::from_vector_i64({0, 1}, {2}), {.label_smoothing = 1.0f}),
               ValueError);
}

}  // namespace
}  // namespace attn
