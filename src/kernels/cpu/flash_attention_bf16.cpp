// kernels/cpu/flash_attention_bf16.cpp — the flash forward with bf16 products (see
// flash_attention_bf16.h), the scope check, and the K/V tile packing shared with the backward.
//
// Layout as the f32 forward's: everything transposed, SIMD lanes along the query rows of an item,
// so the online softmax is per-lane vector work with no horizontal reductions.
// Per work item (b, h, query tile of up to kTile rows):
//   1. Pack Qsᵀ = bf16(scale·q)ᵀ [D/2, rows] (pairs along D; 16×16 transposes); the rows' bands.
//   2. Per key tile (K and V packed once per call by PackKv) meeting the union of the bands, over
//      the tile's keys [j0, j1) that some row sees:
//      a. Sᵀ = K·Qsᵀ — K rows broadcast as pairs. Per element this is the chain of vdpbf16ps the
//         backward's S = Qs·Kᵀ runs (same bf16 pairs, ascending, a and b swapped: each lane adds
//         a.hi·b.hi + a.lo·b.lo, exact products), so the backward's S equals this bit for bit;
//      b. -inf outside each row's band (boundary tiles only);
//      c. online softmax down each lane: m_new, alpha = e^(m - m_new), p = e^(s - m_new) (f32),
//         l = l·alpha + Σp (the f32 p);
//      d. Pᵀ (∘ Zᵀ, the dropout multipliers, when dropout is on) rounded to bf16 as key pairs as it is
//         exponentiated;
//      e. Oᵀ = Oᵀ·alpha + Vᵀ·Pᵀ — V broadcast as key pairs (PackKv's vr); the rescale is folded into
//         the micro-kernel's accumulator load. A lane vector whose rows see none of the tile's keys
//         is skipped: its alpha is 1 (or its Oᵀ still 0).
//   3. out = (Oᵀ / l)ᵀ, lse = m + log l; rows that saw no key give 0 and -inf.
#include "kernels/cpu/flash_attention_bf16.h"

#include <attn/threads.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "kernels/cpu/flash_bf16-inl.h"
#include "kernels/dispatch.h"

namespace attn::kernels {
namespace bf16 {

constexpr float kNegInfF = -std::numeric_limits<float>::infinity();

// In place 16×16 transpose of u32: r[i] lane c -> r[c] lane i. unpack 32 and 64 gather column
// 4k+e of 4 rows into 128-bit lane k; the 4×4 transpose of 128-bit lanes (shuffle_i32x4) finishes.
ATTN_BF16 void Transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int m = 0; m < 8; ++m) {
    t[2 * m] = _mm512_unpacklo_epi32(r[2 * m], r[2 * m + 1]);
    t[2 * m + 1] = _mm512_unpackhi_epi32(r[2 * m], r[2 * m + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // u[4g + e] lane k = column 4k+e of rows 4g..4g+3
    u[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int e = 0; e < 4; ++e) {  // r[4k + e] = lanes k of u[e], u[4+e], u[8+e], u[12+e]
    const __m512i x0 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0x44), x1 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0xEE);
    const __m512i y0 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0x44);
    const __m512i y1 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0xEE);
    r[e] = _mm512_shuffle_i32x4(x0, y0, 0x88), r[4 + e] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
    r[8 + e] = _mm512_shuffle_i32x4(x1, y1, 0x88), r[12 + e] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
  }
}

ATTN_BF16 bool PackTile(const float* src, int64_t rs, int64_t nv, int64_t D, PackScratch& sc, uint32_t* b_out,
                        uint32_t* t_out, uint32_t* r_out) {
  const auto row = [&](int64_t j) { return j < nv ? src + j * rs : sc.zero_row.data(); };
  __mmask16 bad = 0;
  for (int64_t j = 0; j < nv; ++j)
    for (int64_t c = 0; c < D; c += 16) bad |= _mm512_fpclass_ps_mask(_mm512_loadu_ps(src + j * rs + c), 0x99);
  const int64_t d2 = D / 2, ld = (d2 + 15) / 16 * 16;
  if (b_out != nullptr)  // [kTile, D/2]: the rows
    for (int64_t j = 0; j < kTile; ++j) ToBf16(row(j), D, reinterpret_cast<uint16_t*>(b_out + j * d2));
  if (t_out != nullptr) {  // [D/2, kTile]: 16 keys at a time, converted, then transposed 16 pairs at a time
    for (int64_t j0 = 0; j0 < kTile; j0 += 16) {
      for (int64_t i = 0; i < 16; ++i) ToBf16(row(j0 + i), D, reinterpret_cast<uint16_t*>(sc.rows_bf.data() + i * ld));
      for (int64_t c0 = 0; c0 < d2; c0 += 16) {
        __m512i r[16];
        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(sc.rows_bf.data() + i * ld + c0);
        Transpose16(r);
        for (int64_t i = 0; i < std::min<int64_t>(16, d2 - c0); ++i) _mm512_storeu_si512(t_out + (c0 + i) * kTile + j0, r[i]);
      }
    }
  }
  if (r_out != nullptr)  // [kTile/2, D]: rows 2·j2 and 2·j2+1 interleaved
    for (int64_t j2 = 0; j2 < kTile / 2; ++j2) Interleave(row(2 * j2), row(2 * j2 + 1), D, r_out + j2 * D);
  return bad == 0;
}

