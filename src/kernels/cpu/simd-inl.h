// kernels/cpu/simd-inl.h — SIMD helpers shared by the per-target kernel files: a safe vectorised
// exp, erf, GELU, sigmoid, and tail-handling load/store. Included once per Highway target (hence the
// toggled include guard, Highway's -inl.h convention); never include it outside a kernel .cpp that
// uses foreach_target.h.

// Per-target include guard.
#if defined(ATTN_KERNELS_CPU_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTN_KERNELS_CPU_SIMD_INL_H_
#undef ATTN_KERNELS_CPU_SIMD_INL_H_
#else
#define ATTN_KERNELS_CPU_SIMD_INL_H_
#endif

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Loads the first `count` (< Lanes) floats of p, `fill` elsewhere, never touching memory past them.
// (Highway 1.0.3's MaskedLoad/BlendedStore need aligned pointers and touch whole vectors on some
// targets, so the tails go through a stack buffer instead.)
HWY_INLINE VF LoadTail(DF d, const float* p, size_t count, float fill = 0.0f) {
  alignas(64) float buf[HWY_MAX_BYTES / sizeof(float)];
  hn::Store(hn::Set(d, fill), d, buf);
  for (size_t i = 0; i < count; ++i) buf[i] = p[i];
  return hn::Load(d, buf);
}
HWY_INLINE void StoreTail(VF v, DF d, float* p, size_t count) {
  alignas(64) float buf[HWY_MAX_BYTES / sizeof(float)];
  hn::Store(v, d, buf);
  for (size_t i = 0; i < count; ++i) p[i] = buf[i];
}

// e^x for every float: Highway's Exp (1 ULP on [-FLT_MAX, 104]) plus x > 88.73 -> +inf and NaN -> NaN
// (its own range check would turn NaN into 0).
HWY_INLINE VF ExpF(DF d, VF x) {
  const VF y = hn::Exp(d, hn::Min(x, hn::Set(d, 100.0f)));
  const VF big = hn::IfThenElse(hn::Gt(x, hn::Set(d, 88.7228394f)), hn::Set(d, HUGE_VALF), y);
  return hn::IfThenElse(hn::IsNaN(x), x, big);
}

// e^x for x <= 0 or x = -inf (softmax after max subtraction): no overflow or NaN fix-ups needed.
HWY_INLINE VF ExpNonPositive(DF d, VF x) { return hn::Exp(d, x); }

// log(x): Highway's Log for x in (0, inf), plus log(0) = -inf, log(inf) = inf, log(<0 or NaN) = NaN.
HWY_INLINE VF LogF(DF d, VF x) {
  const VF pos = hn::Max(x, hn::Set(d, 1e-37f));  // keep Log in its valid range; fixed up below
  VF y = hn::Log(d, pos);
  y = hn::IfThenElse(hn::Eq(x, hn::Zero(d)), hn::Set(d, -HUGE_VALF), y);
  y = hn::IfThenElse(hn::Eq(x, hn::Set(d, HUGE_VALF)), x, y);
  y = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Set(d, NAN), y);
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

// erf(x): a rational approximation (numerator odd degree 13, denominator even degree 8) on x
// clamped to [-4, 4] (|erf| rounds to 1 outside), ~1e-7 absolute error — the form used by Eigen/XLA.
HWY_INLINE VF ErfF(DF d, VF x_in) {
  const VF x = hn::Max(hn::Min(x_in, hn::Set(d, 4.0f)), hn::Set(d, -4.0f));
  const VF x2 = hn::Mul(x, x);
  VF p = hn::Set(d, -2.72614225801306e-10f);
  p = hn::MulAdd(p, x2, hn::Set(d, 2.77068142495902e-08f));
  p = hn::MulAdd(p, x2, hn::Set(d, -2.10102402082508e-06f));
  p = hn::MulAdd(p, x2, hn::Set(d, -5.69250639462346e-05f));
  p = hn::MulAdd(p, x2, hn::Set(d, -7.34990630326855e-04f));
  p = hn::MulAdd(p, x2, hn::Set(d, -2.95459980854025e-03f));
  p = hn::MulAdd(p, x2, hn::Set(d, -1.60960333262415e-02f));
  p = hn::Mul(p, x);
  VF q = hn::Set(d, -1.45660718464996e-05f);
  q = hn::MulAdd(q, x2, hn::Set(d, -2.13374055278905e-04f));
  q = hn::MulAdd(q, x2, hn::Set(d, -1.68282697438203e-03f));
  q = hn::MulAdd(q, x2, hn::Set(d, -7.37332916720468e-03f));
  q = hn::MulAdd(q, x2, hn::Set(d, -1.42647390514189e-02f));
  const VF r = hn::Div(p, q);
  return hn::IfThenElse(hn::IsNaN(x_in), x_in, r);
}

// 1 / (1 + e^-x), exact limits 0 and 1 for large |x|.
HWY_INLINE VF SigmoidF(DF d, VF x) {
  const VF one = hn::Set(d, 1.0f);
  return hn::Div(one, hn::Add(one, ExpF(d, hn::Neg(x))));
}

// GELU with erf: 0.5·x·(1 + erf(x/√2)).
HWY_INLINE VF GeluErfF(DF d, VF x) {
  const VF half_x = hn::Mul(hn::Set(d, 0.5f), x);
  return hn::MulAdd(half_x, ErfF(d, hn::Mul(x, hn::Set(d, 0.70710678118654752f))), half_x);
}

// GELU, tanh form: 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), computed as x·sigmoid(2u)
// (the same value; one exp instead of a tanh).
HWY_INLINE VF GeluTanhF(DF d, VF x) {
  const VF x3 = hn::Mul(hn::Mul(x, x), x);
  const VF u = hn::MulAdd(hn::Set(d, 0.044715f), x3, x);
  const VF two_u = hn::Mul(hn::Set(d, 2.0f * 0.79788456080286535588f), u);
  const VF y = hn::Mul(x, SigmoidF(d, two_u));
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ATTN_KERNELS_CPU_SIMD_INL_H_
