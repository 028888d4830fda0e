// kernels/cpu/flash_attention.cpp — flash-style attention forward (see flash_attention.h).
//
// Layout choice: everything runs TRANSPOSED, with SIMD lanes along the query rows of a tile. Scores are
// Sᵀ[key, row], the output accumulator is Oᵀ[d, row]; K and V are read in place (each element
// broadcast into an FMA), so no K/V tile is ever packed or transposed, and the softmax statistics
// (max, sum, rescale factor) are per-lane vectors — no horizontal reductions anywhere.
//
// Per work item (b, h, query tile of up to kAttnTileRows rows):
//   1. Pack Qᵀ [D, kAttnTileRows] pre-multiplied by scale (once per item, amortised over all keys).
//      Scores stay in natural units so lse, and weights recomputed from it, round as the scores do.
//   2. Work out each row's structural key band [lo, hi) (causal, window, padding). Key tiles outside
//      the union of the bands are never visited; tiles inside every row's band need no masking; on
//      the others (boundary tiles) a, c and d below run only on the keys each lane vector's rows see.
//   3. Per key tile of up to kAttnTileCols keys (K/V rows stay in L1/L2 while the tile is in use):
//      a. Sᵀ = K_tile · Qᵀ: register-blocked micro-kernel, kKeys keys x kVecs vectors of rows.
//      b. Logit terms and boundary masks, overwriting with -inf (never adding, so a NaN computed
//         from a masked K cannot survive).
//      c. Online softmax down each lane: new max, alpha = e^(m_old - m_new), p = e^(s - m_new),
//         l = l·alpha + Σp — one rescale factor per row and tile.
//      d. Oᵀ = Oᵀ·alpha + Vᵀ_tile · Pᵀ: register-blocked micro-kernel, kDims dims x kVecs vectors.
//   4. out = Oᵀᵀ / l, lse = m + log l; a row that saw no key gives 0 and -inf.
// NaN/Inf in a V row that some rows of a boundary tile may not see: V·P would compute NaN·0, so such
// a tile (found by a scan of boundary tiles only) takes an FMA that keeps the accumulator where p = 0.
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

#include "kernels/cpu/flash_exp-inl.h"
#include "kernels/cpu/flash_transpose-inl.h"
#include "kernels/cpu/philox-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Register blocking: kKeys keys (or kDims head dims) x kVecs vectors of query rows.
#if HWY_MAX_BYTES >= 64
constexpr int kKeys = 6, kDims = 6, kVecs = 4;  // 24 accumulators of 32 zmm; 64 rows per block
#elif HWY_MAX_BYTES >= 16
constexpr int kKeys = 6, kDims = 6, kVecs = 2;  // 12 accumulators of 16 ymm/xmm
#else
constexpr int kKeys = 4, kDims = 4, kVecs = 2;
#endif

constexpr int64_t kW = kAttnTileRows;  // row stride of the Qᵀ, Sᵀ and Oᵀ tiles (lanes = query rows)

// Per-thread scratch, allocated once per call and thread. Row-indexed arrays are kW long and
// vector-aligned; rows past the item's end are padding (zero Q, empty band).
struct Workspace {
  hwy::AlignedFreeUniquePtr<float[]> qt;  // [D, kW]
  hwy::AlignedFreeUniquePtr<float[]> st;  // [kAttnTileCols, kW]
  hwy::AlignedFreeUniquePtr<float[]> ot;  // [D, kW]
  hwy::AlignedFreeUniquePtr<float[]> rows;  // m, l, alpha, lo, hi, lse, colmax: 7 x [kW]
  float *m, *l, *alpha, *lo_f, *hi_f, *lse, *colmax;
  int64_t lo[kW], hi[kW];
  int64_t span_a[kW], span_z[kW];  // per lane vector: keys [a, z) of the tile that its rows see

  explicit Workspace(int64_t D) {
    qt = hwy::AllocateAligned<float>(D * kW);
    st = hwy::AllocateAligned<float>(kAttnTileCols * kW);
    ot = hwy::AllocateAligned<float>(D * kW);
    rows = hwy::AllocateAligned<float>(7 * kW);
    m = rows.get(), l = m + kW, alpha = l + kW, lo_f = alpha + kW, hi_f = lo_f + kW, lse = hi_f + kW;
    colmax = lse + kW;
  }
};

