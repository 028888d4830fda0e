// kernels/ref/embedding.cpp — scalar twins of kernels/embedding.h and kernels/convert.h.
#include <attn/dtype.h>

#include <cstring>

#include "kernels/convert.h"
#include "kernels/embedding.h"

namespace attn::kernels::ref {

void embedding_gather_i64(const int64_t* ids, int64_t n, const float* table, int64_t V, int64_t C, float* out) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * C, table + ids[i] * C, sizeof(float) * C);
}

void f32_to_bf16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = attn::f32_to_bf16(x[i]);
}

void f32_to_bf16_colsum(const float* x, uint16_t* y, double* colsum, int64_t rows, int64_t cols) {
  f32_to_bf16(x, y, rows * cols);
  for (int64_t c = 0; c < cols; ++c) colsum[c] = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) colsum[c] += x[r * cols + c];
}
void bf16_to_f32(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = attn::bf16_to_f32(x[i]);
}
void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = attn::f32_to_f16(x[i]);
}
void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = attn::f16_to_f32(x[i]);
}

}  // namespace attn::kernels::ref
