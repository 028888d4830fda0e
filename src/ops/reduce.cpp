// ops/reduce.cpp — sum / mean / max over one dim, and the deterministic global sum.
// The kernel sees x as contiguous [outer, R, inner] (R = the reduced dim), so no transpose is needed.
#include <attn/ops.h>

#include "kernels/reduce.h"
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

}  // namespace

Tensor sum(const Tensor& x, int64_t dim, bool keepdim) { return reduce_dim("sum", kernels::ReduceOp::kSum, x, dim, keepdim); }
Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  return reduce_dim("mean", kernels::ReduceOp::kMean, x, dim, keepdim);
}
Tensor max(const Tensor& x, int64_t dim, bool keepdim) { return reduce_dim("max", kernels::ReduceOp::kMax, x, dim, keepdim); }

Tensor sum_all(const Tensor& x) {
  check_f32("sum_all", x);
  const Tensor c = x.contiguous();
  Tensor y = Tensor::empty({});
  *fptr_mut(y) = c.numel() > 0 ? kernels::sum_all(fptr(c), c.numel()) : 0.0f;
  return y;
}

Tensor mean_all(const Tensor& x) {
  check_f32("mean_all", x);
  ATTN_CHECK(x.numel() > 0, ShapeError, "mean_all: x {} is empty", x.str());
  const Tensor c = x.contiguous();
  Tensor y = Tensor::empty({});
  *fptr_mut(y) = kernels::sum_all(fptr(c), c.numel()) / static_cast<float>(c.numel());
  return y;
}

}  // namespace attn
