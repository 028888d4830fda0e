// kernels/cpu/flash_bf16-inl.h — pieces shared by the bf16 flash forward and backward
// (flash_attention_bf16.cpp, flash_attention_bf16_backward.cpp): AVX512-BF16 intrinsics, the one
// product micro-kernel, the exp, and the packed K/V tiles. Internal to those two files.
//
// Highway 1.0.3 has no vdpbf16ps, so these are raw intrinsics in functions compiled for
// avx512f/bw/vl/dq/bf16 (ATTN_BF16); callers reach them only after attention_bf16_applicable()
// has checked the CPU, so the rest of the library still runs on AVX2-only machines.
//
// Operand layout of vdpbf16ps: a 512-bit vector holds 16 output columns × 2 consecutive elements
// of the reduction dimension (a "pair", one u32 = low bf16 first); the other operand is one pair
// broadcast to all 16 lanes. Per lane: acc += a.hi·b.hi + a.lo·b.lo, products exact in f32.
#pragma once

// GCC 12's AVX-512 intrinsics (set1, reductions) start from _mm512_undefined_*, which
// -W(maybe-)uninitialized reports at every inlined use; the values are fully defined. The report comes
// where the intrinsics are inlined, so a push/pop around this include does not silence it: the
// including file (the two bf16 kernels and their test) goes without that warning.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <attn/allocator.h>

#include "kernels/attention_params.h"

#define ATTN_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

namespace attn::kernels::bf16 {

constexpr int64_t kTile = 64;     // keys per K/V tile; query rows per block
constexpr int64_t kLd = kTile;    // row stride (f32 or u32 pairs) of the score tiles
constexpr int kRows = 6, kVecs = 4;  // register block: 6 rows × 4 vectors = 24 of 32 zmm

// 16 f32 -> 16 bf16, round to nearest even (NaN stays NaN).
ATTN_BF16 inline __m256i Cvt16(__m512 x) { return (__m256i)_mm512_cvtneps_pbh(x); }

// dst[c] = bf16(mul·src[c]) for c < n (n % 16 == 0): a row whose pairs run along it.
ATTN_BF16 inline void ToBf16(const float* src, int64_t n, float mul, uint16_t* dst) {
  const __m512 m = _mm512_set1_ps(mul);
  for (int64_t c = 0; c < n; c += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c), Cvt16(_mm512_mul_ps(_mm512_loadu_ps(src + c), m)));
}
ATTN_BF16 inline void ToBf16(const float* src, int64_t n, uint16_t* dst) {  // mul = 1
  for (int64_t c = 0; c < n; c += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c), Cvt16(_mm512_loadu_ps(src + c)));
}

// Lane i of the result = pair (bf16(lo[i]), bf16(hi[i])), low half first: one two-source convert and
// one word permutation (instead of two converts, two widenings, a shift and an or).
ATTN_BF16 inline __m512i PackPairs(__m512 lo, __m512 hi) {
  const __m512i x = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // words [lo0..lo15, hi0..hi15]
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, x);
}

// dst[c] = pair (bf16(mul·r0[c]), bf16(mul·r1[c])) for c < n (n % 16 == 0): two rows whose pairs
// run across them (the reduction runs over rows). r1 null = a zero row (odd row counts).
ATTN_BF16 inline void Interleave(const float* r0, const float* r1, int64_t n, float mul, uint32_t* dst) {
  const __m512 m = _mm512_set1_ps(mul);
  for (int64_t c = 0; c < n; c += 16) {
    const __m512 hi = r1 != nullptr ? _mm512_mul_ps(_mm512_loadu_ps(r1 + c), m) : _mm512_setzero_ps();
    _mm512_storeu_si512(dst + c, PackPairs(_mm512_mul_ps(_mm512_loadu_ps(r0 + c), m), hi));
  }
}
ATTN_BF16 inline void Interleave(const float* r0, const float* r1, int64_t n, uint32_t* dst) {  // mul = 1
  for (int64_t c = 0; c < n; c += 16) {
    const __m512 hi = r1 != nullptr ? _mm512_loadu_ps(r1 + c) : _mm512_setzero_ps();
    _mm512_storeu_si512(dst + c, PackPairs(_mm512_loadu_ps(r0 + c), hi));
  }
}

constexpr float kLog2e = 1.4426950408889634f;

