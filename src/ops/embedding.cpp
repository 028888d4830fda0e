// ops/embedding.cpp — embedding lookup: ids [...] (i32/i64) into table [V,C] -> [...,C].
#include <attn/ops.h>

#include "kernels/embedding.h"
#include "kernels/grad.h"
#include "ops/grad_util.h"
#include "ops/ops_util.h"

namespace attn {
using namespace ops_detail;

namespace {
Tensor embedding_forward(const Tensor& ids, const Tensor& table) {
  ATTN_CHECK(ids.defined() && (ids.dtype() == DType::kI32 || ids.dtype() == DType::kI64), ShapeError,
             "embedding: ids must be i32 or i64, got {}", ids.defined() ? ids.str() : "undefined");
  check_f32("embedding", table, "table");
  ATTN_CHECK(table.dim() == 2, ShapeError, "embedding: table must be [V,C], got {}", table.str());
  const int64_t V = table.size(0), C = table.size(1), n = ids.numel();
  const Tensor id = ids.contiguous();
  const Tensor t = table.contiguous();
  const int64_t bad = ids.dtype() == DType::kI32 ? kernels::embedding_find_bad_id_i32(id.data<int32_t>(), n, V)
                                                 : kernels::embedding_find_bad_id_i64(id.data<int64_t>(), n, V);
  if (bad >= 0) {
    const int64_t value = ids.dtype() == DType::kI32 ? id.data<int32_t>()[bad] : id.data<int64_t>()[bad];
    ATTN_CHECK(false, ShapeError, "embedding: id {} at position {} of ids {} is outside [0, {}) (table {})", value,
               bad, shape_str(ids.shape()), V, shape_str(table.shape()));
  }
  Shape out_shape = ids.shape();
  out_shape.push_back(C);
  Tensor y = Tensor::empty(out_shape);
  if (n > 0 && C > 0) {
    if (ids.dtype() == DType::kI32)
      kernels::embedding_gather_i32(id.data<int32_t>(), n, fptr(t), V, C, fptr_mut(y));
    else
      kernels::embedding_gather_i64(id.data<int64_t>(), n, fptr(t), V, C, fptr_mut(y));
  }
  return y;
}

}  // namespace

// Backward: the gradient rows are added into the table rows they were read from (ids repeat).
Tensor embedding(const Tensor& ids, const Tensor& table) {
  Tensor y = no_grad([&] { return embedding_forward(ids, table); });
  if (!autograd::needs_grad({&table})) return y;
  autograd::record("embedding", {ids, table}, {&y},
                   [ids = ids.to(DType::kI64), V = table.size(0), C = table.size(1)](const Grads& g, const Needs&) {
                     const Tensor gc = g[0].contiguous();
                     Tensor dt = Tensor::empty({V, C});
                     kernels::embedding_backward(ids.data<int64_t>(), ids.numel(), fptr(gc), V, C, fptr_mut(dt));
                     return Grads{Tensor(), dt};
                   });
  return y;
}

}  // namespace attn
