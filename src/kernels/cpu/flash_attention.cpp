// kernels/cpu/flash_attention.cpp — flash-style attention forward (see flash_attention.h).
//
// Per work item (b, h, query tile of up to kAttnTileRows rows):
//   1. Pack Q rows, pre-multiplied by scale. Scores stay in natural units (so that lse, and weights
//      recomputed from it, round exactly as the scores do); exp(x) is 2^(x·log2 e).
//   2. Work out each row's structural key band [lo, hi) (causal, window, padding). Key tiles outside
//      the union of the bands are never visited; tiles inside every row's band need no masking.
//   3. Per key tile: pack K transposed ([D, kAttnTileCols]) and V ([keys, Dp]), both cache resident.
//      Per block of kRows query rows: S = Q·Kᵀ by a register-blocked micro-kernel; logit terms and
//      boundary masks (overwrite with -inf, never add, so NaN in a masked K cannot survive); online
//      softmax (row max, one exp2 per score, one rescale factor per row and tile); O = O·alpha + P·V
//      by a second register-blocked micro-kernel.
//   4. out = O / l, lse = m + log l; a row that saw no key gives 0 and -inf.
// NaN/Inf in a V row that some rows of a tile may not see: P·V would compute 0·NaN, so that (rare)
// tile takes a path that skips zero probabilities (PvTileSafe).
#include "kernels/cpu/flash_attention.h"

#include <attn/threads.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/flash_attention.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/aligned_allocator.h>
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace attn::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Register blocking: kRows query rows x kVecs vectors of keys (scores) or of D (output).
#if HWY_MAX_BYTES >= 64
constexpr int kRows = 6, kVecs = 4;  // 24 accumulators of 32 zmm
#elif HWY_MAX_BYTES >= 16
constexpr int kRows = 6, kVecs = 2;  // 12 accumulators of 16 ymm/xmm
#else
constexpr int kRows = 4, kVecs = 2;
#endif

constexpr float kLog2e = 1.4426950408889634f;
constexpr int64_t kLd = kAttnTileCols;  // row stride of the score and Kᵀ tiles

// e^x = 2^(x·log2 e): a degree-6 fit of 2^f on [-0.5, 0.5] (rel. error 3e-9 before rounding) times
// 2^round. Results below 2^-126 (including x = -inf) are exactly 0; NaN stays NaN (Max keeps its
// second operand's NaN on x86).
HWY_INLINE VF FastExp(DF df, VF x_nat) {
  const hn::RebindToSigned<DF> di;
  const VF x = hn::Mul(x_nat, hn::Set(df, kLog2e));
  const VF xc = hn::Min(hn::Max(hn::Set(df, -126.0f), x), hn::Set(df, 127.0f));
  const VF n = hn::Round(xc);
  const VF f = hn::Sub(xc, n);
  VF r = hn::Set(df, 1.546973197708044e-4f);
  r = hn::MulAdd(r, f, hn::Set(df, 1.3400432165303034e-3f));
  r = hn::MulAdd(r, f, hn::Set(df, 9.61802560294306e-3f));
  r = hn::MulAdd(r, f, hn::Set(df, 5.550327214209352e-2f));
  r = hn::MulAdd(r, f, hn::Set(df, 0.24022651213595234f));
  r = hn::MulAdd(r, f, hn::Set(df, 0.6931472067106207f));
  r = hn::MulAdd(r, f, hn::Set(df, 0.9999999999595485f));
  const auto bits = hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n), hn::Set(di, 127)));
  return hn::IfThenZeroElse(hn::Lt(x, hn::Set(df, -126.0f)), hn::Mul(r, hn::BitCast(df, bits)));
}

// Per-thread scratch, allocated once per call and thread.
struct Workspace {
  int64_t dp = 0;                          // D rounded up to whole vectors
  hwy::AlignedFreeUniquePtr<float[]> q;    // [kAttnTileRows, D]
  hwy::AlignedFreeUniquePtr<float[]> kt;   // [D, kLd]
  hwy::AlignedFreeUniquePtr<float[]> v;    // [kAttnTileCols, dp]
  hwy::AlignedFreeUniquePtr<float[]> s;    // [kRows, kLd]
  hwy::AlignedFreeUniquePtr<float[]> o;    // [kAttnTileRows, dp]
  float m[kAttnTileRows], l[kAttnTileRows];
  int64_t lo[kAttnTileRows], hi[kAttnTileRows];

