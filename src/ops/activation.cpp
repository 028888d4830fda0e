// ops/activation.cpp — GELU (erf / tanh), SiLU, ReLU, sigmoid; each records its backward
// (kernels::unary_backward) through unary_with_grad.
#include <attn/ops.h>

#include "kernels/elementwise.h"
#include "ops/grad_util.h"

namespace attn {
using kernels::UnaryOp;
using ops_detail::unary_with_grad;
using autograd::grad_op;

Tensor gelu(const Tensor& x, GeluApprox approx) {
  if (approx == GeluApprox::kTanh) return unary_with_grad(grad_op("gelu_tanh"), UnaryOp::kGeluTanh, x);
  return unary_with_grad(grad_op("gelu"), UnaryOp::kGeluErf, x);
}
Tensor silu(const Tensor& x) { return unary_with_grad(grad_op("silu"), UnaryOp::kSilu, x); }
Tensor relu(const Tensor& x) { return unary_with_grad(grad_op("relu"), UnaryOp::kRelu, x); }
Tensor sigmoid(const Tensor& x) { return unary_with_grad(grad_op("sigmoid"), UnaryOp::kSigmoid, x); }

}  // namespace attn
