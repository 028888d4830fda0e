// kernels/cpu/norm_backward.cpp — SIMD backward of LayerNorm and RMSNorm over rows (see kernels/grad.h).
//
// Compiled once per Highway target. Rows are grouped in fixed chunks of kRowChunk; each chunk adds
// its rows' weight/bias gradients into its own partial row (rows in order), and the partials are
// summed in double in chunk order at the end, so dw/db do not depend on the thread count.
//
// LayerNorm, per row with xhat = (x - mean)·rstd and d = g·w:
//   1. Σ d and Σ d·xhat in f32 vector lanes (two sums, lanes then combined in double in lane order);
//      dw_partial += g·xhat, db_partial += g;
//   2. dx = rstd·(d - mean(d) - xhat·mean(d·xhat)).
// RMSNorm, per row (r = 1/sqrt(mean(x²) + eps), recomputed as the scalar kernel did):
//   1. Σ x² and Σ d·x in f32 lanes, combined in double;
//   2. dw_partial += g·x·r, dx = r·(d - x·r²·mean(d·x)).
// Tail lanes load zeros for g, so they add nothing to the sums and are never stored.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/norm_backward.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/threads.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/grad.h"
#include "kernels/parallel_items.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

constexpr int64_t kRowChunk = 64;        // rows per partial sum of dw/db
constexpr int64_t kParallelMin = 8192;  // below rows·C this small, one thread

// Lanes [i, i + N) of p, or the tail [i, n) with zeros beyond it.
HWY_INLINE VF Load(DF d, const float* p, int64_t i, int64_t n) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  return i + N <= n ? hn::LoadU(d, p + i) : LoadTail(d, p + i, static_cast<size_t>(n - i));
}
HWY_INLINE void Store(DF d, VF v, float* p, int64_t i, int64_t n) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  if (i + N <= n)
    hn::StoreU(v, d, p + i);
  else
    StoreTail(v, d, p + i, static_cast<size_t>(n - i));
}
// Σ of the f32 lanes in double: promoted to f64 lanes, added, then Highway's fixed-order lane
// reduction (deterministic for a given target; a serial scalar sum here cost ~1 cycle per element).
HWY_INLINE double LaneSum(DF d, VF v) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> dh;  // as many floats as dd has doubles
  alignas(64) float buf[HWY_MAX_BYTES / sizeof(float)];
  hn::Store(v, d, buf);
  auto acc = hn::PromoteTo(dd, hn::LoadU(dh, buf));
  for (size_t k = hn::Lanes(dd); k < hn::Lanes(d); k += hn::Lanes(dd))
    acc = hn::Add(acc, hn::PromoteTo(dd, hn::LoadU(dh, buf + k)));
  return hn::GetLane(hn::SumOfLanes(dd, acc));
}

// One LayerNorm row; w is never null (ones when the op has no weight), nor are pw, pb (the chunk's
// partial rows, accumulated even when not wanted: no branches in the loop, and the case is rare).
HWY_INLINE void LayerNormBackwardRow(DF d, const float* x, const float* w, float mu, float rs, const float* g,
                                     float* dx, float* pw, float* pb, int64_t C) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vmu = hn::Set(d, mu), vrs = hn::Set(d, rs);
  VF sd = hn::Zero(d), sdx = hn::Zero(d);
  for (int64_t i = 0; i < C; i += N) {
    const VF vg = Load(d, g, i, C);
    const VF xhat = hn::Mul(hn::Sub(Load(d, x, i, C), vmu), vrs);
    const VF dd = hn::Mul(vg, Load(d, w, i, C));
    sd = hn::Add(sd, dd);
    sdx = hn::MulAdd(dd, xhat, sdx);
    Store(d, hn::MulAdd(vg, xhat, Load(d, pw, i, C)), pw, i, C);
    Store(d, hn::Add(vg, Load(d, pb, i, C)), pb, i, C);
  }
  const VF md = hn::Set(d, static_cast<float>(LaneSum(d, sd) / static_cast<double>(C)));
  const VF mdx = hn::Set(d, static_cast<float>(LaneSum(d, sdx) / static_cast<double>(C)));
  for (int64_t i = 0; i < C; i += N) {
    const VF xhat = hn::Mul(hn::Sub(Load(d, x, i, C), vmu), vrs);
    const VF dd = hn::Mul(Load(d, g, i, C), Load(d, w, i, C));
    Store(d, hn::Mul(vrs, hn::NegMulAdd(xhat, mdx, hn::Sub(dd, md))), dx, i, C);
  }
}