  explicit Workspace(int64_t D) {
    const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
    dp = (D + n - 1) / n * n;
    q = hwy::AllocateAligned<float>(kAttnTileRows * D);
    kt = hwy::AllocateAligned<float>(D * kLd);
    v = hwy::AllocateAligned<float>(kAttnTileCols * dp);
    s = hwy::AllocateAligned<float>(kRows * kLd);
    o = hwy::AllocateAligned<float>(kAttnTileRows * dp);
  }
};

// ---- packing ----

void PackQ(const AttentionParams& p, int64_t b, int64_t h, int64_t t0, int64_t rows, float qscale, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = p.q + b * p.q_stride[0] + h * p.q_stride[1] + (t0 + r) * p.q_stride[2];
    for (int64_t d = 0; d < p.D; ++d) dst[r * p.D + d] = src[d] * qscale;
  }
}

// Kᵀ tile: kt[d, c] = k[kb + c, d] for c < nk, zero up to ncp.
void PackK(const AttentionParams& p, int64_t b, int64_t hk, int64_t kb, int64_t nk, int64_t ncp, float* kt) {
  const float* src = p.k + b * p.k_stride[0] + hk * p.k_stride[1] + kb * p.k_stride[2];
  for (int64_t c = 0; c < nk; ++c)
    for (int64_t d = 0; d < p.D; ++d) kt[d * kLd + c] = src[c * p.k_stride[2] + d];
  for (int64_t d = 0; d < p.D; ++d)
    for (int64_t c = nk; c < ncp; ++c) kt[d * kLd + c] = 0.0f;
}

// V tile [nk, dp] (zero padded); returns whether every value is finite.
bool PackV(const AttentionParams& p, int64_t b, int64_t hk, int64_t kb, int64_t nk, int64_t dp, float* v) {
  const float* src = p.v + b * p.v_stride[0] + hk * p.v_stride[1] + kb * p.v_stride[2];
  for (int64_t c = 0; c < nk; ++c) {
    std::copy_n(src + c * p.v_stride[2], p.D, v + c * dp);
    std::fill(v + c * dp + p.D, v + (c + 1) * dp, 0.0f);
  }
  const DF df;
  const size_t n = hn::Lanes(df);
  VF acc = hn::Zero(df);  // x·0 is 0 for finite x and NaN for Inf/NaN
  for (int64_t i = 0; i < nk * dp; i += static_cast<int64_t>(n)) acc = hn::MulAdd(hn::Load(df, v + i), hn::Zero(df), acc);
  return hn::AllTrue(df, hn::Eq(acc, hn::Zero(df)));
}

// ---- micro-kernels ----

