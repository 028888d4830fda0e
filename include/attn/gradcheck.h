// attn/gradcheck.h — compare an op's recorded backward with finite differences.
//
//   auto r = gradcheck([](const std::vector<Tensor>& x) { return gelu(x[0]); }, {Tensor::empty({3, 5})},
//                      {.seed = 1});
//   EXPECT_TRUE(r.ok) << r.report;
//
// The scalar checked is L = Σ f(x) ∘ W with a fixed random W, so every output element matters.
// Analytic gradients come from backward(L); numeric ones from the 4-point central stencil
//   dL/dx ≈ (-L(x+2h) + 8L(x+h) - 8L(x-h) + L(x-2h)) / 12h
// whose truncation error is O(h⁴), evaluated under NoGradGuard with the op's own f32 forward.
// An element passes when |analytic - numeric| <= atol + rtol·|numeric|.
#pragma once

#include <attn/tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace attn {

struct GradcheckOptions {
  double eps = 1e-2;
  double atol = 1e-3;
  double rtol = 1e-2;
  uint64_t seed = 0;                  // inputs without data are filled N(0,1) from this seed
  std::vector<bool> differentiable;   // per input; empty = every float input
  int64_t max_elements = 64;          // numeric check of at most this many elements per input (spread)
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  std::string report;  // the failing elements, named by input and flat index
};

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                          const GradcheckOptions& opts = {});

}  // namespace attn
