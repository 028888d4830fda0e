// ops/elementwise.cpp — add/sub/mul/div/maximum/minimum (broadcasting) and the unary math ops.
// Forward only; backward sits beside each forward when autograd covers it.
#include <attn/ops.h>

#include "kernels/elementwise.h"
#include "ops/ops_util.h"

namespace attn {
namespace {
using namespace ops_detail;

Tensor binary_op(std::string_view name, kernels::BinaryOp op, const Tensor& a, const Tensor& b) {
  check_f32(name, a, "a");
  check_f32(name, b, "b");
  const Layout l = broadcast_layout(name, {a, b});
  Tensor y = Tensor::empty(l.out_shape);
  if (y.numel() > 0) kernels::binary(op, l.rows, fptr(l.operands[0]), fptr(l.operands[1]), fptr_mut(y));
  return y;
}

Tensor scalar_op(std::string_view name, kernels::BinaryOp op, const Tensor& a, float s) {
  check_f32(name, a, "a");
  const Tensor c = a.contiguous();
  Tensor y = Tensor::empty(a.shape());
  kernels::RowLayout l;
  l.n = a.numel();
  l.inner[1] = 0;  // b is the one scalar, repeated
  if (l.n > 0) kernels::binary(op, l, fptr(c), &s, fptr_mut(y));
  return y;
}

}  // namespace

namespace ops_detail {
Tensor unary_op(std::string_view name, kernels::UnaryOp op, const Tensor& x) {
  check_f32(name, x);
  const Tensor c = x.contiguous();
  Tensor y = Tensor::empty(x.shape());
  if (y.numel() > 0) kernels::unary(op, fptr(c), fptr_mut(y), y.numel());
  return y;
}
}  // namespace ops_detail

using kernels::BinaryOp;
using kernels::UnaryOp;
using ops_detail::unary_op;

Tensor add(const Tensor& a, const Tensor& b) { return binary_op("add", BinaryOp::kAdd, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op("sub", BinaryOp::kSub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op("mul", BinaryOp::kMul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op("div", BinaryOp::kDiv, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary_op("maximum", BinaryOp::kMax, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary_op("minimum", BinaryOp::kMin, a, b); }
Tensor add(const Tensor& a, float s) { return scalar_op("add", BinaryOp::kAdd, a, s); }
Tensor sub(const Tensor& a, float s) { return scalar_op("sub", BinaryOp::kSub, a, s); }
Tensor mul(const Tensor& a, float s) { return scalar_op("mul", BinaryOp::kMul, a, s); }
Tensor div(const Tensor& a, float s) { return scalar_op("div", BinaryOp::kDiv, a, s); }

Tensor neg(const Tensor& x) { return unary_op("neg", UnaryOp::kNeg, x); }
Tensor exp(const Tensor& x) { return unary_op("exp", UnaryOp::kExp, x); }
Tensor log(const Tensor& x) { return unary_op("log", UnaryOp::kLog, x); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", UnaryOp::kTanh, x); }
Tensor sqrt(const Tensor& x) { return unary_op("sqrt", UnaryOp::kSqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary_op("rsqrt", UnaryOp::kRsqrt, x); }
Tensor abs(const Tensor& x) { return unary_op("abs", UnaryOp::kAbs, x); }
Tensor square(const Tensor& x) { return unary_op("square", UnaryOp::kSquare, x); }

}  // namespace attn
