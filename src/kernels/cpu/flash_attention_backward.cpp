// kernels/cpu/flash_attention_backward.cpp — FlashAttention-2-style backward (see
// flash_attention_backward.h).
//
// Notation: P = exp(S - lse) (the forward's softmax), Z = dropout multipliers (0 or 1/(1-p)),
// G = d softcap / d logit = 1 - tanh² (1 without softcap), Qs = scale·Q rounded to f32 as the forward
// rounds it (so that the recomputed scores match the ones lse was taken over; with logits of 1e4 a
// different rounding would shift p = exp(s - lse) visibly). dO and K are read in place when their
// rows are whole vectors; dQ is scaled when reduced.
//   1. Each row's structural key band [lo, hi) (causal, window, padding).
//   2. Plan: split the key tiles of each batch item into chunks holding equal shares of the visible
//      (query, key) pairs (so causal work balances); the chunk count depends on B, Hkv, S only.
//   3. Work item = (b, kv head, chunk). First delta_i = <dO_i, out_i> for the rows of its query heads
//      (= sum_j P_ij Z_ij dP_ij: the softmax Jacobian's shift). Per key tile: pack Kᵀ, Vᵀ (for the
//      score-like products), zero dK/dV accumulators; then for every query head of the group and
//      every block of up to kAttnBwdTileRows rows whose band meets the tile (Qs packed once per item
//      when it fits kQCacheFloats, else per block):
//        S = Qs·Kᵀ, logit terms, masks (overwrite with -inf);  dP = dO·Vᵀ     (register-blocked;
//        per kRows rows only the whole vectors of keys those rows see, P = dS = 0 elsewhere)
//        P = exp(S - lse); dS = P ∘ (Z∘dP - delta) ∘ G, forced to 0 where P = 0  (so NaN in a masked
//        V, read by dO·Vᵀ, never survives);  the P tile becomes P∘Z
//        dV += (P∘Z)ᵀ dO,  dK += dSᵀ Qs,  dQpart += dS K  (the last skips zero dS when K holds NaN/Inf)
//      dK, dV accumulate in the outputs' rows of the tile (zeroed first; in scratch, copied out, when
//      D is not whole vectors).
//   4. dQ = scale · sum over chunks of dQpart, in chunk order. With one chunk (B·Hkv >= 16, as in a
//      GPT step) and D whole vectors, dQpart is dq's own rows, scaled in place at the end of the
//      item: no partial buffer and no extra pass over dQ.
#include "kernels/cpu/flash_attention_backward.h"

#include <attn/threads.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/dispatch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/flash_attention_backward.cpp"
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

// File-local (anonymous namespace): the forward kernel, compiled into the same per-target namespace,
// has its own Workspace, Lanes, RoundUp, ...; as inline definitions with external linkage they would
// break the one-definition rule, and the linker would keep one of each (it did in the asan preset).
namespace {

// Register blocking: kRows output rows x kVecs vectors. AVX-512: 8 x 2 (16 accumulators of 32 zmm)
// divides the row blocks and 64-key tiles exactly (6 x 4, as the forward, left 4-row remainder
// blocks) and follows the causal diagonal in 32-key steps: 3 % faster at T = 256 than 6 x 4.
#if HWY_MAX_BYTES >= 64
constexpr int kRows = 8, kVecs = 2;
#elif HWY_MAX_BYTES >= 16
constexpr int kRows = 6, kVecs = 2;
#else
constexpr int kRows = 4, kVecs = 2;
#endif

constexpr int64_t kLd = kAttnBwdTileKeys;  // row stride of the score tiles and of Kᵀ / Vᵀ
constexpr int64_t kBr = kAttnBwdTileRows;

int64_t Lanes() { return static_cast<int64_t>(hn::Lanes(DF())); }
constexpr int64_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);  // Lanes() at most
int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Qs of a whole work item (group·T rows) is packed once per item when it takes at most this many
// floats per thread (4 MiB; T = 256, D = 64: 64 KiB per query head); else once per block and tile.
constexpr int64_t kQCacheFloats = int64_t{1} << 20;

// Per-thread scratch, allocated once per call and thread.
struct Workspace {
  int64_t dp = 0;  // D rounded up to whole vectors
  hwy::AlignedFreeUniquePtr<float[]> kt, vt;      // [D, kLd]: Kᵀ, Vᵀ
  hwy::AlignedFreeUniquePtr<float[]> kr;          // [kLd, dp]: K rows (when D % lanes != 0)
  hwy::AlignedFreeUniquePtr<float[]> dk, dv;      // [kLd, dp]: the tile's accumulators when D % lanes != 0
  hwy::AlignedFreeUniquePtr<float[]> q, go;       // [kBr, dp]: Qs and (when D % lanes != 0) dO of a row block
  hwy::AlignedFreeUniquePtr<float[]> s, ds, g;    // [kBr, kLd]: S -> P∘Z, dP -> dS, softcap slope
  hwy::AlignedFreeUniquePtr<float[]> qc;          // [group·T, dp]: the item's Qs rows, or null (kQCacheFloats)
  std::vector<char> qc_done;                      // [group·T]: which rows qc holds
  std::vector<float> delta_item;                  // [group·T]: delta of the item's rows
  const float* qb = nullptr;   // the block's Qs rows, row stride dp (ws.q or inside qc)
  const float* gb = nullptr;   // the block's dO rows (in place or packed), row stride ldg
  int64_t ldg = 0;
  const float* kb = nullptr;   // the tile's K rows (in place or kr), row stride ldkr
  int64_t ldkr = 0;
  float lse[kBr], delta[kBr];
  int64_t lo[kBr], hi[kBr];  // bands relative to the tile, empty for fully masked rows

