// kernels/bf16_fused.cpp — the fused bf16-writing element-wise kernels (see bf16_fused.h). Built from
// the SIMD kernels they fuse, called on stack-sized pieces (below those kernels' threading threshold,
// so they run on the calling thread), which is what makes the results bit-identical.
#include "kernels/bf16_fused.h"

#include <attn/threads.h>

#include <algorithm>

#include "kernels/colsum_chunks.h"
#include "kernels/convert.h"
#include "kernels/grad.h"
#include "kernels/parallel_items.h"

namespace attn::kernels {
namespace {
constexpr int64_t kPiece = 2048;  // floats per stack buffer (8 KiB: stays in L1)
constexpr int64_t kItem = 16384;  // elements per parallel work item of unary_to_bf16
}  // namespace

void unary_to_bf16(UnaryOp op, const float* x, uint16_t* y, int64_t n) {
  const int64_t items = (n + kItem - 1) / kItem;
  parallel_items(items, true, [&](int64_t it) {
    alignas(64) float buf[kPiece];
    for (int64_t b = it * kItem; b < std::min(n, (it + 1) * kItem); b += kPiece) {
      const int64_t m = std::min(kPiece, n - b);
      unary(op, x + b, buf, m);
      f32_to_bf16(buf, y + b, m);
    }
  });
}

void unary_backward_to_bf16_colsum(UnaryOp op, const float* x, const float* y, const float* g, uint16_t* dx,
                                   float* colsum, int64_t rows, int64_t cols) {
  // Pieces of whole rows when a row fits the buffer, else row segments (the column sums then add
  // each segment into its columns, still row after row).
  auto rows_to_bf16 = [&](int64_t r0, int64_t r1, float* acc) {
    alignas(64) float buf[kPiece];
    const int64_t per = std::max<int64_t>(1, kPiece / std::max<int64_t>(cols, 1));
    for (int64_t r = r0; r < r1; r += per) {
      const int64_t nr = std::min(per, r1 - r);
      for (int64_t c = 0; c < cols; c += kPiece) {
        const int64_t w = nr > 1 ? cols : std::min(kPiece, cols - c);  // whole rows, or one segment
        const int64_t off = r * cols + c;
        unary_backward(op, x ? x + off : nullptr, y ? y + off : nullptr, g + off, buf, nr * w);
        if (acc) {
          f32_to_bf16_accumulate_rows(buf, dx + off, acc + c, nr, w);
        } else {
          f32_to_bf16(buf, dx + off, nr * w);
        }
        if (nr > 1) break;
      }
    }
  };
  if (colsum) return colsum_by_chunks(rows, cols, colsum, rows_to_bf16);
  const int64_t items = (rows + kColsumChunkRows - 1) / kColsumChunkRows;
  parallel_items(items, rows * cols >= 65536, [&](int64_t it) {
    const int64_t r0 = it * kColsumChunkRows;
    rows_to_bf16(r0, std::min(rows, r0 + kColsumChunkRows), nullptr);
  });
}

}  // namespace attn::kernels