namespace {

// The forward's K/V, packed once per call (every tile is used by all the query tiles of its heads):
// kb and vr layouts, [B, Hkv, n_tiles] tiles of kTile·D/2 pairs each.
struct PackedKv {
  int64_t n_tiles = 0, per = 0;
  HostBuffer<uint32_t> kb, vr;
  int64_t Offset(int64_t b, int64_t hk, int64_t Hkv, int64_t tile) const { return ((b * Hkv + hk) * n_tiles + tile) * per; }
};

// False when a K or V value some query may see is NaN/Inf, or when out of memory.
bool PackKv(const AttentionParams& p, PackedKv* kv) {
  kv->n_tiles = (p.S + kTile - 1) / kTile, kv->per = kTile * p.D / 2;
  const int64_t nt = kv->n_tiles, n = p.B * p.Hkv * nt;
  kv->kb = HostBuffer<uint32_t>(n * kv->per), kv->vr = HostBuffer<uint32_t>(n * kv->per);  // all written below
  if (!kv->kb.ok() || !kv->vr.ok()) return false;
  int ok = 1;
#pragma omp parallel num_threads(static_cast<int>(std::min<int64_t>(attn::num_threads(), n))) reduction(& : ok)
  {
    PackScratch sc(p.D);
#pragma omp for schedule(static)
    for (int64_t it = 0; it < n; ++it) {
      const int64_t b = it / (p.Hkv * nt), hk = (it / nt) % p.Hkv, t = it % nt;
      const int64_t visible = p.key_lengths != nullptr ? std::clamp<int64_t>(p.key_lengths[b], 0, p.S) : p.S;
      const int64_t nv = std::clamp<int64_t>(visible - t * kTile, 0, kTile);
      const float* k = p.k + b * p.k_stride[0] + hk * p.k_stride[1] + t * kTile * p.k_stride[2];
      const float* v = p.v + b * p.v_stride[0] + hk * p.v_stride[1] + t * kTile * p.v_stride[2];
      ok &= PackTile(k, p.k_stride[2], nv, p.D, sc, kv->kb.get() + it * kv->per, nullptr, nullptr);
      ok &= PackTile(v, p.v_stride[2], nv, p.D, sc, nullptr, nullptr, kv->vr.get() + it * kv->per);
    }
  }
  return ok != 0;
}

constexpr int64_t kW = kTile;  // lanes of the transposed tiles: the item's query rows

// Per-thread scratch. bf16 buffers are u32 pairs, so that the micro-kernel's scalar reads of pairs
// read u32 storage (they are written through the intrinsics' may-alias vector stores).
struct FwdWorkspace {
  int64_t ld;                   // D/2 rounded up to 16
  std::vector<uint32_t> qt;     // [D/2, kW]: Qsᵀ, pairs along D
  std::vector<uint32_t> rows;   // [16, ld]: 16 Qs rows on their way into qt (zero padded)
  std::vector<float> st;        // [kTile, kW]: Sᵀ
  std::vector<uint32_t> pt;     // [kTile/2, kW]: Pᵀ as key pairs (bf16)
  std::vector<float> ot;        // [D, kW]: Oᵀ
  std::vector<float> zt;        // [kTile, kW]: dropout multipliers Zᵀ of the tile (dropout only)
  std::vector<float> zrows;     // [kW, kTile]: the same as drawn, row by row
  float m[kW], l[kW], alpha[kW], colmax[kW];
  int32_t lo[kW], hi[kW];       // bands; empty (0, 0) for padding lanes
  explicit FwdWorkspace(int64_t D)
      : ld((D / 2 + 15) / 16 * 16), qt(D / 2 * kW), rows(16 * ld, 0u), st(kTile * kW), pt(kTile / 2 * kW),
        ot(D * kW), zt(kTile * kW, 0.0f), zrows(kW * kTile, 0.0f) {}
};

struct FwdItem {
  int64_t b, h, hk, t0, rows;
  int64_t nl;                // lanes computed: rows rounded up to 16
  int64_t kmin, kmax;        // union of the rows' bands
  int64_t full_lo, full_hi;  // intersection of the rows' bands
};

// Step 1: Qsᵀ[d2, r] = pair d2 of bf16(scale·q[t0 + r]), 16 rows at a time through Transpose16;
// the rows' bands.
ATTN_BF16 void SetupItem(const AttentionParams& p, FwdWorkspace& ws, FwdItem& it) {
  const int64_t d2 = p.D / 2;
  for (int64_t r0 = 0; r0 < it.nl; r0 += 16) {
    for (int64_t i = 0; i < 16; ++i) {
      uint32_t* dst = ws.rows.data() + i * ws.ld;
      if (r0 + i >= it.rows) {
        std::fill(dst, dst + d2, 0u);
        continue;
      }
      const float* q = p.q + it.b * p.q_stride[0] + it.h * p.q_stride[1] + (it.t0 + r0 + i) * p.q_stride[2];
      ToBf16(q, p.D, p.scale, reinterpret_cast<uint16_t*>(dst));
    }
    for (int64_t c0 = 0; c0 < d2; c0 += 16) {
      __m512i r[16];
      for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(ws.rows.data() + i * ws.ld + c0);
      Transpose16(r);
      for (int64_t i = 0; i < std::min<int64_t>(16, d2 - c0); ++i) _mm512_storeu_si512(ws.qt.data() + (c0 + i) * kW + r0, r[i]);
    }
  }
  it.kmin = p.S, it.kmax = 0, it.full_lo = 0, it.full_hi = p.S;
  for (int64_t r = 0; r < kW; ++r) {
    int64_t lo = 0, hi = 0;
    if (r < it.rows) attention_key_band(p, it.b, it.t0 + r, &lo, &hi);
    ws.lo[r] = static_cast<int32_t>(lo), ws.hi[r] = static_cast<int32_t>(hi);
    ws.m[r] = kNegInfF, ws.l[r] = 0.0f;
    if (r >= it.rows) continue;
    if (lo < hi) it.kmin = std::min(it.kmin, lo), it.kmax = std::max(it.kmax, hi);
    it.full_lo = std::max(it.full_lo, lo), it.full_hi = std::min(it.full_hi, hi);
  }
}

// Step 2b: -inf in Sᵀ row j (key `key`) for the lanes whose band excludes it.
ATTN_BF16 void MaskKeyRow(const FwdWorkspace& ws, int64_t nl, int64_t key, float* srow) {
  const __m512i k = _mm512_set1_epi32(static_cast<int32_t>(key));
  for (int64_t c = 0; c < nl; c += 16) {
    const __mmask16 in = _mm512_cmple_epi32_mask(_mm512_loadu_si512(ws.lo + c), k) &
                         _mm512_cmplt_epi32_mask(k, _mm512_loadu_si512(ws.hi + c));
    _mm512_storeu_ps(srow + c, _mm512_mask_mov_ps(_mm512_set1_ps(kNegInfF), in, _mm512_loadu_ps(srow + c)));
  }
}

// Steps 2c and 2d: online softmax down the lanes of Sᵀ rows [j0, j1) (j1 - j0 even): m, l, alpha,
// and Pᵀ rounded to bf16 as key pairs into pt (the f32 p only feed l). have_max: ws.colmax holds
// the rows' maxima already (fused into the score product). drop: P ∘ Z (ws.zt) goes into pt.
ATTN_BF16 void SoftmaxLanes(FwdWorkspace& ws, int64_t nl, int64_t j0, int64_t j1, bool have_max, bool drop) {
  const __m512 ninf = _mm512_set1_ps(kNegInfF);
  for (int64_t c = 0; c < nl; c += 16) {
    __m512 mx = ninf;
    if (have_max) {
      mx = _mm512_loadu_ps(ws.colmax + c);
    } else {
      for (int64_t j = j0; j < j1; ++j) mx = _mm512_max_ps(mx, _mm512_loadu_ps(ws.st.data() + j * kW + c));
    }
    const __m512 m_old = _mm512_loadu_ps(ws.m + c), m_new = _mm512_max_ps(m_old, mx);
    const __mmask16 none = _mm512_cmp_ps_mask(m_new, ninf, _CMP_EQ_OQ);  // nothing seen yet: p = 0
    const __m512 m_l2 = _mm512_mul_ps(_mm512_mask_mov_ps(m_new, none, _mm512_setzero_ps()), _mm512_set1_ps(kLog2e));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = j0; j < j1; j += 2) {
      const float* sj = ws.st.data() + j * kW + c;
      const __m512 e0 = ExpDiff(_mm512_loadu_ps(sj), m_l2), e1 = ExpDiff(_mm512_loadu_ps(sj + kW), m_l2);
      sum = _mm512_add_ps(_mm512_add_ps(sum, e0), e1);
      if (drop) {
        const float* zj = ws.zt.data() + j * kW + c;
        _mm512_storeu_si512(ws.pt.data() + (j - j0) / 2 * kW + c,
                            PackPairs(_mm512_mul_ps(e0, _mm512_loadu_ps(zj)), _mm512_mul_ps(e1, _mm512_loadu_ps(zj + kW))));
      } else {
        _mm512_storeu_si512(ws.pt.data() + (j - j0) / 2 * kW + c, PackPairs(e0, e1));
      }
    }
    const __m512 alpha = ExpDiff(m_old, m_l2);  // m_old = -inf gives 0
    _mm512_storeu_ps(ws.alpha + c, alpha);
    _mm512_storeu_ps(ws.l + c, _mm512_fmadd_ps(_mm512_loadu_ps(ws.l + c), alpha, sum));
    _mm512_storeu_ps(ws.m + c, m_new);
  }
}

