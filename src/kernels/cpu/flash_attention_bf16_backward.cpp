// kernels/cpu/flash_attention_bf16_backward.cpp — the FlashAttention-2-style backward with bf16
// products (see flash_attention_bf16.h). The plan is the f32 backward's
// (flash_attention_backward.cpp): work items (b, kv head, chunk of key tiles) own their dK/dV rows,
// dQ goes into one partial per chunk, summed in chunk order — bit-identical for any thread count.
//
//   1. delta_i = <bf16(dO_i), out_i> in f32; bands; chunk bounds.
//   2. Per key tile of an item (each tile belongs to one item, so it is packed once): pack K
//      ([D/2, keys] for S, [keys/2, D] for dQ) and V ([D/2, keys] for dP) with the forward's
//      PackTile — S is recomputed from the same bf16 K and Qs by the same vdpbf16ps chains, so it
//      equals the forward's Sᵀ bit for bit. Per query head of the group, per block of up to kTile
//      rows whose band meets the tile: pack Qs = bf16(scale·q) and dO as rows (pairs along D) and as
//      row pairs (pairs across rows); per group of kRows rows:
//        S = Qs·Kᵀ, dP = dO·Vᵀ (columns up to the group's last visible key);
//        P = e^(S - lse) inside the band, 0 outside; dS = P ∘ (Z∘dP - delta), 0 where P = 0, and
//        P -> P∘Z (Z: the dropout multipliers, the forward's draws; 1 without dropout);
//        P and dS rounded to bf16 as row pairs (for dV, dK) and dS as rows (for dQ);
//      then dV += Pᵀ·dO, dK += dSᵀ·Qs (over the rows that see each 6 keys) and
//      dQpart += dS·K (over the keys each 6 rows see).
//   3. dK, dV accumulate in place in the outputs' rows of the tile (the first sum into each group of
//      kRows keys is stored; groups no row sees are zeroed); at the end dQ = scale · Σ_chunks dQpart.
//      With one chunk (B·Hkv >= 16, as in a GPT step) dQpart is dq's own rows, scaled in place by
//      the item at its end: no partial buffer, no extra pass over dQ.
// All inputs K/V a query may see are finite (PackTile checks; if not, the call returns false and the
// caller runs the f32 backward), so no product needs the f32 kernels' NaN guards; a NaN in dO reaches only the rows and keys that a
// NaN in the f32 kernel's dO reaches, except through zero P: 0·NaN in dV (as there).
#include <attn/threads.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/cpu/flash_attention_backward.h"
#include "kernels/cpu/flash_attention_bf16.h"
#include "kernels/cpu/flash_bf16-inl.h"

