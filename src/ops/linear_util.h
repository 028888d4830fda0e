// ops/linear_util.h — internal: the pieces of linear() that the fused MLP (ops/mlp.cpp) reuses.
// Defined in ops/matmul.cpp.
#pragma once

#include <attn/tensor.h>

#include <cstdint>

namespace attn::ops_detail {

// Throws ShapeError / TypeError unless x [..., in], w [out, in] and b [out] (optional) fit.
void check_linear(const Tensor& x, const Tensor& w, const Tensor& b);
// y = x·wᵀ + b in f32 (no autograd).
Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b);
// [rows, cols] bf16 copy of the f32 matrix t (any layout).
Tensor to_bf16_matrix(const Tensor& t, int64_t rows, int64_t cols);
const uint16_t* bptr(const Tensor& t);
// y [rows, out] = xb [rows, in] · wbᵀ + b, bf16 operands and f32 accumulation.
void linear_bf16_forward(const Tensor& xb, const Tensor& wb, const Tensor& b, Tensor& y);

}  // namespace attn::ops_detail