// Zᵀ[j][r] = dropout multiplier of (row t0 + r, key kb + j) for keys [j0, j1) of the tile: rows of
// Z drawn into ws.zrows, then 16×16 transposes (padding lanes get 0; a padding key past nk keeps a
// stale finite value: its P is 0).
ATTN_BF16 void DropoutTile(const AttentionParams& p, FwdWorkspace& ws, const FwdItem& it, int64_t kb, int64_t j0,
                           int64_t j1) {
  float* zr = ws.zrows.data();  // [kW, kTile]
  for (int64_t r = 0; r < it.nl; ++r) {
    if (r < it.rows) {
      DropoutRow(p, it.b, it.h, it.t0 + r, kb + j0, j1 - j0, zr + r * kTile);
    } else {
      std::fill_n(zr + r * kTile, kTile, 0.0f);
    }
  }
  for (int64_t r0 = 0; r0 < it.nl; r0 += 16)
    for (int64_t c0 = 0; c0 < j1 - j0; c0 += 16) {
      __m512i v[16];
      for (int i = 0; i < 16; ++i) v[i] = _mm512_loadu_si512(zr + (r0 + i) * kTile + c0);
      Transpose16(v);
      for (int64_t i = 0; i < std::min<int64_t>(16, j1 - j0 - c0); ++i)
        _mm512_storeu_si512(ws.zt.data() + (j0 + c0 + i) * kW + r0, v[i]);
    }
}