namespace attn::kernels {
namespace bf16 {
namespace {

constexpr float kNegInfF = -std::numeric_limits<float>::infinity();

// <bf16(g), o> over D (D % 16 == 0) in f32: delta with the dO that dP = dO·Vᵀ sees, so that
// dS = P (dP - delta) cancels as the exact Σ_j P dP would (halves the gradients' error).
ATTN_BF16 float DotRoundedG(const float* g, const float* o, int64_t D) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t c = 0; c < D; c += 16) {
    const __m512i gb = _mm512_slli_epi32(_mm512_cvtepu16_epi32(Cvt16(_mm512_loadu_ps(g + c))), 16);
    acc = _mm512_fmadd_ps(_mm512_castsi512_ps(gb), _mm512_loadu_ps(o + c), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// dst = scale · Σ_c part[c·stride + :D], in chunk order.
ATTN_BF16 void ReduceRow(const float* part, int64_t stride, int64_t n_chunks, int64_t D, float scale, float* dst) {
  for (int64_t d = 0; d < D; d += 16) {
    __m512 acc = _mm512_loadu_ps(part + d);
    for (int64_t c = 1; c < n_chunks; ++c) acc = _mm512_add_ps(acc, _mm512_loadu_ps(part + c * stride + d));
    _mm512_storeu_ps(dst + d, _mm512_mul_ps(acc, _mm512_set1_ps(scale)));
  }
}

// Per-thread scratch; bf16 buffers are u32 pairs (see the forward's FwdWorkspace).
struct BwdWorkspace {
  std::vector<uint32_t> kt, vt;   // [D/2, kTile]: the tile's K, V (PackTile's t layout)
  std::vector<uint32_t> kr;       // [kTile/2, D]: its K as key pairs
  PackScratch sc;
  bool finite = true;             // every K/V value packed so far that a query may see is finite
  std::vector<uint32_t> qb, gb;   // [kTile, D/2]: the block's Qs, dO rows
  std::vector<uint32_t> qi, gi;   // [kTile/2, D]: the same as row pairs
  std::vector<float> s, dp;       // [kRows, kLd]: S -> P, dP -> dS of one row group
  std::vector<uint32_t> pi, dsi;  // [kTile/2, kLd]: P, dS row pairs interleaved
  std::vector<uint32_t> dsb;      // [kTile, kLd/2]: dS rows
  float *dk, *dv;                 // [nk, D]: the tile's rows of the outputs, accumulated in place
  int64_t ldk = 0, ldv = 0;       // their row strides
  bool written[(kTile + kRows - 1) / kRows];  // per group of kRows keys: dk/dv rows hold a sum already
  float lse[kTile], delta[kTile];
  int64_t lo[kTile], hi[kTile];  // bands relative to the tile, empty for fully masked rows
  explicit BwdWorkspace(int64_t D)
      : kt(kTile * D / 2), vt(kTile * D / 2), kr(kTile * D / 2), sc(D), qb(kTile * D / 2), gb(kTile * D / 2),
        qi(kTile * D / 2), gi(kTile * D / 2), s(kRows * kLd), dp(kRows * kLd),
        pi(kTile * kLd / 2), dsi(kTile * kLd / 2), dsb(kTile * kLd / 2) {}
};

// Shared state of one call.
struct Plan : AttentionBackwardPlan {
  using AttentionBackwardPlan::AttentionBackwardPlan;
  HostBuffer<float> dqp;              // [n_chunks, B*H*T, D]: dQ partials (unscaled), zeroed by the items;
                                      // none with one chunk: then dQ accumulates in dq's rows
};

struct TileCtx {
  int64_t b, h, hk, i0, kb, nk;
  const uint32_t *kt, *vt, *kr;
};

ATTN_BF16 inline __mmask16 BandMask(int64_t c, int64_t lo, int64_t hi) {
  const __m512i cols = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                        _mm512_set1_epi32(static_cast<int>(c)));
  return _mm512_cmpge_epi32_mask(cols, _mm512_set1_epi32(static_cast<int>(lo))) &
         _mm512_cmplt_epi32_mask(cols, _mm512_set1_epi32(static_cast<int>(hi)));
}

// Row r of the block, columns [0, nc): s (S) -> P, dp (dP) -> dS in place; zeros up to kLd.
// With dropout (z: the row's multipliers Z, else null): dS = P ∘ (Z∘dP - delta) from the undropped
// P, and s -> P∘Z for dV += (P∘Z)ᵀ dO.
ATTN_BF16 void GradRow(const BwdWorkspace& ws, int64_t r, int64_t nc, const float* z, float* s, float* dp) {
  const bool live = ws.lo[r] < ws.hi[r];
  const __m512 lse_l2 = _mm512_set1_ps(live ? ws.lse[r] * kLog2e : 0.0f), delta = _mm512_set1_ps(ws.delta[r]);
  for (int64_t c = 0; c < nc; c += 16) {
    const __mmask16 in = live ? BandMask(c, ws.lo[r], ws.hi[r]) : 0;
    const __m512 pv = _mm512_maskz_mov_ps(in, ExpDiff(_mm512_loadu_ps(s + c), lse_l2));
    __m512 dpv = _mm512_loadu_ps(dp + c);
    if (z != nullptr) dpv = _mm512_mul_ps(dpv, _mm512_loadu_ps(z + c));
    const __m512 ds = _mm512_mul_ps(pv, _mm512_sub_ps(dpv, delta));
    _mm512_storeu_ps(s + c, z != nullptr ? _mm512_mul_ps(pv, _mm512_loadu_ps(z + c)) : pv);
    _mm512_storeu_ps(dp + c, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(pv, _mm512_setzero_ps(), _CMP_NEQ_UQ), ds));
  }
  std::fill(s + nc, s + kLd, 0.0f);
  std::fill(dp + nc, dp + kLd, 0.0f);
}

// Scores, dP, P and dS of block rows [r0, r0 + R) (r0 even), rounded into pi, dsi, dsb.
ATTN_BF16 void GradGroup(const AttentionParams& p, BwdWorkspace& ws, const TileCtx& t, int64_t r0, int64_t R) {
  const int64_t D = p.D;
  int64_t hi_max = 0;
  for (int64_t r = r0; r < r0 + R; ++r)
    if (ws.lo[r] < ws.hi[r]) hi_max = std::max(hi_max, ws.hi[r]);
  const int64_t nvec = (hi_max + 15) / 16;
  if (nvec > 0) {
    Dp(R, {ws.qb.data() + r0 * D / 2, D / 2, 1, D / 2, t.kt, kLd, nvec, ws.s.data(), kLd, false});
    Dp(R, {ws.gb.data() + r0 * D / 2, D / 2, 1, D / 2, t.vt, kLd, nvec, ws.dp.data(), kLd, false});
  }
  float z[kLd];  // dropout multipliers of one row (keys past the tile: 0, where P is 0 anyway)
  const bool drop = p.dropout_p > 0.0f;
  for (int64_t r = 0; r < R; ++r) {
    const bool live = ws.lo[r0 + r] < ws.hi[r0 + r];
    if (drop && live) {
      const int64_t n = std::min(nvec * 16, t.nk);
      DropoutRow(p, t.b, t.h, t.i0 + r0 + r, t.kb, n, z);
      std::fill(z + n, z + kLd, 0.0f);
    }
    GradRow(ws, r0 + r, nvec * 16, drop && live ? z : nullptr, ws.s.data() + r * kLd, ws.dp.data() + r * kLd);
    ToBf16(ws.dp.data() + r * kLd, kLd, reinterpret_cast<uint16_t*>(ws.dsb.data() + (r0 + r) * kLd / 2));
  }
  for (int64_t r = 0; r < R; r += 2) {
    const bool pair = r + 1 < R;
    Interleave(ws.s.data() + r * kLd, pair ? ws.s.data() + (r + 1) * kLd : nullptr, kLd,
               ws.pi.data() + (r0 + r) / 2 * kLd);
    Interleave(ws.dp.data() + r * kLd, pair ? ws.dp.data() + (r + 1) * kLd : nullptr, kLd,
               ws.dsi.data() + (r0 + r) / 2 * kLd);
  }
}

// Loads the block's lse, delta and bands (clamped to the tile; empty for fully masked rows) and packs
// Qs = bf16(scale·q) and dO as rows and as row pairs; false if no row sees a key of the tile.
ATTN_BF16 bool PackBlock(const AttentionParams& p, const Plan& pl, BwdWorkspace& ws, const TileCtx& t, int64_t rows) {
  const int64_t row0 = (t.b * p.H + t.h) * p.T + t.i0, D = p.D;
  bool any = false;
  for (int64_t r = 0; r < rows; ++r) {
    ws.lse[r] = pl.lse[row0 + r];
    ws.delta[r] = pl.delta[row0 + r];
    const bool dead = ws.lse[r] == kNegInfF;
    ws.lo[r] = dead ? 0 : std::clamp<int64_t>(pl.lo[t.b * p.T + t.i0 + r] - t.kb, 0, t.nk);
    ws.hi[r] = dead ? 0 : std::clamp<int64_t>(pl.hi[t.b * p.T + t.i0 + r] - t.kb, ws.lo[r], t.nk);
    any = any || ws.lo[r] < ws.hi[r];
  }
  if (!any) return false;
  const float* q = p.q + t.b * p.q_stride[0] + t.h * p.q_stride[1] + t.i0 * p.q_stride[2];
  const float* g = pl.dout + t.b * p.o_stride[0] + t.h * p.o_stride[1] + t.i0 * p.o_stride[2];
  const int64_t qs = p.q_stride[2], gs = p.o_stride[2];
  for (int64_t r = 0; r < rows; ++r) {
    ToBf16(q + r * qs, D, p.scale, reinterpret_cast<uint16_t*>(ws.qb.data() + r * D / 2));
    ToBf16(g + r * gs, D, reinterpret_cast<uint16_t*>(ws.gb.data() + r * D / 2));
  }
  for (int64_t r = 0; r < rows; r += 2) {
    const bool pair = r + 1 < rows;
    Interleave(q + r * qs, pair ? q + (r + 1) * qs : nullptr, D, p.scale, ws.qi.data() + r / 2 * D);
    Interleave(g + r * gs, pair ? g + (r + 1) * gs : nullptr, D, ws.gi.data() + r / 2 * D);
  }
  return true;
}

// For each group g of kRows keys of the tile, the rows of the block that see any of its keys:
// [first[g], last[g]), empty when none.
void RowsSeeing(const BwdWorkspace& ws, int64_t rows, int64_t* first, int64_t* last) {
  constexpr int64_t kGroups = (kTile + kRows - 1) / kRows;
  std::fill(first, first + kGroups, rows), std::fill(last, last + kGroups, 0);
  for (int64_t r = 0; r < rows; ++r)
    if (ws.lo[r] < ws.hi[r])
      for (int64_t g = ws.lo[r] / kRows; g * kRows < ws.hi[r]; ++g) first[g] = std::min(first[g], r), last[g] = r + 1;
}

// Keys of the tile that rows [r0, r1) see: [*k0, *k1), empty when none.
void KeysSeen(const BwdWorkspace& ws, int64_t r0, int64_t r1, int64_t* k0, int64_t* k1) {
  *k0 = kLd, *k1 = 0;
  for (int64_t r = r0; r < r1; ++r)
    if (ws.lo[r] < ws.hi[r]) *k0 = std::min(*k0, ws.lo[r]), *k1 = std::max(*k1, ws.hi[r]);
}

// Step 2 for one block of rows against the tile. Outside the bands P and dS are exactly 0, so the
// accumulations skip those (row pair, key) ranges without changing a bit.
ATTN_BF16 void BlockBackward(const AttentionParams& p, const Plan& pl, BwdWorkspace& ws, const TileCtx& t,
                             int64_t rows, float* dq, int64_t ldq) {
  if (!PackBlock(p, pl, ws, t, rows)) return;
  const int64_t D = p.D;
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) GradGroup(p, ws, t, r0, std::min<int64_t>(kRows, rows - r0));
  int64_t first[(kTile + kRows - 1) / kRows], last[(kTile + kRows - 1) / kRows];
  RowsSeeing(ws, rows, first, last);
  for (int64_t o = 0; o < t.nk; o += kRows) {  // dV += Pᵀ dO, dK += dSᵀ Qs for kRows keys
    const int64_t R = std::min<int64_t>(kRows, t.nk - o), f = first[o / kRows], l = last[o / kRows];
    if (f >= l) continue;
    const int64_t p0 = f / 2, n2 = (l + 1) / 2 - p0;
    const bool acc = ws.written[o / kRows];  // the first sum is stored, not added to zeros
    Dp(R, {ws.pi.data() + p0 * kLd + o, 1, kLd, n2, ws.gi.data() + p0 * D, D, D / 16, ws.dv + o * ws.ldv, ws.ldv, acc});
    Dp(R, {ws.dsi.data() + p0 * kLd + o, 1, kLd, n2, ws.qi.data() + p0 * D, D, D / 16, ws.dk + o * ws.ldk, ws.ldk, acc});
    ws.written[o / kRows] = true;
  }
  for (int64_t r = 0; r < rows; r += kRows) {  // dQ += dS K for kRows rows
    const int64_t R = std::min<int64_t>(kRows, rows - r);
    int64_t k0, k1;
    KeysSeen(ws, r, r + R, &k0, &k1);
    if (k0 >= k1) continue;
    const int64_t j0 = k0 / 2, n2 = (k1 + 1) / 2 - j0;
    Dp(R, {ws.dsb.data() + r * kLd / 2 + j0, kLd / 2, 1, n2, t.kr + j0 * D, D, D / 16, dq + r * ldq, ldq, true});
  }
}

// Work item (b, kv head hk, chunk c): every key tile of the chunk against every row that sees it.
// Items write disjoint parts of pl's outputs (dk, dv rows; their chunk's dQ partial rows).
ATTN_BF16 void ItemBackward(const AttentionParams& p, Plan& pl, BwdWorkspace& ws, int64_t b, int64_t hk, int64_t c) {
  const int64_t group = p.H / p.Hkv, D = p.D;
  const bool direct = pl.n_chunks == 1;  // the item owns dq's rows of its heads: accumulate there
  const auto dq_row = [&](int64_t h, int64_t i) {
    return direct ? pl.dqs.row_ptr(pl.dq, b, h, i)
                  : pl.dqp.get() + ((c * p.B + b) * p.H + h) * p.T * D + i * D;
  };
  const int64_t ldq = direct ? pl.dqs.row : D;
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
    for (int64_t i = 0; i < p.T; ++i) std::fill_n(dq_row(h, i), D, 0.0f);
  const int64_t* lo = pl.lo.data() + b * p.T;
  const int64_t* hi = pl.hi.data() + b * p.T;
  const int64_t* bounds = pl.bounds.data() + b * (pl.n_chunks + 1);
  for (int64_t tile = bounds[c]; tile < bounds[c + 1]; ++tile) {
    const int64_t kb = tile * kTile, visible = p.key_lengths != nullptr ? std::clamp<int64_t>(p.key_lengths[b], 0, p.S) : p.S;
    const int64_t nv = std::clamp<int64_t>(visible - kb, 0, kTile);  // keys past it: zeros
    TileCtx t{b, 0, hk, 0, kb, std::min(kTile, p.S - kb), ws.kt.data(), ws.vt.data(), ws.kr.data()};
    const float* k = p.k + b * p.k_stride[0] + hk * p.k_stride[1] + kb * p.k_stride[2];
    const float* v = p.v + b * p.v_stride[0] + hk * p.v_stride[1] + kb * p.v_stride[2];
    ws.finite &= PackTile(k, p.k_stride[2], nv, D, ws.sc, nullptr, ws.kt.data(), ws.kr.data());
    ws.finite &= PackTile(v, p.v_stride[2], nv, D, ws.sc, nullptr, ws.vt.data(), nullptr);
    ws.dk = pl.dks.row_ptr(pl.dk, b, hk, kb), ws.dv = pl.dvs.row_ptr(pl.dv, b, hk, kb);
    ws.ldk = pl.dks.row, ws.ldv = pl.dvs.row;
    std::fill(std::begin(ws.written), std::end(ws.written), false);
    // Rows that may see the tile form one range: both band ends are non-decreasing in i.
    const int64_t i_begin = std::upper_bound(hi, hi + p.T, t.kb) - hi;
    const int64_t i_end = std::max(i_begin, std::lower_bound(lo, lo + p.T, t.kb + t.nk) - lo);
    for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
      for (int64_t i0 = i_begin; i0 < i_end; i0 += kTile) {
        t.h = h, t.i0 = i0;
        BlockBackward(p, pl, ws, t, std::min(kTile, i_end - i0), dq_row(h, i0), ldq);
      }
    for (int64_t o = 0; o < t.nk; o += kRows)  // keys no row sees: zero gradients
      if (!ws.written[o / kRows])
        for (int64_t j = o; j < std::min<int64_t>(o + kRows, t.nk); ++j)
          std::fill_n(ws.dk + j * ws.ldk, D, 0.0f), std::fill_n(ws.dv + j * ws.ldv, D, 0.0f);
  }
  if (!direct) return;
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h)  // ReduceDq's one-chunk sum, rows still in L2
    for (int64_t i = 0; i < p.T; ++i) ReduceRow(dq_row(h, i), 0, 1, D, p.scale, dq_row(h, i));
}

