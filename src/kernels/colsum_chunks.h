// kernels/colsum_chunks.h — internal: the chunk structure of a thread-count-independent column sum,
// shared by reduce_axis's column sums, f32_to_bf16_colsum and the fused kernels that round a gradient
// to bf16 while summing its columns (kernels/bf16_fused.h), so that all of them give the same bits.
//
//   colsum_by_chunks(rows, cols, colsum, [&](int64_t r0, int64_t r1, float* acc) {
//     ...  // write rows [r0, r1) of the output and add each row into acc[cols], in row order
//   });
//
// Rows go in chunks of kColsumChunkRows; each chunk sums into its own f32 partial row (rows in
// order), and the partials are added in chunk order in double. The chunks run in parallel.
#pragma once

#include <attn/threads.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/parallel_items.h"

namespace attn::kernels {

inline constexpr int64_t kColsumChunkRows = 64;

template <class ChunkFn>
void colsum_by_chunks(int64_t rows, int64_t cols, float* colsum, const ChunkFn& chunk_fn) {
  if (rows <= 0 || cols <= 0) {
    for (int64_t c = 0; c < cols; ++c) colsum[c] = 0.0f;
    return;
  }
  const int64_t chunks = (rows + kColsumChunkRows - 1) / kColsumChunkRows;
  std::vector<float> partial(static_cast<size_t>(chunks * cols), 0.0f);
  parallel_items(chunks, rows * cols >= 65536, [&](int64_t ch) {
    const int64_t r0 = ch * kColsumChunkRows;
    chunk_fn(r0, std::min(rows, r0 + kColsumChunkRows), partial.data() + ch * cols);
  });
  parallel_items(cols, chunks * cols >= 65536, [&](int64_t c) {
    double s = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) s += partial[static_cast<size_t>(ch * cols + c)];
    colsum[c] = static_cast<float>(s);
  });
}

}  // namespace attn::kernels
