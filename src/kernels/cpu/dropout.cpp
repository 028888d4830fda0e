// kernels/cpu/dropout.cpp — SIMD element dropout (see kernels/dropout.h for the draw layout).
//
// Philox4x32-10 runs on 64-bit lanes that each hold one 32-bit value: MulEven multiplies the low
// halves into the full 64-bit product (hi = >> 32, lo = & mask), so one vector advances 8 blocks on
// AVX-512 (4 on AVX2). The key schedule is the same for every lane (scalars per round). A group of 32
// elements takes 8 blocks; their words land in element order in a small buffer, then the keep test
// (integer compare against ceil(p·2^24), exact) and the scaling run on f32 vectors.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/dropout.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/rng.h>
#include <attn/threads.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/dropout.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

constexpr int64_t kGroup = 32;             // elements per group of 8 Philox blocks
constexpr int64_t kGroupsPerItem = 512;    // 16384 elements per parallel work item

// The 32 words of group g in element order: words[8·w + l] = word w of block first + 8·g + l.
HWY_INLINE void GroupWords(uint64_t seed, uint64_t block0, uint32_t* HWY_RESTRICT words) {
#if HWY_TARGET == HWY_SCALAR
  for (int l = 0; l < 8; ++l) {
    const auto r = philox4x32(seed, 0, block0 + static_cast<uint64_t>(l));
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
    const auto ctr = hn::Iota(d, block0 + l0);
    auto c0 = hn::And(ctr, lo32), c1 = hn::ShiftRight<32>(ctr), c2 = hn::Zero(d), c3 = hn::Zero(d);
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
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

// Elements [g0·32, min(n, g1·32)).
void DropoutGroups(const float* x, float* y, int64_t n, int64_t g0, int64_t g1, uint32_t threshold, float scale,
                   uint64_t seed, uint64_t first) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const hn::RebindToUnsigned<DF> du;
  const int64_t L = static_cast<int64_t>(hn::Lanes(df));
  const auto thr = hn::Set(di, static_cast<int32_t>(threshold));
  const VF sv = hn::Set(df, scale);
  HWY_ALIGN uint32_t words[kGroup];
  for (int64_t g = g0; g < g1; ++g) {
    GroupWords(seed, first + 8 * static_cast<uint64_t>(g), words);
    const int64_t e0 = g * kGroup, count = std::min(kGroup, n - e0);
    int64_t i = 0;
    for (; i + L <= count; i += L) {  // (word >> 8) < 2^24 compares exactly as a signed int
      const auto u = hn::BitCast(di, hn::ShiftRight<8>(hn::Load(du, words + i)));
      const VF v = hn::Mul(hn::LoadU(df, x + e0 + i), sv);
      hn::StoreU(hn::IfThenZeroElse(hn::RebindMask(df, hn::Gt(thr, u)), v), df, y + e0 + i);  // dropped: thr > u
    }
    for (; i < count; ++i) y[e0 + i] = (words[i] >> 8) >= threshold ? x[e0 + i] * scale : 0.0f;
  }
}

void DropoutImpl(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t first) {
  // uint_to_unit_float(w) >= p  <=>  (w >> 8) >= p·2^24  <=>  (w >> 8) >= ceil(p·2^24) (exact in double).
  const auto threshold = static_cast<uint32_t>(std::ceil(static_cast<double>(p) * 16777216.0));
  const float scale = 1.0f / (1.0f - p);
  const int64_t groups = (n + kGroup - 1) / kGroup, items = (groups + kGroupsPerItem - 1) / kGroupsPerItem;
#pragma omp parallel for schedule(static) num_threads(attn::num_threads()) if (items > 1)
  for (int64_t it = 0; it < items; ++it)
    DropoutGroups(x, y, n, it * kGroupsPerItem, std::min(groups, (it + 1) * kGroupsPerItem), threshold, scale, seed,
                  first);
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(DropoutImpl);

void dropout_apply(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t first) {
  if (n <= 0) return;
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(DropoutImpl)(x, y, n, p, seed, first);
}
}  // namespace attn::kernels
#endif
