// kernels/cpu/softmax.cpp — SIMD softmax / log-softmax over rows (see kernels/softmax.h).
//
// Per row, three passes: (1) the row max m (vector max, -inf-filled tail); (2) e = exp(x - m) and
// its sum s — softmax stores e into y on the way; (3) softmax scales y by 1/s, log-softmax writes
// (x - m) - log s. A row whose max is -inf (all -inf) is written as zeros / -inf directly.
// Threads over rows.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/softmax.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/threads.h>

#include <cmath>

#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_items.h"
#include "kernels/softmax.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

HWY_INLINE float RowMax(DF d, const float* x, int64_t n) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF m = hn::Set(d, -HUGE_VALF);
  int64_t i = 0;
  for (; i + N <= n; i += N) m = hn::Max(m, hn::LoadU(d, x + i));
  if (i < n) m = hn::Max(m, LoadTail(d, x + i, n - i, -HUGE_VALF));
  return hn::GetLane(hn::MaxOfLanes(d, m));
}

// exp(t) for t = x - max <= 0, except that NaN stays NaN (Highway's Exp maps NaN to 0).
HWY_INLINE VF ExpShifted(DF d, VF t) { return hn::IfThenElse(hn::IsNaN(t), t, ExpNonPositive(d, t)); }

// Sum of exp(x - m); stores the exps into y when y != nullptr.
HWY_INLINE float SumExp(DF d, const float* x, float* y, int64_t n, float m) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vm = hn::Set(d, m);
  VF s0 = hn::Zero(d), s1 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const VF e0 = ExpShifted(d, hn::Sub(hn::LoadU(d, x + i), vm));
    const VF e1 = ExpShifted(d, hn::Sub(hn::LoadU(d, x + i + N), vm));
    if (y) hn::StoreU(e0, d, y + i), hn::StoreU(e1, d, y + i + N);
    s0 = hn::Add(s0, e0);
    s1 = hn::Add(s1, e1);
  }
  for (; i < n; i += N) {
    const size_t c = static_cast<size_t>(std::min<int64_t>(N, n - i));
    const VF e = hn::IfThenElseZero(hn::FirstN(d, c), ExpShifted(d, hn::Sub(LoadTail(d, x + i, c), vm)));
    if (y) StoreTail(e, d, y + i, c);
    s0 = hn::Add(s0, e);
  }
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
}

// y[i] = x[i] * a + b over n elements.
HWY_INLINE void ScaleShift(DF d, const float* x, float* y, int64_t n, float a, float b) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF va = hn::Set(d, a), vb = hn::Set(d, b);
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::MulAdd(hn::LoadU(d, x + i), va, vb), d, y + i);
  if (i < n) StoreTail(hn::MulAdd(LoadTail(d, x + i, n - i), va, vb), d, y + i, n - i);
}

// y[i] = (x[i] - m) - l over n elements.
HWY_INLINE void ShiftTwice(DF d, const float* x, float* y, int64_t n, float m, float l) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vm = hn::Set(d, m), vl = hn::Set(d, l);
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d, x + i), vm), vl), d, y + i);
  if (i < n) StoreTail(hn::Sub(hn::Sub(LoadTail(d, x + i, n - i), vm), vl), d, y + i, n - i);
}

void SoftmaxRowsImpl(const float* x, float* y, int64_t rows, int64_t n) {
  parallel_items(rows, rows * n >= 8192, [&](int64_t r) {
    const DF d;
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const float m = RowMax(d, xr, n);
    if (m == -HUGE_VALF) {
      for (int64_t i = 0; i < n; ++i) yr[i] = 0.0f;
      return;
    }
    const float s = SumExp(d, xr, yr, n, m);
    ScaleShift(d, yr, yr, n, 1.0f / s, 0.0f);
  });
}

void LogSoftmaxRowsImpl(const float* x, float* y, int64_t rows, int64_t n) {
  parallel_items(rows, rows * n >= 8192, [&](int64_t r) {
    const DF d;
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const float m = RowMax(d, xr, n);
    if (m == -HUGE_VALF) {
      for (int64_t i = 0; i < n; ++i) yr[i] = -HUGE_VALF;
      return;
    }
    const float s = SumExp(d, xr, nullptr, n, m);
    // (x - m) - log s rather than x - (m + log s): with |m| ~ 1e4 the sum m + log s would round
    // away most of log s.
    ShiftTwice(d, xr, yr, n, m, std::log(s));
  });
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(SoftmaxRowsImpl);
HWY_EXPORT(LogSoftmaxRowsImpl);

void softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(SoftmaxRowsImpl)(x, y, rows, n);
}
void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(LogSoftmaxRowsImpl)(x, y, rows, n);
}
}  // namespace attn::kernels
#endif
