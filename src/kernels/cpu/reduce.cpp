// kernels/cpu/reduce.cpp — SIMD axis reductions and the deterministic global sum (kernels/reduce.h).
//
// reduce_axis over [outer, R, inner]: inner == 1 reduces each row along R with SIMD lanes. inner > 1:
// sums and means go through kernels/colsum_chunks.h (row chunks read in memory order, each summed
// row after row, partials added in chunk order in float64; a bias gradient is [rows, out] summed
// over rows); max walks R with SIMD across inner (one accumulator vector per block). Max tracks NaN
// in a mask so that NaN wins on every target. sum_all: fixed kSumChunk chunks, f32 SIMD partial per
// chunk, chunk partials added in chunk order in float64 — independent of the thread count.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/reduce.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/threads.h>

#include <cmath>
#include <vector>

#include "kernels/colsum_chunks.h"
#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_items.h"
#include "kernels/reduce.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

// Reduces x[0], x[step], ..., x[(R-1)·step] lane-wise for a block of `c` lanes (c <= Lanes).
HWY_INLINE VF ReduceStrided(DF d, ReduceOp op, const float* x, int64_t R, int64_t step, size_t c) {
  const bool full = c == hn::Lanes(d);
  const bool is_max = op == ReduceOp::kMax;
  VF acc = hn::Set(d, is_max ? -HUGE_VALF : 0.0f);
  auto nan = hn::FirstN(d, 0);
  for (int64_t r = 0; r < R; ++r) {
    const VF v = full ? hn::LoadU(d, x + r * step) : LoadTail(d, x + r * step, c);
    if (is_max) {
      acc = hn::Max(acc, v);
      nan = hn::Or(nan, hn::IsNaN(v));
    } else {
      acc = hn::Add(acc, v);
    }
  }
  return hn::IfThenElse(nan, hn::Set(d, NAN), acc);
}

// Reduces one contiguous row of R elements.
HWY_INLINE float ReduceRow(DF d, ReduceOp op, const float* x, int64_t R) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const bool is_max = op == ReduceOp::kMax;
  const float init = is_max ? -HUGE_VALF : 0.0f;
  VF a0 = hn::Set(d, init), a1 = hn::Set(d, init);
  auto nan = hn::FirstN(d, 0);
  int64_t i = 0;
  for (; i + 2 * N <= R; i += 2 * N) {
    const VF v0 = hn::LoadU(d, x + i), v1 = hn::LoadU(d, x + i + N);
    if (is_max) {
      a0 = hn::Max(a0, v0), a1 = hn::Max(a1, v1);
      nan = hn::Or(nan, hn::Or(hn::IsNaN(v0), hn::IsNaN(v1)));
    } else {
      a0 = hn::Add(a0, v0), a1 = hn::Add(a1, v1);
    }
  }
  for (; i < R; i += N) {
    const size_t c = static_cast<size_t>(std::min<int64_t>(N, R - i));
    const VF v = LoadTail(d, x + i, c, init);
    if (is_max) {
      a0 = hn::Max(a0, v);
      nan = hn::Or(nan, hn::IsNaN(v));
    } else {
      a0 = hn::Add(a0, v);
    }
  }
  if (is_max) return hn::AllFalse(d, nan) ? hn::GetLane(hn::MaxOfLanes(d, hn::Max(a0, a1))) : NAN;
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
}

void AddRowsIntoImpl(const float* x, int64_t rows, int64_t cols, float* acc) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    int64_t i = 0;
    for (; i + N <= cols; i += N) hn::StoreU(hn::Add(hn::LoadU(d, acc + i), hn::LoadU(d, row + i)), d, acc + i);
    for (; i < cols; ++i) acc[i] += row[i];
  }
}

void ReduceAxisImpl(ReduceOp op, const float* x, float* y, int64_t outer, int64_t R, int64_t inner) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const float scale = op == ReduceOp::kMean ? (R > 0 ? 1.0f / static_cast<float>(R) : NAN) : 1.0f;
  if (inner == 1) {
    parallel_items(outer, outer * R >= 16384, [&](int64_t o) { y[o] = ReduceRow(DF(), op, x + o * R, R) * scale; });
    return;
  }
  if (op != ReduceOp::kMax) {  // inner > 1: column sums
    for (int64_t o = 0; o < outer; ++o) {
      const float* xo = x + o * R * inner;
      float* yo = y + o * inner;
      colsum_by_chunks(R, inner, yo, [&](int64_t r0, int64_t r1, float* acc) {
        AddRowsIntoImpl(xo + r0 * inner, r1 - r0, inner, acc);
      });
      if (scale != 1.0f)
        for (int64_t i = 0; i < inner; ++i) yo[i] *= scale;
    }
    return;
  }
  const int64_t blocks = (inner + N - 1) / N;
  parallel_items(outer * blocks, outer * R * inner >= 16384, [&](int64_t it) {
    const int64_t o = it / blocks, i = (it % blocks) * N;
    const size_t c = static_cast<size_t>(std::min<int64_t>(N, inner - i));
    const VF v = hn::Mul(ReduceStrided(DF(), op, x + o * R * inner + i, R, inner, c), hn::Set(DF(), scale));
    StoreTail(v, DF(), y + o * inner + i, c);
  });
}

void SumAllImpl(const float* x, int64_t n, double* chunk_sums) {
  const int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
  parallel_items(chunks, n >= 4 * kSumChunk, [&](int64_t c) {
    const int64_t b = c * kSumChunk;
    chunk_sums[c] = ReduceRow(DF(), ReduceOp::kSum, x + b, std::min(kSumChunk, n - b));
  });
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(ReduceAxisImpl);
HWY_EXPORT(SumAllImpl);
HWY_EXPORT(AddRowsIntoImpl);

void add_rows_into(const float* x, int64_t rows, int64_t cols, float* acc) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(AddRowsIntoImpl)(x, rows, cols, acc);
}

void reduce_axis(ReduceOp op, const float* x, float* y, int64_t outer, int64_t R, int64_t inner) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(ReduceAxisImpl)(op, x, y, outer, R, inner);
}

float sum_all(const float* x, int64_t n) {
  select_cpu_target();
  std::vector<double> chunk_sums(static_cast<size_t>((n + kSumChunk - 1) / kSumChunk));
  HWY_DYNAMIC_DISPATCH(SumAllImpl)(x, n, chunk_sums.data());
  double s = 0;
  for (double c : chunk_sums) s += c;  // chunk order: the result does not depend on the thread count
  return static_cast<float>(s);
}
}  // namespace attn::kernels
#endif