  float *dk_acc = nullptr, *dv_acc = nullptr;  // the tile's dK, dV rows [nk, D]: in the outputs or dk, dv
  int64_t ldk = 0, ldv = 0;                    // their row strides

  explicit Workspace(const AttentionParams& p) {
    const int64_t D = p.D, group = p.H / p.Hkv;
    dp = RoundUp(D, Lanes());
    for (auto* t : {&kt, &vt}) *t = hwy::AllocateAligned<float>(D * kLd);
    for (auto* t : {&kr, &dk, &dv}) *t = hwy::AllocateAligned<float>(kLd * dp);
    for (auto* t : {&q, &go}) *t = hwy::AllocateAligned<float>(kBr * dp);
    for (auto* t : {&s, &ds, &g}) *t = hwy::AllocateAligned<float>(kBr * kLd);
    delta_item.resize(group * p.T);
    if (group * p.T * dp <= kQCacheFloats) {
      qc = hwy::AllocateAligned<float>(group * p.T * dp);
      qc_done.resize(group * p.T);
    }
  }
};

// Shared state of one call.
struct Plan : AttentionBackwardPlan {
  using AttentionBackwardPlan::AttentionBackwardPlan;
  int64_t dp = 0;                          // D rounded up to whole vectors
  bool dq_direct = false;                  // one chunk and dp == D: dQ accumulates in dq's rows
  hwy::AlignedFreeUniquePtr<float[]> dqp;  // [n_chunks, B*H*T, dp]: dQ partials (unscaled), unless dq_direct
};

// ---- packing ----

// Transposed tile [D, kLd] of rows kb..kb+nk of k or v, zero columns up to ncp. On AVX-512 with
// D % 16 == 0 by 16×16 blocks (the scalar loop was ~6 % of the backward at T = 256, D = 64).
void PackT(const float* src, int64_t row_stride, int64_t D, int64_t nk, int64_t ncp, float* dst) {
#ifdef ATTN_FLASH_TRANSPOSE16
  if (D % 16 == 0) {
    for (int64_t c0 = 0; c0 < ncp; c0 += 16)
      for (int64_t d0 = 0; d0 < D; d0 += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; ++i)
          r[i] = c0 + i < nk ? _mm512_loadu_ps(src + (c0 + i) * row_stride + d0) : _mm512_setzero_ps();
        Transpose16(r);
        for (int i = 0; i < 16; ++i) _mm512_store_ps(dst + (d0 + i) * kLd + c0, r[i]);
      }
    return;
  }
#endif
  for (int64_t c = 0; c < nk; ++c)
    for (int64_t d = 0; d < D; ++d) dst[d * kLd + c] = src[c * row_stride + d];
  for (int64_t d = 0; d < D; ++d) std::fill(dst + d * kLd + nk, dst + d * kLd + ncp, 0.0f);
}

// Rows [n, dp] times mul, zero padded.
void PackRows(const float* HWY_RESTRICT src, int64_t row_stride, int64_t D, int64_t n, int64_t dp, float mul,
              float* HWY_RESTRICT dst) {
  const DF df;
  const VF m = hn::Set(df, mul);
  for (int64_t r = 0; r < n; ++r) {
    const float* HWY_RESTRICT in = src + r * row_stride;
    float* HWY_RESTRICT o = dst + r * dp;
    int64_t d = 0;
    for (; d + Lanes() <= D; d += Lanes()) hn::Store(hn::Mul(hn::LoadU(df, in + d), m), df, o + d);
    for (; d < D; ++d) o[d] = in[d] * mul;
    std::fill(o + D, o + dp, 0.0f);
  }
}

// x[0, n) = 0 for n a multiple of the lanes. Inline stores: these rows are short (at most a tile's
// kLd keys or D) and std::fill made a memset call per row. (Four stores per iteration and an
// unrolled tail, which compilers do not turn back into a memset call.)
HWY_INLINE void ZeroVectors(float* HWY_RESTRICT x, int64_t n) {
  const DF df;
  const VF z = hn::Zero(df);
  const int64_t L = Lanes();
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    hn::StoreU(z, df, x + i), hn::StoreU(z, df, x + i + L);
    hn::StoreU(z, df, x + i + 2 * L), hn::StoreU(z, df, x + i + 3 * L);
  }
  if (i < n) hn::StoreU(z, df, x + i);
  if (i + L < n) hn::StoreU(z, df, x + i + L);
  if (i + 2 * L < n) hn::StoreU(z, df, x + i + 2 * L);
}

// x[0, n) = 0.
HWY_INLINE void ZeroRow(float* HWY_RESTRICT x, int64_t n) {
  const int64_t whole = n / Lanes() * Lanes();
  ZeroVectors(x, whole);
  for (int64_t i = whole; i < n; ++i) x[i] = 0.0f;
}

// x[0, n) *= mul.
void ScaleRow(float* HWY_RESTRICT x, int64_t n, float mul) {
  const DF df;
  const VF m = hn::Set(df, mul);
  int64_t d = 0;
  for (; d + Lanes() <= n; d += Lanes()) hn::StoreU(hn::Mul(hn::LoadU(df, x + d), m), df, x + d);
  for (; d < n; ++d) x[d] *= mul;
}

