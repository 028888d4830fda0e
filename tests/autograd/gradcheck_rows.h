// tests/autograd/gradcheck_rows.h — the rows of the gradient table (see gradcheck_table_test.cpp).
// A row: the op's recorded name, a descriptive name, a function of the inputs, the inputs, and the
// finite-difference step and tolerances.
#pragma once

#include <attn/gradcheck.h>
#include <attn/loss.h>
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
  };
  return rows;
}

}  // namespace attn
