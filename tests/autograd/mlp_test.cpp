// tests/autograd/mlp_test.cpp — the fused mlp() is the composition linear(act(linear(x, w1, b1)), w2,
// b2) bit for bit, in f32 and under MatmulPrecision::kBF16: output and every gradient, for each
// activation, with and without biases, with some inputs not needing gradients. (The composition's
// pieces are held to references elsewhere: the gradient table, linear_bf16_test.cpp.)
#include <attn/autograd.h>
#include <attn/ops.h>
#include <attn/rng.h>
#include <gtest/gtest.h>

namespace attn {
namespace {

Tensor rand_tensor(const Shape& s, uint64_t seed, bool grad) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.uniform_(t, -1.0f, 1.0f);
  if (grad) t.set_requires_grad();
  return t;
}

Tensor activate(const Tensor& h, MlpActivation a) {
  switch (a) {
    case MlpActivation::kRelu: return relu(h);
    case MlpActivation::kGelu: return gelu(h);
    case MlpActivation::kGeluTanh: return gelu(h, GeluApprox::kTanh);
    case MlpActivation::kSilu: return silu(h);
  }
  return h;
}

struct Outcome {
  std::vector<float> y;
  std::vector<std::vector<float>> grads;  // of x, w1, b1, w2, b2 (empty when not wanted)
};

// B·T = 3·37 rows, C = 24, F = 200 (> one 64-row colsum chunk; odd sizes).
Outcome run(MatmulPrecision prec, bool fused, MlpActivation act, bool bias, const std::vector<bool>& want) {
  std::vector<Tensor> in = {rand_tensor({3, 37, 24}, 1, want[0]), rand_tensor({200, 24}, 2, want[1]),
                            bias ? rand_tensor({200}, 3, want[2]) : Tensor(), rand_tensor({24, 200}, 4, want[3]),
                            bias ? rand_tensor({24}, 5, want[4]) : Tensor()};
  const Tensor g = rand_tensor({3, 37, 24}, 6, false);
  Tensor y;
  {
    MatmulPrecisionScope scope(prec);
    y = fused ? mlp(in[0], in[1], in[2], act, in[3], in[4])
              : linear(activate(linear(in[0], in[1], in[2]), act), in[3], in[4]);
  }
  Outcome r{y.to_vector(), {}};
  if (y.requires_grad()) backward(sum_all(mul(y, g)));
  for (const Tensor& t : in) r.grads.push_back(t.defined() && t.grad().defined() ? t.grad().to_vector() : std::vector<float>{});
  return r;
}

TEST(Mlp, FusedIsTheCompositionBitForBit) {
  for (MatmulPrecision prec : {MatmulPrecision::kF32, MatmulPrecision::kBF16})
  for (MlpActivation act : {MlpActivation::kRelu, MlpActivation::kGelu, MlpActivation::kGeluTanh, MlpActivation::kSilu})
    for (bool bias : {true, false})
      for (const std::vector<bool>& want : {std::vector<bool>{true, true, true, true, true},
                                            std::vector<bool>{true, false, false, false, false},
                                            std::vector<bool>{false, true, true, false, false},
                                            std::vector<bool>{false, false, false, true, true},
                                            std::vector<bool>{false, false, false, false, false}}) {
        SCOPED_TRACE(testing::Message() << (prec == MatmulPrecision::kBF16 ? "bf16" : "f32") << " act "
                                        << static_cast<int>(act) << " bias " << bias << " want "
                                        << want[0] << want[1] << want[2] << want[3] << want[4]);
        const Outcome a = run(prec, true, act, bias, want), b = run(prec, false, act, bias, want);
        ASSERT_EQ(a.y, b.y);
        for (size_t i = 0; i < 5; ++i) {
          ASSERT_EQ(a.grads[i], b.grads[i]) << "gradient " << i;
          if (want[i] && (bias || (i != 2 && i != 4))) ASSERT_FALSE(a.grads[i].empty()) << "gradient " << i;
        }
      }
}

TEST(Mlp, BadShapesNameTheOperands) {
  const Tensor x = Tensor::zeros({2, 4}), w1 = Tensor::zeros({6, 4}), w2 = Tensor::zeros({5, 6});
  EXPECT_THROW(mlp(x, Tensor::zeros({6, 3}), Tensor(), MlpActivation::kGelu, w2), ShapeError);
  EXPECT_THROW(mlp(x, w1, Tensor(), MlpActivation::kGelu, Tensor::zeros({5, 7})), ShapeError);
  EXPECT_THROW(mlp(x, w1, Tensor(), MlpActivation::kGelu, w2, Tensor::zeros({4})), ShapeError);
  EXPECT_EQ(mlp(x, w1, Tensor(), MlpActivation::kGelu, w2).shape(), (Shape{2, 5}));
}

}  // namespace
}  // namespace attn
