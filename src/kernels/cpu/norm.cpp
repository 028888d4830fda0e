// kernels/cpu/norm.cpp — SIMD LayerNorm and RMSNorm over rows (see kernels/norm.h).
//
// LayerNorm per row: (1) mean = Σx / C; (2) var = Σ(x - mean)² / C (centred second pass: accurate
// for rows with a large common offset); (3) y = (x - mean)·rstd·w + b. RMSNorm: (1) Σx²; (2) y =
// x·rstd·w. Threads over rows.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/norm.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/threads.h>

#include <cmath>

#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/norm.h"
#include "kernels/parallel_items.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

// Σ (x[i] - shift)^power over n elements, power 1 or 2 (tail lanes masked to 0).
template <int kPower>
HWY_INLINE float SumPow(DF d, const float* x, int64_t n, float shift) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vs = hn::Set(d, shift);
  VF s0 = hn::Zero(d), s1 = hn::Zero(d);
  auto term = [&](VF v) { return kPower == 1 ? hn::Sub(v, vs) : hn::Mul(hn::Sub(v, vs), hn::Sub(v, vs)); };
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    s0 = hn::Add(s0, term(hn::LoadU(d, x + i)));
    s1 = hn::Add(s1, term(hn::LoadU(d, x + i + N)));
  }
  for (; i < n; i += N) {
    const size_t c = static_cast<size_t>(std::min<int64_t>(N, n - i));
    s0 = hn::Add(s0, hn::IfThenElseZero(hn::FirstN(d, c), term(LoadTail(d, x + i, c))));
  }
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
}

// y = (x - shift)·scale·w + b; w, b may be null (1, 0).
HWY_INLINE void Affine(DF d, const float* x, const float* w, const float* b, float* y, int64_t n, float shift,
                       float scale) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vs = hn::Set(d, shift), vr = hn::Set(d, scale), one = hn::Set(d, 1.0f);
  for (int64_t i = 0; i < n; i += N) {
    const size_t c = static_cast<size_t>(std::min<int64_t>(N, n - i));
    const bool full = c == static_cast<size_t>(N);
    const VF vx = full ? hn::LoadU(d, x + i) : LoadTail(d, x + i, c);
    const VF vw = w ? (full ? hn::LoadU(d, w + i) : LoadTail(d, w + i, c)) : one;
    const VF vb = b ? (full ? hn::LoadU(d, b + i) : LoadTail(d, b + i, c)) : hn::Zero(d);
    const VF v = hn::MulAdd(hn::Mul(hn::Sub(vx, vs), vr), vw, vb);
    if (full)
      hn::StoreU(v, d, y + i);
    else
      StoreTail(v, d, y + i, c);
  }
}

void LayerNormRowsImpl(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                       int64_t rows, int64_t C, float eps) {
  parallel_items(rows, rows * C >= 8192, [&](int64_t r) {
    const DF d;
    const float* xr = x + r * C;
    const float m = SumPow<1>(d, xr, C, 0.0f) / static_cast<float>(C);
    const float var = SumPow<2>(d, xr, C, m) / static_cast<float>(C);
    const float rs = 1.0f / std::sqrt(var + eps);
    Affine(d, xr, w, b, y + r * C, C, m, rs);
    if (mean) mean[r] = m;
    if (rstd) rstd[r] = rs;
  });
}

void RmsNormRowsImpl(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t C, float eps) {
  parallel_items(rows, rows * C >= 8192, [&](int64_t r) {
    const DF d;
    const float* xr = x + r * C;
    const float ms = SumPow<2>(d, xr, C, 0.0f) / static_cast<float>(C);
    const float rs = 1.0f / std::sqrt(ms + eps);
    Affine(d, xr, w, nullptr, y + r * C, C, 0.0f, rs);
    if (rstd) rstd[r] = rs;
  });
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(LayerNormRowsImpl);
HWY_EXPORT(RmsNormRowsImpl);

void layer_norm_rows(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                     int64_t rows, int64_t C, float eps) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(LayerNormRowsImpl)(x, w, b, y, mean, rstd, rows, C, eps);
}
void rms_norm_rows(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t C, float eps) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(RmsNormRowsImpl)(x, w, y, rstd, rows, C, eps);
}
}  // namespace attn::kernels
#endif
