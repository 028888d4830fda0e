// kernels/cpu/philox-inl.h — Philox4x32-10 for 8 consecutive counters at once (attn::philox4x32's
// stream, bit for bit), and the attention dropout row built on it. Shared by element dropout
// (cpu/dropout.cpp) and the flash attention kernels' dropout (forward and backward must draw the
// same bits). Included once per Highway target (toggled include guard, Highway's -inl.h convention).
//
// The 32-bit state words sit in 64-bit lanes: MulEven multiplies the low halves into the full 64-bit
// product (hi = >> 32, lo = & mask), so one vector advances 8 counters on AVX-512 (4 on AVX2); the
// key schedule is the same for every lane.

// Per-target include guard.
#if defined(ATTN_KERNELS_CPU_PHILOX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTN_KERNELS_CPU_PHILOX_INL_H_
#undef ATTN_KERNELS_CPU_PHILOX_INL_H_
#else
#define ATTN_KERNELS_CPU_PHILOX_INL_H_
#endif

#include <attn/rng.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

#include "kernels/attention_params.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// words[8·w + l] = word w of philox4x32(key, counter_hi, lo0 + l) for l < 8 (word-major).
HWY_INLINE void Philox8(uint64_t key, uint64_t counter_hi, uint64_t lo0, uint32_t* HWY_RESTRICT words) {
#if HWY_TARGET == HWY_SCALAR
  for (uint64_t l = 0; l < 8; ++l) {
    const auto r = philox4x32(key, counter_hi, lo0 + l);
    for (int w = 0; w < 4; ++w) words[8 * w + l] = r[w];
  }
#else
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  const hn::ScalableTag<uint64_t> d;
  const hn::Repartition<uint32_t, decltype(d)> d32;
  const size_t N = hn::Lanes(d);
  const auto lo32 = hn::Set(d, 0xffffffffull);
  const auto m0 = hn::BitCast(d32, hn::Set(d, kM0)), m1 = hn::BitCast(d32, hn::Set(d, kM1));
  HWY_ALIGN uint64_t out[HWY_MAX_BYTES / sizeof(uint64_t)];
  for (size_t l0 = 0; l0 < 8; l0 += N) {
    const auto ctr = hn::Iota(d, lo0 + l0);  // counter_lo wraps mod 2^64 like the scalar's
    auto c0 = hn::And(ctr, lo32), c1 = hn::ShiftRight<32>(ctr);
    auto c2 = hn::Set(d, counter_hi & 0xffffffffull), c3 = hn::Set(d, counter_hi >> 32);
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round, k0 += kW0, k1 += kW1) {
      const auto p0 = hn::MulEven(hn::BitCast(d32, c0), m0);
      const auto p1 = hn::MulEven(hn::BitCast(d32, c2), m1);
      c0 = hn::Xor(hn::Xor(hn::ShiftRight<32>(p1), c1), hn::Set(d, k0));
      c2 = hn::Xor(hn::Xor(hn::ShiftRight<32>(p0), c3), hn::Set(d, k1));
      c1 = hn::And(p1, lo32);
      c3 = hn::And(p0, lo32);
    }
    const decltype(c0) word[4] = {c0, c1, c2, c3};
    for (int w = 0; w < 4; ++w) {
      hn::Store(word[w], d, out);
      for (size_t l = 0; l < N && l0 + l < 8; ++l) words[8 * w + l0 + l] = static_cast<uint32_t>(out[l]);
    }
  }
#endif
}

// uint_to_unit_float(w) >= p  <=>  (w >> 8) >= p·2^24  <=>  (w >> 8) >= ceil(p·2^24) (exact in double).
HWY_INLINE uint32_t DropoutThreshold(float p) {
  return static_cast<uint32_t>(std::ceil(static_cast<double>(p) * 16777216.0));
}

// Attention dropout multipliers of query row i for keys kb..kb+nk (z[c] = 0 or 1/(1-p)): exactly
// attention_dropout_scale's decisions (element idx takes word idx % 4 of block idx / 4). Per chunk of
// up to 64 keys: the covering blocks, 8 per Philox8 call, decided on vectors in Philox8's word-major
// order, then reordered block-major (element order) and the chunk's range copied out.
HWY_INLINE void AttentionDropoutRow(const AttentionParams& p, int64_t b, int64_t h, int64_t i, int64_t kb, int64_t nk,
                                    float* HWY_RESTRICT z) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const size_t L = hn::Lanes(df);
  const auto thr = hn::Set(di, static_cast<int32_t>(DropoutThreshold(p.dropout_p)));
  const auto keep = hn::Set(df, 1.0f / (1.0f - p.dropout_p));
  HWY_ALIGN uint32_t words[32];
  HWY_ALIGN float word_major[32];
  HWY_ALIGN float dec[96];  // decisions of up to 24 blocks, element order
  for (int64_t c0 = 0; c0 < nk; c0 += 64) {
    const int64_t cnt = std::min<int64_t>(64, nk - c0);
    const uint64_t base = static_cast<uint64_t>(((b * p.H + h) * p.T + i) * p.S + kb + c0);
    const uint64_t blk0 = base >> 2, off = base & 3;
    const uint64_t nblocks = (off + static_cast<uint64_t>(cnt) + 3) / 4;  // <= 17
    for (uint64_t q = 0; 8 * q < nblocks; ++q) {
      Philox8(p.dropout_seed, p.dropout_offset, blk0 + 8 * q, words);
      for (size_t k = 0; k < 32; k += L) {  // (word >> 8) < 2^24 compares exactly as a signed int
        const auto u = hn::BitCast(di, hn::ShiftRight<8>(hn::Load(hn::RebindToUnsigned<decltype(df)>(), words + k)));
        hn::Store(hn::IfThenZeroElse(hn::RebindMask(df, hn::Gt(thr, u)), keep), df, word_major + k);
      }
      for (int l = 0; l < 8; ++l)
        for (int w = 0; w < 4; ++w) dec[32 * q + 4 * l + w] = word_major[8 * w + l];
    }
    std::copy_n(dec + off, cnt, z + c0);
  }
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
