// ops/grad_util.cpp — reduce_to_shape: the backward of broadcasting.
#include "ops/grad_util.h"

#include <attn/ops.h>

namespace attn::ops_detail {

Tensor reduce_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  Tensor r = g;
  while (r.dim() > static_cast<int64_t>(shape.size())) r = sum(r, 0, false);
  for (int64_t d = 0; d < r.dim(); ++d)
    if (shape[static_cast<size_t>(d)] == 1 && r.size(d) != 1) r = sum(r, d, true);
  ATTN_CHECK(r.shape() == shape, ShapeError, "reduce_to_shape: cannot reduce {} to {}", g.str(), shape_str(shape));
  return r;
}

}  // namespace attn::ops_detail
