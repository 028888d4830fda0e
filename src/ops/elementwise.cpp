// ops/elementwise.cpp — add/sub/mul/div/maximum/minimum (broadcasting) and the unary math ops.
// Backward beside each forward: broadcasting ops reduce their gradients back to each input's shape.
#include <attn/ops.h>

#include "kernels/elementwise.h"
#include "kernels/grad.h"
#include "ops/grad_util.h"
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

namespace {

// d(max/min)/da: 1 where a wins, 1/2 on ties (torch's rule), 0 where b wins.
Tensor select_grad(const Tensor& g, const Tensor& a, const Tensor& b, bool is_max) {
  const Tensor d = is_max ? sub(a, b) : sub(b, a);  // > 0 where a wins
  const Tensor share = where(relu(d), Tensor::full({}, 1.0), where(d, Tensor::zeros({}), Tensor::full({}, 0.5)));
  return mul(g, share);
}

Tensor binary(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor y = no_grad([&] { return binary_op(name, op, a, b); });
  if (!autograd::needs_grad({&a, &b})) return y;
  autograd::record(name, {a, b}, {&y}, [op, a = a.detach(), b = b.detach()](const Grads& g, const Needs& n) {
    Tensor ga, gb;
    switch (op) {
      case BinaryOp::kAdd: ga = g[0], gb = g[0]; break;
      case BinaryOp::kSub: ga = g[0], gb = n[1] ? neg(g[0]) : Tensor(); break;
      case BinaryOp::kMul: ga = n[0] ? mul(g[0], b) : Tensor(), gb = n[1] ? mul(g[0], a) : Tensor(); break;
      case BinaryOp::kDiv:
        ga = n[0] ? div(g[0], b) : Tensor();
        gb = n[1] ? neg(div(mul(g[0], a), square(b))) : Tensor();
        break;
      case BinaryOp::kMax:
      case BinaryOp::kMin:
        ga = n[0] ? select_grad(g[0], a, b, op == BinaryOp::kMax) : Tensor();
        gb = n[1] ? select_grad(g[0], b, a, op == BinaryOp::kMax) : Tensor();
        break;
    }
    return Grads{n[0] ? reduce_to_shape(ga, a.shape()) : Tensor(), n[1] ? reduce_to_shape(gb, b.shape()) : Tensor()};
  });
  return y;
}

Tensor scalar(const char* name, BinaryOp op, const Tensor& a, float s) {
  Tensor y = no_grad([&] { return scalar_op(name, op, a, s); });
  if (!autograd::needs_grad({&a})) return y;
  autograd::record(name, {a}, {&y}, [op, s](const Grads& g, const Needs&) {
    switch (op) {
      case BinaryOp::kMul: return Grads{mul(g[0], s)};
      case BinaryOp::kDiv: return Grads{div(g[0], s)};
      default: return Grads{g[0]};  // add, sub
    }
  });
  return y;
}

Tensor unary(const char* name, UnaryOp op, const Tensor& x) {
  Tensor y = no_grad([&] { return unary_op(name, op, x); });
  if (!autograd::needs_grad({&x})) return y;
  autograd::record(name, {x}, {&y}, [op, x = x.detach().contiguous(), y = y.detach()](const Grads& g, const Needs&) {
    const Tensor gc = g[0].contiguous();
    Tensor dx = Tensor::empty(x.shape());
    if (dx.numel() > 0)
      kernels::unary_backward(op, fptr(x), fptr(y), fptr(gc), fptr_mut(dx), dx.numel());
    return Grads{dx};
  });
  return y;
}

}  // namespace

using autograd::grad_op;

namespace ops_detail {
Tensor unary_with_grad(const char* name, UnaryOp op, const Tensor& x) { return unary(name, op, x); }
}  // namespace ops_detail

Tensor add(const Tensor& a, const Tensor& b) { return binary(grad_op("add"), BinaryOp::kAdd, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(grad_op("sub"), BinaryOp::kSub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(grad_op("mul"), BinaryOp::kMul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(grad_op("div"), BinaryOp::kDiv, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(grad_op("maximum"), BinaryOp::kMax, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(grad_op("minimum"), BinaryOp::kMin, a, b); }
Tensor add(const Tensor& a, float s) { return scalar(grad_op("add_scalar"), BinaryOp::kAdd, a, s); }
Tensor sub(const Tensor& a, float s) { return scalar(grad_op("sub_scalar"), BinaryOp::kSub, a, s); }
Tensor mul(const Tensor& a, float s) { return scalar(grad_op("mul_scalar"), BinaryOp::kMul, a, s); }
Tensor div(const Tensor& a, float s) { return scalar(grad_op("div_scalar"), BinaryOp::kDiv, a, s); }

Tensor neg(const Tensor& x) { return unary(grad_op("neg"), UnaryOp::kNeg, x); }
Tensor exp(const Tensor& x) { return unary(grad_op("exp"), UnaryOp::kExp, x); }
Tensor log(const Tensor& x) { return unary(grad_op("log"), UnaryOp::kLog, x); }
Tensor tanh(const Tensor& x) { return unary(grad_op("tanh"), UnaryOp::kTanh, x); }
Tensor sqrt(const Tensor& x) { return unary(grad_op("sqrt"), UnaryOp::kSqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary(grad_op("rsqrt"), UnaryOp::kRsqrt, x); }
Tensor abs(const Tensor& x) { return unary(grad_op("abs"), UnaryOp::kAbs, x); }
Tensor square(const Tensor& x) { return unary(grad_op("square"), UnaryOp::kSquare, x); }

}  // namespace attn