// Whether all values of n rows of dp floats (whole vectors, row stride ld) are finite.
bool AllFinite(const float* x, int64_t ld, int64_t n, int64_t dp) {
  const DF df;
  VF acc0 = hn::Zero(df), acc1 = hn::Zero(df);  // x·0 is 0 for finite x and NaN for Inf/NaN
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * ld;
    int64_t i = 0;
    for (; i + 2 * Lanes() <= dp; i += 2 * Lanes()) {
      acc0 = hn::MulAdd(hn::LoadU(df, xr + i), hn::Zero(df), acc0);
      acc1 = hn::MulAdd(hn::LoadU(df, xr + i + Lanes()), hn::Zero(df), acc1);
    }
    if (i < dp) acc0 = hn::MulAdd(hn::LoadU(df, xr + i), hn::Zero(df), acc0);
  }
  return hn::AllTrue(df, hn::Eq(hn::Add(acc0, acc1), hn::Zero(df)));
}

// acc[r] = <x + off[r], y + off[r]> over D floats for n <= Lanes() rows, each summed with one MulAdd
// per d in order d = 0, 1, ..., as AbtTile sums dP = <dO, v> (with one visible key, out = v and
// dS = P (dP - delta) is then exactly 0). The lanes run along the rows, so that the rows' dependency
// chains overlap (one scalar row at a time was latency-bound). On AVX-512 with 16 rows and D % 16 == 0
// by 16×16 transposes, else through a transposed copy in a small buffer.
void DotRows(const float* HWY_RESTRICT x, const float* HWY_RESTRICT y, const int64_t* off, int64_t n, int64_t D,
             float* HWY_RESTRICT acc) {
  const DF df;
  const int64_t L = Lanes();
  VF a = hn::Zero(df);
#ifdef ATTN_FLASH_TRANSPOSE16
  if (n == 16 && D % 16 == 0) {
    for (int64_t d0 = 0; d0 < D; d0 += 16) {
      __m512 xr[16], yr[16];
      for (int k = 0; k < 16; ++k) xr[k] = _mm512_loadu_ps(x + off[k] + d0), yr[k] = _mm512_loadu_ps(y + off[k] + d0);
      Transpose16(xr), Transpose16(yr);
      for (int k = 0; k < 16; ++k) a.raw = _mm512_fmadd_ps(xr[k], yr[k], a.raw);
    }
    hn::StoreU(a, df, acc);
    return;
  }
#endif
  constexpr int64_t kChunk = 16;
  HWY_ALIGN float xt[kChunk * kMaxLanes], yt[kChunk * kMaxLanes];
  for (int64_t d0 = 0; d0 < D; d0 += kChunk) {
    const int64_t nd = std::min(kChunk, D - d0);
    for (int64_t k = 0; k < L; ++k)
      for (int64_t d = 0; d < nd; ++d) {
        xt[d * L + k] = k < n ? x[off[k] + d0 + d] : 0.0f;
        yt[d * L + k] = k < n ? y[off[k] + d0 + d] : 0.0f;
      }
    for (int64_t d = 0; d < nd; ++d) a = hn::MulAdd(hn::Load(df, xt + d * L), hn::Load(df, yt + d * L), a);
  }
  HWY_ALIGN float out[kMaxLanes];
  hn::Store(a, df, out);
  std::copy_n(out, n, acc);
}

// ---- micro-kernels ----

