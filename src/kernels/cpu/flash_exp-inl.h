// kernels/cpu/flash_exp-inl.h — the exp of the flash attention kernels, shared by the forward and the
// backward (which recomputes P = exp(S − lse) and must see the same values the forward saw). Included
// once per Highway target by those two files (the toggled include guard is Highway's -inl.h
// convention).

// Per-target include guard.
#if defined(ATTN_KERNELS_CPU_FLASH_EXP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTN_KERNELS_CPU_FLASH_EXP_INL_H_
#undef ATTN_KERNELS_CPU_FLASH_EXP_INL_H_
#else
#define ATTN_KERNELS_CPU_FLASH_EXP_INL_H_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// e^x = 2^(x·log2 e): a degree-6 fit of 2^f on [-0.5, 0.5] (rel. error 3e-9 before rounding) times
// 2^round. Callers pass x <= ~0 (scores minus a running max or the lse); x·log2 e is clamped to
// [-126, 127] with x as the second operand of Max/Min, which x86 returns when it is NaN, so NaN stays
// NaN. Results below 2^-126 (including x = -inf) are exactly 0.
template <class D>
HWY_INLINE hn::Vec<D> FastExp(D df, hn::Vec<D> x_nat) {
  using V = hn::Vec<D>;
  const hn::RebindToSigned<D> di;
  const V x = hn::Mul(x_nat, hn::Set(df, 1.4426950408889634f));
  const V xc = hn::Min(hn::Set(df, 127.0f), hn::Max(hn::Set(df, -126.0f), x));
  const V n = hn::Round(xc);
  const V f = hn::Sub(xc, n);
  V r = hn::Set(df, 1.546973197708044e-4f);
  r = hn::MulAdd(r, f, hn::Set(df, 1.3400432165303034e-3f));
  r = hn::MulAdd(r, f, hn::Set(df, 9.61802560294306e-3f));
  r = hn::MulAdd(r, f, hn::Set(df, 5.550327214209352e-2f));
  r = hn::MulAdd(r, f, hn::Set(df, 0.24022651213595234f));
  r = hn::MulAdd(r, f, hn::Set(df, 0.6931472067106207f));
  r = hn::MulAdd(r, f, hn::Set(df, 0.9999999999595485f));
  const auto bits = hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n), hn::Set(di, 127)));
  return hn::IfThenZeroElse(hn::Lt(x, hn::Set(df, -126.0f)), hn::Mul(r, hn::BitCast(df, bits)));
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
