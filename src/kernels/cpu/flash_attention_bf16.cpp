// kernels/cpu/flash_attention_bf16.cpp — the flash forward with bf16 products (see
// flash_attention_bf16.h), the scope check, and the K/V packing shared with the backward.
//
// Unlike the f32 forward (lanes along query rows), this one keeps keys in lanes: S[row, key] is a
// vdpbf16ps product whose b operand is a packed K tile [D/2, keys] — the same micro-kernel and the
// same packed K the backward recomputes S with — and the online softmax works along each row with
// two horizontal reductions per row and tile (max, sum).
// Per work item (b, h, query tile of up to kTile rows):
//   1. Pack Qs = bf16(scale·q) rows; each row's structural key band [lo, hi).
//   2. Per key tile (kTile keys, K and V packed once per call by PackKv) meeting the union of the
//      bands, per group of kRows rows (the K/V tile stays in L1 while all groups pass):
//      a. S = Qs·Kᵀ over the key columns up to the group's last visible key (16 at a time, so the
//         causal diagonal tile costs about half);
//      b. -inf outside each row's band; m_new = max(m, rowmax S); p = e^(S - m_new) (f32);
//         l = l·alpha + Σp (the f32 p); O row ·= alpha; P rounded to bf16;
//      c. O += P·V (b operand: V packed with key pairs along the reduction).
//   3. out = O / l, lse = m + log l; rows that saw no key give 0 and -inf.
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
namespace {

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

// Per-thread scratch of PackKv.
struct PackScratch {
  std::vector<float> zero_row;    // [D]
  std::vector<uint32_t> rows_bf;  // [16, D/2 rounded up to 16]: 16 key rows as pairs, zero padded
  explicit PackScratch(int64_t D) : zero_row(D, 0.0f), rows_bf(16 * ((D / 2 + 15) / 16 * 16), 0u) {}
};

// One (b, kv head) tile of kTile rows of k or v (rows past nv read as zeros) into its layouts.
// False when a row below nv holds NaN/Inf.
ATTN_BF16 bool PackTile(const float* src, int64_t rs, int64_t nv, int64_t D, PackScratch& sc, uint32_t* t_out,
                        uint32_t* r_out) {
  const auto row = [&](int64_t j) { return j < nv ? src + j * rs : sc.zero_row.data(); };
  __mmask16 bad = 0;
  for (int64_t j = 0; j < nv; ++j)
    for (int64_t c = 0; c < D; c += 16) bad |= _mm512_fpclass_ps_mask(_mm512_loadu_ps(src + j * rs + c), 0x99);
  const int64_t d2 = D / 2, ld = (d2 + 15) / 16 * 16;
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

}  // namespace

bool PackKv(const AttentionParams& p, bool want_kt, bool want_vt, bool want_kr, bool want_vr, PackedKv* kv) {
  kv->D = p.D;
  kv->n_tiles = (p.S + kTile - 1) / kTile;
  const int64_t nt = kv->n_tiles, n = p.B * p.Hkv * nt, per = kTile * p.D / 2;
  const std::pair<bool, HostBuffer<uint32_t>*> layouts[] = {
      {want_kt, &kv->kt}, {want_vt, &kv->vt}, {want_kr, &kv->kr}, {want_vr, &kv->vr}};
  for (auto [want, buf] : layouts)  // every element is written below
    if (want && !(*buf = HostBuffer<uint32_t>(n * per)).ok()) return false;
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
      const int64_t off = it * per;
      if (want_kt || want_kr)
        ok &= PackTile(k, p.k_stride[2], nv, p.D, sc, want_kt ? kv->kt.get() + off : nullptr,
                       want_kr ? kv->kr.get() + off : nullptr);
      if (want_vt || want_vr)
        ok &= PackTile(v, p.v_stride[2], nv, p.D, sc, want_vt ? kv->vt.get() + off : nullptr,
                       want_vr ? kv->vr.get() + off : nullptr);
    }
  }
  return ok != 0;
}