// One RMSNorm row; w and pw as for LayerNorm.
HWY_INLINE void RmsNormBackwardRow(DF d, const float* x, const float* w, const float* g, float* dx, float* pw,
                                   int64_t C, float eps) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF ss = hn::Zero(d), dot = hn::Zero(d);
  for (int64_t i = 0; i < C; i += N) {
    const VF vx = Load(d, x, i, C);
    ss = hn::MulAdd(vx, vx, ss);
    dot = hn::MulAdd(hn::Mul(Load(d, g, i, C), Load(d, w, i, C)), vx, dot);
  }
  const double Cd = static_cast<double>(C);
  const float r = static_cast<float>(1.0 / std::sqrt(LaneSum(d, ss) / Cd + eps));
  const VF vr = hn::Set(d, r), vk = hn::Set(d, static_cast<float>(LaneSum(d, dot) / Cd) * r * r);
  for (int64_t i = 0; i < C; i += N) {
    const VF vx = Load(d, x, i, C), vg = Load(d, g, i, C);
    Store(d, hn::MulAdd(hn::Mul(vg, vx), vr, Load(d, pw, i, C)), pw, i, C);
    Store(d, hn::Mul(vr, hn::NegMulAdd(vx, vk, hn::Mul(vg, Load(d, w, i, C)))), dx, i, C);
  }
}

// Sums per-chunk partials [chunks, C] into out [C] in chunk order.
void CombinePartials(const std::vector<float>& partial, int64_t chunks, int64_t C, float* out) {
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t k = 0; k < chunks; ++k) s += partial[static_cast<size_t>(k * C + c)];
    out[c] = static_cast<float>(s);
  }
}

void LayerNormBackwardImpl(const float* x, const float* w, const float* mean, const float* rstd, const float* g,
                           float* dx, float* dw, float* db, int64_t rows, int64_t C) {
  const int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  const size_t size = static_cast<size_t>(chunks * C);
  std::vector<float> pw(size), pb(size), ones(w ? 0 : static_cast<size_t>(C), 1.0f);
  const float* wv = w ? w : ones.data();
  parallel_items(chunks, rows * C >= kParallelMin, [&](int64_t ch) {
    const DF d;
    float* pwc = &pw[static_cast<size_t>(ch * C)];
    float* pbc = &pb[static_cast<size_t>(ch * C)];
    for (int64_t r = ch * kRowChunk; r < std::min(rows, (ch + 1) * kRowChunk); ++r)
      LayerNormBackwardRow(d, x + r * C, wv, mean[r], rstd[r], g + r * C, dx + r * C, pwc, pbc, C);
  });
  if (dw) CombinePartials(pw, chunks, C, dw);
  if (db) CombinePartials(pb, chunks, C, db);
}

void RmsNormBackwardImpl(const float* x, const float* w, const float* g, float* dx, float* dw, int64_t rows,
                         int64_t C, float eps) {
  const int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<float> pw(static_cast<size_t>(chunks * C)), ones(w ? 0 : static_cast<size_t>(C), 1.0f);
  const float* wv = w ? w : ones.data();
  parallel_items(chunks, rows * C >= kParallelMin, [&](int64_t ch) {
    const DF d;
    float* pwc = &pw[static_cast<size_t>(ch * C)];
    for (int64_t r = ch * kRowChunk; r < std::min(rows, (ch + 1) * kRowChunk); ++r)
      RmsNormBackwardRow(d, x + r * C, wv, g + r * C, dx + r * C, pwc, C, eps);
  });
  if (dw) CombinePartials(pw, chunks, C, dw);
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(LayerNormBackwardImpl);
HWY_EXPORT(RmsNormBackwardImpl);

void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* g,
                         float* dx, float* dw, float* db, int64_t rows, int64_t C) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(LayerNormBackwardImpl)(x, w, mean, rstd, g, dx, dw, db, rows, C);
}
void rms_norm_backward(const float* x, const float* w, const float* g, float* dx, float* dw, int64_t rows, int64_t C,
                       float eps) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(RmsNormBackwardImpl)(x, w, g, dx, dw, rows, C, eps);
}
}  // namespace attn::kernels
#endif