// s[R, NV·N] = q[R, D] · kt[D, NV·N] (columns of one register block).
template <int R, int NV>
HWY_INLINE void QkTile(const float* HWY_RESTRICT q, int64_t D, const float* HWY_RESTRICT kt, float* HWY_RESTRICT s) {
  const DF df;
  const size_t n = hn::Lanes(df);
  VF acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NV; ++c) acc[r][c] = hn::Zero(df);
  for (int64_t d = 0; d < D; ++d) {
    VF kv[NV];
    for (int c = 0; c < NV; ++c) kv[c] = hn::Load(df, kt + d * kLd + c * n);
    for (int r = 0; r < R; ++r) {
      const VF qb = hn::Set(df, q[r * D + d]);
      for (int c = 0; c < NV; ++c) acc[r][c] = hn::MulAdd(qb, kv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NV; ++c) hn::Store(acc[r][c], df, s + r * kLd + c * n);
}

// o[R, NV·N] = o · alpha[r] + p[R, nk] · v[nk, NV·N] (one register block of the output columns).
template <int R, int NV>
HWY_INLINE void PvTile(const float* HWY_RESTRICT pr, int64_t nk, const float* HWY_RESTRICT v, int64_t dp,
                       const float* alpha, float* HWY_RESTRICT o) {
  const DF df;
  const size_t n = hn::Lanes(df);
  VF acc[R][NV];
  for (int r = 0; r < R; ++r) {
    const VF a = hn::Set(df, alpha[r]);
    for (int c = 0; c < NV; ++c) acc[r][c] = hn::Mul(hn::Load(df, o + r * dp + c * n), a);
  }
  for (int64_t j = 0; j < nk; ++j) {
    VF vv[NV];
    for (int c = 0; c < NV; ++c) vv[c] = hn::Load(df, v + j * dp + c * n);
    for (int r = 0; r < R; ++r) {
      const VF pb = hn::Set(df, pr[r * kLd + j]);
      for (int c = 0; c < NV; ++c) acc[r][c] = hn::MulAdd(pb, vv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NV; ++c) hn::Store(acc[r][c], df, o + r * dp + c * n);
}

template <int R>
void QkRows(const float* q, int64_t D, const float* kt, int64_t ncp, float* s) {
  const int64_t step = kVecs * static_cast<int64_t>(hn::Lanes(DF()));
  for (int64_t c0 = 0; c0 < ncp; c0 += step) QkTile<R, kVecs>(q, D, kt + c0, s + c0);
}

template <int R, int NV>
void PvColumns(const float* pr, int64_t nk, const float* v, int64_t dp, const float* alpha, float* o, int64_t d0) {
  const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
  for (; d0 + NV * n <= dp; d0 += NV * n) PvTile<R, NV>(pr, nk, v + d0, dp, alpha, o + d0);
  if constexpr (NV > 1) {
    if (d0 < dp) PvColumns<R, NV - 1>(pr, nk, v, dp, alpha, o, d0);
  }
}

// P·V for rows whose V tile holds NaN/Inf: skip zero probabilities so masked keys contribute nothing.
void PvTileSafe(int R, const float* pr, int64_t nk, const float* v, int64_t dp, const float* alpha, float* o) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  for (int r = 0; r < R; ++r) {
    float* orow = o + r * dp;
    for (int64_t d = 0; d < dp; d += n) hn::Store(hn::Mul(hn::Load(df, orow + d), hn::Set(df, alpha[r])), df, orow + d);
    for (int64_t j = 0; j < nk; ++j) {
      const float pj = pr[r * kLd + j];
      if (pj == 0.0f) continue;
      for (int64_t d = 0; d < dp; d += n)
        hn::Store(hn::MulAdd(hn::Set(df, pj), hn::Load(df, v + j * dp + d), hn::Load(df, orow + d)), df, orow + d);
    }
  }
}

// ---- score rows ----

// Softcap, ALiBi and the additive mask for query row i over keys kb..kb+ncp.
void ApplyLogitTerms(const AttentionParams& p, int64_t b, int64_t h, int64_t i, int64_t kb, int64_t nk, int64_t ncp,
                     float* s) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const float cap = p.softcap, inv_cap = cap > 0.0f ? 1.0f / cap : 0.0f;
  const float slope = p.alibi_slopes != nullptr ? p.alibi_slopes[h] : 0.0f;
  const VF pos = hn::Set(df, static_cast<float>(i + p.offset - kb));
  for (int64_t c = 0; c < ncp; c += n) {
    VF x = hn::Load(df, s + c);
    if (cap > 0.0f) x = hn::Mul(hn::Set(df, cap), hn::Tanh(df, hn::Mul(x, hn::Set(df, inv_cap))));
    if (slope != 0.0f) {
      const VF dist = hn::Abs(hn::Sub(pos, hn::Add(hn::Iota(df, 0.0f), hn::Set(df, static_cast<float>(c)))));
      x = hn::NegMulAdd(hn::Set(df, slope), dist, x);
    }
    hn::Store(x, df, s + c);
  }
  if (p.mask != nullptr) {
    const float* mrow = p.mask + b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2];
    for (int64_t c = 0; c < nk; ++c) {
      const float a = mrow[(kb + c) * p.mask_stride[3]];
      s[c] = a == kNegInf ? kNegInf : s[c] + a;  // overwrite: a NaN score cannot survive
    }
  }
}