namespace {

// Per-thread scratch. bf16 buffers are u32 (pairs) so that the micro-kernel's scalar reads of pairs
// read u32 storage; they are written through the intrinsics' may-alias vector stores.
struct FwdWorkspace {
  std::vector<uint32_t> q;   // [kTile, D/2] Qs rows
  std::vector<float> o;      // [kTile, D] output accumulator
  std::vector<float> s;      // [kRows, kLd] scores of one row group
  std::vector<uint32_t> pb;  // [kRows, kLd/2] P of the row group
  float m[kTile], l[kTile];
  int64_t lo[kTile], hi[kTile];
  explicit FwdWorkspace(int64_t D) : q(kTile * D / 2), o(kTile * D), s(kRows * kLd), pb(kRows * kLd / 2) {}
};

struct FwdItem {
  int64_t b, h, hk, t0, rows;
};

// Column mask of [lo, hi) for the 16 columns starting at c.
ATTN_BF16 inline __mmask16 BandMask(int64_t c, int64_t lo, int64_t hi) {
  const __m512i cols = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                        _mm512_set1_epi32(static_cast<int>(c)));
  return _mm512_cmpge_epi32_mask(cols, _mm512_set1_epi32(static_cast<int>(lo))) &
         _mm512_cmplt_epi32_mask(cols, _mm512_set1_epi32(static_cast<int>(hi)));
}

// Step 2b for row r of the item: s (nc scores of this tile, in place) -> pb (P, bf16). full: the
// row sees all nc columns (no masking needed).
ATTN_BF16 void SoftmaxRow(FwdWorkspace& ws, int64_t D, int64_t r, float* s, int64_t lo, int64_t hi, int64_t nc,
                          bool full, uint32_t* pb) {
  __m512 mx = _mm512_set1_ps(kNegInfF);
  for (int64_t c = 0; c < nc; c += 16) {
    __m512 x = _mm512_loadu_ps(s + c);
    if (!full) {
      x = _mm512_mask_mov_ps(_mm512_set1_ps(kNegInfF), BandMask(c, lo, hi), x);
      _mm512_storeu_ps(s + c, x);
    }
    mx = _mm512_max_ps(mx, x);
  }
  const float m_old = ws.m[r], m_new = std::max(m_old, _mm512_reduce_max_ps(mx));
  const float m_use = m_new == kNegInfF ? 0.0f : m_new;  // nothing seen yet: p = 0 everywhere
  const __m512 mu = _mm512_set1_ps(m_use);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t c = 0; c < nc; c += 16) {
    const __m512 e = Exp(_mm512_sub_ps(_mm512_loadu_ps(s + c), mu));
    sum = _mm512_add_ps(sum, e);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(reinterpret_cast<uint16_t*>(pb) + c), Cvt16(e));
  }
  const float alpha = _mm512_cvtss_f32(Exp(_mm512_set1_ps(m_old - m_use)));  // m_old = -inf gives 0
  ws.l[r] = ws.l[r] * alpha + _mm512_reduce_add_ps(sum);
  ws.m[r] = m_new;
  if (alpha != 1.0f) {
    float* o = ws.o.data() + r * D;
    for (int64_t d = 0; d < D; d += 16) _mm512_storeu_ps(o + d, _mm512_mul_ps(_mm512_loadu_ps(o + d), _mm512_set1_ps(alpha)));
  }
}

// Step 2 for key tile `tile`: every row group of the item that sees one of its keys.
ATTN_BF16 void ForwardTile(const AttentionParams& p, const PackedKv& kv, FwdWorkspace& ws, const FwdItem& it,
                           int64_t tile) {
  const int64_t D = p.D, kb = tile * kTile, nk = std::min(kTile, p.S - kb);
  const int64_t off = kv.Offset(it.b, it.hk, p.Hkv, tile);
  for (int64_t r0 = 0; r0 < it.rows; r0 += kRows) {
    const int64_t R = std::min<int64_t>(kRows, it.rows - r0);
    int64_t lo[kRows], hi[kRows], hi_max = 0;
    for (int64_t r = 0; r < R; ++r) {
      lo[r] = std::clamp<int64_t>(ws.lo[r0 + r] - kb, 0, nk);
      hi[r] = std::clamp<int64_t>(ws.hi[r0 + r] - kb, lo[r], nk);
      if (lo[r] < hi[r]) hi_max = std::max(hi_max, hi[r]);
    }
    if (hi_max == 0) continue;  // no row of the group sees this tile: m, l, O unchanged
    const int64_t nvec = (hi_max + 15) / 16;
    Dp(R, {ws.q.data() + r0 * D / 2, D / 2, 1, D / 2, kv.kt.get() + off, kLd, nvec, ws.s.data(), kLd, false});
    for (int64_t r = 0; r < R; ++r) {
      const bool full = lo[r] == 0 && hi[r] == nvec * 16;
      SoftmaxRow(ws, D, r0 + r, ws.s.data() + r * kLd, lo[r], hi[r], nvec * 16, full, ws.pb.data() + r * kLd / 2);
    }
    Dp(R, {ws.pb.data(), kLd / 2, 1, nvec * 8, kv.vr.get() + off, D, D / 16, ws.o.data() + r0 * D, D, true});
  }
}