// e^(x - y) given yl = y·log2 e, as 2^t with t = x·log2 e - yl (one FMA): a degree-5 fit of 2^f on
// [-0.5, 0.5] (relative error 8e-8, 2e-7 after f32 rounding) times 2^round(t) by vscalefps. Callers
// pass x - y <= ~0 (a score minus a running max or the lse), so there is no upper clamp; results
// below 2^-126 (x = -inf included) are exactly 0; NaN stays NaN (the second operand of max).
// The forward and the backward both take their p from this one function.
ATTN_BF16 inline __m512 ExpDiff(__m512 x, __m512 yl) {
  const __m512 t = _mm512_fmsub_ps(x, _mm512_set1_ps(kLog2e), yl);
  const __m512 tc = _mm512_max_ps(_mm512_set1_ps(-127.0f), t);
  const __m512 n = _mm512_roundscale_ps(tc, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(tc, n);
  __m512 r = _mm512_set1_ps(0.001326697038634397f);
  r = _mm512_fmadd_ps(r, f, _mm512_set1_ps(0.009675459745517848f));
  r = _mm512_fmadd_ps(r, f, _mm512_set1_ps(0.055507426160024693f));
  r = _mm512_fmadd_ps(r, f, _mm512_set1_ps(0.24022121753561626f));
  r = _mm512_fmadd_ps(r, f, _mm512_set1_ps(0.6931469491610633f));
  r = _mm512_fmadd_ps(r, f, _mm512_set1_ps(1.0000000710296983f));
  const __mmask16 tiny = _mm512_cmp_ps_mask(t, _mm512_set1_ps(-126.0f), _CMP_LT_OQ);
  return _mm512_maskz_scalef_ps(static_cast<__mmask16>(~tiny), r, n);  // r·2^n
}

// ---- the product micro-kernel ----

// c[o, v·16 + lane] (+)= Σ_{k2 < n2} pair(a[o·a_rs + k2·a_ks]) · pair(b[k2·ldb + v·16 + lane]) for
// R output rows and NV vectors of 16 columns; accumulates onto c when acc_in (first scaled per
// column by col_scale[v·16 + lane] when that is given), else starts from 0. col_max, when given,
// takes the maximum of each column of the result into col_max[v·16 + lane].
// Each output element is one vdpbf16ps chain in ascending k2, whatever R and NV are (the scores'
// forward/backward agreement rests on this).
template <int R, int NV>
ATTN_BF16 inline void DpTile(const uint32_t* __restrict a, int64_t a_rs, int64_t a_ks, int64_t n2,
                             const uint32_t* __restrict b, int64_t ldb, float* __restrict c, int64_t ldc, bool acc_in,
                             const float* __restrict col_scale, float* __restrict col_max) {
  __m512 acc[R][NV];
  for (int o = 0; o < R; ++o)
    for (int v = 0; v < NV; ++v) acc[o][v] = acc_in ? _mm512_loadu_ps(c + o * ldc + v * 16) : _mm512_setzero_ps();
  if (acc_in && col_scale != nullptr)
    for (int v = 0; v < NV; ++v) {
      const __m512 sc = _mm512_loadu_ps(col_scale + v * 16);
      for (int o = 0; o < R; ++o) acc[o][v] = _mm512_mul_ps(acc[o][v], sc);
    }
  for (int64_t k2 = 0; k2 < n2; ++k2) {
    __m512i bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_si512(b + k2 * ldb + v * 16);
    for (int o = 0; o < R; ++o) {
      const __m512i av = _mm512_set1_epi32(static_cast<int>(a[o * a_rs + k2 * a_ks]));
      for (int v = 0; v < NV; ++v) acc[o][v] = _mm512_dpbf16_ps(acc[o][v], (__m512bh)av, (__m512bh)bv[v]);
    }
  }
  for (int o = 0; o < R; ++o)
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(c + o * ldc + v * 16, acc[o][v]);
  if (col_max != nullptr)
    for (int v = 0; v < NV; ++v) {
      __m512 mx = _mm512_loadu_ps(col_max + v * 16);
      for (int o = 0; o < R; ++o) mx = _mm512_max_ps(mx, acc[o][v]);
      _mm512_storeu_ps(col_max + v * 16, mx);
    }
}

// Operands of one product: see DpTile; nvec = column vectors of c (and of b) to compute. Dp and its
// dispatch are always inlined so the struct dissolves into registers: passed through memory, it was
// built with vector stores and read back field by field, stalling store forwarding (≈ 10 % of the
// backward on Zen 4). Callers must be ATTN_BF16 functions themselves.
struct DpArgs {
  const uint32_t* a;
  int64_t a_rs, a_ks, n2;
  const uint32_t* b;
  int64_t ldb, nvec;
  float* c;
  int64_t ldc;
  bool acc_in;
  const float* col_scale = nullptr;  // see DpTile
  float* col_max = nullptr;          // see DpTile
};

template <int R, int NV>
ATTN_BF16 __attribute__((always_inline)) inline void DpColumns(const DpArgs& d, int64_t v0) {
  for (; v0 + NV <= d.nvec; v0 += NV)
    DpTile<R, NV>(d.a, d.a_rs, d.a_ks, d.n2, d.b + v0 * 16, d.ldb, d.c + v0 * 16, d.ldc, d.acc_in,
                  d.col_scale != nullptr ? d.col_scale + v0 * 16 : nullptr,
                  d.col_max != nullptr ? d.col_max + v0 * 16 : nullptr);
  if constexpr (NV > 1) {
    if (v0 < d.nvec) DpColumns<R, NV - 1>(d, v0);
  }
}

template <int R>
ATTN_BF16 __attribute__((always_inline)) inline void DpRowsOf(int rows, const DpArgs& d) {
  if constexpr (R > 1) {
    if (rows < R) return DpRowsOf<R - 1>(rows, d);
  }
  DpColumns<R, kVecs>(d, 0);
}

// The product for `rows` output rows, kRows at a time.
ATTN_BF16 __attribute__((always_inline)) inline void Dp(int64_t rows, DpArgs d) {
  for (int64_t o = 0; o < rows; o += kRows) {
    DpRowsOf<kRows>(static_cast<int>(std::min<int64_t>(kRows, rows - o)), d);
    d.a += kRows * d.a_rs, d.c += kRows * d.ldc;
  }
}

// A scratch array from the host block cache (attn/allocator.h): calls of the same shape reuse the
// blocks instead of paying fresh pages every call. Not zero-initialised; ok() false when out of memory.
template <class T>
class HostBuffer {
 public:
  HostBuffer() = default;
  explicit HostBuffer(int64_t n) : bytes_(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T)) {
    p_ = static_cast<T*>(detail::host_alloc(bytes_));
  }
  HostBuffer(HostBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(o.bytes_) {}
  HostBuffer& operator=(HostBuffer&& o) noexcept {
    std::swap(p_, o.p_), std::swap(bytes_, o.bytes_);
    return *this;
  }
  ~HostBuffer() {
    if (p_ != nullptr) detail::host_free(p_, bytes_);
  }
  T* get() const { return p_; }
  bool ok() const { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
  size_t bytes_ = 0;
};

// ---- dropout: attention_dropout_scale's decisions (attention_params.h), drawn 16 blocks at a time ----

// words[16·w + l] = word w of philox4x32(key, counter_hi, lo0 + l) for l < 16: attn::philox4x32's
// stream bit for bit (as cpu/philox-inl.h's Philox8, in raw intrinsics). The 32-bit state words sit
// in 64-bit lanes so that vpmuludq gives the full 64-bit products.
ATTN_BF16 inline void Philox16(uint64_t key, uint64_t counter_hi, uint64_t lo0, uint32_t* words) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  const __m512i lo32 = _mm512_set1_epi64(0xffffffffll), m0 = _mm512_set1_epi64(kM0), m1 = _mm512_set1_epi64(kM1);
  for (int half = 0; half < 2; ++half) {
    const __m512i ctr = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(lo0 + 8 * half)),
                                         _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));  // wraps mod 2^64
    __m512i c0 = _mm512_and_si512(ctr, lo32), c1 = _mm512_srli_epi64(ctr, 32);
    __m512i c2 = _mm512_set1_epi64(static_cast<long long>(counter_hi & 0xffffffffull));
    __m512i c3 = _mm512_set1_epi64(static_cast<long long>(counter_hi >> 32));
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round, k0 += kW0, k1 += kW1) {
      const __m512i p0 = _mm512_mul_epu32(c0, m0), p1 = _mm512_mul_epu32(c2, m1);
      c0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), c1), _mm512_set1_epi64(k0));
      c2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), c3), _mm512_set1_epi64(k1));
      c1 = _mm512_and_si512(p1, lo32);
      c3 = _mm512_and_si512(p0, lo32);
    }
    const __m512i word[4] = {c0, c1, c2, c3};
    for (int w = 0; w < 4; ++w)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(words + 16 * w + 8 * half), _mm512_cvtepi64_epi32(word[w]));
  }
}

