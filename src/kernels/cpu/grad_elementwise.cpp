// kernels/cpu/grad_elementwise.cpp — SIMD backward of the unary ops: dx = g · f'(x) (see kernels/grad.h).
//
// Compiled once per Highway target (foreach_target.h re-includes this file), like elementwise.cpp:
// the op switch sits outside the loops and each op is one straight SIMD body (a lambda) passed to a
// loop templated on which inputs it reads, so a null x or y is never touched. Work is split into
// fixed items of kChunk elements across OpenMP threads (one thread below kParallelMin).
//
// The derivatives are the ones of the scalar definitions (ref::unary_derivative is the float64 twin):
// relu'(0) = abs'(±0) = 0 and relu'/abs' of NaN are 0 (so dx = g·0); GELU and SiLU give NaN at ±inf
// (x·pdf = ∞·0, as torch). Two forms differ from the textbook one for accuracy, not meaning:
//   tanh' = (1 - y)(1 + y)            no cancellation in 1 - y² near |y| = 1 without FMA;
//   sigmoid(±|x|) = 1/(1+e), e/(1+e)  with e = exp(-|x|) ≤ 1: both tails of SiLU's σ and 1 - σ and
//                                     of GELU-tanh's σ(2u)(1 - σ(2u)) = e/(1+e)² keep full relative
//                                     precision and never overflow (GELU-tanh uses 1 + tanh(u) = 2σ(2u)).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/grad_elementwise.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <attn/threads.h>

#include <algorithm>

#include "kernels/cpu/simd-inl.h"
#include "kernels/dispatch.h"
#include "kernels/grad.h"
#include "kernels/parallel_items.h"

HWY_BEFORE_NAMESPACE();
namespace attn::kernels::HWY_NAMESPACE {

constexpr int64_t kChunk = 8192;           // elements per work item
constexpr int64_t kParallelMin = 1 << 15;  // below this many elements, one thread

// dx[0..n) = f(x, y, g) over full vectors then a masked tail; x (y) is read only when kX (kY).
template <bool kX, bool kY, class F>
HWY_INLINE void BackwardRun(const float* x, const float* y, const float* g, float* dx, int64_t n, const F& f) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const VF vx = kX ? hn::LoadU(d, x + i) : hn::Zero(d);
    const VF vy = kY ? hn::LoadU(d, y + i) : hn::Zero(d);
    hn::StoreU(f(d, vx, vy, hn::LoadU(d, g + i)), d, dx + i);
  }
  if (i < n) {
    const size_t c = static_cast<size_t>(n - i);
    const VF vx = kX ? LoadTail(d, x + i, c) : hn::Zero(d);
    const VF vy = kY ? LoadTail(d, y + i, c) : hn::Zero(d);
    StoreTail(f(d, vx, vy, LoadTail(d, g + i, c)), d, dx + i, c);
  }
}

template <bool kX, bool kY, class F>
void BackwardLoop(const float* x, const float* y, const float* g, float* dx, int64_t n, const F& f) {
  const int64_t items = (n + kChunk - 1) / kChunk;
  parallel_items(items, n >= kParallelMin, [&](int64_t it) {
    const int64_t b = it * kChunk;
    BackwardRun<kX, kY>(kX ? x + b : nullptr, kY ? y + b : nullptr, g + b, dx + b, std::min(kChunk, n - b), f);
  });
}

// SiLU' = s·(1 + x·(1 - s)), s = σ(x); σ(±|x|) from e = exp(-|x|) (see the file comment).
HWY_INLINE VF SiluGrad(DF d, VF x) {
  const VF one = hn::Set(d, 1.0f);
  const VF e = ExpNonPositive(d, hn::Neg(hn::Abs(x)));  // NaN x: dx is NaN through x below
  const VF big = hn::Div(one, hn::Add(one, e)), small = hn::Mul(e, big);
  const auto neg = hn::Lt(x, hn::Zero(d));
  const VF s = hn::IfThenElse(neg, small, big), one_minus_s = hn::IfThenElse(neg, big, small);
  return hn::Mul(s, hn::MulAdd(x, one_minus_s, one));
}

// GELU-erf' = Φ(x) + x·φ(x).
HWY_INLINE VF GeluErfGrad(DF d, VF x) {
  const VF half = hn::Set(d, 0.5f);
  const VF cdf = hn::MulAdd(half, ErfF(d, hn::Mul(x, hn::Set(d, 0.70710678118654752f))), half);
  const VF pdf = hn::Mul(ExpNonPositive(d, hn::Mul(hn::Neg(half), hn::Mul(x, x))),  // x² = inf -> 0
                         hn::Set(d, 0.39894228040143267794f));                        // 1/√(2π)
  return hn::MulAdd(x, pdf, cdf);
}

