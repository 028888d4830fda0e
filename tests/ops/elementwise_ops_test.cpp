// tests/ops/elementwise_ops_test.cpp — element-wise, activation, softmax, norm and selection ops
// against direct float64 formulas, with non-contiguous and broadcast inputs and bad-input errors.
// Table-driven: every unary op has a row (the table lists them all; a new op needs a row).
#include <attn/ops.h>

#include "ops/ops_test_util.h"

namespace attn {
namespace {
using test::close_to;
using test::expect_error;
using test::rand_tensor;

struct UnaryRow {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  float lo, hi;
  double tol;
};

const double kS2Pi = std::sqrt(2.0 / M_PI);
const UnaryRow kUnaryRows[] = {
    {"neg", [](const Tensor& x) { return neg(x); }, [](double v) { return -v; }, -3, 3, 0},
    {"exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); }, -5, 5, 1e-6},
    {"log", [](const Tensor& x) { return log(x); }, [](double v) { return std::log(v); }, 0.01f, 10, 1e-6},
    {"tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); }, -4, 4, 1e-6},
    {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double v) { return std::sqrt(v); }, 0, 10, 1e-6},
    {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double v) { return 1 / std::sqrt(v); }, 0.1f, 10, 1e-6},
    {"abs", [](const Tensor& x) { return abs(x); }, [](double v) { return std::fabs(v); }, -3, 3, 0},
    {"square", [](const Tensor& x) { return square(x); }, [](double v) { return v * v; }, -3, 3, 1e-6},
    {"relu", [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0; }, -3, 3, 0},
    {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double v) { return 1 / (1 + std::exp(-v)); }, -8, 8, 1e-6},
    {"silu", [](const Tensor& x) { return silu(x); }, [](double v) { return v / (1 + std::exp(-v)); }, -8, 8, 1e-6},
    {"gelu", [](const Tensor& x) { return gelu(x); },
     [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }, -5, 5, 2e-6},
    {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApprox::kTanh); },
     [](double v) { return 0.5 * v * (1 + std::tanh(kS2Pi * (v + 0.044715 * v * v * v))); }, -5, 5, 2e-6},
};

TEST(ElementwiseOps, UnaryTableOnTransposedInput) {
  for (const auto& row : kUnaryRows) {
    SCOPED_TRACE(row.name);
    const Tensor x = rand_tensor({13, 7}, 1, row.lo, row.hi).transpose(0, 1);  // [7,13], non-contiguous
    const Tensor y = row.op(x);
    EXPECT_TRUE(y.is_contiguous());
    EXPECT_TRUE(close_to(y, {7, 13}, [&](auto i) { return row.ref(x.get(i)); }, row.tol, row.tol));
  }
}

TEST(ElementwiseOps, BinaryBroadcasts) {
  const Tensor a = rand_tensor({2, 3, 4}, 2);
  const Shape others[] = {{3, 1}, {4}, {}, {2, 1, 4}, {1, 3, 4}, {2, 3, 4}};
  for (const Shape& s : others) {
    const Tensor b = rand_tensor(s, 3, 0.5f, 2.0f);
    const Tensor be = b.expand({2, 3, 4});
    SCOPED_TRACE(shape_str(s));
    EXPECT_TRUE(close_to(add(a, b), {2, 3, 4}, [&](auto i) { return a.get(i) + be.get(i); }, 1e-7, 1e-7));
    EXPECT_TRUE(close_to(sub(b, a), {2, 3, 4}, [&](auto i) { return be.get(i) - a.get(i); }, 1e-7, 1e-7));
    EXPECT_TRUE(close_to(mul(a, b), {2, 3, 4}, [&](auto i) { return a.get(i) * be.get(i); }, 1e-7, 1e-7));
    EXPECT_TRUE(close_to(div(a, b), {2, 3, 4}, [&](auto i) { return a.get(i) / be.get(i); }, 1e-7, 1e-6));
    EXPECT_TRUE(close_to(maximum(a, b), {2, 3, 4}, [&](auto i) { return std::max(a.get(i), be.get(i)); }, 0, 0));
    EXPECT_TRUE(close_to(minimum(a, b), {2, 3, 4}, [&](auto i) { return std::min(a.get(i), be.get(i)); }, 0, 0));
  }
}

TEST(ElementwiseOps, NonContiguousAndScalar) {
  const Tensor a = rand_tensor({5, 6}, 4).transpose(0, 1);   // [6,5] strides {1,6}
  const Tensor b = rand_tensor({6, 10}, 5).slice(1, 0, 10, 2);  // [6,5] strides {10,2}
  EXPECT_TRUE(close_to(add(a, b), {6, 5}, [&](auto i) { return a.get(i) + b.get(i); }, 1e-7, 1e-7));
  EXPECT_TRUE(close_to(mul(a, 2.5f), {6, 5}, [&](auto i) { return a.get(i) * 2.5; }, 1e-7, 1e-7));
  EXPECT_TRUE(close_to(sub(a, 1.0f), {6, 5}, [&](auto i) { return a.get(i) - 1.0; }, 1e-7, 1e-7));
  EXPECT_TRUE(close_to(div(a, 4.0f), {6, 5}, [&](auto i) { return a.get(i) / 4.0; }, 1e-7, 1e-7));
  EXPECT_TRUE(close_to(add(a, 1.0f), {6, 5}, [&](auto i) { return a.get(i) + 1.0; }, 1e-7, 1e-7));
  const Tensor big = rand_tensor({3, 200, 70}, 6), row = rand_tensor({70}, 7);  // threaded path
  EXPECT_TRUE(close_to(add(big, row), {3, 200, 70}, [&](auto i) { return big.get(i) + row.get({i[2]}); }, 1e-7, 1e-7));
}