// Decisions of one Philox16 batch in element order: dec[4q + w] = keep or 0 from word w of block q.
// Per 128-bit lane L, two unpack rounds put block 4L+m's four words together (m = 0..3); a 4×4
// transpose of 128-bit lanes then orders the blocks.
ATTN_BF16 inline void DecideBatch(const uint32_t* words, uint32_t thr, float keep, float* dec) {
  __m512 d[4];
  for (int w = 0; w < 4; ++w) {
    const __m512i u = _mm512_srli_epi32(_mm512_loadu_si512(words + 16 * w), 8);  // < 2^24: signed compare ok
    d[w] = _mm512_maskz_mov_ps(_mm512_cmpge_epi32_mask(u, _mm512_set1_epi32(static_cast<int32_t>(thr))),
                               _mm512_set1_ps(keep));
  }
  const __m512 lo01 = _mm512_unpacklo_ps(d[0], d[1]), hi01 = _mm512_unpackhi_ps(d[0], d[1]);
  const __m512 lo23 = _mm512_unpacklo_ps(d[2], d[3]), hi23 = _mm512_unpackhi_ps(d[2], d[3]);
  const __m512 blk[4] = {  // lane L of blk[m] = the 4 words of block 4L + m
      _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(lo01), _mm512_castps_pd(lo23))),
      _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(lo01), _mm512_castps_pd(lo23))),
      _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(hi01), _mm512_castps_pd(hi23))),
      _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(hi01), _mm512_castps_pd(hi23)))};
  const __m512 x0 = _mm512_shuffle_f32x4(blk[0], blk[1], 0x44), x1 = _mm512_shuffle_f32x4(blk[0], blk[1], 0xEE);
  const __m512 y0 = _mm512_shuffle_f32x4(blk[2], blk[3], 0x44), y1 = _mm512_shuffle_f32x4(blk[2], blk[3], 0xEE);
  _mm512_storeu_ps(dec, _mm512_shuffle_f32x4(x0, y0, 0x88));       // blocks 0..3
  _mm512_storeu_ps(dec + 16, _mm512_shuffle_f32x4(x0, y0, 0xDD));  // blocks 4..7
  _mm512_storeu_ps(dec + 32, _mm512_shuffle_f32x4(x1, y1, 0x88));  // blocks 8..11
  _mm512_storeu_ps(dec + 48, _mm512_shuffle_f32x4(x1, y1, 0xDD));  // blocks 12..15
}

