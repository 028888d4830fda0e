// kernels/cpu/convert.cpp — SIMD f32 <-> bf16 / f16 conversions (see kernels/convert.h).
//
// bf16 is done with integer lanes, exactly as attn::f32_to_bf16: add 0x7fff + (bit 16) and keep the
// high half (round to nearest even), NaN -> its high half with the quiet bit set. f16 uses Highway's
// PromoteTo / DemoteTo (F16C on AVX2 and up); on targets without hardware f16 (emu128, SSE4) those
// are emulated by Highway, so they fall back to the scalar conversion to keep the bits identical.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/convert.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/dtype.h>
#include <attn/threads.h>

#include <algorithm>
#include <vector>

#include "kernels/colsum_chunks.h"
#include "kernels/convert.h"
#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_items.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

constexpr int64_t kChunk = 16384;

// Runs body(begin, end) over [0, n) in kChunk pieces, threaded when large.
template <class F>
void Chunked(int64_t n, const F& body) {
  const int64_t items = (n + kChunk - 1) / kChunk;
  parallel_items(items, n >= 4 * kChunk, [&](int64_t it) { body(it * kChunk, std::min(n, (it + 1) * kChunk)); });
}

// Stores bf16(v) at y (one vector's worth), bit-identical to attn::f32_to_bf16.
HWY_INLINE void StoreBf16(VF v, uint16_t* y) {
  const hn::RebindToUnsigned<DF> du;
  const hn::RebindToSigned<DF> di;
  const hn::Rebind<uint16_t, DF> d16;
  const auto u = hn::BitCast(du, v);
  const auto odd = hn::And(hn::ShiftRight<16>(u), hn::Set(du, 1u));
  const auto rounded = hn::ShiftRight<16>(hn::Add(u, hn::Add(hn::Set(du, 0x7fffu), odd)));
  const auto quiet = hn::Or(hn::ShiftRight<16>(u), hn::Set(du, 0x40u));
  const auto r = hn::IfThenElse(hn::RebindMask(du, hn::IsNaN(v)), quiet, rounded);
  hn::StoreU(hn::DemoteTo(d16, hn::BitCast(di, r)), d16, y);
}

void F32ToBf16Impl(const float* x, uint16_t* y, int64_t n) {
  Chunked(n, [&](int64_t b, int64_t e) {
    const DF d;
    const int64_t N = static_cast<int64_t>(hn::Lanes(d));
    int64_t i = b;
    for (; i + N <= e; i += N) StoreBf16(hn::LoadU(d, x + i), y + i);
    for (; i < e; ++i) y[i] = attn::f32_to_bf16(x[i]);
  });
}

// Rows [rows, cols]: y = bf16(x), and acc[c] += x[r, c] row after row in f32 (one chunk of
// f32_to_bf16_colsum; single-threaded).
void F32ToBf16AccumulateRowsImpl(const float* x, uint16_t* y, float* acc, int64_t rows, int64_t cols) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    uint16_t* yr = y + r * cols;
    int64_t c = 0;
    for (; c + N <= cols; c += N) {
      const VF v = hn::LoadU(d, xr + c);
      StoreBf16(v, yr + c);
      hn::StoreU(hn::Add(hn::LoadU(d, acc + c), v), d, acc + c);
    }
    for (; c < cols; ++c) {
      yr[c] = attn::f32_to_bf16(xr[c]);
      acc[c] += xr[c];
    }
  }
}

void Bf16ToF32Impl(const uint16_t* x, float* y, int64_t n) {
  Chunked(n, [&](int64_t b, int64_t e) {
    const DF d;
    const hn::RebindToUnsigned<DF> du;
    const hn::Rebind<uint16_t, DF> d16;
    const int64_t N = static_cast<int64_t>(hn::Lanes(d));
    int64_t i = b;
    for (; i + N <= e; i += N)
      hn::StoreU(hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du, hn::LoadU(d16, x + i)))), d, y + i);
    for (; i < e; ++i) y[i] = attn::bf16_to_f32(x[i]);
  });
}

// Highway emulates f16 on these targets; the scalar path is the reference and just as good.
constexpr bool kHardwareF16 = HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL;

void F32ToF16Impl(const float* x, uint16_t* y, int64_t n) {
  Chunked(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
    if constexpr (kHardwareF16) {
      const DF d;
      const hn::Rebind<hwy::float16_t, DF> dh;
      const int64_t N = static_cast<int64_t>(hn::Lanes(d));
      auto* yh = reinterpret_cast<hwy::float16_t*>(y);
      for (; i + N <= e; i += N) hn::StoreU(hn::DemoteTo(dh, hn::LoadU(d, x + i)), dh, yh + i);
    }
    for (; i < e; ++i) y[i] = attn::f32_to_f16(x[i]);
  });
}

void F16ToF32Impl(const uint16_t* x, float* y, int64_t n) {
  Chunked(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
    if constexpr (kHardwareF16) {
      const DF d;
      const hn::Rebind<hwy::float16_t, DF> dh;
      const int64_t N = static_cast<int64_t>(hn::Lanes(d));
      const auto* xh = reinterpret_cast<const hwy::float16_t*>(x);
      for (; i + N <= e; i += N) hn::StoreU(hn::PromoteTo(d, hn::LoadU(dh, xh + i)), d, y + i);
    }
    for (; i < e; ++i) y[i] = attn::f16_to_f32(x[i]);
  });
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(F32ToBf16Impl);
HWY_EXPORT(Bf16ToF32Impl);
HWY_EXPORT(F32ToBf16AccumulateRowsImpl);
HWY_EXPORT(F32ToF16Impl);
HWY_EXPORT(F16ToF32Impl);

void f32_to_bf16(const float* x, uint16_t* y, int64_t n) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(F32ToBf16Impl)(x, y, n);
}
void f32_to_bf16_accumulate_rows(const float* x, uint16_t* y, float* acc, int64_t rows, int64_t cols) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(F32ToBf16AccumulateRowsImpl)(x, y, acc, rows, cols);
}
void f32_to_bf16_colsum(const float* x, uint16_t* y, float* colsum, int64_t rows, int64_t cols) {
  colsum_by_chunks(rows, cols, colsum, [&](int64_t r0, int64_t r1, float* acc) {
    f32_to_bf16_accumulate_rows(x + r0 * cols, y + r0 * cols, acc, r1 - r0, cols);
  });
}
void bf16_to_f32(const uint16_t* x, float* y, int64_t n) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(Bf16ToF32Impl)(x, y, n);
}
void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(F32ToF16Impl)(x, y, n);
}
void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(F16ToF32Impl)(x, y, n);
}
}  // namespace attn::kernels
#endif
