// kernels/cpu/dropout.cpp — SIMD element dropout (see kernels/dropout.h for the draw layout).
//
// A group of 32 elements takes 8 Philox blocks (cpu/philox-inl.h: 8 counters per call, on SIMD
// lanes); their words land in element order in a small buffer, then the keep test (integer compare
// against ceil(p·2^24), exact) and the scaling run on f32 vectors.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/dropout.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/rng.h>
#include <attn/threads.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/philox-inl.h"
#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/dropout.h"
#include "kernels/parallel_items.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

constexpr int64_t kGroup = 32;             // elements per group of 8 Philox blocks
constexpr int64_t kGroupsPerItem = 512;    // 16384 elements per parallel work item

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
    Philox8(seed, 0, first + 8 * static_cast<uint64_t>(g), words);  // element order: 8·w + l
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
  const uint32_t threshold = DropoutThreshold(p);
  const float scale = 1.0f / (1.0f - p);
  const int64_t groups = (n + kGroup - 1) / kGroup, items = (groups + kGroupsPerItem - 1) / kGroupsPerItem;
  parallel_items(items, true, [&](int64_t it) {
    DropoutGroups(x, y, n, it * kGroupsPerItem, std::min(groups, (it + 1) * kGroupsPerItem), threshold, scale, seed,
                  first);
  });
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