// z[c] = attention_dropout_scale(p, b, h, i, kb + c) for c < n (n <= 64): 0 or 1/(1-p), from the
// element's word (idx % 4) of Philox block idx / 4 of the flattened [B,H,T,S] index idx; a draw
// keeps iff uint_to_unit_float(word) >= p, i.e. (word >> 8) >= ceil(p·2^24) (exact in double).
ATTN_BF16 inline void DropoutRow(const AttentionParams& p, int64_t b, int64_t h, int64_t i, int64_t kb, int64_t n,
                                 float* z) {
  const uint64_t base = static_cast<uint64_t>(((b * p.H + h) * p.T + i) * p.S + kb);
  const uint64_t blk0 = base >> 2, off = base & 3;
  const uint32_t thr = static_cast<uint32_t>(std::ceil(static_cast<double>(p.dropout_p) * 16777216.0));
  const float keep = 1.0f / (1.0f - p.dropout_p);
  uint32_t words[64];
  float dec[128];  // element order from element 4·blk0
  const uint64_t nblocks = (off + static_cast<uint64_t>(n) + 3) / 4;  // <= 17
  for (uint64_t q = 0; 16 * q < nblocks; ++q) {
    Philox16(p.dropout_seed, p.dropout_offset, blk0 + 16 * q, words);
    DecideBatch(words, thr, keep, dec + 64 * q);
  }
  std::copy_n(dec + off, n, z);
}

// ---- K/V tiles: PackTile writes one tile of kTile keys in the layouts a caller asks for ----
// kb:     [kTile, D/2] K rows (pairs along D, row = key) — the a operand of Sᵀ = K·Qsᵀ (forward).
// kt, vt: [D/2, kTile] pairs along D (column = key) — the b operand of S = Qs·Kᵀ and dP = dO·Vᵀ.
// kr, vr: [kTile/2, D] pairs along keys (column = head dim) — of dQ += dS·K and O += P·V.
// Keys past S or past key_lengths[b] (seen by no query) are packed as zeros.

// In place 16×16 transpose of u32: r[i] lane c -> r[c] lane i.
ATTN_BF16 void Transpose16(__m512i r[16]);

// Per-thread scratch of PackTile.
struct PackScratch {
  std::vector<float> zero_row;    // [D]
  std::vector<uint32_t> rows_bf;  // [16, D/2 rounded up to 16]: 16 key rows as pairs, zero padded
  explicit PackScratch(int64_t D) : zero_row(D, 0.0f), rows_bf(16 * ((D / 2 + 15) / 16 * 16), 0u) {}
};

// One (b, kv head) tile of kTile rows of k or v, rows `rs` apart (rows past nv read as zeros), into
// the layouts whose pointer is not null: b_out as kb, t_out as kt/vt, r_out as kr/vr. False when a
// row below nv holds NaN/Inf.
ATTN_BF16 bool PackTile(const float* src, int64_t rs, int64_t nv, int64_t D, PackScratch& sc, uint32_t* b_out,
                        uint32_t* t_out, uint32_t* r_out);

}  // namespace attn::kernels::bf16