// Lane vectors [*v0, *v1) with a row that sees one of the keys [k0, k1); empty when none.
ATTN_BF16 void LanesSeeing(const FwdWorkspace& ws, int64_t nl, int64_t k0, int64_t k1, int64_t* v0, int64_t* v1) {
  *v0 = nl / 16, *v1 = 0;
  for (int64_t c = 0; c < nl; c += 16) {
    const __m512i lo = _mm512_loadu_si512(ws.lo + c), hi = _mm512_loadu_si512(ws.hi + c);
    const __mmask16 m = _mm512_cmplt_epi32_mask(lo, _mm512_set1_epi32(static_cast<int32_t>(k1))) &
                        _mm512_cmpgt_epi32_mask(hi, _mm512_set1_epi32(static_cast<int32_t>(k0))) &
                        _mm512_cmplt_epi32_mask(lo, hi);
    if (m != 0) *v0 = std::min(*v0, c / 16), *v1 = c / 16 + 1;
  }
}

// Keys [*k0, *k1) that some row of lanes [c, c + 16) sees; empty when none.
ATTN_BF16 void KeysOfLanes(const FwdWorkspace& ws, int64_t c, int64_t* k0, int64_t* k1) {
  const __m512i lo = _mm512_loadu_si512(ws.lo + c), hi = _mm512_loadu_si512(ws.hi + c);
  const __mmask16 live = _mm512_cmplt_epi32_mask(lo, hi);
  *k0 = live ? _mm512_mask_reduce_min_epi32(live, lo) : 0;
  *k1 = live ? _mm512_mask_reduce_max_epi32(live, hi) : 0;
}

