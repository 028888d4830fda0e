// ops/ops_util.h — shared checks and layout helpers for the ops layer (internal; not installed).
//
//   check_f32("softmax", x);                 // ShapeError "softmax: x must be f32, got bf16[2,3]"
//   int64_t d = normalize_dim("sum", x, -1);  // -1 -> x.dim()-1, range-checked
//   Layout l = broadcast_layout("add", {a, b});  // output shape + kernels::RowLayout over it
#pragma once

#include <attn/tensor.h>

#include <string_view>
#include <vector>

#include "kernels/elementwise.h"

namespace attn::ops_detail {

// Throws ShapeError unless t is a defined f32 tensor. `what` names the argument ("x", "weight").
void check_f32(std::string_view op, const Tensor& t, std::string_view what = "x");
// A dim in [-rank, rank) mapped to [0, rank); ShapeError naming op, dim and shape otherwise.
int64_t normalize_dim(std::string_view op, const Tensor& x, int64_t dim);
// f32 pointer to the first element (offset included).
inline const float* fptr(const Tensor& t) { return static_cast<const float*>(t.raw_data()); }
inline float* fptr_mut(Tensor& t) { return static_cast<float*>(t.raw_data()); }

// Operands broadcast to one output shape, described for kernels::binary / select without copies.
// The operand tensors are kept (some may be contiguous copies made for the layout's sake).
struct Layout {
  Shape out_shape;
  kernels::RowLayout rows;
  std::vector<Tensor> operands;  // in the order given, each viewed with the broadcast strides
};
// Broadcasts `xs` (1 to 3 f32 tensors) numpy-style; ShapeError naming the op and the shapes.
Layout broadcast_layout(std::string_view op, const std::vector<Tensor>& xs);

// y = op(x) element-wise, f32 checked, fresh contiguous output (elementwise.cpp).
Tensor unary_op(std::string_view name, kernels::UnaryOp op, const Tensor& x);

// Sizes with `dim` removed (keepdim false) or set to 1 (keepdim true).
Shape reduced_shape(const Shape& s, int64_t dim, bool keepdim);

}  // namespace attn::ops_detail