// Step 1 (after packing): delta, bands, chunk boundaries (the f32 backward's split, on kTile tiles).
void Prepare(const AttentionParams& p, Plan& pl) {
  const int64_t rows = p.B * p.H * p.T;
  pl.delta.resize(rows);
#pragma omp parallel for schedule(static) num_threads(attn::num_threads())
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t r = attention_row_in_memory_order(p, n);
    const int64_t b = r / (p.H * p.T), h = (r / p.T) % p.H, i = r % p.T;
    const int64_t off = b * p.o_stride[0] + h * p.o_stride[1] + i * p.o_stride[2];
    pl.delta[r] = pl.lse[r] == kNegInfF ? 0.0f : DotRoundedG(pl.dout + off, pl.out + off, p.D);
  }
  attention_backward_bands(p, pl.n_chunks, pl.lo, pl.hi, pl.bounds);  // shared with the f32 backward
}

// Step 3's end: dq = scale · Σ_c dqp[c], chunk by chunk in order.
void ReduceDq(const AttentionParams& p, const Plan& pl, float* dq) {
  const int64_t rows = p.B * p.H * p.T, part = rows * p.D;
#pragma omp parallel for schedule(static) num_threads(attn::num_threads())
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / (p.H * p.T), h = (r / p.T) % p.H, i = r % p.T;
    float* dst = pl.dqs.row_ptr(dq, b, h, i);
    ReduceRow(pl.dqp.get() + r * p.D, part, pl.n_chunks, p.D, p.scale, dst);
  }
}

