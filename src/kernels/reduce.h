// kernels/reduce.h — reductions over one axis of a contiguous [outer, R, inner] array, and a
// deterministic global sum.
//
//   attn::kernels::reduce_axis(ReduceOp::kSum, x, y, outer, R, inner);   // y: [outer, inner]
//   float s = attn::kernels::sum_all(x, n);
//
// inner == 1 is a row reduction (SIMD along R); inner > 1 reduces across rows (SIMD along inner): a
// sum or mean in row chunks read in memory order (kernels/colsum_chunks.h, add_rows_into), the same
// bits for any thread count and target.
// kMean divides the sum by R. An empty axis (R == 0) gives 0 for kSum, NaN for kMean, -inf for kMax.
// A NaN on the axis makes kMax NaN on every target.
// sum_all splits x into fixed chunks of kSumChunk elements, sums each (SIMD, f32) and adds the
// chunk sums in chunk order in float64: the same bits for every thread count (targets may differ
// in the last bits, since lane counts differ).
#pragma once

#include <cstdint>

namespace attn::kernels {

enum class ReduceOp { kSum, kMean, kMax };
constexpr int64_t kSumChunk = 4096;

void reduce_axis(ReduceOp op, const float* x, float* y, int64_t outer, int64_t R, int64_t inner);
float sum_all(const float* x, int64_t n);
// acc[c] += x[r, c] for r = 0..rows-1 in order (x: [rows, cols] contiguous): the row accumulation of
// the chunked column sums, shared with the kernels that sum a gradient's columns as they write it.
void add_rows_into(const float* x, int64_t rows, int64_t cols, float* acc);

namespace ref {
void reduce_axis(ReduceOp op, const float* x, float* y, int64_t outer, int64_t R, int64_t inner);
double sum_all(const float* x, int64_t n);
}  // namespace ref

}  // namespace attn::kernels