// c[R, NV·N] = a[R, D] · bt[D, NV·N]: one register block of a score-like tile (S or dP).
template <int R, int NV>
HWY_INLINE void AbtTile(const float* HWY_RESTRICT a, int64_t lda, int64_t D, const float* HWY_RESTRICT bt,
                        float* HWY_RESTRICT c) {
  const DF df;
  const size_t n = hn::Lanes(df);
  VF acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = hn::Zero(df);
  for (int64_t d = 0; d < D; ++d) {
    VF bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = hn::Load(df, bt + d * kLd + v * n);
    for (int r = 0; r < R; ++r) {
      const VF ab = hn::Set(df, a[r * lda + d]);
      for (int v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(ab, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) hn::Store(acc[r][v], df, c + r * kLd + v * n);
}

// Columns [c0, c1) (whole vectors) of c[R, :] = a · bt: kVecs vectors at a time, then the rest.
template <int R, int NV>
void AbtRows(const float* a, int64_t lda, int64_t D, const float* bt, int64_t c0, int64_t c1, float* c) {
  const int64_t step = NV * Lanes();
  for (; c0 + step <= c1; c0 += step) AbtTile<R, NV>(a, lda, D, bt + c0, c + c0);
  if constexpr (NV > 1) {
    if (c0 < c1) AbtRows<R, NV - 1>(a, lda, D, bt, c0, c1, c);
  }
}

// c[o, :] += sum_k a[o·a_rs + k·a_ks] · b[k, :] for R output rows and NV vectors of columns, k < nred.
// With (a_rs, a_ks) = (1, kLd) it reads a transposed (dV += Pᵀ dO, dK += dSᵀ Qs); with (kLd, 1),
// straight (dQ += dS K).
template <int R, int NV>
HWY_INLINE void AccTile(const float* HWY_RESTRICT a, int64_t a_rs, int64_t a_ks, int64_t nred,
                        const float* HWY_RESTRICT b, int64_t ldb, float* HWY_RESTRICT c, int64_t ldc) {
  const DF df;
  const size_t n = hn::Lanes(df);
  VF acc[R][NV];
  for (int o = 0; o < R; ++o)
    for (int v = 0; v < NV; ++v) acc[o][v] = hn::LoadU(df, c + o * ldc + v * n);  // c may be an output
  for (int64_t k = 0; k < nred; ++k) {
    VF bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = hn::LoadU(df, b + k * ldb + v * n);  // Q, dO may be in place
    for (int o = 0; o < R; ++o) {
      const VF ab = hn::Set(df, a[o * a_rs + k * a_ks]);
      for (int v = 0; v < NV; ++v) acc[o][v] = hn::MulAdd(ab, bv[v], acc[o][v]);
    }
  }
  for (int o = 0; o < R; ++o)
    for (int v = 0; v < NV; ++v) hn::StoreU(acc[o][v], df, c + o * ldc + v * n);
}

template <int R, int NV>
void AccColumns(const float* a, int64_t a_rs, int64_t a_ks, int64_t nred, const float* b, int64_t ldb, float* c,
                int64_t ldc, int64_t dp, int64_t d0) {
  const int64_t n = Lanes();
  for (; d0 + NV * n <= dp; d0 += NV * n) AccTile<R, NV>(a, a_rs, a_ks, nred, b + d0, ldb, c + d0, ldc);
  if constexpr (NV > 1) {
    if (d0 < dp) AccColumns<R, NV - 1>(a, a_rs, a_ks, nred, b, ldb, c, ldc, dp, d0);
  }
}

template <int R>
void AccRowsDispatch(int rows, const float* a, int64_t a_rs, int64_t a_ks, int64_t nred, const float* b, int64_t ldb,
                     float* c, int64_t ldc, int64_t dp) {
  if constexpr (R > 1) {
    if (rows < R) return AccRowsDispatch<R - 1>(rows, a, a_rs, a_ks, nred, b, ldb, c, ldc, dp);
  }
  AccColumns<R, kVecs>(a, a_rs, a_ks, nred, b, ldb, c, ldc, dp, 0);
}

// dQ += dS·K when the K tile holds NaN/Inf: zero dS entries (masked keys) are skipped, never multiplied.
void DqSafe(int64_t rows, const float* ds, int64_t nk, const float* kr, int64_t ldkr, int64_t dp, float* dq,
            int64_t ldq) {
  const DF df;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < nk; ++j) {
      const float x = ds[r * kLd + j];
      if (x == 0.0f) continue;
      for (int64_t d = 0; d < dp; d += Lanes()) {
        float* o = dq + r * ldq + d;
        hn::StoreU(hn::MulAdd(hn::Set(df, x), hn::LoadU(df, kr + j * ldkr + d), hn::LoadU(df, o)), df, o);
      }
    }
}

// ---- score rows ----

// Softcap (keeping its slope in g), ALiBi and the additive mask for query row i over the tile's
// columns [c0, c1) (keys kb + c; c1 <= ncp).
void LogitTerms(const AttentionParams& p, int64_t b, int64_t h, int64_t i, int64_t kb, int64_t nk, int64_t c0,
                int64_t c1, float* s, float* g) {
  const DF df;
  const float cap = p.softcap;
  const float slope = p.alibi_slopes != nullptr ? p.alibi_slopes[h] : 0.0f;
  const VF pos = hn::Set(df, static_cast<float>(i + p.offset - kb));
  for (int64_t c = c0; c < c1; c += Lanes()) {
    VF x = hn::Load(df, s + c);
    if (cap > 0.0f) {
      const VF t = hn::Tanh(df, hn::Mul(x, hn::Set(df, 1.0f / cap)));
      x = hn::Mul(hn::Set(df, cap), t);
      hn::Store(hn::NegMulAdd(t, t, hn::Set(df, 1.0f)), df, g + c);
    }
    if (slope != 0.0f) {
      const VF dist = hn::Abs(hn::Sub(pos, hn::Add(hn::Iota(df, 0.0f), hn::Set(df, static_cast<float>(c)))));
      x = hn::NegMulAdd(hn::Set(df, slope), dist, x);
    }
    hn::Store(x, df, s + c);
  }
  if (p.mask != nullptr) {
    const float* mrow = p.mask + b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2];
    for (int64_t c = c0; c < std::min(c1, nk); ++c) {
      const float a = mrow[(kb + c) * p.mask_stride[3]];
      s[c] = a == kNegInf ? kNegInf : s[c] + a;  // overwrite: a NaN score cannot survive
    }
  }
}

struct TileCtx {
  int64_t b, h, hk, i0, kb, nk, ncp;
  bool k_finite;
};

// One row of the block over columns [c0, c1), in place: s (scores) -> P∘Z, ds (dP) -> dS.
void GradRow(const AttentionParams& p, const Workspace& ws, const TileCtx& t, int64_t r, int64_t c0, int64_t c1) {
  const DF df;
  float* sr = ws.s.get() + r * kLd;
  float* dr = ws.ds.get() + r * kLd;
  const float* gr = ws.g.get() + r * kLd;
  const VF lse = hn::Set(df, ws.lo[r] < ws.hi[r] ? ws.lse[r] : 0.0f);
  const VF delta = hn::Set(df, ws.delta[r]);
  const bool cap = p.softcap > 0.0f, drop = p.dropout_p > 0.0f;
  // dS = P (dP - delta) G, exactly 0 where P is (masked keys: dP may be NaN there).
  const auto ds_of = [&](VF pv, int64_t c) {
    VF x = hn::Mul(pv, hn::Sub(hn::Load(df, dr + c), delta));
    if (cap) x = hn::Mul(x, hn::Load(df, gr + c));
    return hn::IfThenZeroElse(hn::Eq(pv, hn::Zero(df)), x);
  };
  for (int64_t c = c0; c < c1; c += Lanes()) {
    const VF pv = FastExp(df, hn::Sub(hn::Load(df, sr + c), lse));
    hn::Store(pv, df, sr + c);
    if (!drop) hn::Store(ds_of(pv, c), df, dr + c);  // one pass without dropout
  }
  if (!drop) return;
  // Dropout: dP ∘= Z, then dS (from the undropped P), then P ∘= Z for dV. (Z·dP, not a select:
  // where P = 0 dS is forced to 0 anyway.)
  HWY_ALIGN float z[kLd];
  const int64_t zn = std::min(c1, t.nk);  // c0 < nk: c0 rounds down a key some row sees
  AttentionDropoutRow(p, t.b, t.h, t.i0 + r, t.kb + c0, zn - c0, z + c0);
  std::fill(z + zn, z + c1, 0.0f);
  for (int64_t c = c0; c < c1; c += Lanes()) {
    const VF zv = hn::Load(df, z + c), pv = hn::Load(df, sr + c);
    hn::Store(hn::Mul(hn::Load(df, dr + c), zv), df, dr + c);
    hn::Store(ds_of(pv, c), df, dr + c);
    hn::Store(hn::Mul(pv, zv), df, sr + c);
  }
}

// Scores, dP and the elementwise gradient step of block rows r0..r0+R-1.
template <int R>
void GradRows(const AttentionParams& p, Workspace& ws, const TileCtx& t, int64_t r0) {
  // Only the whole vectors [c0, c1) that hold the keys these rows see are computed (on the causal
  // diagonal about half the tile); inside them -inf outside each row's band, outside them P = dS = 0
  // written directly (the accumulations may read them for rows next to ones that see those keys).
  int64_t lo_min = kLd, hi_max = 0;
  for (int64_t r = r0; r < r0 + R; ++r)
    if (ws.lo[r] < ws.hi[r]) lo_min = std::min(lo_min, ws.lo[r]), hi_max = std::max(hi_max, ws.hi[r]);
  const int64_t c0 = hi_max > 0 ? lo_min / Lanes() * Lanes() : 0, c1 = hi_max > 0 ? RoundUp(hi_max, Lanes()) : 0;
  if (c0 < c1) {
    AbtRows<R, kVecs>(ws.qb + r0 * ws.dp, ws.dp, p.D, ws.kt.get(), c0, c1, ws.s.get() + r0 * kLd);
    AbtRows<R, kVecs>(ws.gb + r0 * ws.ldg, ws.ldg, p.D, ws.vt.get(), c0, c1, ws.ds.get() + r0 * kLd);
  }
  const bool terms = attention_has_logit_terms(p);
  for (int64_t r = r0; r < r0 + R; ++r) {
    float* sr = ws.s.get() + r * kLd;
    float* dr = ws.ds.get() + r * kLd;
    ZeroVectors(sr, c0), ZeroVectors(dr, c0);
    ZeroVectors(sr + c1, t.ncp - c1), ZeroVectors(dr + c1, t.ncp - c1);
    if (c0 >= c1) continue;
    if (terms) LogitTerms(p, t.b, t.h, t.i0 + r, t.kb, t.nk, c0, c1, sr, ws.g.get() + r * kLd);
    std::fill(sr + c0, sr + std::clamp(ws.lo[r], c0, c1), kNegInf);
    std::fill(sr + std::clamp(ws.hi[r], c0, c1), sr + c1, kNegInf);
    GradRow(p, ws, t, r, c0, c1);
  }
}

template <int R>
void GradRowsDispatch(int rows, const AttentionParams& p, Workspace& ws, const TileCtx& t, int64_t r0) {
  if constexpr (R > 1) {
    if (rows < R) return GradRowsDispatch<R - 1>(rows, p, ws, t, r0);
  }
  GradRows<R>(p, ws, t, r0);
}

// Loads the block's rows (Q, dO, lse, delta, bands relative to and clamped to the tile; empty for
// fully masked rows); false if none sees a key.
// Qs is packed; dO is read in place when its rows are whole vectors, else packed with zero padding.
bool PackBlock(const AttentionParams& p, const Plan& pl, Workspace& ws, const TileCtx& t, int64_t rows) {
  const int64_t row0 = (t.b * p.H + t.h) * p.T + t.i0;
  bool any = false;
  for (int64_t r = 0; r < rows; ++r) {
    ws.lse[r] = pl.lse[row0 + r];
    ws.delta[r] = ws.delta_item[t.h % (p.H / p.Hkv) * p.T + t.i0 + r];
    const bool dead = ws.lse[r] == kNegInf;  // fully masked row: no gradient
    ws.lo[r] = dead ? 0 : std::clamp<int64_t>(pl.lo[t.b * p.T + t.i0 + r] - t.kb, 0, t.nk);
    ws.hi[r] = dead ? 0 : std::clamp<int64_t>(pl.hi[t.b * p.T + t.i0 + r] - t.kb, ws.lo[r], t.nk);
    any = any || ws.lo[r] < ws.hi[r];
  }
  if (!any) return false;
  const int64_t qo = t.b * p.q_stride[0] + t.h * p.q_stride[1] + t.i0 * p.q_stride[2];
  const int64_t oo = t.b * p.o_stride[0] + t.h * p.o_stride[1] + t.i0 * p.o_stride[2];
  if (ws.qc == nullptr) {
    PackRows(p.q + qo, p.q_stride[2], p.D, rows, ws.dp, p.scale, ws.q.get());
    ws.qb = ws.q.get();
  } else {  // packed once per item: the first tile that needs a row packs it
    const int64_t r0 = t.h % (p.H / p.Hkv) * p.T + t.i0;  // the block's first row in qc
    ws.qb = ws.qc.get() + r0 * ws.dp;
    for (int64_t r = 0; r < rows;) {
      if (ws.qc_done[r0 + r]) {
        ++r;
        continue;
      }
      int64_t e = r;
      while (e < rows && !ws.qc_done[r0 + e]) ws.qc_done[r0 + e++] = 1;
      PackRows(p.q + qo + r * p.q_stride[2], p.q_stride[2], p.D, e - r, ws.dp, p.scale, ws.qc.get() + (r0 + r) * ws.dp);
      r = e;
    }
  }
  if (ws.dp == p.D) {
    ws.gb = pl.dout + oo, ws.ldg = p.o_stride[2];
  } else {
    PackRows(pl.dout + oo, p.o_stride[2], p.D, rows, ws.dp, 1.0f, ws.go.get());
    ws.gb = ws.go.get(), ws.ldg = ws.dp;
  }
  return true;
}

// Rows of the block that see any of the tile's keys [c0, c1): [*first, *last), empty when none.
void RowsSeeing(const Workspace& ws, int64_t rows, int64_t c0, int64_t c1, int64_t* first, int64_t* last) {
  *first = rows, *last = 0;
  for (int64_t r = 0; r < rows; ++r)
    if (ws.lo[r] < ws.hi[r] && ws.lo[r] < c1 && ws.hi[r] > c0) *first = std::min(*first, r), *last = r + 1;
}

// Keys of the tile that rows [r0, r1) see: [*k0, *k1), empty when none.
void KeysSeen(const Workspace& ws, int64_t r0, int64_t r1, int64_t* k0, int64_t* k1) {
  *k0 = kLd, *k1 = 0;
  for (int64_t r = r0; r < r1; ++r)
    if (ws.lo[r] < ws.hi[r]) *k0 = std::min(*k0, ws.lo[r]), *k1 = std::max(*k1, ws.hi[r]);
}

// One block of query rows against the packed K/V tile: the five products of step 3. The three
// accumulations run over the (row, key) pairs inside the bands only — outside them P and dS are 0
// (on the causal diagonal that is half the tile).
void BlockBackward(const AttentionParams& p, const Plan& pl, Workspace& ws, const TileCtx& t, int64_t rows,
                   float* dq, int64_t ldq) {
  if (!PackBlock(p, pl, ws, t, rows)) return;
  for (int64_t r0 = 0; r0 < rows; r0 += kRows)
    GradRowsDispatch<kRows>(static_cast<int>(std::min<int64_t>(kRows, rows - r0)), p, ws, t, r0);
  const int64_t dp = ws.dp;
  for (int64_t o = 0; o < t.nk; o += kRows) {  // dV += (P∘Z)ᵀ dO, dK += dSᵀ Qs for kRows keys
    const int R = static_cast<int>(std::min<int64_t>(kRows, t.nk - o));
    int64_t f, l;
    RowsSeeing(ws, rows, o, o + R, &f, &l);
    if (f >= l) continue;
    AccRowsDispatch<kRows>(R, ws.s.get() + f * kLd + o, 1, kLd, l - f, ws.gb + f * ws.ldg, ws.ldg,
                           ws.dv_acc + o * ws.ldv, ws.ldv, dp);
    AccRowsDispatch<kRows>(R, ws.ds.get() + f * kLd + o, 1, kLd, l - f, ws.qb + f * dp, dp,
                           ws.dk_acc + o * ws.ldk, ws.ldk, dp);
  }
  if (!t.k_finite) return DqSafe(rows, ws.ds.get(), t.nk, ws.kb, ws.ldkr, dp, dq, ldq);
  for (int64_t r = 0; r < rows; r += kRows) {  // dQ += dS K for kRows rows
    const int R = static_cast<int>(std::min<int64_t>(kRows, rows - r));
    int64_t k0, k1;
    KeysSeen(ws, r, r + R, &k0, &k1);
    if (k0 >= k1) continue;
    AccRowsDispatch<kRows>(R, ws.ds.get() + r * kLd + k0, kLd, 1, k1 - k0, ws.kb + k0 * ws.ldkr, ws.ldkr, dq + r * ldq,
                           ldq, dp);
  }
}

// Step 1 for the item: delta of the T rows of each of its query heads (0 for fully masked rows).
// Here rather than in a pass of its own over all rows (that pass, memory-bound on out, which nothing
// else reads, cost ~6 % of the backward at T = 256): out's misses now overlap the item's products.
// Other chunks' items compute the same values.
void ItemDelta(const AttentionParams& p, const Plan& pl, Workspace& ws, int64_t b, int64_t hk) {
  const int64_t group = p.H / p.Hkv, L = Lanes();
  int64_t off[kMaxLanes];
  for (int64_t hr = 0; hr < group; ++hr) {
    const int64_t h = hk * group + hr;
    const float* lse = pl.lse + (b * p.H + h) * p.T;
    float* delta = ws.delta_item.data() + hr * p.T;
    for (int64_t i0 = 0; i0 < p.T; i0 += L) {
      const int64_t n = std::min(L, p.T - i0);
      for (int64_t k = 0; k < n; ++k) off[k] = b * p.o_stride[0] + h * p.o_stride[1] + (i0 + k) * p.o_stride[2];
      DotRows(pl.dout, pl.out, off, n, p.D, delta + i0);
    }
    for (int64_t i = 0; i < p.T; ++i)
      if (lse[i] == kNegInf) delta[i] = 0.0f;
  }
}

// Work item (b, kv head hk, chunk c): every key tile of the chunk against every row that sees it.
// dQ accumulates (unscaled) in the chunk's partial rows, or when dq_direct in dq's rows themselves,
// scaled in place at the end (what ReduceDq does with one chunk, while the rows are still in L2).
void ItemBackward(const AttentionParams& p, const Plan& pl, Workspace& ws, int64_t b, int64_t hk, int64_t c) {
  const int64_t group = p.H / p.Hkv, dp = ws.dp;
  const auto dq_row = [&](int64_t h, int64_t i) {
    return pl.dq_direct ? pl.dqs.row_ptr(pl.dq, b, h, i)
                        : pl.dqp.get() + ((c * p.B + b) * p.H + h) * p.T * dp + i * dp;
  };
  const int64_t ldq = pl.dq_direct ? pl.dqs.row : dp;
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
    for (int64_t i = 0; i < p.T; ++i) ZeroRow(dq_row(h, i), pl.dq_direct ? p.D : dp);
  std::fill(ws.qc_done.begin(), ws.qc_done.end(), 0);
  ItemDelta(p, pl, ws, b, hk);
  const int64_t* lo = pl.lo.data() + b * p.T;
  const int64_t* hi = pl.hi.data() + b * p.T;
  const int64_t* bounds = pl.bounds.data() + b * (pl.n_chunks + 1);
  for (int64_t tile = bounds[c]; tile < bounds[c + 1]; ++tile) {
    TileCtx t{b, 0, hk, 0, tile * kLd, std::min(kLd, p.S - tile * kLd), 0, true};
    t.ncp = RoundUp(t.nk, kVecs * Lanes());
    const float* k = p.k + b * p.k_stride[0] + hk * p.k_stride[1] + t.kb * p.k_stride[2];
    const float* v = p.v + b * p.v_stride[0] + hk * p.v_stride[1] + t.kb * p.v_stride[2];
    PackT(k, p.k_stride[2], p.D, t.nk, t.ncp, ws.kt.get());
    PackT(v, p.v_stride[2], p.D, t.nk, t.ncp, ws.vt.get());
    if (dp == p.D) {  // K rows read in place
      ws.kb = k, ws.ldkr = p.k_stride[2];
    } else {
      PackRows(k, p.k_stride[2], p.D, t.nk, dp, 1.0f, ws.kr.get());
      ws.kb = ws.kr.get(), ws.ldkr = dp;
    }
    t.k_finite = AllFinite(ws.kb, ws.ldkr, t.nk, dp);
    // dK, dV accumulate in the outputs' rows when those are whole vectors, else in ws.dk, ws.dv.
    const bool in_place = dp == p.D;
    ws.dk_acc = in_place ? pl.dks.row_ptr(pl.dk, b, hk, t.kb) : ws.dk.get();
    ws.dv_acc = in_place ? pl.dvs.row_ptr(pl.dv, b, hk, t.kb) : ws.dv.get();
    ws.ldk = in_place ? pl.dks.row : dp, ws.ldv = in_place ? pl.dvs.row : dp;
    for (int64_t j = 0; j < t.nk; ++j) ZeroVectors(ws.dk_acc + j * ws.ldk, dp), ZeroVectors(ws.dv_acc + j * ws.ldv, dp);
    // Rows that may see the tile form one range: both band ends are non-decreasing in i.
    const int64_t i_begin = std::upper_bound(hi, hi + p.T, t.kb) - hi;
    const int64_t i_end = std::max(i_begin, std::lower_bound(lo, lo + p.T, t.kb + t.nk) - lo);
    for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
      for (int64_t i0 = i_begin; i0 < i_end; i0 += kBr) {
        t.h = h, t.i0 = i0;
        BlockBackward(p, pl, ws, t, std::min(kBr, i_end - i0), dq_row(h, i0), ldq);
      }
    for (int64_t j = 0; j < t.nk && !in_place; ++j) {
      std::copy_n(ws.dk.get() + j * dp, p.D, pl.dks.row_ptr(pl.dk, b, hk, t.kb + j));
      std::copy_n(ws.dv.get() + j * dp, p.D, pl.dvs.row_ptr(pl.dv, b, hk, t.kb + j));
    }
  }
  if (!pl.dq_direct) return;
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
    for (int64_t i = 0; i < p.T; ++i) ScaleRow(dq_row(h, i), p.D, p.scale);
}


// Step 4 (unless dq_direct): dq = scale · sum_c dqp[c], chunk by chunk in order.
void ReduceDq(const AttentionParams& p, const Plan& pl, float* dq) {
  const int64_t rows = p.B * p.H * p.T, part = rows * pl.dp;
#pragma omp parallel for schedule(static) num_threads(attn::num_threads())
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / (p.H * p.T), h = (r / p.T) % p.H, i = r % p.T;
    float* dst = pl.dqs.row_ptr(dq, b, h, i);
    for (int64_t d = 0; d < p.D; ++d) {
      float acc = pl.dqp[r * pl.dp + d];
      for (int64_t c = 1; c < pl.n_chunks; ++c) acc += pl.dqp[c * part + r * pl.dp + d];
      dst[d] = acc * p.scale;
    }
  }
}

}  // namespace

