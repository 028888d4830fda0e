// ops/activation.cpp — GELU (erf / tanh), SiLU, ReLU, sigmoid. Forward only for now.
#include <attn/ops.h>

#include "kernels/elementwise.h"
#include "ops/ops_util.h"

namespace attn {
using kernels::UnaryOp;
using ops_detail::unary_op;

Tensor gelu(const Tensor& x, GeluApprox approx) {
  return unary_op("gelu", approx == GeluApprox::kTanh ? UnaryOp::kGeluTanh : UnaryOp::kGeluErf, x);
}
Tensor silu(const Tensor& x) { return unary_op("silu", UnaryOp::kSilu, x); }
Tensor relu(const Tensor& x) { return unary_op("relu", UnaryOp::kRelu, x); }
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", UnaryOp::kSigmoid, x); }

}  // namespace attn