struct Item {
  int64_t b, h, hk, t0, rows;
  int64_t lanes;             // query lanes computed: kW, or one vector when rows fit in one
  int64_t kmin, kmax;        // union of the rows' bands
  int64_t full_lo, full_hi;  // intersection of the rows' bands
};

// ---- setup ----

// Qᵀ[d, r] = scale · q[t0 + r, d]; zero for padding rows. On AVX-512 with D % 16 == 0 by 16×16 blocks.
void PackQt(const AttentionParams& p, const Item& it, float* qt) {
  const float* q = p.q + it.b * p.q_stride[0] + it.h * p.q_stride[1] + it.t0 * p.q_stride[2];
#ifdef ATTN_FLASH_TRANSPOSE16
  if (p.D % 16 == 0) {
    const __m512 scale = _mm512_set1_ps(p.scale);
    for (int64_t r0 = 0; r0 < kW; r0 += 16)
      for (int64_t d0 = 0; d0 < p.D; d0 += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; ++i)
          r[i] = r0 + i < it.rows ? _mm512_mul_ps(_mm512_loadu_ps(q + (r0 + i) * p.q_stride[2] + d0), scale)
                                  : _mm512_setzero_ps();
        Transpose16(r);
        for (int i = 0; i < 16; ++i) _mm512_store_ps(qt + (d0 + i) * kW + r0, r[i]);
      }
    return;
  }
#endif
  std::fill(qt, qt + p.D * kW, 0.0f);
  for (int64_t r = 0; r < it.rows; ++r)
    for (int64_t d = 0; d < p.D; ++d) qt[d * kW + r] = q[r * p.q_stride[2] + d] * p.scale;
}

// Bands of the item's rows (padding rows get an empty band at 0).
void ItemBands(const AttentionParams& p, Workspace& ws, Item& it) {
  it.kmin = p.S, it.kmax = 0, it.full_lo = 0, it.full_hi = p.S;
  for (int64_t r = 0; r < kW; ++r) {
    if (r < it.rows) {
      attention_key_band(p, it.b, it.t0 + r, &ws.lo[r], &ws.hi[r]);
    } else {
      ws.lo[r] = ws.hi[r] = 0;
    }
    ws.lo_f[r] = static_cast<float>(ws.lo[r]);
    ws.hi_f[r] = static_cast<float>(ws.hi[r]);
    if (r >= it.rows) continue;
    if (ws.lo[r] < ws.hi[r]) it.kmin = std::min(it.kmin, ws.lo[r]), it.kmax = std::max(it.kmax, ws.hi[r]);
    it.full_lo = std::max(it.full_lo, ws.lo[r]);
    it.full_hi = std::min(it.full_hi, ws.hi[r]);
  }
}

// ---- micro-kernels ----

