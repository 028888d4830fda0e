// kernels/grad.cpp — see grad.h: the lookup and max backward (scalar loops threaded with parallel_for).
// The unary and norm backward kernels are SIMD, in cpu/grad_elementwise.cpp and cpu/norm_backward.cpp.
#include "kernels/grad.h"

#include <attn/threads.h>

#include <algorithm>

#include "kernels/colsum_chunks.h"
#include "kernels/reduce.h"

namespace attn::kernels {

void embedding_backward(const int64_t* ids, int64_t n, const float* g, int64_t V, int64_t C, float* dtable) {
  // Each thread owns a range of columns and walks every position in order: no races, fixed order.
  parallel_for(V * C == 0 ? 0 : C, 64, [&](int64_t c0, int64_t c1) {
    for (int64_t v = 0; v < V; ++v)
      for (int64_t c = c0; c < c1; ++c) dtable[v * C + c] = 0.0f;
    for (int64_t p = 0; p < n; ++p) {
      float* row = dtable + ids[p] * C;
      const float* gp = g + p * C;
      for (int64_t c = c0; c < c1; ++c) row[c] += gp[c];
    }
  });
}

void unary_backward_colsum(UnaryOp op, const float* x, const float* y, const float* g, float* dx, float* colsum,
                           int64_t rows, int64_t cols) {
  // A few rows at a time (about 8 KiB each), summed into the chunk's partial while still in L1.
  const int64_t per = std::max<int64_t>(1, 2048 / std::max<int64_t>(cols, 1));
  colsum_by_chunks(rows, cols, colsum, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t r = r0; r < r1; r += per) {
      const int64_t nr = std::min(per, r1 - r), off = r * cols;
      unary_backward(op, x ? x + off : nullptr, y ? y + off : nullptr, g + off, dx + off, nr * cols);
      add_rows_into(dx + off, nr, cols, acc);
    }
  });
}

void max_backward(const float* x, const float* g, float* dx, int64_t outer, int64_t R, int64_t inner) {
  parallel_for(outer, 1, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        int64_t best = 0;
        for (int64_t r = 1; r < R; ++r)
          if (x[(o * R + r) * inner + i] > x[(o * R + best) * inner + i]) best = r;
        for (int64_t r = 0; r < R; ++r) dx[(o * R + r) * inner + i] = r == best ? g[o * inner + i] : 0.0f;
      }
    }
  });
}

}  // namespace attn::kernels