// Scores of rows r0..r0+R-1 of the tile against keys kb..kb+nk, masked with -inf
// outside each row's band (and in the padding columns up to ncp).
template <int R>
void ScoreRows(const AttentionParams& p, const Workspace& ws, int64_t b, int64_t h, int64_t t0, int64_t r0,
               int64_t kb, int64_t nk, int64_t ncp, bool full, float* s) {
  QkRows<R>(ws.q.get() + r0 * p.D, p.D, ws.kt.get(), ncp, s);
  const bool terms = attention_has_logit_terms(p);
  for (int r = 0; r < R; ++r) {
    float* sr = s + r * kLd;
    if (terms) ApplyLogitTerms(p, b, h, t0 + r0 + r, kb, nk, ncp, sr);
    const int64_t lo = full ? 0 : std::clamp<int64_t>(ws.lo[r0 + r] - kb, 0, nk);
    const int64_t hi = full ? nk : std::clamp<int64_t>(ws.hi[r0 + r] - kb, lo, nk);
    for (int64_t c = 0; c < lo; ++c) sr[c] = kNegInf;
    for (int64_t c = hi; c < ncp; ++c) sr[c] = kNegInf;
  }
}

// Online softmax of one score row in place: p = e^(s - m_new), l = l·alpha + Σp; returns alpha.
float SoftmaxRow(float* s, int64_t ncp, float* m, float* l) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  VF mx = hn::Set(df, kNegInf);
  for (int64_t c = 0; c < ncp; c += n) mx = hn::Max(mx, hn::Load(df, s + c));
  const float m_new = std::max(*m, hn::GetLane(hn::MaxOfLanes(df, mx)));
  const float m_use = m_new == kNegInf ? 0.0f : m_new;  // all masked so far: every p is 0
  const VF mv = hn::Set(df, m_use);
  VF sum = hn::Zero(df);
  for (int64_t c = 0; c < ncp; c += n) {
    const VF e = FastExp(df, hn::Sub(hn::Load(df, s + c), mv));
    sum = hn::Add(sum, e);
    hn::Store(e, df, s + c);
  }
  const float alpha = *m == kNegInf ? 0.0f : std::exp(*m - m_use);
  *l = *l * alpha + hn::GetLane(hn::SumOfLanes(df, sum));
  *m = m_new;
  return alpha;
}

struct TileCtx {
  int64_t b, h, t0, kb, nk, ncp;
  bool full;  // every row of the item sees every key of the tile
  bool safe;  // V tile holds NaN/Inf and some key may be masked for some row
};

// One block of R query rows against the current K/V tile: scores, softmax, output update.
template <int R>
void ForwardRows(const AttentionParams& p, Workspace& ws, const TileCtx& t, int64_t r0) {
  // Columns past the last key any of these rows sees are all masked: do not compute them.
  int64_t hi_max = 0;
  for (int r = 0; r < R; ++r) hi_max = std::max(hi_max, ws.hi[r0 + r]);
  const int64_t nk = t.full ? t.nk : std::min(t.nk, hi_max - t.kb);
  const int64_t step = kVecs * static_cast<int64_t>(hn::Lanes(DF()));
  const int64_t ncp = (nk + step - 1) / step * step;
  float* s = ws.s.get();
  ScoreRows<R>(p, ws, t.b, t.h, t.t0, r0, t.kb, nk, ncp, t.full, s);
  float alpha[R];
  for (int r = 0; r < R; ++r) {
    float* sr = s + r * kLd;
    alpha[r] = SoftmaxRow(sr, ncp, &ws.m[r0 + r], &ws.l[r0 + r]);
    if (p.dropout_p > 0.0f)
      for (int64_t c = 0; c < nk; ++c)
        if (sr[c] != 0.0f) sr[c] *= attention_dropout_scale(p, t.b, t.h, t.t0 + r0 + r, t.kb + c);
  }
  float* o = ws.o.get() + r0 * ws.dp;
  if (t.safe)
    PvTileSafe(R, s, nk, ws.v.get(), ws.dp, alpha, o);
  else
    PvColumns<R, kVecs>(s, nk, ws.v.get(), ws.dp, alpha, o, 0);
}

template <int R>
void ForwardRowsDispatch(int rows, const AttentionParams& p, Workspace& ws, const TileCtx& t, int64_t r0) {
  if constexpr (R > 1) {
    if (rows < R) return ForwardRowsDispatch<R - 1>(rows, p, ws, t, r0);
  }
  ForwardRows<R>(p, ws, t, r0);
}