TEST(ElementwiseOps, BadInputs) {
  expect_error<ShapeError>([] { add(Tensor::zeros({2, 3}), Tensor::zeros({4})); }, {"add", "[2,3]", "[4]"});
  expect_error<ShapeError>([] { mul(Tensor::zeros({2}, DType::kI32), Tensor::zeros({2})); }, {"mul", "f32", "i32"});
  expect_error<ShapeError>([] { gelu(Tensor::zeros({2}, DType::kBF16)); }, {"gelu", "bf16"});
}

TEST(SoftmaxOps, AnyDimMatchesFormula) {
  const Tensor x = rand_tensor({3, 4, 5}, 8, -5, 5);
  for (int64_t dim : {0, 1, 2, -1}) {
    const int64_t d = dim < 0 ? dim + 3 : dim;
    auto lse = [&](std::span<const int64_t> i) {
      std::vector<int64_t> j(i.begin(), i.end());
      double m = -INFINITY, s = 0;
      for (j[d] = 0; j[d] < x.size(d); ++j[d]) m = std::max(m, x.get(j));
      for (j[d] = 0; j[d] < x.size(d); ++j[d]) s += std::exp(x.get(j) - m);
      return m + std::log(s);
    };
    EXPECT_TRUE(close_to(softmax(x, dim), {3, 4, 5}, [&](auto i) { return std::exp(x.get(i) - lse(i)); }, 1e-7, 1e-5));
    EXPECT_TRUE(close_to(log_softmax(x, dim), {3, 4, 5}, [&](auto i) { return x.get(i) - lse(i); }, 1e-6, 1e-6));
  }
  expect_error<ShapeError>([&] { softmax(x, 3); }, {"softmax", "dim 3", "[3,4,5]"});
}

TEST(SoftmaxOps, MaskedRowIsZeros) {
  Tensor x = Tensor::full({2, 4}, -INFINITY);
  x.set({1, 2}, 1.0);
  const Tensor y = softmax(x);
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(y.get({0, j}), 0.0);
  EXPECT_EQ(y.get({1, 2}), 1.0);
}

TEST(NormOps, LayerNormAndRmsNorm) {
  const Tensor x = rand_tensor({2, 3, 37}, 9, -2, 2), w = rand_tensor({37}, 10), b = rand_tensor({37}, 11);
  auto stats = [&](std::span<const int64_t> i) {
    double m = 0, v = 0, ss = 0;
    for (int64_t c = 0; c < 37; ++c) m += x.get({i[0], i[1], c}) / 37;
    for (int64_t c = 0; c < 37; ++c) {
      const double t = x.get({i[0], i[1], c});
      v += (t - m) * (t - m) / 37, ss += t * t / 37;
    }
    return std::array<double, 3>{m, 1 / std::sqrt(v + 1e-5), 1 / std::sqrt(ss + 1e-6)};
  };
  const LayerNormResult r = layer_norm_with_stats(x, w, b, 1e-5f);
  EXPECT_TRUE(close_to(r.y, {2, 3, 37}, [&](auto i) {
    const auto s = stats(i);
    return (x.get(i) - s[0]) * s[1] * w.get({i[2]}) + b.get({i[2]});
  }, 1e-5, 1e-5));
  EXPECT_TRUE(close_to(r.mean, {2, 3}, [&](auto i) { return stats(i)[0]; }, 1e-6, 1e-6));
  EXPECT_TRUE(close_to(r.rstd, {2, 3}, [&](auto i) { return stats(i)[1]; }, 1e-6, 1e-5));
  EXPECT_TRUE(close_to(layer_norm(x, Tensor(), Tensor()), {2, 3, 37}, [&](auto i) {
    const auto s = stats(i);
    return (x.get(i) - s[0]) * s[1];
  }, 1e-5, 1e-5));
  EXPECT_TRUE(close_to(rms_norm(x, w), {2, 3, 37}, [&](auto i) { return x.get(i) * stats(i)[2] * w.get({i[2]}); },
                       1e-5, 1e-5));
  expect_error<ShapeError>([&] { layer_norm(x, Tensor::zeros({36}), b); }, {"layer_norm", "weight", "[36]", "[2,3,37]"});
}

TEST(SelectOps, WhereAndMaskedFill) {
  const Tensor a = rand_tensor({3, 4}, 12), b = rand_tensor({4}, 13);
  Tensor cond = Tensor::zeros({3, 1}, DType::kI64);
  cond.set({1, 0}, 1);
  EXPECT_TRUE(close_to(where(cond, a, b), {3, 4}, [&](auto i) { return i[0] == 1 ? a.get(i) : b.get({i[1]}); }, 0, 0));
  Tensor mask = Tensor::zeros({4});
  mask.set({2}, 1);
  const Tensor m = masked_fill(a, mask, -INFINITY);
  EXPECT_TRUE(close_to(m, {3, 4}, [&](auto i) { return i[1] == 2 ? -INFINITY : a.get(i); }, 0, 0));
  expect_error<ShapeError>([&] { masked_fill(a, Tensor::zeros({2, 3, 4}), 0.0f); }, {"masked_fill", "[2,3,4]", "[3,4]"});
}

}  // namespace
}  // namespace attn
