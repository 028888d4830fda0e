// kernels/softmax.h — softmax and log-softmax over contiguous rows.
//
//   attn::kernels::softmax_rows(x, y, rows, n);       // x, y: [rows, n]; may alias
//
// Max-subtracted (logits of ±1e4 are fine). A row whose elements are all -inf gives zeros (softmax)
// or -inf (log-softmax), never NaN; a NaN anywhere in a row makes that row NaN.
#pragma once

#include <cstdint>

namespace attn::kernels {

void softmax_rows(const float* x, float* y, int64_t rows, int64_t n);
void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t n);

namespace ref {
void softmax_rows(const float* x, float* y, int64_t rows, int64_t n);
void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t n);
}  // namespace ref

}  // namespace attn::kernels