bool BackwardBf16(const AttentionParams& p, const float* out, const float* dout, const float* lse, float* dq,
                  float* dk, float* dv) {
  Plan pl(p, out, dout, lse, dq, dk, dv, kTile);
  if (pl.n_chunks > 1) {
    pl.dqp = HostBuffer<float>(pl.n_chunks * p.B * p.H * p.T * p.D);
    if (!pl.dqp.ok()) return false;
  }
  Prepare(p, pl);
  const int64_t n_items = p.B * p.Hkv * pl.n_chunks;
  const int nt = static_cast<int>(std::min<int64_t>(attn::num_threads(), n_items));
  int ok = 1;
#pragma omp parallel num_threads(nt) reduction(& : ok)
  {
    BwdWorkspace ws(p.D);
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < n_items; ++it)
      ItemBackward(p, pl, ws, it / (p.Hkv * pl.n_chunks), (it / pl.n_chunks) % p.Hkv, it % pl.n_chunks);
    ok &= ws.finite ? 1 : 0;
  }
  if (!ok) return false;  // dk, dv hold partial results; the caller's f32 backward overwrites them
  if (pl.n_chunks > 1) ReduceDq(p, pl, dq);
  return true;
}

}  // namespace
}  // namespace bf16

bool attention_backward_flash_bf16(const AttentionParams& p, const float* out, const float* dout, const float* lse,
                                   float* dq, float* dk, float* dv) {
  return attention_bf16_applicable(p) && bf16::BackwardBf16(p, out, dout, lse, dq, dk, dv);
}

}  // namespace attn::kernels
