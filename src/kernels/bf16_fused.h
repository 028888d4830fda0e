// kernels/bf16_fused.h — element-wise kernels that write a bf16 matmul operand on the way, for the
// fused MLP of bf16 training (ops::mlp): the activation writes the second linear's bf16 input, and its
// backward writes the first linear's bf16 output gradient together with that linear's bias gradient.
//
//   attn::kernels::unary_to_bf16(UnaryOp::kGeluErf, h, a_bf16, n);          // a = bf16(gelu(h))
//   attn::kernels::unary_backward_to_bf16_colsum(UnaryOp::kGeluErf, h, nullptr, da, dh_bf16, db,
//                                                rows, cols);                // dh = da·gelu'(h)
//
// Bit for bit the composition they replace — unary then f32_to_bf16; unary_backward then
// f32_to_bf16_colsum (same chunks, same summation order) — without the f32 intermediate in memory:
// each thread computes a few rows into a stack buffer and rounds them from there.
#pragma once

#include <cstdint>

#include "kernels/elementwise.h"

namespace attn::kernels {

// y[i] = bf16(f(x[i])) for i < n.
void unary_to_bf16(UnaryOp op, const float* x, uint16_t* y, int64_t n);

// For [rows, cols]: d = g · f'(x) (x, y = f(x) as unary_backward reads them); dx = bf16(d) and
// colsum[c] = Σ_r d[r, c] (as f32_to_bf16_colsum: thread-count independent). colsum may be null.
void unary_backward_to_bf16_colsum(UnaryOp op, const float* x, const float* y, const float* g, uint16_t* dx,
                                   float* colsum, int64_t rows, int64_t cols);

}  // namespace attn::kernels
