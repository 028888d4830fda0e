// ops/where.cpp — where(cond, a, b) and masked_fill(x, mask, value), broadcasting all operands.
// Conditions of any dtype are read as f32 (non-zero = true); one f32 copy of the condition.
#include <attn/ops.h>

#include "kernels/elementwise.h"
#include "ops/grad_util.h"
#include "ops/ops_util.h"

namespace attn {
using namespace ops_detail;

namespace {
Tensor as_condition(std::string_view op, const Tensor& cond) {
  ATTN_CHECK(cond.defined(), ShapeError, "{}: the condition is undefined", op);
  return cond.dtype() == DType::kF32 ? cond : cond.to(DType::kF32);
}
}  // namespace

Tensor where_forward(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill_forward(const Tensor& x, const Tensor& mask, float value);

// Backward: the gradient flows to whichever operand each element was taken from.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor y = no_grad([&] { return where_forward(cond, a, b); });
  if (!autograd::needs_grad({&a, &b})) return y;
  autograd::record("where", {a, b}, {&y},
                   [cond = cond.detach(), as = a.shape(), bs = b.shape()](const Grads& g, const Needs& n) {
                     const Tensor zero = Tensor::zeros({});
                     return Grads{n[0] ? reduce_to_shape(where(cond, g[0], zero), as) : Tensor(),
                                  n[1] ? reduce_to_shape(where(cond, zero, g[0]), bs) : Tensor()};
                   });
  return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  Tensor y = no_grad([&] { return masked_fill_forward(x, mask, value); });
  if (!autograd::needs_grad({&x})) return y;
  autograd::record("masked_fill", {x}, {&y}, [mask = mask.detach()](const Grads& g, const Needs&) {
    return Grads{masked_fill(g[0], mask, 0.0f)};
  });
  return y;
}

Tensor where_forward(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_f32("where", a, "a");
  check_f32("where", b, "b");
  const Layout l = broadcast_layout("where", {a, b, as_condition("where", cond)});
  Tensor y = Tensor::empty(l.out_shape);
  if (y.numel() > 0)
    kernels::select(l.rows, fptr(l.operands[2]), fptr(l.operands[0]), fptr(l.operands[1]), fptr_mut(y));
  return y;
}

Tensor masked_fill_forward(const Tensor& x, const Tensor& mask, float value) {
  check_f32("masked_fill", x);
  Tensor value_t = Tensor::empty({});  // a 0-d f32 holding value, broadcast everywhere
  *fptr_mut(value_t) = value;
  const Layout l = broadcast_layout("masked_fill", {value_t, x, as_condition("masked_fill", mask)});
  ATTN_CHECK(l.out_shape == x.shape(), ShapeError, "masked_fill: mask {} does not broadcast to x {}",
             shape_str(mask.shape()), shape_str(x.shape()));
  Tensor y = Tensor::empty(x.shape());
  if (y.numel() > 0)
    kernels::select(l.rows, fptr(l.operands[2]), fptr(l.operands[0]), fptr(l.operands[1]), fptr_mut(y));
  return y;
}

}  // namespace attn
