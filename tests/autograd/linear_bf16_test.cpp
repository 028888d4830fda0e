// tests/autograd/linear_bf16_test.cpp — linear() under MatmulPrecision::kBF16: forward and the three
// gradients against float64 sums over bf16-rounded operands (x, w and the output gradient g), the
// definition of the mixed precision. The tolerance (1e-4) is f32 accumulation error; skipping the
// rounding (an f32 GEMM) misses by ~1e-2, so the test tells the two paths apart.
#include <attn/autograd.h>
#include <attn/dtype.h>
#include <attn/ops.h>
#include <attn/rng.h>
#include <gtest/gtest.h>

#include <cmath>

namespace attn {
namespace {

Tensor rand_tensor(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.uniform_(t, -1.0f, 1.0f);
  return t;
}

double rb(const Tensor& t, std::initializer_list<int64_t> idx) {  // element rounded to bf16
  return bf16_to_f32(f32_to_bf16(static_cast<float>(t.get(std::vector<int64_t>(idx)))));
}

constexpr double kTol = 1e-4;

TEST(LinearBf16, ForwardAndGradientsUseBf16OperandsWithF32Accumulation) {
  const int64_t R = 7, I = 40, O = 9;  // rows, in, out
  Tensor x = rand_tensor({R, I}, 1), w = rand_tensor({O, I}, 2), b = rand_tensor({O}, 3);
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad();
  const Tensor g = rand_tensor({R, O}, 4);
  Tensor y;
  {
    MatmulPrecisionScope bf16(MatmulPrecision::kBF16);
    EXPECT_EQ(matmul_precision(), MatmulPrecision::kBF16);
    y = linear(x, w, b);
  }
  EXPECT_EQ(matmul_precision(), MatmulPrecision::kF32);
  backward(y, g);  // outside the scope: the backward keeps its forward's precision
  double worst_f32_gap = 0;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t o = 0; o < O; ++o) {
      double want = b.get({o}), exact = b.get({o});
      for (int64_t k = 0; k < I; ++k) {
        want += rb(x, {r, k}) * rb(w, {o, k});
        exact += x.get({r, k}) * w.get({o, k});
      }
      ASSERT_NEAR(y.get({r, o}), want, kTol) << "y[" << r << "," << o << "]";
      worst_f32_gap = std::max(worst_f32_gap, std::fabs(exact - want));
    }
  EXPECT_GT(worst_f32_gap, 10 * kTol);  // the rounding is visible at this tolerance
  for (int64_t r = 0; r < R; ++r)
    for (int64_t k = 0; k < I; ++k) {
      double want = 0;
      for (int64_t o = 0; o < O; ++o) want += rb(g, {r, o}) * rb(w, {o, k});
      ASSERT_NEAR(x.grad().get({r, k}), want, kTol) << "dx[" << r << "," << k << "]";
    }
  for (int64_t o = 0; o < O; ++o) {
    double want_b = 0;
    for (int64_t r = 0; r < R; ++r) want_b += g.get({r, o});  // bias gradient stays f32
    ASSERT_NEAR(b.grad().get({o}), want_b, 1e-5) << "db[" << o << "]";
    for (int64_t k = 0; k < I; ++k) {
      double want = 0;
      for (int64_t r = 0; r < R; ++r) want += rb(g, {r, o}) * rb(x, {r, k});
      ASSERT_NEAR(w.grad().get({o, k}), want, kTol) << "dw[" << o << "," << k << "]";
    }
  }
}

TEST(LinearBf16, ViewsBatchesAndErrors) {
  MatmulPrecisionScope bf16(MatmulPrecision::kBF16);
  const Tensor x = rand_tensor({3, 2, 5}, 5).transpose(0, 1), w = rand_tensor({4, 5}, 6);  // x: [2,3,5] view
  const Tensor y = linear(x, w);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t o = 0; o < 4; ++o) {
        double want = 0;
        for (int64_t k = 0; k < 5; ++k) want += rb(x, {i, j, k}) * rb(w, {o, k});
        ASSERT_NEAR(y.get({i, j, o}), want, kTol);
      }
  EXPECT_THROW(linear(rand_tensor({2, 3}, 7), rand_tensor({4, 5}, 8)), ShapeError);
  EXPECT_EQ(linear(Tensor::zeros({0, 5}), w).shape(), (Shape{0, 4}));
}

}  // namespace
}  // namespace attn