void BackwardImpl(const AttentionParams& p, const float* out, const float* dout, const float* lse, float* dq,
                  float* dk, float* dv) {
  Plan pl(p, out, dout, lse, dq, dk, dv, kLd);
  if (p.B * p.H * p.T * p.D == 0) {  // no query rows: zero key gradients (otherwise every K/V tile
    zero_kv_grad(p, dk, pl.dks);     // belongs to one chunk's item, which writes it)
    zero_kv_grad(p, dv, pl.dvs);
    return;
  }
  pl.dp = RoundUp(p.D, Lanes());
  pl.dq_direct = pl.n_chunks == 1 && pl.dp == p.D;
  if (!pl.dq_direct) pl.dqp = hwy::AllocateAligned<float>(pl.n_chunks * p.B * p.H * p.T * pl.dp);
  attention_backward_bands(p, pl.n_chunks, pl.lo, pl.hi, pl.bounds);  // step 2 (step 1: ItemDelta)
  const int64_t n_items = p.B * p.Hkv * pl.n_chunks;
  const int nt = static_cast<int>(std::min<int64_t>(attn::num_threads(), n_items));
#pragma omp parallel num_threads(nt)
  {
    Workspace ws(p);
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < n_items; ++it)
      ItemBackward(p, pl, ws, it / (p.Hkv * pl.n_chunks), (it / pl.n_chunks) % p.Hkv, it % pl.n_chunks);
  }
  if (!pl.dq_direct) ReduceDq(p, pl, dq);
}

}  // namespace HWY_NAMESPACE
}  // namespace attn::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {

