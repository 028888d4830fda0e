// Backward of the views core defines, and the engine's bookkeeping: accumulation over several
// paths, leaves, grad mode, retain_graph, errors.
#include <attn/autograd.h>
#include <gtest/gtest.h>

namespace attn {
namespace {

// Sum of w * x for a fixed weight pattern w (1, 2, 3, ...): d/dx = w, so every view's backward
// must route each weight back to the element it came from.
Tensor weighted_sum(const Tensor& y) {
  std::vector<float> w(static_cast<size_t>(y.numel()));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i + 1);
  Tensor out = Tensor::zeros({1});
  const std::vector<float> yv = y.to_vector();
  double s = 0;
  for (size_t i = 0; i < w.size(); ++i) s += w[i] * yv[i];
  out.set({0}, s);
  if (autograd::needs_grad({&y})) {
    autograd::record("weighted_sum", {y}, {&out}, [shape = y.shape(), w](const std::vector<Tensor>& g, auto&) {
      const float s0 = g[0].to_vector()[0];
      std::vector<float> gw(w);
      for (float& v : gw) v *= s0;
      return std::vector<Tensor>{Tensor::from_vector(gw, shape)};
    });
  }
  return out;
}

// Checks d weighted_sum(view(x)) / dx against the same view applied to an index-tagged tensor.
void check_view(const std::function<Tensor(const Tensor&)>& view, const Shape& shape) {
  Tensor x = Tensor::arange(shape_numel(shape)).view(shape).clone().detach().set_requires_grad();
  backward(weighted_sum(view(x)));
  ASSERT_TRUE(x.grad().defined());
  // Expected: for each element of view(tag), the weight at its position goes to the tagged source.
  const Tensor tag = Tensor::arange(shape_numel(shape)).view(shape);
  const std::vector<float> src = view(tag).contiguous().to_vector();
  std::vector<float> expect(static_cast<size_t>(shape_numel(shape)), 0.0f);
  for (size_t i = 0; i < src.size(); ++i) expect[static_cast<size_t>(src[i])] += static_cast<float>(i + 1);
  EXPECT_EQ(x.grad().to_vector(), expect);
}

TEST(AutogradViews, EachViewRoutesGradientsBack) {
  check_view([](const Tensor& x) { return x.transpose(0, 2); }, {2, 3, 4});
  check_view([](const Tensor& x) { return x.permute({1, 2, 0}); }, {2, 3, 4});
  check_view([](const Tensor& x) { return x.slice(1, 1, 3); }, {2, 3, 4});
  check_view([](const Tensor& x) { return x.slice(2, 0, 4, 3); }, {2, 3, 4});
  check_view([](const Tensor& x) { return x.select(0, 1); }, {2, 3, 4});
  check_view([](const Tensor& x) { return x.view({6, 4}); }, {2, 3, 4});
  check_view([](const Tensor& x) { return x.transpose(0, 1).reshape({-1}); }, {2, 3, 4});
  check_view([](const Tensor& x) { return x.unsqueeze(1).squeeze(1); }, {2, 3});
  check_view([](const Tensor& x) { return x.expand({4, 2, 3}); }, {2, 3});
  check_view([](const Tensor& x) { return x.slice(1, 0, 1).expand({2, 5}); }, {2, 3});
  check_view([](const Tensor& x) { return x.clone(); }, {5});
  check_view([](const Tensor& x) { return x.to(DType::kBF16).to(DType::kF32); }, {4});
}

TEST(AutogradViews, GradientsFromSeveralPathsAccumulate) {
  Tensor x = Tensor::arange(6).view({2, 3}).clone().detach().set_requires_grad();
  // Two uses of x: the gradient is the sum of both paths; a second backward adds again.
  const Tensor both = Tensor::zeros({2, 3});
  Tensor y = weighted_sum(x.transpose(0, 1));
  Tensor z = weighted_sum(x);
  backward(y);
  backward(z);
  // transpose path: element (i,j) of x is at position j*2+i in x^T -> weight j*2+i+1; direct: i*3+j+1.
  std::vector<float> expect;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) expect.push_back(static_cast<float>(j * 2 + i + 1 + i * 3 + j + 1));
  EXPECT_EQ(x.grad().to_vector(), expect);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(AutogradViews, NoGradGuardRecordsNothing) {
  Tensor x = Tensor::zeros({3}).set_requires_grad();
  {
    NoGradGuard g;
    EXPECT_FALSE(x.slice(0, 1, 2).requires_grad());
  }
  EXPECT_TRUE(x.slice(0, 1, 2).requires_grad());
  EXPECT_FALSE(x.detach().requires_grad());
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(x.slice(0, 0, 1).is_leaf());
}

TEST(AutogradViews, ErrorsAreClear) {
  Tensor x = Tensor::zeros({3}).set_requires_grad();
  Tensor y = weighted_sum(x);
  backward(y);
  EXPECT_THROW(backward(y), Error);  // saved state freed
  Tensor y2 = weighted_sum(x);
  backward(y2, Tensor(), /*retain_graph=*/true);
  EXPECT_NO_THROW(backward(y2));
  EXPECT_THROW(backward(Tensor::zeros({1})), ValueError);
  EXPECT_THROW(backward(x.expand({2, 3})), ShapeError);  // not a scalar
  EXPECT_THROW(x.slice(0, 0, 2).set_requires_grad(false), ValueError);
  EXPECT_THROW(Tensor::zeros({2}, DType::kI64).set_requires_grad(), ShapeError);
  Tensor v = x.slice(0, 0, 2);
  EXPECT_THROW(v.fill(1.0), ValueError);  // in-place write into recorded history
}

}  // namespace
}  // namespace attn
