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
// w[i..] or ones when there is no weight.
HWY_INLINE VF LoadWeight(DF d, const float* w, int64_t i, int64_t n) {
  return w ? Load(d, w, i, n) : hn::Set(d, 1.0f);
}

// Σ of the lanes in double, in lane order (deterministic for a given target).
HWY_INLINE double LaneSum(DF d, VF v) {
  alignas(64) float buf[HWY_MAX_BYTES / sizeof(float)];
  hn::Store(v, d, buf);
  double s = 0;
  for (size_t k = 0; k < hn::Lanes(d); ++k) s += buf[k];
  return s;
}

// One LayerNorm row; pw, pb (the chunk's partial rows) may be null.
HWY_INLINE void LayerNormBackwardRow(DF d, const float* x, const float* w, float mu, float rs, const float* g,
                                     float* dx, float* pw, float* pb, int64_t C) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vmu = hn::Set(d, mu), vrs = hn::Set(d, rs);
  VF sd = hn::Zero(d), sdx = hn::Zero(d);
  for (int64_t i = 0; i < C; i += N) {
    const VF vg = Load(d, g, i, C);
    const VF xhat = hn::Mul(hn::Sub(Load(d, x, i, C), vmu), vrs);
    const VF dd = hn::Mul(vg, LoadWeight(d, w, i, C));
    sd = hn::Add(sd, dd);
    sdx = hn::MulAdd(dd, xhat, sdx);
    if (pw) Store(d, hn::MulAdd(vg, xhat, Load(d, pw, i, C)), pw, i, C);
    if (pb) Store(d, hn::Add(vg, Load(d, pb, i, C)), pb, i, C);
  }
  const VF md = hn::Set(d, static_cast<float>(LaneSum(d, sd) / static_cast<double>(C)));
  const VF mdx = hn::Set(d, static_cast<float>(LaneSum(d, sdx) / static_cast<double>(C)));
  for (int64_t i = 0; i < C; i += N) {
    const VF xhat = hn::Mul(hn::Sub(Load(d, x, i, C), vmu), vrs);
    const VF dd = hn::Mul(Load(d, g, i, C), LoadWeight(d, w, i, C));
    Store(d, hn::Mul(vrs, hn::NegMulAdd(xhat, mdx, hn::Sub(dd, md))), dx, i, C);
  }
}

// One RMSNorm row; pw (the chunk's partial row) may be null.
HWY_INLINE void RmsNormBackwardRow(DF d, const float* x, const float* w, const float* g, float* dx, float* pw,
                                   int64_t C, float eps) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF ss = hn::Zero(d), dot = hn::Zero(d);
  for (int64_t i = 0; i < C; i += N) {
    const VF vx = Load(d, x, i, C);
    ss = hn::MulAdd(vx, vx, ss);
    dot = hn::MulAdd(hn::Mul(Load(d, g, i, C), LoadWeight(d, w, i, C)), vx, dot);
  }
  const double Cd = static_cast<double>(C);
  const float r = static_cast<float>(1.0 / std::sqrt(LaneSum(d, ss) / Cd + eps));
  const VF vr = hn::Set(d, r), vk = hn::Set(d, static_cast<float>(LaneSum(d, dot) / Cd) * r * r);
  for (int64_t i = 0; i < C; i += N) {
    const VF vx = Load(d, x, i, C), vg = Load(d, g, i, C);
    if (pw) Store(d, hn::MulAdd(hn::Mul(vg, vx), vr, Load(d, pw, i, C)), pw, i, C);
    Store(d, hn::Mul(vr, hn::NegMulAdd(vx, vk, hn::Mul(vg, LoadWeight(d, w, i, C)))), dx, i, C);
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
  std::vector<float> pw(dw ? static_cast<size_t>(chunks * C) : 0), pb(db ? static_cast<size_t>(chunks * C) : 0);
#pragma omp parallel for schedule(static) num_threads(attn::num_threads()) if (rows * C >= kParallelMin)
  for (int64_t ch = 0; ch < chunks; ++ch) {
    const DF d;
    float* pwc = dw ? &pw[static_cast<size_t>(ch * C)] : nullptr;
    float* pbc = db ? &pb[static_cast<size_t>(ch * C)] : nullptr;
    for (int64_t r = ch * kRowChunk; r < std::min(rows, (ch + 1) * kRowChunk); ++r)
      LayerNormBackwardRow(d, x + r * C, w, mean[r], rstd[r], g + r * C, dx + r * C, pwc, pbc, C);
  }
  if (dw) CombinePartials(pw, chunks, C, dw);
  if (db) CombinePartials(pb, chunks, C, db);
}

void RmsNormBackwardImpl(const float* x, const float* w, const float* g, float* dx, float* dw, int64_t rows,
                         int64_t C, float eps) {
  const int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<float> pw(dw ? static_cast<size_t>(chunks * C) : 0);
#pragma omp parallel for schedule(static) num_threads(attn::num_threads()) if (rows * C >= kParallelMin)
  for (int64_t ch = 0; ch < chunks; ++ch) {
    const DF d;
    float* pwc = dw ? &pw[static_cast<size_t>(ch * C)] : nullptr;
    for (int64_t r = ch * kRowChunk; r < std::min(rows, (ch + 1) * kRowChunk); ++r)
      RmsNormBackwardRow(d, x + r * C, w, g + r * C, dx + r * C, pwc, C, eps);
  }
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
