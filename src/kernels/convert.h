// kernels/convert.h — vectorised f32 <-> bf16 / f16 conversions (bf16, f16 as uint16_t bit patterns).
//
//   attn::kernels::f32_to_bf16(x, y, n);    // y[i] = attn::f32_to_bf16(x[i]), bit for bit
//
// Round to nearest even; NaN stays NaN, ±Inf stays ±Inf; f16 overflow gives ±Inf and tiny values
// become f16 subnormals or ±0 — bit-identical to the scalar conversions in attn/dtype.h.
#pragma once

#include <cstdint>

namespace attn::kernels {

void f32_to_bf16(const float* x, uint16_t* y, int64_t n);
void bf16_to_f32(const uint16_t* x, float* y, int64_t n);
void f32_to_f16(const float* x, uint16_t* y, int64_t n);
void f16_to_f32(const uint16_t* x, float* y, int64_t n);
// x [rows, cols] -> y = bf16(x) (as f32_to_bf16) and colsum[c] = Σ_r x[r, c], in one read of x (a bf16
// linear's backward: the rounded output gradient and the bias gradient). The sum is the same for any
// thread count.
void f32_to_bf16_colsum(const float* x, uint16_t* y, float* colsum, int64_t rows, int64_t cols);
// One chunk of it, single-threaded: y = bf16(x) for x [rows, cols], and acc[c] += x[r, c] row after
// row in f32 (kernels that produce a gradient a chunk at a time round and sum it with this).
void f32_to_bf16_accumulate_rows(const float* x, uint16_t* y, float* acc, int64_t rows, int64_t cols);

namespace ref {
void f32_to_bf16_colsum(const float* x, uint16_t* y, double* colsum, int64_t rows, int64_t cols);
void f32_to_bf16(const float* x, uint16_t* y, int64_t n);
void bf16_to_f32(const uint16_t* x, float* y, int64_t n);
void f32_to_f16(const float* x, uint16_t* y, int64_t n);
void f16_to_f32(const uint16_t* x, float* y, int64_t n);
}  // namespace ref

}  // namespace attn::kernels