ATTN_BF16 void ForwardItem(const AttentionParams& p, const PackedKv& kv, FwdWorkspace& ws, const FwdItem& it,
                           float* out, float* lse) {
  const int64_t D = p.D;
  int64_t kmin = p.S, kmax = 0;
  for (int64_t r = 0; r < it.rows; ++r) {  // step 1
    const float* q = p.q + it.b * p.q_stride[0] + it.h * p.q_stride[1] + (it.t0 + r) * p.q_stride[2];
    ToBf16(q, D, p.scale, reinterpret_cast<uint16_t*>(ws.q.data() + r * D / 2));
    attention_key_band(p, it.b, it.t0 + r, &ws.lo[r], &ws.hi[r]);
    if (ws.lo[r] < ws.hi[r]) kmin = std::min(kmin, ws.lo[r]), kmax = std::max(kmax, ws.hi[r]);
    ws.m[r] = kNegInfF, ws.l[r] = 0.0f;
  }
  std::fill(ws.o.begin(), ws.o.begin() + it.rows * D, 0.0f);
  for (int64_t tile = kmin / kTile; tile * kTile < kmax; ++tile) ForwardTile(p, kv, ws, it, tile);
  for (int64_t r = 0; r < it.rows; ++r) {  // step 3
    const int64_t i = it.t0 + r;
    float* dst = out + it.b * p.o_stride[0] + it.h * p.o_stride[1] + i * p.o_stride[2];
    const float l = ws.l[r], inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int64_t d = 0; d < D; ++d) dst[d] = ws.o[r * D + d] * inv;
    if (lse != nullptr) lse[(it.b * p.H + it.h) * p.T + i] = l > 0.0f ? ws.m[r] + std::log(l) : kNegInfF;
  }
}

bool ForwardBf16(const AttentionParams& p, float* out, float* lse) {
  PackedKv kv;
  if (!PackKv(p, true, false, false, true, &kv)) return false;
  const int64_t n_tiles = (p.T + kTile - 1) / kTile, bh = p.B * p.H, n_items = bh * n_tiles;
  const int nt = static_cast<int>(std::min<int64_t>(attn::num_threads(), n_items));
#pragma omp parallel num_threads(nt)
  {
    FwdWorkspace ws(p.D);
    // Last query tiles first: under causal masking they are the heaviest (dynamic balance).
#pragma omp for schedule(dynamic, 1)
    for (int64_t n = 0; n < n_items; ++n) {
      const int64_t b = (n % bh) / p.H, h = n % p.H, t0 = (n_tiles - 1 - n / bh) * kTile;
      ForwardItem(p, kv, ws, {b, h, h / (p.H / p.Hkv), t0, std::min(kTile, p.T - t0)}, out, lse);
    }
  }
  return true;
}

}  // namespace
}  // namespace bf16

bool attention_bf16_applicable(const AttentionParams& p) {
  if (!p.bf16_products || attention_has_logit_terms(p) || p.dropout_p > 0.0f) return false;
  if (p.D <= 0 || p.D % 16 != 0 || p.B * p.H * p.T == 0 || p.S <= 0 || p.Hkv <= 0) return false;
  select_cpu_target();
  static const bool cpu_has = __builtin_cpu_supports("avx512bf16");
  return cpu_has && target_name(chosen_target()).rfind("AVX3", 0) == 0;  // not forced below AVX-512
}

bool attention_forward_flash_bf16(const AttentionParams& p, float* out, float* lse) {
  return attention_bf16_applicable(p) && bf16::ForwardBf16(p, out, lse);
}

}  // namespace attn::kernels
