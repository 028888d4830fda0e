// ops/reduce.cpp — sum / mean / max over one dim, and the deterministic global sum.
// The kernel sees x as contiguous [outer, R, inner] (R = the reduced dim), so no transpose is needed.
#include <attn/ops.h>

#include "kernels/reduce.h"
#include "kernels/grad.h"
#include "ops/grad_util.h"
#include "ops/ops_util.h"

namespace attn {
namespace {
using namespace ops_detail;

Tensor reduce_dim(std::string_view name, kernels::ReduceOp op, const Tensor& x, int64_t dim, bool keepdim) {
  check_f32(name, x);
  const int64_t d = normalize_dim(name, x, dim);
  const int64_t R = x.size(d);
  ATTN_CHECK(R > 0 || op == kernels::ReduceOp::kSum, ShapeError, "{}: cannot reduce the empty dim {} of {}", name,
             d, x.str());
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= x.size(i);
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.size(i);
  const Tensor c = x.contiguous();
  Tensor y = Tensor::empty(reduced_shape(x.shape(), d, keepdim));
  if (y.numel() > 0) kernels::reduce_axis(op, fptr(c), fptr_mut(y), outer, R, inner);
  return y;
}

// The gradient of a reduced dim is broadcast back along it (sum), divided by its size (mean), or
// routed to the first maximum (max, like torch's indices).
Tensor reduce_with_grad(const char* name, kernels::ReduceOp op, const Tensor& x, int64_t dim, bool keepdim) {
  Tensor y = no_grad([&] { return reduce_dim(name, op, x, dim, keepdim); });
  if (!autograd::needs_grad({&x})) return y;
  const int64_t d = normalize_dim(name, x, dim);
  autograd::record(name, {x}, {&y}, [op, d, keepdim, x = x.detach()](const Grads& g, const Needs&) {
    const Tensor gk = keepdim ? g[0] : g[0].unsqueeze(d);
    if (op == kernels::ReduceOp::kMax) {
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < d; ++i) outer *= x.size(i);
      for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.size(i);
      const Tensor xc = x.contiguous(), gc = gk.contiguous();
      Tensor dx = Tensor::empty(x.shape());
      if (dx.numel() > 0) kernels::max_backward(fptr(xc), fptr(gc), fptr_mut(dx), outer, x.size(d), inner);
      return Grads{dx};
    }
    Tensor dx = gk.expand(x.shape()).contiguous();
    if (op == kernels::ReduceOp::kMean) dx = div(dx, static_cast<float>(x.size(d)));
    return Grads{dx};
  });
  return y;
}
}  // namespace

Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  return reduce_with_grad(autograd::grad_op("sum"), kernels::ReduceOp::kSum, x, dim, keepdim);
}
Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  return reduce_with_grad(autograd::grad_op("mean"), kernels::ReduceOp::kMean, x, dim, keepdim);
}
Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  return reduce_with_grad(autograd::grad_op("max"), kernels::ReduceOp::kMax, x, dim, keepdim);
}

Tensor sum_all(const Tensor& x) {
  if (autograd::needs_grad({&x})) {
    Tensor y = no_grad([&] { return sum_all(x); });
    autograd::record("sum_all", {x}, {&y}, [shape = x.shape()](const Grads& g, const Needs&) {
      return Grads{g[0].expand(shape).contiguous()};
    });
    return y;
  }
  check_f32("sum_all", x);
  const Tensor c = x.contiguous();
  Tensor y = Tensor::empty({});
  *fptr_mut(y) = c.numel() > 0 ? kernels::sum_all(fptr(c), c.numel()) : 0.0f;
  return y;
}

Tensor mean_all(const Tensor& x) {
  if (autograd::needs_grad({&x})) {
    Tensor y = no_grad([&] { return mean_all(x); });
    autograd::record("mean_all", {x}, {&y}, [shape = x.shape(), n = x.numel()](const Grads& g, const Needs&) {
      return Grads{div(g[0].expand(shape).contiguous(), static_cast<float>(n))};
    });
    return y;
  }
  check_f32("mean_all", x);
  ATTN_CHECK(x.numel() > 0, ShapeError, "mean_all: x {} is empty", x.str());
  const Tensor c = x.contiguous();
  Tensor y = Tensor::empty({});
  *fptr_mut(y) = kernels::sum_all(fptr(c), c.numel()) / static_cast<float>(c.numel());
  return y;
}

}  // namespace attn
