// ops/grad_util.h — the pieces every op's backward uses (internal to ops).
//
//   Tensor y = no_grad([&] { return forward(a, b); });     // internal views record nothing
//   if (autograd::needs_grad({&a, &b}))
//     autograd::record("mul", {a, b}, {&y}, [a = a.detach(), b = b.detach()](const Grads& g, const Needs& n) {
//       return Grads{n[0] ? reduce_to_shape(mul(g[0], b), a.shape()) : Tensor(), ...};
//     });
#pragma once

#include <attn/autograd.h>
#include <attn/tensor.h>

#include <vector>

#include "kernels/elementwise.h"

namespace attn::ops_detail {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

template <class F>
auto no_grad(F&& f) {
  NoGradGuard guard;
  return f();
}

// An element-wise unary op that records its backward (kernels::unary_backward); elementwise.cpp.
Tensor unary_with_grad(const char* name, kernels::UnaryOp op, const Tensor& x);

// Sums g over the dimensions numpy broadcasting added or stretched, so the result has `shape`.
Tensor reduce_to_shape(const Tensor& g, const Shape& shape);

}  // namespace attn::ops_detail