int64_t attention_backward_chunks(const AttentionParams& p) {
  // Aim for >= 16 work items so that a few threads balance; each chunk costs one dQ partial, so keep
  // the partials under kAttnBwdPartialBytes (MQA with many heads would otherwise pay 8 x |dQ|).
  const int64_t n_tiles = (p.S + kAttnBwdTileKeys - 1) / kAttnBwdTileKeys;
  const int64_t groups = std::max<int64_t>(p.B * p.Hkv, 1);
  const int64_t want = (16 + groups - 1) / groups;
  const int64_t dq_bytes = std::max<int64_t>(p.B * p.H * p.T * p.D * int64_t{sizeof(float)}, 1);
  const int64_t by_memory = kAttnBwdPartialBytes / dq_bytes;
  return std::max<int64_t>(1, std::min({want, kAttnBwdMaxChunks, n_tiles, by_memory}));
}

void attention_backward_bands(const AttentionParams& p, int64_t n_chunks, std::vector<int64_t>& lo,
                              std::vector<int64_t>& hi, std::vector<int64_t>& bounds) {
  const int64_t kTile = kAttnBwdTileKeys, n_tiles = (p.S + kTile - 1) / kTile;
  lo.resize(p.B * p.T), hi.resize(p.B * p.T);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t i = 0; i < p.T; ++i) attention_key_band(p, b, i, &lo[b * p.T + i], &hi[b * p.T + i]);
  bounds.assign(p.B * (n_chunks + 1), 0);
  std::vector<int64_t> work(n_tiles + 1);
  for (int64_t b = 0; b < p.B; ++b) {
    std::fill(work.begin(), work.end(), 1);
    work[n_tiles] = 0;
    for (int64_t i = 0; i < p.T; ++i) {
      const int64_t l = lo[b * p.T + i], h = hi[b * p.T + i];
      for (int64_t tile = l / kTile; tile * kTile < h; ++tile)
        work[tile] += std::min(h, (tile + 1) * kTile) - std::max(l, tile * kTile);
    }
    int64_t total = 0;
    for (int64_t tile = 0; tile < n_tiles; ++tile) total += work[tile];
    int64_t* bb = bounds.data() + b * (n_chunks + 1);
    int64_t acc = 0, tile = 0;
    for (int64_t c = 1; c < n_chunks; ++c) {
      while (tile < n_tiles && acc * n_chunks < total * c) acc += work[tile++];
      bb[c] = tile;
    }
    bb[n_chunks] = n_tiles;
  }
}

HWY_EXPORT(BackwardImpl);

void attention_backward_flash(const AttentionParams& p, const float* out, const float* dout, const float* lse,
                              float* dq, float* dk, float* dv) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(BackwardImpl)(p, out, dout, lse, dq, dk, dv);
}

}  // namespace attn::kernels
#endif  // HWY_ONCE