// Steps 2a and 2e on a boundary tile: only the (key group, lane vector) blocks of Sᵀ and the
// (lane vector, key range) spans of Oᵀ += Vᵀ·Pᵀ where some row sees some key (on the causal diagonal
// about half); everything skipped is -inf in Sᵀ (masked after) and 0 in Pᵀ.
ATTN_BF16 void BoundaryScores(const AttentionParams& p, const PackedKv& kv, FwdWorkspace& ws, const FwdItem& it,
                              int64_t off, int64_t kb, int64_t j0, int64_t j1) {
  const int64_t D = p.D;
  for (int64_t g = j0; g < j1; g += kRows) {
    const int64_t R = std::min<int64_t>(kRows, j1 - g);
    int64_t v0, v1;
    LanesSeeing(ws, it.nl, kb + g, kb + g + R, &v0, &v1);
    if (v0 >= v1) continue;
    Dp(R, {kv.kb.get() + off + g * D / 2, D / 2, 1, D / 2, ws.qt.data() + v0 * 16, kW, v1 - v0,
           ws.st.data() + g * kW + v0 * 16, kW, false});
  }
}

ATTN_BF16 void BoundaryPv(const AttentionParams& p, const PackedKv& kv, FwdWorkspace& ws, const FwdItem& it,
                          int64_t off, int64_t kb, int64_t j0, int64_t j1) {
  const int64_t D = p.D;
  for (int64_t c = 0; c < it.nl; c += 16) {
    int64_t k0, k1;
    KeysOfLanes(ws, c, &k0, &k1);
    const int64_t a = std::max(k0 - kb, j0) & ~int64_t{1}, z = (std::min(k1 - kb, j1) + 1) & ~int64_t{1};
    if (a >= z) continue;
    Dp(D, {kv.vr.get() + off + a / 2 * D, 1, D, (z - a) / 2, ws.pt.data() + (a - j0) / 2 * kW + c, kW, 1,
           ws.ot.data() + c, kW, true, ws.alpha + c});
  }
}

// Step 2 for key tile `tile`, over the keys [j0, j1) of it that some row sees (j0, j1 even).
ATTN_BF16 void ForwardTile(const AttentionParams& p, const PackedKv& kv, FwdWorkspace& ws, const FwdItem& it,
                           int64_t tile) {
  const int64_t D = p.D, kb = tile * kTile, nk = std::min(kTile, p.S - kb), nvec = it.nl / 16;
  const bool full = kb >= it.full_lo && kb + nk <= it.full_hi;  // every row sees every key of the tile
  const int64_t j0 = std::max<int64_t>(it.kmin - kb, 0) & ~int64_t{1};
  const int64_t j1 = (std::min(it.kmax - kb, nk) + 1) & ~int64_t{1};  // <= kTile; key j1-1 may be padding
  const int64_t off = kv.Offset(it.b, it.hk, p.Hkv, tile);
  // a. Sᵀ = K·Qsᵀ: each element the chain the backward's S = Qs·Kᵀ computes (a and b swapped per lane).
  // Row maxima fused into the product when the raw scores are final (no masked or padding key).
  const bool fused_max = full && j1 == nk;
  if (full) {
    if (fused_max) std::fill(ws.colmax, ws.colmax + kW, kNegInfF);
    Dp(j1 - j0, {kv.kb.get() + off + j0 * D / 2, D / 2, 1, D / 2, ws.qt.data(), kW, nvec, ws.st.data() + j0 * kW, kW,
                 false, nullptr, fused_max ? ws.colmax : nullptr});
  } else {
    BoundaryScores(p, kv, ws, it, off, kb, j0, j1);
  }
  for (int64_t j = j0; j < j1; ++j)  // b. (a padding key past nk, there to complete a pair, always)
    if (!full || j >= nk) MaskKeyRow(ws, it.nl, kb + j, ws.st.data() + j * kW);
  const bool drop = p.dropout_p > 0.0f;
  if (drop) DropoutTile(p, ws, it, kb, j0, std::min(j1, nk));
  SoftmaxLanes(ws, it.nl, j0, j1, fused_max, drop);                                                        // c., d.
  // e. Oᵀ = Oᵀ·alpha + Vᵀ·Pᵀ: a = V pairs along keys (vr[k2][d]), b = Pᵀ key pairs.
  if (full) {
    Dp(D, {kv.vr.get() + off + j0 / 2 * D, 1, D, (j1 - j0) / 2, ws.pt.data(), kW, nvec, ws.ot.data(), kW, true,
           ws.alpha});
  } else {
    BoundaryPv(p, kv, ws, it, off, kb, j0, j1);
  }
}