// Sᵀ[R keys, NV·N rows] = K[R keys, D] · Qᵀ[D, NV·N rows]; k rows are `ks` apart. When colmax is
// given, also folds the block into the running per-row maximum (saves the softmax a pass).
template <int R, int NV>
HWY_INLINE void QkBlock(const float* HWY_RESTRICT k, int64_t ks, int64_t D, const float* HWY_RESTRICT qt,
                        float* HWY_RESTRICT st, float* HWY_RESTRICT colmax) {
  const DF df;
  const size_t n = hn::Lanes(df);
  VF acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NV; ++c) acc[r][c] = hn::Zero(df);
  for (int64_t d = 0; d < D; ++d) {
    VF qv[NV];
    for (int c = 0; c < NV; ++c) qv[c] = hn::Load(df, qt + d * kW + c * n);
    for (int r = 0; r < R; ++r) {
      const VF kb = hn::Set(df, k[r * ks + d]);
      for (int c = 0; c < NV; ++c) acc[r][c] = hn::MulAdd(kb, qv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NV; ++c) hn::Store(acc[r][c], df, st + r * kW + c * n);
  if (colmax != nullptr) {
    for (int c = 0; c < NV; ++c) {
      VF mx = hn::Load(df, colmax + c * n);
      for (int r = 0; r < R; ++r) mx = hn::Max(mx, acc[r][c]);
      hn::Store(mx, df, colmax + c * n);
    }
  }
}

// Oᵀ[R dims, NV·N rows] = Oᵀ·alpha + V[nk, R dims]ᵀ · Pᵀ[nk, NV·N rows]; v rows are `vs` apart.
// kSafe: keep the accumulator where p == 0 (a NaN/Inf value must not meet a zero probability).
template <int R, int NV, bool kSafe>
HWY_INLINE void PvBlock(const float* HWY_RESTRICT v, int64_t vs, int64_t nk, const float* HWY_RESTRICT pt,
                        const float* HWY_RESTRICT alpha, float* HWY_RESTRICT ot) {
  const DF df;
  const size_t n = hn::Lanes(df);
  VF acc[R][NV];
  for (int c = 0; c < NV; ++c) {
    const VF a = hn::Load(df, alpha + c * n);
    for (int r = 0; r < R; ++r) acc[r][c] = hn::Mul(hn::Load(df, ot + r * kW + c * n), a);
  }
  for (int64_t j = 0; j < nk; ++j) {
    VF pv[NV];
    for (int c = 0; c < NV; ++c) pv[c] = hn::Load(df, pt + j * kW + c * n);
    for (int r = 0; r < R; ++r) {
      const VF vb = hn::Set(df, v[j * vs + r]);
      for (int c = 0; c < NV; ++c) {
        if constexpr (kSafe) {
          acc[r][c] = hn::IfThenElse(hn::Eq(pv[c], hn::Zero(df)), acc[r][c], hn::MulAdd(vb, pv[c], acc[r][c]));
        } else {
          acc[r][c] = hn::MulAdd(vb, pv[c], acc[r][c]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NV; ++c) hn::Store(acc[r][c], df, ot + r * kW + c * n);
}

// Sᵀ for keys [kb, kb+nk) against every row block of the item.
template <int R>
void QkRun(const AttentionParams& p, const Item& it, const float* qt, int64_t kb, int64_t nk, float* st,
           float* colmax) {
  const float* k = p.k + it.b * p.k_stride[0] + it.hk * p.k_stride[1];
  const int64_t ks = p.k_stride[2], n = static_cast<int64_t>(hn::Lanes(DF()));
  int64_t j = 0;
  for (; j + R <= nk; j += R) {
    const float* kr = k + (kb + j) * ks;
    if (it.lanes == kW) {
      for (int64_t c0 = 0; c0 < kW; c0 += kVecs * n)
        QkBlock<R, kVecs>(kr, ks, p.D, qt + c0, st + j * kW + c0, colmax ? colmax + c0 : nullptr);
    } else {  // few rows (decoding): one vector of lanes
      for (int64_t c0 = 0; c0 < it.lanes; c0 += n)
        QkBlock<R, 1>(kr, ks, p.D, qt + c0, st + j * kW + c0, colmax ? colmax + c0 : nullptr);
    }
  }
  if constexpr (R > 1) {
    if (j < nk) QkRun<R - 1>(p, it, qt, kb + j, nk - j, st + j * kW, colmax);
  }
}

template <int R, bool kSafe>
void PvRun(const AttentionParams& p, const Item& it, int64_t kb, int64_t nk, int64_t d0, const float* pt,
           const float* alpha, float* ot) {
  const float* v = p.v + it.b * p.v_stride[0] + it.hk * p.v_stride[1] + kb * p.v_stride[2];
  const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
  for (; d0 + R <= p.D; d0 += R) {
    if (it.lanes == kW) {
      for (int64_t c0 = 0; c0 < kW; c0 += kVecs * n)
        PvBlock<R, kVecs, kSafe>(v + d0, p.v_stride[2], nk, pt + c0, alpha + c0, ot + d0 * kW + c0);
    } else {
      for (int64_t c0 = 0; c0 < it.lanes; c0 += n)
        PvBlock<R, 1, kSafe>(v + d0, p.v_stride[2], nk, pt + c0, alpha + c0, ot + d0 * kW + c0);
    }
  }
  if constexpr (R > 1) {
    if (d0 < p.D) PvRun<R - 1, kSafe>(p, it, kb, nk, d0, pt, alpha, ot);
  }
}

// ---- boundary tiles: only the blocks some row sees ----
//
// On a tile that not every row sees whole (the causal diagonal), each lane vector c needs only the
// keys [span_a[c], span_z[c]) that its rows see (the hull of their bands). The keys between
// consecutive span ends form segments, each needed by a set of vectors; Sᵀ and Oᵀ += Vᵀ·Pᵀ run on
// (segment, run of up to kVecs such vectors) blocks — on the causal diagonal 10 of the 16 (key
// vector, lane vector) pairs with AVX-512, the exact triangle at vector granularity. Sᵀ entries
// outside a vector's span are never written nor read; inside it the masking pass sets -inf.

// Spans of the item's lane vectors on keys [kb, kb + nk); every vector gets [0, nk) when `whole`.
void SetSpans(Workspace& ws, const Item& it, int64_t kb, int64_t nk, bool whole) {
  const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
  for (int64_t c = 0; c * n < it.lanes; ++c) {
    int64_t a = whole ? 0 : nk, z = whole ? nk : 0;
    for (int64_t r = c * n; r < (c + 1) * n && !whole; ++r)
      if (ws.lo[r] < ws.hi[r] && ws.lo[r] < kb + nk && ws.hi[r] > kb)
        a = std::min(a, ws.lo[r] - kb), z = std::max(z, ws.hi[r] - kb);
    a = std::clamp<int64_t>(a, 0, nk);
    ws.span_a[c] = a, ws.span_z[c] = std::clamp<int64_t>(z, a, nk);
  }
}

// Calls fn(s, e, v0, nv) for keys [s, e) and lane vectors [v0, v0 + nv), nv <= kVecs: every
// (key, vector) pair inside the spans exactly once, keys ascending for each vector.
template <class Fn>
void ForSegments(const Workspace& ws, const Item& it, const Fn& fn) {
  const int64_t nvec = it.lanes / static_cast<int64_t>(hn::Lanes(DF()));
  int64_t cuts[2 * kW];
  int64_t nc = 0;
  for (int64_t c = 0; c < nvec; ++c)
    if (ws.span_a[c] < ws.span_z[c]) cuts[nc++] = ws.span_a[c], cuts[nc++] = ws.span_z[c];
  std::sort(cuts, cuts + nc);
  nc = std::unique(cuts, cuts + nc) - cuts;
  for (int64_t i = 0; i + 1 < nc; ++i) {
    const int64_t s = cuts[i], e = cuts[i + 1];
    const auto needs = [&](int64_t c) { return ws.span_a[c] <= s && e <= ws.span_z[c]; };
    for (int64_t c = 0; c < nvec;) {
      if (!needs(c)) {
        ++c;
        continue;
      }
      const int64_t v0 = c;
      while (c < nvec && c - v0 < kVecs && needs(c)) ++c;
      fn(s, e, v0, static_cast<int>(c - v0));
    }
  }
}

// Sᵀ for nk keys (rows of k) against NV vectors of lanes: kKeys at a time, then the remainder.
template <int R, int NV>
void QkKeys(const float* k, int64_t ks, int64_t D, int64_t nk, const float* qt, float* st) {
  int64_t j = 0;
  for (; j + R <= nk; j += R) QkBlock<R, NV>(k + j * ks, ks, D, qt, st + j * kW, nullptr);
  if constexpr (R > 1) {
    if (j < nk) QkKeys<R - 1, NV>(k + j * ks, ks, D, nk - j, qt, st + j * kW);
  }
}

template <int NV>
void QkSpan(int nv, const float* k, int64_t ks, int64_t D, int64_t nk, const float* qt, float* st) {
  if constexpr (NV > 1) {
    if (nv < NV) return QkSpan<NV - 1>(nv, k, ks, D, nk, qt, st);
  }
  QkKeys<kKeys, NV>(k, ks, D, nk, qt, st);
}

// Oᵀ += Vᵀ·Pᵀ for nk keys and NV vectors of lanes, all D dims (alpha folded in as in PvRun).
template <int R, int NV, bool kSafe>
void PvDims(const float* v, int64_t vs, int64_t D, int64_t d0, int64_t nk, const float* pt, const float* alpha,
            float* ot) {
  for (; d0 + R <= D; d0 += R) PvBlock<R, NV, kSafe>(v + d0, vs, nk, pt, alpha, ot + d0 * kW);
  if constexpr (R > 1) {
    if (d0 < D) PvDims<R - 1, NV, kSafe>(v, vs, D, d0, nk, pt, alpha, ot);
  }
}

template <int NV, bool kSafe>
void PvSpan(int nv, const float* v, int64_t vs, int64_t D, int64_t nk, const float* pt, const float* alpha,
            float* ot) {
  if constexpr (NV > 1) {
    if (nv < NV) return PvSpan<NV - 1, kSafe>(nv, v, vs, D, nk, pt, alpha, ot);
  }
  PvDims<kDims, NV, kSafe>(v, vs, D, 0, nk, pt, alpha, ot);
}

void QkSegments(const AttentionParams& p, const Workspace& ws, const Item& it, int64_t kb, float* st) {
  const float* k = p.k + it.b * p.k_stride[0] + it.hk * p.k_stride[1] + kb * p.k_stride[2];
  const int64_t ks = p.k_stride[2], n = static_cast<int64_t>(hn::Lanes(DF()));
  ForSegments(ws, it, [&](int64_t s, int64_t e, int64_t v0, int nv) {
    QkSpan<kVecs>(nv, k + s * ks, ks, p.D, e - s, ws.qt.get() + v0 * n, st + s * kW + v0 * n);
  });
}

// The alpha rescale is folded into a vector's first segment; later segments find alpha = 1 there.
template <bool kSafe>
void PvSegments(const AttentionParams& p, Workspace& ws, const Item& it, int64_t kb, const float* pt) {
  const float* v = p.v + it.b * p.v_stride[0] + it.hk * p.v_stride[1] + kb * p.v_stride[2];
  const int64_t vs = p.v_stride[2], n = static_cast<int64_t>(hn::Lanes(DF()));
  ForSegments(ws, it, [&](int64_t s, int64_t e, int64_t v0, int nv) {
    float* alpha = ws.alpha + v0 * n;
    PvSpan<kVecs, kSafe>(nv, v + s * vs, vs, p.D, e - s, pt + s * kW + v0 * n, alpha, ws.ot.get() + v0 * n);
    std::fill(alpha, alpha + nv * n, 1.0f);
  });
}

// ---- score tile ----

// Softcap, ALiBi and the additive mask on Sᵀ row j (key kb + j) across the item's lane vectors whose
// span holds j.
void ApplyLogitTerms(const AttentionParams& p, const Workspace& ws, const Item& it, int64_t kb, int64_t j,
                     float* srow) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const float cap = p.softcap, inv_cap = cap > 0.0f ? 1.0f / cap : 0.0f;
  const float slope = p.alibi_slopes != nullptr ? p.alibi_slopes[it.h] : 0.0f;
  const float key_minus_pos = static_cast<float>(kb + j - it.t0 - p.offset);  // |pos - key| = |r - this|
  const auto in_span = [&](int64_t c) { return ws.span_a[c / n] <= j && j < ws.span_z[c / n]; };
  for (int64_t c = 0; c < it.lanes; c += n) {
    if (!in_span(c)) continue;
    VF x = hn::Load(df, srow + c);
    if (cap > 0.0f) x = hn::Mul(hn::Set(df, cap), hn::Tanh(df, hn::Mul(x, hn::Set(df, inv_cap))));
    if (slope != 0.0f) {
      const VF r = hn::Add(hn::Iota(df, 0.0f), hn::Set(df, static_cast<float>(c)));
      x = hn::NegMulAdd(hn::Set(df, slope), hn::Abs(hn::Sub(r, hn::Set(df, key_minus_pos))), x);
    }
    hn::Store(x, df, srow + c);
  }
  if (p.mask != nullptr) {
    const float* mcol = p.mask + it.b * p.mask_stride[0] + it.h * p.mask_stride[1] + (kb + j) * p.mask_stride[3];
    for (int64_t r = 0; r < it.rows; ++r) {
      if (!in_span(r)) continue;
      const float a = mcol[(it.t0 + r) * p.mask_stride[2]];
      srow[r] = a == kNegInf ? kNegInf : srow[r] + a;  // overwrite: a NaN score cannot survive
    }
  }
}

// Sᵀ for keys [kb, kb+nk) inside the lane vectors' spans (ws.span_*, set by SetSpans): scores,
// logit terms, and -inf outside each row's band unless `full`. Returns whether ws.colmax holds the
// per-row maximum (only when the raw scores are final).
bool ScoreTile(const AttentionParams& p, Workspace& ws, const Item& it, int64_t kb, int64_t nk, bool full,
               float* st) {
  const bool terms = attention_has_logit_terms(p);
  const bool fused_max = full && !terms;
  if (fused_max) std::fill(ws.colmax, ws.colmax + kW, kNegInf);
  if (full) {
    QkRun<kKeys>(p, it, ws.qt.get(), kb, nk, st, fused_max ? ws.colmax : nullptr);
  } else {
    QkSegments(p, ws, it, kb, st);
  }
  if (terms)
    for (int64_t j = 0; j < nk; ++j) ApplyLogitTerms(p, ws, it, kb, j, st + j * kW);
  if (full) return fused_max;
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t c = 0; c < it.lanes; c += n) {
    const VF lo = hn::Load(df, ws.lo_f + c), hi = hn::Load(df, ws.hi_f + c);
    for (int64_t j = ws.span_a[c / n]; j < ws.span_z[c / n]; ++j) {
      const VF key = hn::Set(df, static_cast<float>(kb + j));
      float* s = st + j * kW + c;
      hn::Store(hn::IfThenElse(hn::Or(hn::Lt(key, lo), hn::Ge(key, hi)), hn::Set(df, kNegInf), hn::Load(df, s)), df, s);
    }
  }
  return fused_max;
}

// Online softmax down the lanes of Sᵀ (in place -> Pᵀ) over each lane vector's span; updates m, l
// and sets alpha. have_max: the tile's per-row maximum is already in ws.colmax. A vector whose rows
// see none of the tile's keys is left alone (as if alpha = 1; its Oᵀ is not touched either).
void SoftmaxTile(float* st, int64_t lanes, bool have_max, Workspace& ws) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const VF ninf = hn::Set(df, kNegInf), zero = hn::Zero(df);
  for (int64_t c = 0; c < lanes; c += n) {
    const int64_t j0 = ws.span_a[c / n], j1 = ws.span_z[c / n];
    if (j0 >= j1) continue;
    VF mx = ninf;
    if (have_max) {
      mx = hn::Load(df, ws.colmax + c);
    } else {
      for (int64_t j = j0; j < j1; ++j) mx = hn::Max(mx, hn::Load(df, st + j * kW + c));
    }
    const VF m_old = hn::Load(df, ws.m + c);
    const VF m_new = hn::Max(m_old, mx);
    const VF m_use = hn::IfThenElse(hn::Eq(m_new, ninf), zero, m_new);  // all masked so far: p = 0
    VF sum = zero;
    for (int64_t j = j0; j < j1; ++j) {
      const VF e = FastExp(df, hn::Sub(hn::Load(df, st + j * kW + c), m_use));
      sum = hn::Add(sum, e);
      hn::Store(e, df, st + j * kW + c);
    }
    const VF alpha = FastExp(df, hn::Sub(m_old, m_use));  // m_old = -inf gives 0
    hn::Store(alpha, df, ws.alpha + c);
    hn::Store(hn::MulAdd(hn::Load(df, ws.l + c), alpha, sum), df, ws.l + c);
    hn::Store(m_new, df, ws.m + c);
  }
}

// Whether V rows [kb, kb+nk) are all finite (no exponent field of all ones).
bool ValuesFinite(const AttentionParams& p, const Item& it, int64_t kb, int64_t nk) {
  const float* v = p.v + it.b * p.v_stride[0] + it.hk * p.v_stride[1];
  const DF df;
  const hn::RebindToUnsigned<DF> du;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const auto exp_mask = hn::Set(du, 0x7f800000u);
  auto bad = hn::Zero(du);
  bool bad_tail = false;
  for (int64_t j = kb; j < kb + nk; ++j) {
    const float* row = v + j * p.v_stride[2];
    int64_t d = 0;
    for (; d + n <= p.D; d += n) {
      const auto e = hn::And(hn::BitCast(du, hn::LoadU(df, row + d)), exp_mask);
      bad = hn::Or(bad, hn::VecFromMask(du, hn::Eq(e, exp_mask)));
    }
    for (; d < p.D; ++d) bad_tail |= !std::isfinite(row[d]);
  }
  return !bad_tail && hn::AllTrue(du, hn::Eq(bad, hn::Zero(du)));
}

void ForwardTile(const AttentionParams& p, Workspace& ws, const Item& it, int64_t kb, int64_t nk) {
  const bool full = kb >= it.full_lo && kb + nk <= it.full_hi;
  float* st = ws.st.get();
  SetSpans(ws, it, kb, nk, full);
  const bool have_max = ScoreTile(p, ws, it, kb, nk, full, st);
  SoftmaxTile(st, it.lanes, have_max, ws);
  if (p.dropout_p > 0.0f) {  // P ∘= Z, row by row (Z from cpu/philox-inl.h, the backward's draws)
    HWY_ALIGN float z[kAttnTileCols];
    const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
    for (int64_t r = 0; r < it.rows; ++r) {
      const int64_t j0 = ws.span_a[r / n], j1 = ws.span_z[r / n];
      if (j0 >= j1) continue;
      AttentionDropoutRow(p, it.b, it.h, it.t0 + r, kb + j0, j1 - j0, z);
      for (int64_t j = j0; j < j1; ++j) st[j * kW + r] *= z[j - j0];
    }
  }
  const bool safe = (!full || p.mask != nullptr) && !ValuesFinite(p, it, kb, nk);
  if (full) {
    if (safe) {
      PvRun<kDims, true>(p, it, kb, nk, 0, st, ws.alpha, ws.ot.get());
    } else {
      PvRun<kDims, false>(p, it, kb, nk, 0, st, ws.alpha, ws.ot.get());
    }
  } else if (safe) {
    PvSegments<true>(p, ws, it, kb, st);
  } else {
    PvSegments<false>(p, ws, it, kb, st);
  }
}

// out rows = (Oᵀ / l)ᵀ; 0 for rows that saw no key. On AVX-512 with D % 16 == 0 by 16×16 blocks.
void WriteOut(const AttentionParams& p, const Workspace& ws, const Item& it, float* out) {
  float* o = out + it.b * p.o_stride[0] + it.h * p.o_stride[1] + it.t0 * p.o_stride[2];
  HWY_ALIGN float inv[kW];
  for (int64_t r = 0; r < kW; ++r) inv[r] = ws.l[r] > 0.0f ? 1.0f / ws.l[r] : 0.0f;  // padding rows: l = 0
#ifdef ATTN_FLASH_TRANSPOSE16
  if (p.D % 16 == 0) {
    for (int64_t r0 = 0; r0 < it.rows; r0 += 16) {
      const __m512 iv = _mm512_load_ps(inv + r0);
      for (int64_t d0 = 0; d0 < p.D; d0 += 16) {
        __m512 v[16];
        for (int i = 0; i < 16; ++i) v[i] = _mm512_mul_ps(_mm512_load_ps(ws.ot.get() + (d0 + i) * kW + r0), iv);
        Transpose16(v);
        for (int64_t i = 0; i < std::min<int64_t>(16, it.rows - r0); ++i)
          _mm512_storeu_ps(o + (r0 + i) * p.o_stride[2] + d0, v[i]);
      }
    }
    return;
  }
#endif
  for (int64_t r = 0; r < it.rows; ++r)
    for (int64_t d = 0; d < p.D; ++d) o[r * p.o_stride[2] + d] = ws.ot[d * kW + r] * inv[r];
}

void ForwardItem(const AttentionParams& p, Workspace& ws, Item& it, float* out, float* lse) {
  PackQt(p, it, ws.qt.get());
  std::fill(ws.ot.get(), ws.ot.get() + p.D * kW, 0.0f);
  std::fill(ws.m, ws.m + kW, kNegInf);
  std::fill(ws.l, ws.l + kW, 0.0f);
  ItemBands(p, ws, it);
  for (int64_t kb = it.kmin; kb < it.kmax; kb += kAttnTileCols)
    ForwardTile(p, ws, it, kb, std::min(kAttnTileCols, it.kmax - kb));
  WriteOut(p, ws, it, out);
  for (int64_t r = 0; r < it.rows && lse != nullptr; ++r)
    lse[(it.b * p.H + it.h) * p.T + it.t0 + r] = ws.l[r] > 0.0f ? ws.m[r] + std::log(ws.l[r]) : kNegInf;
}

Item MakeItem(const AttentionParams& p, int64_t b, int64_t h, int64_t tile) {
  const int64_t t0 = tile * kAttnTileRows, rows = std::min(kAttnTileRows, p.T - t0);
  const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
  return Item{b, h, h / (p.H / p.Hkv), t0, rows, rows <= n ? n : kW, 0, 0, 0, 0};
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
    // The query tiles of one (b, h) one after another, so that its K/V rows are still in cache (the
    // items of one head read nested prefixes of them under causal masking), the last tiles first:
    // they are the heaviest (dynamic balance; the last items taken are a head's lightest).
#pragma omp for schedule(dynamic, 1)
    for (int64_t n = 0; n < n_items; ++n) {
      Item it = MakeItem(p, n / n_tiles / p.H, n / n_tiles % p.H, n_tiles - 1 - n % n_tiles);
      ForwardItem(p, ws, it, out, lse);
    }
  }
}

// ---- weights from lse ----

// w[r, kb + j] = e^(s - lse_r) for the item's rows; rows with lse = -inf stay 0.
void WeightsItem(const AttentionParams& p, Workspace& ws, Item& it, const float* lse, float* w) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  std::fill(w, w + it.rows * p.S, 0.0f);
  PackQt(p, it, ws.qt.get());
  ItemBands(p, ws, it);
  for (int64_t r = 0; r < kW; ++r) ws.lse[r] = r < it.rows ? lse[(it.b * p.H + it.h) * p.T + it.t0 + r] : 0.0f;
  float* st = ws.st.get();
  for (int64_t kb = it.kmin; kb < it.kmax; kb += kAttnTileCols) {
    const int64_t nk = std::min(kAttnTileCols, it.kmax - kb);
    SetSpans(ws, it, kb, nk, true);  // every entry below is read: all computed and masked
    ScoreTile(p, ws, it, kb, nk, kb >= it.full_lo && kb + nk <= it.full_hi, st);
    for (int64_t j = 0; j < nk; ++j)
      for (int64_t c = 0; c < it.lanes; c += n)
        hn::Store(FastExp(df, hn::Sub(hn::Load(df, st + j * kW + c), hn::Load(df, ws.lse + c))), df, st + j * kW + c);
    for (int64_t r = 0; r < it.rows; ++r)
      if (ws.lse[r] != kNegInf)
        for (int64_t j = 0; j < nk; ++j) w[r * p.S + kb + j] = st[j * kW + r];
  }
}

void WeightsImpl(const AttentionParams& p, const float* lse, const int64_t* heads, int64_t n_heads, float* weights) {
  const int64_t n_tiles = (p.T + kAttnTileRows - 1) / kAttnTileRows;
  const int64_t n_items = p.B * n_heads * n_tiles;
  if (n_items == 0) return;
  const int nt = static_cast<int>(std::min<int64_t>(attn::num_threads(), n_items));
#pragma omp parallel num_threads(nt)
  {
    Workspace ws(p.D);
#pragma omp for schedule(dynamic, 1)
    for (int64_t n = 0; n < n_items; ++n) {
      const int64_t tile = n % n_tiles, bs = n / n_tiles, b = bs / n_heads, sel = bs % n_heads;
      Item it = MakeItem(p, b, heads[sel], tile);
      WeightsItem(p, ws, it, lse, weights + ((b * n_heads + sel) * p.T + it.t0) * p.S);
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