// GELU-tanh' = σ(2u) + 2k·x·(1 + 3c·x²)·σ(2u)σ(-2u), u = k·x·(1 + c·x²), k = √(2/π), c = 0.044715.
// Past |x| = 20, σ(-2|u|) is exactly 0 in f32; clamping x there keeps x² and u finite, while the
// unclamped leading x still makes ±inf (∞·0) and NaN give NaN.
HWY_INLINE VF GeluTanhGrad(DF d, VF x) {
  constexpr float kK = 0.79788456080286535588f, kC = 0.044715f;
  const VF one = hn::Set(d, 1.0f);
  const VF xc = hn::Min(hn::Max(x, hn::Set(d, -20.0f)), hn::Set(d, 20.0f));
  const VF x2 = hn::Mul(xc, xc);
  const VF u = hn::Mul(hn::Mul(hn::Set(d, kK), xc), hn::MulAdd(hn::Set(d, kC), x2, one));
  const VF e = ExpNonPositive(d, hn::Mul(hn::Set(d, -2.0f), hn::Abs(u)));
  const VF r = hn::Div(one, hn::Add(one, e));
  const VF s = hn::IfThenElse(hn::Lt(u, hn::Zero(d)), hn::Mul(e, r), r);  // σ(2u)
  const VF q = hn::Mul(hn::Mul(e, r), r);                                  // σ(2u)·σ(-2u)
  const VF poly = hn::Mul(hn::Set(d, 2.0f * kK), hn::MulAdd(hn::Set(d, 3.0f * kC), x2, one));
  return hn::MulAdd(x, hn::Mul(q, poly), s);  // q first: x = ±FLT_MAX times q = 0 stays 0
}

// Every body returns dx = g·f' (a product, not a select, so g = NaN/inf behaves as g·f' in scalar code).
void UnaryBackwardImpl(UnaryOp op, const float* x, const float* y, const float* g, float* dx, int64_t n) {
  using hn::Add, hn::Mul, hn::Set, hn::Sub;
  // BackwardLoop<reads x, reads y>; bodies take (d, x, y, g).
  switch (op) {
    case UnaryOp::kNeg:
      return BackwardLoop<false, false>(x, y, g, dx, n, [](DF, VF, VF, VF vg) { return hn::Neg(vg); });
    case UnaryOp::kExp:
      return BackwardLoop<false, true>(x, y, g, dx, n, [](DF, VF, VF vy, VF vg) { return Mul(vg, vy); });
    case UnaryOp::kLog:
      return BackwardLoop<true, false>(x, y, g, dx, n, [](DF, VF vx, VF, VF vg) { return hn::Div(vg, vx); });
    case UnaryOp::kTanh:
      return BackwardLoop<false, true>(x, y, g, dx, n, [](DF d, VF, VF vy, VF vg) {
        return Mul(vg, Mul(Sub(Set(d, 1.0f), vy), Add(Set(d, 1.0f), vy)));
      });
    case UnaryOp::kSqrt:
      return BackwardLoop<false, true>(x, y, g, dx, n, [](DF d, VF, VF vy, VF vg) {
        return hn::Div(Mul(vg, Set(d, 0.5f)), vy);
      });
    case UnaryOp::kRsqrt:
      return BackwardLoop<false, true>(x, y, g, dx, n, [](DF d, VF, VF vy, VF vg) {
        return Mul(vg, Mul(Mul(Set(d, -0.5f), vy), Mul(vy, vy)));
      });
    case UnaryOp::kAbs:
      return BackwardLoop<true, false>(x, y, g, dx, n, [](DF d, VF vx, VF, VF vg) {
        const VF z = hn::Zero(d);  // sign(x), 0 at ±0 and NaN
        const VF sign = hn::IfThenElse(hn::Gt(vx, z), Set(d, 1.0f), hn::IfThenElseZero(hn::Lt(vx, z), Set(d, -1.0f)));
        return Mul(vg, sign);
      });
    case UnaryOp::kSquare:
      return BackwardLoop<true, false>(x, y, g, dx, n, [](DF d, VF vx, VF, VF vg) {
        return Mul(Mul(vg, vx), Set(d, 2.0f));  // g·x first: overflows only when g·2x does
      });
    case UnaryOp::kRelu:
      return BackwardLoop<true, false>(x, y, g, dx, n, [](DF d, VF vx, VF, VF vg) {
        return Mul(vg, hn::IfThenElseZero(hn::Gt(vx, hn::Zero(d)), Set(d, 1.0f)));  // 0 at 0 and NaN
      });
    case UnaryOp::kSigmoid:
      return BackwardLoop<false, true>(x, y, g, dx, n, [](DF d, VF, VF vy, VF vg) {
        return Mul(vg, Mul(vy, Sub(Set(d, 1.0f), vy)));
      });
    case UnaryOp::kSilu:
      return BackwardLoop<true, false>(x, y, g, dx, n, [](DF d, VF vx, VF, VF vg) { return Mul(vg, SiluGrad(d, vx)); });
    case UnaryOp::kGeluErf:
      return BackwardLoop<true, false>(x, y, g, dx, n, [](DF d, VF vx, VF, VF vg) {
        return Mul(vg, GeluErfGrad(d, vx));
      });
    case UnaryOp::kGeluTanh:
      return BackwardLoop<true, false>(x, y, g, dx, n, [](DF d, VF vx, VF, VF vg) {
        return Mul(vg, GeluTanhGrad(d, vx));
      });
  }
}

}  // namespace attn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attn::kernels {
HWY_EXPORT(UnaryBackwardImpl);

void unary_backward(UnaryOp op, const float* x, const float* y, const float* g, float* dx, int64_t n) {
  select_cpu_target();
  HWY_DYNAMIC_DISPATCH(UnaryBackwardImpl)(op, x, y, g, dx, n);
}
}  // namespace attn::kernels
#endif