// Step 3: out rows = Oᵀᵀ / l (16 x 16 transposes), lse = m + log l; 0 and -inf for rows that saw no key.
ATTN_BF16 void FinishItem(const AttentionParams& p, FwdWorkspace& ws, const FwdItem& it, float* out, float* lse) {
  for (int64_t r0 = 0; r0 < it.nl; r0 += 16) {
    const __m512 l = _mm512_loadu_ps(ws.l + r0);
    const __mmask16 seen = _mm512_cmp_ps_mask(l, _mm512_setzero_ps(), _CMP_GT_OQ);
    const __m512 inv = _mm512_maskz_div_ps(seen, _mm512_set1_ps(1.0f), l);
    const int64_t n = std::min<int64_t>(16, it.rows - r0);
    for (int64_t d0 = 0; d0 < p.D; d0 += 16) {
      __m512i v[16];
      for (int i = 0; i < 16; ++i)
        v[i] = _mm512_castps_si512(_mm512_mul_ps(_mm512_loadu_ps(ws.ot.data() + (d0 + i) * kW + r0), inv));
      Transpose16(v);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t row = it.t0 + r0 + i;
        _mm512_storeu_si512(out + it.b * p.o_stride[0] + it.h * p.o_stride[1] + row * p.o_stride[2] + d0, v[i]);
      }
    }
    if (lse != nullptr)
      for (int64_t i = 0; i < n; ++i) {
        const float li = ws.l[r0 + i];
        lse[(it.b * p.H + it.h) * p.T + it.t0 + r0 + i] = li > 0.0f ? ws.m[r0 + i] + std::log(li) : kNegInfF;
      }
  }
}

void ForwardItem(const AttentionParams& p, const PackedKv& kv, FwdWorkspace& ws, FwdItem& it, float* out,
                 float* lse) {
  SetupItem(p, ws, it);
  std::fill(ws.ot.begin(), ws.ot.end(), 0.0f);
  for (int64_t tile = it.kmin / kTile; tile * kTile < it.kmax; ++tile) ForwardTile(p, kv, ws, it, tile);
  FinishItem(p, ws, it, out, lse);
}

bool ForwardBf16(const AttentionParams& p, float* out, float* lse) {
  PackedKv kv;
  if (!PackKv(p, &kv)) return false;
  const int64_t n_tiles = (p.T + kTile - 1) / kTile, bh = p.B * p.H, n_items = bh * n_tiles;
  const int nt = static_cast<int>(std::min<int64_t>(attn::num_threads(), n_items));
#pragma omp parallel num_threads(nt)
  {
    FwdWorkspace ws(p.D);
    // Last query tiles first: under causal masking they are the heaviest (dynamic balance).
#pragma omp for schedule(dynamic, 1)
    for (int64_t n = 0; n < n_items; ++n) {
      const int64_t b = (n % bh) / p.H, h = n % p.H, t0 = (n_tiles - 1 - n / bh) * kTile;
      const int64_t rows = std::min(kTile, p.T - t0);
      FwdItem it{b, h, h / (p.H / p.Hkv), t0, rows, (rows + 15) / 16 * 16, 0, 0, 0, 0};
      ForwardItem(p, kv, ws, it, out, lse);
    }
  }
  return true;
}

}  // namespace
}  // namespace bf16

bool attention_bf16_applicable(const AttentionParams& p) {
  if (!p.bf16_products || attention_has_logit_terms(p)) return false;
  if (p.D <= 0 || p.D % 16 != 0 || p.B * p.H * p.T == 0 || p.S <= 0 || p.Hkv <= 0) return false;
  if (p.S >= (int64_t{1} << 30)) return false;  // the forward keeps key positions in int32 lanes
  select_cpu_target();
  static const bool cpu_has = __builtin_cpu_supports("avx512bf16");
  return cpu_has && target_name(chosen_target()).rfind("AVX3", 0) == 0;  // not forced below AVX-512
}

bool attention_forward_flash_bf16(const AttentionParams& p, float* out, float* lse) {
  return attention_bf16_applicable(p) && bf16::ForwardBf16(p, out, lse);
}

}  // namespace attn::kernels