// Bands of the item's rows; returns the union [kmin, kmax) and the intersection [full_lo, full_hi).
void ItemBands(const AttentionParams& p, Workspace& ws, int64_t b, int64_t t0, int64_t rows, int64_t* kmin,
               int64_t* kmax, int64_t* full_lo, int64_t* full_hi) {
  *kmin = p.S, *kmax = 0, *full_lo = 0, *full_hi = p.S;
  for (int64_t r = 0; r < rows; ++r) {
    attention_key_band(p, b, t0 + r, &ws.lo[r], &ws.hi[r]);
    if (ws.lo[r] < ws.hi[r]) *kmin = std::min(*kmin, ws.lo[r]), *kmax = std::max(*kmax, ws.hi[r]);
    *full_lo = std::max(*full_lo, ws.lo[r]);
    *full_hi = std::min(*full_hi, ws.hi[r]);
  }
}

// Returns whether row block [r0, r0+R) sees any key of [kb, kb+nk).
bool RowsSeeTile(const Workspace& ws, int64_t r0, int64_t R, int64_t kb, int64_t nk) {
  for (int64_t r = r0; r < r0 + R; ++r)
    if (ws.lo[r] < ws.hi[r] && ws.lo[r] < kb + nk && ws.hi[r] > kb) return true;
  return false;
}

void ForwardItem(const AttentionParams& p, Workspace& ws, int64_t b, int64_t h, int64_t t0, int64_t rows, float* out,
                 float* lse) {
  const int64_t hk = h / (p.H / p.Hkv);
  PackQ(p, b, h, t0, rows, p.scale, ws.q.get());
  std::fill(ws.o.get(), ws.o.get() + rows * ws.dp, 0.0f);
  std::fill(ws.m, ws.m + rows, kNegInf);
  std::fill(ws.l, ws.l + rows, 0.0f);
  int64_t kmin, kmax, full_lo, full_hi;
  ItemBands(p, ws, b, t0, rows, &kmin, &kmax, &full_lo, &full_hi);
  const int64_t step = kVecs * static_cast<int64_t>(hn::Lanes(DF()));
  for (int64_t kb = kmin; kb < kmax; kb += kAttnTileCols) {
    TileCtx t{b, h, t0, kb, std::min(kAttnTileCols, kmax - kb), 0, false, false};
    t.ncp = (t.nk + step - 1) / step * step;
    t.full = kb >= full_lo && kb + t.nk <= full_hi;
    PackK(p, b, hk, kb, t.nk, t.ncp, ws.kt.get());
    const bool finite = PackV(p, b, hk, kb, t.nk, ws.dp, ws.v.get());
    t.safe = !finite && (!t.full || p.mask != nullptr);
    for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
      const int R = static_cast<int>(std::min<int64_t>(kRows, rows - r0));
      if (RowsSeeTile(ws, r0, R, kb, t.nk)) ForwardRowsDispatch<kRows>(R, p, ws, t, r0);
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = t0 + r;
    float* dst = out + b * p.o_stride[0] + h * p.o_stride[1] + i * p.o_stride[2];
    const float l = ws.l[r], inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int64_t d = 0; d < p.D; ++d) dst[d] = ws.o[r * ws.dp + d] * inv;
    if (lse != nullptr) lse[(b * p.H + h) * p.T + i] = l > 0.0f ? ws.m[r] + std::log(l) : kNegInf;
  }
}

void ForwardImpl(const AttentionParams& p, float* out, float* lse) {
  if (p.B * p.H * p.T == 0) return;
  const int64_t n_tiles = (p.T + kAttnTileRows - 1) / kAttnTileRows;
  const int64_t bh = p.B * p.H;
  const int64_t n_items = bh * n_tiles;
  const int nt = static_cast<int>(std::min<int64_t>(attn::num_threads(), n_items));
#pragma omp parallel num_threads(nt)
  {
    Workspace ws(p.D);
    // Last query tiles first: under causal masking they are the heaviest (dynamic balance).
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < n_items; ++it) {
      const int64_t tile = n_tiles - 1 - it / bh, b = (it % bh) / p.H, h = it % p.H;
      const int64_t t0 = tile * kAttnTileRows;
      ForwardItem(p, ws, b, h, t0, std::min(kAttnTileRows, p.T - t0), out, lse);
    }
  }
}

