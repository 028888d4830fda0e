// ops/ops_util.cpp — shared checks and the broadcast layout builder (see ops_util.h).
//
// broadcast_layout: (1) broadcast the shapes; (2) view each operand expanded to that shape (stride 0
// on broadcast dims); (3) drop size-1 dims and merge neighbours that are contiguous in every operand;
// (4) if an operand's innermost stride is not 0 or 1 (a transposed view), replace it by a contiguous
// copy and start over; (5) the last merged dim becomes the kernel's row, the rest its outer index.
#include "ops/ops_util.h"

#include <attn/error.h>

namespace attn::ops_detail {

void check_f32(std::string_view op, const Tensor& t, std::string_view what) {
  ATTN_CHECK(t.defined(), ShapeError, "{}: {} is an undefined tensor", op, what);
  ATTN_CHECK(t.dtype() == DType::kF32, ShapeError, "{}: {} must be f32, got {} (convert with to_dtype)", op, what,
             t.str());
}

int64_t normalize_dim(std::string_view op, const Tensor& x, int64_t dim) {
  const int64_t r = x.dim();
  ATTN_CHECK(dim >= -r && dim < r && r > 0, ShapeError, "{}: dim {} is out of range for {}", op, dim, x.str());
  return dim < 0 ? dim + r : dim;
}

Shape reduced_shape(const Shape& s, int64_t dim, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    if (d != dim) out.push_back(s[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

namespace {

// Merged (size, strides-per-operand) dims, outermost first; false if some operand's innermost
// stride is not 0 or 1 (bad_operand set).
bool coalesce(const Shape& shape, const std::vector<Tensor>& ops, std::vector<int64_t>& sizes,
              std::vector<std::vector<int64_t>>& strides, int& bad_operand) {
  const size_t k = ops.size();
  sizes.clear();
  strides.assign(k, {});
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const bool merge = !sizes.empty() && [&] {
      for (size_t i = 0; i < k; ++i)
        if (strides[i].back() != ops[i].stride(static_cast<int64_t>(d)) * shape[d]) return false;
      return true;
    }();
    if (merge) {
      sizes.back() *= shape[d];
      for (size_t i = 0; i < k; ++i) strides[i].back() = ops[i].stride(static_cast<int64_t>(d));
    } else {
      sizes.push_back(shape[d]);
      for (size_t i = 0; i < k; ++i) strides[i].push_back(ops[i].stride(static_cast<int64_t>(d)));
    }
  }
  for (size_t i = 0; i < k; ++i) {
    if (!sizes.empty() && strides[i].back() != 0 && strides[i].back() != 1) {
      bad_operand = static_cast<int>(i);
      return false;
    }
  }
  return true;
}

}  // namespace

Layout broadcast_layout(std::string_view op, const std::vector<Tensor>& xs) {
  Layout l;
  l.out_shape = xs[0].shape();
  for (size_t i = 1; i < xs.size(); ++i) {
    try {
      l.out_shape = broadcast_shapes(l.out_shape, xs[i].shape());
    } catch (const ShapeError&) {
      std::string shapes;
      for (const Tensor& x : xs) shapes += (shapes.empty() ? "" : " and ") + shape_str(x.shape());
      ATTN_CHECK(false, ShapeError, "{}: shapes {} do not broadcast", op, shapes);
    }
  }
  std::vector<Tensor> src = xs;
  std::vector<int64_t> sizes;
  std::vector<std::vector<int64_t>> strides;
  for (int attempt = 0;; ++attempt) {
    l.operands.clear();
    for (const Tensor& x : src) l.operands.push_back(x.expand(l.out_shape));
    int bad = -1;
    const bool ok = coalesce(l.out_shape, l.operands, sizes, strides, bad);
    if (ok && sizes.size() <= kernels::kMaxRowDims + 1) break;
    if (ok || attempt > 4) {  // too many outer dims: materialise every operand (always coalesces)
      for (Tensor& x : src) x = x.expand(l.out_shape).contiguous();
    } else {
      src[bad] = src[bad].contiguous();
    }
  }
  kernels::RowLayout& r = l.rows;
  r.n = sizes.empty() ? 1 : sizes.back();
  r.ndim = sizes.empty() ? 0 : static_cast<int>(sizes.size()) - 1;
  r.rows = 1;
  for (int d = 0; d < r.ndim; ++d) {
    r.size[d] = sizes[d];
    r.rows *= sizes[d];
    for (size_t i = 0; i < xs.size(); ++i) r.stride[i][d] = strides[i][d];
  }
  for (size_t i = 0; i < xs.size(); ++i) r.inner[i] = sizes.empty() ? 0 : strides[i].back();
  return l;
}

}  // namespace attn::ops_detail
