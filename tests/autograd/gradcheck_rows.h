// tests/autograd/gradcheck_rows.h — the rows of the gradient table (see gradcheck_table_test.cpp).
// A row: the op's recorded name, a descriptive name, a function of the inputs, the inputs, and the
// finite-difference step and tolerances.
#pragma once

#include <attn/attention.h>
#include <attn/gradcheck.h>
#include <attn/loss.h>
#include <attn/nn/layers.h>
#include <attn/ops.h>
#include <attn/rng.h>
#include <attn/tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace attn {

struct GradRow {
  std::string op;    // the name the op records
  std::string name;  // this row
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  std::vector<Tensor> inputs;
  GradcheckOptions opts;
};

inline Tensor randn(const Shape& s, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  Tensor t = Tensor::empty(s);
  rng.normal_(t, 0.0f, scale);
  return t;
}

// |N(0,1)| + 0.5: inputs for log, sqrt, rsqrt.
inline Tensor positive(const Shape& s, uint64_t seed) { return add(abs(randn(s, seed)), 0.5f); }

inline std::vector<GradRow> grad_rows() {
  using V = const std::vector<Tensor>&;
  std::vector<GradRow> rows = {
      {"slice", "slice step 2", [](V x) { return x[0].slice(1, 1, 5, 2); }, {randn({3, 6}, 1)}},
      {"select", "select", [](V x) { return x[0].select(1, 2); }, {randn({3, 4, 2}, 2)}},
      {"transpose", "transpose", [](V x) { return x[0].transpose(0, 2); }, {randn({2, 3, 4}, 3)}},
      {"permute", "permute", [](V x) { return x[0].permute({2, 0, 1}); }, {randn({2, 3, 4}, 4)}},
      {"unsqueeze", "unsqueeze", [](V x) { return x[0].unsqueeze(1); }, {randn({3, 4}, 5)}},
      {"squeeze", "squeeze", [](V x) { return x[0].squeeze(0); }, {randn({1, 4}, 6)}},
      {"expand", "expand (broadcast bias)", [](V x) { return x[0].expand({5, 2, 3}); }, {randn({1, 3}, 7)}},
      {"view", "view", [](V x) { return x[0].view({6, 2}); }, {randn({3, 4}, 8)}},
      {"clone", "clone of a transpose", [](V x) { return x[0].transpose(0, 1).clone(); }, {randn({3, 4}, 9)}},
      {"to", "to bf16 and back", [](V x) { return x[0].to(DType::kF16).to(DType::kF32); }, {randn({5}, 10)},
       {.eps = 0.25, .atol = 1e-2}},
      {"cross_entropy", "cross_entropy mean, smoothing, ignore",
       [](V x) {
         return cross_entropy(x[0], Tensor::from_vector_i64({2, -100, 0, 4}, {4}), {.label_smoothing = 0.1f});
       },
       {randn({4, 5}, 11, 2.0f)}},
      {"cross_entropy", "cross_entropy none",
       [](V x) {
         return cross_entropy(x[0], Tensor::from_vector_i64({1, 0, 2}, {3}), {.reduction = Reduction::kNone});
       },
       {randn({3, 3}, 12)}},
      // ---- element-wise, with broadcasting ----
      {"add", "add [3,4] + [4]", [](V x) { return add(x[0], x[1]); }, {randn({3, 4}, 20), randn({4}, 21)}},
      {"sub", "sub [3,1] - [1,4]", [](V x) { return sub(x[0], x[1]); }, {randn({3, 1}, 22), randn({1, 4}, 23)}},
      {"mul", "mul [2,3,4] * [3,1]", [](V x) { return mul(x[0], x[1]); }, {randn({2, 3, 4}, 24), randn({3, 1}, 25)}},
      {"div", "div", [](V x) { return div(x[0], x[1]); }, {randn({3, 4}, 26), positive({3, 4}, 27)}},
      {"maximum", "maximum", [](V x) { return maximum(x[0], x[1]); }, {randn({3, 4}, 28), randn({4}, 29)}},
      {"minimum", "minimum", [](V x) { return minimum(x[0], x[1]); }, {randn({3, 4}, 30), randn({3, 4}, 31)}},
      {"add_scalar", "add scalar", [](V x) { return add(x[0], 1.5f); }, {randn({5}, 32)}},
      {"sub_scalar", "sub scalar", [](V x) { return sub(x[0], 1.5f); }, {randn({5}, 33)}},
      {"mul_scalar", "mul scalar", [](V x) { return mul(x[0], -2.5f); }, {randn({5}, 34)}},
      {"div_scalar", "div scalar", [](V x) { return div(x[0], 4.0f); }, {randn({5}, 35)}},
      {"neg", "neg", [](V x) { return neg(x[0]); }, {randn({5}, 36)}},
      {"exp", "exp", [](V x) { return exp(x[0]); }, {randn({5}, 37)}},
      {"log", "log", [](V x) { return log(x[0]); }, {positive({5}, 38)}},
      {"tanh", "tanh", [](V x) { return tanh(x[0]); }, {randn({5}, 39)}},
      {"sqrt", "sqrt", [](V x) { return sqrt(x[0]); }, {positive({5}, 40)}},
      {"rsqrt", "rsqrt", [](V x) { return rsqrt(x[0]); }, {positive({5}, 41)}},
      {"abs", "abs", [](V x) { return abs(x[0]); }, {randn({5}, 42)}},
      {"square", "square", [](V x) { return square(x[0]); }, {randn({5}, 43)}},
      // ---- activations ----
      {"gelu", "gelu erf", [](V x) { return gelu(x[0]); }, {randn({7}, 44, 2.0f)}},
      {"gelu_tanh", "gelu tanh", [](V x) { return gelu(x[0], GeluApprox::kTanh); }, {randn({7}, 45, 2.0f)}},
      {"silu", "silu", [](V x) { return silu(x[0]); }, {randn({7}, 46, 2.0f)}},
      {"relu", "relu", [](V x) { return relu(x[0]); }, {randn({7}, 47)}},
      {"sigmoid", "sigmoid", [](V x) { return sigmoid(x[0]); }, {randn({7}, 48)}},
      // ---- softmax family ----
      {"softmax", "softmax last dim", [](V x) { return softmax(x[0], -1); }, {randn({3, 5}, 49)}},
      {"softmax", "softmax dim 0", [](V x) { return softmax(x[0], 0); }, {randn({3, 5}, 50)}},
      {"log_softmax", "log_softmax", [](V x) { return log_softmax(x[0], 1); }, {randn({2, 4, 3}, 51)}},
      // ---- norms ----
      {"layer_norm", "layer_norm affine", [](V x) { return layer_norm(x[0], x[1], x[2]); },
       {randn({2, 3, 6}, 52), randn({6}, 53), randn({6}, 54)}},
      {"layer_norm", "layer_norm no affine", [](V x) { return layer_norm(x[0], Tensor(), Tensor()); },
       {randn({4, 5}, 55)}},
      {"rms_norm", "rms_norm", [](V x) { return rms_norm(x[0], x[1]); }, {randn({3, 6}, 56), randn({6}, 57)}},
      // ---- products ----
      {"matmul", "matmul batched broadcast", [](V x) { return matmul(x[0], x[1]); },
       {randn({2, 3, 4}, 58), randn({4, 5}, 59)}},
      {"matmul", "matmul batch broadcast both", [](V x) { return matmul(x[0], x[1]); },
       {randn({2, 1, 3, 4}, 60), randn({3, 4, 2}, 61)}},
      {"matmul", "matmul vector-matrix", [](V x) { return matmul(x[0], x[1]); }, {randn({4}, 62), randn({4, 3}, 63)}},
      {"matmul", "matmul matrix-vector", [](V x) { return matmul(x[0], x[1]); }, {randn({3, 4}, 64), randn({4}, 65)}},
      {"matmul", "matmul transposed view", [](V x) { return matmul(x[0].transpose(0, 1), x[1]); },
       {randn({4, 3}, 66), randn({4, 2}, 67)}},
      {"linear", "linear with bias, 3-d x", [](V x) { return linear(x[0], x[1], x[2]); },
       {randn({2, 3, 4}, 68), randn({5, 4}, 69), randn({5}, 70)}},
      {"linear", "linear without bias", [](V x) { return linear(x[0], x[1]); }, {randn({3, 4}, 71), randn({2, 4}, 72)}},
      // mlp's own node exists under bf16 matmul precision only (where finite differences mean nothing;
      // tests/autograd/mlp_bf16_test.cpp holds it to the bf16 composition bit for bit); in f32 it is
      // the composition, checked here.
      {"mlp", "mlp gelu, biases", [](V x) { return mlp(x[0], x[1], x[2], MlpActivation::kGelu, x[3], x[4]); },
       {randn({2, 3, 4}, 140), randn({6, 4}, 141), randn({6}, 142), randn({5, 6}, 143), randn({5}, 144)}},
      // ---- lookup, reductions, shapes, selection ----
      {"embedding", "embedding with repeated ids",
       [](V x) { return embedding(Tensor::from_vector_i64({1, 3, 1, 0, 3, 3}, {2, 3}), x[0]); }, {randn({4, 5}, 73)}},
      {"sum", "sum dim 1", [](V x) { return sum(x[0], 1); }, {randn({2, 3, 4}, 74)}},
      {"mean", "mean keepdim", [](V x) { return mean(x[0], -1, true); }, {randn({2, 3, 4}, 75)}},
      {"max", "max dim 0", [](V x) { return max(x[0], 0); }, {randn({3, 4}, 76)}},
      {"sum_all", "sum_all", [](V x) { return sum_all(x[0]); }, {randn({3, 4}, 77)}},
      {"mean_all", "mean_all", [](V x) { return mean_all(x[0]); }, {randn({3, 4}, 78)}},
      {"concat", "concat dim 1", [](V x) { return concat({x[0], x[1]}, 1); }, {randn({2, 3}, 79), randn({2, 2}, 80)}},
      {"split", "split dim 1, pieces used unevenly, one unused",
       [](V x) {
         const auto p = split(x[0], {1, 2, 2}, 1);
         return concat({mul(p[2], p[2]), p[0]}, 1);
       },
       {randn({2, 5}, 96)}},
      {"where", "where with broadcast b",
       [](V x) { return where(Tensor::from_vector_i64({1, 0, 0, 1, 1, 0}, {2, 3}), x[0], x[1]); },
       {randn({2, 3}, 81), randn({3}, 82)}},
      {"dropout", "dropout p 0.4 (same draws each call)",
       [](V x) {
         Rng rng(21);
         return dropout(x[0], 0.4f, rng);
       },
       {randn({3, 50}, 97)}},
      {"masked_fill", "masked_fill -inf then exp",
       [](V x) { return exp(masked_fill(x[0], Tensor::from_vector_i64({0, 1, 0}, {3}), -INFINITY)); },
       {randn({2, 3}, 83)}},
      {"to_dtype", "to_dtype bf16 and back",
       [](V x) { return to_dtype(to_dtype(x[0], DType::kBF16), DType::kF32); }, {randn({5}, 84)},
       {.eps = 0.25, .atol = 2e-2}},
      // ---- attention (the flash backward; its own tests compare it with a float64 reference) ----
      {"attention", "attention GQA 4/2, causal, padding, softcap",
       [](V x) {
         return attention(x[0], x[1], x[2],
                          {.causal = true, .key_lengths = Tensor::from_vector_i64({5, 3}, {2}), .softcap = 5.0f})
             .out;
       },
       {randn({2, 4, 3, 4}, 85), randn({2, 2, 5, 4}, 86), randn({2, 2, 5, 4}, 87)}},
  };
  return rows;
}

}  // namespace attn