// ---- weights from lse ----

template <int R>
void WeightRows(const AttentionParams& p, Workspace& ws, const TileCtx& t, int64_t r0, const float* lse_rows,
                float* w_rows, int64_t ld_w) {
  float* s = ws.s.get();
  ScoreRows<R>(p, ws, t.b, t.h, t.t0, r0, t.kb, t.nk, t.ncp, t.full, s);
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  for (int r = 0; r < R; ++r) {
    float* sr = s + r * kLd;
    if (lse_rows[r0 + r] == kNegInf) continue;  // fully masked row: stays zero
    const VF lv = hn::Set(df, lse_rows[r0 + r]);
    for (int64_t c = 0; c < t.ncp; c += n) hn::Store(FastExp(df, hn::Sub(hn::Load(df, sr + c), lv)), df, sr + c);
    std::copy_n(sr, t.nk, w_rows + (r0 + r) * ld_w + t.kb);
  }
}

template <int R>
void WeightRowsDispatch(int rows, const AttentionParams& p, Workspace& ws, const TileCtx& t, int64_t r0,
                        const float* lse_rows, float* w, int64_t ld_w) {
  if constexpr (R > 1) {
    if (rows < R) return WeightRowsDispatch<R - 1>(rows, p, ws, t, r0, lse_rows, w, ld_w);
  }
  WeightRows<R>(p, ws, t, r0, lse_rows, w, ld_w);
}

void WeightsImpl(const AttentionParams& p, const float* lse, const int64_t* heads, int64_t n_heads, float* weights) {
  const int64_t n_tiles = (p.T + kAttnTileRows - 1) / kAttnTileRows;
  const int64_t n_items = p.B * n_heads * n_tiles;
  if (n_items == 0) return;
  const int nt = static_cast<int>(std::min<int64_t>(attn::num_threads(), n_items));
  const int64_t step = kVecs * static_cast<int64_t>(hn::Lanes(DF()));
#pragma omp parallel num_threads(nt)
  {
    Workspace ws(p.D);
    float lse_rows[kAttnTileRows];
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < n_items; ++it) {
      const int64_t tile = it % n_tiles, bs = it / n_tiles, b = bs / n_heads, sel = bs % n_heads, h = heads[sel];
      const int64_t t0 = tile * kAttnTileRows, rows = std::min(kAttnTileRows, p.T - t0);
      float* w = weights + ((b * n_heads + sel) * p.T + t0) * p.S;
      std::fill(w, w + rows * p.S, 0.0f);
      PackQ(p, b, h, t0, rows, p.scale, ws.q.get());
      for (int64_t r = 0; r < rows; ++r) lse_rows[r] = lse[(b * p.H + h) * p.T + t0 + r];
      int64_t kmin, kmax, full_lo, full_hi;
      ItemBands(p, ws, b, t0, rows, &kmin, &kmax, &full_lo, &full_hi);
      for (int64_t kb = kmin; kb < kmax; kb += kAttnTileCols) {
        TileCtx t{b, h, t0, kb, std::min(kAttnTileCols, kmax - kb), 0, false, false};
        t.ncp = (t.nk + step - 1) / step * step;
        t.full = kb >= full_lo && kb + t.nk <= full_hi;
        PackK(p, b, h / (p.H / p.Hkv), kb, t.nk, t.ncp, ws.kt.get());
        for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
          const int R = static_cast<int>(std::min<int64_t>(kRows, rows - r0));
          WeightRowsDispatch<kRows>(R, p, ws, t, r0, lse_rows, w, p.S);
        }
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attn::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {

HWY_EXPORT(ForwardImpl);
HWY_EXPORT(WeightsImpl);

void attention_forward_flash(const AttentionParams& p, float* out, float* lse) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(ForwardImpl)(p, out, lse);
}

void attention_weights_flash(const AttentionParams& p, const float* lse, const int64_t* heads, int64_t n_heads,
                             float* weights) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(WeightsImpl)(p, lse, heads, n_heads, weights);
}

}  // namespace attn::kernels
#endif  // HWY_ONCE
